import type { JobStatus } from "@framewire/shared";
import { type JobEventRow, type JobRow, jobEvents, jobs } from "@framewire/shared/db";
import { and, asc, desc, eq, inArray, isNull, lt, lte, sql } from "drizzle-orm";
import type { CommitGroup } from "../commit-group";
import type { Db } from "../db";
import { preparedPerDb, withValues } from "../prepared";

/**
 * Job records: the queries. Every state change goes through jobs/lifecycle.ts, which writes the row,
 * its event and its webhook in one batch.
 */

/**
 * Records a job's dispatch. Where submissions are group-committed (Node), the mark joins the
 * transaction of the moment: with every job dispatched on acceptance, a mark of its own was a
 * second write transaction per `POST /v1/jobs`.
 */
export async function markDispatched(
  deps: { db: Db; commitGroup?: CommitGroup | null },
  id: string,
  now: number,
): Promise<void> {
  const mark = withValues(markDispatchedQuery(deps.db), { id, now });
  if (deps.commitGroup) await deps.commitGroup.batch([mark]);
  else await mark;
}

const markDispatchedQuery = preparedPerDb((db) =>
  db
    .update(jobs)
    .set({ dispatchedAt: sql`${sql.placeholder("now")}` })
    .where(and(eq(jobs.id, sql.placeholder("id")), isNull(jobs.dispatchedAt)))
    .prepare(),
);

/** Several jobs' dispatches at once (the Workers NATS object records what it published in batches). */
export async function markManyDispatched(db: Db, ids: readonly string[], now: number): Promise<void> {
  if (ids.length === 0) return;
  await db
    .update(jobs)
    .set({ dispatchedAt: now })
    .where(and(inArray(jobs.id, [...ids]), isNull(jobs.dispatchedAt)));
}

/** One tenant's job by id (placeholders `id`, `tenantId`): another tenant's is never matched. */
const tenantJobById = () =>
  and(eq(jobs.id, sql.placeholder("id")), eq(jobs.tenantId, sql.placeholder("tenantId")));

/**
 * The hottest read (GET /v1/jobs/:id) as a prepared query: drizzle builds the SQL once per
 * database handle instead of on every request.
 */
const findJobPrepared = preparedPerDb((db) =>
  db.select().from(jobs).where(tenantJobById()).limit(1).prepare(),
);

/** A job of this tenant; another tenant's job is indistinguishable from a missing one. */
export async function findJob(db: Db, tenantId: string, id: string): Promise<JobRow | null> {
  const [row] = await findJobPrepared(db).all({ id, tenantId });
  return row ?? null;
}

const findJobVersionPrepared = preparedPerDb((db) =>
  db.select({ version: jobs.version }).from(jobs).where(tenantJobById()).limit(1).prepare(),
);

/** A job's version (jobs/view-cache.ts), or null where this tenant has no such job. */
export async function findJobVersion(db: Db, tenantId: string, id: string): Promise<number | null> {
  const [row] = await findJobVersionPrepared(db).all({ id, tenantId });
  return row?.version ?? null;
}

/**
 * The jobs updated since change number `after` (`jobs.change_seq`, moved by the version trigger):
 * their ids, and the highest number seen. Null ids: more than `limit` changed (the caller reads
 * every version again). With `after` null, only the highest number: where to start.
 */
export async function jobChangesSince(
  db: Db,
  after: number | null,
  limit: number,
): Promise<{ seq: number; ids: string[] | null }> {
  if (after !== null) {
    const rows = await jobChangesQuery(db).all({ after, limit: limit + 1 });
    const last = rows.at(-1);
    if (rows.length <= limit) return { seq: last?.seq ?? after, ids: rows.map((row) => row.id) };
  }
  const [top] = await lastChangeQuery(db).all();
  return { seq: top?.seq ?? 0, ids: after === null ? [] : null };
}

const jobChangesQuery = preparedPerDb((db) =>
  db
    .select({ id: jobs.id, seq: sql<number>`${jobs.changeSeq}` })
    .from(jobs)
    .where(sql`${jobs.changeSeq} > ${sql.placeholder("after")}`)
    .orderBy(asc(jobs.changeSeq))
    .limit(sql.placeholder("limit"))
    .prepare(),
);

// `is not null`: what lets SQLite read the highest from the partial index's last entry.
const lastChangeQuery = preparedPerDb((db) =>
  db
    .select({ seq: sql<number | null>`max(${jobs.changeSeq})` })
    .from(jobs)
    .where(sql`${jobs.changeSeq} is not null`)
    .prepare(),
);

export async function findJobById(db: Db, id: string): Promise<JobRow | null> {
  const [row] = await db.select().from(jobs).where(eq(jobs.id, id)).limit(1);
  return row ?? null;
}

export async function findJobByIdempotencyKey(db: Db, tenantId: string, key: string): Promise<JobRow | null> {
  const [row] = await db
    .select()
    .from(jobs)
    .where(and(eq(jobs.tenantId, tenantId), eq(jobs.idempotencyKey, key)))
    .limit(1);
  return row ?? null;
}

/**
 * Newest first; the cursor is the last id of the previous page (ids sort by creation time).
 * `apiKeyId`: only the jobs that key submitted; `batchId`: only that batch's.
 */
export async function listJobs(
  db: Db,
  tenantId: string,
  options: {
    status?: JobStatus | undefined;
    cursor?: string | undefined;
    limit: number;
    apiKeyId?: string | undefined;
    batchId?: string | undefined;
  },
): Promise<JobRow[]> {
  const conditions = [eq(jobs.tenantId, tenantId)];
  if (options.apiKeyId) conditions.push(eq(jobs.apiKeyId, options.apiKeyId));
  if (options.batchId) conditions.push(eq(jobs.batchId, options.batchId));
  if (options.status) conditions.push(eq(jobs.status, options.status));
  if (options.cursor) conditions.push(lt(jobs.id, options.cursor));
  return db
    .select()
    .from(jobs)
    .where(and(...conditions))
    .orderBy(desc(jobs.id))
    .limit(options.limit);
}

/** A key's jobs, newest first, across its tenant (admin only). */
export async function listJobsOfKey(
  db: Db,
  apiKeyId: string,
  options: { status?: JobStatus; cursor?: string; limit: number },
): Promise<JobRow[]> {
  const conditions = [eq(jobs.apiKeyId, apiKeyId)];
  if (options.status) conditions.push(eq(jobs.status, options.status));
  if (options.cursor) conditions.push(lt(jobs.id, options.cursor));
  return db
    .select()
    .from(jobs)
    .where(and(...conditions))
    .orderBy(desc(jobs.id))
    .limit(options.limit);
}

export async function listJobEvents(db: Db, jobId: string): Promise<JobEventRow[]> {
  return db.select().from(jobEvents).where(eq(jobEvents.jobId, jobId)).orderBy(asc(jobEvents.id));
}

/**
 * Jobs released for dispatch (fair dispatch let them go) but never confirmed by JetStream, released
 * before `before`: the outbox to re-publish. Held jobs wait for their release, not for the outbox.
 */
export async function undispatchedJobs(db: Db, before: number, limit: number): Promise<JobRow[]> {
  return db
    .select()
    .from(jobs)
    .where(and(isNull(jobs.dispatchedAt), eq(jobs.status, "queued"), lte(jobs.releasedAt, before)))
    .orderBy(asc(jobs.id))
    .limit(limit);
}

/** Job counts by status, for metrics. */
export async function countJobsByStatus(db: Db): Promise<Record<string, number>> {
  const rows = await db
    .select({ status: jobs.status, n: sql<number>`count(*)` })
    .from(jobs)
    .groupBy(jobs.status);
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}
