import type { ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { saveBenchResults } from "../../scripts/lib/bench-results";
import { type Stack, startStack } from "../../scripts/lib/stack";
import { makeClip } from "../../test/support/media";

/**
 * Fleet benchmark: dispatch latency (POST accepted → running, from the edge's own timestamps) on
 * an idle fleet and with 1,000 jobs queued ahead, and CPU-bound throughput of one node vs two
 * (one slot each). Real processes on loopback; results in bench-results/fleet.json.
 */

interface JobView {
  id: string;
  status: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

const backlogSize = Number(process.env.BENCH_BACKLOG ?? 1000);
const samples = Number(process.env.BENCH_SAMPLES ?? 100);

// The benchmark submits a 1,000-job backlog in seconds: lift the edge's per-key and per-IP rate
// limits for its own stack (children inherit this environment).
Object.assign(process.env, {
  FW_RATE_KEY_BURST: "1000000",
  FW_RATE_KEY_PER_SEC: "1000000",
  FW_RATE_IP_BURST: "1000000",
  FW_RATE_IP_PER_SEC: "1000000",
});

const dir = await mkdtemp(join(tmpdir(), "fw-bench-fleet-"));
const stack: Stack = await startStack({
  dataDir: join(dir, "data"),
  ports: { api: 0, gateway: 0, nats: 0 },
  nodes: 0,
  engine: "native",
  output: "files",
  logLevel: "warn",
});
const api = (path: string, init: RequestInit = {}) =>
  fetch(`${stack.apiUrl}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${stack.apiKey}`, ...(init.headers as Record<string, string>) },
  });

async function upload(path: string): Promise<string> {
  const res = await api("/v1/uploads", {
    method: "POST",
    headers: { "content-type": "video/mp4" },
    body: new Uint8Array(await readFile(path)),
  });
  return ((await res.json()) as { id: string }).id;
}

async function submit(
  uploadId: string,
  priority: string,
  height: number,
  preset = "ultrafast",
): Promise<string> {
  const res = await api("/v1/jobs", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      input: { type: "upload", upload_id: uploadId },
      outputs: [{ name: "o", type: "video", video: { height, preset }, audio: false }],
      priority,
    }),
  });
  if (res.status !== 202) throw new Error(`submit answered ${res.status}`);
  return ((await res.json()) as { id: string }).id;
}

const view = async (id: string) => (await (await api(`/v1/jobs/${id}`)).json()) as JobView;

/**
 * Latency figures come from the edge's own timestamps, so polling only decides when the bench
 * moves on; throughput runs poll slowly so the poller doesn't compete with the encoders.
 */
async function untilFinished(id: string, pollMs = 5): Promise<JobView> {
  for (;;) {
    const job = await view(id);
    if (["succeeded", "failed", "canceled"].includes(job.status)) return job;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

const dispatchMs = (job: JobView) => Date.parse(job.started_at ?? "") - Date.parse(job.created_at);
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};
const nodeEnv = { FW_POLL_MS: "2000", FW_LOG_LEVEL: "warn" };

async function stopNodes(nodes: ChildProcess[]) {
  await Promise.all(
    nodes.map(
      (n) =>
        new Promise<void>((resolve) => {
          if (n.exitCode !== null) return resolve();
          n.once("exit", () => resolve());
          n.kill("SIGTERM");
        }),
    ),
  );
}

async function waitForNodes(count: number) {
  // A node is ready once it has pulled and finished a warm-up job.
  const warmups = await Promise.all(Array.from({ length: count }, () => submit(tiny, "high", 64)));
  await Promise.all(warmups.map(untilFinished));
}

const tiny = await upload(
  await makeClip(join(dir, "tiny.mp4"), { seconds: 0.2, width: 64, height: 64, audio: false }),
);
const heavy = await upload(
  await makeClip(join(dir, "heavy.mp4"), { seconds: 8, width: 640, height: 360, audio: false }),
);

// 1. Idle fleet: one job at a time.
let nodes = [stack.startNode("bench-1", nodeEnv)];
await waitForNodes(1);
const idle: number[] = [];
for (let i = 0; i < samples; i++)
  idle.push(dispatchMs(await untilFinished(await submit(tiny, "default", 64))));

// 2. 1,000 low-priority jobs queued ahead: how soon does a high-priority job start?
await stopNodes(nodes);
for (let i = 0; i < backlogSize; i += 50) {
  await Promise.all(Array.from({ length: Math.min(50, backlogSize - i) }, () => submit(tiny, "low", 64)));
}
const health = (await (
  await fetch(`${stack.apiUrl}/v1/health/detailed`, { headers: { authorization: `Bearer ${stack.apiKey}` } })
).json()) as {
  nats?: { queueDepth?: Record<string, number> };
};
nodes = [stack.startNode("bench-2", nodeEnv)];
await waitForNodes(1);
const backlog: number[] = [];
for (let i = 0; i < samples; i++)
  backlog.push(dispatchMs(await untilFinished(await submit(tiny, "high", 64))));
await stopNodes(nodes);
// Drop what is left of the backlog so it doesn't count against the throughput runs.
const nc = await connect({ servers: stack.natsUrl });
await (await jetstreamManager(nc)).streams.purge("FW_JOBS");
await nc.close();

// 3. CPU-bound throughput, one node vs two, one slot each.
async function throughput(nodeCount: number, jobs: number) {
  // One core per node (FW_CPU_AFFINITY), the way a fleet is sized: a node is a unit of compute.
  const fleet = Array.from({ length: nodeCount }, (_, i) =>
    stack.startNode(`tp-${nodeCount}-${i}`, { ...nodeEnv, FW_CPU_AFFINITY: String(i % cpus().length) }),
  );
  await waitForNodes(nodeCount);
  const started = performance.now();
  const ids = await Promise.all(Array.from({ length: jobs }, () => submit(heavy, "default", 360, "medium")));
  const done = await Promise.all(ids.map((id) => untilFinished(id, 200)));
  const seconds = (performance.now() - started) / 1000;
  await stopNodes(fleet);
  if (done.some((j) => j.status !== "succeeded")) throw new Error("a throughput job failed");
  return { jobs, seconds, jobsPerMinute: (jobs / seconds) * 60 };
}
const one = await throughput(1, 10);
const two = await throughput(2, 10);

const results = {
  machine: { cores: cpus().length, model: cpus()[0]?.model },
  dispatch_idle_ms: { p50: percentile(idle, 50), p99: percentile(idle, 99), samples: idle.length },
  dispatch_with_backlog_ms: {
    queued_low_priority: health.nats?.queueDepth?.["cpu.low"] ?? backlogSize,
    p50: percentile(backlog, 50),
    p99: percentile(backlog, 99),
    samples: backlog.length,
    note: "high-priority job submitted with the backlog queued; includes waiting for the tiny low job in progress",
  },
  throughput: { one_node: one, two_nodes: two, speedup: two.jobsPerMinute / one.jobsPerMinute },
  targets: { idle_p50_ms: 10, idle_p99_ms: 50, two_node_speedup: 1.8 },
};

await stack.stop();
await rm(dir, { recursive: true, force: true });
await saveBenchResults("fleet", results);

console.table({
  "dispatch, idle fleet (ms)": { p50: results.dispatch_idle_ms.p50, p99: results.dispatch_idle_ms.p99 },
  [`dispatch, ${results.dispatch_with_backlog_ms.queued_low_priority} queued (ms)`]: {
    p50: results.dispatch_with_backlog_ms.p50,
    p99: results.dispatch_with_backlog_ms.p99,
  },
});
console.table({
  "1 node": { jobs: one.jobs, seconds: one.seconds.toFixed(1), "jobs/min": one.jobsPerMinute.toFixed(1) },
  "2 nodes": { jobs: two.jobs, seconds: two.seconds.toFixed(1), "jobs/min": two.jobsPerMinute.toFixed(1) },
});
console.log(`two-node speedup: ${results.throughput.speedup.toFixed(2)}x (target 1.8x)`);
