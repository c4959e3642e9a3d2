import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type { Logger } from "../logger";

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

/** What the worker says: lines for the edge's log (pino's level names). */
type CheckpointerReport =
  | { level: "info"; msg: "db:checkpointer:started"; interval_ms: number }
  | { level: "error"; msg: "db:checkpointer:failed"; reason: string }
  | { level: "warn"; msg: "db:wal:large"; wal_frames: number; checkpointed_frames: number };

// The worker's source, run with `eval`: the compiled build bundles each entry into one file, so a
// worker module of its own would not be beside it. Plain CommonJS, no TypeScript.
const workerSource = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.libsql);
const db = new Database(workerData.path);
const checkpoint = db.prepare("PRAGMA wal_checkpoint(PASSIVE)");
// The same complaint at most once a minute: a log line per 100 ms run would drown the log.
const lastSaid = new Map();
const say = (report) => {
  const now = Date.now();
  if (now - (lastSaid.get(report.msg) ?? -Infinity) < 60000) return;
  lastSaid.set(report.msg, now);
  parentPort.postMessage(report);
};
let started = false;
const timer = setInterval(() => {
  try {
    // busy (another process's checkpointer had the lock) comes back in the row, not as an error.
    const { log, checkpointed } = checkpoint.get();
    if (!started) {
      started = true;
      say({ level: "info", msg: "db:checkpointer:started", interval_ms: workerData.intervalMs });
    }
    // Frames that stay uncopied while the WAL keeps growing past the backstop: a reader holds an
    // old snapshot (a long backup, a stuck transaction), and the WAL can't start over until it ends.
    if (log > workerData.largeFrames && log - checkpointed > workerData.largeFrames / 2)
      say({ level: "warn", msg: "db:wal:large", wal_frames: log, checkpointed_frames: checkpointed });
  } catch (error) {
    say({ level: "error", msg: "db:checkpointer:failed", reason: String((error && error.message) || error) });
  }
}, workerData.intervalMs);
parentPort.on("message", () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/** How often the worker checkpoints: a run with nothing new to copy only reads the WAL index. */
const intervalMs = 100;

export function startWalCheckpointer(path: string, logger: Logger | undefined): WalCheckpointer {
  const worker = new Worker(workerSource, {
    eval: true,
    workerData: {
      path,
      intervalMs,
      largeFrames: 2 * backstopPages,
      libsql: createRequire(import.meta.url).resolve("libsql"),
    },
  });
  // It must not hold the process open: a process that ends without stop() just ends.
  worker.unref();
  worker.on("message", ({ level, msg, ...fields }: CheckpointerReport) => logger?.[level](fields, msg));
  // The backstop autocheckpoint keeps the WAL near its size without the worker; say why it went.
  worker.on("error", (error) => logger?.error({ reason: error.message }, "db:checkpointer:failed"));
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  return {
    async stop() {
      // Held open until it has closed its connection: unref'd, the process could end first, and
      // whoever awaits stop() (closing the database, then the change mark) would never go on.
      worker.ref();
      worker.postMessage("stop");
      const late = setTimeout(() => void worker.terminate(), 5_000);
      await exited;
      clearTimeout(late);
    },
  };
}
