import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as NodeWebReadableStream } from "node:stream/web";
import { isSafeStorageKey } from "@framewire/shared";
import { type FileStore, UploadTooLargeError } from "../storage/object-store";

/** The local folder store (the default). Writes go to a temp name and are renamed when complete. */
export function createLocalFileStore(root: string): FileStore {
  const base = resolve(root);
  const pathOf = (key: string) => {
    const path = resolve(join(base, key));
    if (!isSafeStorageKey(key) || !path.startsWith(base + sep)) throw new Error(`unsafe storage key ${key}`);
    return path;
  };

  return {
    async put(key, body, maxBytes) {
      const path = pathOf(key);
      await mkdir(dirname(path), { recursive: true });
      const partial = `${path}.partial-${process.pid}-${Date.now()}`;
      let size = 0;
      const limiter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          size += chunk.length;
          if (size > maxBytes) callback(new UploadTooLargeError(maxBytes));
          else callback(null, chunk);
        },
      });
      try {
        await pipeline(
          Readable.fromWeb(body as NodeWebReadableStream<Uint8Array>),
          limiter,
          createWriteStream(partial),
        );
        await rename(partial, path);
      } catch (error) {
        await rm(partial, { force: true });
        throw error;
      }
      return { sizeBytes: size };
    },

    async get(key) {
      const path = pathOf(key);
      const info = await stat(path).catch(() => null);
      if (!info?.isFile()) return null;
      return {
        body: Readable.toWeb(createReadStream(path)) as unknown as ReadableStream<Uint8Array>,
        sizeBytes: info.size,
      };
    },

    async stat(key) {
      const info = await stat(pathOf(key)).catch(() => null);
      return info?.isFile() ? { sizeBytes: info.size } : null;
    },

    async deleteTree(key) {
      // A job's outputs are one file per output plus a folder per multi-file output, all under
      // the job's own folder: removing the folder removes them all.
      const path = pathOf(key);
      const existed = await stat(path).then(
        () => 1,
        () => 0,
      );
      await rm(path, { recursive: true, force: true });
      return existed;
    },
  };
}
