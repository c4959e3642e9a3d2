import type { JobRow } from "@framewire/shared/db";
import { streams } from "@framewire/shared/nats";
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type EdgeHarness, startEdgeHarness, testNodeToken } from "../../test/support/edge-harness";
import { createTenant, issueApiKey } from "./auth/api-keys";
import type { EdgeDeps } from "./deps";
import { failJob } from "./jobs/lifecycle";
import { sweepOutbox } from "./outbox";

/** The edge app through app.request(), over a real libSQL file and a real nats-server. */

let harness: EdgeHarness;
let nc: NatsConnection;
let deps: EdgeDeps;
let app: EdgeHarness["app"];
let keyA: string;
let keyB: string;
let readOnlyKey: string;
const nodeToken = testNodeToken;

const auth = (key: string) => ({ authorization: `Bearer ${key}` });
const json = (key: string) => ({ ...auth(key), "content-type": "application/json" });
const spec = (uploadId: string) => ({
  input: { type: "upload", upload_id: uploadId },
  outputs: [{ name: "small", type: "video", video: { height: 240 } }],
});

async function upload(key: string): Promise<string> {
  const res = await app.request("/v1/uploads", {
    method: "POST",
    headers: { ...auth(key), "content-type": "video/mp4" },
    body: new Uint8Array(1024).fill(7),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

async function submit(key: string, body: unknown, headers: Record<string, string> = {}) {
  return app.request("/v1/jobs", {
    method: "POST",
    headers: { ...json(key), ...headers },
    body: JSON.stringify(body),
  });
}

beforeAll(async () => {
  harness = await startEdgeHarness();
  ({ deps, app, nc } = harness);
  const tenantA = await createTenant(deps.db, "a");
  const tenantB = await createTenant(deps.db, "b");
  keyA = (await issueApiKey(deps.db, { tenantId: tenantA, name: "a", scopes: ["jobs:read", "jobs:write"] }))
    .key;
  keyB = (await issueApiKey(deps.db, { tenantId: tenantB, name: "b", scopes: ["jobs:read", "jobs:write"] }))
    .key;
  readOnlyKey = (await issueApiKey(deps.db, { tenantId: tenantA, name: "ro", scopes: ["jobs:read"] })).key;
});

afterAll(async () => {
  await harness?.close();
});

describe("authentication", () => {
  it("answers health without a key", async () => {
    const res = await app.request("/v1/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "ok" });
  });

  it("refuses a missing, malformed or unknown key with 401 problem details", async () => {
    const headerSets: Record<string, string>[] = [
      {},
      { authorization: "Bearer nope" },
      { authorization: `Bearer fw_${"a".repeat(12)}_${"b".repeat(40)}` },
    ];
    for (const headers of headerSets) {
      const res = await app.request("/v1/jobs", { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      expect(await res.json()).toMatchObject({ status: 401, code: "unauthorized" });
    }
  });

  it("refuses writes to a read-only key", async () => {
    const res = await submit(readOnlyKey, {});
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ code: "forbidden" });
  });

  it("stores keys only as hashes", async () => {
    const rows = await deps.db.query.apiKeys.findMany();
    for (const row of rows) {
      expect(row.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(JSON.stringify(row)).not.toContain(keyA.split("_")[2]);
    }
  });
});

describe("jobs", () => {
  it("validates the spec and points at the field", async () => {
    const uploadId = await upload(keyA);
    const res = await submit(keyA, {
      ...spec(uploadId),
      outputs: [{ name: "x", type: "video", video: { height: 7 } }],
    });
    expect(res.status).toBe(422);
    const problem = (await res.json()) as { code: string; errors: { field: string }[] };
    expect(problem.code).toBe("validation_failed");
    expect(problem.errors.map((e) => e.field)).toContain("outputs.0.video.height");
  });

  it("refuses an upload id that belongs to another tenant", async () => {
    const uploadId = await upload(keyB);
    const res = await submit(keyA, spec(uploadId));
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({ errors: [{ field: "input.upload_id" }] });
  });

  it("accepts a job, writes it, and publishes it on FW_JOBS with Nats-Msg-Id = job id", async () => {
    const uploadId = await upload(keyA);
    const res = await submit(keyA, spec(uploadId), { "x-request-id": "req-test-0001" });
    expect(res.status).toBe(202);
    expect(res.headers.get("x-request-id")).toBe("req-test-0001");
    const job = (await res.json()) as { id: string; status: string; progress_url: string };
    expect(job.status).toBe("queued");
    expect(job.progress_url).toMatch(new RegExp(`^ws://progress.test/v1/jobs/${job.id}/progress\\?token=`));

    const jsm = await jetstreamManager(nc);
    const stored = await jsm.streams.getMessage(streams.jobs, { last_by_subj: "fw.jobs.cpu.default" });
    expect(stored?.header.get("Nats-Msg-Id")).toBe(job.id);
    expect(stored?.header.get("Fw-Request-Id")).toBe("req-test-0001");
    expect(JSON.parse(new TextDecoder().decode(stored?.data))).toMatchObject({
      job_id: job.id,
      input_key: expect.stringContaining(`/uploads/${uploadId}`),
    });
  });

  it("never shows, lists or cancels another tenant's job (404)", async () => {
    const res = await submit(keyA, spec(await upload(keyA)));
    const { id } = (await res.json()) as { id: string };
    expect((await app.request(`/v1/jobs/${id}`, { headers: auth(keyB) })).status).toBe(404);
    expect((await app.request(`/v1/jobs/${id}/events`, { headers: auth(keyB) })).status).toBe(404);
    expect((await app.request(`/v1/jobs/${id}`, { method: "DELETE", headers: auth(keyB) })).status).toBe(404);
    const list = (await (await app.request("/v1/jobs", { headers: auth(keyB) })).json()) as {
      data: { id: string }[];
    };
    expect(list.data.map((j) => j.id)).not.toContain(id);
    expect((await app.request(`/v1/jobs/${id}`, { headers: auth(keyA) })).status).toBe(200);
  });

  it("cancels a queued job and refuses to cancel it twice", async () => {
    const { id } = (await (await submit(keyA, spec(await upload(keyA)))).json()) as { id: string };
    const res = await app.request(`/v1/jobs/${id}`, { method: "DELETE", headers: auth(keyA) });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "canceled" });
    const again = await app.request(`/v1/jobs/${id}`, { method: "DELETE", headers: auth(keyA) });
    expect(again.status).toBe(409);
  });

  it("replays the same job for the same Idempotency-Key and body", async () => {
    const body = spec(await upload(keyA));
    const first = (await (await submit(keyA, body, { "idempotency-key": "k1" })).json()) as { id: string };
    const second = await submit(keyA, body, { "idempotency-key": "k1" });
    expect(second.status).toBe(202);
    expect(((await second.json()) as { id: string }).id).toBe(first.id);
  });

  it("replays an Idempotency-Key's job when submissions without a key came in between", async () => {
    // The keyed lookup (one row) and the keyless one (limit 0) share their SQL text; libsql answers a
    // one-row read from a statement's earlier multi-row run (statement-cache-client.ts).
    const body = spec(await upload(keyA));
    const first = (await (await submit(keyA, body, { "idempotency-key": "k-between" })).json()) as {
      id: string;
    };
    const between = (await (await submit(keyA, spec(await upload(keyA)))).json()) as { id: string };
    const retry = await submit(keyA, body, { "idempotency-key": "k-between" });
    expect(((await retry.json()) as { id: string }).id).toBe(first.id);
    // Canceled, so that they hold no place in tenant A's queue (the outbox test needs one).
    for (const id of [first.id, between.id]) {
      expect((await app.request(`/v1/jobs/${id}`, { method: "DELETE", headers: auth(keyA) })).status).toBe(
        200,
      );
    }
  });
});

describe("node reports", () => {
  const report = (id: string, body: unknown, token = nodeToken) =>
    app.request(`/internal/jobs/${id}/reports`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  it("records running then succeeded, ignores stale attempts, and links a download that works", async () => {
    const { id } = (await (await submit(keyA, spec(await upload(keyA)))).json()) as { id: string };
    expect(
      (await report(id, { type: "running", attempt: 1, node_id: "n1", engine: "native" }, "x".repeat(40)))
        .status,
    ).toBe(401);

    expect(
      await (await report(id, { type: "running", attempt: 1, node_id: "n1", engine: "native" })).json(),
    ).toEqual({
      status: "running",
      stale: false,
    });
    // Attempt 2 (a redelivery) takes over; attempt 1's late final report is stale.
    await report(id, { type: "running", attempt: 2, node_id: "n2", engine: "wasm" });
    const late = await report(id, {
      type: "failed",
      attempt: 1,
      node_id: "n1",
      retryable: false,
      error: { code: "engine_failure", message: "x" },
    });
    expect(await late.json()).toEqual({ status: "running", stale: true });

    const job = (await (await app.request(`/v1/jobs/${id}`, { headers: auth(keyA) })).json()) as {
      spec: { outputs: { name: string }[] };
    };
    const key = `${(await deps.db.query.jobs.findFirst({ where: (j, { eq }) => eq(j.id, id) }))?.tenantId}/jobs/${id}/small.mp4`;
    await deps.storage?.bytes?.put(key, new Blob([new Uint8Array(300).fill(1)]).stream(), 1e6);
    const done = await report(id, {
      type: "succeeded",
      attempt: 2,
      node_id: "n2",
      outputs: [
        {
          name: job.spec.outputs[0]?.name,
          storage_key: key,
          size_bytes: 300,
          container: "mp4",
          duration_sec: 2,
          video: { codec: "h264", width: 426, height: 240, fps: 25 },
          audio: null,
        },
      ],
    });
    expect(await done.json()).toEqual({ status: "succeeded", stale: false });
    // Reports are idempotent: the same final report again changes nothing and is not stale.
    expect(
      (
        (await (await report(id, { type: "succeeded", attempt: 2, node_id: "n2", outputs: [] })).json()) as {
          stale: boolean;
        }
      ).stale,
    ).toBe(false);

    const finished = (await (await app.request(`/v1/jobs/${id}`, { headers: auth(keyA) })).json()) as {
      status: string;
      attempts: number;
      outputs: { url: string; video: { height: number } }[];
    };
    expect(finished).toMatchObject({ status: "succeeded", attempts: 2 });
    const url = new URL(finished.outputs[0]?.url ?? "");
    const download = await app.request(url.pathname + url.search);
    expect(download.status).toBe(200);
    expect((await download.arrayBuffer()).byteLength).toBe(300);
    // A tampered link is refused.
    expect((await app.request(`${url.pathname}?token=${url.searchParams.get("token")}x`)).status).toBe(404);

    const events = (await (await app.request(`/v1/jobs/${id}/events`, { headers: auth(keyA) })).json()) as {
      data: { type: string; attempt: number }[];
    };
    expect(events.data.map((e) => `${e.type}@${e.attempt}`)).toEqual([
      "job:created@0",
      "job:running@1",
      "job:running@2",
      "job:succeeded@2",
    ]);
  });
});

describe("multi-file outputs", () => {
  it("links every file, each download served with the type a player or image element expects", async () => {
    const { id } = (await (await submit(keyA, spec(await upload(keyA)))).json()) as { id: string };
    const report = (body: unknown) =>
      app.request(`/internal/jobs/${id}/reports`, {
        method: "POST",
        headers: { authorization: `Bearer ${nodeToken}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    await report({ type: "running", attempt: 1, node_id: "n1", engine: "native" });
    const tenant = (await deps.db.query.jobs.findFirst({ where: (j, { eq }) => eq(j.id, id) }))?.tenantId;
    const files = [
      { relative_path: "thumb-0001.jpg", type: "image/jpeg" },
      { relative_path: "storyboard.vtt", type: "text/vtt" },
      { relative_path: "360p/index.m3u8", type: "application/vnd.apple.mpegurl" },
    ].map((f) => ({ ...f, storage_key: `${tenant}/jobs/${id}/small/${f.relative_path}`, size_bytes: 10 }));
    const bodyOf = (path: string) =>
      path.endsWith(".m3u8") ? "#EXTM3U\n#EXTINF:2.0,\nseg_1.ts\n" : "0123456789";
    for (const f of files)
      await deps.storage?.bytes?.put(f.storage_key, new Blob([bodyOf(f.relative_path)]).stream(), 1e6);
    await report({
      type: "succeeded",
      attempt: 1,
      node_id: "n1",
      outputs: [
        {
          name: "small",
          type: "thumbnails",
          storage_key: files[0]?.storage_key,
          size_bytes: 30,
          container: "jpg",
          duration_sec: null,
          video: null,
          audio: null,
          files: files.map(({ type: _, ...f }) => f),
        },
      ],
    });
    const job = (await (await app.request(`/v1/jobs/${id}`, { headers: auth(keyA) })).json()) as {
      outputs: { files: { relative_path: string; url: string }[] }[];
    };
    const linked = job.outputs[0]?.files ?? [];
    expect(linked.map((f) => f.relative_path)).toEqual(files.map((f) => f.relative_path));
    for (const [i, f] of linked.entries()) {
      const url = new URL(f.url);
      const res = await app.request(url.pathname + url.search);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe(files[i]?.type);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      const body = await res.text();
      if (!f.relative_path.endsWith(".m3u8")) expect(body).toBe("0123456789");
      else {
        // Playlists come through the edge with each URI rewritten to that file's own signed link.
        expect(url.pathname).toMatch(/^\/files\/playlists\//);
        const segment = body.split("\n")[2] ?? "";
        expect(segment).toMatch(/^http:\/\/api\.test\/files\/.*\/small\/360p\/seg_1\.ts\?token=/);
        const path = new URL(segment);
        await deps.storage?.bytes?.put(path.pathname.slice("/files/".length), new Blob(["ts"]).stream(), 1e6);
        expect(await (await app.request(path.pathname + path.search)).text()).toBe("ts");
      }
    }
    // Asked again (players, a crowd of them): the same rewrite, the playlist read from the store once.
    const playlist = linked.find((f) => f.relative_path.endsWith(".m3u8"));
    const playlistUrl = new URL(playlist?.url ?? "");
    const reads = vi.spyOn(deps.storage as NonNullable<typeof deps.storage>, "readText");
    const again = await Promise.all(
      [1, 2, 3].map(async () => (await app.request(playlistUrl.pathname + playlistUrl.search)).text()),
    );
    expect(new Set(again).size).toBe(1);
    expect(again[0]).toMatch(/seg_1\.ts\?token=/);
    // None, or one if a signing slice (a minute at most) ended since the first request.
    expect(reads.mock.calls.length).toBeLessThanOrEqual(1);
    reads.mockRestore();
    // One file's link opens that file only.
    const first = new URL(linked[0]?.url ?? "");
    const other = new URL(linked[1]?.url ?? "");
    expect((await app.request(`${other.pathname}${first.search}`)).status).toBe(404);
  });
});

describe("DASH outputs", () => {
  it("serves a manifest that shares an HLS output's segments with every URL on its own signed link", async () => {
    const { id } = (await (await submit(keyA, spec(await upload(keyA)))).json()) as { id: string };
    const report = (body: unknown) =>
      app.request(`/internal/jobs/${id}/reports`, {
        method: "POST",
        headers: { authorization: `Bearer ${nodeToken}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    await report({ type: "running", attempt: 1, node_id: "n1", engine: "native" });
    const tenant = (await deps.db.query.jobs.findFirst({ where: (j, { eq }) => eq(j.id, id) }))?.tenantId;
    const key = (output: string, path: string) => `${tenant}/jobs/${id}/${output}/${path}`;
    const segments = ["360p/init.mp4", "360p/seg_00000.m4s"];
    for (const path of segments)
      await deps.storage?.bytes?.put(key("apple", path), new Blob([`bytes of ${path}`]).stream(), 1e6);
    const manifest = [
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT2.000S">',
      '<Period><AdaptationSet contentType="video"><Representation id="360p" bandwidth="1">',
      '<SegmentList timescale="12800" presentationTimeOffset="128000">',
      '<Initialization sourceURL="../apple/360p/init.mp4"/>',
      '<SegmentTimeline><S t="128000" d="25600"/></SegmentTimeline>',
      '<SegmentURL media="../apple/360p/seg_00000.m4s"/>',
      "</SegmentList></Representation></AdaptationSet></Period></MPD>",
      "",
    ].join("\n");
    await deps.storage?.bytes?.put(key("stream", "manifest.mpd"), new Blob([manifest]).stream(), 1e6);
    const file = (output: string, path: string) => ({
      storage_key: key(output, path),
      relative_path: path,
      size_bytes: 10,
    });
    await report({
      type: "succeeded",
      attempt: 1,
      node_id: "n1",
      outputs: [
        {
          name: "stream",
          type: "dash",
          storage_key: key("stream", "manifest.mpd"),
          size_bytes: manifest.length,
          container: "dash",
          duration_sec: 2,
          video: null,
          audio: null,
          files: [file("stream", "manifest.mpd")],
          segments_from: "apple",
        },
      ],
    });
    const job = (await (await app.request(`/v1/jobs/${id}`, { headers: auth(keyA) })).json()) as {
      outputs: { url: string; segments_from?: string; files: { url: string }[] }[];
    };
    const stream = job.outputs[0];
    expect(stream?.segments_from).toBe("apple");
    const url = new URL(stream?.url ?? "");
    expect(url.pathname).toBe(`/files/playlists/${key("stream", "manifest.mpd")}`);
    expect(stream?.files[0]?.url).toBe(stream?.url);
    const res = await app.request(url.pathname + url.search);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/dash+xml");
    const body = await res.text();
    const links = [...body.matchAll(/(?:sourceURL|media)="([^"]+)"/g)].map((m) =>
      (m[1] ?? "").replaceAll("&amp;", "&"),
    );
    expect(links).toHaveLength(2);
    for (const [i, link] of links.entries()) {
      const signed = new URL(link);
      expect(signed.pathname).toBe(`/files/${key("apple", segments[i] ?? "")}`);
      const segment = await app.request(signed.pathname + signed.search);
      expect(segment.status).toBe(200);
      expect(await segment.text()).toBe(`bytes of ${segments[i]}`);
    }
    expect(body.replace(/"http[^"]+"/g, '"x"')).toBe(
      manifest.replace(/(sourceURL|media)="[^"]+"/g, '$1="x"'),
    );
  });
});

describe("ending a job from the edge", () => {
  it("fails a job that never finished, with its event, and leaves a finished job alone", async () => {
    const { id } = (await (await submit(keyA, spec(await upload(keyA)))).json()) as { id: string };
    const row = await deps.db.query.jobs.findFirst({ where: (j, { eq }) => eq(j.id, id) });
    const error = { code: "deliveries_exhausted" as const, message: "dropped" };
    const failed = await failJob(deps, row as JobRow, error);
    expect(failed).toMatchObject({ status: "failed", error });
    expect(await failJob(deps, row as JobRow, error)).toBeNull();
    const events = (await (await app.request(`/v1/jobs/${id}/events`, { headers: auth(keyA) })).json()) as {
      data: { type: string; data: { reason?: string } }[];
    };
    expect(events.data.map((e) => e.type)).toEqual(["job:created", "job:failed"]);
    expect(events.data[1]?.data.reason).toBe("dead letter dropped");
  });
});

describe("outbox", () => {
  it("accepts a job while NATS is down and publishes it once NATS is back", async () => {
    await harness.nats.stop();
    const res = await submit(keyA, spec(await upload(keyA)));
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const row = await deps.db.query.jobs.findFirst({ where: (j, { eq }) => eq(j.id, id) });
    expect(row?.dispatchedAt).toBeNull();

    await harness.restartNats();
    await expect.poll(() => nc.isClosed() === false && nc.info !== undefined, { timeout: 10_000 }).toBe(true);
    await expect
      .poll(
        async () => {
          await sweepOutbox(deps, { graceMs: 0, batch: 10 });
          const after = await deps.db.query.jobs.findFirst({ where: (j, { eq }) => eq(j.id, id) });
          return after?.dispatchedAt !== null;
        },
        { timeout: 15_000, interval: 500 },
      )
      .toBe(true);
    const jsm = await jetstreamManager(nc);
    const stored = await jsm.streams.getMessage(streams.jobs, { last_by_subj: "fw.jobs.cpu.default" });
    expect(stored?.header.get("Nats-Msg-Id")).toBe(id);
  }, 60_000);
});
