import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FramewireClient } from "@framewire/shared/client";
import Ajv2020, { type ValidateFunction } from "ajv/dist/2020";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack } from "../../scripts/lib/stack";
import { apiClient, ok, submitJob, uploadBytes, waitForJob } from "../support/api";
import { makeClip, makeMultiTrackClip, measureTone } from "../support/media";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver";

/**
 * The published contract against the real thing: a real job through the real stack (edge, NATS,
 * a processing node running the native engine), and the actual JSON of every public answer it
 * produces validated against the OpenAPI document the edge serves. The document's response
 * schemas allow no undeclared field (they are generated from the zod schemas that type the
 * presenters), so an answer with a field the document doesn't name fails here.
 */

type OpenApi = {
  components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
  webhooks: Record<string, unknown>;
};

describe("the API's answers match the published OpenAPI document", () => {
  let dir: string;
  let stack: Stack;
  let client: FramewireClient;
  let receiver: WebhookReceiver;
  let doc: OpenApi;
  let ajv: Ajv2020;

  /** A validator for one component of the served document. */
  const component = (name: string): ValidateFunction =>
    ajv.compile({ $ref: `openapi.json#/components/schemas/${name}` });
  const webhookBody = (event: string): ValidateFunction =>
    ajv.compile({
      $ref: `openapi.json#/webhooks/${event}/post/requestBody/content/application~1json/schema`,
    });
  const expectValid = (validate: ValidateFunction, value: unknown, what: string) => {
    const valid = validate(value);
    expect(validate.errors ?? [], `${what}: ${JSON.stringify(validate.errors?.slice(0, 3))}`).toEqual([]);
    expect(valid).toBe(true);
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "fw-e2e-contract-"));
    receiver = await startWebhookReceiver();
    stack = await startStack({
      dataDir: join(dir, "data"),
      ports: { api: 0, gateway: 0, nats: 0 },
      output: "files",
      extraEdgeEnv: {
        FW_WEBHOOK_ALLOW_HTTP: "true",
        FW_WEBHOOK_ALLOW_PRIVATE_CIDRS: "127.0.0.1/32",
        FW_WEBHOOK_PROGRESS_SEC: "1",
      },
    });
    client = apiClient(stack);
    doc = (await (await fetch(`${stack.apiUrl}/openapi.json`)).json()) as OpenApi;
    // Formats are also patterns in the generated schemas (zod emits both); the patterns are checked.
    ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
    ajv.addSchema(doc, "openapi.json");
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    await receiver?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("documents every field of a job's outputs, and forbids the rest", () => {
    const job = doc.components.schemas.Job as {
      additionalProperties?: boolean;
      properties: {
        outputs: { items: { properties: Record<string, unknown>; additionalProperties?: boolean } };
      };
    };
    expect(job.additionalProperties).toBe(false);
    const output = job.properties.outputs.items;
    expect(output.additionalProperties).toBe(false);
    expect(Object.keys(output.properties)).toEqual(
      expect.arrayContaining([
        "name",
        "type",
        "url",
        "expired",
        "expires_at",
        "storage_key",
        "size_bytes",
        "container",
        "duration_sec",
        "video",
        "audio",
        "files",
        "encoder",
        "accel",
        "fallback_reason",
        "thumbnails",
        "renditions",
        "loudness",
        "probe",
        "analysis",
        "segments",
        "animation",
        "waveform",
      ]),
    );
  });

  it("a composition job: named uploads, a composition and a highlight reel validate; problems name the clip", async () => {
    const a = await uploadBytes(
      client,
      await readFile(await makeClip(join(dir, "comp-a.mp4"), { seconds: 4, width: 320, height: 240 })),
    );
    const b = await uploadBytes(
      client,
      await readFile(
        await makeClip(join(dir, "comp-b.mp4"), { seconds: 3, width: 640, height: 360, fps: 30 }),
      ),
    );
    const inputs = { a: { type: "upload", upload_id: a }, b: { type: "upload", upload_id: b } } as const;
    const edit = (clips: unknown[]) => ({
      name: "edit",
      type: "composition",
      canvas: { width: 320, height: 180, fps: 25 },
      tracks: [
        {
          clips: [
            {
              asset: { type: "text", text: "Title", font: "sans-bold" },
              start_sec: 0,
              length_sec: 2,
              position: "top",
            },
          ],
        },
        { clips },
      ],
      soundtrack: { input: "b", volume: 0.5, duck: 12 },
    });
    const good = edit([
      { asset: { type: "video", input: "a", trim: { start_sec: 0, end_sec: 3 } }, start_sec: 0 },
      {
        asset: { type: "video", input: "b" },
        start_sec: 2.5,
        transition: { in: "crossfade", duration_sec: 0.5 },
      },
    ]);
    const submitted = await submitJob(client, {
      inputs,
      outputs: [
        good,
        { name: "reel", type: "highlight_reel", input: "a", segments: 1, min_sec: 1, max_sec: 2 },
      ],
    } as never);
    expectValid(component("Job"), submitted, "POST /v1/jobs (composition)");
    const job = await waitForJob(client, submitted.id, { timeoutMs: 120_000 });
    expect(job.status).toBe("succeeded");
    expectValid(component("Job"), job, "GET /v1/jobs/:id (composition)");
    const byName = Object.fromEntries(job.outputs.map((o) => [o.name, o]));
    expect(byName.edit?.duration_sec).toBeCloseTo(5.5, 1);
    expect(byName.edit?.video).toMatchObject({ width: 320, height: 180 });
    expect(byName.reel?.segments?.length).toBe(1);

    // Knowable at submit: the edge answers composition_invalid, naming the clip.
    const refused = await client.jobs.create({
      inputs,
      outputs: [edit([{ asset: { type: "video", input: "c" }, start_sec: 0 }])],
    } as never);
    expect(refused.ok ? null : refused.problem.code).toBe("composition_invalid");
    expect(refused.ok ? null : refused.problem.detail).toContain(
      "tracks[1].clips[0]: input 'c' is not one of the job's inputs (a, b)",
    );
    expectValid(component("Problem"), refused.ok ? null : refused.problem, "422 composition problem");

    // Known only from the media: the job fails at once with the clip named.
    const past = await submitJob(client, {
      inputs,
      outputs: [
        edit([{ asset: { type: "video", input: "b", trim: { start_sec: 1, end_sec: 9 } }, start_sec: 0 }]),
      ],
    } as never);
    const failed = await waitForJob(client, past.id, { timeoutMs: 60_000 });
    expect(failed.status).toBe("failed");
    expect(failed.error).toMatchObject({
      code: "composition_invalid",
      message: expect.stringMatching(
        /^tracks\[1\]\.clips\[0\]: trim ends at 9 s but input 'b' lasts 3(\.\d+)? s$/,
      ),
    });
  }, 240_000);

  it("a real job: the upload, the job, the list, the events, the webhook log and bodies all validate", async () => {
    const settings = ok(await client.webhook.set({ url: null }));
    expectValid(component("TenantWebhook"), settings, "PUT /v1/webhook");
    receiver.secret = settings.secret ?? "";
    receiver.on("/contract", {});

    const clip = await readFile(
      await makeClip(join(dir, "clip.mp4"), { seconds: 4, width: 640, height: 360 }),
    );
    const uploadId = await uploadBytes(client, clip);
    const upload = ok(await client.uploads.get(uploadId));
    expectValid(component("Upload"), upload, "GET /v1/uploads/:id");
    const target = ok(await client.uploads.create({ size_bytes: 1024, content_type: "video/mp4" }));
    expectValid(component("UploadTarget"), target, "POST /v1/uploads (JSON)");

    const submitted = await submitJob(client, {
      input: { type: "upload", upload_id: uploadId },
      outputs: [
        { name: "mp4", type: "video", video: { height: 240 }, trim: { start_sec: 0.5, end_sec: 3 } },
        { name: "voice", type: "audio", loudness: { target_lufs: -16 } },
        { name: "thumbs", type: "thumbnails", count: 3, sprite: { columns: 3 } },
        { name: "ladder", type: "hls", renditions: [{ height: 240, video_bitrate_kbps: 400 }] },
        { name: "stream", type: "dash", renditions: [{ height: 240, video_bitrate_kbps: 400 }] },
        { name: "facts", type: "analysis" },
        {
          name: "preview",
          type: "animation",
          format: "gif",
          start_sec: 1,
          duration_sec: 1,
          fps: 10,
          width: 160,
        },
        { name: "wave", type: "waveform", width: 200, height: 40 },
      ],
      webhook: {
        url: `${receiver.url}/contract`,
        events: ["job.running", "job.progress", "job.succeeded"],
      },
      metadata: { source: "contract-test" },
    });
    expectValid(component("Job"), submitted, "POST /v1/jobs");

    const job = await waitForJob(client, submitted.id, { timeoutMs: 120_000 });
    expect(job.status).toBe("succeeded");
    expectValid(component("Job"), job, "GET /v1/jobs/:id");
    // Every output kind carried its facts through the report and the record.
    const byName = Object.fromEntries(job.outputs.map((o) => [o.name, o]));
    expect(byName.voice?.loudness?.target_lufs).toBe(-16);
    expect(byName.thumbs?.thumbnails).toHaveLength(3);
    expect(byName.ladder?.renditions?.[0]).toMatchObject({ height: 240 });
    // The same ladder as DASH: its manifest over the hls output's segments.
    expect(byName.stream).toMatchObject({ type: "dash", container: "dash", segments_from: "ladder" });
    expect(byName.stream?.renditions?.[0]).toMatchObject({ height: 240, playlist: "manifest.mpd" });
    expect(byName.facts?.probe?.streams.map((s) => s.codec).sort()).toEqual(["aac", "h264"]);
    expect(byName.facts?.probe?.duration_sec).toBeCloseTo(4, 0);
    expect(byName.preview).toMatchObject({ type: "animation", container: "gif" });
    expect(byName.preview?.animation).toMatchObject({ format: "gif", frames: 10, loop: true });
    expect(byName.wave?.waveform).toMatchObject({ image: "waveform.png", points: 200, width: 200 });
    expect(byName.wave?.files?.map((f) => f.relative_path)).toEqual(["waveform.png", "peaks.json"]);
    // A fact added to the engine's output facts and the shared schema reaches the API as it is.
    expect(byName.mp4?.video).toMatchObject({ codec: "h264", height: 240, pixel_format: "yuv420p" });

    const page = ok(await client.jobs.list({ limit: 5 }));
    expect(page.data.map((j) => j.id)).toContain(job.id);
    expectValid(component("JobPage"), page, "GET /v1/jobs");

    const events = ok(await client.jobs.events(job.id));
    expect(events.data.map((e) => e.type)).toEqual(["job:created", "job:running", "job:succeeded"]);
    expectValid(component("JobEvents"), events, "GET /v1/jobs/:id/events");

    const deadline = Date.now() + 30_000;
    while (!receiver.received.some((r) => JSON.parse(r.body).type === "job.succeeded")) {
      if (Date.now() > deadline) throw new Error("no job.succeeded webhook");
      await new Promise((r) => setTimeout(r, 100));
    }
    const bodies = receiver.received.map((r) => JSON.parse(r.body) as { type: string });
    expect(bodies.map((b) => b.type)).toEqual(expect.arrayContaining(["job.running", "job.succeeded"]));
    for (const body of bodies) expectValid(webhookBody(body.type), body, `webhook ${body.type}`);

    const log = ok(await client.jobs.webhooks(job.id));
    expectValid(component("WebhookDeliveries"), log, "GET /v1/jobs/:id/webhooks");

    const logs = ok(await client.jobs.logs(job.id));
    expect(logs.data.map((l) => [l.attempt, l.outcome])).toEqual([[1, "succeeded"]]);
    expectValid(component("JobLogs"), logs, "GET /v1/jobs/:id/logs");
  }, 180_000);

  it("an analysis job: every kind's facts on the output and in its JSON, and the fingerprint matches, validate", async () => {
    const clip = await readFile(
      await makeClip(join(dir, "analysed.mp4"), { seconds: 6, width: 320, height: 180 }),
    );
    const kinds = [
      "loudness",
      "silence",
      "scenes",
      "black",
      "freeze",
      "tempo",
      "key",
      "fingerprint",
      "highlights",
    ] as const;
    const runJob = async () => {
      const submitted = await submitJob(client, {
        input: { type: "upload", upload_id: await uploadBytes(client, clip) },
        outputs: [
          { name: "small", type: "video", video: { height: 90 } },
          { name: "facts", type: "analysis" },
          ...kinds.map((kind) => ({ name: kind, type: "analysis" as const, analysis: kind })),
          { name: "per-scene", type: "thumbnails", select: "scenes" },
        ],
      });
      expectValid(component("Job"), submitted, "POST /v1/jobs (analysis)");
      return waitForJob(client, submitted.id, { timeoutMs: 120_000 });
    };
    const job = await runJob();
    expect(job.status).toBe("succeeded");
    expectValid(component("Job"), job, "GET /v1/jobs/:id (analysis)");
    const byName = Object.fromEntries(job.outputs.map((o) => [o.name, o]));
    expect(byName.facts?.probe).toMatchObject({ media_kind: "video", rotation: 0 });
    for (const kind of kinds) {
      const output = byName[kind];
      expect(output?.analysis?.kind, kind).toBe(kind);
      // The output's JSON document is the facts the job reports.
      const document = await (await fetch(output?.url ?? "")).json();
      expect(document, kind).toEqual(output?.analysis);
    }
    expect(byName.loudness?.analysis).toMatchObject({ integrated_lufs: expect.any(Number) });
    expect(byName.fingerprint?.analysis).toMatchObject({ chromaprint: expect.any(String) });
    expect(byName["per-scene"]?.thumbnails?.length).toBeGreaterThan(0);
    // The same content again: the first job is found as its near-duplicate.
    const again = await runJob();
    const matches = ok(await client.fingerprints.matches({ job: again.id }));
    expectValid(component("FingerprintMatches"), matches, "GET /v1/fingerprints/matches");
    expect(matches.data.map((m) => m.job_id)).toContain(job.id);
  }, 240_000);

  it("a job choosing audio tracks: by language and index, the probe lists them; a missing one fails naming them", async () => {
    const multi = await readFile(
      await makeMultiTrackClip(join(dir, "multi.mkv"), [
        { language: "eng", frequency: 440, amplitude: 0.4 },
        { language: "deu", frequency: 1000, amplitude: 0.2, title: "Deutsch" },
        { language: "fra", frequency: 2000, amplitude: 0.1 },
      ]),
    );
    const uploadId = await uploadBytes(client, multi);
    const submitted = await submitJob(client, {
      input: { type: "upload", upload_id: uploadId },
      outputs: [
        { name: "deu", type: "video", video: { height: 90 }, audio: { track: { language: "deu" } } },
        { name: "third", type: "audio", codec: "flac", track: { index: 2 } },
        { name: "facts", type: "analysis" },
      ],
    });
    expectValid(component("Job"), submitted, "POST /v1/jobs (tracks)");
    const job = await waitForJob(client, submitted.id, { timeoutMs: 120_000 });
    expect(job.status).toBe("succeeded");
    expectValid(component("Job"), job, "GET /v1/jobs/:id (tracks)");
    const byName = Object.fromEntries(job.outputs.map((o) => [o.name, o]));
    const audioTracks = byName.facts?.probe?.streams.filter((s) => s.type === "audio");
    expect(audioTracks?.map((s) => s.language)).toEqual(["eng", "deu", "fra"]);
    const fetched = async (name: string, ext: string) => {
      const path = join(dir, `got-${name}.${ext}`);
      await writeFile(path, Buffer.from(await (await fetch(byName[name]?.url ?? "")).arrayBuffer()));
      return path;
    };
    const deu = await measureTone(await fetched("deu", "mp4"));
    expect(deu.frequencyHz).toBeGreaterThan(980);
    expect(deu.frequencyHz).toBeLessThan(1020);
    const third = await measureTone(await fetched("third", "flac"));
    expect(third.frequencyHz).toBeGreaterThan(1960);
    expect(third.frequencyHz).toBeLessThan(2040);

    const missing = await submitJob(client, {
      input: { type: "upload", upload_id: uploadId },
      outputs: [{ name: "spa", type: "audio", track: { language: "spa" } }],
    });
    const failed = await waitForJob(client, missing.id, { timeoutMs: 120_000 });
    expect(failed.status).toBe("failed");
    expect(failed.error?.code).toBe("input_no_streams");
    expect(failed.error?.message).toMatch(/"spa".*0: eng, 1: deu \("Deutsch"\), 2: fra/);
    expectValid(component("Job"), failed, "GET /v1/jobs/:id (missing track)");
  }, 240_000);

  it("a job no live node can run: its warnings validate; a key's jobs are a page", async () => {
    const gpu = ok(
      await client.jobs.create({
        input: { type: "url", url: "https://media.example/in.mp4" },
        outputs: [{ name: "o", type: "video", video: { height: 240 } }],
        accel: "gpu",
      }),
    );
    expect(gpu.warnings?.map((w) => w.code)).toEqual(["no_node_for_pool"]);
    expectValid(component("Job"), gpu, "POST /v1/jobs with warnings");
    await client.jobs.cancel(gpu.id);
    const me = ok(await client.me());
    const page = ok(await client.admin.keyJobs(me.key.id, { limit: 2 }));
    expect(page.data[0]?.id).toBe(gpu.id);
    expectValid(component("JobPage"), page, "GET /v1/admin/keys/:id/jobs");
  });

  it("workflows: templates, a batch with its batch.completed body, usage, quotas and their problems validate", async () => {
    const clip = await readFile(await makeClip(join(dir, "wf.mp4"), { seconds: 1, width: 160, height: 120 }));
    const uploadId = await uploadBytes(client, clip);
    const template = ok(
      await client.templates.create({
        name: "contract",
        description: "small video",
        outputs: [{ name: "small", type: "video", video: { height: 120 } }],
        priority: "high",
        metadata: { from: "template" },
      }),
    );
    expectValid(component("Template"), template, "POST /v1/templates");
    const v2 = ok(await client.templates.update("contract", { outputs: [{ name: "a", type: "audio" }] }));
    expectValid(component("Template"), v2, "PUT /v1/templates/:ref");
    expectValid(
      component("Template"),
      ok(await client.templates.get("contract@1")),
      "GET /v1/templates/:ref",
    );
    expectValid(component("Templates"), ok(await client.templates.list()), "GET /v1/templates");
    expectValid(
      component("TemplateVersions"),
      ok(await client.templates.versions("contract")),
      "GET versions",
    );

    const fromTemplate = ok(
      await client.jobs.create({ template: "contract@1", input: { type: "upload", upload_id: uploadId } }),
    );
    expect(fromTemplate.template).toEqual({ id: template.id, name: "contract", version: 1 });
    expectValid(component("Job"), fromTemplate, "POST /v1/jobs with a template");
    expect((await waitForJob(client, fromTemplate.id)).status).toBe("succeeded");

    receiver.on("/batch", {});
    const batch = ok(
      await client.batches.create(
        {
          template: "contract",
          inputs: [
            { type: "upload", upload_id: uploadId },
            { type: "upload", upload_id: uploadId },
          ],
          webhook: { url: `${receiver.url}/batch` },
        },
        { idempotencyKey: "contract-batch" },
      ),
    );
    expectValid(component("Batch"), batch, "POST /v1/batches");
    const deadline = Date.now() + 60_000;
    let current = ok(await client.batches.get(batch.id));
    while (current.status !== "completed" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      current = ok(await client.batches.get(batch.id));
    }
    expect(current).toMatchObject({ status: "completed", counts: { succeeded: 2 } });
    expectValid(component("Batch"), current, "GET /v1/batches/:id");
    expectValid(component("Batches"), ok(await client.batches.list()), "GET /v1/batches");
    while (!receiver.received.some((r) => r.path === "/batch") && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    const completed = receiver.received.filter((r) => r.path === "/batch").map((r) => JSON.parse(r.body));
    expect(completed.map((b) => b.type)).toEqual(["batch.completed"]);
    expectValid(webhookBody("batch.completed"), completed[0], "webhook batch.completed");
    expectValid(
      component("WebhookDeliveries"),
      ok(await client.batches.webhooks(batch.id)),
      "batch webhooks",
    );

    const day = new Date().toISOString().slice(0, 10);
    for (const group_by of ["day", "key", "output_type"] as const) {
      expectValid(
        component("Usage"),
        ok(await client.usage({ from: day, to: day, group_by })),
        `usage ${group_by}`,
      );
    }
    const me = ok(await client.me());
    expectValid(
      component("JobPage"),
      ok(await client.jobs.list({ api_key: me.key.id, limit: 2 })),
      "jobs?api_key",
    );
    const quotas = ok(await client.admin.setQuotas(me.tenant.id, { max_queued_jobs: 1 }));
    expectValid(component("Quotas"), quotas, "PUT quotas");
    expectValid(component("Quotas"), ok(await client.quotas()), "GET /v1/quotas");
    // A job that can't start soon (gpu, no gpu node) holds the one queued place.
    const held = ok(
      await client.jobs.create({
        input: { type: "upload", upload_id: uploadId },
        outputs: [{ name: "a", type: "audio" }],
        accel: "gpu",
      }),
    );
    const refused = await client.jobs.create({
      template: "contract",
      input: { type: "upload", upload_id: uploadId },
    });
    expect(refused.ok ? null : refused.problem).toMatchObject({
      code: "quota_exceeded",
      limit: "max_queued_jobs",
    });
    expectValid(component("Problem"), refused.ok ? null : refused.problem, "quota_exceeded problem");
    await client.jobs.cancel(held.id);
    ok(await client.admin.setQuotas(me.tenant.id, { max_queued_jobs: null }));
    const gone = await client.jobs.create({
      template: "no-such",
      input: { type: "upload", upload_id: uploadId },
    });
    expect(gone.ok ? null : gone.problem.code).toBe("template_not_found");
    expectValid(component("Problem"), gone.ok ? null : gone.problem, "template_not_found problem");
  }, 120_000);

  it("the key, the health check and a problem validate too", async () => {
    expectValid(component("Me"), ok(await client.me()), "GET /v1/me");
    expectValid(component("Health"), ok(await client.health()), "GET /v1/health");
    const detailed = ok(await client.healthDetailed());
    expectValid(component("HealthDetailed"), detailed, "GET /v1/health/detailed");
    const nodes = ok(await client.admin.nodes());
    expect(nodes.data.length).toBeGreaterThan(0);
    expectValid(component("Nodes"), nodes, "GET /v1/admin/nodes");

    const missing = await client.jobs.get("job_00000000000000000000000000");
    expect(missing.ok).toBe(false);
    expectValid(component("Problem"), missing.ok ? null : missing.problem, "404 problem");
    const invalid = await client.jobs.create({ input: { type: "url", url: "ftp://x" }, outputs: [] });
    expect(invalid.ok ? null : invalid.problem.code).toBe("validation_failed");
    expectValid(component("Problem"), invalid.ok ? null : invalid.problem, "422 problem");

    // The Node edge reads JSON bodies from the socket itself (edge/src/request-body.ts): its
    // limit holds for a declared length and for a chunked body that grows past it.
    const tooLarge = await client.jobs.create({
      input: { type: "url", url: "https://media.example/a.mp4" },
      outputs: [{ name: "a", type: "audio", codec: "aac" }],
      metadata: { pad: "x".repeat(300_000) },
    } as Parameters<typeof client.jobs.create>[0]);
    expect(tooLarge.ok ? null : tooLarge.problem.code).toBe("payload_too_large");
    expectValid(component("Problem"), tooLarge.ok ? null : tooLarge.problem, "413 problem");
    const chunked = await fetch(`${stack.apiUrl}/v1/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${stack.apiKey}`, "content-type": "application/json" },
      body: new Blob([JSON.stringify({ pad: "x".repeat(300_000) })]).stream(),
      duplex: "half",
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(((await chunked.json()) as { code: string }).code).toBe("payload_too_large");
  });
});
