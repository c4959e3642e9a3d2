import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { repoRoot } from "./lib/stack";

/**
 * `npm run bench`: runs every `<package>/bench/*.bench.ts` in turn, each in its own process (a
 * benchmark must not share an event loop with another). Pass a substring to run only matching files.
 */
const filter = process.argv[2] ?? "";
const files = readdirSync(repoRoot, { withFileTypes: true })
  .filter((e) => e.isDirectory() && !e.name.startsWith(".") && e.name !== "node_modules")
  .flatMap((dir) => {
    try {
      return readdirSync(join(repoRoot, dir.name, "bench"))
        .filter((f) => f.endsWith(".bench.ts"))
        .map((f) => join(repoRoot, dir.name, "bench", f));
    } catch {
      return [];
    }
  })
  .filter((f) => relative(repoRoot, f).includes(filter))
  .sort();

let failed = 0;
for (const file of files) {
  console.log(`\n▶ ${relative(repoRoot, file)}`);
  const run = spawnSync(process.execPath, ["--import", "tsx", file], { cwd: repoRoot, stdio: "inherit" });
  if (run.status !== 0) failed++;
}
if (files.length === 0) console.log("no */bench/*.bench.ts files matched");
process.exit(failed > 0 ? 1 : 0);
