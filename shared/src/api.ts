import { z } from "zod";
import { errorCodeSchema, jobErrorSchema, problemExtensionsSchema } from "./errors";
import { inputSchema, jobSpecSchema, outputNameSchema, priorities } from "./job-spec";
import { jobStatuses } from "./job-state";
import {
  attemptOutcomes,
  deadLetterMessageSchema,
  jobStatusSchema,
  logLevels,
  nodeHeartbeatSchema,
  outputFileSchema,
  outputResultSchema,
} from "./messages";
import { defaultWebhookEvents, webhookEventSchema, webhookEventsSchema, webhookUrlSchema } from "./webhooks";

/**
 * The public HTTP API's bodies: every request the edge validates and every response it sends, one
 * zod schema each. The edge's presenters are typed by these, the OpenAPI document is generated from
 * them (edge/src/openapi.ts) and the typed client (./client) takes its types from them.
 */

const time = z.iso.datetime();
const maybeTime = time.nullable();
const jobIdPattern = /^job_[0-9a-z]{26}$/;

// ---- requests ----

export const jobListQuerySchema = z.object({
  status: z.enum(jobStatuses).optional(),
  cursor: z.string().regex(jobIdPattern).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});
/** Query strings arrive as text (hence the coercion); callers pass numbers. */
export type JobListQuery = Omit<z.input<typeof jobListQuerySchema>, "limit"> & { limit?: number };

export const idempotencyKeySchema = z.string().min(1).max(255);

export const uploadRequestSchema = z.strictObject({
  content_type: z.string().max(255).optional(),
  /** The file's exact size. Required with S3 storage: the presigned PUT is signed for it. */
  size_bytes: z.int().min(1).optional(),
});
export type UploadRequest = z.input<typeof uploadRequestSchema>;

export const scopes = ["jobs:read", "jobs:write", "admin"] as const;
export type Scope = (typeof scopes)[number];

export const tenantCreateSchema = z.strictObject({ name: z.string().min(1).max(200) });

export const keyCreateSchema = z.strictObject({
  name: z.string().min(1).max(200),
  scopes: z.array(z.enum(scopes)).min(1),
  expires_at: z.iso.datetime({ offset: true }).nullable().optional(),
});
export type KeyCreate = z.input<typeof keyCreateSchema>;

export const keyRotateSchema = z.strictObject({
  /** How long the old key keeps working; defaults to FW_KEY_ROTATION_GRACE_SEC (24 h). */
  grace_period_sec: z
    .int()
    .min(0)
    .max(30 * 86400)
    .optional(),
});
export type KeyRotate = z.input<typeof keyRotateSchema>;

export const maintenanceRequestSchema = z.strictObject({
  enabled: z.boolean(),
  retry_after_sec: z.int().min(1).max(86400).default(300),
  message: z.string().max(500).nullable().default(null),
});
export type MaintenanceRequest = z.input<typeof maintenanceRequestSchema>;

export const deadLetterListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export const tenantWebhookRequestSchema = z.strictObject({
  /** The default target for jobs that name none; null: no default (the secret still signs job webhooks). */
  url: webhookUrlSchema.nullable(),
  events: webhookEventsSchema.default(defaultWebhookEvents),
});
export type TenantWebhookRequest = z.input<typeof tenantWebhookRequestSchema>;

export const secretRotateSchema = z.strictObject({
  /** How long deliveries stay signed with the old secret too (receivers switch over meanwhile). */
  grace_period_sec: z
    .int()
    .min(0)
    .max(7 * 86400)
    .default(86400),
});
export type SecretRotate = z.input<typeof secretRotateSchema>;

/** A long job with job.progress can collect many deliveries: the log is paged, oldest first. */
export const deliveryPageQuerySchema = z.object({
  cursor: z
    .string()
    .regex(/^whd_[0-9a-z]{26}$/)
    .optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

/** GET /v1/fingerprints/matches: which of the tenant's earlier inputs have the same content as this job's. */
export const fingerprintMatchQuerySchema = z.object({
  /** A finished job with a `fingerprint` analysis output. */
  job: z.string().regex(jobIdPattern),
  /** Which fingerprint output of the job (its name); omitted: the first. */
  output: outputNameSchema.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});
export type FingerprintMatchQuery = Omit<z.input<typeof fingerprintMatchQuerySchema>, "limit"> & {
  limit?: number;
};

// ---- responses ----

/** RFC 9457 problem details with Framewire's stable `code`. */
export const problemSchema = problemExtensionsSchema.extend({
  type: z.string(),
  title: z.string(),
  status: z.int(),
  code: errorCodeSchema,
  detail: z.string(),
  instance: z.string().optional(),
  request_id: z.string().optional(),
});
export type Problem = z.infer<typeof problemSchema>;

export const outputViewSchema = outputResultSchema.extend({
  url: z
    .string()
    .nullable()
    .describe(
      "signed (local store) or presigned (S3) download URL; for HLS the master playlist, served by the edge with every URI rewritten to its own link so any player can open it; null once expired",
    ),
  expired: z.boolean().describe("deleted by retention (FW_OUTPUT_RETENTION_HOURS)"),
  expires_at: maybeTime,
  files: z
    .array(outputFileSchema.extend({ url: z.string().nullable() }))
    .optional()
    .describe("multi-file outputs (hls, thumbnails): every file with its own download URL"),
});
export type OutputView = z.infer<typeof outputViewSchema>;

export const jobWarningCodes = ["no_node_for_pool", "no_hardware_encoder", "no_node_accepting"] as const;

/** Something the edge saw when it accepted a job that will make it wait (or fail) on the fleet. */
export const jobWarningSchema = z.object({
  code: z.enum(jobWarningCodes),
  message: z.string(),
});
export type JobWarning = z.infer<typeof jobWarningSchema>;

export const jobViewSchema = z.object({
  id: z.string().regex(jobIdPattern),
  status: jobStatusSchema,
  priority: z.enum(priorities),
  attempts: z.int().min(0),
  spec: jobSpecSchema,
  error: jobErrorSchema.nullable(),
  outputs: z.array(outputViewSchema),
  engine: z.string().nullable(),
  created_at: time,
  updated_at: time,
  started_at: maybeTime,
  finished_at: maybeTime,
  progress_url: z.string().describe("WebSocket URL with a signed, short-lived token"),
  warnings: z
    .array(jobWarningSchema)
    .optional()
    .describe("in the answer to POST /v1/jobs only: why the accepted job may wait or fail"),
  links: z.object({
    self: z.string(),
    events: z.string(),
    cancel: z.string(),
    retry: z.string(),
    webhooks: z.string(),
  }),
});
export type Job = z.infer<typeof jobViewSchema>;

export const jobPageSchema = z.object({ data: z.array(jobViewSchema), next_cursor: z.string().nullable() });
export type JobPage = z.infer<typeof jobPageSchema>;

export const jobEventSchema = z.object({
  id: z.int(),
  /** `noun:verb`: job:created, job:running, job:succeeded, job:retried, outputs:expired, … */
  type: z.string(),
  status: jobStatusSchema.nullable(),
  attempt: z.int(),
  data: z.record(z.string(), z.unknown()),
  at: time,
});
export type JobEvent = z.infer<typeof jobEventSchema>;
export const jobEventListSchema = z.object({ data: z.array(jobEventSchema) });

/** One attempt's log: FFmpeg's warnings and errors and the node's own words, with timings. */
export const jobAttemptLogSchema = z.object({
  attempt: z.int(),
  node_id: z.string(),
  engine: z.string(),
  outcome: z.enum(attemptOutcomes),
  started_at: time,
  ended_at: time,
  lines: z.array(
    z.object({
      at: time,
      /** Seconds since the attempt started. */
      elapsed_sec: z.number(),
      level: z.enum(logLevels),
      source: z.enum(["engine", "node"]),
      message: z.string(),
    }),
  ),
  dropped: z.int().describe("lines left out to keep the log bounded (the first and the last are kept)"),
});
export type JobAttemptLog = z.infer<typeof jobAttemptLogSchema>;
export const jobLogsSchema = z.object({ data: z.array(jobAttemptLogSchema) });
export type JobLogs = z.infer<typeof jobLogsSchema>;

export const uploadSchema = z.object({
  id: z.string(),
  status: z.enum(["pending", "complete", "expired"]),
  size_bytes: z.int().nullable(),
  content_type: z.string().nullable(),
  created_at: time,
  expires_at: maybeTime,
});
export type Upload = z.infer<typeof uploadSchema>;

/** Where to PUT an upload's bytes (this edge for the local store; presigned S3 otherwise). */
export const uploadTargetSchema = z.object({
  id: z.string(),
  status: z.literal("pending"),
  upload_url: z.string(),
  method: z.literal("PUT"),
  headers: z.record(z.string(), z.string()),
  expires_at: maybeTime,
  max_bytes: z.int(),
});
export type UploadTarget = z.infer<typeof uploadTargetSchema>;

/** One earlier input of the same tenant whose fingerprint matches. */
export const fingerprintMatchSchema = z.object({
  job_id: z.string().regex(jobIdPattern),
  /** The fingerprint output of that job. */
  output: z.string(),
  /** That job's input, as its spec named it. */
  input: inputSchema,
  created_at: time,
  audio: z
    .object({
      /** 1 − 2 × bit error rate, floored at 0: 1 for the same recording, ~0 for unrelated audio. */
      similarity: z.number().min(0).max(1),
      /** Share of differing bits between the Chromaprints where they overlap, best alignment. */
      bit_error_rate: z.number().min(0).max(1),
      /** Where this job's audio starts inside the earlier one's (negative: before it), seconds. */
      offset_sec: z.number(),
      overlap_sec: z.number().nonnegative(),
    })
    .nullable()
    .describe("Chromaprint match: bit error rate ≤ 0.3 over at least 10 s (or all of the shorter one)"),
  picture: z
    .object({
      /** Share of this job's hashed frames with a near-identical frame there (Hamming distance ≤ 10 of 64). */
      similarity: z.number().min(0).max(1),
      matched_frames: z.int().nonnegative(),
      frames: z.int().nonnegative(),
      /** Mean Hamming distance of the matched frames (0–64). */
      mean_distance: z.number().min(0).max(64),
    })
    .nullable()
    .describe("pHash match: at least half of the frames (an image: its picture) within 10 bits"),
});
export type FingerprintMatch = z.infer<typeof fingerprintMatchSchema>;

export const fingerprintMatchesSchema = z.object({
  job_id: z.string().regex(jobIdPattern),
  output: z.string(),
  /** Best first; only the tenant's own inputs, never another tenant's. */
  data: z.array(fingerprintMatchSchema),
});
export type FingerprintMatches = z.infer<typeof fingerprintMatchesSchema>;

export const healthSchema = z.object({
  status: z.literal("ok"),
  version: z.string(),
  /** The edge's clock (nodes and `framewire doctor` measure their skew against it). */
  time: time,
});
export type Health = z.infer<typeof healthSchema>;

export const meSchema = z.object({
  tenant: z.object({ id: z.string(), name: z.string() }),
  key: z.object({
    id: z.string(),
    prefix: z.string(),
    name: z.string(),
    scopes: z.array(z.enum(scopes)),
    expires_at: maybeTime,
    /** Set in the future while a rotated key's grace period runs. */
    revoked_at: maybeTime,
  }),
});
export type Me = z.infer<typeof meSchema>;

export const tenantSchema = z.object({ id: z.string(), name: z.string(), created_at: maybeTime });
export type Tenant = z.infer<typeof tenantSchema>;
export const tenantListSchema = z.object({ data: z.array(tenantSchema) });

/** A key as listings show it: never the hash, never the secret. */
export const apiKeySchema = z.object({
  id: z.string(),
  tenant_id: z.string(),
  prefix: z.string().describe("visible part of the key: fw_<prefix>_…"),
  name: z.string(),
  scopes: z.array(z.enum(scopes)),
  created_at: maybeTime,
  expires_at: maybeTime,
  revoked_at: maybeTime,
  last_used_at: maybeTime,
  request_count: z.int(),
});
export type ApiKey = z.infer<typeof apiKeySchema>;
export const apiKeyListSchema = z.object({ data: z.array(apiKeySchema) });

/** The only responses that ever contain a key's secret. */
export const issuedApiKeySchema = apiKeySchema.extend({ key: z.string() });
export type IssuedApiKey = z.infer<typeof issuedApiKeySchema>;
export const rotatedApiKeySchema = issuedApiKeySchema.extend({ replaces: apiKeySchema.nullable() });
export type RotatedApiKey = z.infer<typeof rotatedApiKeySchema>;

export const maintenanceStateSchema = z.object({
  enabled: z.boolean(),
  /** Sent as Retry-After on refused writes. */
  retry_after_sec: z.int(),
  message: z.string().nullable(),
  updated_at: maybeTime,
});
export type MaintenanceState = z.infer<typeof maintenanceStateSchema>;

const slotCountSchema = z.object({ total: z.int(), busy: z.int() });

/** Active = heartbeat younger than the KV TTL; busy = at least one slot in use. */
export const nodeSummarySchema = z.object({
  active: z.int(),
  busy: z.int(),
  idle: z.int(),
  slots: slotCountSchema,
});
export type NodeSummary = z.infer<typeof nodeSummarySchema>;

export const nodeListSchema = nodeSummarySchema.extend({ data: z.array(nodeHeartbeatSchema) });
export type NodeList = z.infer<typeof nodeListSchema>;

export const deadLetterListSchema = z.object({ data: z.array(deadLetterMessageSchema) });
export type DeadLetterList = z.infer<typeof deadLetterListSchema>;

export const requeuedSchema = z.object({
  job_id: z.string(),
  status: jobStatusSchema,
  generation: z.int(),
});

const checkFailedSchema = z.object({ ok: z.literal(false), detail: z.string() });

/** What an operator looks at first; 503 when the database, NATS or the object store is unreachable. */
export const healthDetailedSchema = z.object({
  status: z.enum(["ok", "degraded"]),
  version: z.string(),
  time,
  database: z.union([z.object({ ok: z.literal(true), latency_ms: z.number() }), checkFailedSchema]),
  storage: z
    .union([
      z.object({ ok: z.literal(true), kind: z.enum(["local", "s3"]), latency_ms: z.number() }),
      checkFailedSchema.extend({ kind: z.enum(["local", "s3"]) }),
    ])
    .nullable()
    .describe("a probe object written, read back and deleted; null when the edge has no store"),
  nats: z.object({
    ok: z.boolean(),
    detail: z.string().optional(),
    latency_ms: z.number().optional(),
  }),
  /** Messages waiting per `<pool>.<priority>`; null when NATS is unreachable. */
  queue_depth: z.record(z.string(), z.int()).nullable(),
  /** Seconds the oldest queued job per `<pool>.<priority>` has waited; null when the database is unreachable. */
  queue_oldest_age_sec: z.record(z.string(), z.number()).nullable(),
  /** Jobs accepted but not yet confirmed by JetStream (the outbox); null when the database is unreachable. */
  outbox_backlog: z.int().nullable(),
  /** FW_JOBS's size against its limit (past it, new jobs wait in the outbox); null when NATS is unreachable. */
  queue_store: z.object({ bytes: z.number(), max_bytes: z.number() }).nullable(),
  nodes: z.union([
    nodeSummarySchema.extend({
      list: z.array(
        nodeHeartbeatSchema.pick({
          id: true,
          pools: true,
          engine: true,
          encoders: true,
          hardware: true,
          hardware_encoders: true,
          hardware_errors: true,
          slots: true,
          version: true,
          versions: true,
          disk: true,
          memory: true,
          clock_skew_ms: true,
          storage: true,
          accepting: true,
          refusing_reason: true,
          at: true,
        }),
      ),
    }),
    checkFailedSchema,
  ]),
  dead_letters: z.union([z.object({ ok: z.literal(true), count: z.int() }), checkFailedSchema]),
  versions: z.object({ edge: z.string(), nodes: z.array(z.string()) }),
});
export type HealthDetailed = z.infer<typeof healthDetailedSchema>;

export const webhookAttemptSchema = z.object({
  attempt: z.int(),
  at: time,
  status_code: z.int().nullable().describe("null when no HTTP answer came"),
  latency_ms: z.int().nonnegative(),
  error: z.string().nullable(),
});

export const webhookDeliverySchema = z.object({
  id: z.string().describe("Also the Framewire-Webhook-Id header: the same on every retry"),
  event: webhookEventSchema,
  url: z.string(),
  status: z.enum(["pending", "succeeded", "failed"]),
  attempt_count: z.int(),
  next_attempt_at: maybeTime,
  deadline_at: maybeTime,
  delivered_at: maybeTime,
  last_status_code: z.int().nullable(),
  last_error: z.string().nullable(),
  created_at: maybeTime,
  attempts: z.array(webhookAttemptSchema),
});
export type WebhookDelivery = z.infer<typeof webhookDeliverySchema>;
export const webhookDeliveryPageSchema = z.object({
  data: z.array(webhookDeliverySchema),
  next_cursor: z.string().nullable(),
});

/** The tenant's webhook settings; `secret` only in the answer that creates or rotates it. */
export const tenantWebhookSchema = z.object({
  url: z.string().nullable(),
  events: z.array(webhookEventSchema),
  /** Enough of the secret to tell which one a receiver holds. */
  secret_hint: z.string(),
  secret: z.string().optional().describe("Only in the answer that creates or rotates it"),
  previous_secret_expires_at: maybeTime,
  created_at: maybeTime,
  updated_at: maybeTime,
});
export type TenantWebhook = z.infer<typeof tenantWebhookSchema>;

// ---- webhook bodies ----

/** `data` of job.running, job.succeeded, job.failed and job.canceled: the job as GET shows it then. */
export const jobWebhookDataSchema = z.object({ job: jobViewSchema });

/** `data` of job.progress: coarse, rate-bounded progress over the whole job. */
export const progressWebhookDataSchema = z.object({
  job: z.object({ id: z.string(), status: jobStatusSchema, attempts: z.int() }),
  /** Mean of the outputs' own percents; null while any output's duration is unknown. */
  percent: z.number().nullable(),
});

/** What a delivery's body is, per event. */
export function webhookPayloadSchema<T extends z.ZodType>(event: z.ZodType, data: T) {
  return z.object({
    /** The delivery id (also in the Framewire-Webhook-Id header). */
    id: z.string(),
    type: event,
    created_at: time,
    data,
  });
}

export const webhookBodySchema = z.discriminatedUnion("type", [
  webhookPayloadSchema(z.literal("job.progress"), progressWebhookDataSchema),
  webhookPayloadSchema(
    z.enum(["job.running", "job.succeeded", "job.failed", "job.canceled"]),
    jobWebhookDataSchema,
  ),
]);
export type WebhookBody = z.infer<typeof webhookBodySchema>;
