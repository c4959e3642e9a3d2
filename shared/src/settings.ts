import { z } from "zod";
import { bucketName } from "./job-spec";

/**
 * Pieces of the processes' settings (environment variables on Node, bindings on Workers). Each
 * process validates its settings once at start with one zod schema built from these pieces and its
 * own. A variable that several processes read is defined once, here, so it means the same thing
 * and has the same default everywhere. Every setting carries a description (`.describe`, the last
 * call of its chain), from which the README's configuration table is generated
 * (`npm run docs:config`, scripts/config-docs.ts).
 */

/**
 * A default that depends on the machine or on who starts the process, documented in words instead
 * of the value this machine would compute (the table must read the same wherever it is generated).
 */
export const settingDefaultInWords = z.registry<{ text: string }>();

/** What every process that talks to NATS over TCP reads. */
export const natsSettings = {
  FW_NATS_URL: z
    .string()
    .min(1)
    .default("nats://127.0.0.1:4222")
    .describe("NATS server(s), comma-separated for a cluster"),
  FW_NATS_REPLICAS: z.coerce
    .number()
    .pipe(z.union([z.literal(1), z.literal(3), z.literal(5)]))
    .default(1)
    .describe("JetStream stream and KV replicas: 1 for one server, 3 or 5 for a cluster"),
};

export const logSettings = {
  FW_LOG_LEVEL: z
    .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
    .default("info")
    .describe("pino log level (JSON lines): fatal, error, warn, info, debug, trace or silent"),
};

const secret = () => z.string().min(32, "must be at least 32 characters");

/** Read by the edge (signing) and the gateway (checking). */
export const tokenSecretSettings = {
  FW_TOKEN_SECRET: secret().describe(
    "secret (≥ 32 characters) that signs progress and download tokens; the edge and the gateway need the same " +
      "value (the local stack generates one into `.data/secrets.json`)",
  ),
};

/** Read by the edge (checking) and the processing nodes (sending). */
export const nodeTokenSettings = {
  FW_NODE_TOKEN: secret().describe(
    "secret (≥ 32 characters) processing nodes present on their state reports to the edge; the same value on both " +
      "(the local stack generates one into `.data/secrets.json`)",
  ),
};

/**
 * Read by every process that serves GET /metrics (the edge on Node, processing nodes, the gateway).
 * Metrics name nodes, versions, queue depths and tenants with failing webhooks: an operator shows
 * them to their scraper only.
 */
export const metricsTokenSettings = {
  FW_METRICS_TOKEN: z
    .string()
    .min(16, "must be at least 16 characters")
    .optional()
    .describe(
      "bearer token GET /metrics requires (`Authorization: Bearer <token>`; Prometheus: `authorization` in the " +
        "scrape config); unset: /metrics answers whoever can reach it",
    ),
};

/** The job database: read by the edge (both runtimes) and by the CLI's backup and restore. */
export const databaseSettings = {
  FW_DB_URL: z
    .string()
    .regex(/^(file:|libsql:|https?:)/, "must be a file:, libsql: or http(s): URL")
    .describe(
      "libSQL database: a `file:` path (Node only; the local stack uses one under FW_DATA_DIR) or a libsql:/http(s): " +
        "server URL (Turso, libsql-server)",
    ),
  FW_DB_AUTH_TOKEN: z
    .string()
    .optional()
    .describe("libSQL auth token, if the database server requires one (a secret on Workers)"),
};

/** An operator's comma-separated bucket list (FW_S3_INPUT_BUCKETS), read the same by edge and node. */
export const bucketListSetting = z
  .string()
  .default("")
  .transform((s) =>
    s
      .split(",")
      .map((b) => b.trim())
      .filter(Boolean),
  )
  .pipe(z.array(bucketName));

/** Which object store the edge and the nodes share (Workers: S3 only). */
export const storageKindSettings = {
  FW_STORAGE: z
    .enum(["local", "s3"])
    .default("local")
    .describe(
      "object store shared by the edge and the nodes: `local` (the FW_STORAGE_DIR folder; Node only) or `s3` " +
        "(any S3-compatible store, FW_S3_*)",
    ),
};

/** The local store's folder, on the edge (Node) and the nodes. */
export const storageDirSettings = {
  FW_STORAGE_DIR: z
    .string()
    .min(1)
    .default(".data/storage")
    .describe("folder of the local store (FW_STORAGE=local), the same folder for the edge and every node"),
};

/** The S3 connection, read the same by the edge and the nodes (they must reach the same bucket). */
export const s3Settings = {
  FW_S3_ENDPOINT: z
    .url()
    .optional()
    .describe("S3 API endpoint as this process reaches it (e.g. http://minio:9000); unset: AWS"),
  FW_S3_REGION: z.string().min(1).default("us-east-1").describe("S3 region (`auto` for R2)"),
  FW_S3_BUCKET: bucketName
    .optional()
    .describe("bucket that holds uploads and outputs; required with FW_STORAGE=s3"),
  FW_S3_FORCE_PATH_STYLE: z
    .stringbool()
    .default(false)
    .describe("path-style URLs (endpoint/bucket/key), which MinIO and most self-hosted stores need"),
  FW_S3_ACCESS_KEY_ID: z
    .string()
    .min(1)
    .optional()
    .describe(
      "S3 access key, set together with FW_S3_SECRET_ACCESS_KEY; unset: the AWS SDK's provider chain " +
        "(environment, instance role), which Workers lack: required there",
    ),
  FW_S3_SECRET_ACCESS_KEY: z
    .string()
    .min(1)
    .optional()
    .describe("S3 secret key, set together with FW_S3_ACCESS_KEY_ID"),
  FW_S3_CHECKSUMS: z
    .enum(["WHEN_SUPPORTED", "WHEN_REQUIRED"])
    .default("WHEN_REQUIRED")
    .describe(
      "when the AWS SDK adds and checks checksums: `WHEN_REQUIRED` works with every S3-compatible store; " +
        "`WHEN_SUPPORTED` (recent SDKs' own default) is mishandled by several of them for streamed uploads",
    ),
  FW_S3_INPUT_BUCKETS: bucketListSetting.describe(
    "buckets `s3` job inputs may read, comma-separated (read with FW_S3_*'s credentials; never the storage " +
      "bucket, where every tenant's files are); empty: no `s3` inputs. Watches may list these buckets too",
  ),
  FW_S3_OUTPUT_BUCKETS: bucketListSetting.describe(
    "buckets a job's `destination` may write its outputs to, comma-separated (written with FW_S3_*'s " +
      "credentials; never the storage bucket); empty: no destinations",
  ),
};

type StorageFields = {
  FW_STORAGE: "local" | "s3";
  FW_S3_BUCKET?: string | undefined;
  FW_S3_INPUT_BUCKETS: string[];
  FW_S3_OUTPUT_BUCKETS: string[];
  FW_S3_ACCESS_KEY_ID?: string | undefined;
  FW_S3_SECRET_ACCESS_KEY?: string | undefined;
};

/**
 * The checks across storage settings, for the edge and the nodes alike (a zod `superRefine`).
 * `requireCredentials`: Workers have no credential provider chain, so the keys must be bound.
 */
export function checkStorageSettings(options: { requireCredentials?: boolean } = {}) {
  return (c: StorageFields, ctx: z.RefinementCtx): void => {
    if (c.FW_STORAGE === "s3" && !c.FW_S3_BUCKET) {
      ctx.addIssue({ code: "custom", path: ["FW_S3_BUCKET"], message: "is required when FW_STORAGE=s3" });
    }
    // The storage bucket holds every tenant's files: as an `s3` input source, any tenant could read
    // any other tenant's uploads and outputs by key.
    if (c.FW_S3_BUCKET && c.FW_S3_INPUT_BUCKETS.includes(c.FW_S3_BUCKET)) {
      ctx.addIssue({
        code: "custom",
        path: ["FW_S3_INPUT_BUCKETS"],
        message: `must not list the storage bucket ${c.FW_S3_BUCKET} (every tenant's files are there)`,
      });
    }
    // A destination in the storage bucket could overwrite any tenant's files by key.
    if (c.FW_S3_BUCKET && c.FW_S3_OUTPUT_BUCKETS.includes(c.FW_S3_BUCKET)) {
      ctx.addIssue({
        code: "custom",
        path: ["FW_S3_OUTPUT_BUCKETS"],
        message: `must not list the storage bucket ${c.FW_S3_BUCKET} (every tenant's files are there)`,
      });
    }
    // One key without the other would silently fall back to the provider chain.
    if (Boolean(c.FW_S3_ACCESS_KEY_ID) !== Boolean(c.FW_S3_SECRET_ACCESS_KEY)) {
      ctx.addIssue({
        code: "custom",
        path: [c.FW_S3_ACCESS_KEY_ID ? "FW_S3_SECRET_ACCESS_KEY" : "FW_S3_ACCESS_KEY_ID"],
        message: "set both FW_S3_ACCESS_KEY_ID and FW_S3_SECRET_ACCESS_KEY, or neither",
      });
    }
    if (options.requireCredentials && c.FW_STORAGE === "s3" && !c.FW_S3_ACCESS_KEY_ID) {
      ctx.addIssue({
        code: "custom",
        path: ["FW_S3_ACCESS_KEY_ID"],
        message: "is required on Workers (wrangler secret put)",
      });
    }
  };
}

/** The local stack's folder, read by the launcher and by the CLI (which finds the local key there). */
export const dataDirSettings = {
  FW_DATA_DIR: z
    .string()
    .min(1)
    .default(".data")
    .describe(
      "the local stack's folder: database, NATS store, storage, logs, secrets and `local.json` (API URL and key, " +
        "which the CLI reads)",
    ),
};

/** One line per bad setting, naming it and the value it had. */
export function describeSettingIssues(error: z.ZodError, env: Record<string, unknown>): string[] {
  return error.issues.map((issue) => {
    const name = String(issue.path[0]);
    return `${name}=${JSON.stringify(env[name] ?? null)}: ${issue.message}`;
  });
}

/**
 * Parses settings with their schema, or throws one error listing every bad variable with its value,
 * so an operator fixes them all in one go.
 */
export function parseSettings<S extends z.ZodType>(
  schema: S,
  env: Record<string, unknown>,
  what: string,
): z.output<S> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  throw new Error(
    `invalid ${what} configuration:\n  ${describeSettingIssues(parsed.error, env).join("\n  ")}`,
  );
}
