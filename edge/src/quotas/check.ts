import { FramewireError } from "@framewire/shared";
import { tenantQuotas } from "@framewire/shared/db";
import { eq, sql } from "drizzle-orm";
import type { Db } from "../db";
import { preparedPerDb, withValues } from "../prepared";

/**
 * The quotas new work is checked against, with what is used of them, in one statement (a submit
 * adds it to the batch of reads it makes anyway). No row: no quotas, nothing counted.
 * `max_running_jobs` is not here: it holds jobs back at release (jobs/admission.ts), it never refuses.
 */
export function quotaUsageQuery(db: Db, tenantId: string, now: number) {
  return withValues(quotaUsagePrepared(db), { tenantId, month: new Date(now).toISOString().slice(0, 7) });
}

const quotaUsagePrepared = preparedPerDb((db) => {
  const tenantId = sql.placeholder("tenantId");
  return db
    .select({
      maxQueuedJobs: tenantQuotas.maxQueuedJobs,
      mediaMinutesPerMonth: tenantQuotas.mediaMinutesPerMonth,
      // Counted only when limited (CASE evaluates one branch).
      queuedJobs: sql<number>`case when ${tenantQuotas.maxQueuedJobs} is null then 0 else
        (select count(*) from jobs j where j.tenant_id = ${tenantId} and j.status = 'queued') end`,
      mediaSecThisMonth: sql<number>`coalesce((select u.input_media_sec from tenant_usage_months u
        where u.tenant_id = ${tenantId} and u.month = ${sql.placeholder("month")}), 0)`,
    })
    .from(tenantQuotas)
    .where(eq(tenantQuotas.tenantId, tenantId))
    .limit(1)
    .prepare();
});

export type QuotaUsage = Awaited<ReturnType<typeof quotaUsageQuery>>[number];

/**
 * Refuses `jobs` more jobs with `quota_exceeded` naming the limit. Checked when work is accepted:
 * requests racing on several edge instances may each pass with the count they read, so the queued
 * limit can be overshot by the jobs accepted in that instant. Media minutes are those of jobs that
 * succeeded this month (UTC): a job is accepted while any are left, since its length is unknown
 * until a node probes it.
 */
export function refuseOverQuota(quota: QuotaUsage | undefined, jobs: number): void {
  if (!quota) return;
  const { maxQueuedJobs, mediaMinutesPerMonth } = quota;
  if (maxQueuedJobs !== null && Number(quota.queuedJobs) + jobs > maxQueuedJobs) {
    throw new FramewireError(
      "quota_exceeded",
      `max_queued_jobs: ${Number(quota.queuedJobs)} jobs are queued and the limit is ${maxQueuedJobs}` +
        (jobs > 1 ? `; this would add ${jobs}` : "") +
        ". Wait for some to start, or ask the operator to raise it.",
      { limit: "max_queued_jobs", limit_value: maxQueuedJobs, used: Number(quota.queuedJobs) },
    );
  }
  const usedMinutes = Number(quota.mediaSecThisMonth) / 60;
  if (mediaMinutesPerMonth !== null && usedMinutes >= mediaMinutesPerMonth) {
    throw new FramewireError(
      "quota_exceeded",
      `media_minutes_per_month: ${usedMinutes.toFixed(1)} of ${mediaMinutesPerMonth} input media minutes are ` +
        "used this month (UTC).",
      { limit: "media_minutes_per_month", limit_value: mediaMinutesPerMonth, used: usedMinutes },
    );
  }
}
