import type { EdgeConfig } from "../config";
import type { Db } from "../db";
import type { Logger } from "../logger";
import { progressExpiry } from "./progress-expiry";
import { jobChangesSince } from "./repository";

/**
 * Rendered job views (`GET /v1/jobs/:id` bodies) kept in memory, so that a client polling a job
 * costs at most one one-column read instead of the whole row, its mapping, the signed links and the
 * JSON; and, where the database has a change mark, no read at all while the job is unchanged.
 *
 * A view stays valid while both hold:
 * - the job's `version` is the one it was rendered from (a trigger moves it on every update of a
 *   column the view shows, `jobViewColumns`, from any code path or edge process: migrations 0007
 *   and 0010);
 * - the signing window is the same (`viewWindow`): the progress token's expiry, which moves once a
 *   minute (jobs/present.ts), and a tenth of the download links' lifetime, so a link in a view
 *   served late still lives at least nine tenths of FW_DOWNLOAD_TTL_SEC (S3's presigned links,
 *   signed up to a quarter of it early, at least 0.65).
 *
 * The version itself is known without a read while the job has not been updated since it was read.
 * The cache learns which jobs were: the change mark (`changeMark`: a string that moves on every
 * commit to the database, by any connection; nodejs/wal-change-mark.ts) says whether anything was
 * committed, and when it moved, one read (`changedSince`: the jobs whose `change_seq` passed the
 * last one seen, migrations 0009 and 0010) names the updated jobs, whose versions are then forgotten. Under
 * load, commits come all the time (submissions, nodes' reports), and a mark alone would have every
 * poll read its job's version; this way a poll of an unchanged job reads nothing, and a turn of the
 * event loop reads the changes once for all its requests. A version is only ever answered to the
 * tenant it was read for.
 *
 * Only where reading the version is cheap (a local database file): on a remote database a miss
 * would cost a second round trip. Bounded by the characters it holds (UTF-16 code units, about the
 * bytes of these mostly-ASCII bodies, plus a fixed share per entry); the least recently used go
 * first.
 */
export interface JobViewCache {
  /**
   * Where the cache stands for a request taken in at `notBefore` (its `requestTurnStart`; see
   * nodejs/wal-change-mark.ts): once it settles, every job update committed before then has been
   * applied, and the number it gives is what the request passes below. Null where there is no
   * change mark, or the changes could not be read (the request then reads the version).
   */
  fresh(notBefore?: number): number | null | Promise<number | null>;
  /** The job's version, if read for this tenant and the job has not been updated since. */
  versionAt(id: string, tenantId: string, at: number | null): number | undefined;
  /** A version read for this tenant after `fresh` gave `at`. */
  noteVersion(id: string, tenantId: string, version: number, at: number | null): void;
  /** The view rendered from this version in this signing window, if any. */
  get(id: string, version: number, window: string): string | undefined;
  /** A view rendered from a row read for this tenant after `fresh` gave `at`. */
  set(id: string, tenantId: string, version: number, at: number | null, window: string, body: string): void;
}

/** The jobs updated since change number `after` (jobs/repository.ts, `jobChangesSince`). */
export type JobChangesSince = (after: number | null) => Promise<{ seq: number; ids: string[] | null }>;

/**
 * Updated jobs read at once, at most; past that the cache reads every version again (after a lull
 * in polling, say), which costs less than listing them all.
 */
const changesPerRead = 2_000;

/**
 * The view cache of a local database file with a change mark (nodejs/database.ts). A failed read of
 * the changes is logged at most once a minute (every poll reads its version meanwhile).
 */
export function localJobViewCache(
  database: { db: Db; changeMark: ((notBefore?: number) => string | null) | null },
  logger?: Pick<Logger, "warn">,
): JobViewCache {
  let loggedAt = Number.NEGATIVE_INFINITY;
  return createJobViewCache({
    changeMark: database.changeMark,
    changedSince: (after) => jobChangesSince(database.db, after, changesPerRead),
    onReadFailed: (error) => {
      if (performance.now() - loggedAt < 60_000) return;
      loggedAt = performance.now();
      logger?.warn({ err: error }, "job-views:changes:unread");
    },
  });
}

interface Entry {
  tenantId: string;
  version: number;
  /**
   * `version` is known current without a read while this is the cache's `trustEpoch` (see
   * `noteVersion`); any other number: read it again.
   */
  trustedIn: number;
  view: { window: string; body: string } | null;
}

let turnStart: number | null = null;
/** The connections a request of this turn came from. */
const turnConnections = new Set<object>();

/**
 * When the turn of the event loop that is taking requests in began: the first request of the turn
 * notes the time, and it holds until the turn's immediates run (after every socket that was ready
 * was read). A change mark read since then is as new as anything that happened before any of the
 * turn's requests arrived (nodejs/wal-change-mark.ts). Called as a request comes in, before it
 * waits on anything.
 *
 * Except for a second request from the same `connection` in one turn: with HTTP/1.1 pipelining it
 * may have arrived after the turn began (libuv goes on reading a socket that has more), and is
 * answered from a mark read after it came in (Infinity: no mark read so far will do).
 */
export function requestTurnStart(connection?: object): number {
  if (turnStart === null) {
    turnStart = performance.now();
    setImmediate(() => {
      turnStart = null;
      turnConnections.clear();
    });
  }
  if (connection !== undefined) {
    if (turnConnections.has(connection)) return Number.POSITIVE_INFINITY;
    turnConnections.add(connection);
  }
  return turnStart;
}

/** Characters counted for an entry besides its body: its id, tenant and the Map's slot. */
const entryOverhead = 256;

/** The signing window a view (and its ETag) belongs to; see above. */
export function viewWindow(
  config: Pick<EdgeConfig, "progressTtlSec" | "downloadTtlSec">,
  now: number,
): string {
  return `${progressExpiry(config, now)}.${Math.floor(now / linkSliceMs(config))}`;
}

/**
 * How long download links signed at different moments count as the same: a tenth of their
 * lifetime (so one handed out a whole slice late still lives nine tenths of it), a minute at most.
 */
export function linkSliceMs(config: Pick<EdgeConfig, "downloadTtlSec">): number {
  return Math.min(60_000, Math.max(1_000, config.downloadTtlSec * 100));
}

export function createJobViewCache(
  options: {
    maxChars?: number;
    changeMark?: ((notBefore?: number) => string | null) | null;
    changedSince?: JobChangesSince | null;
    /** A read of the changes failed (nothing was applied; polls read their versions meanwhile). */
    onReadFailed?: (error: unknown) => void;
  } = {},
): JobViewCache {
  const maxChars = options.maxChars ?? 32 * 1024 * 1024;
  const changeMark = options.changeMark ?? null;
  const changedSince = options.changedSince ?? null;
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

  /** The last change number applied; null until the first read of the changes. */
  let seq: number | null = null;
  /** The change mark read before the last read of the changes began: while it stands, nothing is new. */
  let appliedMark: string | null = null;
  /**
   * Reads of the changes applied so far. A version is trusted only if no read was applied between
   * the request's `fresh` and the version's note: one applied meanwhile may have looked for the job
   * before it was in the cache, and missed an update made after its version was read.
   */
  let applied = 0;
  /** Moves when too many jobs changed to list: every version known so far is read again. */
  let trustEpoch = 0;
  /** The epoch a version read after `fresh` gave `at` is trusted in; -1: none (see `applied`). */
  const trustFor = (at: number | null) => (at !== null && at === applied ? trustEpoch : -1);
  /** The read of the changes that has not begun yet, which requests arriving now wait for. */
  let queued: { mark: string; done: Promise<number | null> } | null = null;
  let last: Promise<unknown> = Promise.resolve();

  const readChanges = async (read: JobChangesSince, mark: string): Promise<number | null> => {
    try {
      const changes = await read(seq);
      if (changes.ids === null) {
        // Every version is read again; the views stay, each right for the version it was made from.
        trustEpoch++;
      } else {
        for (const id of changes.ids) remove(id);
      }
      seq = changes.seq;
      appliedMark = mark;
      return ++applied;
    } catch (error) {
      // Nothing learnt: this request reads the version, and the next mark that differs reads again.
      options.onReadFailed?.(error);
      return null;
    }
  };

  /**
   * Waits for a read of the changes that begins after `mark` was read. One already under way may
   * have read the database before, so this joins the next one, which every request that arrives
   * before it begins shares, labelled with the last mark they read (any of them was read before it).
   */
  const afterChanges = (read: JobChangesSince, mark: string): Promise<number | null> => {
    if (queued) {
      queued.mark = mark;
      return queued.done;
    }
    const next: { mark: string; done: Promise<number | null> } = {
      mark,
      done: last.then((): Promise<number | null> => {
        queued = null;
        return readChanges(read, next.mark);
      }),
    };
    queued = next;
    last = next.done;
    return next.done;
  };

  return {
    fresh(notBefore) {
      if (!changeMark || !changedSince) return null;
      const mark = changeMark(notBefore);
      if (mark === null) return null;
      // Nothing was committed since the changes last applied were read: all of them are known.
      if (mark === appliedMark) return applied;
      return afterChanges(changedSince, mark);
    },
    versionAt(id, tenantId, at) {
      const entry = entries.get(id);
      if (at === null || entry?.trustedIn !== trustEpoch || entry.tenantId !== tenantId) return undefined;
      return entry.version;
    },
    noteVersion(id, tenantId, version, at) {
      const trustedIn = trustFor(at);
      const entry = entries.get(id);
      if (entry && entry.tenantId === tenantId && entry.version === version) {
        // A late note of the version the entry already holds takes no trust away from it.
        if (trustedIn === trustEpoch) entry.trustedIn = trustEpoch;
        touch(id, entry);
        return;
      }
      if (trustedIn === trustEpoch) put(id, { tenantId, version, trustedIn, view: null });
    },
    get(id, version, window) {
      const entry = entries.get(id);
      if (!entry?.view || entry.version !== version || entry.view.window !== window) return undefined;
      touch(id, entry);
      return entry.view.body;
    },
    set(id, tenantId, version, at, window, body) {
      put(id, { tenantId, version, trustedIn: trustFor(at), view: { window, body } });
    },
  };
}
