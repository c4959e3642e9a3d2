import { newId } from "@framewire/shared";
import { jobEvents, jobs } from "@framewire/shared/db";
import { createTenant, issueApiKey } from "../src/auth/api-keys";
import { openDatabase } from "../src/nodejs/database";

/** A job spec as a client sends it, with the defaults the edge fills in. */
const spec = {
  input: { type: "url" as const, url: "https://media.example/in.mp4" },
  outputs: [
    {
      name: "small",
      type: "video" as const,
      container: "mp4" as const,
      video: { codec: "h264" as const, height: 240, crf: 23, preset: "veryfast" as const },
      audio: false as const,
    },
  ],
  priority: "default" as const,
  accel: "auto" as const,
};

/** The body the benches POST to /v1/jobs. */
export const submitBody = JSON.stringify({
  input: { type: "url", url: "https://media.example/in.mp4" },
  outputs: [{ name: "small", type: "video", video: { height: 240 } }],
});

/**
 * A database for the API benches: `tenants` tenants with one key each and `jobsPerTenant` jobs
 * each, an hour old, in every state, written directly, dispatched and released (as fair dispatch
 * leaves them, not held behind the benches' submissions).
 */
export async function populateBenchDatabase(
  dbUrl: string,
  options: { tenants: number; jobsPerTenant: number },
): Promise<{ keys: string[]; jobIdsByTenant: string[][] }> {
  const { db, close } = await openDatabase(dbUrl);
  const keys: string[] = [];
  const jobIdsByTenant: string[][] = [];
  const started = Date.now() - 3_600_000;
  try {
    for (let t = 0; t < options.tenants; t++) {
      const tenantId = await createTenant(db, `bench-${t}`);
      keys.push(
        (await issueApiKey(db, { tenantId, name: "bench", scopes: ["jobs:read", "jobs:write"] })).key,
      );
      const ids: string[] = [];
      for (let chunk = 0; chunk < options.jobsPerTenant; chunk += 250) {
        const rows = [];
        for (let i = chunk; i < Math.min(chunk + 250, options.jobsPerTenant); i++) {
          const at = started + t * options.jobsPerTenant + i;
          const id = newId("job", at);
          ids.push(id);
          const status = (["queued", "running", "succeeded", "failed"] as const)[i % 4] ?? "queued";
          rows.push({
            id,
            tenantId,
            status,
            priority: "default" as const,
            pool: "cpu" as const,
            spec,
            attempts: status === "queued" ? 0 : 1,
            createdAt: at,
            updatedAt: at,
            dispatchedAt: at,
            releasedAt: at,
          });
        }
        await db.batch([
          db.insert(jobs).values(rows),
          db.insert(jobEvents).values(
            rows.map((r) => ({
              jobId: r.id,
              type: "job:created",
              status: "queued" as const,
              createdAt: r.createdAt,
            })),
          ),
        ]);
      }
      jobIdsByTenant.push(ids);
    }
  } finally {
    close();
  }
  return { keys, jobIdsByTenant };
}
