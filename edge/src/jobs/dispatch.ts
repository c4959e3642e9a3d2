import type { JobMessage } from "@framewire/shared";
import type { JobRow } from "@framewire/shared/db";
import { subjects } from "@framewire/shared/nats";
import type { EdgeDeps } from "../deps";
import type { Logger } from "../logger";
import { markDispatched } from "./repository";

/**
 * Handing a recorded job to the fleet: the second step of the outbox. The route that accepts a job,
 * the retry and dead-letter requeue that make a new generation, and the outbox sweeper all go
 * through here.
 */

/** Nats-Msg-Id of a job's current dispatch: the first is the job id, each retry or requeue a new one. */
export function dispatchMsgId(job: Pick<JobRow, "id" | "generation">): string {
  return job.generation === 0 ? job.id : `${job.id}.r${job.generation}`;
}

/**
 * Publishes the job's current dispatch and marks it dispatched. The row is already written, so a
 * failure here loses nothing: the sweeper re-publishes undispatched jobs, and JetStream
 * deduplicates on the message id.
 */
export async function dispatchJob(
  deps: EdgeDeps,
  job: JobRow,
  inputKey: string | null,
  requestId: string,
  logger: Logger,
  route: Partial<Pick<JobRow, "pool" | "priority">> = {},
): Promise<void> {
  const message: JobMessage = {
    job_id: job.id,
    tenant_id: job.tenantId,
    spec: job.spec,
    input_key: inputKey,
    ...(job.attemptBase > 0 ? { attempt_base: job.attemptBase } : {}),
    // Nodes send progress reports only for jobs whose webhook wants job.progress.
    ...(job.webhook?.events.includes("job.progress")
      ? { progress_report_sec: deps.config.webhooks.progressIntervalSec }
      : {}),
  };
  const pool = route.pool ?? job.pool;
  const priority = route.priority ?? job.priority;
  try {
    await deps.dispatcher.dispatch(message, { requestId, pool, priority, msgId: dispatchMsgId(job) });
    if (!deps.dispatcher.recordsDispatch) await markDispatched(deps, job.id, deps.clock());
  } catch (error) {
    logger.warn({ err: error, job: job.id, subject: subjects.job(pool, priority) }, "job:dispatch:deferred");
  }
}

/**
 * Tells progress watchers a final job is queued again (retry, dead-letter requeue). Without it the
 * gateway still holds the old final state and a socket opened now gets "failed" and a close.
 */
export async function announceQueued(deps: EdgeDeps, jobId: string, logger: Logger): Promise<void> {
  await deps.dispatcher
    .announce({
      type: "job:state",
      job_id: jobId,
      status: "queued",
      at: new Date(deps.clock()).toISOString(),
    })
    .catch((error: unknown) => logger.warn({ err: error, job: jobId }, "progress:announce:failed"));
}
