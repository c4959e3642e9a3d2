import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { FramewireClient, Job } from "@framewire/shared/client";
import Ajv2020 from "ajv/dist/2020";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack } from "../../scripts/lib/stack";
import { apiClient, ok, uploadBytes } from "../support/api";
import { ffprobe, makeClip } from "../support/media";
import { type S3Server, startS3Server } from "../support/s3-server";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver";

/**
 * Workflows at volume through the real stack (nats-server, the edge, a processing node with the
 * native engine and two slots, libSQL, s3rver for the watched bucket, a webhook receiver that
 * verifies signatures): a batch of 500 jobs, a watched source across three waves and two edge
 * restarts, and usage against the jobs' own probed figures.
 */

const watchBucket = "library";
const exportBucket = "exports";

describe("workflows at volume", () => {
  let dir: string;
  let s3: S3Server;
  let stack: Stack;
  let receiver: WebhookReceiver;
  let clip: Buffer;
  let clipSec: number;
  let other: Buffer;
  let batchClient: FramewireClient;
  let watchClient: FramewireClient;
  let ajv: Ajv2020;

  const s3client = () =>
    new S3Client({
      endpoint: s3.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: s3.credentials,
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });

  const valid = (name: string, value: unknown) => {
    const validate = ajv.compile({ $ref: `openapi.json#/components/schemas/${name}` });
    expect(validate(value), `${name}: ${JSON.stringify(validate.errors?.slice(0, 3))}`).toBe(true);
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "fw-e2e-workflows-"));
    s3 = await startS3Server(watchBucket);
    const setup = s3client();
    await setup.send(new CreateBucketCommand({ Bucket: exportBucket }));
    setup.destroy();
    receiver = await startWebhookReceiver();
    const s3Env = {
      FW_S3_ENDPOINT: s3.endpoint,
      FW_S3_FORCE_PATH_STYLE: "true",
      FW_S3_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      FW_S3_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
      FW_S3_INPUT_BUCKETS: watchBucket,
      FW_S3_OUTPUT_BUCKETS: exportBucket,
    };
    stack = await startStack({
      dataDir: join(dir, "data"),
      ports: { api: 0, gateway: 0, nats: 0 },
      engine: "native",
      slots: 2,
      output: "files",
      logLevel: "warn",
      extraEdgeEnv: {
        ...s3Env,
        FW_WEBHOOK_ALLOW_HTTP: "true",
        FW_WEBHOOK_ALLOW_PRIVATE_CIDRS: "127.0.0.1/32",
        FW_WATCH_MIN_INTERVAL_SEC: "1",
        FW_SCHEDULER_SWEEP_MS: "250",
        FW_RATE_KEY_BURST: "2000",
        FW_RATE_KEY_PER_SEC: "1000",
        FW_RATE_IP_BURST: "4000",
      },
      extraNodeEnv: s3Env,
    });
    const admin = apiClient(stack);
    const tenantClient = async (name: string) => {
      const tenant = ok(await admin.admin.createTenant(name));
      const key = ok(await admin.admin.createKey(tenant.id, { name, scopes: ["jobs:read", "jobs:write"] }));
      return apiClient({ apiUrl: stack.apiUrl, apiKey: key.key });
    };
    batchClient = await tenantClient("batches");
    watchClient = await tenantClient("watcher");
    const clipPath = await makeClip(join(dir, "clip.mp4"), { seconds: 1, width: 160, height: 120, fps: 10 });
    clip = await readFile(clipPath);
    clipSec = Number((await ffprobe(clipPath)).format.duration);
    other = await readFile(
      await makeClip(join(dir, "other.mp4"), { seconds: 2, width: 160, height: 120, fps: 10 }),
    );
    const doc = await (await fetch(`${stack.apiUrl}/openapi.json`)).json();
    ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
    ajv.addSchema(doc, "openapi.json");
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    await s3?.stop();
    await receiver?.close();
    await rm(dir, { recursive: true, force: true });
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

  it("a batch of 500: accepted in under 1 s, every job succeeds, counts add up, one signed batch.completed; usage is the jobs' sum", async () => {
    const hook = ok(await batchClient.webhook.set({ url: null }));
    receiver.secret = hook.secret ?? "";
    receiver.on("/batch", {});
    const uploadId = await uploadBytes(batchClient, clip);
    const body = {
      outputs: [{ name: "a", type: "audio" as const, codec: "aac" as const }],
      inputs: Array.from({ length: 500 }, () => ({ type: "upload" as const, upload_id: uploadId })),
      webhook: { url: `${receiver.url}/batch` },
    };
    const started = performance.now();
    const created = await batchClient.batches.create(body, { idempotencyKey: "five-hundred" });
    const acceptMs = performance.now() - started;
    expect(created.status).toBe(202);
    expect(acceptMs).toBeLessThan(1000);
    const id = ok(created).id;
    // The same request again: the same batch.
    expect(ok(await batchClient.batches.create(body, { idempotencyKey: "five-hundred" })).id).toBe(id);

    const deadline = Date.now() + 240_000;
    let batch = ok(await batchClient.batches.get(id));
    while (batch.status !== "completed" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      batch = ok(await batchClient.batches.get(id));
    }
    valid("Batch", batch);
    expect(batch).toMatchObject({
      status: "completed",
      total: 500,
      created: 500,
      counts: { pending: 0, queued: 0, running: 0, succeeded: 500, failed: 0, canceled: 0 },
      progress: { finished: 500, percent: 100 },
    });
    const jobs = await allJobs(batchClient);
    expect(jobs).toHaveLength(500);
    expect(jobs.every((j) => j.status === "succeeded" && j.batch_id === id)).toBe(true);

    // Exactly one batch.completed, verified (the receiver checks the signature with the secret).
    await new Promise((r) => setTimeout(r, 1500));
    const completed = receiver.received.filter((r) => r.path === "/batch");
    expect(completed).toHaveLength(1);
    expect(completed[0]?.verified.ok).toBe(true);
    expect(JSON.parse(completed[0]?.body ?? "{}")).toMatchObject({
      type: "batch.completed",
      data: { batch: { id, counts: { succeeded: 500 } } },
    });
    console.log(`batch of 500: accepted in ${acceptMs.toFixed(0)} ms`);

    // Usage: the sum of what the node probed, as the jobs show it.
    const day = new Date().toISOString().slice(0, 10);
    const usage = ok(await batchClient.usage({ from: day, to: day, group_by: "output_type" }));
    valid("Usage", usage);
    const outputs = jobs.flatMap((j) => j.outputs);
    const outMinutes = outputs.reduce((s, o) => s + (o.duration_sec ?? 0), 0) / 60;
    const storedBytes = outputs.reduce((s, o) => s + o.size_bytes, 0);
    expect(usage.total.jobs).toEqual({ succeeded: 500, failed: 0, canceled: 0 });
    expect(usage.total.stored_bytes).toBe(storedBytes);
    expect(usage.total.input_media_minutes).toBeCloseTo((500 * clipSec) / 60, 3);
    expect(usage.total.output_media_minutes).toEqual([
      {
        output_type: "audio",
        codec: "aac",
        accel: "cpu",
        minutes: expect.closeTo(outMinutes, 6),
        count: 500,
      },
    ]);
    expect(usage.total.compute_seconds).toBeGreaterThan(0);
  }, 300_000);

  it("a destination: outputs land in the tenant's bucket under the path template, with no link from us", async () => {
    const uploadId = await uploadBytes(batchClient, clip);
    const submitted = ok(
      await batchClient.jobs.create({
        input: { type: "upload", upload_id: uploadId },
        outputs: [
          { name: "a", type: "audio", codec: "aac" },
          { name: "thumbs", type: "thumbnails", count: 2 },
        ],
        destination: {
          type: "s3",
          bucket: exportBucket,
          prefix: "deliveries",
          path: "{date}/{job_id}/{output}",
        },
      }),
    );
    let job = submitted;
    const deadline = Date.now() + 60_000;
    while (!["succeeded", "failed", "canceled"].includes(job.status) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      job = ok(await batchClient.jobs.get(job.id));
    }
    expect(job.status).toBe("succeeded");
    const day = job.created_at.slice(0, 10);
    const base = `deliveries/${day}/${job.id}`;
    const audio = job.outputs.find((o) => o.name === "a");
    expect(audio).toMatchObject({
      storage_key: `${base}/a.m4a`,
      url: null,
      destination: { type: "s3", bucket: exportBucket },
    });
    const s3c = s3client();
    const listed = await s3c.send(new ListObjectsV2Command({ Bucket: exportBucket, Prefix: `${base}/` }));
    s3c.destroy();
    const keys = (listed.Contents ?? []).map((o) => o.Key).sort();
    expect(keys).toContain(`${base}/a.m4a`);
    expect(keys.filter((k) => k?.startsWith(`${base}/thumbs/`)).length).toBeGreaterThanOrEqual(2);
    const size = listed.Contents?.find((o) => o.Key === `${base}/a.m4a`)?.Size;
    expect(size).toBe(audio?.size_bytes);
  }, 90_000);

  it("a watched bucket: 50 objects in three waves and one re-upload make exactly 51 jobs, across edge restarts", async () => {
    ok(
      await watchClient.templates.create({
        name: "tracks",
        outputs: [{ name: "a", type: "audio", codec: "aac" }],
      }),
    );
    const watch = ok(
      await watchClient.watches.create({
        bucket: watchBucket,
        prefix: "incoming/",
        template: "tracks",
        schedule: { every_sec: 1 },
      }),
    );
    valid("Watch", watch);
    const s3c = s3client();
    const upload = (i: number, body = clip) =>
      s3c.send(new PutObjectCommand({ Bucket: watchBucket, Key: `incoming/track-${i}.mp4`, Body: body }));
    const seen = async (n: number) => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const current = ok(await watchClient.watches.get(watch.id));
        if (current.objects_seen >= n) return current;
        if (Date.now() > deadline) throw new Error(`watch saw ${current.objects_seen} of ${n}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    };

    for (let i = 0; i < 20; i++) await upload(i);
    await seen(20);
    await stack.restartEdge();
    for (let i = 20; i < 40; i++) await upload(i);
    await upload(3, other); // new content: a new ETag
    await seen(41);
    await stack.restartEdge();
    for (let i = 40; i < 50; i++) await upload(i);
    const last = await seen(51);
    s3c.destroy();
    // A few more looks after the last wave make nothing new.
    await new Promise((r) => setTimeout(r, 3000));
    valid("Watch", ok(await watchClient.watches.get(watch.id)));
    expect(ok(await watchClient.watches.get(watch.id))).toMatchObject({ state: "ok", objects_seen: 51 });
    expect(last.last_error).toBeNull();

    const jobs = await allJobs(watchClient);
    expect(jobs).toHaveLength(51);
    const keys = jobs.map((j) => (j.spec.input?.type === "s3" ? j.spec.input.key : ""));
    expect(new Set(keys).size).toBe(50);
    expect(keys.filter((k) => k === "incoming/track-3.mp4")).toHaveLength(2);
    expect(jobs.every((j) => j.template?.name === "tracks")).toBe(true);

    const history = ok(await watchClient.watches.objects(watch.id, { limit: 100 }));
    valid("WatchObjects", history);
    expect(history.data).toHaveLength(51);
    expect(new Set(history.data.map((o) => o.job_id)).size).toBe(51);
  }, 240_000);
});
