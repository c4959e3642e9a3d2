import { newId, type WebhookBody, type WebhookEvent } from "@framewire/shared";
import { type JobRow, jobs, type WebhookDeliveryRow, webhookDeliveries } from "@framewire/shared/db";
import { and, eq, isNull, lte, or } from "drizzle-orm";
import type { EdgeDeps } from "../deps";
import { presentJob } from "../jobs/present";
import type { TransitionHook } from "../jobs/repository";
import { attemptDelivery } from "./deliver";

const eventFor: Partial<Record<JobRow["status"], WebhookEvent>> = {
  running: "job.running",
  succeeded: "job.succeeded",
  failed: "job.failed",
  canceled: "job.canceled",
};

function newDelivery(
  deps: EdgeDeps,
  job: Pick<JobRow, "id" | "tenantId" | "webhook">,
  event: WebhookEvent,
  data: WebhookBody["data"],
  now: number,
): WebhookDeliveryRow | null {
  if (!job.webhook?.events.includes(event)) return null;
  const id = newId("whd", now);
  const payload = { id, type: event, created_at: new Date(now).toISOString(), data } as WebhookBody;
  return {
    id,
    tenantId: job.tenantId,
    jobId: job.id,
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
 * Queues the webhook a job transition calls for, in the same database batch as the transition's
 * event row, and tries it at once in the background; the sweeper retries it if that fails. The
 * body carries the job as GET /v1/jobs/:id shows it at that moment (final facts, outputs, error).
 */
export function webhookOnTransition(deps: EdgeDeps): TransitionHook {
  return async (row, now) => {
    const event = eventFor[row.status];
    if (!event || !row.webhook) return [];
    const delivery = newDelivery(deps, row, event, { job: await presentJob(deps, row, now) }, now);
    if (!delivery) return [];
    return [
      {
        statement: deps.db.insert(webhookDeliveries).values(delivery),
        after: () => deps.background.run(() => attemptDelivery(deps, delivery.id)),
      },
    ];
  };
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
