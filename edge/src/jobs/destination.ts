import {
  type Destination,
  destinationPathProblem,
  destinationPrefixProblem,
  FramewireError,
} from "@framewire/shared";
import type { EdgeConfig } from "../config";

/**
 * Checks of a `destination` with their own stable codes, before the body's schema runs (whose
 * failures are all `validation_failed`): a path template or prefix that would leave the prefix is
 * `destination_path_invalid`, a bucket the operator doesn't list in FW_S3_OUTPUT_BUCKETS is
 * `bucket_not_allowed`. The nodes check the expanded key and the bucket again when they write.
 */
export function refuseBadDestinationPath(raw: unknown, field = "destination"): void {
  if (raw === null || typeof raw !== "object") return;
  const { prefix, path } = raw as { prefix?: unknown; path?: unknown };
  const errors: { field: string; message: string }[] = [];
  const prefixProblem = typeof prefix === "string" ? destinationPrefixProblem(prefix) : null;
  if (prefixProblem) errors.push({ field: `${field}.prefix`, message: prefixProblem });
  const pathProblem = typeof path === "string" ? destinationPathProblem(path) : null;
  if (pathProblem) errors.push({ field: `${field}.path`, message: pathProblem });
  const first = errors[0];
  if (first)
    throw new FramewireError("destination_path_invalid", `${first.field}: ${first.message}`, { errors });
}

export function refuseDestinationBucket(
  config: Pick<EdgeConfig, "s3OutputBuckets">,
  destination: Destination | undefined,
  field = "destination",
): void {
  if (!destination || config.s3OutputBuckets.includes(destination.bucket)) return;
  throw new FramewireError(
    "bucket_not_allowed",
    `${field}.bucket: outputs may not be written to ${destination.bucket}`,
    { errors: [{ field: `${field}.bucket`, message: "not a bucket this service writes outputs to" }] },
  );
}
