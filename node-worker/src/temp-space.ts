import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";

/** Bytes of the files under `dir` (their sizes, as `du --apparent-size` counts); 0 when it is gone. */
export async function folderBytes(dir: string): Promise<number> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  let total = 0;
  // In batches: an HLS ladder's folder can hold thousands of segments.
  for (let i = 0; i < entries.length; i += 256) {
    const sizes = await Promise.all(
      entries
        .slice(i, i + 256)
        .filter((e) => e.isFile())
        .map((e) =>
          lstat(join(e.parentPath, e.name)).then(
            (s) => s.size,
            () => 0,
          ),
        ),
    );
    for (const size of sizes) total += size;
  }
  return total;
}

/**
 * Watches a job's work folder against FW_JOB_TEMP_MB while it runs (the input being fetched, the
 * engine's outputs before upload): `onExceeded` is called once, with the size seen, when it passes
 * `limitBytes`. Polling, not a quota: per-folder quotas need a file system and privileges a node
 * usually lacks. Four looks a second: the overshoot is what the disk writes in a quarter second.
 */
export function watchTempSpace(
  dir: string,
  limitBytes: number,
  onExceeded: (usedBytes: number) => void,
  intervalMs = 250,
): { stop(): void } {
  let fired = false;
  let busy = false;
  const timer = setInterval(() => {
    if (busy || fired) return;
    busy = true;
    void folderBytes(dir)
      .then((used) => {
        if (used > limitBytes && !fired) {
          fired = true;
          onExceeded(used);
        }
      })
      .finally(() => {
        busy = false;
      });
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
