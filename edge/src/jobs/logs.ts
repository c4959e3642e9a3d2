import type { AttemptLogReport, JobAttemptLog } from "@framewire/shared";
import { type JobLogRow, type JobRow, jobLogs } from "@framewire/shared/db";
import { asc, eq, sql } from "drizzle-orm";
import type { Db } from "../db";

/**
 * Per-job logs: one row per attempt, as the node that ran it reported it (already bounded and with
 * the node's paths redacted). A job keeps at most `maxAttemptLogs` of them (retries and requeues
 * add attempts; the first ones and the latest are what explain a failure), and they go with the
 * job's outputs when retention deletes those.
 */
export const maxAttemptLogs = 50;

/** Stores (or replaces: a node that got no answer sends it again) one attempt's log. */
export async function storeAttemptLog(
  db: Db,
  job: Pick<JobRow, "id" | "tenantId" | "attemptBase">,
  report: AttemptLogReport,
  now: number,
): Promise<boolean> {
  const attempt = (report.attempt_base ?? job.attemptBase) + report.attempt;
  const [count] = await db
    .select({ n: sql<number>`count(*)` })
    .from(jobLogs)
    .where(eq(jobLogs.jobId, job.id));
  if (Number(count?.n ?? 0) >= maxAttemptLogs) return false;
  const row = {
    jobId: job.id,
    tenantId: job.tenantId,
    attempt,
    nodeId: report.node_id,
    engine: report.engine,
    outcome: report.outcome,
    startedAt: Date.parse(report.started_at),
    endedAt: Date.parse(report.ended_at),
    lines: report.lines.map((l) => ({ atMs: l.at_ms, level: l.level, source: l.source, message: l.message })),
    dropped: report.dropped,
    createdAt: now,
  };
  await db
    .insert(jobLogs)
    .values(row)
    .onConflictDoUpdate({ target: [jobLogs.jobId, jobLogs.attempt], set: row });
  return true;
}

export function listAttemptLogs(db: Db, job: Pick<JobRow, "id">): Promise<JobLogRow[]> {
  return db.select().from(jobLogs).where(eq(jobLogs.jobId, job.id)).orderBy(asc(jobLogs.attempt));
}

export async function deleteAttemptLogs(db: Db, jobId: string): Promise<void> {
  await db.delete(jobLogs).where(eq(jobLogs.jobId, jobId));
}

export function presentAttemptLog(row: JobLogRow): JobAttemptLog {
  return {
    attempt: row.attempt,
    node_id: row.nodeId,
    engine: row.engine,
    outcome: row.outcome as JobAttemptLog["outcome"],
    started_at: new Date(row.startedAt).toISOString(),
    ended_at: new Date(row.endedAt).toISOString(),
    lines: row.lines.map((l) => ({
      at: new Date(row.startedAt + l.atMs).toISOString(),
      elapsed_sec: l.atMs / 1000,
      level: l.level,
      source: l.source,
      message: l.message,
    })),
    dropped: row.dropped,
  };
}
