import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { TargetRefusedError } from "@framewire/shared";
import type { WebhookDelivery } from "@framewire/shared/client";
import { streams, subjects } from "@framewire/shared/nats";
import { jetstreamManager } from "@nats-io/jetstream";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type EdgeHarness,
  startEdgeHarness,
  testConfig,
  testNodeToken,
} from "../../test/support/edge-harness";
import { startWebhookReceiver, type WebhookReceiver } from "../../test/support/webhook-receiver";
import type { EdgeDeps } from "./deps";
import { createNodeWebhookSender } from "./nodejs/webhook-sender";
import { attemptDelivery, sweepWebhooks } from "./webhooks/deliver";
import { claimDelivery, finishAttempt } from "./webhooks/repository";
import { createFetchWebhookSender } from "./webhooks/sender";

/**
 * Webhooks end to end: the edge app over real libSQL and nats-server, node reports as a processing
 * node sends them, and a real HTTP receiver on 127.0.0.1 that verifies each signature with the
 * client's verifyWebhook. The receiver is reachable only because this harness allows 127.0.0.1/32
 * (FW_WEBHOOK_ALLOW_PRIVATE_CIDRS, a development switch); the SSRF tests use the default policy.
 */

let h: EdgeHarness;
let receiver: WebhookReceiver;
let keyA: string;
let keyB: string;
let secret: string;

const webhookConfig = {
  FW_WEBHOOK_ALLOW_HTTP: "true",
  FW_WEBHOOK_ALLOW_PRIVATE_CIDRS: "127.0.0.1/32",
  FW_WEBHOOK_RETRY_BASE_MS: 20,
  FW_WEBHOOK_RETRY_MAX_MS: 40,
  FW_WEBHOOK_TIMEOUT_MS: 2_000,
  FW_WEBHOOK_DEADLINE_SEC: 60,
  FW_WEBHOOK_PROGRESS_SEC: 1,
};

const base = {
  input: { type: "url" as const, url: "https://media.example.com/in.mp4" },
  outputs: [{ name: "small", type: "video" as const, video: { height: 240 } }],
};

const output = {
  name: "small",
  storage_key: "t/out/small.mp4",
  size_bytes: 12345,
  container: "mp4",
  duration_sec: 2,
  video: { codec: "h264", width: 426, height: 240, fps: 30 },
  audio: { codec: "aac", sample_rate: 48000, channels: 2 },
};

function report(id: string, body: Record<string, unknown>, app = h.app) {
  return app.request(`/internal/jobs/${id}/reports`, {
    method: "POST",
    headers: { authorization: `Bearer ${testNodeToken}`, "content-type": "application/json" },
    body: JSON.stringify({ attempt: 1, node_id: "node-a", ...body }),
  });
}

const running = { type: "running", engine: "native" };

async function createJob(webhook?: { url: string; events?: string[] }, key = keyA): Promise<string> {
  const res = await h.client(key).jobs.create({ ...base, ...(webhook ? { webhook: webhook as never } : {}) });
  if (!res.ok) throw new Error(`job refused: ${JSON.stringify(res.problem)}`);
  return res.data.id;
}

async function log(jobId: string, key = keyA): Promise<WebhookDelivery[]> {
  const res = await h.client(key).jobs.webhooks(jobId);
  if (!res.ok) throw new Error(`log refused: ${res.status}`);
  return res.data.data;
}

/** Lets background attempts finish and sweeps due retries until `done` holds (bounded). */
async function until(done: () => boolean | Promise<boolean>, what: string, deps: EdgeDeps = h.deps) {
  for (let i = 0; i < 400; i++) {
    await deps.background.settled();
    if (await done()) return;
    await sweepWebhooks(deps, { batch: 50 });
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const at = (path: string) => receiver.received.filter((r) => r.path === path);

beforeAll(async () => {
  h = await startEdgeHarness({ config: webhookConfig });
  receiver = await startWebhookReceiver();
  keyA = await h.key(await h.tenant("a"), ["jobs:read", "jobs:write"]);
  keyB = await h.key(await h.tenant("b"), ["jobs:read", "jobs:write"]);
  const created = await h.client(keyA).webhook.set({ url: null });
  if (!created.ok || !created.data.secret) throw new Error("no secret");
  secret = created.data.secret;
  receiver.secret = secret;
});

afterAll(async () => {
  await h?.close();
  await receiver?.close();
});

describe("tenant webhook settings", () => {
  it("shows the signing secret once, then only a hint", async () => {
    expect(secret).toMatch(/^whsec_[0-9a-z]{40}$/);
    const shown = await h.client(keyA).webhook.get();
    expect(shown.ok && shown.data).toMatchObject({ url: null, secret_hint: `${secret.slice(0, 10)}…` });
    expect(shown.ok && "secret" in shown.data).toBe(false);
  });

  it("refuses a job webhook before the tenant has a secret", async () => {
    const res = await h.client(keyB).jobs.create({ ...base, webhook: { url: `${receiver.url}/b` } });
    expect(res.ok).toBe(false);
    expect(!res.ok && res.problem).toMatchObject({ status: 422, code: "webhook_secret_missing" });
  });
});

describe("delivery", () => {
  let jobId: string;

  it("retries a failing receiver with backoff until it accepts, each attempt signed", async () => {
    receiver.on("/retry", { failFirst: 2 });
    jobId = await createJob({ url: `${receiver.url}/retry` });
    expect((await report(jobId, running)).status).toBe(200);
    expect((await report(jobId, { type: "succeeded", outputs: [output] })).status).toBe(200);
    await until(() => at("/retry").some((r) => r.answered === 200), "a 200 from the receiver");

    const got = at("/retry");
    expect(got.map((r) => r.answered)).toEqual([500, 500, 200]);
    for (const r of got) {
      expect(r.verified).toMatchObject({ ok: true });
      expect(r.headers["framewire-event"]).toBe("job.succeeded");
      expect(r.headers["content-type"]).toBe("application/json");
    }
    // One event: the same id on every retry, for the receiver to deduplicate.
    const ids = new Set(got.map((r) => r.headers["framewire-webhook-id"]));
    expect(ids.size).toBe(1);

    // The body carries the job's final facts, as GET /v1/jobs/:id shows them.
    const body = JSON.parse(got[2]?.body ?? "{}");
    expect(body).toMatchObject({ id: [...ids][0], type: "job.succeeded" });
    expect(body.data.job).toMatchObject({ id: jobId, status: "succeeded", attempts: 1 });
    expect(body.data.job.outputs[0]).toMatchObject({ ...output, url: expect.stringContaining("/files/") });
  });

  it("keeps a delivery log: attempts, status codes, latencies, errors", async () => {
    const [delivery, ...rest] = await log(jobId);
    expect(rest).toEqual([]); // job.running is not among the default events
    expect(delivery).toMatchObject({
      event: "job.succeeded",
      url: `${receiver.url}/retry`,
      status: "succeeded",
      attempt_count: 3,
      last_status_code: 200,
      last_error: null,
      next_attempt_at: null,
    });
    expect(delivery?.id).toBe(at("/retry")[0]?.headers["framewire-webhook-id"]);
    expect(delivery?.delivered_at).toEqual(expect.any(String));
    expect(delivery?.attempts.map((a) => [a.attempt, a.status_code, a.error])).toEqual([
      [1, 500, "HTTP 500"],
      [2, 500, "HTTP 500"],
      [3, 200, null],
    ]);
    // Each attempt's latency is a duration in milliseconds that fits between its start and now.
    const attempts = delivery?.attempts ?? [];
    expect(attempts).toHaveLength(3);
    for (const a of attempts) {
      expect(Number.isInteger(a.latency_ms)).toBe(true);
      expect(a.latency_ms).toBeLessThanOrEqual(Date.now() - Date.parse(a.at));
    }
  });

  it("redelivers on request, with the same event id", async () => {
    const [delivery] = await log(jobId);
    const res = await h.client(keyA).jobs.redeliverWebhook(jobId, delivery?.id ?? "");
    expect(res.status).toBe(202);
    await until(() => at("/retry").length === 4, "the redelivery");
    const last = at("/retry")[3];
    expect(last?.answered).toBe(200);
    expect(last?.verified.ok).toBe(true);
    expect(last?.headers["framewire-webhook-id"]).toBe(delivery?.id);
    const [after] = await log(jobId);
    expect(after).toMatchObject({ status: "succeeded", attempt_count: 4 });
    expect(after?.attempts.map((a) => a.status_code)).toEqual([500, 500, 200, 200]);
  });

  it("hides one tenant's deliveries from another (404)", async () => {
    const [delivery] = await log(jobId);
    const b = h.client(keyB);
    expect((await b.jobs.webhooks(jobId)).status).toBe(404);
    expect((await b.jobs.redeliverWebhook(jobId, delivery?.id ?? "")).status).toBe(404);
    expect((await h.client(keyA).jobs.redeliverWebhook(jobId, "whd_nope")).status).toBe(404);
    expect(at("/retry")).toHaveLength(4);
  });

  it("uses the tenant's default for jobs that name none; a failed job's webhook carries its error", async () => {
    receiver.on("/default", {});
    const set = await h
      .client(keyA)
      .webhook.set({ url: `${receiver.url}/default`, events: ["job.running", "job.failed"] });
    expect(set.status).toBe(200); // updated, not created: no secret in the answer
    expect(set.ok && "secret" in set.data).toBe(false);
    const id = await createJob();
    await report(id, running);
    const error = { code: "input_unavailable", message: "media.example.com answered HTTP 404" };
    await report(id, { type: "failed", retryable: false, error });
    await until(() => at("/default").length === 2, "two deliveries");
    const bodies = at("/default").map((r) => JSON.parse(r.body));
    expect(bodies.map((b) => b.type).sort()).toEqual(["job.failed", "job.running"]);
    const failed = bodies.find((b) => b.type === "job.failed");
    expect(failed.data.job).toMatchObject({ id, status: "failed", error });
    expect((await log(id)).map((d) => d.status)).toEqual(["succeeded", "succeeded"]);
    await h.client(keyA).webhook.set({ url: null });
  });

  it("tells a canceled job's webhook", async () => {
    receiver.on("/cancel", {});
    const id = await createJob({ url: `${receiver.url}/cancel` });
    expect((await h.client(keyA).jobs.cancel(id)).status).toBe(200);
    await until(() => at("/cancel").length === 1, "the cancel webhook");
    expect(JSON.parse(at("/cancel")[0]?.body ?? "{}").data.job).toMatchObject({ id, status: "canceled" });
  });

  it("never sends one attempt twice when sweepers on several instances race", async () => {
    receiver.on("/once", {});
    // An instance whose background work is lost (as if it crashed after committing the transition):
    // the delivery is left for the sweepers.
    const crashed = h.instance({ background: { run: () => {}, settled: async () => {} } });
    const id = await createJob({ url: `${receiver.url}/once` });
    await report(id, running, crashed.app);
    await report(id, { type: "succeeded", outputs: [output] }, crashed.app);
    expect(at("/once")).toHaveLength(0);
    const other = h.instance();
    const sweeps = await Promise.all([
      sweepWebhooks(h.deps, { batch: 10 }),
      sweepWebhooks(other.deps, { batch: 10 }),
      sweepWebhooks(h.deps, { batch: 10 }),
      sweepWebhooks(other.deps, { batch: 10 }),
    ]);
    expect(sweeps.reduce((a, b) => a + b, 0)).toBe(1);
    expect(at("/once")).toHaveLength(1);
    expect((await log(id))[0]).toMatchObject({ status: "succeeded", attempt_count: 1 });
  });

  it("logs nothing for a sender that overran its lease while another took the delivery", async () => {
    const crashed = h.instance({ background: { run: () => {}, settled: async () => {} } });
    const id = await createJob({ url: `${receiver.url}/lease` });
    await report(id, running, crashed.app);
    await report(id, { type: "succeeded", outputs: [output] }, crashed.app);
    const [delivery] = await log(id);
    const now = h.deps.clock();
    const slow = await claimDelivery(h.deps.db, delivery?.id ?? "", now, now + 1_000);
    const fast = await claimDelivery(h.deps.db, delivery?.id ?? "", now + 2_000, now + 3_000);
    if (!slow || !fast) throw new Error("claims");
    const outcome = { startedAt: now, statusCode: 200, latencyMs: 5, error: null };
    const next = { status: "succeeded" as const, nextAttemptAt: now, deliveredAt: now };
    await finishAttempt(h.deps.db, slow, outcome, next, now + 2_500);
    expect((await log(id))[0]).toMatchObject({ status: "pending", attempt_count: 0, attempts: [] });
    await finishAttempt(h.deps.db, fast, outcome, next, now + 2_600);
    expect((await log(id))[0]).toMatchObject({ status: "succeeded", attempt_count: 1 });
    expect((await log(id))[0]?.attempts).toHaveLength(1);
  });

  it("records a state change, its event and its webhook together or not at all", async () => {
    receiver.on("/atomic", {});
    const id = await createJob({ url: `${receiver.url}/atomic` });
    await report(id, running);
    // The delivery's insert fails inside the transition (as a full disk or a lost connection
    // would, after the state update and the event were written in the same transaction).
    await h.deps.db.run(
      sql`create trigger fail_delivery before insert on webhook_deliveries begin select raise(abort, 'disk full'); end`,
    );
    const failed = await report(id, { type: "succeeded", outputs: [output] });
    expect(failed.status).toBe(500);
    // Nothing of it was kept: the job still runs, with no succeeded event and no delivery.
    const seen = await h.client(keyA).jobs.get(id);
    expect(seen.ok && seen.data.status).toBe("running");
    const before = await h.client(keyA).jobs.events(id);
    expect(before.ok && before.data.data.map((e) => e.type)).toEqual(["job:created", "job:running"]);
    expect(await log(id)).toEqual([]);

    // The node retries its report (it got no answer); now all three are recorded, once, and a
    // repeat of the same report changes nothing.
    await h.deps.db.run(sql`drop trigger fail_delivery`);
    const again = await report(id, { type: "succeeded", outputs: [output] });
    expect(await again.json()).toMatchObject({ status: "succeeded", stale: false });
    const repeat = await report(id, { type: "succeeded", outputs: [output] });
    expect(await repeat.json()).toMatchObject({ status: "succeeded", stale: false });
    await until(() => at("/atomic").length === 1, "the final webhook");
    expect(JSON.parse(at("/atomic")[0]?.body ?? "{}").data.job).toMatchObject({ id, status: "succeeded" });
    expect((await log(id)).map((d) => d.event)).toEqual(["job.succeeded"]);
    const events = await h.client(keyA).jobs.events(id);
    expect(events.ok && events.data.data.map((e) => e.type)).toEqual([
      "job:created",
      "job:running",
      "job:succeeded",
    ]);
  });

  it("sends job.progress at a bounded rate, only for the attempt that owns the job", async () => {
    receiver.on("/progress", {});
    const id = await createJob({ url: `${receiver.url}/progress`, events: ["job.progress"] });
    // The dispatched message asks the node for progress reports at the configured rate.
    const jsm = await jetstreamManager(h.nc);
    const message = await jsm.streams.getMessage(streams.jobs, {
      last_by_subj: subjects.job("cpu", "default"),
    });
    expect(message?.json<{ job_id: string; progress_report_sec?: number }>()).toMatchObject({
      job_id: id,
      progress_report_sec: 1,
    });

    await report(id, running);
    for (const percent of [5, 10, 15, 20, 25]) {
      expect(await (await report(id, { type: "progress", percent })).json()).toMatchObject({ stale: false });
    }
    await until(() => at("/progress").length >= 1, "a progress webhook");
    expect(at("/progress")).toHaveLength(1);
    const first = JSON.parse(at("/progress")[0]?.body ?? "{}");
    expect(first).toMatchObject({
      type: "job.progress",
      data: { job: { id, status: "running" }, percent: 5 },
    });

    // A report from another attempt changes nothing.
    expect(await (await report(id, { type: "progress", attempt: 2, percent: 50 })).json()).toMatchObject({
      stale: true,
    });
    h.advance(1_100);
    await report(id, { type: "progress", percent: 60 });
    await until(() => at("/progress").length >= 2, "a second progress webhook");
    expect(JSON.parse(at("/progress")[1]?.body ?? "{}").data.percent).toBe(60);
    expect(at("/progress").every((r) => r.verified.ok)).toBe(true);
    expect((await log(id)).map((d) => d.event)).toEqual(["job.progress", "job.progress"]);
    // The log pages, oldest first.
    const ids = at("/progress").map((r) => JSON.parse(r.body).id as string);
    const page1 = await h.client(keyA).jobs.webhooks(id, { limit: 1 });
    if (!page1.ok || !page1.data.next_cursor) throw new Error("no next page");
    expect(page1.data.data.map((d) => d.id)).toEqual([ids[0]]);
    const page2 = await h.client(keyA).jobs.webhooks(id, { limit: 1, cursor: page1.data.next_cursor });
    expect(page2.ok && page2.data.data.map((d) => d.id)).toEqual([ids[1]]);
  });

  it("signs with the old and the new secret during a rotation's grace period, then the new only", async () => {
    receiver.on("/rotate", {});
    const old = secret;
    const rotated = await h.client(keyA).webhook.rotateSecret({ grace_period_sec: 3600 });
    if (!rotated.ok || !rotated.data.secret) throw new Error("no rotated secret");
    const fresh = rotated.data.secret;
    expect(fresh).not.toBe(old);
    expect(rotated.data.previous_secret_expires_at).not.toBeNull();
    const sendOne = async () => {
      // Counted first: the background attempt can land before cancel() has even answered.
      const before = at("/rotate").length;
      const id = await createJob({ url: `${receiver.url}/rotate`, events: ["job.canceled"] });
      await h.client(keyA).jobs.cancel(id);
      await until(() => at("/rotate").length > before, "a delivery");
      return at("/rotate").at(-1);
    };
    const { verifyWebhook } = await import("@framewire/shared/client");
    const during = await sendOne();
    expect(String(during?.headers["framewire-signature"]).match(/v1=/g)).toHaveLength(2);
    for (const s of [old, fresh]) {
      const check = await verifyWebhook({
        body: during?.body ?? "",
        signature: String(during?.headers["framewire-signature"]),
        secret: s,
      });
      expect(check.ok).toBe(true);
    }
    // Ending the grace at once: only the new secret signs.
    const again = await h.client(keyA).webhook.rotateSecret({ grace_period_sec: 0 });
    if (!again.ok || !again.data.secret) throw new Error("no rotated secret");
    receiver.secret = again.data.secret;
    secret = again.data.secret;
    const after = await sendOne();
    const signature = String(after?.headers["framewire-signature"]);
    expect(signature.match(/v1=/g)).toHaveLength(1);
    expect((await verifyWebhook({ body: after?.body ?? "", signature, secret: fresh })).ok).toBe(false);
    expect(after?.verified.ok).toBe(true);
  });

  it("gives up at the deadline and marks the delivery failed", async () => {
    receiver.on("/down", { alwaysFail: true });
    const id = await createJob({ url: `${receiver.url}/down` });
    await report(id, running);
    await report(id, { type: "succeeded", outputs: [output] });
    await until(async () => (await log(id))[0]?.attempt_count === 1, "the first attempt");
    h.advance(61_000); // past FW_WEBHOOK_DEADLINE_SEC (60)
    await until(async () => (await log(id))[0]?.status === "failed", "the delivery to fail");
    const [delivery] = await log(id);
    expect(delivery).toMatchObject({
      status: "failed",
      attempt_count: 2,
      next_attempt_at: null,
      last_status_code: 500,
    });
    await sweepWebhooks(h.deps, { batch: 10 });
    expect(at("/down")).toHaveLength(2);
  });
});

describe("SSRF", () => {
  /** The default policy: no private ranges allowed (http allowed so the address is what is judged). */
  const strictSender = () => createNodeWebhookSender(testConfig({ FW_WEBHOOK_ALLOW_HTTP: "true" }).webhooks);
  let secretServer: Server;
  let secretPort: number;

  beforeAll(async () => {
    // Something an attacker would like the edge to reach, on loopback.
    secretServer = createServer((_req, res) => res.end("secret"));
    await new Promise<void>((resolve) => secretServer.listen(0, "127.0.0.1", resolve));
    secretPort = (secretServer.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => secretServer.close(() => resolve())));

  const privateUrls = () => [
    [`http://127.0.0.1:${secretPort}/`, "127.0.0.1 is not a public address"],
    ["http://10.0.0.1/hook", "10.0.0.1 is not a public address"],
    ["http://169.254.169.254/latest/meta-data/", "169.254.169.254 is not a public address"],
    [`http://[::1]:${secretPort}/`, "::1 is not a public address"],
    [`http://[::ffff:127.0.0.1]:${secretPort}/`, "is not a public address"],
    [`http://localhost:${secretPort}/`, "localhost does not resolve to public addresses only"],
  ];

  it("refuses private targets at submit with a clear problem", async () => {
    const strict = h.instance({ webhookSender: strictSender() });
    for (const [url, words] of privateUrls()) {
      const res = await strict.app.request("/v1/jobs", {
        method: "POST",
        headers: { authorization: `Bearer ${keyA}`, "content-type": "application/json" },
        body: JSON.stringify({ ...base, webhook: { url } }),
      });
      expect(res.status, url).toBe(422);
      const problem = (await res.json()) as { code: string; detail: string; errors: { field: string }[] };
      expect(problem.code, url).toBe("webhook_url_refused");
      expect(problem.detail, url).toContain(words);
      expect(problem.errors[0]?.field).toBe("webhook.url");
    }
    const put = await strict.app.request("/v1/webhook", {
      method: "PUT",
      headers: { authorization: `Bearer ${keyA}`, "content-type": "application/json" },
      body: JSON.stringify({ url: "http://169.254.169.254/" }),
    });
    expect(put.status).toBe(422);
    expect(await put.json()).toMatchObject({ code: "webhook_url_refused", errors: [{ field: "url" }] });
  });

  it("refuses http targets unless the operator allows them", async () => {
    const res = await h
      .instance({ webhookSender: createNodeWebhookSender(testConfig().webhooks) })
      .app.request("/v1/jobs", {
        method: "POST",
        headers: { authorization: `Bearer ${keyA}`, "content-type": "application/json" },
        body: JSON.stringify({ ...base, webhook: { url: "http://hooks.example.com/fw" } }),
      });
    expect(await res.json()).toMatchObject({ status: 422, code: "webhook_url_refused", reason: "scheme" });
  });

  it("refuses private targets again when sending (literal, mapped, and a name resolving to loopback)", async () => {
    const sender = strictSender();
    for (const [url, words] of privateUrls()) {
      const error = await sender
        .post(url as string, { headers: {}, body: "{}", timeoutMs: 2_000 })
        .catch((e: unknown) => e);
      expect(error, url).toBeInstanceOf(TargetRefusedError);
      expect((error as Error).message, url).toContain(words);
    }
    // The server was really there: the refusals are the guard's, not a dead port.
    expect(await (await fetch(`http://127.0.0.1:${secretPort}/`)).text()).toBe("secret");
  });

  it("logs a refused delivery as failed at once, without a retry", async () => {
    receiver.on("/strict", {});
    const id = await createJob({ url: `${receiver.url}/strict` });
    const strict = h.instance({
      webhookSender: strictSender(),
      background: { run: () => {}, settled: async () => {} },
    });
    await report(id, running, strict.app);
    await report(id, { type: "succeeded", outputs: [output] }, strict.app);
    const [pending] = await log(id);
    await attemptDelivery(strict.deps, pending?.id ?? "");
    const [delivery] = await log(id);
    expect(delivery).toMatchObject({ status: "failed", attempt_count: 1, last_status_code: null });
    expect(delivery?.last_error).toMatch(/^refused: 127\.0\.0\.1 is not a public address/);
    expect(at("/strict")).toHaveLength(0);
  });

  it("does not follow a redirect, and says when it pointed at a private address", async () => {
    receiver.on("/redirect", { redirectTo: `http://127.0.0.2:${secretPort}/stolen` });
    const id = await createJob({ url: `${receiver.url}/redirect` });
    await report(id, running);
    await report(id, { type: "succeeded", outputs: [output] });
    await until(async () => ((await log(id))[0]?.attempt_count ?? 0) >= 1, "the redirected attempt");
    const [delivery] = await log(id);
    expect(delivery?.attempts[0]?.status_code).toBe(302);
    expect(delivery?.attempts[0]?.error).toContain("redirects are not followed");
    expect(delivery?.attempts[0]?.error).toContain("refused: 127.0.0.2 is not a public address");
    expect(delivery?.status).not.toBe("succeeded");
  });

  it("on Workers, refuses local names and literal private addresses without resolving", async () => {
    const sender = createFetchWebhookSender(testConfig().webhooks);
    for (const url of [
      "https://localhost/",
      "https://api.localhost/",
      "https://metadata.google.internal/",
      "https://10.0.0.1/",
      "https://[::ffff:a9fe:a9fe]/",
    ]) {
      await expect(sender.check(url), url).rejects.toBeInstanceOf(TargetRefusedError);
    }
    await expect(sender.check("https://hooks.example.com/fw")).resolves.toBeUndefined();
  });
});
