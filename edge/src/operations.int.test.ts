import { Writable } from "node:stream";
import { type DeadLetterMessage, jobSpecSchema } from "@framewire/shared";
import { kvBuckets, streams, subjects } from "@framewire/shared/nats";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EdgeHarness, startEdgeHarness } from "../../test/support/edge-harness";
import { heartbeatFixture } from "../../test/support/heartbeat";
import type { Logger } from "./logger";
import { createPromMetrics } from "./nodejs/metrics";

/** Maintenance mode, retry, health/nodes/dead letters, metrics, OpenAPI, request ids in logs. */

let h: EdgeHarness;
let admin: ReturnType<EdgeHarness["client"]>;
let user: ReturnType<EdgeHarness["client"]>;
let tenantId: string;

const spec = {
  input: { type: "url" as const, url: "https://media.example/in.mp4" },
  outputs: [{ name: "small", type: "video" as const, video: { height: 240 } }],
};

const report = (id: string, body: unknown) =>
  h.app.request(`/internal/jobs/${id}/reports`, {
    method: "POST",
    headers: { authorization: `Bearer ${h.nodeToken}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });

async function stored(subject: string) {
  const jsm = await jetstreamManager(h.nc);
  return jsm.streams.getMessage(streams.jobs, { last_by_subj: subject });
}

async function newJob() {
  const res = await user.jobs.create(spec);
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
  return res.data;
}

async function failedJob(attempt = 1) {
  const job = await newJob();
  await report(job.id, { type: "running", attempt, node_id: "n1", engine: "native" });
  await report(job.id, {
    type: "failed",
    attempt,
    node_id: "n1",
    retryable: false,
    error: { code: "engine_failure", message: "boom" },
  });
  return job;
}

beforeAll(async () => {
  h = await startEdgeHarness({
    // One tenant piles up queued jobs with no node to take them: fair dispatch (which would hold
    // them back) is off here, so each job goes to JetStream when accepted (see fairness tests).
    config: { FW_SETTINGS_CACHE_MS: 2_000, FW_TENANT_QUEUE_DEPTH: 0 },
    deps: { metrics: createPromMetrics() },
  });
  admin = h.client(await h.key(await h.tenant("operator"), ["admin"]));
  tenantId = await h.tenant("acme");
  user = h.client(await h.key(tenantId, ["jobs:read", "jobs:write"]));
});
afterAll(() => h?.close());

describe("maintenance mode", () => {
  it("refuses writes with 503 and Retry-After, keeps reads, admin and node reports working", async () => {
    const job = await newJob();

    const on = await admin.admin.setMaintenance({
      enabled: true,
      retry_after_sec: 120,
      message: "DB upgrade",
    });
    expect(on).toMatchObject({ status: 200, data: { enabled: true, retry_after_sec: 120 } });

    const refused = await user.jobs.create(spec);
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("120");
    expect(refused.ok ? null : refused.problem).toMatchObject({ code: "maintenance", detail: "DB upgrade" });
    expect((await user.jobs.cancel(job.id)).status).toBe(503);
    const upload = await h.app.request("/v1/uploads", {
      method: "POST",
      headers: {
        authorization: `Bearer ${await h.key(tenantId, ["jobs:write"])}`,
        "content-type": "video/mp4",
      },
      body: new Uint8Array(10),
    });
    expect(upload.status).toBe(503);

    expect((await user.jobs.get(job.id)).status).toBe(200);
    expect((await user.jobs.list()).status).toBe(200);
    expect((await admin.admin.listKeys()).status).toBe(200);
    const running = await report(job.id, { type: "running", attempt: 1, node_id: "n1", engine: "native" });
    expect(running.status).toBe(200);

    expect((await admin.admin.setMaintenance({ enabled: false })).status).toBe(200);
    expect((await user.jobs.create(spec)).status).toBe(202);
  });

  it("reaches other edge instances within the settings cache TTL", async () => {
    const other = h.instance();
    const key = await h.key(tenantId, ["jobs:write"]);
    const post = () =>
      other.app.request("/v1/jobs", {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify(spec),
      });
    expect((await post()).status).toBe(202); // caches "off"
    await admin.admin.setMaintenance({ enabled: true, retry_after_sec: 30 });
    expect((await post()).status).toBe(202); // still within its cache
    h.advance(2_001);
    const refused = await post();
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("30");
    await admin.admin.setMaintenance({ enabled: false });
    h.advance(2_001);
    expect((await post()).status).toBe(202);
  });
});

describe("retry", () => {
  it("re-dispatches a failed job as a new message and translates the new delivery count", async () => {
    const job = await failedJob();
    expect((await user.jobs.get(job.id)).ok && (await user.jobs.get(job.id))).toMatchObject({
      data: { status: "failed", attempts: 1 },
    });
    const retried = await user.jobs.retry(job.id);
    expect(retried).toMatchObject({ status: 202, data: { status: "queued", attempts: 1, error: null } });

    const message = await stored(subjects.job("cpu", "default"));
    expect(message?.header.get("Nats-Msg-Id")).toBe(`${job.id}.r1`);
    expect(message?.json()).toMatchObject({ job_id: job.id, attempt_base: 1 });

    // JetStream's delivery count restarts at 1 for the new message: that is the job's attempt 2.
    const run = await report(job.id, {
      type: "running",
      attempt: 1,
      attempt_base: 1,
      node_id: "n2",
      engine: "native",
    });
    expect(await run.json()).toEqual({ status: "running", stale: false });
    // A late report from the first dispatch (attempt_base 0) no longer owns the job.
    const late = await report(job.id, {
      type: "succeeded",
      attempt: 1,
      attempt_base: 0,
      node_id: "n1",
      outputs: [],
    });
    expect(await late.json()).toMatchObject({ stale: true });
    const done = await report(job.id, {
      type: "succeeded",
      attempt: 1,
      attempt_base: 1,
      node_id: "n2",
      outputs: [],
    });
    expect(await done.json()).toEqual({ status: "succeeded", stale: false });

    const after = await user.jobs.get(job.id);
    expect(after.ok && after.data).toMatchObject({ status: "succeeded", attempts: 2 });
    const events = await user.jobs.events(job.id);
    expect(events.ok && events.data.data.map((e) => `${e.type}@${e.attempt}`)).toEqual([
      "job:created@0",
      "job:running@1",
      "job:failed@1",
      "job:retried@1",
      "job:running@2",
      "job:succeeded@2",
    ]);
    // Only a failed job can be retried.
    expect((await user.jobs.retry(job.id)).status).toBe(409);
  });

  it("counts reports without attempt_base (older nodes) as the current dispatch", async () => {
    const job = await failedJob();
    await user.jobs.retry(job.id);
    await report(job.id, { type: "running", attempt: 1, node_id: "n3", engine: "wasm" });
    const after = await user.jobs.get(job.id);
    expect(after.ok && after.data).toMatchObject({ status: "running", attempts: 2 });
  });

  it("is invisible to another tenant (404)", async () => {
    const job = await failedJob();
    const stranger = h.client(await h.key(await h.tenant("other"), ["jobs:read", "jobs:write"]));
    expect((await stranger.jobs.retry(job.id)).status).toBe(404);
  });
});

describe("fleet: nodes, dead letters, health", () => {
  const heartbeat = (id: string, busy: number) => heartbeatFixture(id, { slots: { total: 2, busy } });

  async function deadLetter(jobId: string): Promise<DeadLetterMessage> {
    const letter: DeadLetterMessage = {
      job_id: jobId,
      tenant_id: tenantId,
      subject: subjects.job("cpu", "default"),
      attempts: 5,
      last_error: { code: "engine_failure", message: "crashed" },
      dead_at: new Date().toISOString(),
      job: {
        job_id: jobId,
        tenant_id: tenantId,
        spec: jobSpecSchema.parse(spec),
        input_key: null,
      },
    };
    await jetstream(h.nc).publish(subjects.deadLetter(jobId), JSON.stringify(letter));
    return letter;
  }

  it("lists nodes from the heartbeats KV, with active/busy/idle", async () => {
    const kv = await new Kvm(h.nc).open(kvBuckets.nodes);
    await kv.put(
      "node-a",
      JSON.stringify({ ...heartbeat("node-a", 1), hardware_errors: { cuda: "no CUDA device" } }),
    );
    await kv.put("node-b", JSON.stringify(heartbeat("node-b", 0)));
    const nodes = await admin.admin.nodes();
    expect(nodes.ok && nodes.data).toMatchObject({ active: 2, busy: 1, idle: 1 });
    expect(nodes.ok && nodes.data.data.map((n) => n.id)).toEqual(["node-a", "node-b"]);
    expect((await user.admin.nodes()).status).toBe(403);
  });

  it("requeues a dead letter as a new dispatch and drops another", async () => {
    const a = await failedJob(5);
    const b = await newJob();
    await deadLetter(a.id);
    await deadLetter(b.id);

    expect((await h.client().healthDetailed()).status).toBe(401);
    expect((await user.healthDetailed()).status).toBe(403);
    const health = await admin.healthDetailed();
    // What each node's engine found: an operator sees why a GPU node encodes on the CPU.
    const list =
      (health.ok && (health.data as unknown as { nodes: { list: Record<string, unknown>[] } }).nodes.list) ||
      [];
    expect(list.find((n) => n.id === "node-a")).toMatchObject({
      hardware_encoders: [],
      hardware_errors: { cuda: "no CUDA device" },
    });
    expect(health).toMatchObject({
      status: 200,
      data: {
        status: "ok",
        database: { ok: true },
        nats: { ok: true },
        dead_letters: { count: 2 },
        nodes: { active: 2, busy: 1, idle: 1 },
        versions: { edge: "0.1.0", nodes: ["0.1.0"] },
      },
    });
    expect(health.ok && health.data.queue_depth).toMatchObject({
      "cpu.default": expect.any(Number),
      "gpu.high": 0,
    });

    const listed = await admin.admin.deadLetters();
    expect(listed.ok && listed.data.data.map((l) => l.job_id).sort()).toEqual([a.id, b.id].sort());

    const requeued = await admin.admin.requeueDeadLetter(a.id);
    expect(requeued).toMatchObject({ status: 202, data: { status: "queued", generation: 1 } });
    const message = await stored(subjects.job("cpu", "default"));
    expect(message?.header.get("Nats-Msg-Id")).toBe(`${a.id}.r1`);
    expect(message?.json()).toMatchObject({ job_id: a.id, attempt_base: 5 });
    const events = await user.jobs.events(a.id);
    expect(events.ok && events.data.data.at(-1)).toMatchObject({ type: "job:requeued", status: "queued" });

    expect((await admin.admin.dropDeadLetter(b.id)).status).toBe(204);
    expect((await user.jobs.get(b.id)).ok && (await user.jobs.get(b.id))).toMatchObject({
      data: { status: "failed", error: { code: "engine_failure" } },
    });
    const rest = await admin.admin.deadLetters();
    expect(rest.ok && rest.data.data).toEqual([]);
    expect((await admin.admin.requeueDeadLetter(b.id)).status).toBe(404);
  });
});

describe("observability and docs", () => {
  it("exports Prometheus metrics by route pattern, jobs by state and queue depth", async () => {
    const job = await newJob();
    await user.jobs.get(job.id);
    const res = await h.app.request("/metrics");
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(
      /fw_http_request_duration_seconds_bucket\{[^}]*route="\/v1\/jobs\/:id"[^}]*status="200"/,
    );
    expect(text).not.toContain(job.id);
    expect(text).toMatch(/fw_jobs\{state="queued"\} [1-9]/);
    expect(text).toMatch(/fw_queue_depth\{pool="cpu",priority="default"\} \d+/);
  });

  it("puts the request id on every log line of a request and on the NATS message", async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const line of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    const logger = pino({ level: "info" }, sink) as unknown as Logger;
    const other = h.instance({ logger });
    const key = await h.key(tenantId, ["jobs:write"]);
    const res = await other.app.request("/v1/jobs", {
      method: "POST",
      headers: {
        authorization: `Bearer ${key}`,
        "content-type": "application/json",
        "x-request-id": "req-ops-00042",
      },
      body: JSON.stringify(spec),
    });
    expect(res.headers.get("x-request-id")).toBe("req-ops-00042");
    await new Promise((r) => setTimeout(r, 20));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line.request_id).toBe("req-ops-00042");
    expect((await stored(subjects.job("cpu", "default")))?.header.get("Fw-Request-Id")).toBe("req-ops-00042");
  });

  it("holds POST /v1/uploads to the JSON limit when the body is JSON (the file itself may be large)", async () => {
    const key = await h.key(tenantId, ["jobs:read", "jobs:write"]);
    const big = JSON.stringify({ content_type: "video/mp4", pad: "x".repeat(200_000) });
    const res = await h.app.request("/v1/uploads", {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: big,
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ code: "payload_too_large" });
  });

  it("reads a body as JSON only when its media type is JSON, not when a parameter mentions it", async () => {
    const key = await h.key(tenantId, ["jobs:read", "jobs:write"]);
    const res = await h.app.request("/v1/jobs", {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "text/plain; x=application/json" },
      body: JSON.stringify(spec),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: "malformed_json" });
  });

  it("refuses a job body that is JSON but not an object with 422 on (body), never a 500", async () => {
    const key = await h.key(tenantId, ["jobs:read", "jobs:write"]);
    for (const body of ["null", "[]", '"x"', "1", "true"]) {
      const res = await h.app.request("/v1/jobs", {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body,
      });
      expect({ body, status: res.status }).toEqual({ body, status: 422 });
      expect(await res.json()).toMatchObject({
        code: "validation_failed",
        errors: [{ field: "(body)", message: expect.stringMatching(/^expected a JSON object/) }],
      });
    }
  });

  it("refuses an oversized JSON body with 413 problem details", async () => {
    const res = await user.jobs.create({ ...spec, metadata: { blob: "x".repeat(20_000) } } as typeof spec);
    expect(res.status).toBe(413);
    expect(res.ok ? null : res.problem.code).toBe("payload_too_large");
  });

  it("serves OpenAPI 3.1 covering every public route, and a self-contained docs page", async () => {
    const res = await h.app.request("/openapi.json");
    const doc = (await res.json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, { properties?: object }> };
    };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.components.schemas.JobSpec?.properties ?? {})).toEqual(
      expect.arrayContaining(["input", "outputs", "priority"]),
    );
    const routes = h.app.routes.filter((r) => r.method !== "ALL" && r.path.startsWith("/v1/"));
    for (const route of routes) {
      const path = route.path.replace(/:([A-Za-z]+)/g, "{$1}").replace(/\/$/, "");
      expect(doc.paths[path]?.[route.method.toLowerCase()], `${route.method} ${route.path}`).toBeDefined();
    }
    const docs = await h.app.request("/docs");
    expect(docs.status).toBe(200);
    const html = await docs.text();
    expect(html).toContain("/openapi.json");
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href="http/);
  });
});
