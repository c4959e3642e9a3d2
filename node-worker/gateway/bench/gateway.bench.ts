import { type ChildProcess, fork, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { type ProgressTick, signToken } from "@framewire/shared";
import { subjects } from "@framewire/shared/nats";
import { connect } from "@nats-io/transport-node";
import { saveBenchResults } from "../../../scripts/lib/bench-results";
import { repoRoot } from "../../../scripts/lib/stack";
import { startNatsServer } from "../../../test/support/nats-server";
import { BUCKET_MS, BUCKETS, type FromClients, type ToClients } from "./gateway-clients";

/**
 * Progress gateway benchmark: 1,000 and 5,000 WebSocket clients, on one job and spread over 100
 * jobs. Real nats-server, the gateway as its own process (as deployed), clients in separate
 * processes. Ticks are published on NATS at a steady rate with a send timestamp; clients time
 * each arrival. Reports tick-to-client latency p50/p99, deliveries per second and the gateway's
 * memory. Results in bench-results/gateway.json.
 *
 * Everything shares this machine (nats-server, gateway, clients, publisher, and whatever else is
 * running): the load average is recorded with the figures.
 */

const clientCounts = (process.env.BENCH_CLIENTS ?? "1000,5000").split(",").map(Number);
const jobCounts = (process.env.BENCH_JOBS ?? "1,100").split(",").map(Number);
const clientProcesses = Number(process.env.BENCH_CLIENT_PROCESSES ?? 4);
/**
 * Each job is shaped like a real one: the engine reports every output at once, 5 times a second,
 * and the node publishes one tick per output back to back. Two outputs: 10 ticks/s per job.
 */
const outputsPerJob = Number(process.env.BENCH_OUTPUTS ?? 2);
const reportsPerSec = Number(process.env.BENCH_REPORT_HZ ?? 5);
const ticksPerJobPerSec = outputsPerJob * reportsPerSec;
const measureSec = Number(process.env.BENCH_MEASURE_SEC ?? 10);
const warmupSec = 2;
const secret = "b".repeat(48);
const targetP99Ms = 50;

const percentile = (buckets: Uint32Array, total: number, p: number) => {
  const rank = Math.ceil((p / 100) * total);
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    seen += buckets[i] ?? 0;
    if (seen >= rank) return (i + 1) * BUCKET_MS;
  }
  return Number.POSITIVE_INFINITY;
};

async function rssKb(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const field = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN);
  return { rss: field("VmRSS"), peak: field("VmHWM") };
}

/** utime and stime in clock ticks (fields 14 and 15 of /proc/<pid>/stat). */
async function cpuSplit(pid: number): Promise<{ user: number; system: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { user: Number(fields[11]), system: Number(fields[12]) };
}

const cpuTicks = async (pid: number) => {
  const { user, system } = await cpuSplit(pid);
  return user + system;
};

async function cpuShares(pids: { gateway: number; nats: number; clients: number[] }) {
  const clients = await Promise.all(pids.clients.map(cpuTicks));
  const split = await cpuSplit(pids.gateway);
  return {
    gateway: split.user + split.system,
    // Kernel time: on loopback the sender's send() also runs the receiver's TCP stack.
    gatewaySystem: split.system,
    nats: await cpuTicks(pids.nats),
    clients: clients.reduce((a, b) => a + b, 0),
  };
}

/** Clock ticks are 1/100 s on Linux. */
const coresUsed = (before: number, after: number, seconds: number) =>
  Math.round(((after - before) / 100 / seconds) * 100) / 100;

const nats = await startNatsServer();
const nc = await connect({ servers: nats.url });

// The gateway exactly as deployed, configured (not patched) to accept every bench socket from
// 127.0.0.1: its per-address limit is an operator setting.
const gateway = spawn(process.execPath, ["--import", "tsx", "node-worker/gateway/src/main.ts"], {
  cwd: repoRoot,
  env: {
    ...process.env,
    FW_NATS_URL: nats.url,
    FW_TOKEN_SECRET: secret,
    FW_GATEWAY_PORT: "0",
    FW_GATEWAY_MAX_CONNECTIONS_PER_IP: "20000",
    FW_LOG_LEVEL: "warn",
  },
  stdio: ["ignore", "inherit", "inherit", "ipc"],
});
const port = await new Promise<number>((resolve, reject) => {
  gateway.on("message", (m: { type: string; port: number }) => {
    if (m.type === "listening") resolve(m.port);
  });
  gateway.once("exit", (code) => reject(new Error(`the gateway exited with ${code}`)));
});
const gatewayPid = gateway.pid ?? 0;

async function gatewayMetric(name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return Number(line?.split(" ").at(-1) ?? Number.NaN);
}

const clientEntry = fileURLToPath(new URL("./gateway-clients.ts", import.meta.url));

function startClients(): ChildProcess[] {
  return Array.from({ length: clientProcesses }, () =>
    fork(clientEntry, [], { execArgv: ["--import", "tsx"], serialization: "advanced", stdio: "inherit" }),
  );
}

function ask<T extends FromClients["type"]>(
  child: ChildProcess,
  message: ToClients,
  reply: T,
): Promise<Extract<FromClients, { type: T }>> {
  return new Promise((resolve) => {
    const onMessage = (m: FromClients) => {
      if (m.type !== reply) return;
      child.off("message", onMessage);
      resolve(m as Extract<FromClients, { type: T }>);
    };
    child.on("message", onMessage);
    child.send(message);
  });
}

let jobSeq = 0;
const newJobId = () => `job_${String(Date.now()).padStart(13, "0")}${String(++jobSeq).padStart(13, "0")}`;

async function scenario(clients: number, jobs: number) {
  const jobIds = Array.from({ length: jobs }, newJobId);
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const tokens = await Promise.all(
    jobIds.map((job) => signToken(secret, "progress", { job, tenant: "ten_bench", exp })),
  );
  const urls = Array.from({ length: clients }, (_, i) => {
    const j = i % jobs;
    return `ws://127.0.0.1:${port}/v1/jobs/${jobIds[j]}/progress?token=${tokens[j]}`;
  });
  const children = startClients();
  const share = (k: number) => urls.filter((_, i) => i % clientProcesses === k);
  const opened = await Promise.all(
    children.map((child, k) => ask(child, { type: "open", urls: share(k), concurrency: 100 }, "opened")),
  );
  const open = opened.reduce((n, o) => n + o.open, 0);
  if (open !== clients) {
    throw new Error(
      `only ${open} of ${clients} sockets opened: ${opened.find((o) => o.firstError)?.firstError}`,
    );
  }

  // Steady publishing: every 5 ms, the reports that are due, round-robin over the jobs (so their
  // phases spread evenly); a report is one tick per output, published back to back.
  const rate = ticksPerJobPerSec * jobs;
  const encoder = new TextEncoder();
  let reports = 0;
  const started = performance.now();
  const publisher = setInterval(() => {
    const due = Math.floor(((performance.now() - started) / 1000) * reportsPerSec * jobs);
    for (; reports < due; reports++) {
      const job = jobIds[reports % jobs] as string;
      for (let o = 0; o < outputsPerJob; o++) {
        const tick: ProgressTick & { bench_sent_at: number } = {
          type: "job:progress",
          job_id: job,
          attempt: 1,
          output: `output-${o}`,
          percent: Math.min(99.9, reports / 100),
          frames: reports,
          fps: 120.5,
          speed: 4.02,
          out_time_sec: reports / 25,
          eta_sec: 42,
          at: new Date().toISOString(),
          // Read by the clients; the gateway passes ticks through untouched.
          bench_sent_at: performance.timeOrigin + performance.now(),
        };
        nc.publish(subjects.progress(job), encoder.encode(JSON.stringify(tick)));
      }
    }
  }, 5);

  await new Promise((r) => setTimeout(r, warmupSec * 1000));
  const sentBefore = await gatewayMetric("fw_gateway_messages_sent_total");
  const droppedBefore = await gatewayMetric("fw_gateway_messages_dropped_total");
  const pids = { gateway: gatewayPid, nats: nats.process.pid ?? 0, clients: children.map((c) => c.pid ?? 0) };
  const cpuBefore = await cpuShares(pids);
  for (const child of children) child.send({ type: "measure", on: true } satisfies ToClients);
  const windowStart = performance.now();
  await new Promise((r) => setTimeout(r, measureSec * 1000));
  const histograms = await Promise.all(
    children.map((child) => ask(child, { type: "measure", on: false }, "histogram")),
  );
  const seconds = (performance.now() - windowStart) / 1000;
  const cpuAfter = await cpuShares(pids);
  const memory = await rssKb(gatewayPid);
  const sent = (await gatewayMetric("fw_gateway_messages_sent_total")) - sentBefore;
  const dropped = (await gatewayMetric("fw_gateway_messages_dropped_total")) - droppedBefore;
  const load = loadavg();
  clearInterval(publisher);

  const merged = new Uint32Array(BUCKETS);
  let received = 0;
  let overflow = 0;
  let maxMs = 0;
  for (const h of histograms) {
    for (let i = 0; i < BUCKETS; i++) merged[i] = (merged[i] ?? 0) + (h.buckets[i] ?? 0);
    received += h.count;
    overflow += h.overflow;
    maxMs = Math.max(maxMs, h.maxMs);
  }

  // The final state closes every socket (the gateway's normal end of a job).
  for (const job of jobIds) {
    nc.publish(
      subjects.progress(job),
      encoder.encode(
        JSON.stringify({ type: "job:state", job_id: job, status: "succeeded", at: new Date().toISOString() }),
      ),
    );
  }
  const closed = await Promise.all(children.map((child) => ask(child, { type: "close" }, "closed")));
  const closeCodes: Record<string, number> = {};
  for (const c of closed)
    for (const [code, n] of Object.entries(c.closeCodes)) closeCodes[code] = (closeCodes[code] ?? 0) + n;
  await Promise.all(
    children.map((c) => new Promise((r) => (c.exitCode === null ? c.once("exit", r) : r(null)))),
  );

  return {
    clients,
    jobs,
    client_processes: clientProcesses,
    ticks_per_sec_published: rate,
    expected_deliveries_per_sec: (rate * clients) / jobs,
    deliveries_per_sec_received: Math.round(received / seconds),
    gateway_messages_sent_per_sec: Math.round(sent / seconds),
    gateway_messages_dropped: dropped,
    latency_ms: {
      p50: percentile(merged, received, 50),
      p99: percentile(merged, received, 99),
      max: Math.round(maxMs * 10) / 10,
      over_10s: overflow,
    },
    gateway_rss_mib: Math.round((memory.rss / 1024) * 10) / 10,
    gateway_peak_rss_mib: Math.round((memory.peak / 1024) * 10) / 10,
    // Cores used during the window (1.0 = one core), per part: shows where the machine's time went.
    cpu_cores: {
      gateway: coresUsed(cpuBefore.gateway, cpuAfter.gateway, seconds),
      gateway_kernel: coresUsed(cpuBefore.gatewaySystem, cpuAfter.gatewaySystem, seconds),
      nats_server: coresUsed(cpuBefore.nats, cpuAfter.nats, seconds),
      clients: coresUsed(cpuBefore.clients, cpuAfter.clients, seconds),
    },
    close_codes: closeCodes,
    load_average: load.map((l) => Math.round(l * 100) / 100),
  };
}

const runs = [];
try {
  for (const clients of clientCounts) {
    for (const jobs of jobCounts) {
      const result = await scenario(clients, jobs);
      runs.push(result);
      console.log(
        `${clients} clients / ${jobs} job(s): p50 ${result.latency_ms.p50.toFixed(1)} ms, p99 ${result.latency_ms.p99.toFixed(1)} ms, ${result.deliveries_per_sec_received} msg/s, gateway ${result.gateway_rss_mib} MiB, load ${result.load_average.join(" ")}`,
      );
    }
  }
} finally {
  gateway.kill("SIGTERM");
  await new Promise((r) => (gateway.exitCode === null ? gateway.once("exit", r) : r(null)));
  await nc.close();
  await nats.stop();
}

const results = {
  machine: { cores: cpus().length, model: cpus()[0]?.model },
  note: "nats-server, the gateway, the client processes and the publisher share this machine; see load_average per run",
  settings: {
    ticks_per_job_per_sec: ticksPerJobPerSec,
    measure_sec: measureSec,
    client: "ws (Node), text frames",
  },
  runs,
  targets: { clients: 5000, p99_ms: targetP99Ms },
};
await saveBenchResults("gateway", results);

console.table(
  Object.fromEntries(
    runs.map((r) => [
      `${r.clients} clients, ${r.jobs} job${r.jobs > 1 ? "s" : ""}`,
      {
        "p50 ms": r.latency_ms.p50.toFixed(1),
        "p99 ms": r.latency_ms.p99.toFixed(1),
        "msg/s": r.deliveries_per_sec_received,
        "gateway MiB": r.gateway_rss_mib,
        "gateway cores": r.cpu_cores.gateway,
        "client cores": r.cpu_cores.clients,
        load: r.load_average[0],
      },
    ]),
  ),
);
const worst = runs.filter((r) => r.clients >= 5000).map((r) => r.latency_ms.p99);
if (worst.length > 0)
  console.log(`5,000 clients p99: ${Math.max(...worst).toFixed(1)} ms (target < ${targetP99Ms} ms)`);
