import {
  FramewireError,
  isFinal,
  type JobReport,
  type JobReportReply,
  type JobSpec,
  type JobStatus,
  poolFor,
  type StateReport,
} from "@framewire/shared";
import { type JobEventRow, type JobRow, jobEvents, jobs } from "@framewire/shared/db";
import { and, asc, desc, eq, inArray, isNull, lt, lte, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "../db";

/** Job records. Every state change writes its event row in the same batch (append-only history). */

/**
 * What else a transition writes, in the same batch as its event row (the webhook it calls for),
 * and what to start once that batch is committed (sending it).
 */
export type TransitionHook = (
  row: JobRow,
  now: number,
) => Promise<{ statement: BatchItem<"sqlite">; after?: () => void }[]>;

async function recordTransition(
  db: Db,
  row: JobRow,
  event: typeof jobEvents.$inferInsert,
  hook: TransitionHook | undefined,
  now: number,
): Promise<void> {
  const followUps = hook ? await hook(row, now) : [];
  await db.batch([db.insert(jobEvents).values(event), ...followUps.map((f) => f.statement)]);
  for (const f of followUps) f.after?.();
}

export async function insertJob(
  db: Db,
  job: {
    id: string;
    tenantId: string;
    spec: JobSpec;
    requestId: string;
    idempotencyKey: string | null;
    /** Where its webhooks go (the spec's, else the tenant's default), already checked. */
    webhook?: JobRow["webhook"];
    now: number;
  },
): Promise<JobRow> {
  const row: JobRow = {
    id: job.id,
    tenantId: job.tenantId,
    status: "queued",
    priority: job.spec.priority,
    pool: poolFor(job.spec),
    spec: job.spec,
    attempts: 0,
    error: null,
    outputs: null,
    nodeId: null,
    engine: null,
    requestId: job.requestId,
    idempotencyKey: job.idempotencyKey,
    createdAt: job.now,
    updatedAt: job.now,
    startedAt: null,
    finishedAt: null,
    dispatchedAt: null,
    generation: 0,
    attemptBase: 0,
    webhook: job.webhook ?? null,
    progressWebhookAt: null,
    outputsExpiredAt: null,
  };
  await db.batch([
    db.insert(jobs).values(row),
    db.insert(jobEvents).values({ jobId: job.id, type: "job:created", status: "queued", createdAt: job.now }),
  ]);
  return row;
}

export async function markDispatched(db: Db, id: string, now: number): Promise<void> {
  await db
    .update(jobs)
    .set({ dispatchedAt: now })
    .where(and(eq(jobs.id, id), isNull(jobs.dispatchedAt)));
}

/**
 * The hottest read (GET /v1/jobs/:id) as a prepared query: drizzle builds the SQL once per
 * database handle instead of on every request.
 */
const findJobQueries = new WeakMap<Db, ReturnType<typeof prepareFindJob>>();
function prepareFindJob(db: Db) {
  return db
    .select()
    .from(jobs)
    .where(and(eq(jobs.id, sql.placeholder("id")), eq(jobs.tenantId, sql.placeholder("tenantId"))))
    .limit(1)
    .prepare();
}

/** A job of this tenant; another tenant's job is indistinguishable from a missing one. */
export async function findJob(db: Db, tenantId: string, id: string): Promise<JobRow | null> {
  let query = findJobQueries.get(db);
  if (!query) {
    query = prepareFindJob(db);
    findJobQueries.set(db, query);
  }
  const [row] = await query.all({ id, tenantId });
  return row ?? null;
}

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

/** Newest first; the cursor is the last id of the previous page (ids sort by creation time). */
export async function listJobs(
  db: Db,
  tenantId: string,
  options: { status?: JobStatus; cursor?: string; limit: number },
): Promise<JobRow[]> {
  const conditions = [eq(jobs.tenantId, tenantId)];
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

/** Jobs accepted but never confirmed by JetStream, older than `before`: the outbox to re-publish. */
export async function undispatchedJobs(db: Db, before: number, limit: number): Promise<JobRow[]> {
  return db
    .select()
    .from(jobs)
    .where(and(isNull(jobs.dispatchedAt), eq(jobs.status, "queued"), lte(jobs.createdAt, before)))
    .orderBy(asc(jobs.id))
    .limit(limit);
}

/**
 * Cancels a job that is not final yet. Returns the updated row, or null when it was already final
 * (the caller answers 409 then).
 */
export function cancelJob(db: Db, job: JobRow, now: number, hook?: TransitionHook): Promise<JobRow | null> {
  return endUnfinishedJob(db, job, { status: "canceled" }, now, hook);
}

/**
 * Records a node's report. A report from an attempt older than the job's latest is stale (that
 * delivery was redelivered elsewhere), and nothing changes a final job; the node acks stale reports
 * and moves on. Repeating the same final report is harmless (reports are idempotent).
 */
export async function applyReport(
  db: Db,
  jobId: string,
  report: StateReport,
  now: number,
  hook?: TransitionHook,
): Promise<JobReportReply | null> {
  const job = await findJobById(db, jobId);
  if (!job) return null;
  // A report from an earlier dispatch (before a retry or requeue) never owns the job.
  if (report.attempt_base !== undefined && report.attempt_base !== job.attemptBase)
    return { status: job.status, stale: true };
  const attempt = jobAttempt(job, report);
  if (isFinal(job.status)) {
    const sameReport = job.status === report.type && job.attempts === attempt;
    if (sameReport) await repairTransition(db, job, report, attempt, hook, now);
    return { status: job.status, stale: !sameReport };
  }
  if (attempt < job.attempts) return { status: job.status, stale: true };
  // Only the attempt that is running may hand the job back.
  if (report.type === "requeued" && (job.status !== "running" || attempt !== job.attempts)) {
    return { status: job.status, stale: true };
  }

  const guard = and(
    eq(jobs.id, jobId),
    eq(jobs.generation, job.generation),
    lte(jobs.attempts, attempt),
    sql`${jobs.status} not in ('succeeded','failed','canceled')`,
  );
  let set: Partial<JobRow>;
  switch (report.type) {
    case "running":
      set = {
        status: "running",
        attempts: attempt,
        nodeId: report.node_id,
        engine: report.engine,
        startedAt: job.startedAt ?? now,
        error: null,
      };
      break;
    case "succeeded":
      set = { status: "succeeded", attempts: attempt, outputs: report.outputs, finishedAt: now };
      break;
    case "failed":
      set = { status: "failed", attempts: attempt, error: report.error, finishedAt: now };
      break;
    case "canceled":
      set = { status: "canceled", attempts: attempt, finishedAt: now };
      break;
    case "requeued":
      set = { status: "queued", error: report.error ?? null };
      break;
  }
  const updated = await db
    .update(jobs)
    .set({ ...set, updatedAt: now })
    .where(guard)
    .returning();
  const row = updated[0];
  if (!row) {
    // Lost a race with another report or a cancel; report what is there now.
    const current = await findJobById(db, jobId);
    return { status: current?.status ?? job.status, stale: true };
  }
  await recordTransition(
    db,
    row,
    {
      jobId,
      type: `job:${report.type}`,
      status: row.status,
      attempt,
      data: eventData(report),
      createdAt: now,
    },
    hook,
    now,
  );
  return { status: row.status, stale: false };
}

function eventData(report: StateReport): Record<string, unknown> {
  const data: Record<string, unknown> = { node_id: report.node_id };
  if (report.type === "failed") data.error = report.error;
  if (report.type === "requeued") Object.assign(data, { reason: report.reason, error: report.error ?? null });
  if (report.type === "running") data.engine = report.engine;
  return data;
}

/**
 * The state update and the event batch (event row + webhook) are two writes; an edge that dies
 * between them leaves a final job without its event. The node retries its report until it gets an
 * answer, so the repeated final report writes what is missing (once: the event row is the marker).
 */
/** Longer than a node's report timeout (10 s), so the request that made the change has ended. */
export const repairGraceMs = 15_000;

async function repairTransition(
  db: Db,
  job: JobRow,
  report: StateReport,
  attempt: number,
  hook: TransitionHook | undefined,
  now: number,
): Promise<void> {
  const [recorded] = await db
    .select({ id: jobEvents.id })
    .from(jobEvents)
    .where(
      and(
        eq(jobEvents.jobId, job.id),
        eq(jobEvents.type, `job:${report.type}`),
        eq(jobEvents.attempt, attempt),
      ),
    )
    .limit(1);
  if (recorded) return;
  // The job is final but its event isn't there. Either the edge died between the two writes (repair
  // it), or the request that made the change is still writing the event (a node that timed out and
  // retried). Repairing then would record the event and its webhook twice, so within the grace
  // the node is told to retry; by the time it does, the first request has finished or died.
  if (now - job.updatedAt < repairGraceMs) {
    throw new FramewireError("transition_pending", `Job ${job.id}'s ${report.type} is still being recorded.`);
  }
  await recordTransition(
    db,
    job,
    {
      jobId: job.id,
      type: `job:${report.type}`,
      status: job.status,
      attempt,
      data: eventData(report),
      createdAt: now,
    },
    hook,
    now,
  );
}

/**
 * The job's attempt number for a node's report: JetStream's delivery count restarts at 1 for each
 * dispatch (a retry or requeue publishes a new message), so it is offset by the attempts the job
 * had when the current dispatch was made.
 */
export function jobAttempt(job: Pick<JobRow, "attemptBase">, report: Pick<JobReport, "attempt">): number {
  return job.attemptBase + report.attempt;
}

/** Nats-Msg-Id of a job's current dispatch. */
export function dispatchMsgId(job: Pick<JobRow, "id" | "generation">): string {
  return job.generation === 0 ? job.id : `${job.id}.r${job.generation}`;
}

/**
 * Puts a job back in the queue as a new dispatch generation (a retry of a failed job, or a requeue
 * from the dead letters): status queued, undispatched (the outbox covers a failed publish), the
 * attempt count carried on as the new base. Returns null when the job is not in one of `from`.
 */
export async function redispatchJob(
  db: Db,
  job: JobRow,
  options: { from: JobStatus[]; event: "job:retried" | "job:requeued"; data?: Record<string, unknown> },
  now: number,
): Promise<JobRow | null> {
  const updated = await db
    .update(jobs)
    .set({
      status: "queued",
      generation: job.generation + 1,
      attemptBase: job.attempts,
      dispatchedAt: null,
      error: null,
      outputs: null,
      nodeId: null,
      finishedAt: null,
      outputsExpiredAt: null,
      updatedAt: now,
    })
    .where(and(eq(jobs.id, job.id), eq(jobs.generation, job.generation), inArray(jobs.status, options.from)))
    .returning();
  const row = updated[0];
  if (!row) return null;
  await db.insert(jobEvents).values({
    jobId: job.id,
    type: options.event,
    status: "queued",
    attempt: row.attempts,
    data: { generation: row.generation, ...options.data },
    createdAt: now,
  });
  return row;
}

/** Marks a job failed from outside a node report (a dropped dead letter whose job never finished). */
export function failJob(
  db: Db,
  job: JobRow,
  error: JobRow["error"],
  now: number,
  hook?: TransitionHook,
): Promise<JobRow | null> {
  return endUnfinishedJob(
    db,
    job,
    { status: "failed", error, data: { error, reason: "dead letter dropped" } },
    now,
    hook,
  );
}

/**
 * Moves a job that is still queued or running to a final state decided by the edge itself, with
 * its event. Null when the job had already finished (the guard makes a race with a node's final
 * report harmless: whichever lands first wins).
 */
async function endUnfinishedJob(
  db: Db,
  job: JobRow,
  end: { status: "canceled" | "failed"; error?: JobRow["error"]; data?: Record<string, unknown> },
  now: number,
  hook?: TransitionHook,
): Promise<JobRow | null> {
  const updated = await db
    .update(jobs)
    .set({ status: end.status, ...(end.error ? { error: end.error } : {}), updatedAt: now, finishedAt: now })
    .where(and(eq(jobs.id, job.id), inArray(jobs.status, ["queued", "running"])))
    .returning();
  const row = updated[0];
  if (!row) return null;
  await recordTransition(
    db,
    row,
    {
      jobId: job.id,
      type: `job:${end.status}`,
      status: end.status,
      attempt: row.attempts,
      ...(end.data ? { data: end.data } : {}),
      createdAt: now,
    },
    hook,
    now,
  );
  return row;
}

/** Job counts by status, for metrics. */
export async function countJobsByStatus(db: Db): Promise<Record<string, number>> {
  const rows = await db
    .select({ status: jobs.status, n: sql<number>`count(*)` })
    .from(jobs)
    .groupBy(jobs.status);
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}
