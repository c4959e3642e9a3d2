import { sql } from "drizzle-orm";
import { index, integer, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import type { JobError } from "../errors";
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
  },
  (t) => [
    index("jobs_tenant_created_idx").on(t.tenantId, t.id),
    index("jobs_tenant_status_idx").on(t.tenantId, t.status, t.id),
    index("jobs_undispatched_idx").on(t.dispatchedAt, t.status),
    uniqueIndex("jobs_idempotency_idx").on(t.tenantId, t.idempotencyKey),
    index("jobs_retention_idx").on(t.outputsExpiredAt, t.finishedAt),
    index("jobs_api_key_idx").on(t.apiKeyId, t.id),
    // The oldest queued job per pool and priority (metrics, health): the jobs that wait.
    index("jobs_waiting_idx").on(t.status, t.pool, t.priority, t.updatedAt),
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
  },
  (t) => [
    index("webhook_deliveries_due_idx").on(t.status, t.nextAttemptAt),
    index("webhook_deliveries_job_idx").on(t.jobId, t.id),
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

export type TenantRow = typeof tenants.$inferSelect;
export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type UploadRow = typeof uploads.$inferSelect;
export type JobRow = typeof jobs.$inferSelect;
export type JobEventRow = typeof jobEvents.$inferSelect;
export type JobLogRow = typeof jobLogs.$inferSelect;
export type TenantWebhookRow = typeof tenantWebhooks.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
export type WebhookAttemptRow = typeof webhookAttempts.$inferSelect;
export type FingerprintRow = typeof fingerprints.$inferSelect;
