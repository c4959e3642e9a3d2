import { isKeyInsidePrefix } from "@framewire/shared";
import type { NodeConfig } from "../config";
import { s3Settings } from "./create-storage";
import { createS3Storage } from "./s3-storage";
import type { Storage } from "./storage";

/**
 * Stores for jobs' `destination` buckets: only those the operator lists in FW_S3_OUTPUT_BUCKETS,
 * written with the node's own FW_S3_* credentials (a job carries none). The edge refused other
 * buckets already; this is the node's own check, so a message that skipped the edge can't make a
 * node write elsewhere. Keys are checked per write against the job's prefix by the caller
 * (expandDestinationPath); the store itself refuses keys with unsafe segments.
 */
export function createDestinationStores(config: NodeConfig): (bucket: string) => Storage | null {
  const stores = new Map<string, Storage>();
  return (bucket) => {
    if (!config.FW_S3_OUTPUT_BUCKETS.includes(bucket)) return null;
    let store = stores.get(bucket);
    if (!store) {
      store = createS3Storage({
        ...s3Settings(config),
        bucket,
        isKeyAllowed: (key) => isKeyInsidePrefix("", key),
      });
      stores.set(bucket, store);
    }
    return store;
  };
}
