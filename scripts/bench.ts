/**
 * `npm run bench`: runs every benchmark beside the code it measures (`<package>/bench/*.bench.ts`),
 * one at a time (they measure throughput; running them together would measure contention), each
 * in its own Node process. Each writes its JSON to bench-results/<name>.json and prints a table.
 *   npm run bench                 all of them
 *   npm run bench -- engine       only those whose file name contains "engine"
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const filter = process.argv[2];
const files = readdirSync(root, { withFileTypes: true })
  .filter((d) => d.isDirectory() && !d.name.startsWith(".") && d.name !== "node_modules")
  .map((d) => join(root, d.name, "bench"))
  .filter((dir) => existsSync(dir))
  .flatMap((dir) =>
    readdirSync(dir)
      .filter((f) => f.endsWith(".bench.ts"))
      .map((f) => join(dir, f)),
  )
  .filter((file) => !filter || file.includes(filter))
  .sort();

if (files.length === 0) {
  console.error(`no benchmarks found${filter ? ` matching "${filter}"` : ""}`);
  process.exit(1);
}
let failed = 0;
for (const file of files) {
  console.log(`\n▶ ${file.slice(root.length + 1)}`);
  const result = spawnSync(process.execPath, ["--import", "tsx", file], { cwd: root, stdio: "inherit" });
  if (result.status !== 0) {
    failed++;
    console.error(`✗ ${file} exited with ${result.status ?? result.signal}`);
  }
}
process.exit(failed > 0 ? 1 : 0);
