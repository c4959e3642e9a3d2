import {
  type ErrorCode,
  FramewireError,
  jobSpecSchema,
  newId,
  type Pool,
  s3InputSchema,
} from "@framewire/shared";
import { jobEvents, jobs, type WatchRow, watchObjects } from "@framewire/shared/db";
import type { BatchItem } from "drizzle-orm/batch";
import type { EdgeDeps } from "../deps";
import { releaseAndDispatch } from "../jobs/admission";
import { createdEvent, newJobRow } from "../jobs/lifecycle";
import { ifPreviousChanged } from "../jobs/sql";
import { quotaUsageQuery } from "../quotas/check";
import { mergeTemplate, resolveTemplate } from "../templates/resolve";
import { type ListedObject, ListingError } from "./lister";
import { claimDueWatches, countSeen, seenKey, seenObjects, updateWatch } from "./repository";

/**
 * Polling watched buckets. Each due watch (claimed, so one poller at a time) lists its prefix with
 * the operator's credentials and makes one job per object it has not seen by key and ETag, from its
 * template. The object's history row, its job and the job's event are written together, the job
 * and event only if the history row was new (see ifPreviousChanged), and (watch, key, ETag) is
 * unique: an object becomes a job exactly once, across restarts, edge instances and overlapping
 * polls. A re-upload with new content has a new ETag and makes a new job.
 *
 * A failed look (access lost, bucket gone, template deleted, quota used up) is recorded on the
 * watch (`state: error`, `last_error`) and the next look waits longer each time — its interval
 * doubled per consecutive failure, up to an hour — so a watch that lost access doesn't hammer the
 * store. The first look that works clears it.
 */

const leaseMs = 5 * 60_000;
const maxBackoffMs = 3_600_000;
/** History rows (each with its job and event) written per database round trip. */
const groupSize = 100;

class WatchFailure extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Polls every due watch (Node: the scheduler timer; Workers: the Cron trigger). */
export async function pollDueWatches(deps: EdgeDeps, options: { limit: number }): Promise<number> {
  if (!deps.bucketLister) return 0;
  const due = await claimDueWatches(deps.db, deps.clock(), leaseMs, options.limit);
  let made = 0;
  for (const watch of due) made += await pollWatch(deps, watch);
  return made;
}

/** One look at one claimed watch; the number of jobs it made. */
export async function pollWatch(deps: EdgeDeps, watch: WatchRow): Promise<number> {
  const started = deps.clock();
  let made = 0;
  try {
    made = await look(deps, watch);
    const now = deps.clock();
    await updateWatch(deps.db, watch.id, {
      lastPolledAt: started,
      nextPollAt: now + watch.everySec * 1000,
      leaseUntil: null,
      consecutiveErrors: 0,
      lastErrorCode: null,
      lastError: null,
      lastErrorAt: null,
      objectsSeen: await countSeen(deps.db, watch.id),
      updatedAt: now,
    });
  } catch (error) {
    const failure =
      error instanceof WatchFailure
        ? error
        : error instanceof FramewireError
          ? new WatchFailure(error.code, error.message)
          : error instanceof ListingError
            ? new WatchFailure("input_unavailable", error.message)
            : new WatchFailure("internal", (error as Error)?.message ?? String(error));
    const errors = watch.consecutiveErrors + 1;
    const waitMs = Math.min(maxBackoffMs, watch.everySec * 1000 * 2 ** errors);
    const now = deps.clock();
    await updateWatch(deps.db, watch.id, {
      lastPolledAt: started,
      nextPollAt: now + Math.max(waitMs, watch.everySec * 1000),
      leaseUntil: null,
      consecutiveErrors: errors,
      lastErrorCode: failure.code,
      lastError: failure.message.slice(0, 1000),
      lastErrorAt: now,
      objectsSeen: await countSeen(deps.db, watch.id),
      updatedAt: now,
    });
    deps.logger.warn({ watch: watch.id, code: failure.code, err: error, errors }, "watch:poll:failed");
  }
  if (made > 0) deps.logger.info({ watch: watch.id, made }, "watch:jobs:made");
  return made;
}

async function look(deps: EdgeDeps, watch: WatchRow): Promise<number> {
  const lister = deps.bucketLister;
  // The operator may have taken the bucket off the list since the watch was made.
  if (!lister || !deps.config.s3InputBuckets.includes(watch.bucket)) {
    throw new WatchFailure(
      "bucket_not_allowed",
      `${watch.bucket} is not a bucket this service reads (FW_S3_INPUT_BUCKETS)`,
    );
  }
  const template = await resolveTemplate(deps, watch.tenantId, watch.template);
  const max = deps.config.watches.maxObjectsPerPoll;
  let made = 0;
  let listed = 0;
  let quotaLeft = await queuedRoom(deps, watch.tenantId);
  for (let continuation: string | null = null; ; ) {
    const page: { objects: ListedObject[]; next: string | null } = await lister.list(
      watch.bucket,
      watch.prefix,
      {
        continuation,
        maxKeys: Math.min(1000, max - listed),
      },
    );
    listed += page.objects.length;
    // Folder markers ("photos/") are not media.
    const objects = page.objects.filter((o) => !o.key.endsWith("/"));
    const seen = await seenObjects(deps.db, watch.id, [...new Set(objects.map((o) => o.key))]);
    const fresh = objects.filter((o) => !seen.has(seenKey(o.key, o.etag)));
    if (fresh.length > quotaLeft) {
      made += await record(deps, watch, template, fresh.slice(0, quotaLeft));
      throw new WatchFailure(
        "quota_exceeded",
        `max_queued_jobs: ${fresh.length - quotaLeft} new objects wait until the tenant's queued jobs are fewer`,
      );
    }
    made += await record(deps, watch, template, fresh);
    quotaLeft -= fresh.length;
    continuation = page.next;
    if (!continuation || listed >= max) break;
  }
  return made;
}

/** How many more jobs the tenant's queued-jobs quota admits (Infinity without one). */
async function queuedRoom(deps: EdgeDeps, tenantId: string): Promise<number> {
  const [quota] = await quotaUsageQuery(deps.db, tenantId, deps.clock());
  if (!quota || quota.maxQueuedJobs === null) return Number.POSITIVE_INFINITY;
  return Math.max(0, quota.maxQueuedJobs - Number(quota.queuedJobs));
}

/** Writes each object's history row with its job, a group per round trip, then releases what may go. */
async function record(
  deps: EdgeDeps,
  watch: WatchRow,
  template: Awaited<ReturnType<typeof resolveTemplate>>,
  objects: ListedObject[],
): Promise<number> {
  const { db } = deps;
  let made = 0;
  const pools = new Set<Pool>();
  for (let i = 0; i < objects.length; i += groupSize) {
    const now = deps.clock();
    const statements: BatchItem<"sqlite">[] = [];
    // Where each job's own insert sits in the batch: its result says whether the job was made.
    const jobStatements: number[] = [];
    for (const object of objects.slice(i, i + groupSize)) {
      const input = { type: "s3" as const, bucket: watch.bucket, key: object.key };
      const history = {
        watchId: watch.id,
        key: object.key,
        etag: object.etag,
        sizeBytes: object.sizeBytes,
        seenAt: now,
      };
      // A key an `s3` input can't name ("a//b", control characters) is recorded, with why, and skipped.
      const parsed = s3InputSchema.safeParse(input).success
        ? jobSpecSchema.safeParse(mergeTemplate(template, { input }))
        : null;
      if (!parsed?.success) {
        const skipped = parsed
          ? `the template does not make a valid job: ${parsed.error.issues[0]?.message ?? "invalid"}`
          : "not a key an s3 input can name";
        statements.push(
          db
            .insert(watchObjects)
            .values({ ...history, skipped })
            .onConflictDoNothing(),
        );
        continue;
      }
      const row = newJobRow({
        id: newId("job", now),
        tenantId: watch.tenantId,
        apiKeyId: watch.apiKeyId,
        spec: parsed.data,
        requestId: watch.id,
        idempotencyKey: null,
        template: { id: template.id, name: template.name, version: template.version },
        now,
      });
      pools.add(row.pool);
      statements.push(
        db
          .insert(watchObjects)
          .values({ ...history, jobId: row.id })
          .onConflictDoNothing(),
      );
      jobStatements.push(statements.length);
      statements.push(ifPreviousChanged(db, db.insert(jobs).values(row)));
      statements.push(ifPreviousChanged(db, db.insert(jobEvents).values(createdEvent(row))));
    }
    const [first, ...rest] = statements;
    if (!first) continue;
    const results = (await db.batch([first, ...rest])) as unknown as { rowsAffected?: number }[];
    for (const index of jobStatements) if (results[index]?.rowsAffected === 1) made++;
  }
  for (const pool of pools) await releaseAndDispatch(deps, { tenantId: watch.tenantId, pool });
  return made;
}
