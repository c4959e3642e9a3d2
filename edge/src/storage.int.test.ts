import { signToken, storageKeys } from "@framewire/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EdgeHarness, startEdgeHarness, testNodeToken } from "../../test/support/edge-harness";
import { type S3Server, startS3Server } from "../../test/support/s3-server";
import { sweepRetention } from "./retention";
import type { ObjectStore } from "./storage/object-store";
import { createS3ObjectStore } from "./storage/s3-object-store";
import { parseStorageSettings } from "./storage/storage-config";

/**
 * The edge's object stores against real parts: the local folder and S3 (a real s3rver — which
 * checks no signatures, so what real S3 enforces from the signature, such as the signed
 * Content-Length, is shown here by the edge's own HeadObject check instead). Retention runs with
 * the harness clock moved forward.
 */

let s3: S3Server;
const hour = 3_600_000;

function s3Store(): ObjectStore {
  const settings = parseStorageSettings({
    FW_STORAGE: "s3",
    FW_S3_ENDPOINT: s3.endpoint,
    FW_S3_BUCKET: s3.bucket,
    FW_S3_FORCE_PATH_STYLE: "true",
    FW_S3_ACCESS_KEY_ID: s3.credentials.accessKeyId,
    FW_S3_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
  });
  if (settings.kind !== "s3") throw new Error("expected s3 settings");
  return createS3ObjectStore(settings.s3);
}

beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(async () => {
  await s3?.stop();
});

const config = {
  FW_INPUT_RETENTION_HOURS: 1,
  FW_OUTPUT_RETENTION_HOURS: 2,
  FW_S3_INPUT_BUCKETS: "media-in, archive",
};

describe.each(["local", "s3"] as const)("the %s store through the API", (kind) => {
  let h: EdgeHarness;
  let key: string;
  let tenantId: string;
  const auth = () => ({ authorization: `Bearer ${key}` });

  beforeAll(async () => {
    h = await startEdgeHarness({ config, deps: kind === "s3" ? { storage: s3Store() } : {} });
    tenantId = await h.tenant(`t-${kind}`);
    key = await h.key(tenantId, ["jobs:read", "jobs:write"]);
  });
  afterAll(async () => {
    await h?.close();
  });

  /** Asks for an upload URL, then PUTs the bytes where it says (S3 directly, or this edge). */
  async function upload(bytes: Uint8Array<ArrayBuffer>, declared = bytes.length) {
    const res = await h.app.request("/v1/uploads", {
      method: "POST",
      headers: { ...auth(), "content-type": "application/json" },
      body: JSON.stringify({ content_type: "video/mp4", size_bytes: declared }),
    });
    expect(res.status).toBe(201);
    const target = (await res.json()) as {
      id: string;
      upload_url: string;
      method: string;
      headers: Record<string, string>;
    };
    const put =
      kind === "s3"
        ? await fetch(target.upload_url, { method: "PUT", body: bytes })
        : await h.app.request(new URL(target.upload_url).pathname, {
            method: "PUT",
            headers: auth(),
            body: bytes,
          });
    expect(put.status).toBe(200);
    return target;
  }

  const submit = (input: unknown) =>
    h.app.request("/v1/jobs", {
      method: "POST",
      headers: { ...auth(), "content-type": "application/json" },
      body: JSON.stringify({ input, outputs: [{ name: "small", type: "video", video: { height: 240 } }] }),
    });

  const report = (id: string, body: unknown) =>
    h.app.request(`/internal/jobs/${id}/reports`, {
      method: "POST",
      headers: { authorization: `Bearer ${testNodeToken}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  /** A job the way a node finishes it: its output written to the store, then reported. */
  async function finishedJob(uploadId: string, bytes: Uint8Array<ArrayBuffer>) {
    const job = (await (await submit({ type: "upload", upload_id: uploadId })).json()) as { id: string };
    const storageKey = storageKeys.output(tenantId, job.id, "small", "mp4");
    await putObject(storageKey, bytes);
    await report(job.id, { type: "running", attempt: 1, node_id: "n1", engine: "native" });
    await report(job.id, {
      type: "succeeded",
      attempt: 1,
      node_id: "n1",
      outputs: [
        {
          name: "small",
          storage_key: storageKey,
          size_bytes: bytes.length,
          container: "mp4",
          duration_sec: 1,
          video: { codec: "h264", width: 320, height: 240, fps: 25 },
          audio: null,
        },
      ],
    });
    return job.id;
  }

  /** Writes an object the way a processing node would (straight into the store). */
  async function putObject(storageKey: string, bytes: Uint8Array<ArrayBuffer>) {
    const store = h.deps.storage as ObjectStore;
    if (store.bytes) {
      await store.bytes.put(storageKey, new Blob([bytes]).stream(), 1e9);
      return;
    }
    const target = await store.uploadTarget(
      { id: "x", key: storageKey, sizeBytes: bytes.length, contentType: null },
      Date.now(),
    );
    expect((await fetch(target.url, { method: "PUT", body: bytes })).status).toBe(200);
  }

  async function download(url: string): Promise<Response> {
    if (kind === "s3") return fetch(url);
    const u = new URL(url);
    return h.app.request(u.pathname + u.search);
  }

  const getJob = async (id: string) =>
    (await (await h.app.request(`/v1/jobs/${id}`, { headers: auth() })).json()) as {
      status: string;
      outputs: { url: string | null; expired: boolean; expires_at: string | null }[];
    };

  it("upload → job → download: the job uses the upload and its output downloads byte for byte", async () => {
    const bytes = new Uint8Array(1500).map((_, i) => i % 251);
    const target = await upload(bytes);
    if (kind === "s3") {
      const url = new URL(target.upload_url);
      // A presigned PUT for this upload's key, with its length signed.
      expect(url.pathname).toBe(`/${s3.bucket}/${tenantId}/uploads/${target.id}`);
      expect(url.searchParams.get("X-Amz-SignedHeaders")?.split(";")).toContain("content-length");
      expect(target.headers).toEqual({ "content-length": "1500" });
    }
    const status = await h.app.request(`/v1/uploads/${target.id}`, { headers: auth() });
    expect(await status.json()).toMatchObject({ status: "complete", size_bytes: 1500 });

    const output = new Uint8Array(3000).fill(9);
    const jobId = await finishedJob(target.id, output);
    const job = await getJob(jobId);
    expect(job.outputs[0]).toMatchObject({ expired: false });
    const url = job.outputs[0]?.url as string;
    if (kind === "s3") expect(url).toContain("X-Amz-Signature=");
    const res = await download(url);
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(output);
  });

  it("refuses an upload larger than the limit when it is asked for", async () => {
    const res = await h.app.request("/v1/uploads", {
      method: "POST",
      headers: { ...auth(), "content-type": "application/json" },
      body: JSON.stringify({ size_bytes: 4097 }), // the harness limit is 4096
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ code: "payload_too_large" });
  });

  it("takes a job's s3 input only from an allowed bucket, and never a key that walks out of it", async () => {
    const allowed = await submit({ type: "s3", bucket: "media-in", key: "shows/ep1/master.mov" });
    expect(allowed.status).toBe(202);
    const refused = await submit({ type: "s3", bucket: "private-bucket", key: "secrets.mp4" });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({
      code: "input_not_allowed",
      errors: [{ field: "input.bucket" }],
    });
    // Watermark images are inputs too, checked the same way.
    const withWatermark = (image: unknown) =>
      h.app.request("/v1/jobs", {
        method: "POST",
        headers: { ...auth(), "content-type": "application/json" },
        body: JSON.stringify({
          input: { type: "url", url: "https://media.example/a.mp4" },
          outputs: [{ name: "w", type: "video", video: { height: 240, watermark: { image } } }],
        }),
      });
    const s3Mark = await withWatermark({ type: "s3", bucket: "private-bucket", key: "logo.png" });
    expect(s3Mark.status).toBe(403);
    expect(await s3Mark.json()).toMatchObject({
      errors: [{ field: "outputs.0.video.watermark.image.bucket" }],
    });
    const missingMark = await withWatermark({ type: "upload", upload_id: "upl_00000000000000000000000000" });
    expect(missingMark.status).toBe(422);
    expect(await missingMark.json()).toMatchObject({
      errors: [{ field: "outputs.0.video.watermark.image.upload_id" }],
    });
    // Subtitle files are inputs too: the same checks, naming their field.
    const withSubtitles = (subtitle: unknown) =>
      h.app.request("/v1/jobs", {
        method: "POST",
        headers: { ...auth(), "content-type": "application/json" },
        body: JSON.stringify({
          input: { type: "url", url: "https://media.example/a.mp4" },
          subtitles: { en: { input: subtitle, language: "eng" } },
          outputs: [
            { name: "w", type: "video", video: { height: 240 }, subtitles: { input: "en", mode: "track" } },
          ],
        }),
      });
    const s3Subtitle = await withSubtitles({ type: "s3", bucket: "private-bucket", key: "en.srt" });
    expect(s3Subtitle.status).toBe(403);
    expect(await s3Subtitle.json()).toMatchObject({ errors: [{ field: "subtitles.en.input.bucket" }] });
    const missingSubtitle = await withSubtitles({
      type: "upload",
      upload_id: "upl_00000000000000000000000000",
    });
    expect(missingSubtitle.status).toBe(422);
    expect(await missingSubtitle.json()).toMatchObject({
      errors: [{ field: "subtitles.en.input.upload_id" }],
    });
    for (const bad of ["../private-bucket/secrets.mp4", "a/../../b.mp4", "/abs.mp4", "a//b", "a\\..\\b"]) {
      const res = await submit({ type: "s3", bucket: "media-in", key: bad });
      expect(res.status, bad).toBe(422);
      expect(await res.json(), bad).toMatchObject({ errors: [{ field: "input.key" }] });
    }
  });

  it("deletes inputs and outputs past their retention and shows them expired", async () => {
    const kept = await upload(new Uint8Array(100).fill(1));
    const old = await upload(new Uint8Array(100).fill(2));
    const jobId = await finishedJob(old.id, new Uint8Array(200).fill(3));
    const failedOnOld = (await (await submit({ type: "upload", upload_id: old.id })).json()) as {
      id: string;
    };
    await report(failedOnOld.id, { type: "running", attempt: 1, node_id: "n1", engine: "native" });
    await report(failedOnOld.id, {
      type: "failed",
      attempt: 1,
      node_id: "n1",
      retryable: false,
      error: { code: "engine_failure", message: "x" },
    });
    // A job still queued on an upload keeps that upload past its retention (as its input, a
    // subtitle file or a watermark image).
    const queued = (await (await submit({ type: "upload", upload_id: kept.id })).json()) as { id: string };
    const mark = await upload(new Uint8Array(50).fill(4));
    const marking = await h.app.request("/v1/jobs", {
      method: "POST",
      headers: { ...auth(), "content-type": "application/json" },
      body: JSON.stringify({
        input: { type: "url", url: "https://media.example/a.mp4" },
        outputs: [
          {
            name: "w",
            type: "video",
            video: { height: 240, watermark: { image: { type: "upload", upload_id: mark.id } } },
          },
        ],
      }),
    });
    expect(marking.status).toBe(202);
    const subtitle = await upload(new TextEncoder().encode("1\n00:00:01,000 --> 00:00:02,000\nhi\n"));
    const subtitled = await h.app.request("/v1/jobs", {
      method: "POST",
      headers: { ...auth(), "content-type": "application/json" },
      body: JSON.stringify({
        input: { type: "url", url: "https://media.example/a.mp4" },
        subtitles: { en: { input: { type: "upload", upload_id: subtitle.id } } },
        outputs: [
          { name: "s", type: "video", video: { height: 240 }, subtitles: { input: "en", mode: "burn" } },
        ],
      }),
    });
    expect(subtitled.status).toBe(202);
    const store = h.deps.storage as ObjectStore;
    const outputKey = storageKeys.output(tenantId, jobId, "small", "mp4");
    expect((await getJob(jobId)).outputs[0]?.expires_at).toEqual(expect.any(String));

    h.advance(1.5 * hour); // past input retention (1 h), not output retention (2 h)
    expect(await sweepRetention(h.deps, { batch: 100 })).toMatchObject({ jobs: 0 });
    expect(await store.head(storageKeys.upload(tenantId, old.id))).toBeNull();
    expect(await store.head(storageKeys.upload(tenantId, kept.id))).not.toBeNull();
    expect(await store.head(storageKeys.upload(tenantId, mark.id))).not.toBeNull();
    expect(await store.head(storageKeys.upload(tenantId, subtitle.id))).not.toBeNull();
    expect(await store.head(outputKey)).not.toBeNull();
    const oldStatus = await h.app.request(`/v1/uploads/${old.id}`, { headers: auth() });
    expect(await oldStatus.json()).toMatchObject({ status: "expired" });
    const reuse = await submit({ type: "upload", upload_id: old.id });
    expect(reuse.status).toBe(410);
    expect(await reuse.json()).toMatchObject({ code: "upload_expired" });
    // Retrying a failed job whose input has gone answers the same, and leaves the job failed.
    const retry = await h.app.request(`/v1/jobs/${failedOnOld.id}/retry`, {
      method: "POST",
      headers: auth(),
    });
    expect(retry.status).toBe(410);
    expect(await retry.json()).toMatchObject({ code: "upload_expired" });
    expect((await getJob(failedOnOld.id)).status).toBe("failed");

    h.advance(1 * hour); // now past output retention too
    const swept = await sweepRetention(h.deps, { batch: 100 });
    expect(swept.jobs).toBeGreaterThanOrEqual(1);
    expect(await store.head(outputKey)).toBeNull();
    expect((await getJob(jobId)).outputs[0]).toMatchObject({ expired: true, url: null });
    const events = (await (await h.app.request(`/v1/jobs/${jobId}/events`, { headers: auth() })).json()) as {
      data: { type: string }[];
    };
    expect(events.data.map((e) => e.type)).toContain("outputs:expired");
    // The job still queued kept its upload.
    expect(await store.head(storageKeys.upload(tenantId, kept.id))).not.toBeNull();
    await h.app.request(`/v1/jobs/${queued.id}`, { method: "DELETE", headers: auth() });
  });

  it("never lets a user-supplied name escape its prefix", async () => {
    // Output names become file names; upload ids become keys.
    const badName = await h.app.request("/v1/jobs", {
      method: "POST",
      headers: { ...auth(), "content-type": "application/json" },
      body: JSON.stringify({
        input: { type: "url", url: "https://media.example/a.mp4" },
        outputs: [{ name: "../../other-tenant/x", type: "video", video: { height: 240 } }],
      }),
    });
    expect(badName.status).toBe(422);
    expect(await badName.json()).toMatchObject({ errors: [{ field: "outputs.0.name" }] });
    const badUpload = await submit({ type: "upload", upload_id: "../uploads/upl_x" });
    expect(badUpload.status).toBe(422);
    for (const path of ["/v1/uploads/..%2F..%2Fetc%2Fpasswd", "/v1/uploads/../../x"]) {
      const res = await h.app.request(path, { method: "PUT", headers: auth(), body: new Uint8Array(3) });
      expect([404, 409], path).toContain(res.status);
    }
    // Even a correctly signed download link for a key outside the layout is refused.
    const token = await signToken(h.deps.config.tokenSecret, "download", {
      key: "../../etc/passwd",
      exp: Math.floor(Date.now() / 1000) + 60,
    });
    for (const path of [
      "/files/..%2F..%2Fetc%2Fpasswd",
      "/files/../../etc/passwd",
      "/files/%E0%A4%A",
      "/files/playlists/%E0%A4%A.m3u8",
      "/files/playlists/..%2F..%2Fetc%2Fpasswd",
    ]) {
      expect((await h.app.request(`${path}?token=${token}`)).status, path).toBe(404);
    }
  });

  if (kind === "s3") {
    it("needs the size up front, and deletes an object that is not the size it was signed for", async () => {
      const noSize = await h.app.request("/v1/uploads", {
        method: "POST",
        headers: { ...auth(), "content-type": "application/json" },
        body: "{}",
      });
      expect(noSize.status).toBe(422);
      expect(await noSize.json()).toMatchObject({ errors: [{ field: "size_bytes" }] });

      // Real S3 refuses this PUT (Content-Length is signed); s3rver doesn't, so the edge's own
      // HeadObject check is what is shown: a job can't use the object, and it is deleted.
      const liar = await upload(new Uint8Array(4000).fill(5), 100);
      const check = await h.app.request(`/v1/uploads/${liar.id}`, { headers: auth() });
      expect(check.status).toBe(422);
      expect((await check.json()) as { detail: string }).toMatchObject({
        detail: expect.stringContaining("not the 100 it was signed for"),
      });
      expect(await (h.deps.storage as ObjectStore).head(storageKeys.upload(tenantId, liar.id))).toBeNull();
      expect((await submit({ type: "upload", upload_id: liar.id })).status).toBe(422);

      const big = await upload(new Uint8Array(5000).fill(6), 4000); // declared under the limit
      expect((await submit({ type: "upload", upload_id: big.id })).status).toBe(413);
    });

    it("says where uploads go when a client sends the bytes to the edge", async () => {
      const res = await h.app.request("/v1/uploads", {
        method: "POST",
        headers: { ...auth(), "content-type": "video/mp4" },
        body: new Uint8Array(10),
      });
      expect(res.status).toBe(409);
      expect(await res.json()).toMatchObject({ detail: expect.stringContaining("size_bytes") });
    });
  }
});

describe("storage settings", () => {
  it("name the variable and the bad value", () => {
    expect(() => parseStorageSettings({ FW_STORAGE: "s3" })).toThrow(/FW_S3_BUCKET=null: is required/);
    expect(() =>
      parseStorageSettings({ FW_STORAGE: "s3", FW_S3_BUCKET: "b-1", FW_S3_ENDPOINT: "not a url" }),
    ).toThrow(/FW_S3_ENDPOINT="not a url"/);
    expect(() =>
      parseStorageSettings({ FW_STORAGE: "s3", FW_S3_BUCKET: "b-1", FW_S3_ACCESS_KEY_ID: "k" }),
    ).toThrow(/FW_S3_SECRET_ACCESS_KEY/);
    expect(() =>
      parseStorageSettings({ FW_STORAGE: "s3", FW_S3_BUCKET: "b-1" }, { requireCredentials: true }),
    ).toThrow(/FW_S3_ACCESS_KEY_ID=null: is required on Workers/);
    expect(() =>
      parseStorageSettings({
        FW_STORAGE: "s3",
        FW_S3_BUCKET: "store-1",
        FW_S3_INPUT_BUCKETS: "media,store-1",
      }),
    ).toThrow(/FW_S3_INPUT_BUCKETS="media,store-1": must not list the storage bucket store-1/);
  });
});
