import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureJetStream, ensureKv, streams, subjects } from "@framewire/shared";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, repoRoot } from "../../scripts/lib/stack";
import { type HranaServer, startHranaServer } from "../../test/support/hrana-server";
import { type NatsServer, startNatsServer } from "../../test/support/nats-server";
import { createTenant, issueApiKey } from "./auth/api-keys";
import { createFramewireClient, type FramewireClient } from "./client";
import { openDatabase } from "./node/database";
import { startWebhookReceiver, type WebhookReceiver } from "./testing/webhook-receiver";

/**
 * The edge bundle inside workerd (`wrangler dev`, local mode, offline), driven over HTTP: libSQL
 * over HTTP (the Hrana test fixture) and NATS over WebSocket (nats-server's websocket listener).
 */

let dir: string;
let nats: NatsServer;
let nc: NatsConnection;
let hrana: HranaServer;
let wrangler: ChildProcess;
let client: FramewireClient;
let base: string;
let adminKey: string;
let logPath: string;
let receiver: WebhookReceiver;

async function stopGroup(child: ChildProcess) {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise((r) => child.once("exit", r));
  try {
    process.kill(-child.pid, "SIGTERM"); // wrangler and its workerd child: the whole group
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      if (child.pid) process.kill(-child.pid, "SIGKILL");
    } catch {}
  }, 5_000);
  await exited;
  clearTimeout(timer);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "fw-workerd-"));
  nats = await startNatsServer({ storeDir: join(dir, "nats"), websocket: true });
  nc = await connect({ servers: nats.url });
  // Provisioning happens from Node (the Worker never creates streams), as in a real deployment.
  await ensureJetStream(await jetstreamManager(nc));
  await ensureKv(nc);

  // Migrations run from Node; the Worker reaches the same file over HTTP through the fixture.
  const dbFile = join(dir, "edge.db");
  const database = await openDatabase(`file:${dbFile}`);
  const tenantId = await createTenant(database.db, "workers");
  const { key } = await issueApiKey(database.db, {
    tenantId,
    name: "w",
    scopes: ["jobs:read", "jobs:write"],
  });
  adminKey = (await issueApiKey(database.db, { tenantId, name: "ops", scopes: ["admin"] })).key;
  database.close();
  hrana = await startHranaServer(dbFile);

  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const vars = {
    FW_PUBLIC_URL: base,
    FW_PROGRESS_URL: "ws://127.0.0.1:9",
    FW_NATS_WS_URL: nats.wsUrl ?? "",
    FW_DB_URL: hrana.url,
    FW_TOKEN_SECRET: "w".repeat(40),
    FW_NODE_TOKEN: "x".repeat(40),
    // A webhook receiver on 127.0.0.1 (development switches; never in production).
    FW_WEBHOOK_ALLOW_HTTP: "true",
    FW_WEBHOOK_ALLOW_PRIVATE_CIDRS: "127.0.0.1/32",
    FW_WEBHOOK_RETRY_BASE_MS: "10",
    FW_WEBHOOK_RETRY_MAX_MS: "20",
  };
  receiver = await startWebhookReceiver();
  logPath = join(dir, "wrangler.log");
  const log = createWriteStream(logPath);
  wrangler = spawn(
    join(repoRoot, "node_modules/.bin/wrangler"),
    [
      "dev",
      "--config",
      "wrangler.toml",
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(await freePort()),
      "--persist-to",
      join(dir, "wrangler-state"),
      "--show-interactive-dev-session=false",
      "--test-scheduled", // GET /__scheduled runs the Cron handler

      ...Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
    ],
    {
      cwd: repoRoot,
      detached: true, // its own process group, stopped as a group
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        WRANGLER_SEND_METRICS: "false",
        CLOUDFLARE_CF_FETCH_ENABLED: "false",
        WRANGLER_LOG_PATH: join(dir, "wrangler-logs"),
        NO_COLOR: "1",
      },
    },
  );
  wrangler.stdout?.pipe(log);
  wrangler.stderr?.pipe(log);
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (wrangler.exitCode !== null) throw new Error(`wrangler exited:\n${await readFile(logPath, "utf8")}`);
    if (
      await fetch(`${base}/v1/health`)
        .then((r) => r.ok)
        .catch(() => false)
    )
      break;
    if (Date.now() > deadline)
      throw new Error(`wrangler dev did not start:\n${await readFile(logPath, "utf8")}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  client = createFramewireClient({ baseUrl: base, apiKey: key });
}, 120_000);

afterAll(async () => {
  if (wrangler) await stopGroup(wrangler);
  await hrana?.close();
  await receiver?.close();
  await nc?.close();
  await nats?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("the edge on workerd", () => {
  it("answers health, with the database over HTTP and NATS over WebSocket reachable", async () => {
    expect(await client.health()).toMatchObject({ status: 200, data: { status: "ok" } });
    expect((await client.healthDetailed()).status).toBe(403);
    const detailed = await createFramewireClient({ baseUrl: base, apiKey: adminKey }).healthDetailed();
    expect(detailed).toMatchObject({
      status: 200,
      data: { status: "ok", database: { ok: true }, nats: { ok: true }, dead_letters: { count: 0 } },
    });
  });

  it("creates a job (row over Hrana, message over WebSocket) and reads it back", async () => {
    const created = await client.jobs.create({
      input: { type: "url", url: "https://media.example/in.mp4" },
      outputs: [{ name: "small", type: "video", video: { height: 240 } }],
    });
    if (!created.ok)
      throw new Error(
        `${created.status} ${JSON.stringify(created.problem)}\n${await readFile(logPath, "utf8")}`,
      );
    expect(created.status).toBe(202);
    // Rate limits come from the Durable Object binding.
    expect(created.headers.get("ratelimit-limit")).toBe("120");

    const read = await client.jobs.get(created.data.id);
    expect(read).toMatchObject({ status: 200, data: { id: created.data.id, status: "queued" } });

    const jsm = await jetstreamManager(nc);
    const stored = await jsm.streams.getMessage(streams.jobs, {
      last_by_subj: subjects.job("cpu", "default"),
    });
    expect(stored?.header.get("Nats-Msg-Id")).toBe(created.data.id);
    expect(stored?.json()).toMatchObject({ job_id: created.data.id });
    const list = await client.jobs.list();
    expect(list.ok && list.data.data.map((j) => j.id)).toContain(created.data.id);
  });

  it("refuses an unknown key with problem details", async () => {
    const res = await createFramewireClient({
      baseUrl: base,
      apiKey: `fw_${"a".repeat(12)}_${"b".repeat(40)}`,
    }).jobs.list();
    expect(res.status).toBe(401);
    expect(res.ok ? null : res.problem.code).toBe("unauthorized");
  });

  it("sends a signed webhook after the response (waitUntil) and retries it from the Cron trigger", async () => {
    const settings = await client.webhook.set({ url: null });
    if (!settings.ok || !settings.data.secret) throw new Error(`no secret: ${settings.status}`);
    receiver.secret = settings.data.secret;
    receiver.on("/wk", { failFirst: 1 });
    const created = await client.jobs.create({
      input: { type: "url", url: "https://media.example/in.mp4" },
      outputs: [{ name: "small", type: "video", video: { height: 240 } }],
      webhook: { url: `${receiver.url}/wk`, events: ["job.canceled"] },
    });
    if (!created.ok) throw new Error(`${created.status} ${JSON.stringify(created.problem)}`);
    expect((await client.jobs.cancel(created.data.id)).status).toBe(200);

    const wait = async (n: number, what: string) => {
      for (let i = 0; i < 100 && receiver.received.length < n; i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      if (receiver.received.length < n) throw new Error(`no ${what}:\n${await readFile(logPath, "utf8")}`);
    };
    await wait(1, "first attempt");
    expect(receiver.received[0]?.answered).toBe(500);
    // The Cron trigger's sweep retries the due delivery.
    await new Promise((r) => setTimeout(r, 50));
    expect((await fetch(`${base}/__scheduled?cron=*+*+*+*+*`)).status).toBe(200);
    await wait(2, "retry from the Cron trigger");
    const [first, second] = receiver.received;
    expect(second?.answered).toBe(200);
    for (const r of [first, second]) expect(r?.verified.ok).toBe(true);
    expect(second?.headers["framewire-webhook-id"]).toBe(first?.headers["framewire-webhook-id"]);
    expect(JSON.parse(second?.body ?? "{}").data.job).toMatchObject({
      id: created.data.id,
      status: "canceled",
    });
    const log = await client.jobs.webhooks(created.data.id);
    expect(log.ok && log.data.data[0]?.attempts.map((a) => a.status_code)).toEqual([500, 200]);
  });

  it("refuses local and private webhook targets by name and address", async () => {
    for (const url of [
      "https://localhost/hook",
      "http://169.254.169.254/latest",
      "http://[::ffff:10.0.0.1]/",
    ]) {
      const res = await client.jobs.create({
        input: { type: "url", url: "https://media.example/in.mp4" },
        outputs: [{ name: "small", type: "video", video: { height: 240 } }],
        webhook: { url },
      });
      expect(res.ok ? null : res.problem.code, url).toBe("webhook_url_refused");
    }
  });
});
