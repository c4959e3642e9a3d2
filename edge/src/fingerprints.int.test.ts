import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import type { FingerprintMatches } from "@framewire/shared";
import { fingerprints as fingerprintsTable } from "@framewire/shared/db";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EdgeHarness, startEdgeHarness, testNodeToken } from "../../test/support/edge-harness";
import { fpcalc, makeDrumLoop, makeNotes, scale, withTempDir } from "../../test/support/media";
import { decodeChromaprint } from "./fingerprints/compare";

const run = promisify(execFile);

/** The peer's fingerprint of a fixture: it always prints one for these. */
async function print(path: string, raw = false): Promise<string> {
  const value = await fpcalc(path, raw);
  if (!value) throw new Error(`fpcalc printed no fingerprint for ${path}`);
  return value;
}

/**
 * Near-duplicate detection through the API: fingerprints reported by nodes are indexed per tenant
 * when the edge records a job succeeded, and GET /v1/fingerprints/matches finds the tenant's
 * earlier inputs with the same content, and never another tenant's. Chromaprints come from the
 * peer tool (fpcalc) over real encodings of the same and of different audio.
 */

let harness: EdgeHarness;
let keyA: string;
let keyB: string;
const prints: Record<"loop" | "loopMp3" | "melody", string> = { loop: "", loopMp3: "", melody: "" };

const auth = (key: string) => ({ authorization: `Bearer ${key}`, "content-type": "application/json" });

/** A job of `key`'s tenant that a node reports succeeded with a fingerprint output. */
async function fingerprintedJob(
  key: string,
  facts: { chromaprint: string | null; frame_hashes: { time_sec: number; phash: string }[] },
  url = "https://media.example/clip.mp4",
): Promise<string> {
  const app = harness.app;
  const created = await app.request("/v1/jobs", {
    method: "POST",
    headers: auth(key),
    body: JSON.stringify({
      input: { type: "url", url },
      outputs: [{ name: "print", type: "analysis", analysis: "fingerprint" }],
    }),
  });
  expect(created.status).toBe(202);
  const { id } = (await created.json()) as { id: string };
  const report = (body: unknown) =>
    app.request(`/internal/jobs/${id}/reports`, {
      method: "POST",
      headers: { authorization: `Bearer ${testNodeToken}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  await report({ type: "running", attempt: 1, node_id: "n1", engine: "native" });
  const done = await report({
    type: "succeeded",
    attempt: 1,
    node_id: "n1",
    outputs: [
      {
        name: "print",
        type: "analysis",
        storage_key: `x/jobs/${id}/print.json`,
        size_bytes: 10,
        container: "json",
        duration_sec: 20,
        video: null,
        audio: null,
        analysis: {
          kind: "fingerprint",
          chromaprint: facts.chromaprint,
          chromaprint_duration_sec: facts.chromaprint ? 20 : null,
          frame_hashes: facts.frame_hashes,
          reason: null,
        },
      },
    ],
  });
  expect(await done.json()).toEqual({ status: "succeeded", stale: false });
  return id;
}

async function matches(key: string, job: string) {
  const res = await harness.app.request(`/v1/fingerprints/matches?job=${job}`, { headers: auth(key) });
  return { status: res.status, body: (await res.json()) as FingerprintMatches & { code?: string } };
}

beforeAll(async () => {
  harness = await startEdgeHarness();
  keyA = await harness.key(await harness.tenant("a"), ["jobs:read", "jobs:write"]);
  keyB = await harness.key(await harness.tenant("b"), ["jobs:read", "jobs:write"]);
  await withTempDir(async (dir) => {
    const loop = await makeDrumLoop(join(dir, "loop.wav"), { bpm: 112, seconds: 25 });
    // The same music re-encoded at a low bit rate (what an upload service sees again and again).
    await run("ffmpeg", [
      "-v",
      "error",
      "-i",
      loop,
      "-c:a",
      "libmp3lame",
      "-b:a",
      "64k",
      join(dir, "loop.mp3"),
    ]);
    const melody = await makeNotes(join(dir, "melody.wav"), [...scale(62, false), ...scale(62, false)]);
    prints.loop = await print(loop);
    prints.loopMp3 = await print(join(dir, "loop.mp3"));
    prints.melody = await print(melody);
    // Decompression agrees with Chromaprint's own: the raw items fpcalc prints.
    const raw = (await print(loop, true)).split(",").map((v) => Number(v) >>> 0);
    expect([...(decodeChromaprint(prints.loop) ?? [])]).toEqual(raw);
  });
}, 60_000);

afterAll(async () => {
  await harness?.close();
});

describe("GET /v1/fingerprints/matches", () => {
  const picture = (hex: string, time = 0) => ({ time_sec: time, phash: hex });

  it("finds an earlier input with the same audio, re-encoded, and not one with other audio", async () => {
    const original = await fingerprintedJob(
      keyA,
      { chromaprint: prints.loop, frame_hashes: [] },
      "https://a.example/loop.wav",
    );
    const other = await fingerprintedJob(keyA, { chromaprint: prints.melody, frame_hashes: [] });
    const again = await fingerprintedJob(keyA, { chromaprint: prints.loopMp3, frame_hashes: [] });
    const { status, body } = await matches(keyA, again);
    expect(status).toBe(200);
    expect(body.data.map((m) => m.job_id)).toEqual([original]);
    expect(body.data[0]).toMatchObject({
      output: "print",
      input: { type: "url", url: "https://a.example/loop.wav" },
      picture: null,
    });
    expect(body.data[0]?.audio?.similarity).toBeGreaterThan(0.6);
    expect(Math.abs(body.data[0]?.audio?.offset_sec ?? 99)).toBeLessThan(0.2);
    expect(body.data.some((m) => m.job_id === other)).toBe(false);
  });

  it("matches pictures by pHash distance: a few bits apart match, unrelated ones do not", async () => {
    const base = "a5c3f00f1e2d3c4b";
    // 3 bits flipped: a re-encode or a resize.
    const near = (BigInt(`0x${base}`) ^ 0x0000100000400001n).toString(16).padStart(16, "0");
    const far = (BigInt(`0x${base}`) ^ 0xffff0000ffff0000n).toString(16).padStart(16, "0");
    const first = await fingerprintedJob(keyA, { chromaprint: null, frame_hashes: [picture(base)] });
    const unrelated = await fingerprintedJob(keyA, { chromaprint: null, frame_hashes: [picture(far)] });
    const second = await fingerprintedJob(keyA, { chromaprint: null, frame_hashes: [picture(near)] });
    const { body } = await matches(keyA, second);
    const ids = body.data.map((m) => m.job_id);
    // Every earlier print of the tenant's was compared (a handful: well within the budget).
    expect(body.complete).toBe(true);
    expect(body.compared).toBeGreaterThanOrEqual(2);
    expect(ids).toContain(first);
    expect(ids).not.toContain(unrelated);
    expect(body.data.find((m) => m.job_id === first)?.picture).toEqual({
      similarity: 1,
      matched_frames: 1,
      frames: 1,
      mean_distance: 3,
    });
  });

  it("keeps to the tenant: the same audio in another tenant is never found, nor its job readable", async () => {
    const mineInB = await fingerprintedJob(keyB, { chromaprint: prints.loop, frame_hashes: [] });
    const { body } = await matches(keyB, mineInB);
    // Tenant A has this audio twice; B sees none of it.
    expect(body.data).toEqual([]);
    const fromA = await fingerprintedJob(keyA, { chromaprint: prints.loop, frame_hashes: [] });
    const seenByA = await matches(keyA, fromA);
    expect(seenByA.body.data.length).toBeGreaterThan(0);
    expect(seenByA.body.data.some((m) => m.job_id === mineInB)).toBe(false);
    // Asking about another tenant's job is a 404, like any read of it.
    expect((await matches(keyA, mineInB)).status).toBe(404);
  });

  it("records a succeeded report whose facts are larger than a client's JSON body may be", async () => {
    // 120 s of pHashes every 0.5 s and a long Chromaprint: well over FW_MAX_JSON_BYTES (16 KiB here).
    const hashes = Array.from({ length: 1000 }, (_, i) => picture(i.toString(16).padStart(16, "0"), i / 2));
    const id = await fingerprintedJob(keyA, { chromaprint: prints.loop.repeat(5), frame_hashes: hashes });
    const job = await harness.app.request(`/v1/jobs/${id}`, { headers: auth(keyA) });
    const body = (await job.json()) as {
      status: string;
      outputs: { analysis?: { frame_hashes: unknown[] } }[];
    };
    expect(body.status).toBe("succeeded");
    expect(body.outputs[0]?.analysis?.frame_hashes).toHaveLength(1000);
  });

  it("takes turns with other requests on a long query, and stops at its work budget saying so", async () => {
    const key = await harness.key(await harness.tenant("many-long-prints"), ["jobs:read", "jobs:write"]);
    // 1,000 frames each (500 s at 0.5 s): the most a fingerprint holds.
    const frames = (seed: number) =>
      Array.from({ length: 1000 }, (_, i) =>
        picture(((seed * 7919 + i * 104_729) >>> 0).toString(16).padStart(16, "0"), i / 2),
      );
    const donor = await fingerprintedJob(key, { chromaprint: null, frame_hashes: frames(1) });
    const tenantId = (
      await harness.deps.db.select().from(fingerprintsTable).where(eq(fingerprintsTable.jobId, donor))
    )[0]?.tenantId as string;
    // 400 more under the donor job (one output each): 400 × 10⁶ frame pairs, past the budget.
    const rows = Array.from({ length: 400 }, (_, n) => ({
      tenantId,
      jobId: donor,
      output: `print-${n}`,
      input: { type: "url" as const, url: "https://media.example/long.mp4" },
      chromaprint: null,
      chromaprintDurationSec: null,
      frameHashes: frames(n + 2),
      createdAt: Date.now(),
    }));
    for (let at = 0; at < rows.length; at += 50)
      await harness.deps.db.insert(fingerprintsTable).values(rows.slice(at, at + 50));
    const query = await fingerprintedJob(key, { chromaprint: null, frame_hashes: frames(1) });

    const order: string[] = [];
    const long = matches(key, query).then((r) => {
      order.push("matches");
      return r;
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const health = await harness.app.request("/v1/health");
    order.push("health");
    const { status, body } = await long;
    expect(health.status).toBe(200);
    // The health check, sent after the query began, was answered before the query ended.
    expect(order).toEqual(["health", "matches"]);
    expect(status).toBe(200);
    expect(body.complete).toBe(false);
    expect(body.compared).toBeGreaterThan(100);
    expect(body.compared).toBeLessThan(401);
    // The newest came first, so the donor's own print (the oldest, same frames) was not reached.
    expect(body.data.some((m) => m.output === "print")).toBe(false);
  });

  it("answers 409 before the job succeeded and 404 for a job without a fingerprint output", async () => {
    const created = await harness.app.request("/v1/jobs", {
      method: "POST",
      headers: auth(keyA),
      body: JSON.stringify({
        input: { type: "url", url: "https://media.example/x.mp4" },
        outputs: [{ name: "print", type: "analysis", analysis: "fingerprint" }],
      }),
    });
    const { id } = (await created.json()) as { id: string };
    expect(await matches(keyA, id)).toMatchObject({ status: 409, body: { code: "conflict" } });
    const bad = await harness.app.request("/v1/fingerprints/matches?job=nope", { headers: auth(keyA) });
    expect(bad.status).toBe(422);
  });
});
