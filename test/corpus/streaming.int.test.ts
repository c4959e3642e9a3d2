import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DashPlanOutput, type Engine, EngineError, type HlsPlanOutput } from "../../native/lib/engine";
import { createNativeEngine } from "../../native/lib/native-engine";
import { corpusCases, expectedDuration, refusal } from "./cases";
import { dashProblems, near, pictureProblems } from "./checks";
import { ensureCorpus } from "./fetch";
import { probeFile } from "./probe";

/**
 * Issue 18's DASH sharing an HLS ladder, over every real-world corpus file with a picture (native
 * engine): one CMAF encode into the HLS output's folder, both manifests opened by FFmpeg's own
 * clients (hls and dash demuxers) with the real media, in the source's aspect, audio if and only if
 * the source has it, and every track placed on the shared timeline from the Period's start (no
 * track shifted on its own by the muxer). Files without a picture are refused with INPUT_NO_STREAMS.
 */
let corpus: Record<string, string>;
let engine: Engine;
let dir: string;

beforeAll(async () => {
  corpus = await ensureCorpus();
  engine = await createNativeEngine();
  dir = await mkdtemp(join(tmpdir(), "fw-corpus-streaming-"));
}, 600_000);

afterAll(async () => {
  await engine?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Where each representation's first segment starts, seconds from the Period's start. */
function trackStarts(mpd: string): { type: string; startSec: number; timescale: number }[] {
  const sets = mpd.split("<AdaptationSet").slice(1);
  return sets.flatMap((set) => {
    const type = /contentType="(\w+)"/.exec(set)?.[1] ?? "?";
    return [
      ...set.matchAll(
        /timescale="(\d+)" presentationTimeOffset="(\d+)">\s*<Initialization[^>]*>\s*<SegmentTimeline>\s*<S t="(\d+)"/g,
      ),
    ].map((m) => ({ type, startSec: (Number(m[3]) - Number(m[2])) / Number(m[1]), timescale: Number(m[1]) }));
  });
}

describe("HLS + DASH from one ladder over the real-world corpus", () => {
  it("plays every picture's ladder through both manifests, stored once; refuses the rest by type", async () => {
    const table: Record<string, string>[] = [];
    for (const c of corpusCases) {
      const ladder = {
        segmentSec: 2,
        preset: "ultrafast" as const,
        renditions: [
          { name: "180p", maxHeight: 180, videoBitrateKbps: 400, audioBitrateKbps: 64 },
          { name: "120p", maxHeight: 120, videoBitrateKbps: 200, audioBitrateKbps: 48 },
        ],
      };
      const hls: HlsPlanOutput = {
        kind: "hls",
        name: "hls",
        dir: join(dir, c.file, "hls"),
        ...ladder,
        segments: "cmaf",
      };
      const dash: DashPlanOutput = {
        kind: "dash",
        name: "dash",
        dir: join(dir, c.file, "dash"),
        ...ladder,
        shares: { hls: "hls", url: "../hls/" },
      };
      const result = await engine
        .run({ inputPath: corpus[c.file] ?? "", outputs: [hls, dash] })
        .catch((e: unknown) => (e instanceof EngineError ? e : Promise.reject(e)));
      if (refusal(c, "dash") !== null) {
        expect(result instanceof EngineError ? result.code : "ok", c.file).toBe("INPUT_NO_STREAMS");
        table.push({ file: c.file, outcome: "INPUT_NO_STREAMS" });
        continue;
      }
      if (result instanceof EngineError) throw new Error(`${c.file}: ${result.code}: ${result.message}`);
      const [hlsFacts, dashFacts] = result.outputs;
      const want = expectedDuration(c, false);
      const problems = await dashProblems(c, dashFacts ?? { path: "", durationSec: null }, want);
      const master = await probeFile(hlsFacts?.path ?? "");
      if (master.video?.codec !== "h264") problems.push(`master video ${master.video?.codec ?? "missing"}`);
      if (master.video) problems.push(...pictureProblems(c, master.video).map((p) => `master: ${p}`));
      if ((master.audio !== null) !== c.audio)
        problems.push(`master audio ${master.audio ? "present" : "missing"}`);
      if (!near(master.durationSec, want))
        problems.push(`master duration ${master.durationSec?.toFixed(2)} s`);
      if (dashFacts?.segmentsFrom !== "hls" || dashFacts.files?.length !== 1)
        problems.push("segments not shared");
      const starts = trackStarts(await readFile(dashFacts?.path ?? "", "utf8"));
      if (starts.filter((s) => s.type === "audio").length !== (c.audio ? 2 : 0))
        problems.push("audio tracks");
      // Nothing starts before the Period but the AAC encoder's priming: 1024 samples (the audio
      // track's timescale is its sample rate).
      for (const s of starts) {
        const priming = s.type === "audio" ? 1024 / s.timescale : 0;
        if (s.startSec < -priming - 1e-6) problems.push(`${s.type} starts at ${s.startSec.toFixed(3)} s`);
      }
      const video = Math.max(...starts.filter((s) => s.type === "video").map((s) => s.startSec));
      table.push({
        file: c.file,
        outcome: problems.length ? problems.join("; ") : "ok",
        video: video.toFixed(3),
      });
      expect(problems, c.file).toEqual([]);
    }
    console.table(table);
    expect(table.filter((r) => r.outcome === "ok").length).toBeGreaterThan(10);
  }, 600_000);
});
