import { z } from "zod";

/**
 * Where the edge's objects live, from the same FW_STORAGE / FW_S3_* variables the processing nodes
 * read. Validated once at start-up (Node) or per isolate (Workers), naming the bad variable.
 */
const schema = z
  .object({
    FW_STORAGE: z.enum(["local", "s3"]).default("local"),
    FW_S3_ENDPOINT: z.url().optional().describe("S3 API endpoint as the edge reaches it; unset: AWS"),
    FW_S3_PUBLIC_ENDPOINT: z
      .url()
      .optional()
      .describe("endpoint clients use, when it differs (presigned URLs)"),
    FW_S3_REGION: z.string().min(1).default("us-east-1"),
    FW_S3_BUCKET: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be an S3 bucket name")
      .optional(),
    FW_S3_FORCE_PATH_STYLE: z.stringbool().default(false),
    FW_S3_ACCESS_KEY_ID: z.string().min(1).optional(),
    FW_S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
    /** See node-worker/src/storage/s3-storage.ts: WHEN_REQUIRED suits most S3-compatible stores. */
    FW_S3_CHECKSUMS: z.enum(["WHEN_SUPPORTED", "WHEN_REQUIRED"]).default("WHEN_REQUIRED"),
    /** How long a presigned upload URL stays valid. */
    FW_UPLOAD_URL_TTL_SEC: z.coerce
      .number()
      .int()
      .min(60)
      .max(7 * 86400)
      .default(3600),
    /** Read here only to refuse a list that names the storage bucket (see below). */
    FW_S3_INPUT_BUCKETS: z.string().default(""),
    /** Download links (signed or presigned); the S3 maximum is 7 days. */
    FW_DOWNLOAD_TTL_SEC: z.coerce
      .number()
      .int()
      .min(60)
      .max(7 * 86400)
      .default(86400),
  })
  .superRefine((c, ctx) => {
    if (c.FW_STORAGE === "s3" && !c.FW_S3_BUCKET) {
      ctx.addIssue({ code: "custom", path: ["FW_S3_BUCKET"], message: "is required when FW_STORAGE=s3" });
    }
    // Every tenant's objects live in the storage bucket: as an `s3` input source it would let any
    // tenant read any other tenant's uploads and outputs by key.
    if (c.FW_S3_BUCKET && c.FW_S3_INPUT_BUCKETS.split(",").some((b) => b.trim() === c.FW_S3_BUCKET)) {
      ctx.addIssue({
        code: "custom",
        path: ["FW_S3_INPUT_BUCKETS"],
        message: `must not list the storage bucket ${c.FW_S3_BUCKET} (every tenant's files are there)`,
      });
    }
    if (Boolean(c.FW_S3_ACCESS_KEY_ID) !== Boolean(c.FW_S3_SECRET_ACCESS_KEY)) {
      ctx.addIssue({
        code: "custom",
        path: [c.FW_S3_ACCESS_KEY_ID ? "FW_S3_SECRET_ACCESS_KEY" : "FW_S3_ACCESS_KEY_ID"],
        message: "set both FW_S3_ACCESS_KEY_ID and FW_S3_SECRET_ACCESS_KEY, or neither",
      });
    }
  });

export interface S3Settings {
  endpoint: string | null;
  publicEndpoint: string | null;
  region: string;
  bucket: string;
  forcePathStyle: boolean;
  /** Null: the SDK's default provider chain (environment, instance role) — Node only. */
  credentials: { accessKeyId: string; secretAccessKey: string } | null;
  checksums: "WHEN_SUPPORTED" | "WHEN_REQUIRED";
  uploadUrlTtlSec: number;
  downloadUrlTtlSec: number;
}

export type StorageSettings = { kind: "local" } | { kind: "s3"; s3: S3Settings };

export function parseStorageSettings(
  env: Record<string, unknown>,
  options: { requireCredentials: boolean } = { requireCredentials: false },
): StorageSettings {
  const parsed = schema.safeParse(env);
  const issues = parsed.success
    ? []
    : parsed.error.issues.map((i) => ({ name: String(i.path[0]), message: i.message }));
  if (parsed.success && parsed.data.FW_STORAGE === "s3" && options.requireCredentials) {
    // Workers have no credential provider chain: the keys must be bound as secrets.
    if (!parsed.data.FW_S3_ACCESS_KEY_ID)
      issues.push({ name: "FW_S3_ACCESS_KEY_ID", message: "is required on Workers (wrangler secret put)" });
  }
  if (!parsed.success || issues.length > 0) {
    const lines = issues.map((i) => `${i.name}=${JSON.stringify(env[i.name] ?? null)}: ${i.message}`);
    throw new Error(`invalid storage configuration:\n  ${lines.join("\n  ")}`);
  }
  const c = parsed.data;
  if (c.FW_STORAGE === "local") return { kind: "local" };
  return {
    kind: "s3",
    s3: {
      endpoint: c.FW_S3_ENDPOINT ?? null,
      publicEndpoint: c.FW_S3_PUBLIC_ENDPOINT ?? null,
      region: c.FW_S3_REGION,
      bucket: c.FW_S3_BUCKET as string,
      forcePathStyle: c.FW_S3_FORCE_PATH_STYLE,
      credentials:
        c.FW_S3_ACCESS_KEY_ID && c.FW_S3_SECRET_ACCESS_KEY
          ? { accessKeyId: c.FW_S3_ACCESS_KEY_ID, secretAccessKey: c.FW_S3_SECRET_ACCESS_KEY }
          : null,
      checksums: c.FW_S3_CHECKSUMS,
      uploadUrlTtlSec: c.FW_UPLOAD_URL_TTL_SEC,
      downloadUrlTtlSec: c.FW_DOWNLOAD_TTL_SEC,
    },
  };
}
