import { edgeSettings, jobs } from "@framewire/shared/db";
import { and, asc, eq, gt, inArray } from "drizzle-orm";
import type { EdgeDeps } from "../deps";
import { releaseAndDispatch } from "./admission";
import { announceQueued } from "./dispatch";
import { redispatchJob } from "./lifecycle";

/**
 * After `framewire restore` the database is the source of truth: `restore` leaves this marker in
 * it, and the first edge to start (Node) or to run its Cron (Workers) dispatches every job the
 * snapshot holds as queued or running again, as a new dispatch generation (so JetStream's duplicate
 * window can't swallow it, and a node still holding an old delivery reports a stale attempt), then
 * removes the marker. Each job gets a `job:restored` event and ends in a final state once: the
 * lifecycle's guards refuse a second final state.
 */
export const restorePendingKey = "restore_pending";

export async function recoverAfterRestore(deps: EdgeDeps): Promise<number> {
  const { db } = deps;
  const [marker] = await db.select().from(edgeSettings).where(eq(edgeSettings.key, restorePendingKey));
  if (!marker) return 0;
  let recovered = 0;
  // Paged by id: a redispatched job stays queued, so the cursor, not the status, moves on.
  let after = "";
  for (;;) {
    const batch = await db
      .select()
      .from(jobs)
      .where(and(inArray(jobs.status, ["queued", "running"]), gt(jobs.id, after)))
      .orderBy(asc(jobs.id))
      .limit(100);
    if (batch.length === 0) break;
    for (const job of batch) {
      after = job.id;
      const again = await redispatchJob(deps, job, {
        from: ["queued", "running"],
        event: "job:restored",
        data: { backup_at: marker.value.backup_at ?? null },
      });
      if (!again) continue;
      // Released (published) as fair dispatch allows: at once up to each tenant's queue depth.
      await releaseAndDispatch(deps, again, { requestId: "restore", logger: deps.logger });
      await announceQueued(deps, again.id, deps.logger);
      recovered++;
    }
  }
  await db.delete(edgeSettings).where(eq(edgeSettings.key, restorePendingKey));
  deps.logger.info({ jobs: recovered }, "restore:recovered");
  return recovered;
}
