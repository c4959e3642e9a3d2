import { fileURLToPath } from "node:url";
import * as schema from "@framewire/shared/db";
import { createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { migrate } from "drizzle-orm/libsql/migrator";
import type { Db } from "../deps";

export const migrationsFolder = fileURLToPath(new URL("../../../shared/migrations", import.meta.url));

/** Opens libSQL (a `file:` path or a libsql-server URL) and applies pending migrations. */
export async function openDatabase(url: string, authToken?: string): Promise<{ db: Db; close: () => void }> {
  const client = createClient(authToken ? { url, authToken } : { url });
  if (url.startsWith("file:")) {
    // WAL lets readers proceed while a write commits; busy_timeout rides out short lock waits.
    await client.execute("PRAGMA journal_mode = WAL");
    await client.execute("PRAGMA busy_timeout = 5000");
  }
  const db = drizzle(client, { schema });
  await migrate(db, { migrationsFolder });
  return { db, close: () => client.close() };
}
