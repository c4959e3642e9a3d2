import { mkdtemp, readFile, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createFramewireClient } from "@framewire/shared/client";
import { saveBenchResults } from "../../scripts/lib/bench-results";
import { startStack } from "../../scripts/lib/stack";
import { makeClip } from "../../test/support/media";

/**
 * What fair dispatch costs an idle fleet (issue 15: under 5 ms added to the p99 of accept →
 * running). One stack (edge, one node with one slot, native engine); the edge is restarted between
 * rounds with FW_TENANT_QUEUE_DEPTH=0 (off: every job published when accepted) and the default 4,
 * interleaved, so both see the same machine. Latency is the edge's own timestamps (started_at −
 * created_at) of tiny jobs submitted one at a time. Results in bench-results/fair-dispatch.json.
 */
const samplesPerRound = Number(process.env.BENCH_SAMPLES ?? 40);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const loadBefore = loadavg()[0] ?? 0;

const dir = await mkdtemp(join(tmpdir(), "fw-bench-fair-"));
const edgeEnv: Record<string, string> = {
  FW_TENANT_QUEUE_DEPTH: "4",
  // The bench polls each job every 5 ms: not what the rate limits are for.
  FW_RATE_KEY_BURST: "1000000",
  FW_RATE_KEY_PER_SEC: "1000000",
  FW_RATE_IP_BURST: "1000000",
  FW_RATE_IP_PER_SEC: "1000000",
};
const stack = await startStack({
  dataDir: join(dir, "data"),
  ports: { api: 0, gateway: 0, nats: 0 },
  nodes: 1,
  slots: 1,
  engine: "native",
  output: "files",
  logLevel: "warn",
  // Read again at every restart: each round sets its own depth here.
  extraEdgeEnv: edgeEnv,
});
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
};
try {
  const client = createFramewireClient({ baseUrl: stack.apiUrl, apiKey: stack.apiKey });
  const clip = await readFile(await makeClip(join(dir, "clip.mp4"), { seconds: 1, width: 160, height: 120 }));
  const uploaded = await client.uploads.send(new Uint8Array(clip), "video/mp4");
  if (!uploaded.ok) throw new Error("upload failed");
  const spec = {
    input: { type: "upload" as const, upload_id: uploaded.data.id },
    outputs: [{ name: "a", type: "audio" as const, codec: "aac" as const }],
  };
  const samples: Record<"off" | "fair", number[]> = { off: [], fair: [] };
  for (let round = 0; round < rounds; round++) {
    for (const mode of ["off", "fair"] as const) {
      edgeEnv.FW_TENANT_QUEUE_DEPTH = mode === "off" ? "0" : "4";
      await stack.restartEdge();
      for (let i = 0; i < samplesPerRound + 3; i++) {
        const created = await client.jobs.create(spec);
        if (!created.ok) throw new Error(`submit refused: ${created.problem.code}`);
        let job = created.data;
        while (!["succeeded", "failed", "canceled"].includes(job.status)) {
          await new Promise((r) => setTimeout(r, 5));
          const read = await client.jobs.get(job.id);
          if (read.ok) job = read.data;
        }
        // The first few after a restart warm the edge's caches.
        if (i >= 3) samples[mode].push(Date.parse(job.started_at ?? "") - Date.parse(job.created_at));
      }
    }
  }
  const figures = (values: number[]) => ({
    p50: percentile(values, 50),
    p99: percentile(values, 99),
    n: values.length,
  });
  const report = {
    off: figures(samples.off),
    fair: figures(samples.fair),
    added_p99_ms: percentile(samples.fair, 99) - percentile(samples.off, 99),
    target_added_p99_ms: 5,
    load_average: { before: loadBefore, after: loadavg()[0] },
  };
  console.table({ "depth 0 (off)": report.off, "depth 4 (fair)": report.fair });
  console.log(
    `fair dispatch adds ${report.added_p99_ms} ms to the p99 (target < 5 ms); load ${loadBefore.toFixed(1)}`,
  );
  await saveBenchResults("fair-dispatch", report);
} finally {
  await stack.stop();
  await rm(dir, { recursive: true, force: true });
}
