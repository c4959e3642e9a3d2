import { join } from "node:path";
import { jobs, jobViewColumns } from "@framewire/shared/db";
import type { Client, InStatement } from "@libsql/client";
import { eq, getTableColumns, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type EdgeHarness, startEdgeHarness, testNodeToken } from "../../../test/support/edge-harness";
import { createTenant, issueApiKey } from "../auth/api-keys";
import { openDatabase } from "../nodejs/database";
import { createJobViewCache, viewWindow } from "./view-cache";

/**
 * `GET /v1/jobs/:id` answered from rendered views (jobs/view-cache.ts): a view is only ever served
 * while the job is unchanged, whichever edge instance changed it, and only to its own tenant.
 */

let h: EdgeHarness;
let keyA: string;
let keyB: string;
const auth = (key: string) => ({ authorization: `Bearer ${key}` });

beforeAll(async () => {
  h = await startEdgeHarness();
  const tenantA = await createTenant(h.deps.db, "a");
  const tenantB = await createTenant(h.deps.db, "b");
  keyA = (await issueApiKey(h.deps.db, { tenantId: tenantA, name: "a", scopes: ["jobs:read", "jobs:write"] }))
    .key;
  keyB = (await issueApiKey(h.deps.db, { tenantId: tenantB, name: "b", scopes: ["jobs:read"] })).key;
});
afterAll(() => h?.close());

async function submit(app: EdgeHarness["app"], key = keyA): Promise<string> {
  const res = await app.request("/v1/jobs", {
    method: "POST",
    headers: { ...auth(key), "content-type": "application/json" },
    body: JSON.stringify({
      input: { type: "url", url: "https://media.example/in.mp4" },
      outputs: [{ name: "small", type: "video", video: { height: 240 } }],
    }),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

async function read(app: EdgeHarness["app"], id: string, key = keyA) {
  const res = await app.request(`/v1/jobs/${id}`, { headers: auth(key) });
  return {
    status: res.status,
    type: res.headers.get("content-type"),
    etag: res.headers.get("etag"),
    body: await res.text(),
  };
}

/** A job canceled through a connection of its own to the database file, as another process would. */
async function cancelThroughAnotherConnection(id: string): Promise<void> {
  const other = await openDatabase(`file:${join(h.dir, "edge.db")}`);
  try {
    await other.db.update(jobs).set({ status: "canceled", finishedAt: Date.now() }).where(eq(jobs.id, id));
  } finally {
    other.close();
  }
}

const report = (app: EdgeHarness["app"], id: string, body: unknown) =>
  app.request(`/internal/jobs/${id}/reports`, {
    method: "POST",
    headers: { authorization: `Bearer ${testNodeToken}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });

describe("job views", () => {
  it("serves the same JSON while the job is unchanged, and the new state as soon as it changes", async () => {
    const id = await submit(h.app);
    const first = await read(h.app, id);
    expect(first.status).toBe(200);
    expect(first.type).toMatch(/^application\/json/);
    expect(JSON.parse(first.body)).toMatchObject({ id, status: "queued" });
    expect((await read(h.app, id)).body).toBe(first.body);

    await report(h.app, id, { type: "running", attempt: 1, node_id: "n1", engine: "native" });
    expect(JSON.parse((await read(h.app, id)).body)).toMatchObject({ status: "running", engine: "native" });
  });

  it("sees a change made by another edge instance (its own cache) at once", async () => {
    const id = await submit(h.app);
    const other = h.instance();
    expect(JSON.parse((await read(h.app, id)).body).status).toBe("queued");
    expect(JSON.parse((await read(other.app, id)).body).status).toBe("queued");

    const canceled = await other.app.request(`/v1/jobs/${id}`, { method: "DELETE", headers: auth(keyA) });
    expect(canceled.status).toBe(200);
    expect(JSON.parse((await read(h.app, id)).body).status).toBe("canceled");
  });

  it("moves a job's version on an update of a column its view shows, from any code path, and on no other", async () => {
    const id = await submit(h.app);
    const version = async () =>
      (await h.deps.db.select({ v: jobs.version }).from(jobs).where(eq(jobs.id, id)))[0]?.v ?? 0;
    const columns = Object.entries(getTableColumns(jobs)).map(([key, column]) => ({
      key,
      name: column.name,
    }));
    const shown = new Set<string>(jobViewColumns);
    // Each column written to its own value: SQLite runs an UPDATE OF trigger for a column in the
    // SET list, changed or not, so this reads the trigger's column list back.
    for (const { key, name } of columns) {
      if (key === "version" || key === "changeSeq") continue;
      const before = await version();
      await h.deps.db.run(
        sql`update jobs set ${sql.identifier(name)} = ${sql.identifier(name)} where id = ${id}`,
      );
      expect({ column: name, moved: (await version()) - before }).toEqual({
        column: name,
        moved: shown.has(key) ? 1 : 0,
      });
    }
    // Through drizzle as well: a view column (outputs expired) moves it, a dispatch mark does not.
    const before = await version();
    await h.deps.db.update(jobs).set({ outputsExpiredAt: 5 }).where(eq(jobs.id, id));
    expect(await version()).toBe(before + 1);
    await h.deps.db.update(jobs).set({ dispatchedAt: 7, progressWebhookAt: 8 }).where(eq(jobs.id, id));
    expect(await version()).toBe(before + 1);
  });

  it("keeps serving a polled job's view (and its ETag) across updates its view does not show", async () => {
    const id = await submit(h.app);
    const first = await read(h.app, id);
    await h.deps.db.update(jobs).set({ progressWebhookAt: h.deps.clock() }).where(eq(jobs.id, id));
    const again = await h.app.request(`/v1/jobs/${id}`, {
      headers: { ...auth(keyA), "if-none-match": first.etag ?? "" },
    });
    expect(again.status).toBe(304);
    await h.deps.db
      .update(jobs)
      .set({ error: { code: "input_unreadable", message: "shown" } })
      .where(eq(jobs.id, id));
    const changed = await read(h.app, id);
    expect(changed.etag).not.toBe(first.etag);
    expect(JSON.parse(changed.body).error).toEqual({ code: "input_unreadable", message: "shown" });
  });

  it("never shows a view to another tenant, cached or not", async () => {
    const id = await submit(h.app);
    await read(h.app, id);
    const theirs = await read(h.app, id, keyB);
    expect(theirs.status).toBe(404);
    expect(JSON.parse(theirs.body)).toMatchObject({ code: "not_found" });
    expect(theirs.body).not.toContain("progress_url");
  });

  it("sees a change written through another connection to the database file (another process)", async () => {
    const id = await submit(h.app);
    expect(JSON.parse((await read(h.app, id)).body).status).toBe("queued");
    await cancelThroughAnotherConnection(id);
    expect(JSON.parse((await read(h.app, id)).body).status).toBe("canceled");
  });

  it("renders again when the progress token's minute moves on", async () => {
    const id = await submit(h.app);
    const token = async () =>
      new URL(JSON.parse((await read(h.app, id)).body).progress_url).searchParams.get("token");
    const before = await token();
    expect(await token()).toBe(before);
    h.advance(60_000);
    expect(await token()).not.toBe(before);
  });
});

describe("conditional reads (ETag, If-None-Match)", () => {
  for (const cached of [true, false]) {
    it(`answers 304 while the job is unchanged, 200 with a new tag once it changes (${cached ? "with" : "without"} a view cache)`, async () => {
      const app = cached ? h.app : h.instance({ jobViews: null }).app;
      const id = await submit(app);
      const first = await app.request(`/v1/jobs/${id}`, { headers: auth(keyA) });
      const etag = first.headers.get("etag") ?? "";
      expect(etag).toMatch(/^W\/"\d+\.\d+\.\d+"$/);
      expect(first.headers.get("cache-control")).toBe("private, no-cache");
      const again = await app.request(`/v1/jobs/${id}`, {
        headers: { ...auth(keyA), "if-none-match": etag },
      });
      expect(again.status).toBe(304);
      expect(await again.text()).toBe("");
      // A list, and the tag without its W/ (weak comparison), match too.
      const listed = await app.request(`/v1/jobs/${id}`, {
        headers: { ...auth(keyA), "if-none-match": `"other", ${etag.slice(2)}` },
      });
      expect(listed.status).toBe(304);

      await report(app, id, { type: "running", attempt: 1, node_id: "n1", engine: "native" });
      const changed = await app.request(`/v1/jobs/${id}`, {
        headers: { ...auth(keyA), "if-none-match": etag },
      });
      expect(changed.status).toBe(200);
      expect(changed.headers.get("etag")).not.toBe(etag);
      expect(((await changed.json()) as { status: string }).status).toBe("running");
      // Another tenant learns nothing from a tag.
      const theirs = await app.request(`/v1/jobs/${id}`, {
        headers: { ...auth(keyB), "if-none-match": etag },
      });
      expect(theirs.status).toBe(404);
    });
  }
});

describe("the view cache's bounds", () => {
  it("keeps a view no longer than a tenth of the download links' lifetime, and a minute at most", () => {
    const at = 1_800_000_000_000;
    const short = { progressTtlSec: 3600, downloadTtlSec: 60 };
    expect(viewWindow(short, at)).toBe(viewWindow(short, at + 5_999 - (at % 6_000)));
    expect(viewWindow(short, at)).not.toBe(viewWindow(short, at + 6_000));
    const long = { progressTtlSec: 3600, downloadTtlSec: 86_400 };
    expect(viewWindow(long, at)).not.toBe(viewWindow(long, at + 60_000));
  });

  it("drops the least recently used views past its size budget", () => {
    // Each entry counts its body and a fixed share (256) for its id, tenant and mark.
    const cache = createJobViewCache({ maxChars: 2 * 256 + 25 });
    cache.set("a", "t", 1, null, "7", "x".repeat(10));
    cache.set("b", "t", 1, null, "7", "y".repeat(10));
    expect(cache.get("a", 1, "7")).toBe("x".repeat(10)); // a is now the most recently used
    cache.set("c", "t", 1, null, "7", "z".repeat(15));
    expect(cache.get("b", 1, "7")).toBeUndefined();
    expect(cache.get("a", 1, "7")).toBe("x".repeat(10));
    expect(cache.get("c", 1, "7")).toBe("z".repeat(15));
    // A stale version or window is a miss.
    expect(cache.get("a", 2, "7")).toBeUndefined();
    expect(cache.get("a", 1, "8")).toBeUndefined();
    cache.set("huge", "t", 1, null, "7", "h".repeat(2 * 256));
    expect(cache.get("huge", 1, "7")).toBeUndefined();
  });

  it("knows a version without a read only for its tenant, and only while the job was not updated", async () => {
    let mark: string | null = "m1";
    let updated: string[] | null = [];
    const reads: (number | null)[] = [];
    const cache = createJobViewCache({
      changeMark: () => mark,
      changedSince: async (after) => {
        reads.push(after);
        return { seq: (after ?? 0) + 1, ids: updated };
      },
    });
    // The first request reads where the changes stand; the next ones under the same mark read nothing.
    const at = await cache.fresh();
    expect(reads).toEqual([null]);
    expect(cache.fresh()).toBe(at);
    cache.noteVersion("job", "t1", 4, at);
    cache.noteVersion("other", "t1", 9, at);
    expect(cache.versionAt("job", "t1", at)).toBe(4);
    expect(cache.versionAt("job", "t2", at)).toBeUndefined();
    expect(cache.versionAt("job", "t1", null)).toBeUndefined();

    // A commit that updated another job: this one's version still stands, the other's is read again.
    mark = "m2";
    updated = ["other"];
    const next = await cache.fresh();
    expect(reads).toEqual([null, 1]);
    expect(cache.versionAt("job", "t1", next)).toBe(4);
    expect(cache.versionAt("other", "t1", next)).toBeUndefined();

    // A version read before a read of the changes was applied is not trusted (it may be older).
    mark = "m3";
    updated = [];
    const before = next;
    await cache.fresh();
    cache.noteVersion("late", "t1", 1, before);
    cache.set("rendered late", "t1", 1, before, "w", "{}");
    const now = await cache.fresh();
    expect(cache.versionAt("late", "t1", now)).toBeUndefined();
    expect(cache.versionAt("rendered late", "t1", now)).toBeUndefined();
    // (its view is kept: it is right for its version, which a read can confirm)
    expect(cache.get("rendered late", 1, "w")).toBe("{}");

    // Too many updates to list: every version is read again, and the views stay (each is right for
    // its version).
    cache.set("job", "t1", 4, now, "w", "{job}");
    expect(cache.versionAt("job", "t1", now)).toBe(4);
    mark = "m4";
    updated = null;
    const afterMany = await cache.fresh();
    expect(cache.versionAt("job", "t1", afterMany)).toBeUndefined();
    expect(cache.get("job", 4, "w")).toBe("{job}");
    cache.noteVersion("job", "t1", 4, afterMany);
    expect(cache.versionAt("job", "t1", afterMany)).toBe(4);

    // Without a mark, or when the changes can't be read, a version is never known without a read.
    mark = null;
    expect(cache.fresh()).toBeNull();
    expect(createJobViewCache().fresh()).toBeNull();
    const failures: unknown[] = [];
    const failing = createJobViewCache({
      changeMark: () => "m",
      changedSince: () => Promise.reject(new Error("down")),
      onReadFailed: (error) => failures.push(error),
    });
    expect(await failing.fresh()).toBeNull();
    expect(failures).toEqual([new Error("down")]);
  });

  it("lets requests that arrive during a read of the changes wait for the next one, read once for all of them", async () => {
    let mark = "m1";
    const pending: (() => void)[] = [];
    let reads = 0;
    const cache = createJobViewCache({
      changeMark: () => mark,
      changedSince: (after) => {
        reads++;
        // Each read answers when the test says so.
        return new Promise((resolve) => pending.push(() => resolve({ seq: (after ?? 0) + 1, ids: [] })));
      },
    });
    const first = cache.fresh();
    await Promise.resolve();
    expect(reads).toBe(1);
    // Committed after the first read of the changes began: these requests must not settle with it.
    mark = "m2";
    const second = cache.fresh();
    const third = cache.fresh();
    let secondSettled = false;
    void Promise.resolve(second).then(() => {
      secondSettled = true;
    });
    pending.shift()?.();
    const firstAt = await first;
    await new Promise((resolve) => setImmediate(resolve));
    expect(secondSettled).toBe(false);
    expect(reads).toBe(2);
    pending.shift()?.();
    expect(await second).toBe(await third);
    expect(await second).toBeGreaterThan(firstAt ?? 0);
    expect(reads).toBe(2);
    // The mark they waited under now stands without a read.
    expect(cache.fresh()).toBe(await second);
  });
});

describe("polling an unchanged job on a local database file", () => {
  /** The statements that read jobs' rows or versions, and those that read which jobs changed. */
  async function jobReads(run: () => Promise<unknown>): Promise<{ rows: number; changes: number }> {
    // The libSQL client under drizzle (LibSQLDatabase's type leaves it out).
    const client = (h.deps.db as unknown as { $client: Client }).$client;
    const spy = vi.spyOn(client, "execute");
    try {
      await run();
      const sqls = spy.mock.calls.map(([stmt]: [InStatement | string, ...unknown[]]) =>
        typeof stmt === "string" ? stmt : stmt.sql,
      );
      const changes = sqls.filter((text) => /from "jobs" where .*"change_seq"/.test(text)).length;
      return { rows: sqls.filter((text) => /from "jobs"/.test(text)).length - changes, changes };
    } finally {
      spy.mockRestore();
    }
  }

  // A tenant of its own: its jobs are dispatched at once (the others' wait behind earlier tests' jobs,
  // and one released later would be an update the test did not make).
  let keyC: string;
  beforeAll(async () => {
    const tenantC = await createTenant(h.deps.db, "c");
    keyC = (
      await issueApiKey(h.deps.db, { tenantId: tenantC, name: "c", scopes: ["jobs:read", "jobs:write"] })
    ).key;
  });

  const dispatched = (id: string) =>
    vi.waitFor(async () => {
      const [row] = await h.deps.db.select({ at: jobs.dispatchedAt }).from(jobs).where(eq(jobs.id, id));
      expect(row?.at).not.toBeNull();
    });

  it("reads nothing while the job is unchanged, even as other jobs change, and never serves a stale view", async () => {
    expect(await h.deps.jobViews?.fresh()).toEqual(expect.any(Number));
    const id = await submit(h.app, keyC);
    // Its dispatch is recorded after the answer, and is an update of its own.
    await dispatched(id);
    const first = await read(h.app, id, keyC);
    expect(await jobReads(() => read(h.app, id, keyC))).toEqual({ rows: 0, changes: 0 });
    expect((await read(h.app, id, keyC)).body).toBe(first.body);

    // Commits that don't update this job (another job submitted and dispatched, then canceled): one
    // read of what changed, and no read of this job.
    const otherId = await submit(h.app, keyC);
    await dispatched(otherId);
    expect(
      (await h.app.request(`/v1/jobs/${otherId}`, { method: "DELETE", headers: auth(keyC) })).status,
    ).toBe(200);
    let again = { body: "" };
    expect(
      await jobReads(async () => {
        again = await read(h.app, id, keyC);
      }),
    ).toEqual({ rows: 0, changes: 1 });
    expect(again.body).toBe(first.body);

    // An update of this job through another connection (another process) is seen on the next read.
    await cancelThroughAnotherConnection(id);
    let canceled = { body: "" };
    expect(
      await jobReads(async () => {
        canceled = await read(h.app, id, keyC);
      }),
    ).toEqual({ rows: 2, changes: 1 });
    expect(JSON.parse(canceled.body).status).toBe("canceled");
    expect(await jobReads(() => read(h.app, id, keyC))).toEqual({ rows: 0, changes: 0 });
    // Another tenant still learns nothing, from a version known without a read.
    expect((await read(h.app, id, keyB)).status).toBe(404);
  });

  it("never answers from before an update that committed before the request, with polls and updates interleaved", async () => {
    const id = await submit(h.app, keyC);
    await dispatched(id);
    const other = await openDatabase(`file:${join(h.dir, "edge.db")}`);
    try {
      for (let i = 1; i <= 40; i++) {
        const at = 1_900_000_000_000 + i * 1000;
        // Polls in flight while the update commits (they may see either state)...
        const during = Promise.all([read(h.app, id, keyC), read(h.app, id, keyC)]);
        await other.db.update(jobs).set({ updatedAt: at }).where(eq(jobs.id, id));
        // A request sent after the commit comes in on a later turn of the event loop (through a
        // socket; nodejs/wal-change-mark.ts), not in the turn that sent these.
        await new Promise((resolve) => setImmediate(resolve));
        await during;
        // ...and every poll sent after it sees it.
        const after = await Promise.all([
          read(h.app, id, keyC),
          read(h.app, id, keyC),
          read(h.app, id, keyC),
        ]);
        for (const res of after) expect(JSON.parse(res.body).updated_at).toBe(new Date(at).toISOString());
      }
    } finally {
      other.close();
    }
  });
});
