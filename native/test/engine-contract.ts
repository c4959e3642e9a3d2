import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ffprobe, makeBadMediaSet, makeClip, makeGarbage, makeIntervalsClip } from "../../test/support/media";
import { type Engine, EngineError, type EngineProgress, type Plan } from "../lib/engine";
import { aac, analysisOut, audioOut, h264, thumbsOut, videoOut } from "./plans";

const ENGINE_CODES = [
  "INPUT_UNREADABLE",
  "INPUT_NO_STREAMS",
  "UNSUPPORTED",
  "ENGINE_FAILURE",
  "OUTPUT_WRITE_FAILED",
];

/** One output's ticks: percent never decreases, stays in 0–100, and the last one is 100 with no time left. */
function expectHonestProgress(ticks: EngineProgress[], output: string): void {
  const own = ticks.filter((t) => t.output === output);
  expect(own.length, output).toBeGreaterThan(0);
  let previous = 0;
  for (const t of own) {
    if (t.percent === null) continue;
    expect(t.percent, output).toBeGreaterThanOrEqual(previous);
    expect(t.percent, output).toBeLessThanOrEqual(100);
    previous = t.percent;
  }
  expect(own.at(-1), output).toMatchObject({ percent: 100, etaSec: 0 });
  expect(
    own.slice(0, -1).every((t) => t.percent !== 100),
    `${output}: 100 only at the end`,
  ).toBe(true);
}

/**
 * One behavioural suite for every Engine implementation, over the operations both engines run.
 * Media assertions probe the written files (with the ffmpeg CLI's ffprobe, independent of either
 * engine) and use tolerances, never byte equality.
 */
export function engineContract(label: string, createEngine: () => Promise<Engine>): void {
  describe(`Engine contract: ${label}`, () => {
    let engine: Engine;
    let dir: string;
    let clip: string;
    let silentClip: string;

    beforeAll(async () => {
      engine = await createEngine();
      dir = await mkdtemp(join(tmpdir(), "fw-engine-"));
      clip = await makeClip(join(dir, "clip.mp4"), { seconds: 4, width: 640, height: 360 });
      silentClip = await makeClip(join(dir, "silent.mp4"), { seconds: 1, audio: false });
    }, 60_000);

    afterAll(async () => {
      await engine?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it("reports its name, the H.264/AAC encoders it can open and the output kinds it runs", async () => {
      const caps = await engine.capabilities();
      expect(caps.engine).toBe(engine.name);
      expect(caps.encoders).toEqual(expect.arrayContaining(["libx264", "aac", "libopus", "libmp3lame"]));
      expect(caps.outputKinds).toEqual(expect.arrayContaining(["video", "audio", "thumbnails", "probe"]));
      expect(Object.keys(caps.versions).length).toBeGreaterThan(0);
    });

    it("probes a clip's container, duration and streams", async () => {
      const facts = await engine.probe(clip);
      expect(facts.formatName).toContain("mp4");
      expect(facts.durationSec).toBeGreaterThan(3.8);
      expect(facts.durationSec).toBeLessThan(4.3);
      expect(facts.sizeBytes).toBeGreaterThan(1000);
      const video = facts.streams.find((s) => s.type === "video");
      const audio = facts.streams.find((s) => s.type === "audio");
      expect(video).toMatchObject({ codec: "h264", width: 640, height: 360, rotation: 0 });
      expect(video?.fps).toBeCloseTo(25, 0);
      expect(audio).toMatchObject({ codec: "aac", sampleRate: 48000 });
    });

    it("refuses to probe something that is not media, with INPUT_UNREADABLE", async () => {
      const garbage = await makeGarbage(join(dir, "garbage.mp4"));
      const error = await engine.probe(garbage).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EngineError);
      expect((error as EngineError).code).toBe("INPUT_UNREADABLE");
      expect((error as EngineError).message.length).toBeGreaterThan(5);
    });

    it("transcodes to H.264 + AAC in MP4 within a max height, keeping the aspect ratio", async () => {
      const ticks: EngineProgress[] = [];
      const plan: Plan = {
        inputPath: clip,
        outputs: [videoOut(dir, "small", { video: h264({ maxHeight: 180, crf: 28, preset: "veryfast" }) })],
      };
      const result = await engine.run(plan, { onProgress: (p) => ticks.push(p) });
      expect(result.outputs).toHaveLength(1);
      const out = result.outputs[0];
      expect(out).toMatchObject({ name: "small", kind: "video", container: "mp4" });
      expect(out?.video).toMatchObject({ codec: "h264", width: 320, height: 180 });
      expect(out?.audio).toMatchObject({ codec: "aac" });
      expect(out?.durationSec).toBeGreaterThan(3.8);
      expect(out?.durationSec).toBeLessThan(4.3);
      expect(out?.encoding).toMatchObject({ encoder: "libx264", accel: "cpu" });
      expect(out?.encoding?.fallbackReason).toBeTruthy();

      expect(ticks.length).toBeGreaterThan(0);
      expect(ticks.every((t) => t.output === "small")).toBe(true);
      expectHonestProgress(ticks, "small");
    }, 60_000);

    it("reports progress per output, each against its own (trimmed) duration, each ending at 100", async () => {
      const ticks: EngineProgress[] = [];
      await engine.run(
        {
          inputPath: clip,
          outputs: [
            videoOut(dir, "p-full", { video: h264({ maxHeight: 180 }) }),
            videoOut(dir, "p-trim", { trim: { startSec: 1, endSec: 2.5 }, video: h264({ maxHeight: 90 }) }),
            audioOut(dir, "p-audio", { codec: "mp3" }),
            thumbsOut(dir, "p-thumbs", { select: { mode: "count", count: 2 } }),
            { kind: "probe", name: "p-facts", path: join(dir, "p-facts.json") },
          ],
        },
        { onProgress: (p) => ticks.push(p) },
      );
      expect(new Set(ticks.map((t) => t.output))).toEqual(
        new Set(["p-full", "p-trim", "p-audio", "p-thumbs", "p-facts"]),
      );
      for (const name of ["p-full", "p-trim", "p-audio", "p-thumbs", "p-facts"])
        expectHonestProgress(ticks, name);
      const durationOf = (name: string) => ticks.filter((t) => t.output === name).at(-1)?.durationSec;
      expect(durationOf("p-full")).toBeCloseTo(4, 0);
      expect(durationOf("p-audio")).toBeCloseTo(4, 0);
      // The trimmed output is measured against its 1.5 s window, not the 4 s input.
      expect(durationOf("p-trim")).toBeCloseTo(1.5, 1);
      const trimmed = ticks.filter((t) => t.output === "p-trim" && t.percent !== null && t.percent < 100);
      for (const t of trimmed) expect(t.outTimeSec).toBeLessThanOrEqual(1.6);
    }, 90_000);

    it("trims frame-accurately, crops, caps the width and changes the frame rate", async () => {
      const { outputs } = await engine.run({
        inputPath: clip,
        accel: "cpu",
        outputs: [
          videoOut(dir, "cut", {
            container: "mkv",
            trim: { startSec: 1, endSec: 2.5 },
            video: h264({
              maxHeight: null,
              maxWidth: 160,
              fps: 10,
              crop: { x: 0, y: 0, width: 320, height: 320 },
            }),
            // Mono: the wasm build's libopus cannot encode stereo.
            audio: aac({ codec: "opus", bitrateKbps: 48, channels: 1 }),
          }),
        ],
      });
      const probed = await ffprobe(join(dir, "cut.mkv"));
      const video = probed.streams.find((s) => s.codec_type === "video");
      const audio = probed.streams.find((s) => s.codec_type === "audio");
      expect(video).toMatchObject({ codec_name: "h264", width: 160, height: 160, avg_frame_rate: "10/1" });
      expect(audio).toMatchObject({ codec_name: "opus" });
      expect(Number(probed.format.duration)).toBeGreaterThan(1.4);
      expect(Number(probed.format.duration)).toBeLessThan(1.65);
      expect(outputs[0]?.encoding).toMatchObject({ accel: "cpu", fallbackReason: null });
    }, 60_000);

    it("writes audio-only files: aac, opus, mp3, flac and wav with channels and sample rate", async () => {
      const plan: Plan = {
        inputPath: clip,
        outputs: [
          audioOut(dir, "a-aac", { bitrateKbps: 96, channels: 2 }),
          audioOut(dir, "a-opus", { codec: "opus", bitrateKbps: 48, channels: 1 }),
          audioOut(dir, "a-mp3", { codec: "mp3", bitrateKbps: 96, sampleRate: 44100, channels: 1 }),
          audioOut(dir, "a-flac", { codec: "flac", bitrateKbps: null, sampleRate: 44100 }),
          audioOut(dir, "a-wav", { codec: "wav", bitrateKbps: null, channels: 2 }),
        ],
      };
      const { outputs } = await engine.run(plan);
      const expected = [
        ["a-aac.m4a", "aac", 48000, 2],
        ["a-opus.opus", "opus", 48000, 1],
        ["a-mp3.mp3", "mp3", 44100, 1],
        ["a-flac.flac", "flac", 44100, 1],
        ["a-wav.wav", "pcm_s16le", 48000, 2],
      ] as const;
      for (const [i, [file, codec, rate, channels]] of expected.entries()) {
        const probed = await ffprobe(join(dir, file));
        expect(probed.streams).toHaveLength(1);
        expect(probed.streams[0], file).toMatchObject({
          codec_name: codec,
          sample_rate: String(rate),
          channels,
        });
        expect(Number(probed.format.duration), file).toBeGreaterThan(3.8);
        expect(Number(probed.format.duration), file).toBeLessThan(4.3);
        expect(outputs[i]?.audio?.codec).toBe(codec);
        expect(outputs[i]?.video).toBeNull();
      }
    }, 90_000);

    it("writes thumbnails every N seconds, N evenly spaced, and at given offsets", async () => {
      const { outputs } = await engine.run({
        inputPath: clip,
        outputs: [
          thumbsOut(dir, "every", { select: { mode: "every", everySec: 2 } }),
          thumbsOut(dir, "count", {
            format: "png",
            maxHeight: null,
            maxWidth: 128,
            select: { mode: "count", count: 3 },
          }),
          thumbsOut(dir, "at", { format: "webp", select: { mode: "at", atSec: [1.5, 99] } }),
        ],
      });
      const [every, count, at] = outputs;
      expect(every?.files?.map((f) => f.relativePath)).toEqual(["thumb-0001.jpg", "thumb-0002.jpg"]);
      expect(every?.thumbnails?.map((t) => t.time_sec)).toEqual([expect.closeTo(0, 1), expect.closeTo(2, 1)]);
      expect(count?.files).toHaveLength(3);
      expect(at?.files).toHaveLength(2);
      // An offset past the end gives the last frame.
      expect(at?.thumbnails?.[1]?.time_sec).toBeGreaterThan(3.5);
      for (const [facts, codec, width, height] of [
        [every, "mjpeg", 160, 90],
        [count, "png", 128, 72],
        [at, "webp", 160, 90],
      ] as const) {
        for (const file of facts?.files ?? []) {
          const probed = await ffprobe(file.path);
          expect(probed.streams[0], file.path).toMatchObject({ codec_name: codec, width, height });
        }
      }
    }, 90_000);

    it("writes a probe analysis as JSON with the input's facts", async () => {
      const { outputs } = await engine.run({
        inputPath: clip,
        outputs: [{ kind: "probe", name: "facts", path: join(dir, "facts.json") }],
      });
      const json = JSON.parse(await readFile(join(dir, "facts.json"), "utf8"));
      // The document is in the API's words (snake_case), as the job response shows it.
      expect(json.duration_sec).toBeCloseTo(4, 0);
      expect(json.streams.find((s: { type: string }) => s.type === "audio")?.sample_rate).toBe(48_000);
      expect(json.streams.map((s: { codec: string }) => s.codec).sort()).toEqual(["aac", "h264"]);
      expect(outputs[0]).toMatchObject({
        kind: "probe",
        container: "json",
        video: { width: 640, height: 360 },
      });
    });

    it("measures loudness, silence, cuts, black and frozen picture as analysis outputs, each with its own progress", async () => {
      const clip = await makeIntervalsClip(join(dir, "intervals.mkv"));
      const ticks: EngineProgress[] = [];
      const { outputs } = await engine.run(
        {
          inputPath: clip.path,
          outputs: [
            analysisOut(dir, "loud", "loudness"),
            analysisOut(dir, "quiet", "silence"),
            analysisOut(dir, "cuts", "scenes"),
            analysisOut(dir, "dark", "black"),
            analysisOut(dir, "still", "freeze"),
          ],
        },
        { onProgress: (p) => ticks.push(p) },
      );
      const facts = Object.fromEntries(outputs.map((o) => [o.name, o.analysis]));
      const spans = (list: { start_sec: number; end_sec: number }[] | undefined) =>
        (list ?? []).map((i) => [i.start_sec, i.end_sec].map((t) => Math.round(t * 10) / 10));
      expect(facts.loud).toMatchObject({ kind: "loudness", integrated_lufs: expect.closeTo(-22.1, 0) });
      expect(facts.quiet?.kind === "silence" && spans(facts.quiet.silences)).toEqual(clip.silence);
      expect(facts.dark?.kind === "black" && spans(facts.dark.black)).toEqual(clip.black);
      expect(facts.still?.kind === "freeze" && spans(facts.still.freeze)).toEqual(clip.freeze);
      expect(facts.cuts?.kind === "scenes" && facts.cuts.scenes.map((c) => c.time_sec)).toEqual([
        2, 3.2, 5, 7,
      ]);
      // The JSON written is what the output reports.
      expect(JSON.parse(await readFile(join(dir, "quiet.json"), "utf8"))).toEqual(facts.quiet);
      for (const name of ["loud", "quiet", "cuts", "dark", "still"]) expectHonestProgress(ticks, name);
    }, 90_000);

    it("runs several outputs of different kinds in one plan", async () => {
      const { outputs } = await engine.run({
        inputPath: clip,
        outputs: [
          videoOut(dir, "m1", { video: h264({ maxHeight: 180 }) }),
          videoOut(dir, "m2", { video: h264({ maxHeight: 90 }), audio: "copy" }),
          audioOut(dir, "m3", { codec: "mp3" }),
          thumbsOut(dir, "m4", { select: { mode: "count", count: 2 } }),
        ],
      });
      expect(outputs.map((o) => [o.name, o.video?.height ?? null])).toEqual([
        ["m1", 180],
        ["m2", 90],
        ["m3", null],
        ["m4", 90],
      ]);
      expect(outputs[1]?.audio?.codec).toBe("aac");
    }, 90_000);

    it("writes video only when the input has no audio", async () => {
      const { outputs } = await engine.run({ inputPath: silentClip, outputs: [videoOut(dir, "silent-out")] });
      expect(outputs[0]?.video?.height).toBe(120);
      expect(outputs[0]?.audio).toBeNull();
    }, 60_000);

    it("rejects invalid plans with UNSUPPORTED naming the field", async () => {
      const bad = videoOut(dir, "odd", { video: h264({ maxHeight: 121 }) });
      const error = await engine.run({ inputPath: clip, outputs: [bad] }).catch((e: unknown) => e);
      expect((error as EngineError).code).toBe("UNSUPPORTED");
      expect((error as EngineError).message).toContain("video.maxHeight");
      const webmH264 = videoOut(dir, "w", { container: "webm" });
      const error2 = await engine.run({ inputPath: clip, outputs: [webmH264] }).catch((e: unknown) => e);
      expect((error2 as EngineError).code).toBe("UNSUPPORTED");
      expect((error2 as EngineError).message).toContain("video.codec");
    });

    it("fails a run on an unreadable input with INPUT_UNREADABLE and writes nothing", async () => {
      const garbage = await makeGarbage(join(dir, "garbage2.mp4"));
      const target = join(dir, "never.mp4");
      const error = await engine
        .run({ inputPath: garbage, outputs: [videoOut(dir, "never", { audio: null })] })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EngineError);
      expect((error as EngineError).code).toBe("INPUT_UNREADABLE");
      expect(existsSync(target)).toBe(false);
    }, 60_000);

    it("ends every damaged input (truncated, bit-flipped, garbage header) in an output or a clean error", async () => {
      const small = await makeClip(join(dir, "small-src.mp4"), { seconds: 1, width: 160, height: 90 });
      const smallTs = await makeClip(join(dir, "small-src.ts"), { seconds: 1, width: 160, height: 90 });
      const corpus = await makeBadMediaSet(dir, small, smallTs);
      const outcomes: string[] = [];
      for (const bad of corpus) {
        const started = Date.now();
        const outcome = await engine
          .run({
            inputPath: bad.path,
            outputs: [videoOut(dir, `from-${bad.label}`, { video: h264({ maxHeight: 64 }) })],
          })
          .then(
            (r) => `ok:${r.outputs.length}`,
            (e: unknown) => (e instanceof EngineError ? e.code : `THREW:${String(e)}`),
          );
        outcomes.push(`${bad.label}=${outcome}`);
        expect(outcome === "ok:1" || ENGINE_CODES.includes(outcome), `${bad.label}: ${outcome}`).toBe(true);
        expect(Date.now() - started, bad.label).toBeLessThan(20_000);
      }
      // The clearly broken ones must fail rather than "succeed" with nothing.
      expect(outcomes).toContain("empty=INPUT_UNREADABLE");
      expect(outcomes).toContain("random=INPUT_UNREADABLE");
    }, 240_000);

    it("stops a run when its signal aborts, with CANCELED", async () => {
      const long = await makeClip(join(dir, "long.mp4"), {
        seconds: 30,
        width: 1280,
        height: 720,
        audio: false,
      });
      const controller = new AbortController();
      const started = Date.now();
      let abortedAt = 0;
      const promise = engine.run(
        {
          inputPath: long,
          outputs: [
            videoOut(dir, "canceled", {
              video: h264({ maxHeight: 720, crf: 18, preset: "slow" }),
              audio: null,
            }),
          ],
        },
        {
          signal: controller.signal,
          onProgress: () => {
            if (controller.signal.aborted) return;
            abortedAt = Date.now();
            controller.abort();
          },
        },
      );
      const error = await promise.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EngineError);
      expect((error as EngineError).code).toBe("CANCELED");
      // Functional bound, not a speed goal: a canceled 30 s slow-preset encode must not run to the end.
      expect(Date.now() - started).toBeLessThan(20_000);
      // The contract: a run stops within a second of its signal aborting.
      expect(Date.now() - abortedAt).toBeLessThan(1000);
      expect(existsSync(join(dir, "canceled.mp4"))).toBe(false);
    }, 120_000);
  });
}
