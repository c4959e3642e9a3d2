import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { sql } from "drizzle-orm";
import Database from "libsql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "./database";
import { openWalChangeMark } from "./wal-change-mark";

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

describe("the mark as the edge reads it (once per turn of the event loop)", () => {
  const nextTurn = () => new Promise((r) => setImmediate(r));

  it("shows another connection's commit from the next turn, and this connection's own write at once", async () => {
    const path = join(dir, "turns.db");
    const opened = await openDatabase(`file:${path}`);
    const other = new Database(path);
    try {
      other.exec("CREATE TABLE IF NOT EXISTS t (x INTEGER)");
      await nextTurn();
      const first = opened.changeMark?.();
      expect(first).toEqual(expect.any(String));
      // Another process's commit during the turn: concurrent with the requests being handled.
      other.prepare("INSERT INTO t VALUES (1)").run();
      expect(opened.changeMark?.()).toBe(first);
      await nextTurn();
      const second = opened.changeMark?.();
      expect(second).not.toBe(first);

      // A write through the edge's own connection: the requests after it in this turn see it.
      await opened.db.run(sql`INSERT INTO t VALUES (2)`);
      const third = opened.changeMark?.();
      expect(third).not.toBe(second);
      // Reads don't move it or make it read again.
      await opened.db.run(sql`SELECT count(*) FROM t`);
      other.prepare("INSERT INTO t VALUES (3)").run();
      expect(opened.changeMark?.()).toBe(third);
    } finally {
      other.close();
      await opened.close();
    }
  });

  it("reads again within a turn once the mark is a millisecond old", async () => {
    const path = join(dir, "aged.db");
    const opened = await openDatabase(`file:${path}`);
    const other = new Database(path);
    try {
      other.exec("CREATE TABLE IF NOT EXISTS t (x INTEGER)");
      await nextTurn();
      const first = opened.changeMark?.();
      other.prepare("INSERT INTO t VALUES (1)").run();
      const until = performance.now() + 2;
      while (performance.now() < until) {
        // a turn busy for 2 ms (libuv polling again inside one turn looks like this)
      }
      expect(opened.changeMark?.()).not.toBe(first);
    } finally {
      other.close();
      await opened.close();
    }
  });
});
