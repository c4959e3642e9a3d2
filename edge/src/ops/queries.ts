import { edgeSettings, jobs, webhookDeliveries } from "@framewire/shared/db";
import { and, desc, eq, gte, isNull, or, sql } from "drizzle-orm";
import type { Db } from "../db";

/**
 * What operators watch that lives in the database: how long the oldest job of each queue has
 * waited, the outbox, tenants whose webhooks keep failing, and when the last backup was taken.
 * Read by /metrics (at most every few seconds) and /v1/health/detailed, never on a request path.
 */

/**
 * Seconds the oldest queued job per `<pool>.<priority>` has waited, counted from when it entered
 * `queued` (its updated_at: a queued job's row changes only on a transition), so a job handed back
 * by a node counts from then. Queues with no job are absent.
 */
export async function oldestQueuedAges(db: Db, now: number): Promise<Record<string, number>> {
  const rows = await db
    .select({ pool: jobs.pool, priority: jobs.priority, oldest: sql<number>`min(${jobs.updatedAt})` })
    .from(jobs)
    .where(eq(jobs.status, "queued"))
    .groupBy(jobs.pool, jobs.priority);
  return Object.fromEntries(
    rows.map((r) => [`${r.pool}.${r.priority}`, Math.max(0, (now - Number(r.oldest)) / 1000)]),
  );
}

/** Jobs accepted but never confirmed by JetStream: the outbox's backlog. */
export async function outboxBacklog(db: Db): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)` })
    .from(jobs)
    .where(and(isNull(jobs.dispatchedAt), eq(jobs.status, "queued")));
  return Number(row?.n ?? 0);
}

/**
 * Tenants whose receivers keep failing: deliveries still being retried after `minAttempts`
 * attempts, or given up within the last `windowMs`. At most `limit` tenants, the worst first, so
 * the metric's label set stays bounded whatever the number of tenants.
 */
export async function failingWebhookTenants(
  db: Db,
  now: number,
  options: { minAttempts: number; windowMs: number; limit: number },
): Promise<{ tenantId: string; deliveries: number }[]> {
  const n = sql<number>`count(*)`;
  const rows = await db
    .select({ tenantId: webhookDeliveries.tenantId, deliveries: n })
    .from(webhookDeliveries)
    .where(
      or(
        and(eq(webhookDeliveries.status, "pending"), gte(webhookDeliveries.attempts, options.minAttempts)),
        and(eq(webhookDeliveries.status, "failed"), gte(webhookDeliveries.updatedAt, now - options.windowMs)),
      ),
    )
    .groupBy(webhookDeliveries.tenantId)
    .orderBy(desc(n))
    .limit(options.limit);
  return rows.map((r) => ({ tenantId: r.tenantId, deliveries: Number(r.deliveries) }));
}

/** The key `framewire backup` writes after each snapshot it takes (see node-worker/cli). */
export const lastBackupKey = "last_backup";

/** When the last backup was taken (ms) and its kind, or null when none has been. */
export async function lastBackupAt(db: Db): Promise<{ at: number; kind: string } | null> {
  const [row] = await db.select().from(edgeSettings).where(eq(edgeSettings.key, lastBackupKey));
  const at = row?.value.at;
  return typeof at === "string" ? { at: Date.parse(at), kind: String(row?.value.kind ?? "file") } : null;
}
