import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { isSafeStorageKey } from "@framewire/shared";
import { type ObjectStore, ObjectTooLargeError } from "./object-store";
import type { S3Settings } from "./storage-config";

/**
 * S3-compatible storage seen from the edge: presigned PUTs for uploads (Content-Length signed, so
 * the store itself refuses a body of another length), presigned GETs for outputs, HeadObject to
 * check what a client really uploaded, and deletes for retention. No bytes pass through the edge,
 * which is what lets it run on Workers. Runs on Node and in workerd (Web Crypto, fetch).
 */
export function createS3ObjectStore(settings: S3Settings): ObjectStore {
  const clientFor = (endpoint: string | null) =>
    new S3Client({
      region: settings.region,
      forcePathStyle: settings.forcePathStyle,
      requestChecksumCalculation: settings.checksums,
      responseChecksumValidation: settings.checksums,
      ...(endpoint ? { endpoint } : {}),
      ...(settings.credentials ? { credentials: settings.credentials } : {}),
    });
  const api = clientFor(settings.endpoint);
  // The signature covers the host, so URLs handed to clients are signed for the address *they*
  // use (a public endpoint in front of a store the edge reaches privately, as in docker-compose).
  const signer = settings.publicEndpoint ? clientFor(settings.publicEndpoint) : api;
  const Bucket = settings.bucket;
  const signWindowMs = Math.floor(settings.downloadUrlTtlSec / 4) * 1000;
  const downloadUrls = new Map<string, { windowStart: number; url: string }>();
  const maxCachedUrls = 10_000;
  const checked = (key: string) => {
    if (!isSafeStorageKey(key)) throw new Error(`unsafe storage key ${key}`);
    return key;
  };

  return {
    kind: "s3",
    bytes: null,

    async uploadTarget(upload, now) {
      const command = new PutObjectCommand({
        Bucket,
        Key: checked(upload.key),
        ...(upload.sizeBytes !== null ? { ContentLength: upload.sizeBytes } : {}),
      });
      const url = await getSignedUrl(signer, command, {
        expiresIn: settings.uploadUrlTtlSec,
        signingDate: new Date(now),
      });
      return {
        url,
        method: "PUT",
        headers: (upload.sizeBytes !== null ? { "content-length": String(upload.sizeBytes) } : {}) as Record<
          string,
          string
        >,
        expires_at: new Date(now + settings.uploadUrlTtlSec * 1000).toISOString(),
      };
    },

    async downloadUrl(key, now) {
      // Presigning costs ~1 ms of SDK work (measured here under load), too much for every job read.
      // URLs are signed as of the start of a window a quarter of the TTL long and reused within
      // it: a link handed out lives between ¾ of FW_DOWNLOAD_TTL_SEC and all of it, and repeated
      // reads of a job get the same URL (friendlier to caches too).
      const windowStart = Math.floor(now / signWindowMs) * signWindowMs;
      const cached = downloadUrls.get(key);
      if (cached && cached.windowStart === windowStart) return cached.url;
      const name = key.split("/").at(-1) ?? "download";
      const command = new GetObjectCommand({
        Bucket,
        Key: checked(key),
        ResponseContentDisposition: `attachment; filename="${name}"`,
      });
      const url = await getSignedUrl(signer, command, {
        expiresIn: settings.downloadUrlTtlSec,
        signingDate: new Date(windowStart),
      });
      if (downloadUrls.size >= maxCachedUrls) downloadUrls.clear();
      downloadUrls.set(key, { windowStart, url });
      return url;
    },

    async readText(key, maxBytes) {
      try {
        const object = await api.send(new GetObjectCommand({ Bucket, Key: checked(key) }));
        if ((object.ContentLength ?? 0) > maxBytes) {
          await object.Body?.transformToWebStream().cancel();
          throw new ObjectTooLargeError(key, maxBytes);
        }
        return (await object.Body?.transformToString("utf-8")) ?? "";
      } catch (error) {
        if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404)
          return null;
        throw error;
      }
    },

    async head(key) {
      try {
        const object = await api.send(new HeadObjectCommand({ Bucket, Key: checked(key) }));
        return { sizeBytes: object.ContentLength ?? 0 };
      } catch (error) {
        if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404)
          return null;
        throw error;
      }
    },

    async probe(key) {
      const content = `framewire probe ${key}`;
      await api.send(new PutObjectCommand({ Bucket, Key: checked(key), Body: content }));
      const object = await api.send(new GetObjectCommand({ Bucket, Key: key }));
      const text = (await object.Body?.transformToString("utf-8")) ?? "";
      await api.send(new DeleteObjectCommand({ Bucket, Key: key }));
      if (text !== content) throw new Error("the probe object read back differs from what was written");
    },

    async deleteTree(key) {
      checked(key);
      let deleted = 0;
      let token: string | undefined;
      do {
        // One listing finds the object itself (an upload) and everything under its folder (a job).
        const page = await api.send(
          new ListObjectsV2Command({ Bucket, Prefix: key, ContinuationToken: token, MaxKeys: 1000 }),
        );
        const keys = (page.Contents ?? [])
          .map((o) => o.Key as string)
          .filter((k) => k === key || k.startsWith(`${key}/`));
        if (keys.length > 0) {
          await api.send(
            new DeleteObjectsCommand({
              Bucket,
              Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
            }),
          );
          deleted += keys.length;
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return deleted;
    },
  };
}
