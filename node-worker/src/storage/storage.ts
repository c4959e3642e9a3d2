/** Where a node reads inputs from and writes outputs to. Local folder today; S3 joins behind the same interface. */
export interface Storage {
  /** Copies the object at `key` to a local file. Throws StorageNotFoundError when it does not exist. */
  download(key: string, destination: string): Promise<{ sizeBytes: number }>;
  /** Stores a local file under `key`, replacing any object there. */
  upload(source: string, key: string): Promise<{ sizeBytes: number }>;
  /** Deletes the object at `key` (nothing there is not an error). */
  remove(key: string): Promise<void>;
}

export class StorageNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`no object at ${key}`);
  }
}
