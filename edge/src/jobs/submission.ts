import type { JobSpec } from "@framewire/shared";
import { type JobRow, jobs, type TenantWebhookRow, type UploadRow, uploads } from "@framewire/shared/db";
import { and, eq, sql } from "drizzle-orm";
import type { Db } from "../db";
import { preparedPerDb, withValues } from "../prepared";
import { type QuotaUsage, quotaUsageQuery } from "../quotas/check";
import { tenantWebhookQuery } from "../webhooks/repository";
import { inputsOf } from "./inputs";

/**
 * Everything a new job's checks read, in ONE database round trip: the uploads it names, the
 * tenant's webhook settings, and an earlier job with the same Idempotency-Key. On Workers each
 * round trip to libSQL is an HTTP request, so a submit pays for one read and one write, not four.
 */
export interface Submission {
  uploads: Map<string, UploadRow | null>;
  tenantWebhook: { settings: TenantWebhookRow | null };
  /** The job an earlier request with this Idempotency-Key created, if any. */
  existing: JobRow | null;
  /** The tenant's quotas and what is used of them (undefined: none set). */
  quota: QuotaUsage | undefined;
}

// The ids as one JSON array: one statement (and one prepared query) for any number of uploads.
const uploadsQuery = preparedPerDb((db) =>
  db
    .select()
    .from(uploads)
    .where(
      and(
        eq(uploads.tenantId, sql.placeholder("tenantId")),
        sql`${uploads.id} in (select value from json_each(${sql.placeholder("ids")}))`,
      ),
    )
    .prepare(),
);

// Limit 0 without a key: the batch keeps one shape and reads nothing.
const idempotentJobQuery = preparedPerDb((db) =>
  db
    .select()
    .from(jobs)
    .where(
      and(eq(jobs.tenantId, sql.placeholder("tenantId")), eq(jobs.idempotencyKey, sql.placeholder("key"))),
    )
    .limit(sql.placeholder("limit"))
    .prepare(),
);

export async function readSubmission(
  db: Db,
  tenantId: string,
  spec: JobSpec,
  idempotencyKey: string | null,
  now: number,
): Promise<Submission> {
  const uploadIds = [
    ...new Set(inputsOf(spec).flatMap(({ input }) => (input.type === "upload" ? [input.upload_id] : []))),
  ];
  const [settings, named, existing, quota] = await db.batch([
    tenantWebhookQuery(db, tenantId),
    withValues(uploadsQuery(db), { tenantId, ids: JSON.stringify(uploadIds) }),
    withValues(idempotentJobQuery(db), {
      tenantId,
      key: idempotencyKey ?? "",
      limit: idempotencyKey ? 1 : 0,
    }),
    quotaUsageQuery(db, tenantId, now),
  ]);
  const byId = new Map(named.map((row) => [row.id, row]));
  return {
    uploads: new Map(uploadIds.map((id) => [id, byId.get(id) ?? null])),
    tenantWebhook: { settings: settings[0] ?? null },
    existing: existing[0] ?? null,
    quota: quota[0],
  };
}
