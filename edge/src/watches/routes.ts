import {
  FramewireError,
  type Watch,
  watchCreateSchema,
  watchListQuerySchema,
  watchObjectsQuerySchema,
  watchUpdateSchema,
} from "@framewire/shared";
import type { WatchObjectRow, WatchRow } from "@framewire/shared/db";
import { type Context, Hono } from "hono";
import { requireScope } from "../auth/authenticate";
import type { EdgeConfig } from "../config";
import type { EdgeDeps } from "../deps";
import type { EdgeEnv } from "../env";
import { resolveTemplate } from "../templates/resolve";
import { parseOrThrow, readJson } from "../validation";
import {
  deleteWatch,
  findWatch,
  insertWatch,
  listWatches,
  listWatchObjects,
  updateWatch,
} from "./repository";

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function presentWatch(config: Pick<EdgeConfig, "publicUrl">, row: WatchRow): Watch {
  const self = `${config.publicUrl}/v1/watches/${row.id}`;
  return {
    id: row.id,
    bucket: row.bucket,
    prefix: row.prefix,
    template: row.template,
    schedule: { every_sec: row.everySec },
    enabled: row.enabled,
    state: row.lastErrorCode ? "error" : row.lastPolledAt === null ? "pending" : "ok",
    last_error:
      row.lastErrorCode && row.lastErrorAt !== null
        ? {
            code: row.lastErrorCode,
            message: row.lastError ?? "",
            at: new Date(row.lastErrorAt).toISOString(),
          }
        : null,
    consecutive_errors: row.consecutiveErrors,
    last_polled_at: iso(row.lastPolledAt),
    next_poll_at: row.enabled ? iso(row.nextPollAt) : null,
    objects_seen: row.objectsSeen,
    created_at: new Date(row.createdAt).toISOString(),
    updated_at: new Date(row.updatedAt).toISOString(),
    links: { self, objects: `${self}/objects` },
  };
}

function presentObject(row: WatchObjectRow) {
  return {
    seq: row.seq,
    key: row.key,
    etag: row.etag,
    size_bytes: row.sizeBytes,
    job_id: row.jobId,
    skipped: row.skipped,
    seen_at: new Date(row.seenAt).toISOString(),
  };
}

/** A watch may only list buckets the operator lets `s3` inputs read (FW_S3_INPUT_BUCKETS). */
function refuseBucket(deps: EdgeDeps, bucket: string): void {
  if (deps.config.s3InputBuckets.includes(bucket) && deps.bucketLister) return;
  throw new FramewireError("bucket_not_allowed", `bucket: this service does not read ${bucket}`, {
    errors: [{ field: "bucket", message: "not a bucket this service reads (FW_S3_INPUT_BUCKETS)" }],
  });
}

function refuseFastSchedule(deps: EdgeDeps, everySec: number): void {
  const min = deps.config.watches.minIntervalSec;
  if (everySec >= min) return;
  const message = `must be at least ${min} seconds (FW_WATCH_MIN_INTERVAL_SEC)`;
  throw new FramewireError("validation_failed", `watch: schedule.every_sec: ${message}`, {
    errors: [{ field: "schedule.every_sec", message }],
  });
}

/** `/v1/watches`: bucket prefixes looked at on a schedule, each new or changed object a job. */
export function watchesRoutes() {
  const app = new Hono<EdgeEnv>();

  const named = async (c: Context<EdgeEnv>): Promise<WatchRow> => {
    const row = await findWatch(c.get("deps").db, c.get("auth").tenantId, c.req.param("id") ?? "");
    if (!row)
      throw new FramewireError(
        "not_found",
        `No watch ${c.req.param("id")} exists for this API key's tenant.`,
      );
    return row;
  };

  app.post("/", requireScope("jobs:write"), async (c) => {
    const deps = c.get("deps");
    const { tenantId, keyId } = c.get("auth");
    const body = parseOrThrow(watchCreateSchema, await readJson(c), "watch");
    refuseBucket(deps, body.bucket);
    refuseFastSchedule(deps, body.schedule.every_sec);
    await resolveTemplate(deps, tenantId, body.template);
    const row = await insertWatch(
      deps.db,
      {
        tenantId,
        apiKeyId: keyId,
        bucket: body.bucket,
        prefix: body.prefix,
        template: body.template,
        everySec: body.schedule.every_sec,
        enabled: body.enabled,
      },
      deps.clock(),
    );
    return c.json(presentWatch(deps.config, row), 201, {
      location: `${deps.config.publicUrl}/v1/watches/${row.id}`,
    });
  });

  app.get("/", requireScope("jobs:read"), async (c) => {
    const deps = c.get("deps");
    const query = parseOrThrow(watchListQuerySchema, c.req.query(), "query");
    const rows = await listWatches(deps.db, c.get("auth").tenantId, query);
    const last = rows.at(-1);
    return c.json({
      data: rows.map((row) => presentWatch(deps.config, row)),
      next_cursor: rows.length === query.limit && last ? last.id : null,
    });
  });

  app.get("/:id", requireScope("jobs:read"), async (c) =>
    c.json(presentWatch(c.get("deps").config, await named(c))),
  );

  app.patch("/:id", requireScope("jobs:write"), async (c) => {
    const deps = c.get("deps");
    const watch = await named(c);
    const body = parseOrThrow(watchUpdateSchema, await readJson(c), "watch");
    if (body.schedule) refuseFastSchedule(deps, body.schedule.every_sec);
    if (body.template) await resolveTemplate(deps, watch.tenantId, body.template);
    const now = deps.clock();
    const row = await updateWatch(deps.db, watch.id, {
      ...(body.template ? { template: body.template } : {}),
      ...(body.schedule ? { everySec: body.schedule.every_sec } : {}),
      ...(body.enabled !== undefined ? { enabled: body.enabled } : {}),
      // A watch turned on again (or given a new template) looks at once, errors forgotten.
      ...(body.enabled || body.template ? { nextPollAt: now, consecutiveErrors: 0 } : {}),
      updatedAt: now,
    });
    return c.json(presentWatch(deps.config, row ?? watch));
  });

  app.delete("/:id", requireScope("jobs:write"), async (c) => {
    const watch = await named(c);
    await deleteWatch(c.get("deps").db, watch.id);
    return c.body(null, 204);
  });

  /** Asks for a look now (the next scheduler run or Cron). */
  app.post("/:id/poll", requireScope("jobs:write"), async (c) => {
    const deps = c.get("deps");
    const watch = await named(c);
    const row = await updateWatch(deps.db, watch.id, { nextPollAt: deps.clock(), updatedAt: deps.clock() });
    return c.json(presentWatch(deps.config, row ?? watch), 202);
  });

  /** The watch's history: every object (key and ETag) it saw, with the job it made, oldest first. */
  app.get("/:id/objects", requireScope("jobs:read"), async (c) => {
    const deps = c.get("deps");
    const watch = await named(c);
    const page = parseOrThrow(watchObjectsQuerySchema, c.req.query(), "query");
    const rows = await listWatchObjects(deps.db, watch.id, page);
    const last = rows.at(-1);
    return c.json({
      data: rows.map(presentObject),
      next_cursor: rows.length === page.limit && last ? last.seq : null,
    });
  });

  return app;
}
