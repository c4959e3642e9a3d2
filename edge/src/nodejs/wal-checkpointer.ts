import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

/**
 * Checkpoints a WAL database from a worker thread, so that the edge's event loop never copies pages
 * back into the database file, nor waits on the two fsyncs of a checkpoint.
 *
 * Why: SQLite checkpoints in the connection whose commit takes the WAL past `wal_autocheckpoint`
 * pages (1,000 by default). On the edge that is the main thread: under a flood of submissions it
 * wrote back every page the last thousand frames touched, about every 75 jobs. Moving that here
 * took ~40 µs of main-thread CPU off each POST and raised POST throughput 12–18% (A/B under
 * autocannon, same database copy, alternated rounds).
 *
 * The worker runs PASSIVE checkpoints, which never block a reader or the writer. Under steady
 * writes, though, one rarely ends with the whole WAL copied at the moment a write begins, and only
 * then does SQLite start the WAL over from its beginning. So the main connection keeps an
 * autocheckpoint, raised to `backstopPages`: when the WAL reaches it, the main thread copies the
 * few frames the worker has not yet, and the WAL restarts. The WAL file stays near `backstopPages`
 * pages (16 MiB at 4,000 pages of 4 KiB). It overshoots while the worker's checkpoint holds the
 * lock as the threshold passes (each commit after tries again): by up to a quarter in a test on an
 * idle machine, 60% under the parallel test run's load. Far more would slow every read,
 * whose page lookups walk one more hash table per 4,096 frames; with no checkpoint at all, POST
 * cost 84–174 µs more.
 */
export const backstopPages = 4_000;

export interface WalCheckpointer {
  /** Ends the worker's loop and closes its connection; resolves once the worker has exited. */
  stop(): Promise<void>;
}

// The worker's source, run with `eval`: the compiled build bundles each entry into one file, so a
// worker module of its own would not be beside it. Plain CommonJS, no TypeScript.
const workerSource = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.libsql);
const db = new Database(workerData.path);
const checkpoint = db.prepare("PRAGMA wal_checkpoint(PASSIVE)");
let reported = false;
const timer = setInterval(() => {
  try {
    checkpoint.get();
  } catch (error) {
    // Busy: another process's checkpointer holds the lock this time. Anything else is said once.
    if (error && error.code !== "SQLITE_BUSY" && !reported) {
      reported = true;
      parentPort.postMessage({ error: String(error.message || error) });
    }
  }
}, workerData.intervalMs);
parentPort.on("message", () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

export function startWalCheckpointer(
  path: string,
  options: { intervalMs?: number; onError?: (message: string) => void } = {},
): WalCheckpointer {
  const worker = new Worker(workerSource, {
    eval: true,
    workerData: {
      path,
      intervalMs: options.intervalMs ?? 100,
      libsql: createRequire(import.meta.url).resolve("libsql"),
    },
  });
  // It must not hold the process open: a process that ends without stop() just ends.
  worker.unref();
  worker.on("message", (message: { error?: string }) => {
    if (message.error) options.onError?.(message.error);
  });
  // The backstop autocheckpoint keeps the WAL bounded without the worker; only say why it went.
  worker.on("error", (error) => options.onError?.(error.message));
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  return {
    stop() {
      worker.postMessage("stop");
      return exited;
    },
  };
}
