import { jobs } from "@framewire/shared/db";
import { eq, sql } from "drizzle-orm";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { newJobInput, useJobDatabase } from "../../test/support/job-database";
import { createTenant } from "./auth/api-keys";
import { createCommitGroup } from "./commit-group";
import type { EdgeConfig } from "./config";
import type { Db } from "./db";
import { createJob, type NewJob } from "./jobs/lifecycle";
import { markDispatched } from "./jobs/repository";

/**
 * Group commit (commit-group.ts) on a real libSQL file, through the submit path's own statements:
 * concurrent submissions share one transaction, each gets its own results, and one that fails
 * fails alone.
 */

const store = useJobDatabase("fw-commit-group-");
let db: Db;
let tenantId: string;
const config = { admission: { depth: 3 } } as EdgeConfig;

beforeAll(() => {
  db = store.db;
});

const newJob = (overrides: Partial<NewJob> = {}) => newJobInput(tenantId, overrides);

describe("group commit of submissions", () => {
  it("writes concurrent submissions in one transaction, each with its own release", async () => {
    tenantId = await createTenant(db, "grouped");
    const commitGroup = createCommitGroup(db);
    const batch = vi.spyOn(db, "batch");
    const created = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        createJob({ db, config, commitGroup }, newJob({ now: 1_000 + i })),
      ),
    );
    expect(batch).toHaveBeenCalledTimes(1);
    batch.mockRestore();
    // Fair dispatch within the group: the first three (the depth) are released, each by its own
    // submission, and the other seven are held.
    expect(created.map((c) => c.released.map((r) => r.id))).toEqual(
      created.map((c, i) => (i < 3 ? [c.row.id] : [])),
    );
    const rows = await db.select().from(jobs).where(eq(jobs.tenantId, tenantId));
    expect(rows).toHaveLength(10);
    expect(rows.filter((r) => r.releasedAt !== null)).toHaveLength(3);
  });

  it("releases a job with room in the INSERT that writes it, never updating its row", async () => {
    tenantId = await createTenant(db, "released-on-insert");
    // Every UPDATE of a job on this connection, noted by a trigger of its own (TEMP: this
    // connection only). The version trigger can't tell: a release writes no column the view shows.
    await db.run(sql`create temp table job_updates (id text)`);
    await db.run(
      sql`create temp trigger job_updates_noted after update on main.jobs begin insert into job_updates values (new.id); end`,
    );
    const created = await createJob({ db, config }, newJob());
    expect(created.released.map((r) => r.id)).toEqual([created.row.id]);
    const [row] = await db.select().from(jobs).where(eq(jobs.id, created.row.id));
    expect(row?.releasedAt).toBe(created.row.releasedAt);
    expect(row?.releasedAt).toEqual(expect.any(Number));
    const updates = await db.all<{ id: string }>(sql`select id from job_updates`);
    expect(updates.filter((u) => u.id === created.row.id)).toEqual([]);
    await db.run(sql`drop trigger job_updates_noted`);
  });

  it("fails only the submission whose write fails; the others of its group are written", async () => {
    tenantId = await createTenant(db, "one-fails");
    const commitGroup = createCommitGroup(db);
    const first = await createJob({ db, config, commitGroup }, newJob({ idempotencyKey: "taken" }));
    const batch = vi.spyOn(db, "batch");
    const outcomes = await Promise.allSettled(
      ["a", "taken", "b", "c"].map((key) =>
        createJob({ db, config, commitGroup }, newJob({ idempotencyKey: key })),
      ),
    );
    // The group's transaction, then each of the four alone.
    expect(batch).toHaveBeenCalledTimes(5);
    batch.mockRestore();
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected", "fulfilled", "fulfilled"]);
    expect(String((outcomes[1] as PromiseRejectedResult).reason)).toMatch(/UNIQUE/i);
    const keys = (await db.select().from(jobs).where(eq(jobs.tenantId, tenantId))).map(
      (r) => r.idempotencyKey,
    );
    expect(keys.sort()).toEqual(["a", "b", "c", "taken"]);
    expect(first.row.idempotencyKey).toBe("taken");
  });

  it("records dispatches in the same transaction as the submissions of the moment", async () => {
    tenantId = await createTenant(db, "marked");
    const commitGroup = createCommitGroup(db);
    const [a, b] = await Promise.all(
      [newJob(), newJob()].map((j) => createJob({ db, config, commitGroup }, j)),
    );
    const batch = vi.spyOn(db, "batch");
    await Promise.all([
      markDispatched({ db, commitGroup }, a?.row.id ?? "", 5_000),
      markDispatched({ db, commitGroup }, b?.row.id ?? "", 6_000),
      createJob({ db, config, commitGroup }, newJob()),
    ]);
    expect(batch).toHaveBeenCalledTimes(1);
    batch.mockRestore();
    const rows = await db.select().from(jobs).where(eq(jobs.tenantId, tenantId));
    expect(rows.map((r) => r.dispatchedAt).sort()).toEqual([5_000, 6_000, null]);
    // A mark is made once: a later one (a repeated publish) leaves the first time.
    await markDispatched({ db, commitGroup }, a?.row.id ?? "", 9_000);
    expect(
      (
        await db
          .select()
          .from(jobs)
          .where(eq(jobs.id, a?.row.id ?? ""))
      )[0]?.dispatchedAt,
    ).toBe(5_000);
  });

  it("groups at most maxBatches submissions per transaction", async () => {
    tenantId = await createTenant(db, "bounded");
    const commitGroup = createCommitGroup(db, { maxBatches: 4 });
    const batch = vi.spyOn(db, "batch");
    await Promise.all(Array.from({ length: 10 }, () => createJob({ db, config, commitGroup }, newJob())));
    expect(batch).toHaveBeenCalledTimes(3);
    batch.mockRestore();
    expect(await db.$count(jobs, eq(jobs.tenantId, tenantId))).toBe(10);
  });
});
