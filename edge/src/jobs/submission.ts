import type { JobSpec } from "@framewire/shared";
import {
  type JobRow,
  jobs,
  type TenantWebhookRow,
  tenantWebhooks,
  type UploadRow,
  uploads,
} from "@framewire/shared/db";
import { and, eq, inArray } from "drizzle-orm";
import type { Db } from "../db";
import { type QuotaUsage, quotaUsageQuery } from "../quotas/check";
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
    db.select().from(tenantWebhooks).where(eq(tenantWebhooks.tenantId, tenantId)).limit(1),
    db
      .select()
      .from(uploads)
      // "in ()" is valid SQL in SQLite and matches nothing: one statement shape for every job.
      .where(and(eq(uploads.tenantId, tenantId), inArray(uploads.id, uploadIds))),
    db
      .select()
      .from(jobs)
      .where(and(eq(jobs.tenantId, tenantId), eq(jobs.idempotencyKey, idempotencyKey ?? "")))
      .limit(idempotencyKey ? 1 : 0),
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
