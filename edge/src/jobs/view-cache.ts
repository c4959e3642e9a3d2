/**
 * Rendered job views (`GET /v1/jobs/:id` bodies) kept in memory, so that a client polling a job
 * costs one one-column read instead of the whole row, its mapping, the signed links and the JSON.
 *
 * A view stays valid while both hold:
 * - the job's `version` is the one it was rendered from (a trigger moves it on every update of the
 *   row, from any code path or edge process: shared/migrations/0007_job_version.sql);
 * - the signing window is the same: the progress token's expiry, which moves once a minute
 *   (jobs/present.ts). Download links in a view were signed up to that minute earlier, so they
 *   live at most a minute less than freshly signed ones.
 *
 * Only where reading the version is cheap (a local database file): on a remote database a miss
 * would cost a second round trip. Bounded by the bytes it holds; the least recently used go first.
 */
export interface JobViewCache {
  get(id: string, version: number, window: number): string | undefined;
  set(id: string, version: number, window: number, body: string): void;
}

interface Entry {
  version: number;
  window: number;
  body: string;
}

export function createJobViewCache(options: { maxBytes?: number } = {}): JobViewCache {
  const maxBytes = options.maxBytes ?? 32 * 1024 * 1024;
  const entries = new Map<string, Entry>();
  let bytes = 0;
  const remove = (id: string) => {
    const entry = entries.get(id);
    if (!entry) return;
    entries.delete(id);
    bytes -= entry.body.length;
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
      if (body.length > maxBytes) return;
      entries.set(id, { version, window, body });
      bytes += body.length;
      for (const oldest of entries.keys()) {
        if (bytes <= maxBytes) break;
        remove(oldest);
      }
    },
  };
}
