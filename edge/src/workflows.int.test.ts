import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { verifyWebhook } from "@framewire/shared/client";
import { jobs } from "@framewire/shared/db";
import { streams } from "@framewire/shared/nats";
import { jetstreamManager } from "@nats-io/jetstream";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EdgeHarness, startEdgeHarness, testNodeToken } from "../../test/support/edge-harness";
import { type S3Server, startS3Server } from "../../test/support/s3-server";
import { startWebhookReceiver, type WebhookReceiver } from "../../test/support/webhook-receiver";
import { sweepHeldJobs } from "./jobs/admission";
import { createS3BucketLister } from "./watches/lister";
import { pollDueWatches } from "./watches/poller";

/**
 * Workflows over the edge app with real libSQL, nats-server, the S3 server (s3rver) and a webhook
 * receiver: templates, batches, quotas, fair dispatch's holding back, usage, destinations and
 * watches. Node reports are sent as a processing node sends them.
 */

let h: EdgeHarness;
let s3: S3Server;
let receiver: WebhookReceiver;
let tenantId: string;
let key: string;
let admin: ReturnType<EdgeHarness["client"]>;
let user: ReturnType<EdgeHarness["client"]>;
let secret: string;

const watchBucket = "media-in";
const outBucket = "tenant-out";
const url = (name: string) => ({ type: "url" as const, url: `https://media.example.com/${name}.mp4` });
const video240 = { name: "small", type: "video" as const, video: { height: 240 } };

function report(id: string, body: Record<string, unknown>) {
  return h.app.request(`/internal/jobs/${id}/reports`, {
    method: "POST",
    headers: { authorization: `Bearer ${testNodeToken}`, "content-type": "application/json" },
    body: JSON.stringify({ attempt: 1, node_id: "node-a", ...body }),
  });
}

/** What a node reports for a job that ran: running, then succeeded with one output and the input's facts. */
async function succeed(
  id: string,
  facts: { inputSec: number; inputBytes: number; outSec: number; outBytes: number },
) {
  expect((await report(id, { type: "running", engine: "native" })).status).toBe(200);
  const done = await report(id, {
    type: "succeeded",
    compute_ms: 1500,
    input: { duration_sec: facts.inputSec, size_bytes: facts.inputBytes },
    outputs: [
      {
        name: "small",
        type: "video",
        storage_key: `${tenantId}/out/${id}/small.mp4`,
        size_bytes: facts.outBytes,
        container: "mp4",
        duration_sec: facts.outSec,
        video: { codec: "h264", width: 426, height: 240, fps: 25 },
        audio: { codec: "aac", sample_rate: 48000, channels: 2 },
        encoder: "libx264",
        accel: "cpu",
      },
    ],
  });
  expect(done.status).toBe(200);
}

async function fail(id: string) {
  expect((await report(id, { type: "running", engine: "native" })).status).toBe(200);
  const res = await report(id, {
    type: "failed",
    retryable: false,
    compute_ms: 200,
    error: { code: "input_unreadable", message: "not media" },
  });
  expect(res.status).toBe(200);
}

beforeAll(async () => {
  s3 = await startS3Server(watchBucket);
  receiver = await startWebhookReceiver();
  h = await startEdgeHarness({
    config: {
      FW_WEBHOOK_ALLOW_HTTP: "true",
      FW_WEBHOOK_ALLOW_PRIVATE_CIDRS: "127.0.0.1/32",
      FW_WEBHOOK_RETRY_BASE_MS: 20,
      FW_S3_INPUT_BUCKETS: watchBucket,
      FW_S3_OUTPUT_BUCKETS: outBucket,
      FW_BATCH_MAX_INPUTS: 100,
      FW_WATCH_MIN_INTERVAL_SEC: 1,
      // Most of this file's jobs wait with no node to take them: fair dispatch is tested on its own tenant.
      FW_TENANT_QUEUE_DEPTH: 0,
    },
    deps: {
      bucketLister: createS3BucketLister({
        endpoint: s3.endpoint,
        region: "us-east-1",
        forcePathStyle: true,
        credentials: s3.credentials,
        checksums: "WHEN_REQUIRED",
      }),
    },
  });
  admin = h.client(await h.key(await h.tenant("operator"), ["admin"]));
  tenantId = await h.tenant("acme");
  key = await h.key(tenantId, ["jobs:read", "jobs:write"]);
  user = h.client(key);
  const hook = await user.webhook.set({ url: `${receiver.url}/acme` });
  secret = hook.ok ? (hook.data.secret ?? "") : "";
  receiver.secret = secret;
});

afterAll(async () => {
  await h?.close();
  await s3?.stop();
  await receiver?.close();
});

describe("templates", () => {
  it("stores versions; a job names one (or the latest) with overrides and records the version", async () => {
    const created = await user.templates.create({
      name: "web",
      outputs: [video240, { name: "thumbs", type: "thumbnails", count: 3 }],
      priority: "low",
      metadata: { source: "template" },
    });
    expect(created).toMatchObject({ status: 201, data: { name: "web", version: 1 } });
    const v2 = await user.templates.update("web", { outputs: [video240], priority: "high" });
    expect(v2).toMatchObject({ status: 200, data: { name: "web", version: 2 } });
    expect((await user.templates.versions("web")).ok && (await user.templates.versions("web"))).toMatchObject(
      {
        data: { data: [{ version: 2 }, { version: 1 }] },
      },
    );

    const fromV1 = await user.jobs.create({
      template: "web@1",
      input: url("a"),
      outputs: [{ name: "small", type: "video", video: { height: 360 } }],
      metadata: { extra: "1" },
    });
    expect(fromV1.status).toBe(202);
    const job1 = fromV1.ok ? fromV1.data : null;
    expect(job1?.template).toEqual({ id: created.ok ? created.data.id : "", name: "web", version: 1 });
    expect(job1?.priority).toBe("low");
    expect(job1?.spec.outputs.map((o) => o.name)).toEqual(["small", "thumbs"]);
    expect(job1?.spec.outputs[0]).toMatchObject({ video: { height: 360 } });
    expect(job1?.spec.metadata).toEqual({ source: "template", extra: "1" });

    const latest = await user.jobs.create({ template: "web", input: url("b") });
    expect(latest.ok && latest.data.template?.version).toBe(2);
    expect(latest.ok && latest.data.priority).toBe("high");
  });

  it("takes the job's subtitle files for a template's outputs that name them", async () => {
    await user.templates.create({
      name: "subtitled",
      outputs: [{ ...video240, name: "subbed", subtitles: { input: "en", mode: "burn" } }],
    });
    const withFiles = await user.jobs.create({
      template: "subtitled",
      input: url("s"),
      subtitles: { en: { input: url("en.srt"), language: "eng" } },
    });
    expect(withFiles.status).toBe(202);
    expect(withFiles.ok && withFiles.data.spec.subtitles).toEqual({
      en: { input: url("en.srt"), language: "eng" },
    });
    const without = await user.jobs.create({ template: "subtitled", input: url("s") });
    expect(without.status).toBe(422);
    expect(without.ok ? null : without.problem.errors).toEqual([
      {
        field: "outputs.0.subtitles.0.input",
        message: "names subtitles 'en', but the job has no subtitles",
      },
    ]);
  });

  it("refuses a template that no longer exists with template_not_found", async () => {
    await user.templates.create({ name: "gone", outputs: [video240] });
    expect((await user.templates.delete("gone")).status).toBe(204);
    const res = await user.jobs.create({ template: "gone", input: url("c") });
    expect(res.status).toBe(422);
    expect(res.ok ? null : res.problem.code).toBe("template_not_found");
    const missingVersion = await user.jobs.create({ template: "web@9", input: url("c") });
    expect(missingVersion.ok ? null : missingVersion.problem.code).toBe("template_not_found");
  });
});

describe("destinations", () => {
  it("refuses a bucket the operator did not allow, and a path that would leave its prefix", async () => {
    const elsewhere = await user.jobs.create({
      input: url("d"),
      outputs: [video240],
      destination: { type: "s3", bucket: "someone-else", prefix: "x/" },
    });
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.ok ? null : elsewhere.problem.code).toBe("bucket_not_allowed");

    for (const path of ["../{output}", "/{job_id}/{output}", "a/../../{output}", "{job_id}"]) {
      const res = await user.jobs.create({
        input: url("d"),
        outputs: [video240],
        destination: { type: "s3", bucket: outBucket, prefix: "exports/", path },
      });
      expect(res.ok ? null : res.problem.code, path).toBe("destination_path_invalid");
    }
    const okay = await user.jobs.create({
      input: url("d"),
      outputs: [video240],
      destination: { type: "s3", bucket: outBucket, prefix: "exports", path: "{date}/{input}/{output}" },
    });
    expect(okay.status).toBe(202);
    // The job record holds the bucket and path, never credentials.
    const [row] = await h.deps.db
      .select()
      .from(jobs)
      .where(eq(jobs.id, okay.ok ? okay.data.id : ""));
    expect(JSON.stringify(row?.spec)).not.toMatch(/secret|access_key|credential/i);
  });

  it("shows a destination output without a link, and retention never expires it", async () => {
    const res = await user.jobs.create({
      input: url("e"),
      outputs: [video240],
      destination: { type: "s3", bucket: outBucket },
    });
    const id = res.ok ? res.data.id : "";
    await report(id, { type: "running", engine: "native" });
    const r = await report(id, {
      type: "succeeded",
      outputs: [
        {
          name: "small",
          type: "video",
          storage_key: `${id}/small.mp4`,
          size_bytes: 10,
          container: "mp4",
          duration_sec: 1,
          video: { codec: "h264", width: 426, height: 240, fps: 25 },
          audio: { codec: "aac", sample_rate: 48000, channels: 2 },
          destination: { type: "s3", bucket: outBucket },
        },
      ],
    });
    expect(r.status).toBe(200);
    await h.deps.db.update(jobs).set({ outputsExpiredAt: h.deps.clock() }).where(eq(jobs.id, id));
    const job = await user.jobs.get(id);
    expect(job.ok && job.data.outputs[0]).toMatchObject({
      url: null,
      expired: false,
      destination: { type: "s3", bucket: outBucket },
    });
  });
});

describe("batches", () => {
  it("answers at once, makes one job per input, counts them, and sends one batch.completed", async () => {
    const inputs = Array.from({ length: 30 }, (_, i) => url(`batch-${i}`));
    const started = performance.now();
    const res = await user.batches.create({ template: "web@2", inputs }, { idempotencyKey: "batch-1" });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(res).toMatchObject({ status: 202, data: { total: 30 } });
    const batchId = res.ok ? res.data.id : "";
    // The same request again with the same key: the same batch, made once.
    const again = await user.batches.create({ template: "web@2", inputs }, { idempotencyKey: "batch-1" });
    expect(again.ok && again.data.id).toBe(batchId);
    const other = await user.batches.create(
      { template: "web@2", inputs: inputs.slice(1) },
      { idempotencyKey: "batch-1" },
    );
    expect(other.ok ? null : other.problem.code).toBe("conflict");
    await h.deps.background.settled();

    const made = await user.batches.get(batchId, { limit: 10 });
    expect(made).toMatchObject({
      data: { status: "running", total: 30, created: 30, counts: { pending: 0, queued: 30 } },
    });
    expect(made.ok && made.data.jobs?.data).toHaveLength(10);
    const page2 = await user.batches.get(batchId, {
      limit: 10,
      cursor: made.ok ? (made.data.jobs?.next_cursor ?? "") : "",
    });
    expect(page2.ok && page2.data.jobs?.data).toHaveLength(10);

    const all = await h.deps.db.select().from(jobs).where(eq(jobs.batchId, batchId));
    expect(all).toHaveLength(30);
    expect(new Set(all.map((j) => j.batchIndex)).size).toBe(30);
    expect(all.every((j) => j.templateVersion === 2)).toBe(true);

    // 27 succeed, 3 fail; retry-failed puts them back, then they succeed: one batch.completed at the end.
    const [first, second, third, ...rest] = all;
    for (const job of rest)
      await succeed(job.id, { inputSec: 10, inputBytes: 1000, outSec: 10, outBytes: 100 });
    for (const job of [first, second, third]) if (job) await fail(job.id);
    await h.deps.background.settled();
    const ended = await user.batches.get(batchId);
    expect(ended).toMatchObject({
      data: {
        status: "completed",
        counts: { succeeded: 27, failed: 3 },
        progress: { finished: 30, percent: 100 },
      },
    });
    const retried = await user.batches.retryFailed(batchId);
    expect(retried).toMatchObject({
      status: 202,
      data: { status: "running", counts: { queued: 3, failed: 0 } },
    });
    for (const job of [first, second, third]) {
      if (!job) continue;
      await report(job.id, { type: "running", engine: "native", attempt: 1, attempt_base: 1 });
      await report(job.id, { type: "succeeded", attempt: 1, attempt_base: 1, outputs: [] });
    }
    await h.deps.background.settled();
    const done = await user.batches.get(batchId);
    expect(done).toMatchObject({ data: { status: "completed", counts: { succeeded: 30 } } });

    const deadline = Date.now() + 5_000;
    const completed = () =>
      receiver.received.filter(
        (r) => r.headers["framewire-event"] === "batch.completed" && r.body.includes(batchId),
      );
    while (completed().length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    // Once when it first completed, once more after the retried jobs ended: one per completion.
    expect(completed()).toHaveLength(2);
    for (const hook of completed()) {
      const signature = String(hook.headers["framewire-signature"]);
      const check = await verifyWebhook({ body: hook.body, signature, secret });
      expect(check.ok).toBe(true);
    }
    const log = await user.batches.webhooks(batchId);
    expect(log.ok && log.data.data.map((d) => d.event)).toEqual(["batch.completed", "batch.completed"]);
  });

  it("refuses a batch over the limit with batch_too_large, before anything else", async () => {
    const res = await user.batches.create({
      outputs: [video240],
      inputs: Array.from({ length: 101 }, () => url("x")),
    });
    expect(res.status).toBe(422);
    expect(res.ok ? null : res.problem).toMatchObject({
      code: "batch_too_large",
      limit: "max_batch_inputs",
      limit_value: 100,
    });
  });

  it("cancels every job of a batch", async () => {
    const res = await user.batches.create({ outputs: [video240], inputs: [url("c1"), url("c2"), url("c3")] });
    await h.deps.background.settled();
    const id = res.ok ? res.data.id : "";
    const canceled = await user.batches.cancel(id);
    expect(canceled.status).toBe(202);
    await h.deps.background.settled();
    expect(await user.batches.get(id)).toMatchObject({
      data: { status: "canceled", counts: { canceled: 3 } },
    });
  });
});

describe("quotas", () => {
  it("refuses past max_queued_jobs and media_minutes_per_month with quota_exceeded naming the limit", async () => {
    const limited = await h.tenant("limited");
    const client = h.client(await h.key(limited, ["jobs:read", "jobs:write"]));
    expect((await admin.admin.setQuotas(limited, { max_queued_jobs: 2 })).status).toBe(200);
    for (const name of ["q1", "q2"])
      expect((await client.jobs.create({ input: url(name), outputs: [video240] })).status).toBe(202);
    const third = await client.jobs.create({ input: url("q3"), outputs: [video240] });
    expect(third.status).toBe(429);
    expect(third.ok ? null : third.problem).toMatchObject({
      code: "quota_exceeded",
      limit: "max_queued_jobs",
      limit_value: 2,
      used: 2,
    });
    const batch = await client.batches.create({ outputs: [video240], inputs: [url("b1")] });
    expect(batch.ok ? null : batch.problem.limit).toBe("max_queued_jobs");

    await admin.admin.setQuotas(limited, { media_minutes_per_month: 0 });
    const minutes = await client.jobs.create({ input: url("m"), outputs: [video240] });
    expect(minutes.ok ? null : minutes.problem).toMatchObject({
      code: "quota_exceeded",
      limit: "media_minutes_per_month",
    });
    expect(await client.quotas()).toMatchObject({
      data: { media_minutes_per_month: 0, used: { queued_jobs: 2 } },
    });
  });

  it("holds jobs back past max_running_jobs, and releases the next when one ends", async () => {
    const busy = await h.tenant("busy");
    const client = h.client(await h.key(busy, ["jobs:read", "jobs:write"]));
    await admin.admin.setQuotas(busy, { max_running_jobs: 1 });
    const a = await client.jobs.create({ input: url("r1"), outputs: [video240] });
    const b = await client.jobs.create({ input: url("r2"), outputs: [video240] });
    await h.deps.background.settled();
    const row = async (id: string) => (await h.deps.db.select().from(jobs).where(eq(jobs.id, id)))[0];
    const idA = a.ok ? a.data.id : "";
    const idB = b.ok ? b.data.id : "";
    expect((await row(idA))?.releasedAt).not.toBeNull();
    expect((await row(idB))?.releasedAt).toBeNull();
    await report(idA, { type: "running", engine: "native" });
    await report(idA, { type: "succeeded", outputs: [] });
    await h.deps.background.settled();
    expect((await row(idB))?.releasedAt).toEqual(expect.any(Number));
    expect((await row(idB))?.dispatchedAt).toEqual(expect.any(Number));
  });
});

describe("fair dispatch (edge side)", () => {
  it("keeps at most FW_TENANT_QUEUE_DEPTH of a tenant's jobs in JetStream; the sweeper releases as they start", async () => {
    const other = h.instance({ config: { ...h.deps.config, admission: { depth: 3 } } });
    const flood = await h.tenant("flood");
    const floodKey = await h.key(flood, ["jobs:read", "jobs:write"]);
    const post = () =>
      other.app.request("/v1/jobs", {
        method: "POST",
        headers: { authorization: `Bearer ${floodKey}`, "content-type": "application/json" },
        body: JSON.stringify({ input: url("f"), outputs: [video240] }),
      });
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push(((await (await post()).json()) as { id: string }).id);
    await other.deps.background.settled();
    const released = async () =>
      (await h.deps.db.select().from(jobs).where(eq(jobs.tenantId, flood))).filter(
        (j) => j.releasedAt !== null,
      );
    expect(await released()).toHaveLength(3);
    // The released ones went to JetStream; the held ones wait in the database.
    expect((await released()).every((j) => j.dispatchedAt !== null)).toBe(true);
    const jsm = await jetstreamManager(h.nc);
    const inStream = (await jsm.streams.info(streams.jobs)).state.messages;
    // One starts (a running report): the next is released in its place.
    await other.app.request(`/internal/jobs/${ids[0]}/reports`, {
      method: "POST",
      headers: { authorization: `Bearer ${testNodeToken}`, "content-type": "application/json" },
      body: JSON.stringify({ attempt: 1, node_id: "n", type: "running", engine: "native" }),
    });
    await other.deps.background.settled();
    expect(await released()).toHaveLength(4);
    // Nothing more may go until another starts: the sweeper (a lost trigger's backstop) agrees.
    expect(await sweepHeldJobs(other.deps, { tenants: 10 })).toBe(0);
    expect((await jsm.streams.info(streams.jobs)).state.messages).toBe(inStream + 1);
  });

  it("releases a new job at once only when no older job of its pool and priority is held", async () => {
    const other = h.instance({ config: { ...h.deps.config, admission: { depth: 1 } } });
    const tenant = await h.tenant("queue-order");
    const tenantKey = await h.key(tenant, ["jobs:read", "jobs:write"]);
    const post = async () => {
      const res = await other.app.request("/v1/jobs", {
        method: "POST",
        headers: { authorization: `Bearer ${tenantKey}`, "content-type": "application/json" },
        body: JSON.stringify({ input: url("q"), outputs: [video240] }),
      });
      return ((await res.json()) as { id: string }).id;
    };
    const row = async (id: string) => (await h.deps.db.select().from(jobs).where(eq(jobs.id, id)))[0];
    const first = await post();
    const second = await post();
    await other.deps.background.settled();
    expect((await row(first))?.releasedAt).toEqual(expect.any(Number));
    expect((await row(second))?.releasedAt).toBeNull();
    // The first leaves the queue without the report that would release the second (a lost
    // trigger): there is room now, and the second is still held.
    await h.deps.db.update(jobs).set({ status: "running" }).where(eq(jobs.id, first));
    // A third takes its place behind the second, which goes first.
    const third = await post();
    await other.deps.background.settled();
    expect((await row(second))?.releasedAt).toEqual(expect.any(Number));
    expect((await row(second))?.dispatchedAt).toEqual(expect.any(Number));
    expect((await row(third))?.releasedAt).toBeNull();
  });
});

describe("fair dispatch keeps priorities within a tenant", () => {
  it("releases a tenant's high job at once while its low ones wait, and its held jobs high first", async () => {
    const other = h.instance({ config: { ...h.deps.config, admission: { depth: 1 } } });
    const tenant = await h.tenant("prioritized");
    const tenantKey = await h.key(tenant, ["jobs:read", "jobs:write"]);
    const post = async (priority: "low" | "high" | "default") => {
      const res = await other.app.request("/v1/jobs", {
        method: "POST",
        headers: { authorization: `Bearer ${tenantKey}`, "content-type": "application/json" },
        body: JSON.stringify({ input: url("p"), outputs: [video240], priority }),
      });
      return ((await res.json()) as { id: string }).id;
    };
    const low = [await post("low"), await post("low"), await post("low")];
    const high = await post("high");
    await other.deps.background.settled();
    const row = async (id: string) => (await h.deps.db.select().from(jobs).where(eq(jobs.id, id)))[0];
    // One low job waits in JetStream; the others are held. The high job is not held back by them.
    expect((await row(low[0] ?? ""))?.releasedAt).toEqual(expect.any(Number));
    expect((await row(low[1] ?? ""))?.releasedAt).toBeNull();
    expect((await row(high))?.releasedAt).toEqual(expect.any(Number));
    const start = async (id: string) => {
      await other.app.request(`/internal/jobs/${id}/reports`, {
        method: "POST",
        headers: { authorization: `Bearer ${testNodeToken}`, "content-type": "application/json" },
        body: JSON.stringify({ attempt: 1, node_id: "n", type: "running", engine: "native" }),
      });
      await other.deps.background.settled();
    };
    // A default job waits behind the tenant's waiting high one, and goes when it starts.
    const defaultJob = await post("default");
    await other.deps.background.settled();
    expect((await row(defaultJob))?.releasedAt).toBeNull();
    await start(high);
    expect((await row(defaultJob))?.releasedAt).toEqual(expect.any(Number));
    expect((await row(low[1] ?? ""))?.releasedAt).toBeNull();
    // Low ones go once nothing of higher priority waits: the oldest first.
    await start(low[0] ?? "");
    await start(defaultJob);
    expect((await row(low[1] ?? ""))?.releasedAt).toEqual(expect.any(Number));
    expect((await row(low[2] ?? ""))?.releasedAt).toBeNull();
  });
});

describe("usage", () => {
  it("equals the sum of the jobs' probed durations and sizes, by day, key and output type; admins get CSV", async () => {
    const metered = await h.tenant("metered");
    const k1 = await h.key(metered, ["jobs:read", "jobs:write"]);
    const k2 = await h.key(metered, ["jobs:read", "jobs:write"]);
    const facts = [
      { inputSec: 61.5, inputBytes: 5_000, outSec: 60, outBytes: 700 },
      { inputSec: 30, inputBytes: 2_000, outSec: 29.5, outBytes: 300 },
      { inputSec: 12.25, inputBytes: 900, outSec: 12, outBytes: 80 },
    ];
    const submitted: string[] = [];
    for (const [i, f] of facts.entries()) {
      const res = await h.client(i === 0 ? k1 : k2).jobs.create({ input: url(`u${i}`), outputs: [video240] });
      const id = res.ok ? res.data.id : "";
      submitted.push(id);
      await succeed(id, f);
    }
    const failing = await h.client(k2).jobs.create({ input: url("uf"), outputs: [video240] });
    await fail(failing.ok ? failing.data.id : "");

    const day = new Date(h.deps.clock()).toISOString().slice(0, 10);
    const usage = await h.client(k1).usage({ from: day, to: day, group_by: "day" });
    const sum = (pick: (f: (typeof facts)[number]) => number) => facts.reduce((s, f) => s + pick(f), 0);
    expect(usage.ok && usage.data.total).toMatchObject({
      jobs: { succeeded: 3, failed: 1, canceled: 0 },
      stored_bytes: sum((f) => f.outBytes),
      compute_seconds: 3 * 1.5 + 0.2,
    });
    expect(usage.ok && usage.data.total.input_media_minutes).toBeCloseTo(sum((f) => f.inputSec) / 60, 6);
    expect(usage.ok && usage.data.total.output_media_minutes).toEqual([
      {
        output_type: "video",
        codec: "h264",
        accel: "cpu",
        minutes: expect.closeTo(sum((f) => f.outSec) / 60, 6),
        count: 3,
      },
    ]);
    expect(usage.ok && usage.data.data.map((d) => d.group)).toEqual([day]);

    const byKey = await h.client(k1).usage({ from: day, to: day, group_by: "key" });
    expect(byKey.ok && byKey.data.data.map((d) => d.jobs.succeeded).sort()).toEqual([1, 2]);
    const byType = await h.client(k1).usage({ from: day, to: day, group_by: "output_type" });
    expect(byType.ok && byType.data.data.find((d) => d.group === "video")?.jobs.succeeded).toBe(3);

    // One key's jobs (a leaked key): by its id or its visible prefix.
    const k1Id = (await admin.admin.listKeys(metered)).ok
      ? ((await admin.admin.listKeys(metered)) as { data: { data: { id: string; prefix: string }[] } }).data
          .data
      : [];
    const first = k1Id.find((k) => k1.startsWith(`fw_${k.prefix}_`));
    const listed = await h.client(k1).jobs.list({ api_key: first?.id ?? "" });
    expect(listed.ok && listed.data.data.map((j) => j.id)).toEqual([submitted[0]]);
    const byPrefix = await h.client(k1).jobs.list({ api_key: `fw_${first?.prefix}` });
    expect(byPrefix.ok && byPrefix.data.data.map((j) => j.id)).toEqual([submitted[0]]);

    const csv = await admin.admin.usageCsv({ from: day, to: day });
    expect(csv.status).toBe(200);
    expect(csv.contentType).toContain("text/csv");
    expect(csv.text.split("\n")[0]).toBe("tenant_id,tenant_name,group,metric,output_type,codec,accel,value");
    expect(csv.text).toContain(`${metered},metered,${day},jobs_succeeded,,,,3`);
    expect((await user.usage({ from: day, to: day })).ok).toBe(true);
    const notAdmin = await user.admin.usageCsv({ from: day, to: day });
    expect(notAdmin.status).toBe(403);
  });
});

describe("watches", () => {
  const s3client = () =>
    new S3Client({
      endpoint: s3.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: s3.credentials,
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
  const put = (key: string, body: string) =>
    s3client().send(new PutObjectCommand({ Bucket: watchBucket, Key: key, Body: body }));

  it("refuses a bucket the operator did not allow", async () => {
    const res = await user.watches.create({
      bucket: "not-listed",
      prefix: "",
      template: "web",
      schedule: { every_sec: 60 },
    });
    expect(res.status).toBe(403);
    expect(res.ok ? null : res.problem.code).toBe("bucket_not_allowed");
  });

  it("makes one job per object and ETag, exactly once across pollers; a re-upload makes one more", async () => {
    const created = await user.watches.create({
      bucket: watchBucket,
      prefix: "library/",
      template: "web",
      schedule: { every_sec: 1 },
    });
    expect(created.status).toBe(201);
    const id = created.ok ? created.data.id : "";
    for (let i = 0; i < 5; i++) await put(`library/song-${i}.mp3`, `content ${i}`);
    await put("elsewhere/skip.mp3", "not watched");

    h.advance(2_000);
    // Two edge instances polling at once: the claim lets one look, and (watch, key, ETag) is unique.
    const other = h.instance();
    const made = (
      await Promise.all([pollDueWatches(h.deps, { limit: 10 }), pollDueWatches(other.deps, { limit: 10 })])
    ).reduce((a, b) => a + b);
    expect(made).toBe(5);
    await put("library/song-1.mp3", "new content");
    await put("library/song-5.mp3", "content 5");
    h.advance(2_000);
    expect(await pollDueWatches(other.deps, { limit: 10 })).toBe(2);
    h.advance(2_000);
    expect(await pollDueWatches(h.deps, { limit: 10 })).toBe(0);

    const history = await user.watches.objects(id);
    const objects = history.ok ? history.data.data : [];
    expect(objects).toHaveLength(7);
    expect(objects.filter((o) => o.key === "library/song-1.mp3")).toHaveLength(2);
    expect(objects.every((o) => o.job_id?.startsWith("job_"))).toBe(true);
    const job = await user.jobs.get(objects[0]?.job_id ?? "");
    expect(job.ok && job.data.spec.input).toEqual({
      type: "s3",
      bucket: watchBucket,
      key: "library/song-0.mp3",
    });
    expect(job.ok && job.data.template?.name).toBe("web");
    expect(await user.watches.get(id)).toMatchObject({
      data: { state: "ok", objects_seen: 7, consecutive_errors: 0 },
    });
  });

  it("shows a lost bucket's error and waits longer after each failure", async () => {
    const created = await user.watches.create({
      bucket: watchBucket,
      prefix: "x/",
      template: "web",
      schedule: { every_sec: 1 },
    });
    const id = created.ok ? created.data.id : "";
    const broken = h.instance({
      bucketLister: createS3BucketLister({
        endpoint: "http://127.0.0.1:9",
        region: "us-east-1",
        forcePathStyle: true,
        credentials: s3.credentials,
        checksums: "WHEN_REQUIRED",
      }),
    });
    h.advance(2_000);
    await pollDueWatches(broken.deps, { limit: 10 });
    const first = await user.watches.get(id);
    expect(first).toMatchObject({
      data: { state: "error", consecutive_errors: 1, last_error: { code: "input_unavailable" } },
    });
    const wait1 = first.ok
      ? Date.parse(first.data.next_poll_at ?? "") - Date.parse(first.data.last_error?.at ?? "")
      : 0;
    h.advance(wait1 + 10);
    await pollDueWatches(broken.deps, { limit: 10 });
    const second = await user.watches.get(id);
    const wait2 = second.ok
      ? Date.parse(second.data.next_poll_at ?? "") - Date.parse(second.data.last_error?.at ?? "")
      : 0;
    expect(second.ok && second.data.consecutive_errors).toBe(2);
    expect(wait2).toBeGreaterThan(wait1);
    // Not due yet: no look at all.
    await pollDueWatches(broken.deps, { limit: 10 });
    expect(
      (await user.watches.get(id)).ok &&
        ((await user.watches.get(id)) as { data: { consecutive_errors: number } }).data.consecutive_errors,
    ).toBe(2);
  });
});
