import { checkStorageSettings, parseSettings, s3Settings, storageKindSettings } from "@framewire/shared";
import { z } from "zod";
import type { S3Connection } from "../watches/lister";

/**
 * Where the edge's objects live: the FW_STORAGE / FW_S3_* pieces the processing nodes read too, and
 * the edge's own link settings. Part of the edge's settings on both runtimes (config.ts).
 */
export const edgeStorageSettings = {
  ...storageKindSettings,
  ...s3Settings,
  FW_S3_PUBLIC_ENDPOINT: z
    .url()
    .optional()
    .describe(
      "S3 endpoint as clients reach it, when it differs from FW_S3_ENDPOINT (presigned upload and download URLs " +
        "are signed for this host); unset: FW_S3_ENDPOINT",
    ),
  FW_UPLOAD_URL_TTL_SEC: z.coerce
    .number()
    .int()
    .min(60)
    .max(7 * 86400)
    .default(3600)
    .describe("life of a presigned upload URL, in seconds (60 to 7 days)"),
  FW_DOWNLOAD_TTL_SEC: z.coerce
    .number()
    .int()
    .min(60)
    .max(7 * 86400)
    .default(86400)
    .describe(
      "life of download links (signed local links, presigned S3 URLs), in seconds; 60 to 7 days, the S3 maximum",
    ),
};

const storageSchema = z.object(edgeStorageSettings);

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

/** The storage part of the edge's parsed settings, checked by `checkStorageSettings` already. */
export function toStorageSettings(c: z.output<typeof storageSchema>): StorageSettings {
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

/**
 * The FW_S3_* connection whatever FW_STORAGE is: watched buckets are listed with it (the nodes read
 * `s3` inputs with the same one), also when the service's own store is the local folder.
 */
export function toS3Connection(c: z.output<typeof storageSchema>): S3Connection {
  return {
    endpoint: c.FW_S3_ENDPOINT ?? null,
    region: c.FW_S3_REGION,
    forcePathStyle: c.FW_S3_FORCE_PATH_STYLE,
    credentials:
      c.FW_S3_ACCESS_KEY_ID && c.FW_S3_SECRET_ACCESS_KEY
        ? { accessKeyId: c.FW_S3_ACCESS_KEY_ID, secretAccessKey: c.FW_S3_SECRET_ACCESS_KEY }
        : null,
    checksums: c.FW_S3_CHECKSUMS,
  };
}

/** The storage settings alone (the processes parse them as part of their whole settings). */
export function parseStorageSettings(
  env: Record<string, unknown>,
  options: { requireCredentials: boolean } = { requireCredentials: false },
): StorageSettings {
  return toStorageSettings(
    parseSettings(storageSchema.superRefine(checkStorageSettings(options)), env, "storage"),
  );
}
