import { fileURLToPath } from "node:url";
import * as schema from "@framewire/shared/db";
import { createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { migrate } from "drizzle-orm/libsql/migrator";
import type { Db } from "../db";
import type { Logger } from "../logger";
import { createStatementCacheClient } from "./statement-cache-client";
import { openWalChangeMark, reuseRecentMark } from "./wal-change-mark";
import { backstopPages, startWalCheckpointer } from "./wal-checkpointer";

/** shared/migrations from source; in the compiled build, dist/migrations beside the bundle (scripts/build.ts). */
export const migrationsFolder = fileURLToPath(
  new URL(import.meta.url.endsWith(".ts") ? "../../../shared/migrations" : "./migrations", import.meta.url),
);

/**
 * Opens libSQL (a `file:` path or a libsql-server URL) and applies pending migrations. A local file
 * in WAL mode also gets its change mark (wal-change-mark.ts): a string that moves on every commit,
 * from this process or another; null for remote databases. With `checkpointInBackground` (the edge
 * server), a local WAL file is checkpointed from a worker thread (wal-checkpointer.ts), which
 * writes its lines (started, failed, WAL growing) to `logger`.
 */
export async function openDatabase(
  url: string,
  authToken?: string,
  options: { checkpointInBackground?: boolean; logger?: Logger } = {},
): Promise<{
  db: Db;
  changeMark: ((notBefore?: number) => string | null) | null;
  close: () => Promise<void>;
}> {
  // A file database gets one connection that keeps its prepared statements (see
  // statement-cache-client.ts): every statement is a short synchronous call, so one is enough for
  // one process, and per-connection PRAGMAs (below) then hold for every query.
  const path = url.startsWith("file:")
    ? url.startsWith("file://")
      ? fileURLToPath(url)
      : url.slice("file:".length)
    : null;
  // Set once the file's mark is open; a write before then has no mark to forget.
  let forgetMark = () => {};
  const client =
    path !== null
      ? createStatementCacheClient(path, { onWrite: () => forgetMark() })
      : createClient({ url, ...(authToken ? { authToken } : {}) });
  let wal = false;
  if (path !== null) {
    // WAL lets readers proceed while a write commits. Waits for another connection's write lock
    // (5 s at most) happen in the client, between turns of the event loop (statement-cache-client.ts).
    const mode = await client.execute("PRAGMA journal_mode = WAL");
    wal = String(mode.rows[0]?.[0]).toLowerCase() === "wal";
    // In WAL mode, NORMAL syncs at checkpoints rather than on every commit: a crash of the process
    // loses nothing, a power loss can lose the last commits. That matches the JetStream file store
    // (which syncs on an interval, not per message), and it halves the cost of accepting a job.
    await client.execute("PRAGMA synchronous = NORMAL");
  }
  const db = drizzle(client, { schema });
  await migrate(db, { migrationsFolder });
  const mark = path !== null && wal ? openWalChangeMark(path) : null;
  const recent = mark ? reuseRecentMark(mark.read) : null;
  if (recent) forgetMark = recent.forget;
  let checkpointer = null;
  if (path !== null && wal && options.checkpointInBackground) {
    await client.execute(`PRAGMA wal_autocheckpoint = ${backstopPages}`);
    checkpointer = startWalCheckpointer(path, options.logger);
  }
  const closeConnection = () => {
    client.close();
    // After the connection: see wal-change-mark.ts on closing a descriptor of a locked file.
    mark?.close();
  };
  return {
    db,
    changeMark: recent ? recent.read : null,
    // The worker's connection first, for the same reason: the mark's descriptor goes last.
    close: checkpointer ? () => checkpointer.stop().then(closeConnection) : async () => closeConnection(),
  };
}
