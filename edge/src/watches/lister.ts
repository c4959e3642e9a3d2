import { ListObjectsV2Command, type ListObjectsV2CommandOutput, S3Client } from "@aws-sdk/client-s3";

/** One object a listing saw. */
export interface ListedObject {
  key: string;
  /** The ETag as the store gives it, without quotes: a new one means new content. */
  etag: string;
  sizeBytes: number | null;
}

/** A page of a bucket prefix's objects; `next` continues it (null: the last page). */
export interface BucketLister {
  list(
    bucket: string,
    prefix: string,
    page: { continuation: string | null; maxKeys: number },
  ): Promise<{ objects: ListedObject[]; next: string | null }>;
}

/** Why a listing failed, in words a tenant can act on, from the store's error. */
export class ListingError extends Error {
  override readonly name = "ListingError";
}

export interface S3Connection {
  endpoint: string | null;
  region: string;
  forcePathStyle: boolean;
  credentials: { accessKeyId: string; secretAccessKey: string } | null;
  checksums: "WHEN_SUPPORTED" | "WHEN_REQUIRED";
}

/**
 * Lists watched buckets with the operator's credentials (FW_S3_*), the ones the nodes read `s3`
 * inputs with; Node and workerd alike (the SDK's XML parsing needs storage/workers-xml.ts there).
 */
export function createS3BucketLister(connection: S3Connection): BucketLister {
  const client = new S3Client({
    region: connection.region,
    forcePathStyle: connection.forcePathStyle,
    requestChecksumCalculation: connection.checksums,
    responseChecksumValidation: connection.checksums,
    ...(connection.endpoint ? { endpoint: connection.endpoint } : {}),
    ...(connection.credentials ? { credentials: connection.credentials } : {}),
  });
  return {
    async list(bucket, prefix, page) {
      let answer: ListObjectsV2CommandOutput;
      try {
        answer = await client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            ...(prefix ? { Prefix: prefix } : {}),
            MaxKeys: page.maxKeys,
            ...(page.continuation ? { ContinuationToken: page.continuation } : {}),
          }),
          { abortSignal: AbortSignal.timeout(30_000) },
        );
      } catch (error) {
        const name = (error as { name?: string }).name ?? "Error";
        const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        throw new ListingError(
          `listing s3://${bucket}/${prefix} failed: ${name}${status ? ` (HTTP ${status})` : ""}: ${(error as Error).message}`,
          { cause: error },
        );
      }
      return {
        objects: (answer.Contents ?? []).flatMap((o) =>
          o.Key && o.ETag
            ? [{ key: o.Key, etag: o.ETag.replaceAll('"', ""), sizeBytes: o.Size ?? null }]
            : [],
        ),
        next: answer.IsTruncated && answer.NextContinuationToken ? answer.NextContinuationToken : null,
      };
    },
  };
}
