import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFramewireClient, type FramewireClient } from "@framewire/shared/client";
import { jobs as jobsTable } from "@framewire/shared/db";
import { ensureJetStream, ensureKv, streams, subjects } from "@framewire/shared/nats";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { and, inArray, isNull } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTenant, issueApiKey } from "../../edge/src/auth/api-keys";
import { openDatabase } from "../../edge/src/nodejs/database";
import { type HranaServer, startHranaServer } from "../support/hrana-server";
import { type NatsServer, startNatsServer } from "../support/nats-server";
import { type S3Server, startS3Server } from "../support/s3-server";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver";
import { startWorkerdEdge, type WorkerdEdge } from "../support/workerd-edge";

/**
 * The edge bundle inside workerd (`wrangler dev`, local mode, offline), driven over HTTP: libSQL
 * over HTTP (the Hrana test fixture), NATS over WebSocket (nats-server's websocket listener) and
 * S3 storage through the AWS SDK (s3rver).
 */

let dir: string;
let nats: NatsServer;
let nc: NatsConnection;
let hrana: HranaServer;
let edge: WorkerdEdge;
let client: FramewireClient;
let base: string;
let adminKey: string;
let logPath: string;
let receiver: WebhookReceiver;
let s3: S3Server;
let apiKey: string;
let tenant: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "fw-workerd-"));
  nats = await startNatsServer({ storeDir: join(dir, "nats"), websocket: true, monitor: true });
  nc = await connect({ servers: nats.url });
  // Provisioning happens from Node (the Worker never creates streams), as in a real deployment.
  await ensureJetStream(await jetstreamManager(nc));
  await ensureKv(nc);

  // Migrations run from Node; the Worker reaches the same file over HTTP through the fixture.
  const dbFile = join(dir, "edge.db");
  const database = await openDatabase(`file:${dbFile}`);
  const tenantId = await createTenant(database.db, "workers");
  tenant = tenantId;
  const { key } = await issueApiKey(database.db, {
    tenantId,
    name: "w",
    scopes: ["jobs:read", "jobs:write"],
  });
  adminKey = (await issueApiKey(database.db, { tenantId, name: "ops", scopes: ["admin"] })).key;
  database.close();
  hrana = await startHranaServer(dbFile);
  s3 = await startS3Server();

  const vars = {
    FW_PROGRESS_URL: "ws://127.0.0.1:9",
    FW_NATS_WS_URL: nats.wsUrl ?? "",
    FW_DB_URL: hrana.url,
    FW_TOKEN_SECRET: "w".repeat(40),
    FW_NODE_TOKEN: "x".repeat(40),
    // Caches that hold for the whole run, so the round-trip counts below are the requests' own.
    FW_KEY_CACHE_TTL_MS: "60000",
    FW_SETTINGS_CACHE_MS: "60000",
    // Counts one publish per submit for one tenant with no node: fair dispatch (which would hold
    // all but FW_TENANT_QUEUE_DEPTH of them in the database) is off; its statements run in the
    // submit's own write batch either way, so the round trips counted below are the same.
    FW_TENANT_QUEUE_DEPTH: "0",
    // A webhook receiver on 127.0.0.1 (development switches; never in production).
    FW_WEBHOOK_ALLOW_HTTP: "true",
    FW_WEBHOOK_ALLOW_PRIVATE_CIDRS: "127.0.0.1/32",
    FW_WEBHOOK_RETRY_BASE_MS: "10",
    FW_WEBHOOK_RETRY_MAX_MS: "20",
    // S3 storage through the SDK inside workerd; inputs expire after ~2 s so the Cron sweep has work.
    FW_STORAGE: "s3",
    FW_S3_ENDPOINT: s3.endpoint,
    FW_S3_BUCKET: s3.bucket,
    FW_S3_FORCE_PATH_STYLE: "true",
    FW_S3_ACCESS_KEY_ID: s3.credentials.accessKeyId,
    FW_S3_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    FW_INPUT_RETENTION_HOURS: String(2 / 3600),
  };
  receiver = await startWebhookReceiver();
  edge = await startWorkerdEdge({ dir, vars });
  base = edge.url;
  logPath = edge.logPath;
  client = createFramewireClient({ baseUrl: base, apiKey: key });
  apiKey = key;
}, 120_000);

afterAll(async () => {
  await edge?.stop();
  await hrana?.close();
  await receiver?.close();
  await s3?.stop();
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

  it("holds one NATS connection for every request, and reads or submits in one or two database round trips", async () => {
    const connections = async () =>
      ((await (await fetch(`${nats.monitorUrl}/varz`)).json()) as { total_connections: number })
        .total_connections;
    const spec = {
      input: { type: "url" as const, url: "https://media.example/in.mp4" },
      outputs: [{ name: "facts", type: "analysis" as const }],
    };
    // Warm: the key and maintenance caches, the NATS object's connection.
    const first = await client.jobs.create(spec);
    expect(first.status).toBe(202);
    const opened = await connections();
    const trips = hrana.pipelines.length;
    const queuedBefore = (await (await jetstreamManager(nc)).streams.info(streams.jobs)).state.messages;

    const ids: string[] = [];
    for (let i = 0; i < 100; i += 10) {
      const batch = await Promise.all(Array.from({ length: 10 }, () => client.jobs.create(spec)));
      for (const res of batch) {
        expect(res.status).toBe(202);
        if (res.ok) ids.push(res.data.id);
      }
    }
    // 100 submits through at most 2 connections on nats-server (one held, one spare for a reconnect).
    expect((await connections()) - opened).toBeLessThanOrEqual(2);
    // Every one was published (the NATS object publishes in batches, just after the answers)…
    const jsm = await jetstreamManager(nc);
    const published = async () => (await jsm.streams.info(streams.jobs)).state.messages - queuedBefore;
    await expect.poll(published, { timeout: 5_000 }).toBe(ids.length);
    // …and recorded as dispatched, so the outbox sweeper leaves them alone.
    const database = await openDatabase(`file:${join(dir, "edge.db")}`);
    const undispatched = async () =>
      (
        await database.db
          .select({ id: jobsTable.id })
          .from(jobsTable)
          .where(and(inArray(jobsTable.id, ids), isNull(jobsTable.dispatchedAt)))
      ).length;
    await expect.poll(undispatched, { timeout: 5_000 }).toBe(0);
    database.close();

    // Round trips: every submit is one read (its checks) and one write (the job and its event);
    // the NATS object records what it published in batches, off the requests' path.
    const submitTrips = hrana.pipelines.slice(trips);
    // (A submit's own write may update jobs too — its fair-dispatch release — so the background
    // writes are told apart by what they set.)
    const marks = submitTrips.filter((sql) => sql.some((s) => /^update "jobs" set "dispatched_at"/i.test(s)));
    // Key usage is written in the background, in either of its statement shapes.
    const keyUsage = (sql: string[]) => sql.some((s) => /^update "api_keys" set /i.test(s));
    const usage = submitTrips.filter(keyUsage);
    expect(submitTrips.length - marks.length - usage.length).toBe(2 * ids.length);
    expect(marks.length).toBeLessThan(ids.length / 2);
    await expect.poll(async () => (await client.jobs.list({ limit: 100 })).ok, { timeout: 5_000 }).toBe(true);

    // A read is one round trip.
    const readsFrom = hrana.pipelines.length;
    for (const id of ids.slice(0, 20)) expect((await client.jobs.get(id)).status).toBe(200);
    // (Writes in the background — usage counts, the object's late marks — are not the reads' trips.)
    const reads = hrana.pipelines
      .slice(readsFrom)
      .filter((sql) => !keyUsage(sql) && !sql.some((s) => /^update "jobs" set "dispatched_at"/i.test(s)));
    expect(reads.length, JSON.stringify(reads.map((r) => r.map((s) => s.slice(0, 60))))).toBe(20);
  });

  it("serves the web console and its bundled assets from the Worker (no file system)", async () => {
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    // Downloads are presigned for S3 here: the page may load media from there.
    expect(page.headers.get("content-security-policy")).toContain(
      `connect-src 'self' ${base} ws://127.0.0.1:9 ${new URL(s3.endpoint).origin}`,
    );
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="(\/app\/[^"]+)"/g)].map((m) => m[1] ?? "");
    expect(assets.some((a) => a.endsWith(".js"))).toBe(true);
    expect(assets.some((a) => a.endsWith(".css"))).toBe(true);
    for (const asset of assets) {
      const res = await fetch(`${base}${asset}`);
      expect(res.status, asset).toBe(200);
      expect((await res.arrayBuffer()).byteLength, asset).toBeGreaterThan(100);
    }
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

  it("hands out presigned S3 upload URLs, checks the stored size, and expires uploads on the Cron sweep", async () => {
    const bytes = new Uint8Array(2048).fill(4);
    const created = await fetch(`${base}/v1/uploads`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ size_bytes: bytes.length }),
    });
    expect(created.status).toBe(201);
    const target = (await created.json()) as { id: string; upload_url: string };
    expect(new URL(target.upload_url).searchParams.get("X-Amz-SignedHeaders")).toContain("content-length");
    expect((await fetch(target.upload_url, { method: "PUT", body: bytes })).status).toBe(200);
    const status = async () =>
      (await (
        await fetch(`${base}/v1/uploads/${target.id}`, { headers: { authorization: `Bearer ${apiKey}` } })
      ).json()) as { status: string; size_bytes: number };
    // HeadObject from inside the Worker.
    expect(await status()).toMatchObject({ status: "complete", size_bytes: 2048 });

    await new Promise((r) => setTimeout(r, 2_500));
    const cron = await fetch(`${base}/__scheduled?cron=*+*+*+*+*`);
    expect(cron.status).toBe(200);
    // The sweep runs in waitUntil after the trigger answers.
    const deadline = Date.now() + 10_000;
    while ((await status()).status !== "expired" && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));
    expect(
      (await status()).status,
      (await readFile(logPath, "utf8"))
        .split("\n")
        .filter((l) => /sched|retention|sweep|rror|warn/i.test(l))
        .join("\n"),
    ).toBe("expired");
    // The object itself is gone from the bucket (s3rver answers unsigned reads).
    expect((await fetch(`${s3.endpoint}${new URL(target.upload_url).pathname}`)).status).toBe(404);
  });

  it("presigns a finished job's output for download from inside the Worker", async () => {
    const created = await client.jobs.create({
      input: { type: "url", url: "https://media.example/in.mp4" },
      outputs: [{ name: "small", type: "video", video: { height: 240 } }],
    });
    if (!created.ok) throw new Error(JSON.stringify(created.problem));
    const id = created.data.id;
    // The node's part: write the output into the bucket (s3rver takes unsigned writes), report.
    const key = `${tenant}/jobs/${id}/small.mp4`;
    const bytes = new Uint8Array(4096).map((_, i) => i % 7);
    expect((await fetch(`${s3.endpoint}/${s3.bucket}/${key}`, { method: "PUT", body: bytes })).status).toBe(
      200,
    );
    const report = (body: unknown) =>
      fetch(`${base}/internal/jobs/${id}/reports`, {
        method: "POST",
        headers: { authorization: `Bearer ${"x".repeat(40)}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    expect((await report({ type: "running", attempt: 1, node_id: "n1", engine: "native" })).status).toBe(200);
    const done = await report({
      type: "succeeded",
      attempt: 1,
      node_id: "n1",
      outputs: [
        {
          name: "small",
          storage_key: key,
          size_bytes: bytes.length,
          container: "mp4",
          duration_sec: 1,
          video: { codec: "h264", width: 320, height: 240, fps: 25 },
          audio: null,
        },
      ],
    });
    expect(done.status).toBe(200);
    const job = await client.jobs.get(id);
    const url = job.ok ? job.data.outputs[0]?.url : null;
    expect(url).toContain("X-Amz-Signature=");
    const download = await fetch(url as string);
    expect(download.status).toBe(200);
    expect(new Uint8Array(await download.arrayBuffer())).toEqual(bytes);
  });
});
