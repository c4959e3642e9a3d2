import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { streams } from "@framewire/shared/nats";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTenant, issueApiKey } from "../../edge/src/auth/api-keys";
import { openDatabase } from "../../edge/src/nodejs/database";
import { freePort, repoRoot } from "../../scripts/lib/stack";
import { type NatsServer, startNatsServer } from "../support/nats-server";

/**
 * The edge as FW_EDGE_PROCESSES=2 processes sharing one port (node:cluster), started as a
 * self-hoster would: both answer, a key's rate limit is one bucket across them, /metrics adds up
 * every process's requests and counts the database's jobs once, and a process that dies is
 * replaced.
 */

let dir: string;
let nats: NatsServer;
let edge: ChildProcess;
let base: string;
let key: string;
let submitKey: string;
let adminKey: string;
let doomedKey: string;
const metricsToken = "m".repeat(32);
const log: string[] = [];

/** pids of the edge processes that answered, from their access-log lines. */
const answeredBy = () =>
  new Set(
    log
      .flatMap((chunk) => chunk.split("\n"))
      .filter((line) => line.includes('"http:request"'))
      .map((line) => (JSON.parse(line) as { pid: number }).pid),
  );

/** The sum of a metric over every series with these labels (e.g. all statuses of one route). */
async function metric(name: string, labels: string): Promise<number> {
  const text = await (
    await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } })
  ).text();
  const lines = text.split("\n").filter((l) => l.startsWith(`${name}{`) && l.includes(labels));
  if (lines.length === 0) return Number.NaN;
  return lines.reduce((sum, l) => sum + Number(l.split(" ").at(-1)), 0);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "fw-edge-cluster-"));
  nats = await startNatsServer({ storeDir: join(dir, "nats") });
  const dbFile = join(dir, "edge.db");
  const database = await openDatabase(`file:${dbFile}`);
  const tenantId = await createTenant(database.db, "cluster");
  key = (await issueApiKey(database.db, { tenantId, name: "c", scopes: ["jobs:read", "jobs:write"] })).key;
  submitKey = (await issueApiKey(database.db, { tenantId, name: "s", scopes: ["jobs:read", "jobs:write"] }))
    .key;
  adminKey = (await issueApiKey(database.db, { tenantId, name: "a", scopes: ["admin"] })).key;
  doomedKey = (await issueApiKey(database.db, { tenantId, name: "d", scopes: ["jobs:read"] })).key;
  database.close();

  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  edge = spawn(process.execPath, ["--import", "tsx", "edge/src/nodejs/main.ts"], {
    cwd: repoRoot,
    env: {
      ...process.env,
      FW_EDGE_PROCESSES: "2",
      FW_API_PORT: String(port),
      FW_DB_URL: `file:${dbFile}`,
      FW_NATS_URL: nats.url,
      FW_STORAGE_DIR: join(dir, "storage"),
      FW_PUBLIC_URL: base,
      FW_PROGRESS_URL: "ws://127.0.0.1:1",
      FW_TOKEN_SECRET: "t".repeat(40),
      FW_NODE_TOKEN: "n".repeat(40),
      FW_METRICS_TOKEN: metricsToken,
      // Small, slow-refilling buckets, so a limit shared or not shows at once.
      FW_RATE_KEY_BURST: "6",
      FW_RATE_KEY_PER_SEC: "0.01",
      FW_LOG_LEVEL: "info",
      FW_KEY_CACHE_TTL_MS: "60000",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  edge.stdout?.on("data", (chunk: Buffer) => log.push(chunk.toString()));
  edge.stderr?.on("data", (chunk: Buffer) => log.push(chunk.toString()));
  const deadline = Date.now() + 60_000;
  // Both processes listening: health answered by two pids.
  while (answeredBy().size < 2) {
    if (Date.now() > deadline) throw new Error(`the edge processes did not start:\n${log.join("")}`);
    await fetch(`${base}/v1/health`, { headers: { connection: "close" } }).catch(() => null);
    await new Promise((r) => setTimeout(r, 50));
  }
}, 90_000);

afterAll(async () => {
  if (edge && edge.exitCode === null) {
    const exited = new Promise((resolve) => edge.once("exit", resolve));
    edge.kill("SIGTERM");
    await exited;
  }
  await nats?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("the edge as two processes on one port", () => {
  it("keeps one rate-limit bucket per key across the processes, and counts every request in /metrics", async () => {
    const auth = { authorization: `Bearer ${key}`, connection: "close" };
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await fetch(`${base}/v1/jobs`, { headers: auth })).status);
    // Six tokens in the key's one bucket, whichever process answered: not six per process.
    expect(statuses.filter((s) => s === 200)).toHaveLength(6);
    expect(statuses.filter((s) => s === 429)).toHaveLength(6);

    // The scrape adds every process's requests up…
    const answered = await metric("fw_http_request_duration_seconds_count", 'route="/v1/jobs"');
    expect(answered).toBe(12);
    // …and reads what the database holds once, not once per process.
    const database = await openDatabase(`file:${join(dir, "edge.db")}`);
    const { jobs } = await import("@framewire/shared/db");
    const queuedInDb = (await database.db.select({ id: jobs.id }).from(jobs)).length;
    database.close();
    expect(await metric("fw_jobs", 'state="queued"')).toBe(queuedInDb);
  });

  it("accepts and dispatches submissions in both processes", async () => {
    const before = log.length;
    const submit = () =>
      fetch(`${base}/v1/jobs`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${submitKey}`,
          "content-type": "application/json",
          connection: "close",
        },
        body: JSON.stringify({
          input: { type: "url", url: "https://media.example/in.mp4" },
          outputs: [{ name: "facts", type: "analysis" }],
        }),
      });
    for (let i = 0; i < 4; i++) expect((await submit()).status).toBe(202);
    const postedBy = () =>
      log
        .slice(before)
        .flatMap((chunk) => chunk.split("\n"))
        .filter((line) => line.includes('"http:request"') && line.includes('"POST"'))
        .map((line) => (JSON.parse(line) as { pid: number }).pid);
    // Log lines are buffered and flushed every second.
    await expect.poll(() => postedBy().length, { timeout: 5000 }).toBe(4);
    // New connections are dealt to the processes in turn.
    expect(new Set(postedBy()).size).toBe(2);
    // Each process published its jobs to JetStream.
    const nc = await connect({ servers: nats.url });
    try {
      const jsm = await jetstreamManager(nc);
      await expect.poll(async () => (await jsm.streams.info(streams.jobs)).state.messages).toBe(4);
    } finally {
      await nc.close();
    }
  });

  it("refuses a revoked key in every process at once, though each had it cached", async () => {
    // A long cache TTL (60 s), so only the broadcast can explain a refusal within the test.
    const me = () =>
      fetch(`${base}/v1/me`, { headers: { authorization: `Bearer ${doomedKey}`, connection: "close" } });
    for (let i = 0; i < 4; i++) expect((await me()).status).toBe(200);
    const keyId = ((await (await me()).json()) as { key: { id: string } }).key.id;
    const revoke = await fetch(`${base}/v1/admin/keys/${keyId}/revoke`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminKey}`, connection: "close" },
    });
    expect(revoke.status).toBe(200);
    // Both processes answer in turn (connection: close); neither accepts the key any more.
    const after: number[] = [];
    for (let i = 0; i < 4; i++) after.push((await me()).status);
    expect(after).toEqual([401, 401, 401, 401]);
  });

  it("replaces a process that dies, and goes on answering", async () => {
    const before = answeredBy();
    const victim = [...before][0] as number;
    process.kill(victim, "SIGKILL");
    const deadline = Date.now() + 20_000;
    let replaced = false;
    while (!replaced) {
      if (Date.now() > deadline)
        throw new Error(`no new process after a kill:\n${log.join("").slice(-2000)}`);
      const res = await fetch(`${base}/v1/health`, {
        headers: { connection: "close" },
        signal: AbortSignal.timeout(2000),
      }).catch(() => null);
      if (res) expect(res.status).toBe(200);
      replaced = [...answeredBy()].some((pid) => !before.has(pid));
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(replaced).toBe(true);
  });
});
