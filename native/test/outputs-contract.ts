/**
 * Issue 18's outputs (animations, waveforms) against every Engine implementation, asserting what a
 * user notices: frame counts and durations read back by tools other than ours (ffprobe, webpmux),
 * a GIF's picture against its source (PSNR), loop flags. The ffmpeg CLI here is a fixture and a
 * reference only.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ffprobe,
  makeClip,
  makeMultiAngleClip,
  makeMultiTrackClip,
  measureLufs,
  measureTone,
  measureToneLevels,
} from "../../test/support/media";
import type { Engine, EngineProgress, WaveformPlanOutput } from "../lib/engine";
import { aac, animation, audioOut, h264, thumbsOut, videoOut } from "./plans";

const run = promisify(execFile);

/** Decoded frames of a file as packed RGB24, through the ffmpeg CLI (independent of the engines). */
export async function rgbFrames(args: string[], width: number, height: number): Promise<Buffer[]> {
  const { stdout } = await run(
    "ffmpeg",
    ["-v", "error", ...args, "-an", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
    { encoding: "buffer", maxBuffer: 1 << 30 },
  );
  const size = width * height * 3;
  const frames: Buffer[] = [];
  for (let at = 0; at + size <= stdout.length; at += size) frames.push(stdout.subarray(at, at + size));
  return frames;
}

/** A PNG's pixels as RGBA, through the ffmpeg CLI. */
async function rgbaFrames(path: string, width: number, height: number): Promise<Buffer[]> {
  const { stdout } = await run(
    "ffmpeg",
    ["-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgba", "-"],
    {
      encoding: "buffer",
      maxBuffer: 1 << 26,
    },
  );
  const size = width * height * 4;
  return stdout.length >= size ? [stdout.subarray(0, size)] : [];
}

/** Peak signal-to-noise ratio of two RGB24 pictures, dB (99 when identical). */
export function psnr(a: Buffer, b: Buffer): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    sum += d * d;
  }
  const mse = sum / a.length;
  return mse === 0 ? 99 : 10 * Math.log10((255 * 255) / mse);
}

async function ffprobeFrames(path: string): Promise<{ frames: number; width: number; height: number }> {
  const { stdout } = await run(
    "ffprobe",
    [
      "-v",
      "error",
      "-count_frames",
      "-select_streams",
      "v:0",
      "-show_entries",
      "stream=nb_read_frames,width,height",
      "-of",
      "json",
    ].concat(path),
  );
  const stream = JSON.parse(stdout).streams[0];
  return { frames: Number(stream.nb_read_frames), width: stream.width, height: stream.height };
}

/** webpmux (Debian's webp package) reads an animated WebP's frames, durations and loop count. */
async function webpmuxInfo(path: string): Promise<{ frames: number; durationMs: number; loop: number }> {
  const { stdout } = await run("webpmux", ["-info", path]);
  const frames = Number(/Number of frames: (\d+)/.exec(stdout)?.[1]);
  const loop = Number(/Loop Count : (\d+)/.exec(stdout)?.[1]);
  let durationMs = 0;
  for (const line of stdout.split("\n")) {
    const cells = line.trim().split(/\s+/);
    if (/^\d+:$/.test(cells[0] ?? "")) durationMs += Number(cells[6]);
  }
  return { frames, durationMs, loop };
}

/** 4 s of silence with a 1 kHz tone at half scale from 2.0 s to 2.5 s, as 48 kHz WAV. */
async function makeToneBurst(path: string): Promise<string> {
  const tone = "if(between(t\\,2\\,2.5)\\,0.5*sin(2*PI*1000*t)\\,0)";
  await run("ffmpeg", [
    "-v",
    "error",
    "-y",
    "-f",
    "lavfi",
    "-i",
    `aevalsrc=${tone}:s=48000:d=4`,
    "-c:a",
    "pcm_s16le",
    path,
  ]);
  return path;
}

function waveform(name: string, dir: string, options: Partial<WaveformPlanOutput>): WaveformPlanOutput {
  return {
    kind: "waveform",
    name,
    dir: join(dir, name),
    image: "png",
    width: 400,
    height: 100,
    color: "#ff0000",
    background: null,
    points: null,
    pointsPerSec: null,
    ...options,
  };
}

export function outputsContract(label: string, createEngine: () => Promise<Engine>): void {
  describe(`issue 18 outputs: ${label}`, () => {
    let engine: Engine;
    let dir: string;
    let clip: string;

    beforeAll(async () => {
      engine = await createEngine();
      dir = await mkdtemp(join(tmpdir(), "fw-outputs-"));
      clip = await makeClip(join(dir, "clip.mp4"), { seconds: 5, width: 640, height: 360, fps: 30 });
    }, 60_000);

    afterAll(async () => {
      await engine?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it("writes animated WebP, GIF and MP4 loops of the asked window: frames, duration, size, loop", async () => {
      const outputs = [
        animation("webp", dir, { format: "webp" }),
        animation("gif", dir, { format: "gif", maxWidth: 320 }),
        animation("mp4", dir, { format: "mp4", maxHeight: 180 }),
        animation("once", dir, { format: "gif", loop: false, durationSec: 1, fps: 5, maxWidth: 160 }),
      ];
      const ticks: EngineProgress[] = [];
      const result = await engine.run({ inputPath: clip, outputs }, { onProgress: (p) => ticks.push(p) });
      const facts = Object.fromEntries(result.outputs.map((o) => [o.name, o]));

      // 2 s at 10 fps = 20 frames, each tool reading its own file.
      expect(facts.webp?.animation).toMatchObject({ format: "webp", frames: 20, loop: true });
      expect(facts.webp?.video).toMatchObject({ width: 480, height: 270 });
      const webp = await webpmuxInfo(outputs[0]?.path ?? "");
      expect(webp).toMatchObject({ frames: 20, loop: 0 });
      expect(webp.durationMs).toBeGreaterThan(1900);
      expect(webp.durationMs).toBeLessThan(2100);

      expect(facts.gif?.animation).toMatchObject({ format: "gif", frames: 20, loop: true });
      expect(await ffprobeFrames(outputs[1]?.path ?? "")).toEqual({ frames: 20, width: 320, height: 180 });
      expect(facts.gif?.durationSec).toBeCloseTo(2, 1);

      expect(facts.mp4).toMatchObject({ container: "mp4", audio: null });
      expect(facts.mp4?.video).toMatchObject({ codec: "h264", width: 320, height: 180 });
      expect(await ffprobeFrames(outputs[2]?.path ?? "")).toMatchObject({ frames: 20 });
      expect(facts.mp4?.durationSec).toBeCloseTo(2, 1);

      expect(facts.once?.animation).toMatchObject({ frames: 5, loop: false });

      for (const output of outputs) {
        const own = ticks.filter((t) => t.output === output.name);
        expect(own.at(-1), output.name).toMatchObject({ percent: 100 });
      }
    });

    it("writes every frame of a GIF beside a longer output, its window ending early or at the input's end", async () => {
      // The native engine runs a silent preview on a thread of its own: a GIF's held clip drains
      // there past an early window while the job goes on, and at the end of the input.
      const early = animation("early", dir, { format: "gif", startSec: 0.5, durationSec: 1, maxWidth: 160 });
      const last = animation("last", dir, { format: "gif", startSec: 3.5, durationSec: 1.5, maxWidth: 160 });
      const full = videoOut(dir, "full", { video: h264({ maxHeight: 90 }), audio: null });
      const result = await engine.run({ inputPath: clip, outputs: [early, last, full] });
      expect(result.outputs[0]?.animation).toMatchObject({ format: "gif", frames: 10 });
      expect(await ffprobeFrames(early.path)).toEqual({ frames: 10, width: 160, height: 90 });
      expect(result.outputs[1]?.animation).toMatchObject({ format: "gif", frames: 15 });
      expect(await ffprobeFrames(last.path)).toEqual({ frames: 15, width: 160, height: 90 });
      expect(result.outputs[2]?.durationSec).toBeCloseTo(5, 1);
    });

    it("gives a GIF a palette computed for the clip: PSNR against the source above 35 dB (mean) and 33 dB (every frame)", async () => {
      const gif = animation("palette", dir, { format: "gif", maxWidth: 320, durationSec: 1 });
      await engine.run({ inputPath: clip, outputs: [gif] });
      const written = await rgbFrames(["-i", gif.path], 320, 180);
      // The same frames from the source, scaled by the CLI: the window's first frame on (10 fps).
      const source = await rgbFrames(
        ["-ss", "1", "-t", "1", "-i", clip, "-vf", "fps=10,scale=320:180"],
        320,
        180,
      );
      expect(written.length).toBe(10);
      expect(source.length).toBe(10);
      const scores = written.map((frame, i) => psnr(frame, source[i] ?? Buffer.alloc(0)));
      const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
      console.log(
        `${label}: GIF PSNR vs source, mean ${mean.toFixed(1)} dB, min ${Math.min(...scores).toFixed(1)} dB`,
      );
      expect(mean).toBeGreaterThan(35);
      expect(Math.min(...scores)).toBeGreaterThan(33);
    });

    it("refuses a preview whose window starts after the input ends, saying where the media ends", async () => {
      for (const format of ["gif", "webp"] as const) {
        const late = animation(`late-${format}`, dir, { format, startSec: 8, durationSec: 2, maxWidth: 160 });
        await expect(engine.run({ inputPath: clip, outputs: [late] })).rejects.toMatchObject({
          code: "WINDOW_EMPTY",
          message: expect.stringMatching(
            /starts at 8(\.0+)? s, but the input's media ends at [45](\.\d+)? s/,
          ),
        });
      }
    });

    it("refuses a preview starting after the last picture, even within its display time, and keeps one starting on it", async () => {
      // 10 fps for 1 s: the last picture starts at 0.9 s and is shown until 1.0 s. A window from
      // 0.95 s holds no picture (the trim keeps pictures by their start): once a retryable
      // ENGINE_FAILURE from the GIF muxer, now refused up front.
      const ten = await makeClip(join(dir, "ten.mp4"), { seconds: 1, width: 160, height: 120, fps: 10 });
      const late = animation("late", dir, { format: "gif", startSec: 0.95, durationSec: 1 });
      await expect(engine.run({ inputPath: ten, outputs: [late] })).rejects.toMatchObject({
        code: "WINDOW_EMPTY",
        // 0.900 s, or 0.921 s where the media's start is taken from the audio's priming (wasm).
        message: expect.stringMatching(/starts at 0\.950 s, but the input's media ends at 0\.9[0-4]\d s/),
      });
      const last = animation("last", dir, { format: "gif", startSec: 0.9, durationSec: 1 });
      const result = await engine.run({ inputPath: ten, outputs: [last] });
      expect(result.outputs[0]?.animation).toMatchObject({ format: "gif", frames: 1 });
    });

    it("keeps a clip of few flat colours exact in a GIF, however dark or close together", async () => {
      // Three flat bars, two of them close and one near black: the palette has them all (and
      // unused slots), so every pixel should come back as its own colour, not a neighbour's and
      // not an unused slot.
      const bars = join(dir, "bars.mkv");
      const colours = ["0x101010", "0x8040c0", "0x8848c0"];
      await run("ffmpeg", [
        ...["-v", "error", "-y"],
        ...colours.flatMap((c) => ["-f", "lavfi", "-i", `color=c=${c}:s=96x64:r=10:d=1`]),
        // Lossless RGB, so the source's own pixels are the reference, without a YUV round trip.
        ...["-filter_complex", "hstack=inputs=3", "-c:v", "ffv1", "-pix_fmt", "bgr0", bars],
      ]);
      const gif = animation("flat", dir, { format: "gif", startSec: 0, durationSec: 0.5, fps: 10 });
      await engine.run({ inputPath: bars, outputs: [gif] });
      const written = await rgbFrames(["-i", gif.path], 288, 64);
      const source = await rgbFrames(["-t", "0.5", "-i", bars], 288, 64);
      expect(written.length).toBe(5);
      for (const [i, frame] of written.entries()) expect(psnr(frame, source[i] ?? Buffer.alloc(0))).toBe(99);
    });

    it("draws a tone burst's waveform at the right pixel columns, in the PNG and in the peaks", async () => {
      const burst = await makeToneBurst(join(dir, "burst.wav"));
      const outputs = [
        waveform("png", dir, {}),
        waveform("svg", dir, { image: "svg", background: "#000000", pointsPerSec: 20 }),
      ];
      const result = await engine.run({ inputPath: burst, outputs });
      const [png, svg] = result.outputs;
      expect(png?.waveform).toMatchObject({ image: "waveform.png", peaks: "peaks.json", points: 400 });
      expect(png?.files?.map((f) => f.relativePath)).toEqual(["waveform.png", "peaks.json"]);

      // 4 s over 400 columns: 10 ms each; the burst covers columns 200–249.
      const doc = JSON.parse(await readFile(join(outputs[0]?.dir ?? "", "peaks.json"), "utf8"));
      expect(doc).toMatchObject({ channels: 1, sample_rate: 48000, length: 400, samples_per_pixel: 480 });
      const max = (i: number) => doc.peaks[2 * i + 1] as number;
      const min = (i: number) => doc.peaks[2 * i] as number;
      const loud = Array.from({ length: 400 }, (_, i) => i).filter((i) => max(i) > 0.25);
      expect(loud[0]).toBeGreaterThanOrEqual(199);
      expect(loud[0]).toBeLessThanOrEqual(200);
      expect(loud.at(-1)).toBeGreaterThanOrEqual(249);
      expect(loud.at(-1)).toBeLessThanOrEqual(250);
      expect(loud.length).toBeGreaterThanOrEqual(49);
      expect(loud.length).toBeLessThanOrEqual(51);
      expect(max(225)).toBeCloseTo(0.5, 1);
      expect(min(225)).toBeCloseTo(-0.5, 1);

      // The PNG read back by the CLI: in column 225 the red band spans the middle half of the
      // picture; column 100 (silence) has only its centre row painted.
      const pixels =
        (await rgbaFrames(join(outputs[0]?.dir ?? "", "waveform.png"), 400, 100))[0] ?? Buffer.alloc(0);
      const painted = (x: number) =>
        Array.from({ length: 100 }, (_, y) => y).filter((y) => (pixels[(y * 400 + x) * 4 + 3] ?? 0) > 0);
      expect(painted(225).length).toBeGreaterThan(45);
      expect(painted(225).length).toBeLessThan(55);
      expect(painted(100).length).toBeLessThanOrEqual(2);
      expect(pixels.subarray((50 * 400 + 225) * 4, (50 * 400 + 225) * 4 + 4)).toEqual(
        Buffer.from([255, 0, 0, 255]),
      );

      // 20 pairs a second over 4 s; the SVG is one path on a black rectangle.
      expect(svg?.waveform).toMatchObject({ image: "waveform.svg", points: 80, points_per_sec: 20 });
      const text = await readFile(join(outputs[1]?.dir ?? "", "waveform.svg"), "utf8");
      expect(text).toMatch(
        /^<svg [^>]*width="400" height="100"[^>]*><rect [^>]*fill="#000000"\/><path d="M[^"]+Z" fill="#ff0000"\/><\/svg>/,
      );
    });

    describe("audio track choice", () => {
      let multi: string;
      beforeAll(async () => {
        multi = await makeMultiTrackClip(join(dir, "multi.mkv"), [
          { language: "eng", frequency: 440, amplitude: 0.4, title: "Main" },
          { language: "deu", frequency: 1000, amplitude: 0.2, title: "Deutsch" },
          { language: "fra", frequency: 2000, amplitude: 0.1, channels: 2 },
        ]);
      }, 60_000);

      it("takes the track asked by language or index: its tone, its level and its language tag", async () => {
        const pcm = { codec: "wav" as const, bitrateKbps: null };
        const outputs = [
          videoOut(dir, "deu", { audio: aac({ bitrateKbps: 128, track: { language: "deu" } }) }),
          audioOut(dir, "third", { ...pcm, track: { index: 2 } }),
          audioOut(dir, "main", pcm),
          audioOut(dir, "ger", { ...pcm, track: { language: "ger" } }),
        ];
        const result = await engine.run({ inputPath: multi, outputs });
        expect(result.outputs.map((o) => o.name)).toEqual(["deu", "third", "main", "ger"]);

        const video = await ffprobe(outputs[0]?.path ?? "");
        const audioStreams = video.streams.filter((s) => s.codec_type === "audio");
        expect(audioStreams).toHaveLength(1);
        expect((audioStreams[0]?.tags as Record<string, string> | undefined)?.language).toBe("deu");

        // Each tone read back by the CLI: frequency within 2 %, RMS within 1 dB (a sine's RMS is
        // its amplitude less 3 dB: 0.4 → -11 dBFS, 0.2 → -17, 0.1 → -23).
        const expectTone = async (path: string, hz: number, db: number) => {
          const tone = await measureTone(path);
          expect(tone.frequencyHz, path).toBeGreaterThan(hz * 0.98);
          expect(tone.frequencyHz, path).toBeLessThan(hz * 1.02);
          expect(Math.abs(tone.rmsDb - db), `${path}: ${tone.rmsDb.toFixed(1)} dBFS`).toBeLessThan(1);
        };
        await expectTone(outputs[0]?.path ?? "", 1000, 20 * Math.log10(0.2) - 3.01);
        await expectTone(outputs[1]?.path ?? "", 2000, 20 * Math.log10(0.1) - 3.01);
        await expectTone(outputs[2]?.path ?? "", 440, 20 * Math.log10(0.4) - 3.01);
        await expectTone(outputs[3]?.path ?? "", 1000, 20 * Math.log10(0.2) - 3.01);
        expect(result.outputs[1]?.audio?.channels).toBe(2);
      });

      it("keeps every audio track of the input in a video output, in order, each its tone and language", async () => {
        const all = videoOut(dir, "all", {
          container: "mkv",
          audio: aac({ bitrateKbps: 128, track: "all" }),
        });
        await engine.run({ inputPath: multi, outputs: [all] });
        const probed = await ffprobe(all.path);
        const tracks = probed.streams.filter((s) => s.codec_type === "audio");
        expect(tracks.map((s) => (s.tags as Record<string, string> | undefined)?.language)).toEqual([
          "eng",
          "deu",
          "fra",
        ]);
        expect(tracks.map((s) => s.channels)).toEqual([1, 1, 2]);
        const hz = [440, 1000, 2000];
        for (const [i, want] of hz.entries()) {
          const tone = await measureTone(all.path, { stream: i });
          expect(tone.frequencyHz, `track ${i}`).toBeGreaterThan(want * 0.98);
          expect(tone.frequencyHz, `track ${i}`).toBeLessThan(want * 1.02);
        }
      });

      it("fails a track that is not there with a reason naming the tracks and languages present", async () => {
        const missing = audioOut(dir, "spa", { codec: "wav", bitrateKbps: null, track: { language: "spa" } });
        await expect(engine.run({ inputPath: multi, outputs: [missing] })).rejects.toMatchObject({
          code: "INPUT_NO_STREAMS",
          message: expect.stringMatching(/"spa".*0: eng \("Main"\), 1: deu \("Deutsch"\), 2: fra/),
        });
        const beyond = audioOut(dir, "nine", { codec: "wav", bitrateKbps: null, track: { index: 9 } });
        await expect(engine.run({ inputPath: multi, outputs: [beyond] })).rejects.toMatchObject({
          code: "INPUT_NO_STREAMS",
          message: expect.stringMatching(/no audio track 9/),
        });
      });

      it.runIf(label === "native")(
        "normalizes the chosen track's loudness, measured on that track (not the main one)",
        async () => {
          const loud = audioOut(dir, "loud", { track: { language: "fra" }, loudnessTargetLufs: -16 });
          const [facts] = (await engine.run({ inputPath: multi, outputs: [loud] })).outputs;
          expect((await measureTone(loud.path)).frequencyHz).toBeGreaterThan(1960);
          const lufs = await measureLufs(loud.path);
          console.log(
            `${label}: fra track normalized to -16 LUFS: ${lufs.toFixed(1)} LUFS, input ${facts?.loudness?.input_lufs.toFixed(1)} LUFS`,
          );
          expect(Math.abs(lufs + 16)).toBeLessThan(1);
        },
      );
    });

    describe("audio mix", () => {
      let mixed: string;
      beforeAll(async () => {
        // Differing rates, layouts and starts: deu is 44.1 kHz and starts 0.5 s late, fra is stereo.
        mixed = await makeMultiTrackClip(join(dir, "mixed.mkv"), [
          { language: "eng", frequency: 440, amplitude: 0.4, title: "Main" },
          { language: "deu", frequency: 1000, amplitude: 0.2, sampleRate: 44100, startSec: 0.5 },
          { language: "fra", frequency: 2000, amplitude: 0.1, channels: 2 },
        ]);
      }, 60_000);
      const rms = (amplitude: number) => 20 * Math.log10(amplitude) - 3.01;

      it("mixes the listed tracks into one track, each at 1/N of its level, lined up in time", async () => {
        const pcm = { codec: "wav" as const, bitrateKbps: null };
        const two = audioOut(dir, "mix-two", { ...pcm, track: { mix: [{ index: 0 }, { language: "deu" }] } });
        const late = audioOut(dir, "mix-late", { ...pcm, track: { mix: [{ index: 0 }, { index: 1 }] } });
        late.trim = { startSec: 1, endSec: 2.5 };
        const result = await engine.run({ inputPath: mixed, outputs: [two, late] });
        const probed = (await ffprobe(two.path)).streams.filter((s) => s.codec_type === "audio");
        expect(probed.map((s) => [s.channels, s.sample_rate])).toEqual([[1, "48000"]]);
        // The average of two mono tones: each at half its level, 2000 Hz (fra) absent.
        const [a, b, c] = await measureToneLevels(two.path, [440, 1000, 2000], { fromSec: 1, seconds: 1 });
        expect(Math.abs((a ?? 0) - rms(0.4 / 2)), `440 Hz at ${a?.toFixed(1)} dBFS`).toBeLessThan(0.5);
        expect(Math.abs((b ?? 0) - rms(0.2 / 2)), `1000 Hz at ${b?.toFixed(1)} dBFS`).toBeLessThan(0.5);
        expect(c).toBeLessThan(-80);
        // Before deu starts (0.5 s late) the mix holds only eng, still at half its level.
        const [early, none] = await measureToneLevels(two.path, [440, 1000], { fromSec: 0, seconds: 0.5 });
        expect(Math.abs((early ?? 0) - rms(0.4 / 2))).toBeLessThan(0.5);
        expect(none).toBeLessThan(-60);
        expect(result.outputs[0]?.durationSec).toBeCloseTo(3, 1);
        // A trimmed mix: the window of both tracks, from 0.
        expect(result.outputs[1]?.durationSec).toBeCloseTo(1.5, 1);
        const [ta, tb] = await measureToneLevels(late.path, [440, 1000], { fromSec: 0.25, seconds: 1 });
        expect(Math.abs((ta ?? 0) - rms(0.4 / 2))).toBeLessThan(0.5);
        expect(Math.abs((tb ?? 0) - rms(0.2 / 2))).toBeLessThan(0.5);
      });

      it('mixes every track with "mix" into one stereo track tagged "mul" in a video output', async () => {
        const all = videoOut(dir, "mix-all", {
          container: "mkv",
          audio: aac({ bitrateKbps: 128, track: "mix" }),
        });
        await engine.run({ inputPath: mixed, outputs: [all] });
        const tracks = (await ffprobe(all.path)).streams.filter((s) => s.codec_type === "audio");
        expect(tracks).toHaveLength(1);
        expect(tracks[0]?.channels).toBe(2);
        expect((tracks[0]?.tags as Record<string, string> | undefined)?.language).toBe("mul");
        // Each of three at 1/3; the mono tracks spread over both channels at -3 dB (equal power, as
        // FFmpeg up-mixes mono), the stereo one as it is.
        const levels = await measureToneLevels(all.path, [440, 1000, 2000], { fromSec: 1, seconds: 1 });
        const want = [rms(0.4 / 3) - 3.01, rms(0.2 / 3) - 3.01, rms(0.1 / 3)];
        for (const [i, level] of levels.entries()) {
          expect(Math.abs(level - (want[i] ?? 0)), `tone ${i}: ${level.toFixed(1)} dBFS`).toBeLessThan(0.7);
        }
      });

      it("fails a mix naming one track twice, or a track the input lacks, naming the tracks it has", async () => {
        const twice = audioOut(dir, "twice", { track: { mix: [{ index: 0 }, { language: "eng" }] } });
        await expect(engine.run({ inputPath: mixed, outputs: [twice] })).rejects.toMatchObject({
          code: "INPUT_NO_STREAMS",
          message: expect.stringMatching(/names audio track 0 twice.*0: eng \("Main"\), 1: deu, 2: fra/),
        });
        const missing = audioOut(dir, "spa-mix", { track: { mix: [{ index: 0 }, { language: "spa" }] } });
        await expect(engine.run({ inputPath: mixed, outputs: [missing] })).rejects.toMatchObject({
          code: "INPUT_NO_STREAMS",
          message: expect.stringMatching(/no audio track in language "spa"/),
        });
      });
    });

    describe("video track choice", () => {
      let angles: string;
      beforeAll(async () => {
        angles = await makeMultiAngleClip(join(dir, "angles.mp4"), [
          { language: "eng", color: "red" },
          // MP4 keeps no track titles: the angles are told apart by language.
          { language: "deu", color: "blue" },
        ]);
      }, 60_000);
      /** The mean colour of a picture's first frame, as [r, g, b]. */
      const meanColor = async (args: string[]) => {
        const [frame] = await rgbFrames([...args, "-frames:v", "1", "-vf", "scale=16:16"], 16, 16);
        const sum = [0, 0, 0];
        for (let i = 0; i < (frame?.length ?? 0); i++) sum[i % 3] = (sum[i % 3] ?? 0) + (frame?.[i] ?? 0);
        return sum.map((v) => v / 256);
      };
      const isBlue = ([r, g, b]: number[]) => (b ?? 0) > 180 && (r ?? 255) < 60 && (g ?? 255) < 60;
      const isRed = ([r, g, b]: number[]) => (r ?? 0) > 180 && (g ?? 255) < 60 && (b ?? 255) < 60;

      it("takes the angle asked by index or language in video, thumbnails and animation outputs", async () => {
        const outputs = [
          videoOut(dir, "angle-1", { video: { ...h264(), track: { index: 1 } } }),
          videoOut(dir, "angle-deu", { container: "mkv", video: { ...h264(), track: { language: "ger" } } }),
          videoOut(dir, "angle-main", {}),
          thumbsOut(dir, "angle-thumbs", { select: { mode: "at", atSec: [1] }, track: { index: 1 } }),
          animation("angle-anim", dir, { format: "gif", maxWidth: 64, track: { language: "deu" } }),
        ] as const;
        const result = await engine.run({ inputPath: angles, outputs: [...outputs] });
        expect(result.outputs.map((o) => o.name)).toEqual(outputs.map((o) => o.name));
        expect(isBlue(await meanColor(["-i", outputs[0].path]))).toBe(true);
        expect(isBlue(await meanColor(["-i", outputs[1].path]))).toBe(true);
        expect(isRed(await meanColor(["-i", outputs[2].path]))).toBe(true);
        expect(isBlue(await meanColor(["-i", join(outputs[3].dir, "thumb-0001.jpg")]))).toBe(true);
        expect(isBlue(await meanColor(["-i", outputs[4].path]))).toBe(true);
        // One video track each, the chosen angle's language kept.
        const video = (await ffprobe(outputs[1].path)).streams.filter((s) => s.codec_type === "video");
        expect(video).toHaveLength(1);
        expect((video[0]?.tags as Record<string, string> | undefined)?.language).toBe("deu");
      });

      it("fails an angle that is not there naming the video tracks present, not counting cover art", async () => {
        const third = videoOut(dir, "angle-2", { video: { ...h264(), track: { index: 2 } } });
        await expect(engine.run({ inputPath: angles, outputs: [third] })).rejects.toMatchObject({
          code: "INPUT_NO_STREAMS",
          message: expect.stringMatching(/no video track 2; its video tracks are 0: eng, 1: deu$/),
        });
        const spa = thumbsOut(dir, "spa-thumbs", { track: { language: "spa" } });
        await expect(engine.run({ inputPath: angles, outputs: [spa] })).rejects.toMatchObject({
          code: "INPUT_NO_STREAMS",
          message: expect.stringMatching(/no video track in language "spa"/),
        });
      });
    });

    it("cuts a window that runs past the end of the input at the end", async () => {
      const late = animation("late", dir, { format: "gif", startSec: 4, durationSec: 5, maxWidth: 160 });
      const [facts] = (await engine.run({ inputPath: clip, outputs: [late] })).outputs;
      expect(facts?.animation?.frames).toBe(10);
      expect(facts?.durationSec).toBeCloseTo(1, 1);
    });
  });
}
