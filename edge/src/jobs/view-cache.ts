import type { EdgeConfig } from "../config";
import { progressExpiry } from "./progress-expiry";

/**
 * Rendered job views (`GET /v1/jobs/:id` bodies) kept in memory, so that a client polling a job
 * costs at most one one-column read instead of the whole row, its mapping, the signed links and the
 * JSON; and, where the database has a change mark, no read at all while nothing was committed.
 *
 * A view stays valid while both hold:
 * - the job's `version` is the one it was rendered from (a trigger moves it on every update of the
 *   row, from any code path or edge process: shared/migrations/0007_job_version.sql);
 * - the signing window is the same (`viewWindow`): the progress token's expiry, which moves once a
 *   minute (jobs/present.ts), and a tenth of the download links' lifetime, so a link in a view
 *   served late still lives at least nine tenths of FW_DOWNLOAD_TTL_SEC (S3's presigned links,
 *   signed up to a quarter of it early, at least 0.65).
 *
 * The version itself is known without a read while the change mark (`changeMark`: a string that
 * moves on every commit to the database, by any connection; nodejs/wal-change-mark.ts) is the one
 * taken before the version was last read. A version is only ever answered to the tenant it was read
 * for.
 *
 * Only where reading the version is cheap (a local database file): on a remote database a miss
 * would cost a second round trip. Bounded by the characters it holds (UTF-16 code units, about the
 * bytes of these mostly-ASCII bodies, plus a fixed share per entry); the least recently used go
 * first.
 */
export interface JobViewCache {
  /**
   * The database's change mark now, or as read since `notBefore` (the request's
   * `requestTurnStart`; see nodejs/wal-change-mark.ts); null where there is none (every request
   * then reads).
   */
  mark(notBefore?: number): string | null;
  /** The job's version, if read for this tenant with nothing committed since `mark` was taken. */
  versionAt(id: string, tenantId: string, mark: string | null): number | undefined;
  /** A version read for this tenant after `mark` was taken. */
  noteVersion(id: string, tenantId: string, version: number, mark: string | null): void;
  /** The view rendered from this version in this signing window, if any. */
  get(id: string, version: number, window: string): string | undefined;
  /** A view rendered from a row read for this tenant after `mark` was taken. */
  set(id: string, tenantId: string, version: number, mark: string | null, window: string, body: string): void;
}

interface Entry {
  tenantId: string;
  version: number;
  /** The change mark taken before `version` was read; null: none (the version must be read). */
  mark: string | null;
  view: { window: string; body: string } | null;
}

let turnStart: number | null = null;

/**
 * When the turn of the event loop that is taking requests in began: the first request of the turn
 * notes the time, and it holds until the turn's immediates run (after every socket that was ready
 * was read). A change mark read since then is as new as anything that happened before any of the
 * turn's requests arrived (nodejs/wal-change-mark.ts). Called as a request comes in, before it
 * waits on anything.
 */
export function requestTurnStart(): number {
  if (turnStart === null) {
    turnStart = performance.now();
    setImmediate(() => {
      turnStart = null;
    });
  }
  return turnStart;
}

/** Characters counted for an entry besides its body: its id, tenant, mark and the Map's slot. */
const entryOverhead = 256;

/** The signing window a view (and its ETag) belongs to; see above. */
export function viewWindow(
  config: Pick<EdgeConfig, "progressTtlSec" | "downloadTtlSec">,
  now: number,
): string {
  const sliceMs = Math.min(60_000, Math.max(1_000, config.downloadTtlSec * 100));
  return `${progressExpiry(config, now)}.${Math.floor(now / sliceMs)}`;
}

export function createJobViewCache(
  options: { maxChars?: number; changeMark?: ((notBefore?: number) => string | null) | null } = {},
): JobViewCache {
  const maxChars = options.maxChars ?? 32 * 1024 * 1024;
  const changeMark = options.changeMark ?? (() => null);
  const entries = new Map<string, Entry>();
  let chars = 0;
  const size = (entry: Entry) => entryOverhead + (entry.view?.body.length ?? 0);
  const remove = (id: string) => {
    const entry = entries.get(id);
    if (!entry) return;
    entries.delete(id);
    chars -= size(entry);
  };
  const put = (id: string, entry: Entry) => {
    remove(id);
    if (size(entry) > maxChars) return;
    entries.set(id, entry);
    chars += size(entry);
    for (const oldest of entries.keys()) {
      if (chars <= maxChars) break;
      remove(oldest);
    }
  };
  /** Re-inserted: the Map's order is least recently used first. */
  const touch = (id: string, entry: Entry) => {
    entries.delete(id);
    entries.set(id, entry);
  };
  return {
    mark: changeMark,
    versionAt(id, tenantId, mark) {
      const entry = entries.get(id);
      if (mark === null || !entry || entry.mark !== mark || entry.tenantId !== tenantId) return undefined;
      return entry.version;
    },
    noteVersion(id, tenantId, version, mark) {
      const entry = entries.get(id);
      if (entry && entry.tenantId === tenantId && entry.version === version) {
        entry.mark = mark;
        touch(id, entry);
        return;
      }
      put(id, { tenantId, version, mark, view: null });
    },
    get(id, version, window) {
      const entry = entries.get(id);
      if (!entry?.view || entry.version !== version || entry.view.window !== window) return undefined;
      touch(id, entry);
      return entry.view.body;
    },
    set(id, tenantId, version, mark, window, body) {
      put(id, { tenantId, version, mark, view: { window, body } });
    },
  };
}
