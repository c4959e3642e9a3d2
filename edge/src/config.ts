import { bucketListSetting, type Cidr, parseCidrList, parseSettings } from "@framewire/shared";
import { z } from "zod";

/**
 * Edge settings, validated once at start-up (Node) or per isolate (Workers, from bindings). Messages
 * name the variable and the bad value.
 */
export const edgeConfigSchema = z.object({
  FW_PUBLIC_URL: z.url().describe("base URL clients use to reach this API, for links"),
  FW_PROGRESS_URL: z.url({ protocol: /^wss?$/ }).describe("base ws(s):// URL of the progress gateway"),
  FW_TOKEN_SECRET: z.string().min(32, "must be at least 32 characters"),
  FW_NODE_TOKEN: z.string().min(32, "must be at least 32 characters"),
  FW_DOWNLOAD_TTL_SEC: z.coerce
    .number()
    .int()
    .min(60)
    .max(7 * 86400)
    .default(86400),
  FW_PROGRESS_TTL_SEC: z.coerce
    .number()
    .int()
    .min(60)
    .max(7 * 86400)
    .default(86400),
  FW_MAX_UPLOAD_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(2 * 1024 ** 3),
  FW_MAX_JSON_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(64 * 1024),
  FW_KEY_CACHE_TTL_MS: z.coerce.number().int().min(0).max(60_000).default(5_000),
  FW_SETTINGS_CACHE_MS: z.coerce.number().int().min(0).max(60_000).default(2_000),
  FW_KEY_ROTATION_GRACE_SEC: z.coerce
    .number()
    .int()
    .min(0)
    .max(30 * 86400)
    .default(86400),
  FW_RATE_KEY_BURST: z.coerce.number().int().min(1).default(120),
  FW_RATE_KEY_PER_SEC: z.coerce.number().positive().default(20),
  FW_RATE_IP_BURST: z.coerce.number().int().min(1).default(240),
  FW_RATE_IP_PER_SEC: z.coerce.number().positive().default(40),
  FW_CLIENT_IP_HEADER: z
    .string()
    .regex(/^[a-z0-9-]+$/i)
    .optional()
    .describe("trusted header with the client address, set by your proxy (e.g. x-forwarded-for)"),
  FW_WEBHOOK_ALLOW_HTTP: z.stringbool().default(false),
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
    .describe("development only: private ranges webhooks may reach, e.g. 127.0.0.1/32"),
  FW_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(60_000).default(10_000),
  FW_WEBHOOK_RETRY_BASE_MS: z.coerce.number().int().min(10).default(10_000),
  FW_WEBHOOK_RETRY_MAX_MS: z.coerce.number().int().min(10).default(3_600_000),
  FW_WEBHOOK_DEADLINE_SEC: z.coerce
    .number()
    .int()
    .min(1)
    .max(7 * 86400)
    .default(86400),
  FW_WEBHOOK_PROGRESS_SEC: z.coerce.number().int().min(1).max(3600).default(10),
  /** Retention, in hours (fractions allowed; 0 keeps objects until deleted by hand). */
  FW_INPUT_RETENTION_HOURS: z.coerce.number().min(0).max(87_600).default(24),
  FW_OUTPUT_RETENTION_HOURS: z.coerce.number().min(0).max(87_600).default(168),
  /** Buckets `s3` inputs may name, comma-separated; empty: no `s3` inputs. */
  FW_S3_INPUT_BUCKETS: bucketListSetting,
});

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
  webhooks: WebhookConfig;
  /** Milliseconds an input (upload) and a finished job's outputs are kept; null: kept. */
  retention: { inputMs: number | null; outputMs: number | null };
  /** Buckets `s3` inputs may read from. */
  s3InputBuckets: string[];
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

export function parseEdgeConfig(env: Record<string, unknown>): EdgeConfig {
  const c = parseSettings(edgeConfigSchema, env, "edge");
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
  };
}
