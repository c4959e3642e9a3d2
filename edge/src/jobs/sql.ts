import { sql } from "drizzle-orm";
import type { Db } from "../db";

/**
 * An insert that happens only if the statement before it in the batch changed a row: the insert's
 * own SQL with its VALUES list turned into a SELECT under `where changes() = 1`. SQLite's changes()
 * counts the rows of the most recent INSERT/UPDATE/DELETE on this connection, and a batch runs on
 * one connection inside one transaction, so the event follows the update and the webhook follows
 * the event.
 */
export function ifPreviousChanged(db: Db, insert: { toSQL(): { sql: string; params: unknown[] } }) {
  const { sql: text, params } = insert.toSQL();
  const select = text.replace(/ values \((.*)\)$/s, " select $1 where changes() = 1");
  if (select === text) throw new Error(`not a single-row insert: ${text}`);
  const parts = select.split("?");
  const query = sql.empty();
  parts.forEach((part, i) => {
    query.append(sql.raw(part));
    if (i < params.length) query.append(sql`${params[i]}`);
  });
  return db.run(query);
}
