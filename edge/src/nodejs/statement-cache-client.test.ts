import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, LibsqlBatchError } from "@libsql/client";
import Database from "libsql";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createStatementCacheClient } from "./statement-cache-client";

describe("statement-cache client", () => {
  let dir: string;
  let client: Client;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "fw-stmt-"));
    client = createStatementCacheClient(join(dir, "t.db"), { maxStatements: 2 });
    await client.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, data BLOB)");
  });

  afterEach(async () => {
    client.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("returns rows readable by position and by name, as real arrays (drizzle slices them)", async () => {
    await client.execute({ sql: "INSERT INTO t (id, name) VALUES (?, ?)", args: [1, "one"] });
    await client.execute({
      sql: "INSERT INTO t (id, name) VALUES (:id, :name)",
      args: { ":id": 2, ":name": "two" },
    });
    const rs = await client.execute("SELECT id, name FROM t ORDER BY id");
    expect(rs.columns).toEqual(["id", "name"]);
    expect(rs.rows).toHaveLength(2);
    const [first, second] = rs.rows;
    expect([first?.[0], first?.[1], first?.length]).toEqual([1, "one", 2]);
    expect(Array.prototype.slice.call(second)).toEqual([2, "two"]);
    expect(Array.isArray(second)).toBe(true);
    expect(second?.name).toBe("two");
    // A column an array already has can only be read by position; it must not truncate the row.
    const [odd] = (await client.execute("SELECT 7 AS length, 'x' AS [1], name FROM t WHERE id = 1")).rows;
    expect([odd?.length, odd?.[0], odd?.[1], odd?.[2], odd?.name]).toEqual([3, 7, "x", "one", "one"]);
  });

  it("reports changes and row ids for writes, and blobs as ArrayBuffers", async () => {
    const rs = await client.execute({
      sql: "INSERT INTO t (name, data) VALUES (?, ?)",
      args: ["b", new Uint8Array([1, 2, 3])],
    });
    expect(rs.rowsAffected).toBe(1);
    expect(rs.lastInsertRowid).toBe(1n);
    const [row] = (await client.execute("SELECT data FROM t")).rows;
    expect(row?.data).toBeInstanceOf(ArrayBuffer);
    expect([...new Uint8Array(row?.data as ArrayBuffer)]).toEqual([1, 2, 3]);
  });

  it("keeps working past its statement limit (least recently used statements are dropped)", async () => {
    for (let i = 0; i < 3; i++) {
      await client.execute({ sql: "INSERT INTO t (id, name) VALUES (?, ?)", args: [i, `n${i}`] });
      expect((await client.execute("SELECT count(*) AS n FROM t")).rows[0]?.n).toBe(i + 1);
      expect(
        (await client.execute({ sql: "SELECT name FROM t WHERE id = ?", args: [i] })).rows[0]?.name,
      ).toBe(`n${i}`);
    }
  });

  it("answers each read from its own arguments, whatever the same SQL was last run with", async () => {
    // One SQL text read with `limit 1` (one row, libsql's get) and with larger limits (all rows).
    const rows = Array.from({ length: 12 }, (_, i) => ({ id: i, name: `tenant${i % 3}` }));
    for (const r of rows)
      await client.execute({ sql: "INSERT INTO t (id, name) VALUES (?, ?)", args: [r.id, r.name] });
    const sql = "SELECT id FROM t WHERE name = ? ORDER BY id LIMIT ?";
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 200; i++) {
      const name = `tenant${random(4)}`; // tenant3 has no rows
      const limit = [0, 1, 1, 2, 10][random(5)] ?? 1;
      const got = (await client.execute({ sql, args: [name, limit] })).rows.map((r) => r.id);
      const expected = rows
        .filter((r) => r.name === name)
        .map((r) => r.id)
        .slice(0, limit);
      expect(got, `read ${i}: ${name} limit ${limit}`).toEqual(expected);
    }
  });

  it("rolls a failed batch back whole and names the statement that failed", async () => {
    const batch = client.batch([
      { sql: "INSERT INTO t (id, name) VALUES (?, ?)", args: [1, "a"] },
      { sql: "INSERT INTO t (id, name) VALUES (?, ?)", args: [1, "duplicate"] },
    ]);
    await expect(batch).rejects.toBeInstanceOf(LibsqlBatchError);
    await expect(batch).rejects.toMatchObject({ statementIndex: 1 });
    expect((await client.execute("SELECT count(*) AS n FROM t")).rows[0]?.n).toBe(0);
  });

  it("keeps other calls out of an open transaction until it ends", async () => {
    const tx = await client.transaction("write");
    await tx.execute({ sql: "INSERT INTO t (id, name) VALUES (?, ?)", args: [1, "in tx"] });
    let outsideDone = false;
    const outside = client
      .execute({ sql: "INSERT INTO t (id, name) VALUES (?, ?)", args: [2, "outside"] })
      .then(() => {
        outsideDone = true;
      });
    await new Promise((r) => setTimeout(r, 20));
    expect(outsideDone).toBe(false);
    await tx.rollback();
    await outside;
    const names = (await client.execute("SELECT name FROM t")).rows.map((r) => r.name);
    expect(names).toEqual(["outside"]);
  });

  it("waits for another connection's write lock between turns of the event loop, not inside SQLite", async () => {
    const other = new Database(join(dir, "t.db"));
    other.exec("PRAGMA journal_mode = WAL");
    other.exec("BEGIN IMMEDIATE");
    other.exec("INSERT INTO t (id, name) VALUES (1, 'other')");
    // How long the event loop went without running a timer, while this client waited.
    let longestGap = 0;
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
    }, 2);
    try {
      const insert = client.execute({ sql: "INSERT INTO t (id, name) VALUES (?, ?)", args: [2, "mine"] });
      const batch = client.batch(
        ["SELECT count(*) FROM t", "INSERT INTO t (id, name) VALUES (3, 'batch')"],
        "write",
      );
      await new Promise((r) => setTimeout(r, 150));
      other.exec("COMMIT");
      await Promise.all([insert, batch]);
      // Committed, as another connection sees: a prepared statement refused with SQLITE_BUSY stays
      // half-run, and SQLite then commits nothing else on the connection (writes look done, and
      // only this connection sees them).
      await client.execute({ sql: "INSERT INTO t (id, name) VALUES (?, ?)", args: [4, "after"] });
      const names = other.prepare("SELECT name FROM t ORDER BY id").all() as { name: string }[];
      expect(names.map((r) => r.name)).toEqual(["other", "mine", "batch", "after"]);
      // SQLite's own busy handler would have held the thread until the lock was free (150 ms).
      expect(longestGap).toBeLessThan(100);
    } finally {
      clearInterval(ticker);
      other.close();
    }
  });

  it("loses no write that runs while another one waits for the lock", async () => {
    const other = new Database(join(dir, "t.db"));
    other.exec("PRAGMA journal_mode = WAL");
    other.exec("BEGIN IMMEDIATE");
    try {
      const waiting = client.execute({ sql: "INSERT INTO t (id, name) VALUES (?, ?)", args: [1, "waited"] });
      await new Promise((r) => setImmediate(r)); // refused at least once
      other.exec("COMMIT");
      // The lock is free: this one runs before the waiting one tries again.
      // (Other SQL than the waiting one's: running the same prepared statement would reset it.)
      await client.execute({ sql: "INSERT INTO t (name, id) VALUES (?, ?)", args: ["ran", 2] });
      const seen = () =>
        (other.prepare("SELECT name FROM t ORDER BY id").all() as { name: string }[]).map((r) => r.name);
      // Committed when it says so (a half-run refused statement would hold every commit back).
      expect(seen()).toEqual(["ran"]);
      await waiting;
      expect(seen()).toEqual(["waited", "ran"]);
    } finally {
      other.close();
    }
  });

  it("answers a read refused with SQLITE_BUSY, and the next one, each from its own arguments", async () => {
    // A rollback journal, where a reader is refused while a writer holds the file (in WAL mode
    // only during recovery or under an exclusive lock): the half-run statement must not be reused.
    await client.execute({ sql: "INSERT INTO t (id, name) VALUES (?, ?)", args: [1, "one"] });
    await client.execute({ sql: "INSERT INTO t (id, name) VALUES (?, ?)", args: [2, "two"] });
    const read = (id: number) =>
      client.execute({ sql: "SELECT name FROM t WHERE id = ? LIMIT 1", args: [id] });
    expect((await read(2)).rows[0]?.name).toBe("two");
    const other = new Database(join(dir, "t.db"));
    other.exec("BEGIN EXCLUSIVE");
    const refused = read(1);
    await new Promise((r) => setImmediate(r));
    other.exec("COMMIT");
    other.close();
    const next = read(2);
    expect((await next).rows[0]?.name).toBe("two");
    expect((await refused).rows[0]?.name).toBe("one");
  });

  it("keeps callers woken together out of a transaction that one of them begins", async () => {
    const first = await client.transaction("write");
    const second = client.transaction("write");
    const insert = client.execute({ sql: "INSERT INTO t (id, name) VALUES (?, ?)", args: [1, "outside"] });
    await first.commit();
    const tx = await second;
    await tx.rollback();
    // The insert waited for the second transaction and ran after it, so its rollback kept it.
    await insert;
    expect((await client.execute("SELECT name FROM t")).rows.map((r) => r.name)).toEqual(["outside"]);
  });

  it("says when it wrote (the change mark's cue), and not after reads or read-only batches", async () => {
    let writes = 0;
    const counted = createStatementCacheClient(join(dir, "t.db"), { onWrite: () => writes++ });
    try {
      await counted.execute("SELECT count(*) FROM t");
      await counted.batch(["SELECT count(*) FROM t", "SELECT name FROM t"]);
      expect(writes).toBe(0);
      await counted.execute({ sql: "INSERT INTO t (id, name) VALUES (?, ?)", args: [1, "one"] });
      expect(writes).toBe(1);
      await counted.batch(["SELECT count(*) FROM t", "UPDATE t SET name = 'uno'"]);
      expect(writes).toBe(2);
    } finally {
      counted.close();
    }
  });

  it("gives up with SQLITE_BUSY once the lock stays taken past its busy timeout", async () => {
    const waiting = createStatementCacheClient(join(dir, "t.db"), { busyTimeoutMs: 100 });
    const other = new Database(join(dir, "t.db"));
    other.exec("BEGIN IMMEDIATE");
    try {
      const started = performance.now();
      await expect(waiting.execute("INSERT INTO t (id, name) VALUES (9, 'late')")).rejects.toMatchObject({
        code: expect.stringMatching(/^SQLITE_BUSY/),
      });
      expect(performance.now() - started).toBeGreaterThanOrEqual(100);
    } finally {
      other.exec("ROLLBACK");
      other.close();
      waiting.close();
    }
  });
});
