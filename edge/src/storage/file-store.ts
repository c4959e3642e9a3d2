/** The edge's view of the local object store: it accepts uploads and serves signed downloads. */
export interface FileStore {
  /** Streams a body to `key`, refusing more than `maxBytes` (the partial object is removed). */
  put(key: string, body: ReadableStream<Uint8Array>, maxBytes: number): Promise<{ sizeBytes: number }>;
  get(key: string): Promise<{ body: ReadableStream<Uint8Array>; sizeBytes: number } | null>;
}

export class UploadTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`upload exceeds ${maxBytes} bytes`);
  }
}
