import { mkdir, rename, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { join, resolve } from "node:path";

const resultsDir = resolve(import.meta.dirname, "../../bench-results");

/**
 * Writes one bench's results to bench-results/<name>.json, keeping the run before it beside it as
 * <name>.previous.json for comparison, and stamps where and under what load it was measured (a
 * busy machine skews every wall-clock figure; the load says how much to trust them).
 */
export async function saveBenchResults(name: string, report: object): Promise<string> {
  await mkdir(resultsDir, { recursive: true });
  const path = join(resultsDir, `${name}.json`);
  await rename(path, join(resultsDir, `${name}.previous.json`)).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "ENOENT") throw error;
  });
  const recorded = {
    at: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? "unknown", node: process.version },
    load_average_at_end: loadavg().map((v) => Math.round(v * 100) / 100),
  };
  await writeFile(path, `${JSON.stringify({ recorded, ...report }, null, 2)}\n`);
  return path;
}
