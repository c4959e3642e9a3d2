import {
  type Cidr,
  checkStorageSettings,
  databaseSettings,
  maxBatchInputs,
  nodeTokenSettings,
  parseCidrList,
  parseSettings,
  tokenSecretSettings,
} from "@framewire/shared";
import { z } from "zod";
import { edgeStorageSettings } from "./storage/storage-config";

/**
 * The edge app's settings, the same on Node and on Workers (each runtime adds its own:
 * nodejs/settings.ts, workers-settings.ts). Validated once at start-up (Node) or per isolate
 * (Workers, from bindings); messages name the variable and the bad value.
 */
export const edgeAppSettings = {
  FW_PUBLIC_URL: z
    .url()
    .describe("base URL clients use to reach this API, for links (the local stack: its API URL)"),
  FW_PROGRESS_URL: z
    .url({ protocol: /^wss?$/ })
    .describe(
      "base ws(s):// URL of the progress gateway, for `progress_url` (the local stack: its gateway URL)",
    ),
  ...tokenSecretSettings,
  ...nodeTokenSettings,
  FW_PROGRESS_TTL_SEC: z.coerce
    .number()
    .int()
    .min(60)
    .max(7 * 86400)
    .default(86400)
    .describe("life of the token in a job's `progress_url`, in seconds"),
  FW_MAX_UPLOAD_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(2 * 1024 ** 3)
    .describe("largest upload accepted, in bytes (default 2 GiB)"),
  FW_MAX_JSON_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(64 * 1024)
    .describe("largest JSON request body, in bytes (larger: 413 `payload_too_large`)"),
  FW_KEY_CACHE_TTL_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(60_000)
    .default(5_000)
    .describe(
      "how long a verified API key is trusted without reading its row, in ms: how long other instances may " +
        "still accept a revoked key",
    ),
  FW_SETTINGS_CACHE_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(60_000)
    .default(2_000)
    .describe("how long an instance trusts its copy of maintenance mode, in ms"),
  FW_KEY_ROTATION_GRACE_SEC: z.coerce
    .number()
    .int()
    .min(0)
    .max(30 * 86400)
    .default(86400)
    .describe("default life of the old key after a rotation, in seconds"),
  FW_RATE_KEY_BURST: z.coerce
    .number()
    .int()
    .min(1)
    .default(120)
    .describe("requests one API key may make at once (token bucket size)"),
  FW_RATE_KEY_PER_SEC: z.coerce
    .number()
    .positive()
    .default(20)
    .describe("requests per second refilled into each API key's bucket"),
  FW_RATE_IP_BURST: z.coerce
    .number()
    .int()
    .min(1)
    .default(240)
    .describe("requests one client IP may make at once (token bucket size)"),
  FW_RATE_IP_PER_SEC: z.coerce
    .number()
    .positive()
    .default(40)
    .describe("requests per second refilled into each client IP's bucket"),
  FW_CLIENT_IP_HEADER: z
    .string()
    .regex(/^[a-z0-9-]+$/i)
    .optional()
    .describe(
      "header with the client address (e.g. x-forwarded-for); set it only behind a proxy that sets it; unset: " +
        "the socket's peer on Node, `cf-connecting-ip` on Workers",
    ),
  FW_CLIENT_IP_HOPS: z.coerce
    .number()
    .int()
    .min(1)
    .max(10)
    .default(1)
    .describe(
      "proxies of yours in front of the edge that append to FW_CLIENT_IP_HEADER: the client address is the entry " +
        "this many from the right (entries further left are whatever the client sent)",
    ),
  FW_WEBHOOK_ALLOW_HTTP: z
    .stringbool()
    .default(false)
    .describe("development only: allow http:// webhook URLs (otherwise https only)"),
  FW_WEBHOOK_ALLOW_PRIVATE_CIDRS: z
    .string()
    .optional()
    .superRefine((text, ctx) => {
      try {
        parseCidrList(text);
      } catch (error) {
        ctx.addIssue({ code: "custom", message: (error as Error).message });
      }
    })
    .describe("development only: private ranges webhooks may reach, comma-separated, e.g. 127.0.0.1/32"),
  FW_WEBHOOK_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(1_000)
    .max(60_000)
    .default(10_000)
    .describe("time limit of one webhook attempt, in ms"),
  FW_WEBHOOK_RETRY_BASE_MS: z.coerce
    .number()
    .int()
    .min(10)
    .default(10_000)
    .describe(
      "webhook retry backoff, in ms: attempt n waits a random time up to this × 2^(n-1) (full jitter), " +
        "capped at FW_WEBHOOK_RETRY_MAX_MS",
    ),
  FW_WEBHOOK_RETRY_MAX_MS: z.coerce
    .number()
    .int()
    .min(10)
    .default(3_600_000)
    .describe("longest wait between two webhook attempts, in ms"),
  FW_WEBHOOK_DEADLINE_SEC: z.coerce
    .number()
    .int()
    .min(1)
    .max(7 * 86400)
    .default(86400)
    .describe("no webhook attempt starts later than this after its event, in seconds; then it is `failed`"),
  FW_WEBHOOK_PROGRESS_SEC: z.coerce
    .number()
    .int()
    .min(1)
    .max(3600)
    .default(10)
    .describe("at most one `job.progress` webhook per job per this many seconds"),
  FW_INPUT_RETENTION_HOURS: z.coerce
    .number()
    .min(0)
    .max(87_600)
    .default(24)
    .describe("uploads are deleted this many hours after they were made (fractions allowed; 0 keeps them)"),
  FW_OUTPUT_RETENTION_HOURS: z.coerce
    .number()
    .min(0)
    .max(87_600)
    .default(168)
    .describe(
      "a finished job's outputs (and its logs) are deleted this many hours after it ended (0 keeps them)",
    ),
  FW_UNSERVED_POOL: z
    .enum(["warn", "refuse"])
    .default("warn")
    .describe(
      "a job no live node can run (its pool has no node, or the gpu pool's nodes opened no hardware encoder): " +
        "`warn` accepts it with a `warnings` entry saying why it will wait; `refuse` answers 503 `no_capable_node`",
    ),
  FW_TENANT_QUEUE_DEPTH: z.coerce
    .number()
    .int()
    .min(0)
    .max(100_000)
    .default(4)
    .describe(
      "fair dispatch: how many of one tenant's jobs (per pool, at each priority and above) wait in the JetStream " +
        "queue at once; the rest wait in the database and go as these start, so another tenant's job waits behind " +
        "at most this many of each busy tenant's; 0: off (every job is queued when accepted)",
    ),
  FW_BATCH_MAX_INPUTS: z.coerce
    .number()
    .int()
    .min(1)
    .max(maxBatchInputs)
    .default(maxBatchInputs)
    .describe("most inputs one batch may have (more: 422 `batch_too_large`)"),
  FW_MAX_BATCH_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(8 * 1024 ** 2)
    .describe("largest POST /v1/batches body, in bytes (larger: 413 `payload_too_large`)"),
  FW_WATCH_MIN_INTERVAL_SEC: z.coerce
    .number()
    .int()
    .min(1)
    .max(86_400)
    .default(60)
    .describe(
      "shortest schedule a watch may have, in seconds (on Workers the Cron trigger looks every minute anyway)",
    ),
  FW_WATCH_MAX_OBJECTS: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .default(10_000)
    .describe("most objects one look at a watched bucket lists (the rest wait for the next look)"),
  FW_UNSERVED_WAIT_SEC: z.coerce
    .number()
    .int()
    .min(1)
    .default(300)
    .describe(
      "a queued job that has waited this long, in seconds, while no live node can run it gets a `job:waiting` " +
        "event naming why",
    ),
};

/** The libSQL database, on both runtimes (defined in shared: the CLI's backup reads it too). */
export const edgeDatabaseSettings = databaseSettings;

/** Everything the edge app reads, on either runtime: its own settings and its object store's. */
export const edgeSettings = { ...edgeAppSettings, ...edgeStorageSettings };

const edgeConfigSchema = z.object(edgeSettings).superRefine(checkStorageSettings());

export type EdgeConfigInput = z.input<typeof edgeConfigSchema>;

export interface EdgeConfig {
  publicUrl: string;
  progressUrl: string;
  tokenSecret: string;
  nodeToken: string;
  downloadTtlSec: number;
  progressTtlSec: number;
  maxUploadBytes: number;
  maxJsonBytes: number;
  /** How long a verified key is trusted without reading its row (the revocation bound elsewhere). */
  keyCacheTtlMs: number;
  /** How long an instance trusts its copy of maintenance mode. */
  settingsCacheMs: number;
  /** Default grace period of a rotated key (the old key keeps working this long). */
  rotationGraceSec: number;
  rateLimits: {
    perKey: { capacity: number; refillPerSec: number };
    perIp: { capacity: number; refillPerSec: number };
  };
  /** Header to read the client address from (only behind a proxy that sets it); null: the socket. */
  clientIpHeader: string | null;
  /** Which entry of that header, counted from the right, is the client (FW_CLIENT_IP_HOPS). */
  clientIpHops: number;
  webhooks: WebhookConfig;
  /** Milliseconds an input (upload) and a finished job's outputs are kept; null: kept. */
  retention: { inputMs: number | null; outputMs: number | null };
  /** Buckets `s3` inputs (and watches) may read from. */
  s3InputBuckets: string[];
  /** Buckets a job's destination may write to. */
  s3OutputBuckets: string[];
  /** Fair dispatch (jobs/admission.ts). */
  admission: { depth: number };
  batches: { maxInputs: number; maxBytes: number };
  watches: { minIntervalSec: number; maxObjectsPerPoll: number };
  /** Jobs no live node can run: refused at submit (or accepted with a warning), noted once they waited waitMs. */
  unserved: { refuse: boolean; waitMs: number };
}

export interface WebhookConfig {
  /** Allow http:// targets (development); https only otherwise. */
  allowHttp: boolean;
  /** Private ranges an operator allows (development: a receiver on 127.0.0.1); empty by default. */
  allowPrivate: Cidr[];
  /** One attempt's time limit. */
  timeoutMs: number;
  /** Backoff: attempt n waits a random time in [0, min(retryMaxMs, retryBaseMs * 2^(n-1))]. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** No attempt starts later than this after the event (or a manual redelivery). */
  deadlineMs: number;
  /** At most one job.progress webhook per job per this many seconds. */
  progressIntervalSec: number;
}

/** The app's part of a runtime's parsed settings (nodejs/settings.ts, workers-settings.ts). */
export function toEdgeConfig(c: z.output<typeof edgeConfigSchema>): EdgeConfig {
  return {
    publicUrl: c.FW_PUBLIC_URL.replace(/\/+$/, ""),
    progressUrl: c.FW_PROGRESS_URL.replace(/\/+$/, ""),
    tokenSecret: c.FW_TOKEN_SECRET,
    nodeToken: c.FW_NODE_TOKEN,
    downloadTtlSec: c.FW_DOWNLOAD_TTL_SEC,
    progressTtlSec: c.FW_PROGRESS_TTL_SEC,
    maxUploadBytes: c.FW_MAX_UPLOAD_BYTES,
    maxJsonBytes: c.FW_MAX_JSON_BYTES,
    keyCacheTtlMs: c.FW_KEY_CACHE_TTL_MS,
    settingsCacheMs: c.FW_SETTINGS_CACHE_MS,
    rotationGraceSec: c.FW_KEY_ROTATION_GRACE_SEC,
    rateLimits: {
      perKey: { capacity: c.FW_RATE_KEY_BURST, refillPerSec: c.FW_RATE_KEY_PER_SEC },
      perIp: { capacity: c.FW_RATE_IP_BURST, refillPerSec: c.FW_RATE_IP_PER_SEC },
    },
    clientIpHeader: c.FW_CLIENT_IP_HEADER?.toLowerCase() ?? null,
    clientIpHops: c.FW_CLIENT_IP_HOPS,
    webhooks: {
      allowHttp: c.FW_WEBHOOK_ALLOW_HTTP,
      allowPrivate: parseCidrList(c.FW_WEBHOOK_ALLOW_PRIVATE_CIDRS),
      timeoutMs: c.FW_WEBHOOK_TIMEOUT_MS,
      retryBaseMs: c.FW_WEBHOOK_RETRY_BASE_MS,
      retryMaxMs: c.FW_WEBHOOK_RETRY_MAX_MS,
      deadlineMs: c.FW_WEBHOOK_DEADLINE_SEC * 1000,
      progressIntervalSec: c.FW_WEBHOOK_PROGRESS_SEC,
    },
    retention: {
      inputMs: c.FW_INPUT_RETENTION_HOURS > 0 ? c.FW_INPUT_RETENTION_HOURS * 3_600_000 : null,
      outputMs: c.FW_OUTPUT_RETENTION_HOURS > 0 ? c.FW_OUTPUT_RETENTION_HOURS * 3_600_000 : null,
    },
    s3InputBuckets: c.FW_S3_INPUT_BUCKETS,
    s3OutputBuckets: c.FW_S3_OUTPUT_BUCKETS,
    admission: { depth: c.FW_TENANT_QUEUE_DEPTH },
    batches: { maxInputs: c.FW_BATCH_MAX_INPUTS, maxBytes: c.FW_MAX_BATCH_BYTES },
    watches: { minIntervalSec: c.FW_WATCH_MIN_INTERVAL_SEC, maxObjectsPerPoll: c.FW_WATCH_MAX_OBJECTS },
    unserved: { refuse: c.FW_UNSERVED_POOL === "refuse", waitMs: c.FW_UNSERVED_WAIT_SEC * 1000 },
  };
}

/** The app's settings alone (tests and tools; the runtimes parse all of theirs at once). */
export function parseEdgeConfig(env: Record<string, unknown>): EdgeConfig {
  return toEdgeConfig(parseSettings(edgeConfigSchema, env, "edge"));
}
