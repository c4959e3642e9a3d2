import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEdgeHarness } from "../../../test/support/edge-harness";
import { type HranaServer, startHranaServer } from "../../../test/support/hrana-server";
import { backup, restore } from "./backup";

/**
 * Backup and restore of the job database on both kinds of libSQL: a file (VACUUM INTO) and a
 * server over HTTP (a one-snapshot dump, here against the Hrana test fixture standing in for
 * libsql-server). The whole story with a running fleet is test/e2e/backup.e2e.test.ts.
 */

let dir: string;
let source: HranaServer;
let target: HranaServer;
let edgeDb: string;

const rows = async (url: string, sql: string) => {
  const client = createClient({ url });
  try {
    return (await client.execute(sql)).rows.map((r) => ({ ...r }));
  } finally {
    client.close();
  }
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "fw-backup-"));
  // A real edge database (migrations applied) with a tenant, a key and jobs in it.
  const h = await startEdgeHarness();
  const tenant = await h.tenant("acme");
  const user = h.client(await h.key(tenant, ["jobs:write"]));
  for (let i = 0; i < 3; i++) {
    await user.jobs.create({
      input: { type: "url", url: `https://media.example/${i}.mp4` },
      outputs: [{ name: "o", type: "video", video: { height: 240 } }],
      metadata: { quote: "it's ok" },
    });
  }
  edgeDb = join(dir, "edge.db");
  const original = createClient({ url: `file:${join(h.dir, "edge.db")}` });
  await original.execute(`VACUUM INTO '${edgeDb}'`);
  original.close();
  await h.close();
  source = await startHranaServer(edgeDb);
  target = await startHranaServer(join(dir, "empty.db"));
});

afterAll(async () => {
  await source?.close();
  await target?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("framewire backup and restore", () => {
  it("dumps a libSQL server's database in one snapshot and restores it into an empty one, row for row", async () => {
    const out = join(dir, "dump");
    const manifest = await backup({ dbUrl: source.url, out });
    expect(manifest.database).toMatchObject({ kind: "dump", file: "database.sql", jobs: { queued: 3 } });
    const sql = await readFile(join(out, "database.sql"), "utf8");
    expect(sql).toContain("it''s ok");

    const restored = await restore({ from: out, dbUrl: target.url });
    expect(restored.manifest.created_at).toBe(manifest.created_at);
    const query = "select id, tenant_id, status, spec, created_at from jobs order by id";
    expect(await rows(target.url, query)).toEqual(await rows(source.url, query));
    expect(await rows(target.url, "select count(*) as n from __drizzle_migrations")).toEqual(
      await rows(source.url, "select count(*) as n from __drizzle_migrations"),
    );
    // The edge's next start dispatches the restored queued jobs again.
    const marker = await rows(target.url, "select value from edge_settings where key = 'restore_pending'");
    expect(JSON.parse(String(marker[0]?.value))).toMatchObject({ backup_at: manifest.created_at });
    // And the source remembers it was backed up (fw_last_backup_timestamp_seconds).
    const last = await rows(source.url, "select value from edge_settings where key = 'last_backup'");
    expect(JSON.parse(String(last[0]?.value))).toEqual({ at: manifest.created_at, kind: "dump" });
  });

  it("copies a file database online and refuses to overwrite one, or to restore a damaged backup", async () => {
    const out = join(dir, "file");
    const manifest = await backup({ dbUrl: `file:${edgeDb}`, out });
    expect(manifest.database).toMatchObject({ kind: "file", file: "database.db", jobs: { queued: 3 } });
    // It holds webhook signing secrets: owner-only.
    expect((await stat(join(out, "database.db"))).mode & 0o077).toBe(0);
    await expect(backup({ dbUrl: `file:${edgeDb}`, out })).rejects.toThrow(/not empty/);

    const into = join(dir, "restored", "framewire.db");
    await restore({ from: out, dbUrl: `file:${into}` });
    expect(await rows(`file:${into}`, "select count(*) as n from jobs")).toEqual([{ n: 3 }]);
    await expect(restore({ from: out, dbUrl: `file:${into}` })).rejects.toThrow(
      /exists: stop the edge and pass --force/,
    );

    await writeFile(join(out, "database.db"), "not the database");
    await expect(restore({ from: out, dbUrl: `file:${join(dir, "other.db")}` })).rejects.toThrow(/checksum/);
  });
});
