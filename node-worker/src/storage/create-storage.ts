import type { NodeConfig } from "../config";
import { createLocalStorage } from "./local-storage";
import { createS3Storage, type S3StorageOptions } from "./s3-storage";
import type { Storage } from "./storage";

/** The store the node's configuration names (validated at start-up). */
export function createStorage(config: NodeConfig): Storage {
  if (config.FW_STORAGE === "local") return createLocalStorage(config.FW_STORAGE_DIR);
  return createS3Storage({ ...s3Settings(config), bucket: config.FW_S3_BUCKET as string });
}

/** The FW_S3_* connection settings, shared by the output store and the `s3` input reader. */
export function s3Settings(config: NodeConfig): Omit<S3StorageOptions, "bucket" | "partSizeBytes"> {
  return {
    region: config.FW_S3_REGION,
    forcePathStyle: config.FW_S3_FORCE_PATH_STYLE,
    checksums: config.FW_S3_CHECKSUMS,
    ...(config.FW_S3_ENDPOINT ? { endpoint: config.FW_S3_ENDPOINT } : {}),
    ...(config.FW_S3_ACCESS_KEY_ID && config.FW_S3_SECRET_ACCESS_KEY
      ? {
          credentials: {
            accessKeyId: config.FW_S3_ACCESS_KEY_ID,
            secretAccessKey: config.FW_S3_SECRET_ACCESS_KEY,
          },
        }
      : {}),
  };
}
