import { batches, webhookDeliveries } from "@framewire/shared/db";
import { and, eq, isNull, or, sql } from "drizzle-orm";
import type { EdgeDeps } from "../deps";
import { ifPreviousChanged } from "../jobs/sql";
import { batchDeliveryFor, startDelivery } from "../webhooks/enqueue";
import { presentBatch } from "./present";
import { countBatchJobs, findBatchById } from "./repository";

/**
 * Records a batch's end once every job it will have has ended, and queues its one `batch.completed`
 * webhook in the same transaction: the update holds only while the batch is not yet completed and
 * no job of it is queued or running, so however many job ends (on however many edge instances)
 * race to it, one wins and the webhook is written once. `jobId` is the job whose end got here
 * (the delivery is filed under it). Called after each batch job ends, and by the sweeper.
 */
export async function completeBatchIfDone(
  deps: EdgeDeps,
  batchId: string,
  /** The job whose end got here; null for a batch canceled before it had any (no webhook then). */
  jobId: string | null,
): Promise<boolean> {
  const { db } = deps;
  const batch = await findBatchById(db, batchId);
  if (!batch || batch.completedAt !== null) return false;
  if (batch.created < batch.total && batch.canceledAt === null) return false;
  const counts = await countBatchJobs(db, batchId);
  if (counts.queued + counts.running > 0) return false;
  const now = deps.clock();
  const done = { ...batch, completedAt: now };
  const data = { batch: presentBatch(deps.config, done, counts) };
  const delivery = jobId ? batchDeliveryFor(deps, batch, jobId, data, now) : null;
  const [updated] = await db.batch([
    db
      .update(batches)
      .set({ completedAt: now, updatedAt: now })
      .where(
        and(
          eq(batches.id, batchId),
          isNull(batches.completedAt),
          or(sql`${batches.created} >= ${batches.total}`, sql`${batches.canceledAt} is not null`),
          sql`not exists (select 1 from jobs j where j.batch_id = ${batchId} and j.status in ('queued', 'running'))`,
        ),
      )
      .returning({ id: batches.id }),
    ...(delivery ? [ifPreviousChanged(db, db.insert(webhookDeliveries).values(delivery))] : []),
  ]);
  if (!updated[0]) return false;
  deps.logger.info({ batch: batchId, ...counts }, "batch:completed");
  if (delivery) startDelivery(deps, delivery.id);
  return true;
}
