import { sweepBatches } from "./batches/creator";
import type { EdgeDeps } from "./deps";
import { sweepHeldJobs } from "./jobs/admission";
import { pollDueWatches } from "./watches/poller";

/**
 * The workflow sweeps (Node: every FW_SCHEDULER_SWEEP_MS; Workers: the Cron trigger): held jobs a
 * lost trigger left waiting, batches whose jobs are still to be made (a creator died) or whose end
 * was not recorded, and watches that are due. Each is safe on several instances at once (claims and
 * conditional updates), and each failure is logged without stopping the others.
 */
export async function runScheduledSweeps(deps: EdgeDeps): Promise<void> {
  const log = (what: string) => (error: unknown) => deps.logger.warn({ err: error }, `${what}:sweep:failed`);
  await Promise.all([
    sweepHeldJobs(deps, { tenants: 200 }).catch(log("admission")),
    sweepBatches(deps, { batch: 20 }).catch(log("batch")),
    pollDueWatches(deps, { limit: 20 }).catch(log("watch")),
  ]);
}
