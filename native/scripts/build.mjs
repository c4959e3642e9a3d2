#!/usr/bin/env node
// Builds the addon with node-gyp against the running Node's own headers, so nothing is downloaded
// (machines here reach only package registries) and no user-level npmrc is needed.
//   node scripts/build.mjs              build; fail loudly
//   node scripts/build.mjs --optional   at `npm install`: warn and carry on if it can't build
//                                       (processing nodes then fall back to the wasm engine)
//   node scripts/build.mjs -- -Dframewire_asan=1   extra gyp arguments (AddressSanitizer build)
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const nativeDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const optional = process.argv.includes("--optional");
const passthrough = process.argv.includes("--") ? process.argv.slice(process.argv.indexOf("--")) : [];
const nodedir = resolve(process.execPath, "../..");

const result = spawnSync(
  process.execPath,
  [require.resolve("node-gyp/bin/node-gyp.js"), "rebuild", `--nodedir=${nodedir}`, "-j", "2", ...passthrough],
  { cwd: nativeDir, stdio: "inherit" },
);
if (result.status !== 0) {
  const message =
    "framewire: the native engine did not build (needs g++, make, python3, pkg-config and the " +
    "libav*-dev packages; ./dev installs them). Processing nodes will use the wasm engine.";
  if (optional) {
    console.warn(message);
    process.exit(0);
  }
  console.error(message);
  process.exit(result.status ?? 1);
}
