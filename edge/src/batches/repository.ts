import { type JobStatus, jobStatuses } from "@framewire/shared";
import { type BatchRow, batches, jobs } from "@framewire/shared/db";
import { and, desc, eq, gte, isNotNull, isNull, lt, or, sql } from "drizzle-orm";
import type { Db } from "../db";

/** Batch records: the queries. Jobs are made by batches/creator.ts, ended through jobs/lifecycle.ts. */

export async function findBatch(db: Db, tenantId: string, id: string): Promise<BatchRow | null> {
  const [row] = await db
    .select()
    .from(batches)
    .where(and(eq(batches.tenantId, tenantId), eq(batches.id, id)))
    .limit(1);
  return row ?? null;
}

export async function findBatchById(db: Db, id: string): Promise<BatchRow | null> {
  const [row] = await db.select().from(batches).where(eq(batches.id, id)).limit(1);
  return row ?? null;
}

export async function findBatchByIdempotencyKey(db: Db, tenantId: string, key: string) {
  const [row] = await db
    .select()
    .from(batches)
    .where(and(eq(batches.tenantId, tenantId), eq(batches.idempotencyKey, key)))
    .limit(1);
  return row ?? null;
}

export async function listBatches(
  db: Db,
  tenantId: string,
  options: { cursor?: string | undefined; limit: number },
): Promise<BatchRow[]> {
  return db
    .select()
    .from(batches)
    .where(and(eq(batches.tenantId, tenantId), ...(options.cursor ? [lt(batches.id, options.cursor)] : [])))
    .orderBy(desc(batches.id))
    .limit(options.limit);
}

export type StatusCounts = Record<JobStatus, number>;

/** A batch's jobs by state (one indexed count per state). */
export async function countBatchJobs(db: Db, batchId: string): Promise<StatusCounts> {
  const rows = await db
    .select({ status: jobs.status, n: sql<number>`count(*)` })
    .from(jobs)
    .where(eq(jobs.batchId, batchId))
    .groupBy(jobs.status);
  const counts = Object.fromEntries(jobStatuses.map((s) => [s, 0])) as StatusCounts;
  for (const row of rows) counts[row.status] = Number(row.n);
  return counts;
}

/**
 * Claims a batch whose jobs are still to be made for one creator for `leaseMs` (a conditional
 * update), so two edge instances never make the same batch's jobs at once; a creator that dies
 * lets the lease lapse and the sweeper's next claim resumes where `created` says.
 */
export async function claimBatch(db: Db, id: string, now: number, leaseMs: number): Promise<BatchRow | null> {
  const [row] = await db
    .update(batches)
    .set({ leaseUntil: now + leaseMs })
    .where(
      and(
        eq(batches.id, id),
        lt(batches.created, batches.total),
        isNull(batches.canceledAt),
        or(isNull(batches.leaseUntil), lt(batches.leaseUntil, now)),
      ),
    )
    .returning();
  return row ?? null;
}

/** Batches with jobs still to make and no live creator (the sweeper resumes them). */
export async function unfinishedBatches(db: Db, now: number, limit: number): Promise<string[]> {
  const rows = await db
    .select({ id: batches.id })
    .from(batches)
    .where(
      and(
        isNull(batches.completedAt),
        isNull(batches.canceledAt),
        lt(batches.created, batches.total),
        or(isNull(batches.leaseUntil), lt(batches.leaseUntil, now)),
      ),
    )
    .limit(limit);
  return rows.map((r) => r.id);
}

/**
 * Batches that may have ended without their completion being recorded (a lost trigger), and
 * canceled batches that may still have live jobs (a chunk made after the cancel): the sweeper's work.
 */
export async function openBatches(db: Db, limit: number): Promise<BatchRow[]> {
  return db
    .select()
    .from(batches)
    .where(
      and(
        isNull(batches.completedAt),
        or(
          isNotNull(batches.canceledAt),
          and(
            gte(batches.created, batches.total),
            sql`not exists (select 1 from jobs j where j.batch_id = ${batches.id}
              and j.status in ('queued', 'running'))`,
          ),
        ),
      ),
    )
    .limit(limit);
}
