import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Job } from "@framewire/shared/client";
import { isFinal } from "@framewire/shared/job-state";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot, type Stack, startStack } from "../../scripts/lib/stack";
import { apiClient, ok, submitJob, uploadBytes, waitForJob } from "../support/api";
import { makeClip } from "../support/media";
import { startNatsServer } from "../support/nats-server";

/**
 * Backups that restore, on the real stack: jobs running and queued, `framewire backup` taken while
 * they run, the stack stopped and its data folder destroyed (database, NATS store, secrets, logs;
 * the local object store stays, standing for the S3 bucket an operator backs up by its own means),
 * `framewire restore` into a fresh NATS, the stack started again: every job accepted before the
 * backup is there and ends in a final state exactly once; one accepted after it is not (the
 * recovery point is the backup's time).
 */

const execFileAsync = promisify(execFile);
let dir: string;
let data: string;
let stack: Stack;

async function cli(args: string[]) {
  const { stdout, stderr } = await execFileAsync(
    process.execPath,
    ["--import", "tsx", "node-worker/cli/src/main.ts", ...args],
    { cwd: repoRoot, env: { ...process.env, FW_DATA_DIR: data } },
  );
  return { stdout, stderr };
}

const stackOptions = () => ({
  dataDir: data,
  ports: { api: 0, gateway: 0, nats: 0 },
  output: "files" as const,
  extraNodeEnv: { FW_POLL_MS: "200" },
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "fw-e2e-backup-"));
  data = join(dir, "data");
  stack = await startStack(stackOptions());
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("framewire backup and restore", () => {
  it("brings back every job accepted before the backup, each ending in a final state once", async () => {
    const client = apiClient(stack);
    const apiKey = stack.apiKey;
    const clip = await readFile(
      // Long enough that the queue is still there when the backup CLI (started cold) reads it, on
      // a loaded machine too: with 3 s, three jobs once finished first.
      await makeClip(join(dir, "clip.mp4"), { seconds: 6, width: 1280, height: 720 }),
    );
    const upload = await uploadBytes(client, clip);
    const spec = {
      input: { type: "upload" as const, upload_id: upload },
      outputs: [{ name: "small", type: "video" as const, video: { height: 240, preset: "slow" as const } }],
    };
    // One slot: the first job runs, the others wait in the queue.
    const accepted: Job[] = [];
    for (let i = 0; i < 4; i++) accepted.push(await submitJob(client, spec));
    await waitForJob(client, accepted[0]?.id ?? "", { until: (j) => j.status === "running" });

    const backup = join(dir, "backup");
    const taken = await cli(["backup", "--out", backup]);
    expect(taken.stdout.trim()).toBe(backup);
    expect(taken.stderr).toMatch(/: jobs \d+ \w+.*; streams FW_JOBS: \d+, FW_DLQ: 0$/m);
    const manifest = JSON.parse(await readFile(join(backup, "manifest.json"), "utf8"));
    // Taken while jobs ran: one running, others waiting.
    expect(manifest.database.jobs).toMatchObject({ running: 1, queued: expect.any(Number) });
    // The edge knows when the last backup was taken (the FramewireBackupStale alert reads it).
    const metrics = await (await fetch(`${stack.apiUrl}/metrics`)).text();
    expect(metrics).toMatch(/^fw_last_backup_timestamp_seconds\{kind="file"\} \d+/m);

    const lost = await submitJob(client, spec);

    // Disaster: everything goes but the object store.
    await stack.stop();
    for (const entry of await readdir(data)) {
      if (entry !== "storage") await rm(join(data, entry), { recursive: true, force: true });
    }

    // NATS comes back empty (its store was lost too); the restore fills in what it needs.
    const nats = await startNatsServer({ storeDir: join(data, "nats") });
    try {
      const restored = await cli([
        "restore",
        "--from",
        backup,
        "--db",
        `file:${join(data, "framewire.db")}`,
        "--nats",
        nats.url,
      ]);
      expect(restored.stderr).toMatch(/dispatches the \d+ queued or running jobs again/);
    } finally {
      await nats.stop();
    }

    stack = await startStack(stackOptions());
    const after = apiClient({ apiUrl: stack.apiUrl, apiKey });
    let redispatched = 0;
    for (const job of accepted) {
      const done = await waitForJob(after, job.id, { timeoutMs: 90_000 });
      expect(done.status, job.id).toBe("succeeded");
      const events = ok(await after.jobs.events(job.id)).data;
      const what = `${job.id}: ${events.map((e) => `${e.type}/${e.status}`).join(" ")}`;
      expect(
        events.filter((e) => e.status !== null && isFinal(e.status)),
        what,
      ).toHaveLength(1);
      const restoredEvents = events.filter((e) => e.type === "job:restored");
      expect(restoredEvents.length, what).toBeLessThanOrEqual(1);
      redispatched += restoredEvents.length;
    }
    // Exactly the jobs the snapshot held as queued or running were dispatched again.
    expect(redispatched).toBe(manifest.database.jobs.running + (manifest.database.jobs.queued ?? 0));
    // Accepted after the backup: past the recovery point, not in the restored database.
    expect((await after.jobs.get(lost.id)).status).toBe(404);
  }, 240_000);
});
