import { sql } from "drizzle-orm";
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import type { TemplateBody } from "../api";
import type { ErrorCode, JobError } from "../errors";
import type { JobInput, JobSpec, Priority } from "../job-spec";
import type { JobStatus } from "../job-state";
import type { FrameHash } from "../media";
import type { OutputResult } from "../messages";
import type { WebhookEvent } from "../webhooks";

/**
 * The database schema: the single source of truth for the records the edge keeps in libSQL.
 * Timestamps are milliseconds since the epoch (integers sort and compare cheaply in SQLite).
 */

const now = sql`(unixepoch('subsec') * 1000)`;

export const tenants = sqliteTable("tenants", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  createdAt: integer("created_at").notNull().default(now),
});

export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    /** The visible part of the key (`fw_<prefix>_…`), used to find the row; not a secret. */
    prefix: text("prefix").notNull(),
    /** SHA-256 of the whole key; the key itself is shown once and never stored. */
    hash: text("hash").notNull(),
    name: text("name").notNull(),
    scopes: text("scopes", { mode: "json" }).$type<string[]>().notNull(),
    createdAt: integer("created_at").notNull().default(now),
    expiresAt: integer("expires_at"),
    revokedAt: integer("revoked_at"),
    lastUsedAt: integer("last_used_at"),
    requestCount: integer("request_count").notNull().default(0),
  },
  (t) => [uniqueIndex("api_keys_prefix_idx").on(t.prefix)],
);

export const uploads = sqliteTable(
  "uploads",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    storageKey: text("storage_key").notNull(),
    contentType: text("content_type"),
    sizeBytes: integer("size_bytes"),
    createdAt: integer("created_at").notNull().default(now),
    completedAt: integer("completed_at"),
    /** Set when the retention sweeper deleted the object; the upload can no longer be used. */
    expiredAt: integer("expired_at"),
  },
  (t) => [
    index("uploads_tenant_idx").on(t.tenantId),
    index("uploads_retention_idx").on(t.expiredAt, t.createdAt),
  ],
);

export const jobs = sqliteTable(
  "jobs",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    status: text("status").$type<JobStatus>().notNull(),
    priority: text("priority").$type<Priority>().notNull(),
    pool: text("pool").$type<"cpu" | "gpu">().notNull(),
    spec: text("spec", { mode: "json" }).$type<JobSpec>().notNull(),
    /** Delivery attempts seen so far; reports from older attempts are ignored. */
    attempts: integer("attempts").notNull().default(0),
    error: text("error", { mode: "json" }).$type<JobError>(),
    outputs: text("outputs", { mode: "json" }).$type<OutputResult[]>(),
    nodeId: text("node_id"),
    engine: text("engine"),
    requestId: text("request_id"),
    /**
     * The API key that submitted the job (admin-only: `GET /v1/admin/keys/:id/jobs`, for a key that
     * leaked); null for jobs from before this column.
     */
    apiKeyId: text("api_key_id"),
    idempotencyKey: text("idempotency_key"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    startedAt: integer("started_at"),
    finishedAt: integer("finished_at"),
    /** Outbox marker: null until the job message was accepted by JetStream. */
    dispatchedAt: integer("dispatched_at"),
    /**
     * Dispatch generation: 0 for the first dispatch, +1 for each retry or dead-letter requeue. Each
     * generation is published with its own Nats-Msg-Id (`<id>` then `<id>.r<n>`) so JetStream's
     * duplicate window doesn't swallow a retry.
     */
    generation: integer("generation").notNull().default(0),
    /**
     * `attempts` when the current generation was dispatched. JetStream's delivery count restarts at 1
     * for a new message, so a node's `attempt` is translated: job attempt = attempt_base + delivery.
     */
    attemptBase: integer("attempt_base").notNull().default(0),
    /**
     * Where this job's webhooks go: the spec's `webhook`, else the tenant's default, resolved (and
     * checked) when the job was accepted, so a later change of the default doesn't redirect it.
     */
    webhook: text("webhook", { mode: "json" }).$type<{ url: string; events: WebhookEvent[] }>(),
    /** When the last job.progress webhook was queued: bounds them to one per interval per job. */
    progressWebhookAt: integer("progress_webhook_at"),
    /** Set when the retention sweeper deleted the job's outputs; they show as expired, without URLs. */
    outputsExpiredAt: integer("outputs_expired_at"),
    /**
     * Fair dispatch (jobs/admission.ts): when the edge let this dispatch go to JetStream. Null while
     * the job waits in the database behind its tenant's jobs already queued in JetStream; the
     * outbox publishes only released jobs. Cleared by a retry or requeue (a new dispatch).
     */
    releasedAt: integer("released_at"),
    /** The priority as a sortable number (0 high, 1 default, 2 low): the release order within a tenant. */
    queueRank: integer("queue_rank").notNull().default(1),
    /** The template and version the job was made from. */
    templateId: text("template_id"),
    /** Its name when the job was made (the template may be renamed or deleted later). */
    templateName: text("template_name"),
    templateVersion: integer("template_version"),
    /** The batch the job belongs to, and its input's place in the batch (unique: made once). */
    batchId: text("batch_id"),
    batchIndex: integer("batch_index"),
    /** Usage: the input's probed duration and size (from the node's succeeded report). */
    inputDurationSec: real("input_duration_sec"),
    inputSizeBytes: integer("input_size_bytes"),
    /** Usage: slot time of every attempt, summed from the reports that end an attempt. */
    computeMs: integer("compute_ms").notNull().default(0),
    /**
     * Bumped by a trigger (migrations 0007, 0010) on every update of a column the job's view shows
     * (`jobViewColumns`), whoever writes it: the edge caches a job's rendered view and checks this
     * one column to know it is still the job's. A row
     * from `UPDATE … RETURNING` shows the version from before the bump (SQLite returns what the
     * statement wrote, not what its triggers did): only a SELECT's version may key a view or ETag.
     */
    version: integer("version").notNull().default(0),
    /**
     * Where the row's last update of a view column sits in the order of all such job updates (null:
     * never updated). Set by
     * the same trigger, to one more than the highest so far; the edge reads the jobs updated since
     * the last number it saw, and only their cached views stop being trusted (jobs/view-cache.ts).
     * The highest number never goes down because jobs are never deleted, and a restore replaces the
     * database only while the edge is stopped. Migration 0009.
     */
    changeSeq: integer("change_seq"),
  },
  (t) => [
    index("jobs_tenant_created_idx").on(t.tenantId, t.id),
    index("jobs_tenant_status_idx").on(t.tenantId, t.status, t.id),
    // Partial indexes (migration 0008) hold only the rows their queries can match: a submission
    // writes fewer index entries, and a dispatched job leaves the outbox's index instead of moving
    // within it. Every query of theirs implies the condition (`x = ?`, `x <= ?`, `x is null`), which
    // is what lets SQLite use them; EXPLAIN QUERY PLAN checked for each.
    // The outbox: released jobs JetStream has not confirmed yet.
    index("jobs_undispatched_idx").on(t.status, t.releasedAt).where(sql`${t.dispatchedAt} is null`),
    uniqueIndex("jobs_idempotency_idx")
      .on(t.tenantId, t.idempotencyKey)
      .where(sql`${t.idempotencyKey} is not null`),
    index("jobs_retention_idx").on(t.outputsExpiredAt, t.finishedAt).where(sql`${t.finishedAt} is not null`),
    index("jobs_api_key_idx").on(t.apiKeyId, t.id),
    // The oldest queued job per pool and priority (metrics, health): the jobs that wait.
    index("jobs_waiting_idx").on(t.status, t.pool, t.priority, t.updatedAt),
    // Fair dispatch: a tenant's next held job per pool and priority, and its released ones.
    index("jobs_fair_idx").on(t.tenantId, t.pool, t.status, t.releasedAt, t.queueRank, t.id),
    // The sweeper's look for tenants with held jobs.
    index("jobs_held_idx").on(t.status, t.releasedAt, t.tenantId, t.pool),
    uniqueIndex("jobs_batch_idx").on(t.batchId, t.batchIndex).where(sql`${t.batchId} is not null`),
    index("jobs_batch_status_idx").on(t.batchId, t.status, t.id).where(sql`${t.batchId} is not null`),
    // Usage: a tenant's jobs by when they ended.
    index("jobs_tenant_finished_idx").on(t.tenantId, t.finishedAt).where(sql`${t.finishedAt} is not null`),
    // Jobs updated since a number (view-cache invalidation); also the trigger's highest number so far.
    index("jobs_change_seq_idx").on(t.changeSeq).where(sql`${t.changeSeq} is not null`),
  ],
);

/** Append-only history of every job transition. */
export const jobEvents = sqliteTable(
  "job_events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    jobId: text("job_id")
      .notNull()
      .references(() => jobs.id),
    type: text("type").notNull(),
    status: text("status").$type<JobStatus>(),
    attempt: integer("attempt").notNull().default(0),
    data: text("data", { mode: "json" }).$type<Record<string, unknown>>(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("job_events_job_idx").on(t.jobId, t.id)],
);

export type LogLine = {
  atMs: number;
  level: "error" | "warning" | "info";
  source: "engine" | "node";
  message: string;
};

/**
 * One attempt's log per row (FFmpeg's warnings and errors, the node's own words), as the node
 * reported it, bounded there. Shown to the job's tenant only; deleted with the job's outputs by
 * retention.
 */
export const jobLogs = sqliteTable(
  "job_logs",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    jobId: text("job_id")
      .notNull()
      .references(() => jobs.id),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    attempt: integer("attempt").notNull(),
    nodeId: text("node_id").notNull(),
    engine: text("engine").notNull(),
    outcome: text("outcome").notNull(),
    startedAt: integer("started_at").notNull(),
    endedAt: integer("ended_at").notNull(),
    lines: text("lines", { mode: "json" }).$type<LogLine[]>().notNull(),
    dropped: integer("dropped").notNull().default(0),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [uniqueIndex("job_logs_attempt_idx").on(t.jobId, t.attempt)],
);

/**
 * Edge-wide switches every edge instance reads (maintenance mode). Values are JSON; instances cache
 * them for a few seconds.
 */
export const edgeSettings = sqliteTable("edge_settings", {
  key: text("key").primaryKey(),
  value: text("value", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/**
 * A tenant's webhook settings: the default target for jobs that name none, and the signing secret.
 * The secret is stored as it is, not hashed (unlike API keys): the edge needs the secret itself to
 * compute an HMAC over every delivery, and a one-way hash can't sign. Protect the database (and
 * its backups) like FW_TOKEN_SECRET. After a rotation the previous secret keeps signing alongside
 * the new one until `previousSecretUntil`, so receivers can switch over without dropping deliveries.
 */
export const tenantWebhooks = sqliteTable("tenant_webhooks", {
  tenantId: text("tenant_id")
    .primaryKey()
    .references(() => tenants.id),
  url: text("url"),
  events: text("events", { mode: "json" }).$type<WebhookEvent[]>().notNull(),
  secret: text("secret").notNull(),
  previousSecret: text("previous_secret"),
  previousSecretUntil: integer("previous_secret_until"),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

export type WebhookDeliveryStatus = "pending" | "succeeded" | "failed";

/**
 * One webhook event for one job, delivered until it succeeds or its deadline passes. A sender
 * claims a row by setting `leaseUntil` with a conditional update, so concurrent sweepers (several
 * Node processes, overlapping Cron runs) never send the same attempt twice; a sender that dies
 * mid-attempt loses its lease and the row is retried (at-least-once: receivers deduplicate on the
 * id, sent as Framewire-Webhook-Id).
 */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    jobId: text("job_id")
      .notNull()
      .references(() => jobs.id),
    event: text("event").$type<WebhookEvent>().notNull(),
    url: text("url").notNull(),
    /** The exact body sent on every attempt (the job's facts when the event happened). */
    payload: text("payload").notNull(),
    status: text("status").$type<WebhookDeliveryStatus>().notNull(),
    attempts: integer("attempts").notNull().default(0),
    /** When the next attempt is due; null once the delivery succeeded or failed. */
    nextAttemptAt: integer("next_attempt_at"),
    /** No attempt starts after this; the delivery is failed then. */
    deadlineAt: integer("deadline_at").notNull(),
    leaseUntil: integer("lease_until"),
    lastStatusCode: integer("last_status_code"),
    lastError: text("last_error"),
    deliveredAt: integer("delivered_at"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    /**
     * Set for a batch's own event (batch.completed). Its `jobId` is then the batch's job whose end
     * completed it (job_id stays NOT NULL: making it nullable means rebuilding a table other rows
     * reference), and the job's own webhook log leaves it out.
     */
    batchId: text("batch_id"),
  },
  (t) => [
    index("webhook_deliveries_due_idx").on(t.status, t.nextAttemptAt),
    index("webhook_deliveries_job_idx").on(t.jobId, t.id),
    index("webhook_deliveries_batch_idx").on(t.batchId, t.id),
  ],
);

/** Append-only log of every delivery attempt: when, the receiver's status code, latency, error. */
export const webhookAttempts = sqliteTable(
  "webhook_attempts",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    deliveryId: text("delivery_id")
      .notNull()
      .references(() => webhookDeliveries.id),
    attempt: integer("attempt").notNull(),
    startedAt: integer("started_at").notNull(),
    statusCode: integer("status_code"),
    latencyMs: integer("latency_ms").notNull(),
    error: text("error"),
  },
  (t) => [index("webhook_attempts_delivery_idx").on(t.deliveryId, t.id)],
);

/**
 * What each fingerprinted input sounded and looked like, per tenant: written by the edge when it
 * records a job `succeeded` (in the same batch), from the job's `fingerprint` analysis outputs; read
 * by GET /v1/fingerprints/matches, always within one tenant.
 */
export const fingerprints = sqliteTable(
  "fingerprints",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    jobId: text("job_id")
      .notNull()
      .references(() => jobs.id),
    output: text("output").notNull(),
    /** The job's input as its spec named it. */
    input: text("input", { mode: "json" }).$type<JobInput>().notNull(),
    /** Compressed, base64url (as fpcalc prints it); null without usable audio. */
    chromaprint: text("chromaprint"),
    chromaprintDurationSec: real("chromaprint_duration_sec"),
    frameHashes: text("frame_hashes", { mode: "json" }).$type<FrameHash[]>().notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [
    index("fingerprints_tenant_idx").on(t.tenantId, t.id),
    uniqueIndex("fingerprints_output_idx").on(t.jobId, t.output),
  ],
);

/**
 * Templates: one row per version (a template's id stays, an update adds a version). Every template
 * has a version 1, so the unique (tenant, name, version) index also keeps names unique per tenant.
 * Deleting a template deletes all its versions; jobs keep their merged spec and the version used.
 */
export const templates = sqliteTable(
  "templates",
  {
    id: text("id").notNull(),
    version: integer("version").notNull(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    name: text("name").notNull(),
    body: text("body", { mode: "json" }).$type<TemplateBody>().notNull(),
    /** When version 1 was made (copied into every version). */
    firstCreatedAt: integer("first_created_at").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.id, t.version] }),
    uniqueIndex("templates_name_idx").on(t.tenantId, t.name, t.version),
    index("templates_tenant_idx").on(t.tenantId, t.id, t.version),
  ],
);

/**
 * A batch: its inputs and the spec every job shares, written in one row when it is accepted; its
 * jobs are made in the background in chunks (batches/creator.ts), `created` counting how many.
 * A chunk's jobs, their events and the new count are one transaction, and (batch_id, batch_index)
 * is unique on jobs, so each input becomes a job exactly once whatever crashes or races.
 */
export const batches = sqliteTable(
  "batches",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    apiKeyId: text("api_key_id"),
    idempotencyKey: text("idempotency_key"),
    /** SHA-256 of the request body: a replay with the same key must send the same body. */
    requestHash: text("request_hash").notNull(),
    /** The spec every job gets, but for its input (template merged, defaults filled in). */
    spec: text("spec", { mode: "json" }).$type<Omit<JobSpec, "input">>().notNull(),
    inputs: text("inputs", { mode: "json" }).$type<JobInput[]>().notNull(),
    total: integer("total").notNull(),
    created: integer("created").notNull().default(0),
    templateId: text("template_id"),
    templateName: text("template_name"),
    templateVersion: integer("template_version"),
    /** Where batch.completed goes (and job events, if it lists any); null: the tenant's default URL. */
    webhook: text("webhook", { mode: "json" }).$type<{ url: string; events: WebhookEvent[] }>(),
    requestId: text("request_id"),
    /** A creator's claim (conditional update), so one edge instance makes the jobs at a time. */
    leaseUntil: integer("lease_until"),
    canceledAt: integer("canceled_at"),
    completedAt: integer("completed_at"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    index("batches_tenant_idx").on(t.tenantId, t.id),
    uniqueIndex("batches_idempotency_idx").on(t.tenantId, t.idempotencyKey),
    index("batches_open_idx").on(t.completedAt, t.canceledAt),
  ],
);

/**
 * A watched bucket prefix. Pollers claim a due watch with a conditional update (`leaseUntil`), so
 * several edge instances (or overlapping Cron runs) never look at one watch twice at once.
 */
export const watches = sqliteTable(
  "watches",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    apiKeyId: text("api_key_id"),
    bucket: text("bucket").notNull(),
    prefix: text("prefix").notNull(),
    template: text("template").notNull(),
    everySec: integer("every_sec").notNull(),
    enabled: integer("enabled", { mode: "boolean" }).notNull(),
    lastErrorCode: text("last_error_code").$type<ErrorCode>(),
    lastError: text("last_error"),
    lastErrorAt: integer("last_error_at"),
    consecutiveErrors: integer("consecutive_errors").notNull().default(0),
    lastPolledAt: integer("last_polled_at"),
    nextPollAt: integer("next_poll_at").notNull(),
    leaseUntil: integer("lease_until"),
    objectsSeen: integer("objects_seen").notNull().default(0),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    index("watches_tenant_idx").on(t.tenantId, t.id),
    index("watches_due_idx").on(t.enabled, t.nextPollAt),
  ],
);

/**
 * What a watch has seen: one row per (watch, key, ETag), written in the same transaction as the
 * job it makes, so an object becomes a job exactly once (a re-upload with new content has a new
 * ETag and makes a new job; restarts and concurrent pollers make none twice).
 */
export const watchObjects = sqliteTable(
  "watch_objects",
  {
    seq: integer("seq").primaryKey({ autoIncrement: true }),
    watchId: text("watch_id")
      .notNull()
      .references(() => watches.id, { onDelete: "cascade" }),
    key: text("key").notNull(),
    etag: text("etag").notNull(),
    sizeBytes: integer("size_bytes"),
    jobId: text("job_id"),
    skipped: text("skipped"),
    seenAt: integer("seen_at").notNull(),
  },
  (t) => [
    uniqueIndex("watch_objects_key_idx").on(t.watchId, t.key, t.etag),
    index("watch_objects_watch_idx").on(t.watchId, t.seq),
  ],
);

/** Per-tenant limits an admin sets; no row: no limits. */
export const tenantQuotas = sqliteTable("tenant_quotas", {
  tenantId: text("tenant_id")
    .primaryKey()
    .references(() => tenants.id),
  maxRunningJobs: integer("max_running_jobs"),
  maxQueuedJobs: integer("max_queued_jobs"),
  mediaMinutesPerMonth: real("media_minutes_per_month"),
  updatedAt: integer("updated_at").notNull(),
});

/**
 * Running totals per tenant and month (`YYYY-MM`, UTC), added to in the transition that ends a job,
 * so the media-minutes quota is one key lookup at submit.
 */
export const tenantUsageMonths = sqliteTable(
  "tenant_usage_months",
  {
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    month: text("month").notNull(),
    inputMediaSec: real("input_media_sec").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.month] })],
);

/** Bytes the edge served from the store, per tenant and day (`YYYY-MM-DD`, UTC), counted in memory and flushed. */
export const usageServed = sqliteTable(
  "usage_served",
  {
    tenantId: text("tenant_id").notNull(),
    day: text("day").notNull(),
    bytes: integer("bytes").notNull().default(0),
    requests: integer("requests").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.day] })],
);

export type TenantRow = typeof tenants.$inferSelect;
export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type UploadRow = typeof uploads.$inferSelect;
export type JobRow = typeof jobs.$inferSelect;
export type JobEventRow = typeof jobEvents.$inferSelect;

/**
 * The columns a job's public view (`GET /v1/jobs/:id`, edge/src/jobs/present.ts) is made from: an
 * update of any of them moves the job's `version` (the trigger of migration 0010 lists the same
 * columns), an update of any other does not. Adding a column to the view means adding it here and
 * to the trigger in a new migration; edge tests fail until both agree and cover what the view reads.
 */
export const jobViewColumns = [
  "id",
  "tenantId",
  "status",
  "priority",
  "attempts",
  "spec",
  "error",
  "outputs",
  "engine",
  "createdAt",
  "updatedAt",
  "startedAt",
  "finishedAt",
  "outputsExpiredAt",
  "templateId",
  "templateName",
  "templateVersion",
  "batchId",
] as const satisfies readonly (keyof JobRow)[];
export type JobLogRow = typeof jobLogs.$inferSelect;
export type TenantWebhookRow = typeof tenantWebhooks.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
export type WebhookAttemptRow = typeof webhookAttempts.$inferSelect;
export type FingerprintRow = typeof fingerprints.$inferSelect;
export type TemplateRow = typeof templates.$inferSelect;
export type BatchRow = typeof batches.$inferSelect;
export type WatchRow = typeof watches.$inferSelect;
export type WatchObjectRow = typeof watchObjects.$inferSelect;
export type TenantQuotaRow = typeof tenantQuotas.$inferSelect;
