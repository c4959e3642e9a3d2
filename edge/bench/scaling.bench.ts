import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { saveBenchResults } from "../../scripts/lib/bench-results";
import { freePort } from "../../scripts/lib/stack";
import { startNatsServer } from "../../test/support/nats-server";
import { benchEdgeEnv, startNodeEdge } from "./node-edge";
import { populateBenchDatabase, submitBody } from "./populate";
import { cpuMicros, processTree } from "./process-cpu";

/**
 * The Node edge as one process against FW_EDGE_PROCESSES=N (node:cluster, N = the machine's cores
 * unless BENCH_EDGE_PROCESSES says otherwise), both on one database and one nats-server, under the
 * same autocannon in interleaved rounds: `GET /v1/jobs/:id` and `POST /v1/jobs`. Reports each one's
 * requests per second, the scaling (N processes over one), and the CPU time per request of all the
 * edge's processes together and of the primary alone (what every request costs the process that
 * holds the rate-limit buckets: the part that does not scale out). Results go to
 * bench-results/edge-scaling.json.
 *
 * The load generator is this one process on the same machine: where it needs a core of its own the
 * edge has one fewer, so scaling shows only on a machine with cores to spare (the result says how
 * many there were). The edge that is not measured is stopped (SIGSTOP) during the other's rounds.
 * Each has its own copy of the populated database, which its POST rounds grow: a stopped edge may
 * be stopped inside a write transaction, and would hold the other's writes for as long as it stands.
 *
 * The rate limits are set far above the load, so every grant is the largest (100 tokens) and the
 * primary is asked about once per 100 requests per bucket: its CPU per request here is its best
 * case. With the default limits grants are smaller (a share of what a bucket has left), and a
 * bucket near empty is decided at the primary for every request.
 */
const tenants = 10;
const jobsPerTenant = 1_000;
const durationSec = Number(process.env.BENCH_DURATION_SEC ?? 8);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const processes = Number(process.env.BENCH_EDGE_PROCESSES ?? Math.max(2, availableParallelism()));
const connections = Number(process.env.BENCH_CONNECTIONS ?? 10 * processes);

const loadBefore = loadavg()[0];
const dir = await mkdtemp(join(tmpdir(), "fw-bench-scaling-"));
const nats = await startNatsServer({ storeDir: join(dir, "nats") });
const dbPath = (count: number) => join(dir, `edge-${count}.db`);
const { keys, jobIdsByTenant } = await populateBenchDatabase(`file:${dbPath(1)}`, { tenants, jobsPerTenant });
// Closed: the file and its WAL, if one is left, hold everything.
for (const suffix of ["", "-wal"]) {
  if (existsSync(dbPath(1) + suffix)) await copyFile(dbPath(1) + suffix, dbPath(processes) + suffix);
}

async function startEdge(count: number) {
  const port = await freePort();
  const storage = join(dir, `storage-${count}`);
  await mkdir(storage, { recursive: true });
  const edge = await startNodeEdge({
    env: {
      ...benchEdgeEnv({ port, dbUrl: `file:${dbPath(count)}`, natsUrl: nats.url, storageDir: storage }),
      FW_EDGE_PROCESSES: String(count),
    },
    logPath: join(dir, `edge-${count}.log`),
  });
  return { count, port, edge };
}
const single = await startEdge(1);
const cluster = await startEdge(processes);
// The workers of the cluster, once all of them have forked (the launcher hears "listening" from
// the first one).
let clusterPids: number[] = [];
for (let i = 0; i < 100 && clusterPids.length < processes + 1; i++) {
  await new Promise((r) => setTimeout(r, 100));
  clusterPids = await processTree(cluster.edge.child.pid ?? 0);
}

let n = 0;
const pick = () => {
  const t = n++ % tenants;
  const ids = jobIdsByTenant[t] ?? [];
  return { key: keys[t] ?? "", id: ids[Math.floor(Math.random() * ids.length)] ?? "" };
};
const load = (kind: "get" | "post", port: number, duration: number): autocannon.Options => ({
  url: `http://127.0.0.1:${port}`,
  connections,
  duration,
  requests: [
    {
      setupRequest: (req) => {
        if (kind === "post")
          return {
            ...req,
            method: "POST",
            path: "/v1/jobs",
            headers: { authorization: `Bearer ${pick().key}`, "content-type": "application/json" },
            body: submitBody,
          };
        const { key, id } = pick();
        return { ...req, method: "GET", path: `/v1/jobs/${id}`, headers: { authorization: `Bearer ${key}` } };
      },
    },
  ],
});

interface Round {
  requests_per_sec: number;
  p99_ms: number;
  non_2xx: number;
  /** All of the edge's processes together (a cluster's primary included), per request. */
  cpu_us_per_request: number | null;
  /** The cluster's primary alone, per request (null for one process). */
  primary_cpu_us_per_request: number | null;
}

async function measure(kind: "get" | "post", target: typeof single, pids: number[]): Promise<Round> {
  const before = await Promise.all(pids.map(cpuMicros));
  const result = await autocannon(load(kind, target.port, durationSec));
  const after = await Promise.all(pids.map(cpuMicros));
  const per = (i: number) => {
    const a = after[i];
    const b = before[i];
    return a == null || b == null || result.requests.total === 0 ? null : (a - b) / result.requests.total;
  };
  const each = pids.map((_, i) => per(i));
  return {
    requests_per_sec: Math.round(result.requests.average),
    p99_ms: result.latency.p99,
    non_2xx: result.non2xx + result.errors + result.timeouts,
    cpu_us_per_request: each.some((v) => v === null)
      ? null
      : Math.round(each.reduce((sum: number, v) => sum + (v ?? 0), 0)),
    primary_cpu_us_per_request: target === single || each[0] == null ? null : Math.round(each[0] * 10) / 10,
  };
}

const kinds = ["get", "post"] as const;
const runs = {
  get: { single: [] as Round[], cluster: [] as Round[] },
  post: { single: [] as Round[], cluster: [] as Round[] },
};
try {
  for (const kind of kinds) {
    await autocannon(load(kind, single.port, 2)); // warm-up
    await autocannon(load(kind, cluster.port, 2));
  }
  for (let r = 0; r < rounds; r++) {
    for (const kind of kinds) {
      // Alternate which goes first, so a drift in the machine's speed falls on both alike.
      const order = r % 2 === 0 ? (["single", "cluster"] as const) : (["cluster", "single"] as const);
      for (const which of order) {
        const target = which === "single" ? single : cluster;
        const pids = which === "single" ? [single.edge.child.pid ?? 0] : clusterPids;
        // The other edge stands still meanwhile: its sweepers and checkpointer would take CPU.
        const idle = which === "single" ? clusterPids : [single.edge.child.pid ?? 0];
        for (const pid of idle) process.kill(pid, "SIGSTOP");
        try {
          runs[kind][which].push(await measure(kind, target, pids));
        } finally {
          for (const pid of idle) process.kill(pid, "SIGCONT");
        }
      }
    }
  }
} finally {
  await single.edge.stop();
  await cluster.edge.stop();
  await nats.stop();
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};
const summary = (list: Round[]) => ({
  requests_per_sec: median(list.map((r) => r.requests_per_sec)),
  p99_ms: median(list.map((r) => r.p99_ms)),
  non_2xx: list.reduce((sum, r) => sum + r.non_2xx, 0),
  cpu_us_per_request: median(list.flatMap((r) => r.cpu_us_per_request ?? [])) || null,
  primary_cpu_us_per_request: median(list.flatMap((r) => r.primary_cpu_us_per_request ?? [])) || null,
  rounds: list,
});
const results = kinds.map((kind) => {
  const one = summary(runs[kind].single);
  const many = summary(runs[kind].cluster);
  return {
    name: kind === "get" ? "GET /v1/jobs/:id" : "POST /v1/jobs (with dispatch)",
    one_process: one,
    [`${processes}_processes`]: many,
    scaling: Math.round((many.requests_per_sec / Math.max(1, one.requests_per_sec)) * 100) / 100,
  };
});
const machine = {
  cpus: cpus().length,
  model: cpus()[0]?.model ?? "unknown",
  node: process.version,
  load_average_before: loadBefore,
  load_average_after: loadavg()[0],
};
await saveBenchResults("edge-scaling", {
  benchmark: "edge-scaling",
  at: new Date().toISOString(),
  machine,
  setup: {
    processes,
    tenants,
    jobs: tenants * jobsPerTenant,
    connections,
    duration_sec: durationSec,
    rounds,
    load_generator: "autocannon, one process on the same machine (it takes cores from the edge)",
    rate_limits: "bursts of 1e9: every grant is the 100-token maximum (the primary's best case)",
  },
  results,
});
console.log(`load average ${loadBefore?.toFixed(2)} → ${loadavg()[0]?.toFixed(2)}; ${machine.cpus} cores`);
console.table(
  results.flatMap((r) => {
    const many = r[`${processes}_processes`] as ReturnType<typeof summary>;
    return [
      { name: r.name, processes: 1, ...pickFigures(r.one_process), scaling: "" },
      { name: r.name, processes, ...pickFigures(many), scaling: `${r.scaling}×` },
    ];
  }),
);
function pickFigures(s: ReturnType<typeof summary>) {
  return {
    requests_per_sec: s.requests_per_sec,
    p99_ms: s.p99_ms,
    cpu_us_per_request: s.cpu_us_per_request,
    primary_cpu_us_per_request: s.primary_cpu_us_per_request ?? "",
  };
}
if (
  results.some(
    (r) =>
      r.one_process.non_2xx > 0 || (r[`${processes}_processes`] as ReturnType<typeof summary>).non_2xx > 0,
  )
) {
  console.error(`non-2xx answers or errors; see the edge logs in ${dir}`);
  process.exit(1);
}
await rm(dir, { recursive: true, force: true });
