import { z } from "zod";
import { errorCodeSchema, jobErrorSchema, problemExtensionsSchema } from "./errors";
import {
  bucketName,
  destinationSchema,
  inputSchema,
  jobSpecSchema,
  jobSubtitlesSchema,
  outputNameSchema,
  outputSchema,
  priorities,
  templateNameSchema,
  templateRefSchema,
} from "./job-spec";
import { jobStatuses } from "./job-state";
import { accelModes } from "./media";
import {
  attemptOutcomes,
  deadLetterMessageSchema,
  jobStatusSchema,
  logLevels,
  nodeHeartbeatSchema,
  outputFileSchema,
  outputResultSchema,
} from "./messages";
import {
  defaultWebhookEvents,
  webhookEventSchema,
  webhookEventsSchema,
  webhookSpecSchema,
  webhookUrlSchema,
} from "./webhooks";

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
  /** Only the jobs one of this tenant's keys submitted (its id, or its prefix `fw_<prefix>`). */
  api_key: z
    .string()
    .regex(/^(key_[0-9a-z]{26}|fw_[0-9a-z]{12})$/, "must be a key id or a key prefix (fw_<prefix>)")
    .optional(),
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

// ---- workflows: templates, batches, watches, usage, quotas (requests) ----

const metadataSchema = z
  .record(z.string().max(64), z.string().max(512))
  .refine((m) => Object.keys(m).length <= 32, "at most 32 metadata entries");

const outputListSchema = z
  .array(outputSchema)
  .min(1)
  .max(16, "at most 16 outputs per job")
  .refine(
    (outputs) => new Set(outputs.map((o) => o.name)).size === outputs.length,
    "output names must be unique",
  );

/**
 * What a template holds: a job's outputs and defaults, without an input. A job made from it gets
 * these, and whatever the job itself gives wins (see POST /v1/jobs).
 */
export const templateBodySchema = z.strictObject({
  description: z.string().max(500).optional(),
  outputs: outputListSchema,
  priority: z.enum(priorities).optional(),
  accel: z.enum(accelModes).optional(),
  webhook: webhookSpecSchema.optional(),
  metadata: metadataSchema.optional(),
  destination: destinationSchema.optional(),
});
export type TemplateBody = z.output<typeof templateBodySchema>;
export type TemplateBodyInput = z.input<typeof templateBodySchema>;

export const templateCreateSchema = templateBodySchema.extend({ name: templateNameSchema });
export type TemplateCreate = z.input<typeof templateCreateSchema>;

export const templateListQuerySchema = z.object({
  cursor: z
    .string()
    .regex(/^tpl_[0-9a-z]{26}$/)
    .optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});

/**
 * POST /v1/jobs: a job spec, or a template with overrides. With `template`, the template's outputs
 * and defaults come first and every field the request gives replaces the template's: an output
 * with a template output's name replaces it, other outputs are added, metadata entries are merged.
 * The stored spec is the merged one, with `template` recording `<id>@<version>`.
 */
export const jobRequestSchema = z
  .strictObject({
    template: templateRefSchema.optional(),
    input: inputSchema,
    /** The job's subtitle files, for the outputs (its own or the template's) that name them. */
    subtitles: jobSubtitlesSchema.optional(),
    outputs: z.array(outputSchema).max(16).optional(),
    priority: z.enum(priorities).optional(),
    accel: z.enum(accelModes).optional(),
    webhook: webhookSpecSchema.optional(),
    metadata: metadataSchema.optional(),
    destination: destinationSchema.optional(),
  })
  .refine((r) => r.template !== undefined || (r.outputs?.length ?? 0) > 0, {
    message: "give outputs, or a template",
    path: ["outputs"],
  });
export type JobRequest = z.input<typeof jobRequestSchema>;

/** The most inputs one batch may have (an operator may lower it: FW_BATCH_MAX_INPUTS). */
export const maxBatchInputs = 10_000;

/** A batch's webhook: `batch.completed` by default; job events too if listed (for each of its jobs). */
export const batchWebhookSchema = z.strictObject({
  url: webhookUrlSchema,
  events: webhookEventsSchema.default(["batch.completed"]),
});

/**
 * POST /v1/batches: one job per input, each made like a job from a template (or these outputs),
 * with the same overrides. Created in the background; the answer comes at once.
 */
export const batchCreateSchema = z
  .strictObject({
    template: templateRefSchema.optional(),
    outputs: z.array(outputSchema).max(16).optional(),
    priority: z.enum(priorities).optional(),
    accel: z.enum(accelModes).optional(),
    metadata: metadataSchema.optional(),
    destination: destinationSchema.optional(),
    webhook: batchWebhookSchema.optional(),
    inputs: z.array(inputSchema).min(1).max(maxBatchInputs),
  })
  .refine((r) => r.template !== undefined || (r.outputs?.length ?? 0) > 0, {
    message: "give outputs, or a template",
    path: ["outputs"],
  });
export type BatchCreate = z.input<typeof batchCreateSchema>;

export const batchListQuerySchema = z.object({
  cursor: z
    .string()
    .regex(/^bat_[0-9a-z]{26}$/)
    .optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

/** GET /v1/batches/:id: the job page it includes. */
export const batchJobsQuerySchema = z.object({
  status: z.enum(jobStatuses).optional(),
  cursor: z.string().regex(jobIdPattern).optional(),
  limit: z.coerce.number().int().min(0).max(100).default(20),
});
export type BatchJobsQuery = Omit<z.input<typeof batchJobsQuerySchema>, "limit"> & { limit?: number };

/** A key prefix to list below: any S3 key text but control characters. */
const watchPrefixSchema = z
  .string()
  .max(1024)
  .refine(
    (p) => [...p].every((ch) => ch.charCodeAt(0) >= 0x20 && ch.charCodeAt(0) !== 0x7f),
    "must not contain control characters",
  );

export const watchScheduleSchema = z.strictObject({
  /** Seconds between two looks at the bucket (at least the operator's FW_WATCH_MIN_INTERVAL_SEC). */
  every_sec: z
    .int()
    .min(1)
    .max(7 * 86400),
});

/**
 * POST /v1/watches: a bucket (one the operator lists in FW_S3_INPUT_BUCKETS) and key prefix looked
 * at on a schedule; each new or changed object (by key and ETag) becomes one job from the template.
 */
export const watchCreateSchema = z.strictObject({
  bucket: bucketName,
  prefix: watchPrefixSchema.default(""),
  template: templateRefSchema,
  schedule: watchScheduleSchema,
  enabled: z.boolean().default(true),
});
export type WatchCreate = z.input<typeof watchCreateSchema>;

export const watchUpdateSchema = z.strictObject({
  template: templateRefSchema.optional(),
  schedule: watchScheduleSchema.optional(),
  enabled: z.boolean().optional(),
});
export type WatchUpdate = z.input<typeof watchUpdateSchema>;

export const watchListQuerySchema = z.object({
  cursor: z
    .string()
    .regex(/^wat_[0-9a-z]{26}$/)
    .optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});

export const watchObjectsQuerySchema = z.object({
  /** The last `seq` of the previous page. */
  cursor: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

const isoDay = z.iso.date();

export const usageGroups = ["day", "key", "output_type"] as const;

/** GET /v1/usage: jobs that ended in [from, to) (days in UTC; `to` included). */
export const usageQuerySchema = z.object({
  from: isoDay,
  to: isoDay,
  group_by: z.enum(usageGroups).default("day"),
});
export type UsageQuery = z.input<typeof usageQuerySchema>;

export const quotaSettingsSchema = z.strictObject({
  /** Jobs running at once; more wait, queued, until one ends. null: no limit. */
  max_running_jobs: z.int().min(1).max(100_000).nullable().default(null),
  /** Jobs queued at once; more are refused with quota_exceeded. null: no limit. */
  max_queued_jobs: z.int().min(1).max(10_000_000).nullable().default(null),
  /** Input media minutes of succeeded jobs per calendar month (UTC); past it, refused. null: no limit. */
  media_minutes_per_month: z.number().min(0).max(1e9).nullable().default(null),
});
export type QuotaSettings = z.input<typeof quotaSettingsSchema>;

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
      "signed (local store) or presigned (S3) download URL; for HLS the master playlist and for DASH the manifest (manifest.mpd), served by the edge with every URI rewritten to its own link so any player can open it; null once expired",
    ),
  expired: z.boolean().describe("deleted by retention (FW_OUTPUT_RETENTION_HOURS)"),
  expires_at: maybeTime,
  files: z
    .array(outputFileSchema.extend({ url: z.string().nullable() }))
    .optional()
    .describe(
      "multi-file outputs (hls, dash, thumbnails): every file with its own download URL; a dash output that shares an hls output's ladder (segments_from) lists its manifest alone",
    ),
});
export type OutputView = z.infer<typeof outputViewSchema>;

export const jobWarningCodes = ["no_node_for_pool", "no_hardware_encoder", "no_node_accepting"] as const;

/** Something the edge saw when it accepted a job that will make it wait (or fail) on the fleet. */
export const jobWarningSchema = z.object({
  code: z.enum(jobWarningCodes),
  message: z.string(),
});
export type JobWarning = z.infer<typeof jobWarningSchema>;

/** The template a job was made from: the version it used. */
export const templateUseSchema = z.object({ id: z.string(), name: z.string(), version: z.int() });
export type TemplateUse = z.infer<typeof templateUseSchema>;

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
  template: templateUseSchema.nullable().describe("the template (and its version) the job was made from"),
  batch_id: z.string().nullable().describe("the batch the job belongs to"),
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
  /** How many of the tenant's earlier fingerprints were compared: newest first, 5,000 at most. */
  compared: z.int().nonnegative(),
  /**
   * False when the query's work budget ran out first (many long fingerprints): inputs older than
   * the ones compared were not looked at.
   */
  complete: z.boolean(),
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

// ---- workflows (responses) ----

export const templateSchema = z.object({
  id: z.string(),
  name: z.string(),
  version: z.int().min(1),
  description: z.string().nullable(),
  outputs: z.array(outputSchema),
  priority: z.enum(priorities).nullable(),
  accel: z.enum(accelModes).nullable(),
  webhook: webhookSpecSchema.nullable(),
  metadata: z.record(z.string(), z.string()).nullable(),
  destination: destinationSchema.nullable(),
  /** When the template (its first version) was made, and when this version was. */
  created_at: time,
  updated_at: time,
  links: z.object({ self: z.string(), versions: z.string() }),
});
export type Template = z.infer<typeof templateSchema>;
export const templatePageSchema = z.object({
  data: z.array(templateSchema),
  next_cursor: z.string().nullable(),
});
export type TemplatePage = z.infer<typeof templatePageSchema>;
export const templateVersionsSchema = z.object({ data: z.array(templateSchema) });

export const batchStatuses = ["creating", "running", "completed", "canceled"] as const;

export const batchSchema = z.object({
  id: z.string(),
  status: z
    .enum(batchStatuses)
    .describe(
      "creating: jobs are still being made; running: all made, some not final; completed: every job ended; " +
        "canceled: canceled (its jobs end canceled, inputs not yet made into jobs are dropped)",
    ),
  total: z.int().describe("inputs in the batch"),
  created: z.int().describe("jobs made so far"),
  counts: z
    .object({
      pending: z.int().describe("inputs not yet made into a job"),
      queued: z.int(),
      running: z.int(),
      succeeded: z.int(),
      failed: z.int(),
      canceled: z.int(),
    })
    .describe("jobs by state; they add up to total"),
  progress: z.object({
    finished: z.int().describe("jobs that ended (succeeded, failed or canceled)"),
    percent: z.number().min(0).max(100).describe("finished over total"),
  }),
  template: templateUseSchema.nullable(),
  created_at: time,
  completed_at: maybeTime,
  canceled_at: maybeTime,
  links: z.object({ self: z.string(), cancel: z.string(), retry_failed: z.string(), webhooks: z.string() }),
  jobs: jobPageSchema.optional().describe("GET /v1/batches/:id: a page of its jobs (status, cursor, limit)"),
});
export type Batch = z.infer<typeof batchSchema>;
export const batchPageSchema = z.object({ data: z.array(batchSchema), next_cursor: z.string().nullable() });
export type BatchPage = z.infer<typeof batchPageSchema>;

export const watchStates = ["pending", "ok", "error"] as const;

export const watchSchema = z.object({
  id: z.string(),
  bucket: z.string(),
  prefix: z.string(),
  template: z.string(),
  schedule: z.object({ every_sec: z.int() }),
  enabled: z.boolean(),
  state: z
    .enum(watchStates)
    .describe("pending: not looked at yet; ok: the last look worked; error: it failed (see last_error)"),
  last_error: z
    .object({ code: errorCodeSchema, message: z.string(), at: time })
    .nullable()
    .describe(
      "why the last look failed; after failures the watch waits longer (up to an hour) before the next",
    ),
  consecutive_errors: z.int(),
  last_polled_at: maybeTime,
  next_poll_at: maybeTime,
  objects_seen: z.int().describe("objects (key and ETag) that became a job"),
  created_at: time,
  updated_at: time,
  links: z.object({ self: z.string(), objects: z.string() }),
});
export type Watch = z.infer<typeof watchSchema>;
export const watchPageSchema = z.object({ data: z.array(watchSchema), next_cursor: z.string().nullable() });
export type WatchPage = z.infer<typeof watchPageSchema>;

/** One object a watch saw (by key and ETag), with the job it made. */
export const watchObjectSchema = z.object({
  seq: z.int(),
  key: z.string(),
  etag: z.string(),
  size_bytes: z.int().nullable(),
  job_id: z.string().nullable().describe("null when the object could not become a job (see skipped)"),
  skipped: z.string().nullable().describe("why no job was made (a key an `s3` input can't name)"),
  seen_at: time,
});
export type WatchObject = z.infer<typeof watchObjectSchema>;
export const watchObjectPageSchema = z.object({
  data: z.array(watchObjectSchema),
  next_cursor: z.int().nullable(),
});
export type WatchObjectPage = z.infer<typeof watchObjectPageSchema>;

export const usageFiguresSchema = z.object({
  jobs: z
    .object({ succeeded: z.int(), failed: z.int(), canceled: z.int() })
    .describe("jobs that ended in the period, by outcome"),
  input_media_minutes: z.number().describe("the probed input duration of the succeeded jobs"),
  output_media_minutes: z
    .array(
      z.object({
        output_type: z.string(),
        codec: z.string().describe("the video codec, else the audio codec, else the container"),
        accel: z.enum(["cpu", "hardware"]),
        minutes: z.number(),
        count: z.int(),
      }),
    )
    .describe("duration of the outputs of succeeded jobs, by output type, codec and accel"),
  compute_seconds: z.number().describe("slot time of every attempt of the jobs that ended"),
  stored_bytes: z.int().describe("bytes of outputs written to the service's store"),
  destination_bytes: z.int().describe("bytes of outputs written to the tenant's own buckets"),
  served_bytes: z
    .int()
    .describe(
      "bytes the edge served from the store (local downloads, HLS playlists); presigned S3 downloads go " +
        "straight to the store and are counted by it, not here",
    ),
});
export type UsageFigures = z.infer<typeof usageFiguresSchema>;

export const usageSchema = z.object({
  from: z.string(),
  to: z.string(),
  group_by: z.enum(usageGroups),
  data: z.array(
    usageFiguresSchema.extend({
      group: z.string().describe("the day (YYYY-MM-DD), the API key id (or `unknown`) or the output type"),
    }),
  ),
  total: usageFiguresSchema,
});
export type Usage = z.infer<typeof usageSchema>;

export const quotasSchema = z.object({
  tenant_id: z.string(),
  max_running_jobs: z.int().nullable(),
  max_queued_jobs: z.int().nullable(),
  media_minutes_per_month: z.number().nullable(),
  used: z.object({
    running_jobs: z.int(),
    queued_jobs: z.int(),
    media_minutes_this_month: z.number(),
  }),
  updated_at: maybeTime,
});
export type Quotas = z.infer<typeof quotasSchema>;

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

/** `data` of batch.completed: the batch when its last job ended. */
export const batchWebhookDataSchema = z.object({ batch: batchSchema.omit({ jobs: true }) });

export const webhookBodySchema = z.discriminatedUnion("type", [
  webhookPayloadSchema(z.literal("batch.completed"), batchWebhookDataSchema),
  webhookPayloadSchema(z.literal("job.progress"), progressWebhookDataSchema),
  webhookPayloadSchema(
    z.enum(["job.running", "job.succeeded", "job.failed", "job.canceled"]),
    jobWebhookDataSchema,
  ),
]);
export type WebhookBody = z.infer<typeof webhookBodySchema>;
