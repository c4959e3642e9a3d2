import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFramewireClient } from "@framewire/shared/client";
import { saveBenchResults } from "../../scripts/lib/bench-results";
import { startStack } from "../../scripts/lib/stack";

/**
 * Batch creation (issue 15): a batch of BENCH_BATCH_INPUTS (10,000) inputs POSTed to the edge on
 * Node (its own process, libSQL file, real nats-server, no processing node): how long until the
 * 202, and until every job is made and queued (`created == total`, counts add up). With fair
 * dispatch the jobs beyond the tenant's FW_TENANT_QUEUE_DEPTH wait in the database for slots, so
 * "dispatched" is every job made and queued; the ones released to JetStream are counted apart.
 * Targets: accepted < 3 s, fully made < 30 s. Results in bench-results/batch.json.
 */
const inputs = Number(process.env.BENCH_BATCH_INPUTS ?? 10_000);
const targets = { acceptMs: 3_000, createdMs: 30_000 };

const dir = await mkdtemp(join(tmpdir(), "fw-bench-batch-"));
const stack = await startStack({
  dataDir: join(dir, "data"),
  ports: { api: 0, gateway: 0, nats: 0 },
  nodes: 0,
  output: "files",
  logLevel: "warn",
});
try {
  const client = createFramewireClient({ baseUrl: stack.apiUrl, apiKey: stack.apiKey });
  const body = {
    outputs: [{ name: "small", type: "video" as const, video: { height: 240 } }],
    inputs: Array.from({ length: inputs }, (_, i) => ({
      type: "url" as const,
      url: `https://media.example/library/${i}.mp4`,
    })),
  };
  const t0 = performance.now();
  const created = await client.batches.create(body);
  const acceptMs = performance.now() - t0;
  if (!created.ok) throw new Error(`batch refused: ${created.problem.code} ${created.problem.detail}`);
  let batch = created.data;
  while (batch.created < batch.total) {
    await new Promise((r) => setTimeout(r, 100));
    const read = await client.batches.get(batch.id, { limit: 0 });
    if (!read.ok) throw new Error(`batch read failed: ${read.status}`);
    batch = read.data;
  }
  const createdMs = performance.now() - t0;
  const counted = Object.values(batch.counts).reduce((a, b) => a + b, 0);
  const report = {
    inputs,
    accept_ms: Math.round(acceptMs),
    all_jobs_made_and_queued_ms: Math.round(createdMs),
    counts: batch.counts,
    counts_add_up: counted === inputs,
    targets,
    met: acceptMs < targets.acceptMs && createdMs < targets.createdMs && counted === inputs,
  };
  console.table([
    { what: "accepted (202)", ms: report.accept_ms, target: targets.acceptMs },
    { what: "every job made and queued", ms: report.all_jobs_made_and_queued_ms, target: targets.createdMs },
  ]);
  await saveBenchResults("batch", report);
  if (!report.met) process.exitCode = 1;
} finally {
  await stack.stop();
  await rm(dir, { recursive: true, force: true });
}
