import { newId } from "@framewire/shared";
import { type WatchObjectRow, type WatchRow, watches, watchObjects } from "@framewire/shared/db";
import { and, asc, desc, eq, gt, inArray, isNull, lt, lte, or, sql } from "drizzle-orm";
import type { Db } from "../db";

/** Watch records and what they have seen: the queries (polling is in poller.ts). */

export async function insertWatch(
  db: Db,
  watch: Pick<WatchRow, "tenantId" | "apiKeyId" | "bucket" | "prefix" | "template" | "everySec" | "enabled">,
  now: number,
): Promise<WatchRow> {
  const row: WatchRow = {
    id: newId("wat", now),
    ...watch,
    lastErrorCode: null,
    lastError: null,
    lastErrorAt: null,
    consecutiveErrors: 0,
    lastPolledAt: null,
    // Looked at soon after it is made.
    nextPollAt: now,
    leaseUntil: null,
    objectsSeen: 0,
    createdAt: now,
    updatedAt: now,
  };
  await db.insert(watches).values(row);
  return row;
}

export async function findWatch(db: Db, tenantId: string, id: string): Promise<WatchRow | null> {
  const [row] = await db
    .select()
    .from(watches)
    .where(and(eq(watches.tenantId, tenantId), eq(watches.id, id)))
    .limit(1);
  return row ?? null;
}

export async function listWatches(
  db: Db,
  tenantId: string,
  options: { cursor?: string | undefined; limit: number },
): Promise<WatchRow[]> {
  return db
    .select()
    .from(watches)
    .where(and(eq(watches.tenantId, tenantId), ...(options.cursor ? [lt(watches.id, options.cursor)] : [])))
    .orderBy(desc(watches.id))
    .limit(options.limit);
}

export async function updateWatch(db: Db, id: string, set: Partial<WatchRow>): Promise<WatchRow | null> {
  const [row] = await db.update(watches).set(set).where(eq(watches.id, id)).returning();
  return row ?? null;
}

/** The watch and its history. */
export async function deleteWatch(db: Db, id: string): Promise<void> {
  await db.batch([
    db.delete(watchObjects).where(eq(watchObjects.watchId, id)),
    db.delete(watches).where(eq(watches.id, id)),
  ]);
}

/**
 * Claims watches that are due for one poller (a conditional update: several edge instances or
 * overlapping Cron runs never look at one watch at once). The lease outlives a slow listing; a
 * poller that dies lets it lapse.
 */
export async function claimDueWatches(
  db: Db,
  now: number,
  leaseMs: number,
  limit: number,
): Promise<WatchRow[]> {
  return db
    .update(watches)
    .set({ leaseUntil: now + leaseMs })
    .where(
      inArray(
        watches.id,
        db
          .select({ id: watches.id })
          .from(watches)
          .where(
            and(
              eq(watches.enabled, true),
              lte(watches.nextPollAt, now),
              or(isNull(watches.leaseUntil), lt(watches.leaseUntil, now)),
            ),
          )
          .orderBy(asc(watches.nextPollAt))
          .limit(limit),
      ),
    )
    .returning();
}

/** Which of these (key, ETag) pairs the watch has seen already. */
export async function seenObjects(db: Db, watchId: string, keys: string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const rows = await db
    .select({ key: watchObjects.key, etag: watchObjects.etag })
    .from(watchObjects)
    .where(and(eq(watchObjects.watchId, watchId), inArray(watchObjects.key, keys)));
  return new Set(rows.map((r) => `${r.etag}\u0000${r.key}`));
}

export const seenKey = (key: string, etag: string) => `${etag}\u0000${key}`;

export async function countSeen(db: Db, watchId: string): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)` })
    .from(watchObjects)
    .where(and(eq(watchObjects.watchId, watchId), sql`${watchObjects.jobId} is not null`));
  return Number(row?.n ?? 0);
}

export async function listWatchObjects(
  db: Db,
  watchId: string,
  page: { cursor?: number | undefined; limit: number },
): Promise<WatchObjectRow[]> {
  return db
    .select()
    .from(watchObjects)
    .where(
      and(
        eq(watchObjects.watchId, watchId),
        ...(page.cursor !== undefined ? [gt(watchObjects.seq, page.cursor)] : []),
      ),
    )
    .orderBy(asc(watchObjects.seq))
    .limit(page.limit);
}
