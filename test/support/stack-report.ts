import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import Database from "libsql";

/**
 * What a stack was doing, for a test that failed on it (a hang says nothing by itself): its jobs
 * counted by status and by where fair dispatch has them (held at the edge, released, published),
 * and the last lines of each process's log. Reads the database file beside the running edge (WAL:
 * a reader does not block it).
 */
export async function stackReport(dataDir: string, lines = 15): Promise<string> {
  const parts: string[] = [];
  try {
    const db = new Database(join(dataDir, "framewire.db"), { readonly: true });
    try {
      const rows = db
        .prepare(
          `select tenant_id, status, released_at is not null as released, dispatched_at is not null as published,
             count(*) as jobs from jobs group by 1, 2, 3, 4 order by 1, 2, 3, 4`,
        )
        .all() as Record<string, unknown>[];
      parts.push("jobs (tenant, status, released, published: count):");
      for (const r of rows) {
        parts.push(`  ${r.tenant_id} ${r.status} ${r.released} ${r.published}: ${r.jobs}`);
      }
    } finally {
      db.close();
    }
  } catch (error) {
    parts.push(`jobs: unreadable (${(error as Error).message})`);
  }
  const logs = join(dataDir, "logs");
  for (const name of (await readdir(logs).catch(() => [])).sort()) {
    const text = await readFile(join(logs, name), "utf8").catch(() => "");
    if (!text.trim()) continue;
    const tail = text.trim().split("\n").slice(-lines);
    parts.push(`${name} (last ${tail.length} lines):`, ...tail.map((line) => `  ${line}`));
  }
  return parts.join("\n");
}
