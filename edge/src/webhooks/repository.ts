import { randomSecret } from "@framewire/shared";
import {
  type TenantWebhookRow,
  tenantWebhooks,
  type WebhookAttemptRow,
  type WebhookDeliveryRow,
  webhookAttempts,
  webhookDeliveries,
} from "@framewire/shared/db";
import { and, asc, eq, gt, inArray, isNull, lt, lte, or, sql } from "drizzle-orm";
import type { Db } from "../db";
import { preparedPerDb, withValues } from "../prepared";

/** Tenant webhook settings and the delivery log. */

export function newWebhookSecret(): string {
  return `whsec_${randomSecret(40)}`;
}

/** Read on every job submission (for the default and the secret): a prepared query per database. */
const findTenantWebhookPrepared = preparedPerDb((db) =>
  db
    .select()
    .from(tenantWebhooks)
    .where(eq(tenantWebhooks.tenantId, sql.placeholder("tenantId")))
    .limit(1)
    .prepare(),
);

/** The tenant's webhook settings (zero or one row), for a batch of reads or awaited alone. */
export function tenantWebhookQuery(db: Db, tenantId: string) {
  return withValues(findTenantWebhookPrepared(db), { tenantId });
}

export async function findTenantWebhook(db: Db, tenantId: string): Promise<TenantWebhookRow | null> {
  const [row] = await tenantWebhookQuery(db, tenantId);
  return row ?? null;
}

/** Creates or updates the tenant's defaults; a first call also creates the signing secret. */
export async function upsertTenantWebhook(
  db: Db,
  tenantId: string,
  settings: Pick<TenantWebhookRow, "url" | "events">,
  now: number,
): Promise<{ row: TenantWebhookRow; created: boolean }> {
  const existing = await findTenantWebhook(db, tenantId);
  if (existing) {
    const [row] = await db
      .update(tenantWebhooks)
      .set({ ...settings, updatedAt: now })
      .where(eq(tenantWebhooks.tenantId, tenantId))
      .returning();
    return { row: row as TenantWebhookRow, created: false };
  }
  const row: TenantWebhookRow = {
    tenantId,
    ...settings,
    secret: newWebhookSecret(),
    previousSecret: null,
    previousSecretUntil: null,
    createdAt: now,
    updatedAt: now,
  };
  // Two first calls racing: the primary key keeps one; the loser reads the winner's row.
  const inserted = await db.insert(tenantWebhooks).values(row).onConflictDoNothing().returning();
  if (inserted[0]) return { row: inserted[0], created: true };
  return upsertTenantWebhook(db, tenantId, settings, now);
}

/** A new secret; the old one keeps signing beside it until `graceUntil`. */
export async function rotateTenantSecret(
  db: Db,
  row: TenantWebhookRow,
  graceUntil: number,
  now: number,
): Promise<TenantWebhookRow> {
  const [updated] = await db
    .update(tenantWebhooks)
    .set({
      secret: newWebhookSecret(),
      previousSecret: graceUntil > now ? row.secret : null,
      previousSecretUntil: graceUntil > now ? graceUntil : null,
      updatedAt: now,
    })
    .where(and(eq(tenantWebhooks.tenantId, row.tenantId), eq(tenantWebhooks.secret, row.secret)))
    .returning();
  return updated ?? ((await findTenantWebhook(db, row.tenantId)) as TenantWebhookRow);
}

/** The secrets a delivery is signed with now: the current one, and the previous during its grace. */
export function signingSecrets(row: TenantWebhookRow | null, now: number): string[] {
  if (!row) return [];
  const previous = row.previousSecret && (row.previousSecretUntil ?? 0) > now ? [row.previousSecret] : [];
  return [row.secret, ...previous];
}

/**
 * Claims a due delivery for one attempt: a conditional update that only one sender can win, which
 * sets a lease long enough for the attempt (a sender that dies lets it lapse) and counts the attempt.
 */
export async function claimDelivery(
  db: Db,
  id: string,
  now: number,
  leaseUntil: number,
): Promise<WebhookDeliveryRow | null> {
  const claimed = await db
    .update(webhookDeliveries)
    .set({ leaseUntil, updatedAt: now })
    .where(
      and(
        eq(webhookDeliveries.id, id),
        eq(webhookDeliveries.status, "pending"),
        lte(webhookDeliveries.nextAttemptAt, now),
        or(isNull(webhookDeliveries.leaseUntil), lt(webhookDeliveries.leaseUntil, now)),
      ),
    )
    .returning();
  return claimed[0] ?? null;
}

/** Records one attempt and what follows it, fenced by the lease so a sender that lost it changes nothing. */
export async function finishAttempt(
  db: Db,
  claimed: WebhookDeliveryRow,
  attempt: Omit<WebhookAttemptRow, "id" | "deliveryId" | "attempt">,
  next: Pick<WebhookDeliveryRow, "status" | "nextAttemptAt" | "deliveredAt">,
  now: number,
): Promise<void> {
  const number = claimed.attempts + 1;
  // Both writes count only while this sender still holds its lease: one that overran it (another
  // sender has taken the delivery since) must not log an attempt under a number the other will use.
  // The insert runs first, while lease_until still names this claim.
  await db.batch([
    db.run(sql`
      insert into webhook_attempts (delivery_id, attempt, started_at, status_code, latency_ms, error)
      select ${claimed.id}, ${number}, ${attempt.startedAt}, ${attempt.statusCode}, ${attempt.latencyMs}, ${attempt.error}
      from webhook_deliveries
      where id = ${claimed.id} and lease_until = ${claimed.leaseUntil}`),
    db
      .update(webhookDeliveries)
      .set({
        ...next,
        attempts: number,
        leaseUntil: null,
        lastStatusCode: attempt.statusCode,
        lastError: attempt.error,
        updatedAt: now,
      })
      .where(
        and(
          eq(webhookDeliveries.id, claimed.id),
          eq(webhookDeliveries.leaseUntil, claimed.leaseUntil as number),
        ),
      ),
  ]);
}

/** Ids of deliveries whose next attempt is due and that no sender holds. */
export async function dueDeliveries(db: Db, now: number, limit: number): Promise<string[]> {
  const rows = await db
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.status, "pending"),
        lte(webhookDeliveries.nextAttemptAt, now),
        or(isNull(webhookDeliveries.leaseUntil), lt(webhookDeliveries.leaseUntil, now)),
      ),
    )
    .orderBy(asc(webhookDeliveries.nextAttemptAt))
    .limit(limit);
  return rows.map((r) => r.id);
}

/** Oldest first; the cursor is the last id of the previous page (ids sort by creation time). */
/**
 * A job's deliveries (or, with `batchId`, a batch's own: batch.completed), oldest first, each with
 * its attempts. A job's list leaves out its batch's deliveries, which are filed under the job that
 * completed the batch.
 */
export async function listJobDeliveries(
  db: Db,
  jobId: string | { batchId: string },
  page: { cursor?: string | undefined; limit: number },
): Promise<{ delivery: WebhookDeliveryRow; attempts: WebhookAttemptRow[] }[]> {
  const conditions = [
    typeof jobId === "string"
      ? and(eq(webhookDeliveries.jobId, jobId), isNull(webhookDeliveries.batchId))
      : eq(webhookDeliveries.batchId, jobId.batchId),
  ];
  if (page.cursor) conditions.push(gt(webhookDeliveries.id, page.cursor));
  const deliveries = await db
    .select()
    .from(webhookDeliveries)
    .where(and(...conditions))
    .orderBy(asc(webhookDeliveries.id))
    .limit(page.limit);
  if (deliveries.length === 0) return [];
  const attempts = await db
    .select()
    .from(webhookAttempts)
    .where(
      inArray(
        webhookAttempts.deliveryId,
        deliveries.map((d) => d.id),
      ),
    )
    .orderBy(asc(webhookAttempts.id));
  return deliveries.map((delivery) => ({
    delivery,
    attempts: attempts.filter((a) => a.deliveryId === delivery.id),
  }));
}

export async function findJobDelivery(db: Db, jobId: string, id: string): Promise<WebhookDeliveryRow | null> {
  const [row] = await db
    .select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.jobId, jobId), eq(webhookDeliveries.id, id)))
    .limit(1);
  return row ?? null;
}

/**
 * Manual redelivery: the delivery is due again at once with a fresh deadline. Refused (null) while
 * an attempt holds its lease, so a redelivery never runs beside an attempt in flight.
 */
export async function rescheduleDelivery(
  db: Db,
  id: string,
  now: number,
  deadlineAt: number,
): Promise<WebhookDeliveryRow | null> {
  const [row] = await db
    .update(webhookDeliveries)
    .set({ status: "pending", nextAttemptAt: now, deadlineAt, deliveredAt: null, updatedAt: now })
    .where(
      and(
        eq(webhookDeliveries.id, id),
        or(isNull(webhookDeliveries.leaseUntil), lt(webhookDeliveries.leaseUntil, now)),
      ),
    )
    .returning();
  return row ?? null;
}
