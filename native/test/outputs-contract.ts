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
import { makeClip } from "../../test/support/media";
import type { AnimationPlanOutput, Engine, EngineProgress, WaveformPlanOutput } from "../lib/engine";

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

function animation(name: string, dir: string, options: Partial<AnimationPlanOutput>): AnimationPlanOutput {
  const format = options.format ?? "webp";
  return {
    kind: "animation",
    name,
    path: join(dir, `${name}.${format}`),
    format,
    startSec: 1,
    durationSec: 2,
    fps: 10,
    maxWidth: null,
    maxHeight: null,
    loop: true,
    ...options,
  };
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

    it("cuts a window that runs past the end of the input at the end", async () => {
      const late = animation("late", dir, { format: "gif", startSec: 4, durationSec: 5, maxWidth: 160 });
      const [facts] = (await engine.run({ inputPath: clip, outputs: [late] })).outputs;
      expect(facts?.animation?.frames).toBe(10);
      expect(facts?.durationSec).toBeCloseTo(1, 1);
    });
  });
}
