import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { sql } from "drizzle-orm";
import Database from "libsql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requestTurnStart } from "../jobs/view-cache";
import { openDatabase } from "./database";
import { openWalChangeMark, reuseRecentMark } from "./wal-change-mark";

/**
 * The change mark (wal-change-mark.ts) on a real libSQL file: it must move on every commit, from
 * this connection, another one, or another process, and on nothing else; a cached job view is
 * served without a read only while it stands.
 */

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "fw-wal-mark-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function walDatabase(name: string): Database.Database {
  const db = new Database(join(dir, name));
  db.exec("PRAGMA journal_mode = WAL; CREATE TABLE IF NOT EXISTS t (x INTEGER)");
  return db;
}

describe("the WAL change mark", () => {
  it("moves on each commit of any connection, and not on reads or rolled-back writes", () => {
    const path = join(dir, "connections.db");
    const mine = walDatabase("connections.db");
    const other = new Database(path);
    const mark = openWalChangeMark(path);
    try {
      expect(mark).not.toBeNull();
      const read = () => mark?.read() ?? null;
      const start = read();
      expect(start).toEqual(expect.any(String));
      mine.prepare("SELECT * FROM t").all();
      other.prepare("SELECT count(*) FROM t").get();
      expect(read()).toBe(start);

      other.prepare("INSERT INTO t VALUES (1)").run();
      const afterOther = read();
      expect(afterOther).not.toBe(start);

      mine.exec("BEGIN; INSERT INTO t VALUES (2);");
      expect(read()).toBe(afterOther); // not committed yet
      mine.exec("ROLLBACK");
      expect(read()).toBe(afterOther);

      mine.prepare("INSERT INTO t VALUES (3)").run();
      const afterMine = read();
      expect(afterMine).not.toBe(afterOther);

      // A checkpoint that restarts the log, then a commit that lands where the first frames were.
      mine.exec("PRAGMA wal_checkpoint(TRUNCATE)");
      const restarted = read();
      other.prepare("INSERT INTO t VALUES (4)").run();
      expect(read()).not.toBe(restarted);
      expect(read()).not.toBe(afterMine);
    } finally {
      other.close();
      mine.close();
      mark?.close();
    }
  });

  it("moves on a commit made by another process", async () => {
    const path = join(dir, "processes.db");
    const mine = walDatabase("processes.db");
    const mark = openWalChangeMark(path);
    try {
      const before = mark?.read();
      const script = `const D = require("libsql"); const db = new D(${JSON.stringify(path)}); db.prepare("INSERT INTO t VALUES (9)").run(); db.close();`;
      await promisify(execFile)(process.execPath, ["-e", script], { cwd: process.cwd() });
      expect(mark?.read()).not.toBe(before);
      expect(mine.prepare("SELECT count(*) AS n FROM t").get()).toMatchObject({ n: 1 });
    } finally {
      mine.close();
      mark?.close();
    }
  });

  it.runIf(process.platform === "linux")(
    "keeps SQLite's locks on the -shm file when one of two databases on the same file closes",
    async () => {
      const path = join(dir, "two.db");
      const first = await openDatabase(`file:${path}`);
      try {
        const inode = (await stat(`${path}-shm`)).ino;
        // This process's POSIX locks on the -shm file, as the kernel lists them (SQLite holds a
        // read lock on byte 128 while any connection has the file open).
        const locks = async () =>
          (await readFile("/proc/locks", "utf8"))
            .split("\n")
            .filter((line) => line.includes(` ${process.pid} `) && line.includes(`:${inode} `));
        expect(await locks()).not.toHaveLength(0);
        const second = await openDatabase(`file:${path}`);
        second.close();
        // Closing a descriptor of the file would have dropped them all, the first one's included.
        expect(await locks()).not.toHaveLength(0);
        expect(first.changeMark?.()).toEqual(expect.any(String));
      } finally {
        first.close();
      }
    },
  );

  it("is there for a local file opened by the edge, and not for a database that isn't in WAL mode", async () => {
    const opened = await openDatabase(`file:${join(dir, "edge.db")}`);
    try {
      expect(opened.changeMark?.()).toEqual(expect.any(String));
    } finally {
      opened.close();
    }
    const rollback = new Database(join(dir, "rollback.db"));
    rollback.exec("CREATE TABLE t (x INTEGER)");
    try {
      expect(openWalChangeMark(join(dir, "rollback.db"))).toBeNull();
    } finally {
      rollback.close();
    }
  });
});

/**
 * The edge's database (as `openDatabase` opens it) on a fresh file with a table `t`, and another
 * connection to the file: for the mark, a commit there is another process's.
 */
async function withTwoConnections(
  name: string,
  test: (opened: Awaited<ReturnType<typeof openDatabase>>, other: Database.Database) => Promise<void>,
): Promise<void> {
  const path = join(dir, name);
  const opened = await openDatabase(`file:${path}`);
  const other = new Database(path);
  try {
    other.exec("CREATE TABLE IF NOT EXISTS t (x INTEGER)");
    await test(opened, other);
  } finally {
    other.close();
    await opened.close();
  }
}

describe("the mark as the edge reads it (again only when needed)", () => {
  const nextTurn = () => new Promise((r) => setImmediate(r));

  it("is used again for requests its turn took in, and read again for a request taken in later", async () => {
    // A counting read and a long age bound: what is reused must not depend on this machine's speed.
    let reads = 0;
    const recent = reuseRecentMark(() => String(++reads), 60_000);
    const turn = requestTurnStart();
    expect(recent.read(turn)).toBe("1");
    expect(recent.read(turn)).toBe("1");
    // A request taken in by a later turn gets a fresh read.
    await nextTurn();
    const later = requestTurnStart();
    expect(later).toBeGreaterThan(turn);
    expect(recent.read(later)).toBe("2");
    // Without a turn to go by, and after `forget`, the mark is always read.
    expect(recent.read()).toBe("3");
    recent.forget();
    expect(recent.read(later)).toBe("4");
  });

  it("is read again for a second request from one connection in a turn (pipelined HTTP/1.1)", async () => {
    let reads = 0;
    const recent = reuseRecentMark(() => String(++reads), 60_000);
    await nextTurn();
    const socketA = {};
    const socketB = {};
    const first = requestTurnStart(socketA);
    expect(recent.read(first)).toBe("1");
    // Another connection's request of the same turn shares the mark.
    expect(recent.read(requestTurnStart(socketB))).toBe("1");
    // The same connection again: it may have come in after the turn began.
    expect(recent.read(requestTurnStart(socketA))).toBe("2");
    // In the next turn its first request is like any other.
    await nextTurn();
    const next = requestTurnStart(socketA);
    expect(recent.read(next)).toBe("3");
    expect(recent.read(requestTurnStart(socketB))).toBe("3");
  });

  it("is not used for a later turn's requests when it was read between turns", () =>
    withTwoConnections("between.db", async (opened, other) => {
      const turn = requestTurnStart();
      // A handler that resumed from an immediate (after a wait) reads the mark there.
      const early = await new Promise<string | null | undefined>((resolve) =>
        setImmediate(() => resolve(opened.changeMark?.(turn))),
      );
      other.prepare("INSERT INTO t VALUES (1)").run();
      // The next turn's request, sent after that commit, must not get the mark read before it.
      await nextTurn();
      expect(opened.changeMark?.(requestTurnStart())).not.toBe(early);
    }));

  it("is read again after a write through its own connection", () =>
    withTwoConnections("own.db", async (opened) => {
      await nextTurn();
      const turn = requestTurnStart();
      const before = opened.changeMark?.(turn);
      // A write by another request of this turn: the requests after it see it.
      await opened.db.run(sql`INSERT INTO t VALUES (2)`);
      const after = opened.changeMark?.(turn);
      expect(after).not.toBe(before);
      // (That reads don't make it read again is checked on the client's write hook:
      // statement-cache-client.test.ts; here the millisecond bound would make it timing-bound.)
    }));

  it("is read again within a turn once a millisecond old", async () => {
    let reads = 0;
    const recent = reuseRecentMark(() => String(++reads));
    const turn = requestTurnStart();
    expect(recent.read(turn)).toBe("1");
    const until = performance.now() + 2;
    while (performance.now() < until) {
      // a turn busy for 2 ms (libuv polling again inside one turn looks like this)
    }
    expect(recent.read(turn)).toBe("2");
  });
});
