import type { EdgeConfig } from "../config";
import { progressExpiry } from "./progress-expiry";

/**
 * Rendered job views (`GET /v1/jobs/:id` bodies) kept in memory, so that a client polling a job
 * costs one one-column read instead of the whole row, its mapping, the signed links and the JSON.
 *
 * A view stays valid while both hold:
 * - the job's `version` is the one it was rendered from (a trigger moves it on every update of the
 *   row, from any code path or edge process: shared/migrations/0007_job_version.sql);
 * - the signing window is the same (`viewWindow`): the progress token's expiry, which moves once a
 *   minute (jobs/present.ts), and a tenth of the download links' lifetime, so a link in a view
 *   served late still lives at least nine tenths of FW_DOWNLOAD_TTL_SEC (S3's presigned links,
 *   signed up to a quarter of it early, at least 0.65).
 *
 * Only where reading the version is cheap (a local database file): on a remote database a miss
 * would cost a second round trip. Bounded by the characters it holds (UTF-16 code units, about the
 * bytes of these mostly-ASCII bodies); the least recently used go first.
 */
export interface JobViewCache {
  get(id: string, version: number, window: string): string | undefined;
  set(id: string, version: number, window: string, body: string): void;
}

interface Entry {
  version: number;
  window: string;
  body: string;
}

/** The signing window a view (and its ETag) belongs to; see above. */
export function viewWindow(
  config: Pick<EdgeConfig, "progressTtlSec" | "downloadTtlSec">,
  now: number,
): string {
  const sliceMs = Math.min(60_000, Math.max(1_000, config.downloadTtlSec * 100));
  return `${progressExpiry(config, now)}.${Math.floor(now / sliceMs)}`;
}

export function createJobViewCache(options: { maxChars?: number } = {}): JobViewCache {
  const maxChars = options.maxChars ?? 32 * 1024 * 1024;
  const entries = new Map<string, Entry>();
  let chars = 0;
  const remove = (id: string) => {
    const entry = entries.get(id);
    if (!entry) return;
    entries.delete(id);
    chars -= entry.body.length;
  };
  return {
    get(id, version, window) {
      const entry = entries.get(id);
      if (!entry) return undefined;
      if (entry.version !== version || entry.window !== window) {
        remove(id);
        return undefined;
      }
      // Re-inserted: the Map's order is least recently used first.
      entries.delete(id);
      entries.set(id, entry);
      return entry.body;
    },
    set(id, version, window, body) {
      remove(id);
      if (body.length > maxChars) return;
      entries.set(id, { version, window, body });
      chars += body.length;
      for (const oldest of entries.keys()) {
        if (chars <= maxChars) break;
        remove(oldest);
      }
    },
  };
}
