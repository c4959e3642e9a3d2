import type { NodeConfig } from "../config";
import { createLocalStorage } from "./local-storage";
import { createS3Storage } from "./s3-storage";
import type { Storage } from "./storage";

/** The store the node's configuration names (validated at start-up). */
export function createStorage(config: NodeConfig): Storage {
  if (config.FW_STORAGE === "local") return createLocalStorage(config.FW_STORAGE_DIR);
  return createS3Storage({
    region: config.FW_S3_REGION,
    bucket: config.FW_S3_BUCKET as string,
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
  });
}
