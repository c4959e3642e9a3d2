import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FramewireClient, Job } from "@framewire/shared/client";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { type Stack, startStack } from "../../scripts/lib/stack";
import { apiClient, ok, submitJob, uploadBytes } from "../support/api";
import { makeClip } from "../support/media";
import { stackReport } from "../support/stack-report";

/**
 * Fair dispatch with real processes (nats-server, the edge, two processing nodes of one slot each,
 * the native engine, libSQL): tenant A floods 200 jobs, then tenant B submits 5. Each of B's jobs
 * must start before A's 20th job to start after B's submission, and every one of A's jobs must
 * still finish. The edge holds each tenant's jobs beyond FW_TENANT_QUEUE_DEPTH in the database and
 * releases them as that tenant's waiting jobs start (edge/src/jobs/admission.ts).
 */

const floodSize = 200;
const tenantBJobs = 5;

describe("fair dispatch across tenants", () => {
  let dir: string;
  let stack: Stack;
  let a: FramewireClient;
  let b: FramewireClient;
  let clip: Buffer;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "fw-e2e-fair-"));
    stack = await startStack({
      dataDir: join(dir, "data"),
      ports: { api: 0, gateway: 0, nats: 0 },
      engine: "native",
      nodes: 2,
      slots: 1,
      output: "files",
      logLevel: "warn",
      // The flood is the point: the per-key rate limit is not what this test is about.
      extraEdgeEnv: { FW_RATE_KEY_BURST: "1000", FW_RATE_KEY_PER_SEC: "1000", FW_RATE_IP_BURST: "2000" },
    });
    const admin = apiClient(stack);
    const makeTenant = async (name: string) => {
      const tenant = ok(await admin.admin.createTenant(name));
      const key = ok(await admin.admin.createKey(tenant.id, { name, scopes: ["jobs:read", "jobs:write"] }));
      return createClientFor(key.key);
    };
    const createClientFor = (apiKey: string) => apiClient({ apiUrl: stack.apiUrl, apiKey });
    a = await makeTenant("tenant-a");
    b = await makeTenant("tenant-b");
    clip = await readFile(
      await makeClip(join(dir, "clip.mp4"), { seconds: 1, width: 160, height: 120, fps: 10 }),
    );
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const spec = (uploadId: string) => ({
    input: { type: "upload" as const, upload_id: uploadId },
    outputs: [{ name: "tiny", type: "audio" as const, codec: "aac" as const }],
  });

  async function allJobs(client: FramewireClient): Promise<Job[]> {
    const jobs: Job[] = [];
    let cursor: string | undefined;
    do {
      const page = ok(await client.jobs.list({ limit: 100, ...(cursor ? { cursor } : {}) }));
      jobs.push(...page.data);
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    return jobs;
  }

  async function waitAllFinal(client: FramewireClient, count: number, timeoutMs: number): Promise<Job[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const jobs = await allJobs(client);
      const final = jobs.filter((j) => ["succeeded", "failed", "canceled"].includes(j.status));
      if (jobs.length === count && final.length === count) return jobs;
      if (Date.now() > deadline)
        throw new Error(`${final.length} of ${count} jobs final after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  it("starts each of B's 5 jobs before A's 20th job after B's submission, and finishes all of A's", async () => {
    onTestFailed(async () =>
      console.error(`the stack when the test failed:\n${await stackReport(join(dir, "data"))}`),
    );
    const uploadA = await uploadBytes(a, clip);
    const uploadB = await uploadBytes(b, clip);

    // A floods: 200 jobs, 20 requests at a time.
    for (let i = 0; i < floodSize; i += 20) {
      await Promise.all(Array.from({ length: 20 }, () => submitJob(a, spec(uploadA))));
    }
    // Let the flood get going: the slots busy with A's work, A's backlog held at the edge.
    const running = async () => ok(await a.jobs.list({ status: "running", limit: 10 })).data.length;
    const until = Date.now() + 30_000;
    while ((await running()) < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));

    const submittedAt = Date.now();
    const bJobs = [];
    for (let i = 0; i < tenantBJobs; i++) bJobs.push(await submitJob(b, spec(uploadB)));

    const finalA = await waitAllFinal(a, floodSize, 240_000);
    const finalB = await waitAllFinal(b, tenantBJobs, 30_000);
    expect(finalA.map((j) => j.status)).toEqual(Array(floodSize).fill("succeeded"));
    expect(finalB.map((j) => j.status)).toEqual(Array(tenantBJobs).fill("succeeded"));

    const startedAt = (j: Job) => Date.parse(j.started_at ?? "");
    // A's jobs that started after B submitted, in the order they started.
    const aAfter = finalA
      .map(startedAt)
      .filter((t) => t >= submittedAt)
      .sort((x, y) => x - y);
    expect(aAfter.length).toBeGreaterThanOrEqual(20);
    const aTwentieth = aAfter[19] as number;
    const bStarts = finalB.map(startedAt).sort((x, y) => x - y);
    // How many of A's jobs started after B's submission and before each of B's: the figure the
    // issue bounds (under 20), printed for the report.
    const aBefore = bStarts.map((t) => aAfter.filter((s) => s < t).length);
    console.log(
      `fairness: A jobs started after B's submission before each of B's 5 jobs started: ${aBefore.join(", ")}; ` +
        `B's last start ${((bStarts.at(-1) as number) - submittedAt) / 1000} s after its submission; ` +
        `A's 20th start ${(aTwentieth - submittedAt) / 1000} s after`,
    );
    for (const t of bStarts) expect(t).toBeLessThan(aTwentieth);
    expect(Math.max(...aBefore)).toBeLessThan(20);
  }, 300_000);
});
