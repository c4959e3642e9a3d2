import type { AttemptLogReport, NodeHeartbeatInput } from "@framewire/shared";
import { edgeSettings, jobs } from "@framewire/shared/db";
import { kvBuckets, streams } from "@framewire/shared/nats";
import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type EdgeHarness, startEdgeHarness, testNodeToken } from "../../test/support/edge-harness";
import { heartbeatFixture } from "../../test/support/heartbeat";
import { startS3Server } from "../../test/support/s3-server";
import { recoverAfterRestore, restorePendingKey } from "./jobs/restore";
import { noteWaitingJobs } from "./jobs/waiting";
import { createPromMetrics } from "./nodejs/metrics";
import { sweepRetention } from "./retention";
import { createS3ObjectStore } from "./storage/s3-object-store";

/**
 * Operating the edge: /metrics behind its token and what it says about queues, the fleet and
 * webhooks; the detailed health's storage probe and queue ages; warnings for a job no live node can
 * run (and the refusal an operator may choose); `job:waiting`; per-job logs (tenant-scoped, bounded,
 * deleted with the outputs); a key's jobs; and what the edge does after a restore. Real libSQL and
 * nats-server (the edge harness); heartbeats are written to KV as nodes write them.
 */

const metricsToken = "m".repeat(24);
let h: EdgeHarness;
let admin: ReturnType<EdgeHarness["client"]>;
let user: ReturnType<EdgeHarness["client"]>;
let userKey: string;
let tenantId: string;

const cpuJob = {
  input: { type: "url" as const, url: "https://media.example/in.mp4" },
  outputs: [{ name: "small", type: "video" as const, video: { height: 240 } }],
};
const gpuJob = { ...cpuJob, accel: "gpu" as const };

const heartbeat = (id: string, overrides: Partial<NodeHeartbeatInput> = {}) =>
  heartbeatFixture(id, { at: new Date(h.deps.clock()).toISOString(), ...overrides });

async function setNodes(...beats: NodeHeartbeatInput[]) {
  const kv = await new Kvm(h.nc).open(kvBuckets.nodes);
  for (const key of await collect(await kv.keys())) await kv.purge(key);
  for (const beat of beats) await kv.put(beat.id, JSON.stringify(beat));
  // Past the edge's heartbeat cache (2 s), so the next submission reads these.
  h.advance(3_000);
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const internal = (path: string, body: unknown) =>
  h.app.request(path, {
    method: "POST",
    headers: { authorization: `Bearer ${testNodeToken}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });

beforeAll(async () => {
  h = await startEdgeHarness({
    // One tenant piles up queued jobs with no node to take them: fair dispatch (which would hold
    // them back) is off here, so each job goes to JetStream when accepted (see fairness tests).
    config: { FW_UNSERVED_WAIT_SEC: 60, FW_TENANT_QUEUE_DEPTH: 0 },
    deps: { metrics: createPromMetrics({ token: metricsToken, cacheMs: 0 }) },
  });
  admin = h.client(await h.key(await h.tenant("operator"), ["admin"]));
  tenantId = await h.tenant("acme");
  userKey = await h.key(tenantId, ["jobs:read", "jobs:write"]);
  user = h.client(userKey);
});
afterAll(() => h?.close());

describe("GET /metrics", () => {
  const scrape = (authorization?: string) =>
    h.app.request("/metrics", authorization ? { headers: { authorization } } : {});

  it("refuses a scrape without the token (or with another) and serves one with it", async () => {
    expect((await scrape()).status).toBe(401);
    expect((await scrape(`Bearer ${"x".repeat(24)}`)).status).toBe(401);
    const res = await scrape(`Bearer ${metricsToken}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/^fw_build_info\{service="edge",version="0\.1\.0",runtime="node"\} 1$/m);
  });

  it("says how long the oldest queued job has waited, the outbox, the dead letters and the nodes per pool", async () => {
    await user.jobs.create(cpuJob);
    // The key was verified against the database once; this read is answered by the cache.
    await user.jobs.list();
    h.advance(90_000);
    await setNodes(heartbeat("node-cpu"), heartbeat("node-gpu", { pools: ["gpu", "cpu"] }));
    const text = await (await scrape(`Bearer ${metricsToken}`)).text();
    const age = Number(
      /^fw_queue_oldest_age_seconds\{pool="cpu",priority="default"\} (\S+)$/m.exec(text)?.[1],
    );
    expect(age).toBeGreaterThanOrEqual(90);
    expect(text).toMatch(/^fw_queue_oldest_age_seconds\{pool="gpu",priority="high"\} 0$/m);
    expect(text).toMatch(/^fw_outbox_backlog 0$/m);
    expect(text).toMatch(/^fw_dead_letters 0$/m);
    expect(text).toMatch(/^fw_nodes\{pool="cpu"\} 2$/m);
    expect(text).toMatch(/^fw_nodes\{pool="gpu"\} 1$/m);
    // The GPU node opened no hardware encoder: the alert FramewireGpuNotUsed reads this.
    expect(text).toMatch(/^fw_gpu_nodes_without_hardware 1$/m);
    expect(text).toMatch(/^fw_queue_store_max_bytes \d+$/m);
    expect(text).toMatch(/^fw_database_up 1$/m);
    expect(text).toMatch(/^fw_key_cache_lookups_total\{result="hit"\} [1-9]/m);
    expect(text).toMatch(/^fw_key_cache_lookups_total\{result="miss"\} [1-9]/m);
    expect(text).toMatch(/^fw_maintenance_enabled 0$/m);
  });

  it("counts rate-limit refusals by bucket", async () => {
    const strict = h.instance({
      config: {
        ...h.deps.config,
        rateLimits: { ...h.deps.config.rateLimits, perKey: { capacity: 1, refillPerSec: 0.001 } },
      },
    });
    const get = () => strict.app.request("/v1/jobs", { headers: { authorization: `Bearer ${userKey}` } });
    await get();
    expect((await get()).status).toBe(429);
    const text = await (await scrape(`Bearer ${metricsToken}`)).text();
    expect(text).toMatch(/^fw_rate_limit_refusals_total\{by="key"\} [1-9]/m);
  });
});

describe("GET /v1/health/detailed", () => {
  it("probes the object store, gives queue ages, the outbox, the queue store and the edge's clock", async () => {
    const res = await admin.healthDetailed();
    expect(res.status).toBe(200);
    const body = res.ok ? res.data : null;
    expect(body).toMatchObject({
      storage: { ok: true, kind: "local", latency_ms: expect.any(Number) },
      outbox_backlog: 0,
      queue_store: { max_bytes: 1024 ** 3 },
    });
    expect(body?.queue_oldest_age_sec?.["cpu.default"]).toBeGreaterThan(0);
    expect(Math.abs(Date.parse(body?.time ?? "") - h.deps.clock())).toBeLessThan(5_000);
  });

  it("is degraded (503) with the store's own words when the bucket does not exist", async () => {
    // s3rver checks no signatures, so wrong credentials can't be shown with it: a bucket that
    // does not exist is the honest stand-in (the same answer path: the store refuses the probe).
    const s3 = await startS3Server();
    try {
      const store = createS3ObjectStore({
        endpoint: s3.endpoint,
        publicEndpoint: null,
        region: "us-east-1",
        bucket: "no-such-bucket",
        forcePathStyle: true,
        credentials: s3.credentials,
        checksums: "WHEN_REQUIRED",
        downloadUrlTtlSec: 3600,
        uploadUrlTtlSec: 3600,
      });
      const other = h.instance({ storage: store });
      const res = await other.app.request("/v1/health/detailed", {
        headers: { authorization: `Bearer ${await h.key(await h.tenant("ops2"), ["admin"])}` },
      });
      expect(res.status).toBe(503);
      const body = (await res.json()) as { status: string; storage: { ok: boolean; detail: string } };
      expect(body.status).toBe("degraded");
      expect(body.storage).toMatchObject({ ok: false, kind: "s3" });
      expect(body.storage.detail).toMatch(/NoSuchBucket/);
    } finally {
      await s3.stop();
    }
  });
});

describe("a job no live node can run", () => {
  it("is accepted with a warning naming why it will wait; a cpu job with a live node gets none", async () => {
    await setNodes(heartbeat("node-cpu"));
    const gpu = await user.jobs.create(gpuJob);
    expect(gpu.status).toBe(202);
    expect(gpu.ok && gpu.data.warnings).toEqual([
      {
        code: "no_node_for_pool",
        message: expect.stringContaining("No live processing node serves the gpu pool"),
      },
    ]);
    const cpu = await user.jobs.create(cpuJob);
    expect(cpu.ok && cpu.data.warnings).toBeUndefined();
    // The warning is the answer's, not the record's.
    expect(gpu.ok && (await user.jobs.get(gpu.data.id)).ok).toBe(true);
  });

  it("says the GPU nodes opened no hardware encoder, with their reasons", async () => {
    await setNodes(
      heartbeat("gpu-1", { pools: ["gpu", "cpu"], hardware_errors: { cuda: "no CUDA device" } }),
    );
    const res = await user.jobs.create(gpuJob);
    expect(res.ok && res.data.warnings?.[0]).toMatchObject({
      code: "no_hardware_encoder",
      message: expect.stringContaining("gpu-1: no CUDA device"),
    });
  });

  it("says every node holds back new work, and why", async () => {
    await setNodes(
      heartbeat("full-1", { accepting: false, refusing_reason: "the temp disk has 3 MiB free" }),
    );
    const res = await user.jobs.create(cpuJob);
    expect(res.ok && res.data.warnings?.[0]).toMatchObject({
      code: "no_node_accepting",
      message: expect.stringContaining("full-1: the temp disk has 3 MiB free"),
    });
  });

  it("is refused with 503 no_capable_node when the operator says so (FW_UNSERVED_POOL=refuse)", async () => {
    await setNodes(heartbeat("node-cpu"));
    const strict = h.instance({ config: { ...h.deps.config, unserved: { refuse: true, waitMs: 60_000 } } });
    const res = await strict.app.request("/v1/jobs", {
      method: "POST",
      headers: { authorization: `Bearer ${userKey}`, "content-type": "application/json" },
      body: JSON.stringify(gpuJob),
    });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ code: "no_capable_node" });
    const cpu = await strict.app.request("/v1/jobs", {
      method: "POST",
      headers: { authorization: `Bearer ${userKey}`, "content-type": "application/json" },
      body: JSON.stringify(cpuJob),
    });
    expect(cpu.status).toBe(202);
  });

  it("gets one job:waiting event once it has waited FW_UNSERVED_WAIT_SEC with no capable node", async () => {
    await setNodes(heartbeat("node-cpu"));
    const job = await user.jobs.create(gpuJob);
    const id = job.ok ? job.data.id : "";
    expect(await noteWaitingJobs(h.deps, { batch: 1000 })).toBe(0);
    h.advance(61_000);
    await noteWaitingJobs(h.deps, { batch: 1000 });
    await noteWaitingJobs(h.deps, { batch: 1000 });
    const events = await user.jobs.events(id);
    const waiting = (events.ok ? events.data.data : []).filter((e) => e.type === "job:waiting");
    expect(waiting).toHaveLength(1);
    expect(waiting[0]).toMatchObject({
      status: "queued",
      data: {
        code: "no_node_for_pool",
        reason: expect.stringContaining("gpu pool"),
        waited_sec: expect.any(Number),
      },
    });
  });
});

describe("per-job logs", () => {
  const log = (overrides: Partial<AttemptLogReport> = {}): AttemptLogReport => ({
    attempt: 1,
    node_id: "node-a",
    engine: "native",
    started_at: new Date(h.deps.clock()).toISOString(),
    ended_at: new Date(h.deps.clock() + 2_000).toISOString(),
    outcome: "failed",
    lines: [
      {
        at_ms: 120,
        level: "warning",
        source: "engine",
        message: "mov,mp4,m4a,3gp,3g2,mj2: stream 1, missing mandatory atoms",
      },
      {
        at_ms: 1900,
        level: "error",
        source: "node",
        message: "input_unreadable: The input could not be read",
      },
    ],
    dropped: 0,
    ...overrides,
  });

  let jobId: string;
  beforeEach(async () => {
    const job = await user.jobs.create(cpuJob);
    jobId = job.ok ? job.data.id : "";
  });

  it("shows each attempt's lines with the node and timings, to the job's tenant only", async () => {
    expect((await internal(`/internal/jobs/${jobId}/logs`, log())).status).toBe(200);
    // A node that got no answer sends it again: stored once.
    expect((await internal(`/internal/jobs/${jobId}/logs`, log())).status).toBe(200);
    expect(
      (await internal(`/internal/jobs/${jobId}/logs`, log({ attempt: 2, outcome: "succeeded" }))).status,
    ).toBe(200);
    const res = await user.jobs.logs(jobId);
    const data = res.ok ? res.data.data : [];
    expect(data.map((l) => [l.attempt, l.outcome, l.node_id])).toEqual([
      [1, "failed", "node-a"],
      [2, "succeeded", "node-a"],
    ]);
    expect(data[0]?.lines[0]).toMatchObject({ level: "warning", source: "engine", elapsed_sec: 0.12 });
    expect(Date.parse(data[0]?.lines[1]?.at ?? "") - Date.parse(data[0]?.started_at ?? "")).toBe(1900);

    const stranger = h.client(await h.key(await h.tenant("stranger"), ["jobs:read"]));
    expect((await stranger.jobs.logs(jobId)).status).toBe(404);
    // Only nodes send logs.
    const forged = await h.app.request(`/internal/jobs/${jobId}/logs`, {
      method: "POST",
      headers: { authorization: `Bearer ${userKey}`, "content-type": "application/json" },
      body: JSON.stringify(log()),
    });
    expect(forged.status).toBe(401);
  });

  it("refuses a log over its bounds", async () => {
    const line = { at_ms: 1, level: "warning" as const, source: "engine" as const, message: "x" };
    const tooMany = await internal(`/internal/jobs/${jobId}/logs`, log({ lines: Array(201).fill(line) }));
    expect(tooMany.status).toBe(422);
    const tooLong = await internal(
      `/internal/jobs/${jobId}/logs`,
      log({ lines: [{ ...line, message: "y".repeat(1001) }] }),
    );
    expect(tooLong.status).toBe(422);
  });

  it("is deleted with the job's outputs by retention", async () => {
    await internal(`/internal/jobs/${jobId}/logs`, log());
    await internal(`/internal/jobs/${jobId}/reports`, {
      type: "running",
      attempt: 1,
      node_id: "n",
      engine: "native",
    });
    await internal(`/internal/jobs/${jobId}/reports`, {
      type: "failed",
      attempt: 1,
      node_id: "n",
      retryable: false,
      error: { code: "input_unreadable", message: "bad" },
    });
    expect((await user.jobs.logs(jobId)).ok && (await user.jobs.logs(jobId))).toMatchObject({
      data: { data: [expect.anything()] },
    });
    h.advance(h.deps.config.retention.outputMs ?? 0);
    h.advance(60_000);
    await sweepRetention(h.deps, { batch: 10_000 });
    expect((await user.jobs.logs(jobId)).ok && (await user.jobs.logs(jobId))).toMatchObject({
      data: { data: [] },
    });
  });
});

describe("a key that leaked", () => {
  it("lists the jobs it submitted (admin only)", async () => {
    const key = await h.key(tenantId, ["jobs:write", "jobs:read"]);
    const leaked = h.client(key);
    const a = await leaked.jobs.create(cpuJob);
    const b = await leaked.jobs.create(cpuJob);
    await user.jobs.create(cpuJob);
    const keys = await admin.admin.listKeys(tenantId);
    const keyId = (keys.ok ? keys.data.data : []).find((k) => key.startsWith(`fw_${k.prefix}_`))?.id ?? "";
    const listed = await admin.admin.keyJobs(keyId);
    expect(listed.ok && listed.data.data.map((j) => j.id)).toEqual([b.ok && b.data.id, a.ok && a.data.id]);
    expect((await user.admin.keyJobs(keyId)).status).toBe(403);
  });
});

describe("after a restore", () => {
  it("dispatches every queued and running job again as a new generation, once", async () => {
    const queued = await user.jobs.create(cpuJob);
    const started = await user.jobs.create(cpuJob);
    const done = await user.jobs.create(cpuJob);
    const [q = "", r = "", d = ""] = [queued, started, done].map((j) => (j.ok ? j.data.id : ""));
    await internal(`/internal/jobs/${r}/reports`, {
      type: "running",
      attempt: 1,
      node_id: "n",
      engine: "native",
    });
    await internal(`/internal/jobs/${d}/reports`, {
      type: "running",
      attempt: 1,
      node_id: "n",
      engine: "native",
    });
    await internal(`/internal/jobs/${d}/reports`, {
      type: "succeeded",
      attempt: 1,
      node_id: "n",
      outputs: [],
    });
    const jsm = await jetstreamManager(h.nc);
    await jsm.streams.purge(streams.jobs);

    await h.deps.db.insert(edgeSettings).values({
      key: restorePendingKey,
      value: { backup_at: "2024-01-01T00:00:00.000Z" },
      updatedAt: h.deps.clock(),
    });
    expect(await recoverAfterRestore(h.deps)).toBeGreaterThanOrEqual(2);
    expect(await recoverAfterRestore(h.deps)).toBe(0);

    for (const id of [q, r] as string[]) {
      const [row] = await h.deps.db.select().from(jobs).where(eq(jobs.id, id));
      expect(row).toMatchObject({ status: "queued", generation: 1, dispatchedAt: expect.any(Number) });
      const events = await user.jobs.events(id);
      expect((events.ok ? events.data.data : []).filter((e) => e.type === "job:restored")).toHaveLength(1);
    }
    const [finished] = await h.deps.db.select().from(jobs).where(eq(jobs.id, d));
    expect(finished).toMatchObject({ status: "succeeded", generation: 0 });
    const info = await jsm.streams.info(streams.jobs);
    expect(info.state.messages).toBeGreaterThanOrEqual(2);
    // The restored dispatch of the running job counts its attempts on.
    const [runningRow] = await h.deps.db.select().from(jobs).where(eq(jobs.id, r));
    expect(runningRow?.attemptBase).toBe(1);
  });
});
