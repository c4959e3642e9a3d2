import { closeSync, openSync, readSync, realpathSync } from "node:fs";
import { endianness } from "node:os";

/**
 * A mark that moves whenever anything commits to a WAL-mode SQLite database, through any connection
 * of any process: the WAL-index header at the start of the database's `-shm` file, read with one
 * pread and no lock.
 *
 * Why: a polled `GET /v1/jobs/:id` had to learn whether the job changed, and the cheapest question
 * SQLite answers (the row's version, or `PRAGMA data_version`) is a read transaction: shared-memory
 * locks taken and dropped with fcntl, pages looked up. Under the API bench's load, a build that
 * skipped that one read spent about 40% less CPU per request. While the mark has not moved, no
 * version has changed, and no read is needed; when it moves, one read lists the jobs updated since
 * (jobs/view-cache.ts).
 *
 * Why it is sound: every commit rewrites the header (its change counter, last frame and checksums
 * move; a WAL restart changes its salts), and nothing else does, so two equal reads mean no commit
 * in between. A read that overlaps a commit sees the old header, the new one, or a mix of the two
 * that matches neither, which only costs a database read. The layout is SQLite's documented
 * WAL-index (https://www.sqlite.org/walformat.html, version 3007000), in the host's byte order; a
 * file that does not look like one gives no mark, and every request then reads the version as
 * before.
 *
 * One descriptor per file and process, shared by every database opened on it here, and closed only
 * when the last of them closes: closing any descriptor of a file drops every POSIX lock this process
 * holds on it, SQLite's own locks on the `-shm` file among them (the test reads /proc/locks). Call
 * `close` only after the database's connection is closed.
 */
export interface WalChangeMark {
  /**
   * The header as it is now (an opaque string): equal strings mean no commit in between. Null where
   * there is no mark to trust (an unknown layout, a failed read): the caller reads the database.
   */
  read(): string | null;
  close(): void;
}

const headerBytes = 48;
const walIndexVersion = 3007000;

/** Open `-shm` descriptors by the database file's real path: one per file, with its users. */
const shared = new Map<string, { fd: number; users: number }>();

/** The mark of the database at `dbPath` (already open in WAL mode), or null where it has none. */
export function openWalChangeMark(dbPath: string): WalChangeMark | null {
  if (endianness() !== "LE") return null;
  let key: string;
  try {
    key = realpathSync(dbPath);
  } catch {
    return null;
  }
  let entry = shared.get(key);
  if (!entry) {
    try {
      entry = { fd: openSync(`${key}-shm`, "r"), users: 0 };
    } catch {
      return null;
    }
    shared.set(key, entry);
  }
  entry.users++;
  const { fd } = entry;
  const header = Buffer.alloc(headerBytes);
  let closed = false;
  const read = () => {
    if (closed) return null;
    try {
      if (readSync(fd, header, 0, headerBytes, 0) !== headerBytes) return null;
    } catch {
      return null;
    }
    return header.toString("latin1");
  };
  const close = () => {
    if (closed) return;
    closed = true;
    const current = shared.get(key);
    if (!current || --current.users > 0) return;
    shared.delete(key);
    closeSync(current.fd);
  };
  // iVersion, then isInit: a header SQLite has written, in the format described above. Otherwise
  // there is no mark, and the descriptor still waits for `close` (see above).
  const known = read() !== null && header.readUInt32LE(0) === walIndexVersion && header[12] === 1;
  return { read: known ? read : () => null, close };
}

/** How old a mark may be and still be used again (see below). */
const reuseWithinMs = 1;

/**
 * `read`, made again only when needed: the polls that arrive together share one pread, about 9 µs
 * of a cached poll's ~110 µs.
 *
 * A caller passes `notBefore`: when the turn of the event loop that took its request in began
 * (jobs/view-cache.ts, `requestTurnStart`). A mark read since then is used again, and one read
 * before is not. Why that is enough: a client that saw a commit's effect (another edge process
 * answered it) sent its request after that commit, so the request was in its socket before the turn
 * that took it in began, and a mark read during that turn is at least as new as the commit.
 * Commits by other processes during the turn are concurrent with the requests being handled.
 *
 * A second request from the same connection in one turn (HTTP/1.1 pipelining) may have arrived
 * after the turn began; `requestTurnStart` gives it a `notBefore` no mark meets, so it reads.
 *
 * Also read again: after any write through this process's connection (`forget`, called by the
 * client), since the requests after it in the same turn must see it; and once the mark is a
 * millisecond old. That bounds the one case the turn does not cover: with more than 1,024 sockets
 * ready at once, libuv polls again within one turn, and takes in requests that arrived after the
 * turn began.
 */
export function reuseRecentMark(
  read: () => string | null,
  maxAgeMs = reuseWithinMs,
): {
  read: (notBefore?: number) => string | null;
  forget: () => void;
} {
  let mark: string | null = null;
  let readAt = Number.NEGATIVE_INFINITY;
  return {
    read(notBefore) {
      const now = performance.now();
      if (notBefore !== undefined && readAt >= notBefore && now - readAt <= maxAgeMs) return mark;
      mark = read();
      readAt = now;
      return mark;
    },
    forget() {
      readAt = Number.NEGATIVE_INFINITY;
    },
  };
}
