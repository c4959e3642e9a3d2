import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/libsql";
import { Hono } from "hono";
import Database from "libsql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStatementCacheClient } from "./nodejs/statement-cache-client";
import { toProblem } from "./problem";

/**
 * A write that waited out the lock of another connection (another edge process) is a retryable 503
 * with its own code, not an internal error: nothing of the request was written.
 */
describe("a database whose write lock stays taken", () => {
  const path = join(mkdtempSync(join(tmpdir(), "fw-busy-")), "edge.db");
  const client = createStatementCacheClient(path, { busyTimeoutMs: 50 });
  const holder = new Database(path);
  const app = new Hono();
  app.post("/raw", async (c) => {
    await client.execute("insert into t (v) values (1)");
    return c.text("written");
  });
  app.post("/drizzle", async (c) => {
    await drizzle(client).run(sql`insert into t (v) values (2)`);
    return c.text("written");
  });
  app.onError((error, c) => toProblem(c, error));

  beforeAll(async () => {
    await client.execute("PRAGMA journal_mode = WAL");
    await client.execute("create table t (v integer)");
    holder.exec("BEGIN IMMEDIATE");
  });
  afterAll(() => {
    if (holder.inTransaction) holder.exec("ROLLBACK");
    holder.close();
    client.close();
  });

  for (const route of ["/raw", "/drizzle"]) {
    it(`answers 503 database_busy with Retry-After (${route})`, async () => {
      const res = await app.request(route, { method: "POST" });
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBe("1");
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      expect(await res.json()).toMatchObject({ code: "database_busy", status: 503 });
    });
  }

  it("writes once the lock is free", async () => {
    holder.exec("ROLLBACK");
    expect((await app.request("/raw", { method: "POST" })).status).toBe(200);
    expect((await client.execute("select count(*) as n from t")).rows[0]?.n).toBe(1);
  });
});
