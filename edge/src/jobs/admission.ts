import { type Pool, type Priority, pools, storageKeys } from "@framewire/shared";
import { type JobRow, jobs } from "@framewire/shared/db";
import { and, eq, inArray, isNull, type SQL, type SQLWrapper, sql } from "drizzle-orm";
import type { Db } from "../db";
import type { EdgeDeps } from "../deps";
import type { Logger } from "../logger";
import { preparedPerDb, withValues } from "../prepared";
import { dispatchJob } from "./dispatch";

/**
 * Fair dispatch: admission control at the edge, with the database as the queue of record.
 *
 * JetStream holds, per tenant, pool and priority, at most `depth` (FW_TENANT_QUEUE_DEPTH) of a
 * tenant's jobs waiting for a node; the rest wait in the database (`released_at` null) and are
 * released — published — as the tenant's waiting jobs start (a `running` report), end or are
 * canceled. Nodes still pull FIFO within a priority, so a tenant with 5,000 jobs has only `depth`
 * in front of another tenant's first job, and each of its jobs that starts puts the next one at the
 * back of the line: busy tenants take turns. Priorities hold within a tenant (its held jobs are
 * released high before default before low, and a job is held back only by the tenant's waiting
 * jobs of its own priority or higher) and across the queues as before.
 *
 * A release is one conditional statement: the UPDATE of held jobs, per priority, or a new job's own
 * INSERT when its tenant has room and nothing older of its priority is held (both read the room
 * with `roomToRelease`). So it holds across any number of edge instances (SQLite runs writes one at
 * a time) and on Workers; the quota `max_running_jobs` is in the same statement. A release that is
 * lost (the edge died before publishing) is an undispatched released job: the outbox publishes it. A trigger that is lost (a report's release failed) is
 * covered by the sweeper (`sweepHeldJobs`, on the scheduler's timer / the Cron trigger).
 */

export const queueRanks: Record<Priority, number> = { high: 0, default: 1, low: 2 };
const ranks = [0, 1, 2] as const;

/** Larger than any count: "no limit" inside the release statement. */
const unlimited = 1_000_000_000;

export interface AdmissionConfig {
  /** Jobs of one tenant (per pool, at a priority and above) waiting in JetStream at once; 0: no holding back. */
  depth: number;
}

/**
 * The statement that releases up to `max` of a tenant's held jobs of one pool and priority rank,
 * oldest first, as far as its waiting jobs (of that rank or higher) and its running quota allow.
 * Returns the released rows. Prepared once per database (it runs on every submission and report).
 */
export function releaseStatement(
  db: Db,
  target: { tenantId: string; pool: Pool; rank: number },
  options: { depth: number; max: number; now: number },
) {
  return withValues(releaseQuery(db), {
    tenantId: target.tenantId,
    pool: target.pool,
    rank: target.rank,
    depth: options.depth,
    max: options.max,
    now: options.now,
  });
}

/** A statement's parameter, or a column of the row it writes. */
type Param = SQLWrapper;

/**
 * How many of a tenant's held jobs of one pool and rank may go to JetStream now, by its waiting
 * jobs (of that rank or higher) against the depth, and its in-flight jobs against its running
 * quota; 0 or less: none. SQL over the given parameters, read inside the statement that uses it.
 */
export function roomToRelease(target: { tenantId: Param; pool: Param; rank: Param; depth: Param }): SQL {
  const { tenantId, pool, rank, depth } = target;
  const waiting = sql`(select count(*) from jobs w where w.tenant_id = ${tenantId} and w.pool = ${pool}
    and w.status = 'queued' and w.released_at is not null and w.queue_rank <= ${rank})`;
  // The quota is read in the statement itself; the in-flight count (released and waiting, or
  // running, across pools) is only computed when there is one (CASE evaluates one branch).
  const quota = sql`(select q.max_running_jobs from tenant_quotas q where q.tenant_id = ${tenantId})`;
  const released = (p: Pool) => sql`(select count(*) from jobs f where f.tenant_id = ${tenantId}
    and f.pool = ${p} and f.status = 'queued' and f.released_at is not null)`;
  const running = sql`(select count(*) from jobs r where r.tenant_id = ${tenantId} and r.status = 'running')`;
  const inFlight = sql.join([...pools.map(released), running], sql` + `);
  const byQuota = sql`case when ${quota} is null then ${unlimited} else ${quota} - (${inFlight}) end`;
  // Depth 0: no holding back.
  const byDepth = sql`case when ${depth} > 0 then ${depth} - ${waiting} else ${unlimited} end`;
  return sql`min(${byDepth}, ${byQuota})`;
}

/** A tenant's held jobs of one pool and rank, oldest first (SQL, for a subquery). */
export function heldJobIds(target: { tenantId: Param; pool: Param; rank: Param }): SQL {
  return sql`select h.id from jobs h where h.tenant_id = ${target.tenantId} and h.pool = ${target.pool}
    and h.status = 'queued' and h.released_at is null and h.queue_rank = ${target.rank} order by h.id`;
}

/**
 * The tenant, pool, priority rank and depth of a release, as the placeholders of a prepared
 * statement: the release UPDATE below and a new job's INSERT (lifecycle.ts) take the same values.
 */
export const releaseTarget = {
  tenantId: sql.placeholder("tenantId"),
  pool: sql.placeholder("pool"),
  rank: sql.placeholder("rank"),
  depth: sql.placeholder("depth"),
};

const releaseQuery = preparedPerDb((db) => {
  const limit = sql`max(0, min(${roomToRelease(releaseTarget)}, ${sql.placeholder("max")}))`;
  return db
    .update(jobs)
    .set({ releasedAt: sql`${sql.placeholder("now")}` })
    .where(inArray(jobs.id, sql`(${heldJobIds(releaseTarget)} limit ${limit})`))
    .returning()
    .prepare();
});

type Released = ReturnType<typeof releaseStatement>;

/** The release statements for every priority of a tenant's pool (one batch, one round trip). */
export function releaseStatements(
  db: Db,
  target: { tenantId: string; pool: Pool },
  options: { depth: number; max: number; now: number },
) {
  return ranks.map((rank) => releaseStatement(db, { ...target, rank }, options));
}

/**
 * Releases what a tenant's pool may send to JetStream now and publishes it. Called after anything
 * that may make room (a job started, ended, was canceled, or a new one was held) and by the sweeper.
 */
export async function releaseAndDispatch(
  deps: EdgeDeps,
  target: { tenantId: string; pool: Pool },
  options: { max?: number; requestId?: string; logger?: Logger } = {},
): Promise<JobRow[]> {
  const { db } = deps;
  const [high, normal, low] = releaseStatements(db, target, {
    depth: deps.config.admission.depth,
    max: options.max ?? 500,
    now: deps.clock(),
  }) as [Released, Released, Released];
  const results = await db.batch([high, normal, low]);
  const released = results.flat();
  await dispatchReleased(deps, released, options);
  return released;
}

/** Publishes released jobs, a few at a time (the outbox finishes any publish that fails). */
export async function dispatchReleased(
  deps: EdgeDeps,
  released: readonly JobRow[],
  options: { requestId?: string; logger?: Logger; concurrency?: number } = {},
): Promise<void> {
  if (released.length === 0) return;
  // Oldest first within each priority, high first: the order they should wait in JetStream.
  const queue = [...released].sort((a, b) => a.queueRank - b.queueRank || (a.id < b.id ? -1 : 1));
  const worker = async () => {
    for (let job = queue.shift(); job; job = queue.shift()) {
      const requestId = options.requestId ?? job.requestId ?? "release";
      await dispatchJob(
        deps,
        job,
        uploadKeyOf(job),
        requestId,
        options.logger ?? deps.logger.child({ request_id: requestId }),
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 32, queue.length) }, worker));
}

/** Where the node fetches an uploaded job input (uploads live at a key made from their ids). */
export function uploadKeyOf(job: Pick<JobRow, "tenantId" | "spec">): string | null {
  // Jobs with named inputs (compositions) fetch each through its own key; see jobs/inputs.ts.
  const input = job.spec.input;
  return input?.type === "upload" ? storageKeys.upload(job.tenantId, input.upload_id) : null;
}

/** Tenants and pools that have held jobs (for the sweeper). */
async function heldQueues(db: Db, limit: number): Promise<{ tenantId: string; pool: Pool }[]> {
  return db
    .selectDistinct({ tenantId: jobs.tenantId, pool: jobs.pool })
    .from(jobs)
    .where(and(eq(jobs.status, "queued"), isNull(jobs.releasedAt)))
    .limit(limit);
}

/**
 * The backstop for lost triggers: releases what each tenant with held jobs may send now. Runs on
 * the scheduler's timer (Node) or the Cron trigger (Workers).
 */
export async function sweepHeldJobs(deps: EdgeDeps, options: { tenants: number }): Promise<number> {
  let released = 0;
  for (const queue of await heldQueues(deps.db, options.tenants)) {
    released += (await releaseAndDispatch(deps, queue)).length;
  }
  if (released > 0) deps.logger.info({ count: released }, "admission:swept");
  return released;
}

/** Starts a release in the background (after a report or cancel); the sweeper covers a failure. */
export function releaseLater(deps: EdgeDeps, target: { tenantId: string; pool: Pool }): void {
  deps.background.run(() => releaseAndDispatch(deps, target));
}
