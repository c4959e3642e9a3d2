import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { s3InputSchema } from "@framewire/shared";
import type { NodeConfig } from "../config";
import { s3Settings } from "../storage/create-storage";
import { createS3Client } from "../storage/s3-storage";
import { byteLimit, InputFetchError } from "./safe-fetch";

export type S3InputFetch = (
  input: { bucket: string; key: string },
  destination: string,
  options: { maxBytes: number; signal?: AbortSignal },
) => Promise<{ sizeBytes: number }>;

/**
 * Reads `s3` inputs ({bucket, key} in the operator's own S3 storage) with the node's S3 settings
 * (FW_S3_*). The edge already refused buckets outside FW_S3_INPUT_BUCKETS; the node checks the
 * bucket and the key's shape again, so a message that skipped the edge (or an edge with another
 * list) still can't make a node read an arbitrary bucket.
 */
export function createS3InputFetch(config: NodeConfig): S3InputFetch {
  let client: S3Client | null = null;
  const s3 = () => {
    client ??= createS3Client(s3Settings(config));
    return client;
  };

  return async (input, destination, options) => {
    const where = `s3://${input.bucket}/${input.key}`;
    if (!config.FW_S3_INPUT_BUCKETS.includes(input.bucket)) {
      throw new InputFetchError(
        `${input.bucket} is not a bucket this service reads inputs from`,
        "not_allowed",
      );
    }
    if (!s3InputSchema.safeParse({ type: "s3", ...input }).success) {
      throw new InputFetchError(`${where} is not an acceptable object key`, "not_allowed");
    }
    let body: Readable;
    let declared: number | undefined;
    try {
      const object = await s3().send(new GetObjectCommand({ Bucket: input.bucket, Key: input.key }), {
        ...(options.signal ? { abortSignal: options.signal } : {}),
      });
      body = object.Body as Readable;
      declared = object.ContentLength;
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 404) throw new InputFetchError(`${where} does not exist`, "http_status");
      if (status === 403) throw new InputFetchError(`${where}: access denied to the node`, "http_status");
      throw new InputFetchError(`could not read ${where}: ${(error as Error).message}`, "network");
    }
    if (declared !== undefined && declared > options.maxBytes) {
      body.destroy();
      throw new InputFetchError(
        `${where} is ${declared} bytes; the limit is ${options.maxBytes}`,
        "too_large",
      );
    }
    const limiter = byteLimit(options.maxBytes, where);
    try {
      await pipeline(body, limiter, createWriteStream(destination), {
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      await rm(destination, { force: true });
      if (error instanceof InputFetchError) throw error;
      throw new InputFetchError(`reading ${where} failed: ${(error as Error).message}`, "network");
    }
    return { sizeBytes: limiter.bytes };
  };
}
