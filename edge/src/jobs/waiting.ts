import { type JobEventRow, jobEvents, jobs } from "@framewire/shared/db";
import { and, asc, eq, lte, sql } from "drizzle-orm";
import type { EdgeDeps } from "../deps";
import { coverageWarnings } from "../fleet/coverage";

/**
 * Queued jobs that have waited FW_UNSERVED_WAIT_SEC while no live node can run them get one
 * `job:waiting` event saying why (no node serves the pool, the GPU nodes' hardware encoders did not
 * open, every node holds back new work), so the tenant sees the reason in the job's events and the
 * operator in the metrics and `framewire doctor`. Once per stay in the queue: a job queued again
 * later (a retry, a hand-back) can get another. The event changes nothing in the job's row.
 */
export async function noteWaitingJobs(deps: EdgeDeps, options: { batch: number }): Promise<number> {
  const now = deps.clock();
  const nodes = await deps.nodesCache.nodes(deps.fleet, now);
  if (!nodes) return 0;
  const waiting = await deps.db
    .select({ id: jobs.id, pool: jobs.pool, attempts: jobs.attempts, updatedAt: jobs.updatedAt })
    .from(jobs)
    .where(
      and(
        eq(jobs.status, "queued"),
        lte(jobs.updatedAt, now - deps.config.unserved.waitMs),
        sql`not exists (select 1 from ${jobEvents} e where e.job_id = ${jobs.id}
          and e.type = 'job:waiting' and e.created_at >= ${jobs.updatedAt})`,
      ),
    )
    .orderBy(asc(jobs.updatedAt))
    .limit(options.batch);
  let noted = 0;
  for (const job of waiting) {
    const [warning] = coverageWarnings(nodes, job.pool, now);
    if (!warning) continue;
    const event: Omit<JobEventRow, "id"> = {
      jobId: job.id,
      type: "job:waiting",
      status: "queued",
      attempt: job.attempts,
      data: {
        code: warning.code,
        reason: warning.message,
        waited_sec: Math.round((now - job.updatedAt) / 1000),
      },
      createdAt: now,
    };
    await deps.db.insert(jobEvents).values(event);
    noted++;
  }
  if (noted > 0) deps.logger.warn({ count: noted }, "jobs:waiting:unserved");
  return noted;
}
