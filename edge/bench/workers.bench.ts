import { mkdtemp, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { ensureJetStream, ensureKv } from "@framewire/shared/nats";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { saveBenchResults } from "../../scripts/lib/bench-results";
import { freePort } from "../../scripts/lib/stack";
import { startHranaServer } from "../../test/support/hrana-server";
import { startNatsServer } from "../../test/support/nats-server";
import { startS3Server } from "../../test/support/s3-server";
import { startWorkerdEdge } from "../../test/support/workerd-edge";
import { createTenant, issueApiKey } from "../src/auth/api-keys";
import { openDatabase } from "../src/nodejs/database";
import { startNodeEdge } from "./node-edge";

/**
 * What an API client feels on each runtime at low concurrency: the Workers edge in workerd (the
 * deploy bundle in Miniflare, without `wrangler dev`'s reload proxy; libSQL over HTTP through the
 * Hrana fixture, NATS over WebSocket from the NatsObject Durable Object) against the Node edge (libSQL file, NATS over TCP), one request
 * at a time, interleaved in rounds. Both share one nats-server and one database file. Latencies are
 * measured here per request (performance.now around fetch over a kept-alive connection), so
 * sub-millisecond differences show. Issue 17's target: the Workers POST p50 within 1.5× of Node's.
 * Results go to bench-results/edge-workers.json (the previous run kept beside it).
 *
 * What this does not measure: Cloudflare's network, a real Turso database across the internet, or
 * the Durable Object living in another colo; those add the same round trips counted in the workerd
 * e2e test, at real distances.
 */
const perRound = Number(process.env.BENCH_REQUESTS ?? 50);
const rounds = Number(process.env.BENCH_ROUNDS ?? 4);
const targetRatio = 1.5;

const loadBefore = loadavg()[0];
const dir = await mkdtemp(join(tmpdir(), "fw-bench-workers-"));
const nats = await startNatsServer({ storeDir: join(dir, "nats"), websocket: true });
{
  const nc = await connect({ servers: nats.url });
  await ensureJetStream(await jetstreamManager(nc));
  await ensureKv(nc);
  await nc.close();
}
const dbFile = join(dir, "edge.db");
const database = await openDatabase(`file:${dbFile}`);
const tenantId = await createTenant(database.db, "bench");
const { key } = await issueApiKey(database.db, {
  tenantId,
  name: "bench",
  scopes: ["jobs:read", "jobs:write"],
});
database.close();
const hrana = await startHranaServer(dbFile);
const s3 = await startS3Server();

const common = {
  FW_PROGRESS_URL: "ws://127.0.0.1:9",
  FW_TOKEN_SECRET: "w".repeat(40),
  FW_NODE_TOKEN: "x".repeat(40),
  FW_RATE_KEY_BURST: "1000000000",
  FW_RATE_IP_BURST: "1000000000",
};
const workerd = await startWorkerdEdge({
  dir,
  runner: "miniflare",
  vars: {
    ...common,
    FW_NATS_WS_URL: nats.wsUrl ?? "",
    FW_DB_URL: hrana.url,
    FW_STORAGE: "s3",
    FW_S3_ENDPOINT: s3.endpoint,
    FW_S3_BUCKET: s3.bucket,
    FW_S3_FORCE_PATH_STYLE: "true",
    FW_S3_ACCESS_KEY_ID: s3.credentials.accessKeyId,
    FW_S3_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
  },
});

const nodePort = await freePort();
const nodeBase = `http://127.0.0.1:${nodePort}`;
const nodeEdge = await startNodeEdge({
  env: {
    ...common,
    FW_API_PORT: String(nodePort),
    FW_PUBLIC_URL: nodeBase,
    FW_DB_URL: `file:${dbFile}`,
    FW_NATS_URL: nats.url,
    FW_STORAGE_DIR: join(dir, "storage"),
    FW_LOG_LEVEL: "info",
  },
  logPath: join(dir, "node-edge.log"),
});

const submitBody = JSON.stringify({
  input: { type: "url", url: "https://media.example/in.mp4" },
  outputs: [{ name: "small", type: "video", video: { height: 240 } }],
});
const headers = { authorization: `Bearer ${key}` };

/** One request's wall time in ms, failing the bench on a wrong status. */
async function timed(
  url: string,
  init: RequestInit,
  expected: number,
): Promise<{ ms: number; body: string }> {
  const started = performance.now();
  const res = await fetch(url, init);
  const body = await res.text();
  const ms = performance.now() - started;
  if (res.status !== expected) throw new Error(`${init.method ?? "GET"} ${url}: ${res.status} ${body}`);
  return { ms, body };
}

type Runtime = "workerd" | "node";
const bases: Record<Runtime, string> = { workerd: workerd.url, node: nodeBase };
const samples: Record<Runtime, { post: number[]; get: number[]; floor: number[] }> = {
  workerd: { post: [], get: [], floor: [] },
  node: { post: [], get: [], floor: [] },
};

async function round(runtime: Runtime, keep: boolean): Promise<void> {
  const base = bases[runtime];
  for (let i = 0; i < perRound; i++) {
    const post = await timed(
      `${base}/v1/jobs`,
      { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: submitBody },
      202,
    );
    const { id } = JSON.parse(post.body) as { id: string };
    const get = await timed(`${base}/v1/jobs/${id}`, { headers }, 200);
    // The runtime's own floor: a 404 problem answered without auth, database or NATS.
    const floor = await timed(`${base}/v1/no-such-route`, {}, 404);
    if (keep) {
      samples[runtime].post.push(post.ms);
      samples[runtime].get.push(get.ms);
      samples[runtime].floor.push(floor.ms);
    }
  }
}

try {
  // Warm-up: isolates, the Durable Object's NATS connection, statement caches, JIT.
  for (const runtime of ["workerd", "node"] as const) await round(runtime, false);
  for (let r = 0; r < rounds; r++)
    for (const runtime of ["workerd", "node"] as const) await round(runtime, true);
} finally {
  await Promise.all([nodeEdge.stop(), workerd.stop()]);
  await hrana.close();
  await s3.stop();
  await nats.stop();
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round((sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0) * 100) / 100;
};
const figures = (values: number[]) => ({
  requests: values.length,
  p50_ms: percentile(values, 0.5),
  p90_ms: percentile(values, 0.9),
  p99_ms: percentile(values, 0.99),
});
const rows = (["post", "get", "floor"] as const).map((kind) => {
  const w = figures(samples.workerd[kind]);
  const n = figures(samples.node[kind]);
  const ratio = Math.round((w.p50_ms / n.p50_ms) * 100) / 100;
  return {
    name: { post: "POST /v1/jobs", get: "GET /v1/jobs/:id", floor: "404 without auth (the runtime's floor)" }[
      kind
    ],
    workerd: w,
    node: n,
    p50_ratio_workerd_to_node: ratio,
    ...(kind === "post"
      ? { target: `workerd p50 ≤ ${targetRatio} × node p50`, met: ratio <= targetRatio }
      : {}),
  };
});

const report = {
  benchmark: "edge-workers",
  at: new Date().toISOString(),
  machine: {
    cpus: cpus().length,
    model: cpus()[0]?.model ?? "unknown",
    node: process.version,
    load_average_before: loadBefore,
    load_average_after: loadavg()[0],
  },
  setup: {
    concurrency: 1,
    requests_per_round: perRound,
    rounds,
    workerd:
      "the deploy bundle in Miniflare (one workerd); libSQL over HTTP (Hrana fixture over the same file); NATS over WebSocket",
    node: "edge/src/nodejs/main.ts; libSQL file; NATS over TCP",
  },
  results: rows,
};
await saveBenchResults("edge-workers", report);
console.log(`load average ${loadBefore?.toFixed(2)} → ${loadavg()[0]?.toFixed(2)}`);
console.table(
  rows.map((r) => ({
    name: r.name,
    workerd_p50_ms: r.workerd.p50_ms,
    workerd_p99_ms: r.workerd.p99_ms,
    node_p50_ms: r.node.p50_ms,
    node_p99_ms: r.node.p99_ms,
    ratio: r.p50_ratio_workerd_to_node,
    met: "met" in r ? r.met : "",
  })),
);
await rm(dir, { recursive: true, force: true });
