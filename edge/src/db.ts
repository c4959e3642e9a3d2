import type * as schema from "@framewire/shared/db";
import type { LibSQLDatabase } from "drizzle-orm/libsql";

/** The edge's database handle: drizzle over libSQL (a file or server on Node, HTTP on Workers). */
export type Db = LibSQLDatabase<typeof schema>;

/**
 * SQLITE_BUSY and its extended codes (BUSY_SNAPSHOT: a read snapshot older than the last commit),
 * from the local client (`rawCode`) or the remote one (`code`), however deep in an error's causes
 * (drizzle wraps a failed query's error).
 */
export function isDatabaseBusy(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const { rawCode, code } = e as { rawCode?: unknown; code?: unknown };
    if (typeof rawCode === "number" ? (rawCode & 0xff) === 5 : String(code).startsWith("SQLITE_BUSY")) {
      return true;
    }
  }
  return false;
}
