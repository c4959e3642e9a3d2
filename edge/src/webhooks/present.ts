import type { TenantWebhook, WebhookDelivery } from "@framewire/shared";
import type { TenantWebhookRow, WebhookAttemptRow, WebhookDeliveryRow } from "@framewire/shared/db";

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** One delivery and its attempts, as GET /v1/jobs/:id/webhooks shows them. */
export function presentDelivery(
  delivery: WebhookDeliveryRow,
  attempts: WebhookAttemptRow[],
): WebhookDelivery {
  return {
    id: delivery.id,
    event: delivery.event,
    url: delivery.url,
    status: delivery.status,
    attempt_count: delivery.attempts,
    next_attempt_at: iso(delivery.nextAttemptAt),
    deadline_at: iso(delivery.deadlineAt),
    delivered_at: iso(delivery.deliveredAt),
    last_status_code: delivery.lastStatusCode,
    last_error: delivery.lastError,
    created_at: iso(delivery.createdAt),
    attempts: attempts.map((a) => ({
      attempt: a.attempt,
      at: new Date(a.startedAt).toISOString(),
      status_code: a.statusCode,
      latency_ms: a.latencyMs,
      error: a.error,
    })),
  };
}

/** The tenant's webhook settings; the secret itself only where `secret` is passed (created, rotated). */
export function presentTenantWebhook(row: TenantWebhookRow, secret?: string): TenantWebhook {
  return {
    url: row.url,
    events: row.events,
    /** Enough of the secret to tell which one a receiver holds. */
    secret_hint: `${row.secret.slice(0, 10)}…`,
    previous_secret_expires_at: iso(row.previousSecretUntil),
    created_at: iso(row.createdAt),
    updated_at: iso(row.updatedAt),
    ...(secret ? { secret } : {}),
  };
}
