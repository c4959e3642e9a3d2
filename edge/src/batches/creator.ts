import { jobWebhookEvents, newSequentialIds } from "@framewire/shared";
import { type BatchRow, batches, type JobRow, jobEvents, jobs } from "@framewire/shared/db";
import { and, eq, inArray, sql } from "drizzle-orm";
import type { EdgeDeps } from "../deps";
import { releaseAndDispatch } from "../jobs/admission";
import { cancelJob, createdEvent, newJobRow } from "../jobs/lifecycle";
import { completeBatchIfDone } from "./completion";
import { claimBatch, findBatchById, openBatches, unfinishedBatches } from "./repository";

/**
 * Making a batch's jobs, off the request that accepted it: in chunks, each chunk's job rows, their
 * `job:created` events and the batch's new `created` count in one transaction. (batch_id,
 * batch_index) is unique on jobs, so a chunk made twice (two creators, a lease that lapsed under a
 * slow one) fails whole and changes nothing: each input becomes a job exactly once. After each
 * chunk, fair dispatch releases what the tenant may send to JetStream now; the rest are released as
 * the tenant's jobs start. Runs in the background after the request (Node: in the process; Workers:
 * `waitUntil`), and the sweeper resumes a batch whose creator died (its lease lapses).
 */

/** Jobs per transaction: small enough that one chunk holds the thread (and the database) briefly. */
const chunkSize = 200;
const leaseMs = 60_000;

/** Yields to the event loop (a timer turn): requests waiting meanwhile are answered between chunks. */
export const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** Where a batch's jobs send their own webhooks: the batch webhook's job events, if it lists any. */
function jobWebhookOf(batch: BatchRow): JobRow["webhook"] {
  if (batch.spec.webhook) return batch.spec.webhook;
  const events = batch.webhook?.events.filter((e) => jobWebhookEvents.includes(e)) ?? [];
  return batch.webhook && events.length > 0 ? { url: batch.webhook.url, events } : null;
}

/** Makes the jobs of one batch that are still to be made, if no other creator holds it. */
export async function createBatchJobs(deps: EdgeDeps, batchId: string): Promise<number> {
  const { db } = deps;
  const claimed = await claimBatch(db, batchId, deps.clock(), leaseMs);
  if (!claimed) return 0;
  let batch: BatchRow = claimed;
  let made = 0;
  const template =
    claimed.templateId && claimed.templateName && claimed.templateVersion
      ? { id: claimed.templateId, name: claimed.templateName, version: claimed.templateVersion }
      : null;
  const webhook = jobWebhookOf(claimed);
  while (batch.created < batch.total) {
    if (made > 0) await nextTurn();
    const start = batch.created;
    const end = Math.min(batch.total, start + chunkSize);
    const now = deps.clock();
    const ids = newSequentialIds("job", end - start, now);
    const rows = claimed.inputs.slice(start, end).map((input, i) =>
      newJobRow({
        id: ids[i] as string,
        tenantId: claimed.tenantId,
        apiKeyId: claimed.apiKeyId,
        spec: { ...claimed.spec, input } as JobRow["spec"],
        requestId: claimed.requestId ?? claimed.id,
        idempotencyKey: null,
        webhook,
        template,
        batch: { id: claimed.id, index: start + i },
        now,
      }),
    );
    try {
      await db.batch([
        db.insert(jobs).values(rows),
        db.insert(jobEvents).values(rows.map(createdEvent)),
        db
          .update(batches)
          .set({ created: sql`max(${batches.created}, ${end})`, leaseUntil: now + leaseMs, updatedAt: now })
          .where(eq(batches.id, batch.id)),
      ]);
      made += rows.length;
    } catch (error) {
      // Another creator made this chunk (the unique batch index refused ours): carry on from what
      // the record says now.
      deps.logger.info({ err: error, batch: batch.id, start }, "batch:chunk:skipped");
    }
    const current = await findBatchById(db, batch.id);
    if (!current) return made;
    batch = current;
    const pool = rows[0]?.pool ?? "cpu";
    await releaseAndDispatch(
      deps,
      { tenantId: batch.tenantId, pool },
      { max: chunkSize, requestId: batch.requestId ?? batch.id },
    );
    if (batch.canceledAt !== null) {
      // Canceled while we were making it: whatever this chunk made is canceled too.
      await cancelBatchJobs(deps, batch);
      break;
    }
  }
  await db.update(batches).set({ leaseUntil: null }).where(eq(batches.id, batch.id));
  if (made > 0) deps.logger.info({ batch: batch.id, made, total: batch.total }, "batch:jobs:made");
  return made;
}

/**
 * Cancels every job of a batch that has not ended (through the lifecycle: each gets its event and
 * the cancel its webhook asks for), a page at a time; running ones are told to stop.
 */
export async function cancelBatchJobs(deps: EdgeDeps, batch: BatchRow): Promise<number> {
  let canceled = 0;
  for (;;) {
    const live = await deps.db
      .select()
      .from(jobs)
      .where(and(eq(jobs.batchId, batch.id), inArray(jobs.status, ["queued", "running"])))
      .limit(200);
    if (live.length === 0) break;
    for (const job of live) {
      const done = await cancelJob(deps, job);
      if (!done) continue;
      canceled++;
      if (job.status === "running") await deps.dispatcher.cancel(job.id).catch(() => {});
    }
  }
  return canceled;
}

/**
 * The sweeper's part for batches (Node: the scheduler timer; Workers: the Cron trigger): resumes
 * batches whose creator died, cancels what a canceled batch still has running or queued, and
 * records the end of batches whose last job's trigger was lost.
 */
export async function sweepBatches(deps: EdgeDeps, options: { batch: number }): Promise<void> {
  for (const id of await unfinishedBatches(deps.db, deps.clock(), options.batch)) {
    await createBatchJobs(deps, id);
  }
  for (const batch of await openBatches(deps.db, options.batch)) {
    if (batch.canceledAt !== null) await cancelBatchJobs(deps, batch);
    const [last] = await deps.db
      .select({ id: jobs.id })
      .from(jobs)
      .where(eq(jobs.batchId, batch.id))
      .orderBy(sql`${jobs.finishedAt} desc`)
      .limit(1);
    await completeBatchIfDone(deps, batch.id, last?.id ?? null);
  }
}
