import { createReadStream, createWriteStream } from "node:fs";
import { rm, stat } from "node:fs/promises";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { DeleteObjectCommand, GetObjectCommand, NoSuchKey, S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { isSafeStorageKey } from "@framewire/shared";
import { type Storage, StorageNotFoundError } from "./storage";

export interface S3StorageOptions {
  endpoint?: string;
  region: string;
  bucket: string;
  forcePathStyle: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /**
   * When the SDK adds and checks checksums. Recent SDKs default to `WHEN_SUPPORTED`, which several
   * S3-compatible stores (and s3rver) mishandle for streamed uploads; `WHEN_REQUIRED` works with all.
   */
  checksums: "WHEN_SUPPORTED" | "WHEN_REQUIRED";
  /** Multipart part size; memory per upload is about partSize × queueSize. */
  partSizeBytes?: number;
  /**
   * Which keys this store may touch: the service's own key layout by default; a tenant's
   * destination bucket passes its own check (keys inside the destination's prefix).
   */
  isKeyAllowed?: (key: string) => boolean;
}

/** An SDK client for these settings (the store's, and the reader of `s3` inputs). */
export function createS3Client(options: Omit<S3StorageOptions, "bucket" | "partSizeBytes">): S3Client {
  return new S3Client({
    region: options.region,
    forcePathStyle: options.forcePathStyle,
    requestChecksumCalculation: options.checksums,
    responseChecksumValidation: options.checksums,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  });
}

/**
 * S3-compatible object storage. Downloads stream to disk; uploads stream from disk through
 * multipart (lib-storage), so a multi-GB output never sits in memory.
 */
export function createS3Storage(options: S3StorageOptions): Storage {
  const client = createS3Client(options);
  const checkKey = (key: string) => {
    if (!(options.isKeyAllowed ?? isSafeStorageKey)(key)) throw new Error(`unsafe storage key ${key}`);
    return key;
  };

  return {
    async download(key, destination) {
      let body: Readable;
      try {
        const object = await client.send(
          new GetObjectCommand({ Bucket: options.bucket, Key: checkKey(key) }),
        );
        body = object.Body as Readable;
      } catch (error) {
        if (error instanceof NoSuchKey || (error as { name?: string }).name === "NoSuchKey") {
          throw new StorageNotFoundError(key);
        }
        throw error;
      }
      try {
        await pipeline(body, createWriteStream(destination));
      } catch (error) {
        await rm(destination, { force: true });
        throw error;
      }
      return { sizeBytes: (await stat(destination)).size };
    },

    async upload(source, key) {
      const { size } = await stat(source);
      const upload = new Upload({
        client,
        params: {
          Bucket: options.bucket,
          Key: checkKey(key),
          Body: createReadStream(source),
          ContentLength: size,
        },
        partSize: options.partSizeBytes ?? 8 * 1024 * 1024,
        queueSize: 2,
        leavePartsOnError: false,
      });
      await upload.done();
      return { sizeBytes: size };
    },

    async remove(key) {
      await client.send(new DeleteObjectCommand({ Bucket: options.bucket, Key: checkKey(key) }));
    },
  };
}
