import type * as schema from "@framewire/shared/db";
import type { LibSQLDatabase } from "drizzle-orm/libsql";

/** The edge's database handle: drizzle over libSQL (a file or server on Node, HTTP on Workers). */
export type Db = LibSQLDatabase<typeof schema>;
