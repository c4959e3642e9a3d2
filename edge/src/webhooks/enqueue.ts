import { newId, type WebhookBody, type WebhookEvent } from "@framewire/shared";
import {
  type BatchRow,
  type JobRow,
  jobs,
  type WebhookDeliveryRow,
  webhookDeliveries,
} from "@framewire/shared/db";
import { and, eq, isNull, lte, or } from "drizzle-orm";
import type { EdgeDeps } from "../deps";
import { presentJob } from "../jobs/present";
import { attemptDelivery } from "./deliver";

const eventFor: Partial<Record<JobRow["status"], WebhookEvent>> = {
  running: "job.running",
  succeeded: "job.succeeded",
  failed: "job.failed",
  canceled: "job.canceled",
};

function newDelivery(
  deps: Pick<EdgeDeps, "config">,
  job: Pick<JobRow, "id" | "tenantId" | "webhook">,
  event: WebhookEvent,
  data: WebhookBody["data"],
  now: number,
  batchId: string | null = null,
): WebhookDeliveryRow | null {
  if (!job.webhook?.events.includes(event)) return null;
  const id = newId("whd", now);
  const payload = { id, type: event, created_at: new Date(now).toISOString(), data } as WebhookBody;
  return {
    id,
    tenantId: job.tenantId,
    jobId: job.id,
    batchId,
    event,
    url: job.webhook.url,
    payload: JSON.stringify(payload),
    status: "pending",
    attempts: 0,
    nextAttemptAt: now,
    deadlineAt: now + deps.config.webhooks.deadlineMs,
    leaseUntil: null,
    lastStatusCode: null,
    lastError: null,
    deliveredAt: null,
    createdAt: now,
    updatedAt: now,
  };
}

/**
 * The webhook delivery a job's new state calls for, if its webhook wants that event: the lifecycle
 * (jobs/lifecycle.ts) writes it in the same batch as the state change and its event. The body
 * carries the job as GET /v1/jobs/:id shows it at that moment (final facts, outputs, error).
 */
export async function webhookDeliveryFor(
  deps: Pick<EdgeDeps, "config" | "storage">,
  row: JobRow,
  now: number,
): Promise<WebhookDeliveryRow | null> {
  const event = eventFor[row.status];
  if (!event || !row.webhook?.events.includes(event)) return null;
  return newDelivery(deps, row, event, { job: await presentJob(deps, row, now) }, now);
}

/**
 * A batch's `batch.completed` delivery (null when the batch has no webhook). Deliveries are filed
 * under a job, so it names the batch's job whose end completed it, and `batchId` marks it as the
 * batch's own (the job's log leaves it out; GET /v1/batches/:id/webhooks lists it).
 */
export function batchDeliveryFor(
  deps: Pick<EdgeDeps, "config">,
  batch: Pick<BatchRow, "id" | "tenantId" | "webhook">,
  jobId: string,
  data: WebhookBody["data"],
  now: number,
): WebhookDeliveryRow | null {
  const target = { id: jobId, tenantId: batch.tenantId, webhook: batch.webhook };
  return newDelivery(deps, target, "batch.completed", data, now, batch.id);
}

/** Tries a committed delivery at once, in the background; the sweeper retries it if that fails. */
export function startDelivery(deps: EdgeDeps, deliveryId: string): void {
  deps.background.run(() => attemptDelivery(deps, deliveryId));
}

/**
 * A node's progress report: queues a job.progress webhook unless one was queued for this job less
 * than the interval ago. The conditional update makes the bound hold across edge instances.
 */
export async function queueProgressWebhook(
  deps: EdgeDeps,
  job: JobRow,
  percent: number | null,
  now: number,
): Promise<boolean> {
  if (!job.webhook?.events.includes("job.progress")) return false;
  const since = now - deps.config.webhooks.progressIntervalSec * 1000;
  const claimed = await deps.db
    .update(jobs)
    .set({ progressWebhookAt: now })
    .where(
      and(
        eq(jobs.id, job.id),
        eq(jobs.status, "running"),
        or(isNull(jobs.progressWebhookAt), lte(jobs.progressWebhookAt, since)),
      ),
    )
    .returning({ id: jobs.id });
  if (!claimed[0]) return false;
  const data = { job: { id: job.id, status: job.status, attempts: job.attempts }, percent };
  const delivery = newDelivery(deps, job, "job.progress", data, now);
  if (!delivery) return false;
  await deps.db.insert(webhookDeliveries).values(delivery);
  deps.background.run(() => attemptDelivery(deps, delivery.id));
  return true;
}
