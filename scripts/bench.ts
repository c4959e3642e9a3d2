import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./lib/stack";

/**
 * `npm run bench [-- name…]`: runs every `<package>/bench/*.bench.ts` in turn (or the ones whose
 * file name contains a given word). Each writes its results to bench-results/<name>.json and
 * prints a summary table. Benchmarks are never part of `npm test`.
 */
const filters = process.argv.slice(2);
const benches = ["native", "edge", "node-worker", "node-worker/gateway"].flatMap((pkg) => {
  const dir = join(repoRoot, pkg, "bench");
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith(".bench.ts"))
      .map((f) => join(dir, f));
  } catch {
    return [];
  }
});
// Matched on the path inside the repository: a checkout's own folder name (a worktree called
// "wt-compositions") must not make every bench match.
const selected = benches.filter(
  (b) => filters.length === 0 || filters.some((f) => b.slice(repoRoot.length + 1).includes(f)),
);
let failed = 0;
for (const bench of selected) {
  console.log(`\n=== ${bench.slice(repoRoot.length + 1)}`);
  const result = spawnSync(process.execPath, ["--import", "tsx", bench], { cwd: repoRoot, stdio: "inherit" });
  if (result.status !== 0) failed++;
}
process.exit(failed > 0 ? 1 : 0);
