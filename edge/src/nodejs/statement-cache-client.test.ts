import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, LibsqlBatchError } from "@libsql/client";
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

  it("returns rows readable by position and by name, with only the names enumerable", async () => {
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
    expect(Object.keys(second ?? {})).toEqual(["id", "name"]);
    expect(second?.name).toBe("two");
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
});
