/**
 * The edge's view of the object store. Two implementations: the local folder (bytes pass through
 * this edge: `PUT /v1/uploads/:id` in, signed `/files/…` links out) and S3-compatible storage
 * (clients PUT and GET the store directly with presigned URLs; the edge only signs, checks sizes
 * and deletes). Node picks one from its environment; Workers have S3 or nothing.
 */
export interface ObjectStore {
  readonly kind: "local" | "s3";
  /** Where the client sends an upload's bytes, valid until `expires_at`. */
  uploadTarget(upload: UploadTargetRequest, now: number): Promise<UploadTarget>;
  /** A time-limited download URL for a stored object. */
  downloadUrl(key: string, now: number): Promise<string>;
  /** The stored object's size, or null when there is none. */
  head(key: string): Promise<{ sizeBytes: number } | null>;
  /**
   * A small text object (an HLS playlist) read by the edge itself; null when there is none. Refuses
   * objects larger than `maxBytes` rather than reading them into memory.
   */
  readText(key: string, maxBytes: number): Promise<string | null>;
  /** Deletes the object at `key` and every object under `key/`; answers how many went. */
  deleteTree(key: string): Promise<number>;
  /**
   * Writes a small object at `key`, reads it back and deletes it: what `GET /v1/health/detailed`
   * and `framewire doctor` use to tell a store that works from one that only answers.
   */
  probe(key: string): Promise<void>;
  /** The bytes themselves, when they pass through this edge (the local store); null for S3. */
  readonly bytes: FileStore | null;
}

export interface UploadTargetRequest {
  id: string;
  key: string;
  /** Declared size; S3 signs it, so the store refuses a body of any other length. */
  sizeBytes: number | null;
  contentType: string | null;
}

export interface UploadTarget {
  url: string;
  method: "PUT";
  /** Headers the PUT must carry (a presigned URL is signed over them). */
  headers: Record<string, string>;
  expires_at: string | null;
}

/** Bytes in and out of a store the edge reaches itself (the local folder on Node). */
export interface FileStore {
  /** Streams a body to `key`, refusing more than `maxBytes` (the partial object is removed). */
  put(key: string, body: ReadableStream<Uint8Array>, maxBytes: number): Promise<{ sizeBytes: number }>;
  get(key: string): Promise<{ body: ReadableStream<Uint8Array>; sizeBytes: number } | null>;
  stat(key: string): Promise<{ sizeBytes: number } | null>;
  /** Removes `key` and everything under `key/`. */
  deleteTree(key: string): Promise<number>;
}

export class ObjectTooLargeError extends Error {
  constructor(
    readonly key: string,
    readonly maxBytes: number,
  ) {
    super(`${key} is larger than ${maxBytes} bytes`);
  }
}

export class UploadTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`upload exceeds ${maxBytes} bytes`);
  }
}
