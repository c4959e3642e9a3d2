import { readdirSync } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import Database from "libsql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Logger } from "../logger";
import { openDatabase } from "./database";
import { backstopPages } from "./wal-checkpointer";

/**
 * The background checkpointer (wal-checkpointer.ts) on a real libSQL file: the WAL's pages reach
 * the database file without the writing connection checkpointing, the WAL stays bounded under
 * steady writes, and closing the database ends the worker thread.
 */

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "fw-wal-checkpointer-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const pageSize = 4096;
const threads = () => readdirSync("/proc/self/task").length;
/** One commit that writes about `pages` new pages (rows of a page's worth of random bytes). */
const writePages = (database: Awaited<ReturnType<typeof openDatabase>>, pages: number) =>
  database.db.run(
    sql`INSERT INTO filler (body) SELECT randomblob(${pageSize - 100}) FROM generate_series(1, ${pages})`,
  );

/** A Logger that keeps its lines (level, message and fields), to read what the worker said. */
function collectingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const at =
    (level: string) =>
    (obj: object, msg?: string): void => {
      lines.push({ level, msg, ...obj });
    };
  const logger: Logger = {
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    debug: at("debug"),
    child: () => logger,
    setBindings: () => {},
  };
  return { logger, lines };
}

async function until(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return check();
}

describe("the background WAL checkpointer", () => {
  it("copies committed pages into the database file while the writer never reaches its own threshold", async () => {
    const path = join(dir, "copies.db");
    const { logger, lines } = collectingLogger();
    const database = await openDatabase(`file:${path}`, undefined, { checkpointInBackground: true, logger });
    try {
      await database.db.run(sql`CREATE TABLE filler (body BLOB)`);
      const before = (await stat(path)).size;
      // 200 pages: far below the writer's own autocheckpoint (backstopPages), so only the worker
      // can have put them into the database file.
      await writePages(database, 200);
      expect(200).toBeLessThan(backstopPages);
      const grown = await until(async () => (await stat(path)).size >= before + 190 * pageSize, 3_000);
      expect(grown).toBe(true);
      // The worker's lines come over its message port, possibly after the pages it copied.
      const started = async () => lines.some((l) => l.msg === "db:checkpointer:started");
      expect(await until(started, 3_000)).toBe(true);
      expect(lines.filter((l) => l.level !== "info")).toEqual([]);
    } finally {
      await database.close();
    }
  });

  it("keeps the WAL under its backstop while commits never pause", async () => {
    const path = join(dir, "bounded.db");
    const database = await openDatabase(`file:${path}`, undefined, { checkpointInBackground: true });
    try {
      await database.db.run(sql`CREATE TABLE filler (body BLOB)`);
      // Eight backstops' worth of pages in small commits, with no pause for the worker to catch up.
      for (let i = 0; i < (8 * backstopPages) / 20; i++) await writePages(database, 20);
      const wal = (await stat(`${path}-wal`)).size;
      // It overshoots while the worker's checkpoint holds the lock (by up to 60% under the parallel
      // test run's load); without the backstop it would hold all eight backstops' worth.
      expect(wal).toBeLessThan(2.5 * backstopPages * (pageSize + 24));
    } finally {
      await database.close();
    }
  });

  it("warns when a reader's old snapshot keeps the WAL from starting over", async () => {
    const path = join(dir, "pinned.db");
    const { logger, lines } = collectingLogger();
    const database = await openDatabase(`file:${path}`, undefined, { checkpointInBackground: true, logger });
    const reader = new Database(path);
    try {
      await database.db.run(sql`CREATE TABLE filler (body BLOB)`);
      await writePages(database, 10);
      // A read transaction that stays open, as a long backup's would: frames after its snapshot
      // can't be copied back, so the WAL only grows.
      reader.exec("BEGIN");
      reader.prepare("SELECT count(*) FROM filler").get();
      for (let i = 0; i < (3 * backstopPages) / 50; i++) await writePages(database, 50);
      const warned = await until(async () => lines.some((l) => l.msg === "db:wal:large"), 3_000);
      expect(warned).toBe(true);
      expect(lines.find((l) => l.msg === "db:wal:large")).toMatchObject({
        level: "warn",
        wal_frames: expect.any(Number),
        checkpointed_frames: expect.any(Number),
      });
    } finally {
      reader.exec("ROLLBACK");
      reader.close();
      await database.close();
    }
  });

  it("ends its worker thread when the database closes", async () => {
    const before = threads();
    const database = await openDatabase(`file:${join(dir, "closes.db")}`, undefined, {
      checkpointInBackground: true,
    });
    expect(threads()).toBeGreaterThan(before);
    await database.close();
    expect(await until(async () => threads() === before, 3_000)).toBe(true);
  });
});
