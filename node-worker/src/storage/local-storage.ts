import { copyFile, mkdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { isSafeStorageKey } from "@framewire/shared";
import { type Storage, StorageNotFoundError } from "./storage";

/** The local folder store, shared with the edge (which accepts uploads into it and serves downloads). */
export function createLocalStorage(root: string): Storage {
  const base = resolve(root);
  const pathOf = (key: string) => {
    const path = resolve(join(base, key));
    if (!isSafeStorageKey(key) || !path.startsWith(base + sep)) throw new Error(`unsafe storage key ${key}`);
    return path;
  };
  return {
    async download(key, destination) {
      const path = pathOf(key);
      const info = await stat(path).catch(() => null);
      if (!info?.isFile()) throw new StorageNotFoundError(key);
      await copyFile(path, destination);
      return { sizeBytes: info.size };
    },
    async upload(source, key) {
      const path = pathOf(key);
      await mkdir(dirname(path), { recursive: true });
      // Copy then rename, so a reader never sees a half-written object.
      const partial = `${path}.partial-${process.pid}`;
      try {
        await copyFile(source, partial);
        await rename(partial, path);
      } catch (error) {
        await rm(partial, { force: true });
        throw error;
      }
      return { sizeBytes: (await stat(path)).size };
    },
    async remove(key) {
      await rm(pathOf(key), { force: true });
    },
  };
}
