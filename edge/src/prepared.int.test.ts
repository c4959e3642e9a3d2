import { type JobSpec, newId } from "@framewire/shared";
import { jobs, uploads } from "@framewire/shared/db";
import { sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { audioJobSpec, newJobInput, useJobDatabase } from "../../test/support/job-database";
import { createTenant } from "./auth/api-keys";
import type { EdgeConfig } from "./config";
import type { Db } from "./db";
import { createJob, type NewJob, newJobRow } from "./jobs/lifecycle";
import { readSubmission } from "./jobs/submission";
import { columnPlaceholders, withValues } from "./prepared";

/**
 * The submit path's prepared statements (prepared.ts) on a real libSQL file: what they write and
 * read must be what the query builders wrote and read before, for every shape of values.
 */

const store = useJobDatabase("fw-prepared-");
let db: Db;
let tenantId: string;
const config = { admission: { depth: 2 } } as EdgeConfig;
const spec = audioJobSpec;

beforeAll(async () => {
  db = store.db;
  tenantId = await createTenant(db, "prepared");
});

const newJob = (overrides: Partial<NewJob> = {}) => newJobInput(tenantId, overrides);

describe("prepared statements on the submit path", () => {
  it("stores absent JSON values as SQL NULL and present ones as JSON, and releases up to the depth", async () => {
    // Ids a millisecond apart: within one millisecond their order (the query's) would be random.
    const at = Date.now();
    const plain = await createJob({ db, config }, newJob({ id: newId("job", at) }));
    const hooked = await createJob(
      { db, config },
      newJob({
        id: newId("job", at + 1),
        webhook: { url: "https://hooks.example/x", events: ["job.succeeded"] },
      }),
    );
    const held = await createJob({ db, config }, newJob({ id: newId("job", at + 2) }));
    const rows = await db.all<{ id: string; webhook: string | null; error: string | null; released: number }>(
      sql`select id, webhook, error, released_at is not null as released from jobs order by id`,
    );
    expect(rows.map((r) => [r.id, r.webhook, r.error, r.released])).toEqual([
      [plain.row.id, null, null, 1],
      [hooked.row.id, '{"url":"https://hooks.example/x","events":["job.succeeded"]}', null, 1],
      // Depth 2: the third waits in the database.
      [held.row.id, null, null, 0],
    ]);
    expect(held.released).toEqual([]);
    expect(hooked.row.webhook).toEqual({ url: "https://hooks.example/x", events: ["job.succeeded"] });
    const events = await db.all<{ n: number }>(
      sql`select count(*) as n from job_events where type = 'job:created'`,
    );
    expect(events[0]?.n).toBe(3);
  });

  it("fills the same values when a prepared statement is awaited alone as when it is batched", async () => {
    const insert = db.insert(jobs).values(columnPlaceholders(jobs)).prepare();
    const row = newJobRow(newJob());
    await withValues(insert, row);
    const [stored] = await db.all<{ webhook: string | null; error: string | null; spec: string }>(
      sql`select webhook, error, spec from jobs where id = ${row.id}`,
    );
    expect(stored?.webhook).toBeNull();
    expect(stored?.error).toBeNull();
    expect(JSON.parse(stored?.spec ?? "null")).toEqual(spec);
    await expect(withValues(insert, { ...row, id: undefined })).rejects.toThrow(/"id" is undefined/);
  });

  it("reads the named uploads (none, one, several) and the job of an Idempotency-Key", async () => {
    const ids = [newId("upl"), newId("upl")];
    await db.insert(uploads).values(
      ids.map((id) => ({
        id,
        tenantId,
        storageKey: `uploads/${id}`,
        contentType: "video/mp4",
        createdAt: 1,
      })),
    );
    const keyed = await createJob({ db, config }, newJob({ idempotencyKey: "k-1" }));
    const withUploads = (uploadIds: string[]) =>
      ({
        ...spec,
        input: undefined,
        inputs: Object.fromEntries(uploadIds.map((id, i) => [`in${i}`, { type: "upload", upload_id: id }])),
      }) as unknown as JobSpec;

    const none = await readSubmission(db, tenantId, spec, null, Date.now());
    expect([...none.uploads.keys()]).toEqual([]);
    expect(none.existing).toBeNull();

    const one = await readSubmission(db, tenantId, withUploads([ids[0] ?? ""]), "k-1", Date.now());
    expect(one.uploads.get(ids[0] ?? "")?.storageKey).toBe(`uploads/${ids[0]}`);
    expect(one.existing?.id).toBe(keyed.row.id);

    const both = await readSubmission(db, tenantId, withUploads([...ids, "upl_missing"]), "k-2", Date.now());
    expect([...both.uploads].map(([id, row]) => [id, row?.id ?? null])).toEqual([
      [ids[0], ids[0]],
      [ids[1], ids[1]],
      ["upl_missing", null],
    ]);
    expect(both.existing).toBeNull();

    // Another tenant sees neither the uploads nor the keyed job.
    const other = await createTenant(db, "other");
    const theirs = await readSubmission(db, other, withUploads(ids), "k-1", Date.now());
    expect([...theirs.uploads.values()]).toEqual([null, null]);
    expect(theirs.existing).toBeNull();
  });
});
