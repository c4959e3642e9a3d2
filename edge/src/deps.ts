import type * as schema from "@framewire/shared/db";
import type { LibSQLDatabase } from "drizzle-orm/libsql";
import type { EdgeConfig } from "./config";
import type { Dispatcher } from "./dispatch/dispatcher";
import type { Logger } from "./logger";
import type { FileStore } from "./storage/file-store";

export type Db = LibSQLDatabase<typeof schema>;

/** Everything the Hono app needs, built by a runtime entry (Node or Workers) and injected. */
export interface EdgeDeps {
  db: Db;
  dispatcher: Dispatcher;
  /** The local object store, when the edge serves uploads and downloads itself (Node). */
  files: FileStore | null;
  config: EdgeConfig;
  logger: Logger;
  /** Milliseconds since the epoch; injectable for tests. */
  clock: () => number;
}
