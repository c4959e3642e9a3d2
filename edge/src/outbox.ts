import type { EdgeDeps } from "./deps";
import { dispatchJob } from "./jobs/dispatch";
import { undispatchedJobs } from "./jobs/repository";
import { findCompletedUpload } from "./uploads/repository";

/**
 * Re-publishes jobs that were accepted but never confirmed by JetStream (NATS was down, or the
 * process died between the insert and the publish). Runs on a timer on Node and on a Cron trigger
 * on Workers. Jobs younger than `graceMs` are left to the request that is still dispatching them.
 */
export async function sweepOutbox(
  deps: EdgeDeps,
  options: { graceMs: number; batch: number },
): Promise<number> {
  const pending = await undispatchedJobs(deps.db, deps.clock() - options.graceMs, options.batch);
  for (const job of pending) {
    const input = job.spec.input;
    const upload =
      input?.type === "upload" ? await findCompletedUpload(deps.db, job.tenantId, input.upload_id) : null;
    const requestId = job.requestId ?? "outbox";
    await dispatchJob(
      deps,
      job,
      upload?.storageKey ?? null,
      requestId,
      deps.logger.child({ request_id: requestId }),
    );
  }
  if (pending.length > 0) deps.logger.info({ count: pending.length }, "outbox:swept");
  return pending.length;
}
