import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FramewireClient } from "@framewire/shared/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack } from "../../scripts/lib/stack";
import { apiClient, ok, submitJob, uploadBytes } from "../support/api";
import { makeClip } from "../support/media";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver";

/**
 * Webhooks with real processes: a processing node runs a real transcode and sends coarse progress
 * reports (the job asks for job.progress), the edge on Node signs and sends every event, retries
 * a failed one from its sweeper timer, and a real receiver on 127.0.0.1 verifies each signature.
 * The edge allows 127.0.0.1/32 as a webhook target only because this test says so.
 */

describe("webhooks from a real job", () => {
  let dir: string;
  let stack: Stack;
  let receiver: WebhookReceiver;
  let clip: Buffer;

  let client: FramewireClient;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "fw-e2e-webhooks-"));
    receiver = await startWebhookReceiver();
    stack = await startStack({
      dataDir: join(dir, "data"),
      ports: { api: 0, gateway: 0, nats: 0 },
      output: "files",
      extraEdgeEnv: {
        FW_WEBHOOK_ALLOW_HTTP: "true",
        FW_WEBHOOK_ALLOW_PRIVATE_CIDRS: "127.0.0.1/32",
        FW_WEBHOOK_RETRY_BASE_MS: "100",
        FW_WEBHOOK_RETRY_MAX_MS: "200",
        FW_WEBHOOK_SWEEP_MS: "100",
        FW_WEBHOOK_PROGRESS_SEC: "1",
      },
    });
    // Long enough (slow preset) that the node reports progress more than once.
    client = apiClient(stack);
    clip = await readFile(await makeClip(join(dir, "clip.mp4"), { seconds: 16, width: 640, height: 360 }));
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    await receiver?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("delivers running, rate-bounded progress and the final facts, each signed", async () => {
    const settings = await client.webhook.set({ url: null });
    expect(settings.status).toBe(201);
    receiver.secret = ok(settings).secret ?? "";
    receiver.on("/e2e", {});

    const uploadId = await uploadBytes(client, clip);
    const { id: jobId } = await submitJob(client, {
      input: { type: "upload", upload_id: uploadId },
      outputs: [{ name: "small", type: "video", video: { height: 240, preset: "slower" } }],
      webhook: { url: `${receiver.url}/e2e`, events: ["job.running", "job.progress", "job.succeeded"] },
    });

    const deadline = Date.now() + 120_000;
    const types = () =>
      receiver.received.filter((r) => r.answered === 200).map((r) => JSON.parse(r.body).type);
    while (!types().includes("job.succeeded")) {
      if (Date.now() > deadline) throw new Error(`no job.succeeded webhook; got ${types().join(", ")}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    const got = receiver.received.map((r) => ({ ...r, payload: JSON.parse(r.body) }));
    expect(got.every((r) => r.verified.ok)).toBe(true);
    expect(got.every((r) => r.payload.data.job.id === jobId)).toBe(true);
    const progress = got.filter((r) => r.payload.type === "job.progress");
    // More than one, so the spacing checked below means something.
    expect(progress.length).toBeGreaterThanOrEqual(2);
    const percents = progress.map((r) => r.payload.data.percent as number);
    expect([...percents].sort((a, b) => a - b)).toEqual(percents);
    for (const p of percents) expect(p).toBeGreaterThanOrEqual(0);

    const final = got.find((r) => r.payload.type === "job.succeeded");
    expect(final?.payload.data.job).toMatchObject({
      status: "succeeded",
      outputs: [{ name: "small", video: { codec: "h264", height: 240 } }],
    });

    // The log says the same: every delivery succeeded; progress no faster than one per second.
    const log = ok(await client.jobs.webhooks(jobId));
    expect(log.data.every((d) => d.status === "succeeded")).toBe(true);
    expect(log.data.map((d) => d.event)).toEqual(
      expect.arrayContaining(["job.running", "job.progress", "job.succeeded"]),
    );
    const progressTimes = log.data
      .filter((d) => d.event === "job.progress")
      .map((d) => Date.parse(d.created_at ?? ""));
    for (let i = 1; i < progressTimes.length; i++) {
      expect((progressTimes[i] ?? 0) - (progressTimes[i - 1] ?? 0)).toBeGreaterThanOrEqual(1000);
    }
  }, 150_000);

  it("retries a failing receiver from the sweeper until it accepts", async () => {
    receiver.on("/flaky", { failFirst: 2 });
    const { id: jobId } = await submitJob(client, {
      input: { type: "url", url: "https://127.0.0.1/never-fetched.mp4" },
      outputs: [{ name: "a", type: "analysis" }],
      webhook: { url: `${receiver.url}/flaky`, events: ["job.failed"] },
    });
    const deadline = Date.now() + 60_000;
    while (!receiver.received.some((r) => r.path === "/flaky" && r.answered === 200)) {
      if (Date.now() > deadline) throw new Error("no accepted job.failed webhook");
      await new Promise((r) => setTimeout(r, 100));
    }
    const flaky = receiver.received.filter((r) => r.path === "/flaky");
    expect(flaky.map((r) => r.answered)).toEqual([500, 500, 200]);
    const body = JSON.parse(flaky[2]?.body ?? "{}");
    expect(body.data.job).toMatchObject({
      id: jobId,
      status: "failed",
      error: { code: "input_unavailable" },
    });
    const log = ok(await client.jobs.webhooks(jobId));
    expect(log.data[0]?.attempts.map((a) => a.status_code)).toEqual([500, 500, 200]);
  }, 90_000);
});
