import type { Batch } from "@framewire/shared";
import type { BatchRow } from "@framewire/shared/db";
import type { EdgeConfig } from "../config";
import type { StatusCounts } from "./repository";

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function batchStatus(batch: BatchRow): Batch["status"] {
  if (batch.canceledAt !== null) return "canceled";
  if (batch.completedAt !== null) return "completed";
  return batch.created < batch.total ? "creating" : "running";
}

/** A batch as the API shows it (without its job page), from its row and its jobs' counts. */
export function presentBatch(config: Pick<EdgeConfig, "publicUrl">, batch: BatchRow, counts: StatusCounts) {
  // A canceled batch's inputs that never became jobs never will: they count as canceled.
  const dropped = batch.canceledAt === null ? 0 : batch.total - batch.created;
  const finished = counts.succeeded + counts.failed + counts.canceled + dropped;
  const self = `${config.publicUrl}/v1/batches/${batch.id}`;
  const view: Omit<Batch, "jobs"> = {
    id: batch.id,
    status: batchStatus(batch),
    total: batch.total,
    created: batch.created,
    counts: {
      pending: batch.total - batch.created - dropped,
      queued: counts.queued,
      running: counts.running,
      succeeded: counts.succeeded,
      failed: counts.failed,
      canceled: counts.canceled + dropped,
    },
    progress: {
      finished,
      percent: batch.total === 0 ? 100 : Math.round((finished / batch.total) * 10_000) / 100,
    },
    template:
      batch.templateId && batch.templateName && batch.templateVersion
        ? { id: batch.templateId, name: batch.templateName, version: batch.templateVersion }
        : null,
    created_at: new Date(batch.createdAt).toISOString(),
    completed_at: iso(batch.completedAt),
    canceled_at: iso(batch.canceledAt),
    links: {
      self,
      cancel: `${self}/cancel`,
      retry_failed: `${self}/retry-failed`,
      webhooks: `${self}/webhooks`,
    },
  };
  return view;
}
