/**
 * The ffmpeg.wasm worker: a thin request/reply shell over one @ffmpeg/core instance.
 *
 * Plain JavaScript on purpose: worker_threads loads this file with Node's own loader, so it runs the
 * same under tsx, vitest and a built app without a TypeScript hook. All policy (argument building,
 * validation, error codes, progress maths) lives in wasm-engine.ts; this file only moves bytes in and
 * out of MEMFS and runs the core's blocking `exec`/`ffprobe`.
 *
 * Protocol (all messages carry the request `id`):
 *   in:  { id, op: "write", name, bytes } | { id, op: "read", name } | { id, op: "remove", names }
 *        { id, op: "ffprobe", args } | { id, op: "exec", args, progress, keepLines? }
 *   out: { id, ok: true, value, heapBytes } | { id, ok: false, message }
 *        { id, progress: { key: value, ... } } — one per `-progress` block while `exec` runs
 *   and once, before anything else: { ready: true, coreVersion, module } (the compiled WebAssembly.Module)
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parentPort, workerData } from "node:worker_threads";

const coreUrl = import.meta.resolve("@ffmpeg/core");
const corePath = fileURLToPath(coreUrl);

// The core is an Emscripten build for web workers: it reads `self.location` to find its directory.
// We instantiate the wasm for it (instantiateWasm), so nothing is fetched.
globalThis.self ??= globalThis;
globalThis.self.location ??= { href: coreUrl };

const { default: createFFmpegCore } = await import(coreUrl);
// The engine passes back the module an earlier worker compiled, so a replacement worker (after a
// cancel) skips recompiling 32 MB of wasm; V8 shares compiled modules between threads.
const compiled =
  workerData?.module instanceof WebAssembly.Module
    ? workerData.module
    : await WebAssembly.compile(readFileSync(corePath.replace(/\.js$/, ".wasm")));
const core = await createFFmpegCore({
  instantiateWasm: (imports, receive) => {
    // A rejection here is unhandled and so ends the worker, which the engine reports as a failed start.
    WebAssembly.instantiate(compiled, imports).then((instance) => receive(instance, compiled));
    return {};
  },
});
const coreVersion = JSON.parse(readFileSync(new URL("../../package.json", coreUrl), "utf8")).version;

/**
 * Lines kept from one call: enough for the error that ended it and for `-version`/`-encoders`. An
 * analysis call (its findings are log lines: ebur128's frame log, silencedetect) asks for more.
 */
const MAX_LINES = 400;
const MOST_LINES = 2_000_000;
let maxLines = MAX_LINES;
let stdout = [];
let stderr = [];
/** Set while an `exec` with progress runs: collects `key=value` lines until `progress=...` ends a block. */
let progressBlock = null;
let progressId = null;

core.setLogger(({ type, message }) => {
  if (type === "stdout" && progressBlock) {
    const eq = message.indexOf("=");
    if (eq > 0) {
      const key = message.slice(0, eq).trim();
      progressBlock[key] = message.slice(eq + 1).trim();
      if (key === "progress") {
        // postMessage does not need this thread's event loop, so ticks reach the engine while exec blocks.
        parentPort.postMessage({ id: progressId, progress: progressBlock });
        progressBlock = {};
      }
      return;
    }
  }
  const lines = type === "stdout" ? stdout : stderr;
  // Every exec ends through the core's exit path, which prints this; it is not an error.
  if (message === "Aborted()") return;
  lines.push(message);
  if (lines.length > maxLines) lines.shift();
});

core.FS.mkdir("/work");
// A burn's fonts (libass's fontsdir; see wasm-engine.ts).
core.FS.mkdir("/work/fonts");

function call(run, args) {
  stdout = [];
  stderr = [];
  // reset() clears `ret`; FFmpeg's global log level is not reset, so callers always pass `-loglevel`.
  core.reset();
  const ret = run(...args);
  return { ret, stdout, stderr };
}

const ops = {
  write: ({ name, bytes }) => core.FS.writeFile(name, bytes),
  read: ({ name }) => core.FS.readFile(name),
  remove: ({ names }) => {
    for (const name of names) {
      try {
        core.FS.unlink(name);
      } catch {
        // Not there: nothing to free.
      }
    }
  },
  ffprobe: ({ args }) => call(core.ffprobe, args),
  exec: ({ id, args, progress, keepLines }) => {
    progressId = progress ? id : null;
    progressBlock = progress ? {} : null;
    maxLines = Number.isInteger(keepLines) ? Math.min(MOST_LINES, Math.max(MAX_LINES, keepLines)) : MAX_LINES;
    try {
      return call(core.exec, args);
    } finally {
      progressBlock = null;
      progressId = null;
      maxLines = MAX_LINES;
    }
  },
};

parentPort.on("message", (request) => {
  const op = ops[request.op];
  try {
    if (!op) throw new Error(`unknown op ${String(request.op)}`);
    const value = op(request);
    const transfer = value instanceof Uint8Array ? [value.buffer] : [];
    parentPort.postMessage({ id: request.id, ok: true, value, heapBytes: core.HEAPU8.length }, transfer);
  } catch (error) {
    parentPort.postMessage({ id: request.id, ok: false, message: String(error?.message ?? error) });
  }
});

parentPort.postMessage({ ready: true, coreVersion, module: compiled });
