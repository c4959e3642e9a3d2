import { storageKeys } from "@framewire/shared";
import { jobEvents, jobs, uploads } from "@framewire/shared/db";
import { and, asc, eq, inArray, isNull, lte, sql } from "drizzle-orm";
import type { Db } from "./db";
import type { EdgeDeps } from "./deps";
import { deleteAttemptLogs } from "./jobs/logs";

/**
 * Retention: uploads older than FW_INPUT_RETENTION_HOURS and the outputs of jobs finished more than
 * FW_OUTPUT_RETENTION_HOURS ago are deleted from the store, then marked expired (an expired upload
 * can't start a job; a job's expired outputs show `expired: true` and no URL). Objects go first and
 * the mark second, so a sweep that dies half-way is finished by the next one. Runs on a timer on
 * Node and on the Cron trigger on Workers, `batch` rows of each kind per sweep.
 */
export async function sweepRetention(
  deps: EdgeDeps,
  options: { batch: number },
): Promise<{ uploads: number; jobs: number }> {
  const { storage, db, config } = deps;
  const swept = { uploads: 0, jobs: 0 };
  if (!storage) return swept;
  const now = deps.clock();
  const { inputMs, outputMs } = config.retention;

  if (inputMs !== null) {
    for (const upload of await uploadsPastRetention(db, now - inputMs, options.batch)) {
      await storage.deleteTree(upload.storageKey);
      await db
        .update(uploads)
        .set({ expiredAt: now })
        .where(and(eq(uploads.id, upload.id), isNull(uploads.expiredAt)));
      swept.uploads++;
    }
  }
  if (outputMs !== null) {
    const cutoff = now - outputMs;
    for (const job of await jobsPastRetention(db, cutoff, options.batch)) {
      await storage.deleteTree(storageKeys.jobFolder(job.tenantId, job.id));
      // Guarded on finished_at: a job retried since it was listed is running again, not expired.
      const marked = await db
        .update(jobs)
        .set({ outputsExpiredAt: now })
        .where(and(eq(jobs.id, job.id), isNull(jobs.outputsExpiredAt), lte(jobs.finishedAt, cutoff)))
        .returning({ status: jobs.status });
      if (marked[0]) {
        // The job's logs go with its outputs: FFmpeg's words can quote the media's own metadata.
        await deleteAttemptLogs(db, job.id);
        await db.insert(jobEvents).values({
          jobId: job.id,
          type: "outputs:expired",
          status: marked[0].status,
          attempt: job.attempts,
          createdAt: now,
        });
        swept.jobs++;
      }
    }
  }
  if (swept.uploads + swept.jobs > 0) deps.logger.info(swept, "retention:swept");
  return swept;
}

/** Uploads created before `before`, not yet expired, and not read by a job still to run. */
function uploadsPastRetention(db: Db, before: number, limit: number) {
  return db
    .select({ id: uploads.id, storageKey: uploads.storageKey })
    .from(uploads)
    .where(
      and(
        isNull(uploads.expiredAt),
        lte(uploads.createdAt, before),
        // As the job's input, one of its named inputs or subtitle files, or a watermark image of
        // one of its outputs.
        sql`not exists (select 1 from ${jobs} where ${jobs.tenantId} = ${uploads.tenantId}
          and ${jobs.status} in ('queued', 'running')
          and (json_extract(${jobs.spec}, '$.input.upload_id') = ${uploads.id}
            or exists (select 1 from json_each(${jobs.spec}, '$.inputs') as i
              where json_extract(i.value, '$.upload_id') = ${uploads.id})
            or exists (select 1 from json_each(${jobs.spec}, '$.subtitles') as s
              where json_extract(s.value, '$.input.upload_id') = ${uploads.id})
            or exists (select 1 from json_each(${jobs.spec}, '$.outputs') as o
              where json_extract(o.value, '$.video.watermark.image.upload_id') = ${uploads.id})))`,
      ),
    )
    .orderBy(asc(uploads.createdAt))
    .limit(limit);
}

function jobsPastRetention(db: Db, finishedBefore: number, limit: number) {
  return db
    .select({ id: jobs.id, tenantId: jobs.tenantId, attempts: jobs.attempts })
    .from(jobs)
    .where(
      and(
        isNull(jobs.outputsExpiredAt),
        lte(jobs.finishedAt, finishedBefore),
        inArray(jobs.status, ["succeeded", "failed", "canceled"]),
      ),
    )
    .orderBy(asc(jobs.finishedAt))
    .limit(limit);
}
