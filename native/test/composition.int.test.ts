import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureCorpus } from "../../test/corpus/fetch";
import { ffprobe, makeHighlightsClip, rawFrame } from "../../test/support/media";
import type { CompositionPlanOutput, HighlightReelPlanOutput, PlanClip } from "../lib/composition-plan";
import { type Engine, EngineError, type EngineProgress } from "../lib/engine";
import { createNativeEngine } from "../lib/native-engine";
import { createWasmEngine } from "../lib/wasm-engine";

const run = promisify(execFile);

/**
 * Compositions rendered by the native engine, checked by what a viewer sees and hears: which clip
 * is on screen where and when (solid colours at known places), the blend half-way through a
 * crossfade, a wipe's edge, a slide's position, the logo in its corner, the title's pixels, the
 * duration against the timeline, levels in dB for volume and ducking, and the messages that name
 * the clip a problem is in. Then real files (rotated phone video, anamorphic DVD, EXIF photo, 5.1
 * audio, a music file) in one composition, and a highlight reel that must hold three planted moments.
 */

let engine: Engine;
let dir: string;
const inputs: Record<string, string> = {};

const ff = (args: string[]) => run("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", ...args]);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "fw-comp-"));
  inputs.red = join(dir, "red.mp4");
  inputs.blue = join(dir, "blue.mkv");
  inputs.logo = join(dir, "logo.png");
  inputs.music = join(dir, "music.mp3");
  inputs.quiet = join(dir, "quiet.mp4");
  await Promise.all([
    // 4:3 at 25 fps, stereo 44.1 kHz tone at 440 Hz.
    ff([
      "-f",
      "lavfi",
      "-i",
      "color=red:size=320x240:rate=25:duration=6",
      "-f",
      "lavfi",
      "-i",
      "sine=frequency=440:duration=6:sample_rate=44100",
      "-ac",
      "2",
      "-c:v",
      "libx264",
      "-c:a",
      "aac",
      "-shortest",
      inputs.red,
    ]),
    // 16:9 at 30 fps, mono 48 kHz tone at 1 kHz, another container.
    ff([
      "-f",
      "lavfi",
      "-i",
      "color=blue:size=640x360:rate=30:duration=6",
      "-f",
      "lavfi",
      "-i",
      "sine=frequency=1000:duration=6:sample_rate=48000",
      "-ac",
      "1",
      "-c:v",
      "libx264",
      "-c:a",
      "flac",
      "-shortest",
      inputs.blue,
    ]),
    ff(["-f", "lavfi", "-i", "color=0x00ff00:size=64x64", "-frames:v", "1", inputs.logo]),
    ff([
      "-f",
      "lavfi",
      "-i",
      "sine=frequency=200:duration=30",
      "-ac",
      "2",
      "-c:a",
      "libmp3lame",
      "-b:a",
      "192k",
      inputs.music,
    ]),
    // Picture with no sound at all.
    ff(["-f", "lavfi", "-i", "color=white:size=320x240:rate=25:duration=6", "-c:v", "libx264", inputs.quiet]),
  ]);
}, 60_000);

afterAll(async () => {
  if (process.env.FW_KEEP) return;
  if (dir) await rm(dir, { recursive: true, force: true });
});

const clip = (p: Partial<PlanClip> & Pick<PlanClip, "asset" | "startSec">): PlanClip => ({
  label: "tracks[?].clips[?]",
  lengthSec: null,
  fit: "contain",
  position: "center",
  offsetX: 0,
  offsetY: 0,
  scale: 1,
  opacity: 1,
  volume: 1,
  transitionIn: null,
  transitionOut: null,
  ...p,
});
const video = (input: string, start: number, end: number) =>
  ({ type: "video", input, trimStartSec: start, trimEndSec: end }) as const;

let outputs = 0;
function composition(
  tracks: PlanClip[][],
  extra: Partial<CompositionPlanOutput> = {},
): CompositionPlanOutput {
  // Labels as the node writes them.
  tracks.forEach((t, i) => {
    t.forEach((c, j) => {
      c.label = `tracks[${i}].clips[${j}]`;
    });
  });
  return {
    kind: "composition",
    name: `edit${++outputs}`,
    path: join(dir, `edit${outputs}.mp4`),
    container: "mp4",
    video: { codec: "h264", crf: 18, bitrateKbps: null, preset: "veryfast" },
    audio: { codec: "aac", bitrateKbps: 192, channels: null, sampleRate: null },
    canvas: { width: 640, height: 360, fps: 25, background: "#000000" },
    tracks,
    soundtrack: null,
    ...extra,
  };
}

async function render(output: CompositionPlanOutput, ticks?: EngineProgress[]) {
  const result = await engine.run(
    { inputPath: inputs.red as string, inputs, outputs: [output] },
    { onProgress: (p) => ticks?.push(p) },
  );
  return result.outputs[0];
}

/** RGB of pixels of the frame shown at `sec` (the compositions here are 640 wide). */
async function pixels(path: string, sec: number, points: [number, number][]): Promise<number[][]> {
  const frame = await rawFrame(path, sec, "rgb24");
  const width = 640;
  return points.map(([x, y]) => {
    const i = (y * width + x) * 3;
    return [frame[i] ?? -1, frame[i + 1] ?? -1, frame[i + 2] ?? -1];
  });
}

const near = (got: number[] | undefined, want: number[], tolerance = 12) =>
  got?.every((v, i) => Math.abs(v - (want[i] ?? 0)) <= tolerance) === true;

/** RMS level (dBFS) of the output's audio in a window, through a band filter around `hz`. */
async function bandLevel(path: string, from: number, seconds: number, hz: number): Promise<number> {
  const band = `bandpass=f=${hz}:t=q:w=8`;
  const { stderr } = await run("ffmpeg", [
    "-hide_banner",
    "-ss",
    String(from),
    "-t",
    String(seconds),
    "-i",
    path,
    "-af",
    `${band},${band},${band},astats=measure_overall=RMS_level:measure_perchannel=none`,
    "-f",
    "null",
    "-",
  ]);
  const match = /RMS level dB: (-?[\d.]+|-inf)/.exec(stderr);
  return match?.[1] === "-inf" ? -200 : Number(match?.[1]);
}

for (const [name, create] of [
  ["native", createNativeEngine],
  ["wasm", createWasmEngine],
] as const) {
  describe(`compositions (${name} engine)`, () => {
    const full = name === "native";
    beforeAll(async () => {
      engine = await create();
    });
    afterAll(async () => {
      await engine?.close();
    });

    it("layers tracks first-on-top, fits and anchors clips, and lasts as long as the timeline", async () => {
      const ticks: EngineProgress[] = [];
      const output = composition([
        [
          clip({
            asset: { type: "image", input: "logo" },
            startSec: 0,
            lengthSec: 4,
            fit: "none",
            position: "top-right",
            offsetX: -0.025,
            offsetY: -0.05,
          }),
        ],
        [
          clip({ asset: video("red", 1, 4), startSec: 0 }),
          clip({ asset: video("blue", 0, 1), startSec: 3, fit: "none", scale: 0.5, position: "bottom-left" }),
        ],
        [clip({ asset: video("blue", 2, 6), startSec: 0, opacity: 0.5 })],
      ]);
      const facts = await render(output, ticks);
      expect(facts?.durationSec).toBeCloseTo(4, 1);
      const probed = await ffprobe(output.path);
      expect(Math.abs(Number(probed.format.duration) - 4)).toBeLessThanOrEqual(1 / 25 + 0.03);
      // t=1: red (4:3 contained: x 80..560) over half-transparent blue; blue shows at the sides.
      const [center, side, logo, logoEdge] = await pixels(output.path, 1, [
        [320, 180],
        [40, 180],
        [576, 50],
        [630, 10],
      ]);
      expect(near(center, [254, 0, 0])).toBe(true);
      expect(near(side, [0, 0, 127], 16)).toBe(true);
      // The logo: 64x64 at top-right, moved 16 px left and 18 px down by its offset.
      expect(near(logo, [0, 255, 0], 16)).toBe(true);
      expect(near(logoEdge, [0, 0, 127], 16)).toBe(true);
      // t=3.5: red has ended (3 s); the small blue clip (320x180) sits bottom-left over the half-transparent blue.
      const [small, redStill] = await pixels(output.path, 3.5, [
        [100, 300],
        [400, 100],
      ]);
      expect(near(small, [0, 0, 254])).toBe(true);
      expect(near(redStill, [0, 0, 127], 16)).toBe(true);
      // Progress follows the timeline and ends at 100.
      const percents = ticks.map((t) => t.percent ?? 0);
      expect(percents.at(-1)).toBe(100);
      expect(percents).toEqual([...percents].sort((a, b) => a - b));
      expect(ticks.at(-1)?.durationSec).toBeCloseTo(4, 3);
    }, 60_000);

    it("blends a crossfade half-way, moves a wipe's edge and a slide, fades to the background", async () => {
      const output = composition(
        [
          [
            clip({ asset: video("red", 0, 4), startSec: 0, fit: "fill" }),
            clip({
              asset: video("blue", 0, 4),
              startSec: 3,
              fit: "fill",
              transitionIn: { kind: "crossfade", durationSec: 1 },
              transitionOut: { kind: "wipe_right", durationSec: 1 },
            }),
            clip({
              asset: video("red", 4, 6),
              startSec: 7,
              fit: "fill",
              transitionIn: { kind: "slide_right", durationSec: 1 },
              transitionOut: { kind: "fade", durationSec: 1 },
            }),
          ],
        ],
        { canvas: { width: 640, height: 360, fps: 25, background: "#ffffff" } },
      );
      await render(output);
      // Half-way through the crossfade (3.5 s): half red, half blue.
      const [blend] = await pixels(output.path, 3.52, [[320, 180]]);
      expect(near(blend, [127, 0, 127], 20)).toBe(true);
      // Half-way through the wipe out (6.5 s): the edge has moved right to x=320; white shows to its left.
      const [leftOfEdge, rightOfEdge] = await pixels(output.path, 6.52, [
        [300, 180],
        [340, 180],
      ]);
      expect(near(leftOfEdge, [255, 255, 255])).toBe(true);
      expect(near(rightOfEdge, [0, 0, 254])).toBe(true);
      // Half-way through the slide in (7.5 s): the red clip came in from the left, its right edge at x=320.
      const [slid, notYet] = await pixels(output.path, 7.52, [
        [300, 180],
        [340, 180],
      ]);
      expect(near(slid, [254, 0, 0])).toBe(true);
      expect(near(notYet, [255, 255, 255])).toBe(true);
      // Half-way through the fade out (8.5 s): red over white at half opacity.
      const [fading] = await pixels(output.path, 8.52, [[320, 180]]);
      expect(near(fading, [254, 127, 127], 20)).toBe(true);
      expect(Math.abs(Number((await ffprobe(output.path)).format.duration) - 9)).toBeLessThanOrEqual(
        1 / 25 + 0.03,
      );
    }, 60_000);

    it("draws titles in the named fonts, right-to-left scripts included", async () => {
      const output = composition([
        [
          clip({
            asset: {
              type: "text",
              text: "Framewire שלום مرحبا",
              font: "sans-bold",
              fontSize: 48,
              color: "#ffffff",
              background: null,
            },
            startSec: 0,
            lengthSec: 2,
            position: "center",
          }),
        ],
        [clip({ asset: video("blue", 0, 2), startSec: 0, fit: "fill" })],
      ]);
      await render(output);
      const row = await pixels(
        output.path,
        1,
        Array.from({ length: 600 }, (_, i) => [20 + i, 180] as [number, number]),
      );
      const white = row.filter((p) => near(p, [255, 255, 255], 60)).length;
      expect(white).toBeGreaterThan(20);
      const [corner] = await pixels(output.path, 1, [[10, 10]]);
      expect(near(corner, [0, 0, 254])).toBe(true);
    }, 60_000);

    it("mixes clip audio at its volume, and ducks the soundtrack by exactly its dB", async () => {
      const output = composition(
        [
          [
            clip({ asset: video("red", 0, 3), startSec: 0, volume: 0.5 }),
            // A clip without sound: the soundtrack comes back up under it.
            clip({ asset: video("quiet", 0, 3), startSec: 3 }),
          ],
        ],
        {
          soundtrack: {
            input: "music",
            trimStartSec: 0,
            trimEndSec: null,
            volume: 0.5,
            fadeInSec: 0,
            fadeOutSec: 1,
            duckDb: 12,
          },
        },
      );
      await render(output);
      const source = await bandLevel(inputs.red as string, 0.5, 2, 440);
      const clipLevel = await bandLevel(output.path, 0.5, 2, 440);
      // volume 0.5 = -6.02 dB.
      expect(clipLevel - source).toBeCloseTo(-6.02, 0);
      const music = await bandLevel(inputs.music as string, 0.5, 2, 200);
      const ducked = await bandLevel(output.path, 0.5, 2, 200);
      const open = await bandLevel(output.path, 3.6, 1.6, 200);
      // Soundtrack volume 0.5 (-6 dB), then 12 dB down while the red clip sounds.
      expect(open - music).toBeCloseTo(-6.02, 0);
      expect(ducked - open).toBeGreaterThan(-12.8);
      expect(ducked - open).toBeLessThan(-11.2);
      // The fade out ends the soundtrack at the composition's end.
      expect(await bandLevel(output.path, 5.85, 0.1, 200)).toBeLessThan(open - 20);
    }, 60_000);

    it("fails at once, naming the clip, when a trim runs past its input", async () => {
      const output = composition([
        [clip({ asset: video("red", 0, 3), startSec: 0 })],
        [
          clip({ asset: video("red", 0, 2), startSec: 0 }),
          clip({ asset: video("blue", 2, 12), startSec: 2 }),
        ],
      ]);
      const error = await render(output).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EngineError);
      expect((error as EngineError).code).toBe("COMPOSITION_INVALID");
      expect((error as EngineError).message).toBe(
        "tracks[1].clips[1]: trim ends at 12 s but input 'blue' lasts 6 s",
      );
      const noPicture = composition([
        [clip({ asset: { type: "image", input: "music" }, startSec: 0, lengthSec: 1 })],
      ]);
      await expect(render(noPicture)).rejects.toThrow(
        "tracks[0].clips[0]: input 'music' has no picture for a image clip",
      );
    }, 30_000);

    it.skipIf(!full)(
      "normalises real files of every size, rate, rotation and layout onto one canvas",
      async () => {
        const corpus = await ensureCorpus();
        const real = {
          phone: corpus["phone-vfr-rotated.mp4"] as string,
          dvd: corpus["dvd-anamorphic-mp2.mpg"] as string,
          photo: corpus["jpeg-exif-6-camera.jpg"] as string,
          surround: corpus["mkv-mpeg4-aac51.mkv"] as string,
          song: corpus["music-ragtime.ogg"] as string,
        };
        Object.assign(inputs, real);
        const output = composition(
          [
            [
              clip({
                asset: { type: "image", input: "photo" },
                startSec: 0,
                lengthSec: 2,
                fit: "contain",
                scale: 0.3,
                position: "top-left",
              }),
            ],
            [
              clip({
                asset: { type: "video", input: "phone", trimStartSec: 0, trimEndSec: 2 },
                startSec: 0,
                fit: "cover",
              }),
              clip({
                asset: { type: "video", input: "dvd", trimStartSec: 1, trimEndSec: 3 },
                startSec: 1.5,
                transitionIn: { kind: "crossfade", durationSec: 0.5 },
              }),
              clip({
                asset: { type: "video", input: "surround", trimStartSec: 0, trimEndSec: 2 },
                startSec: 3.5,
                transitionIn: { kind: "wipe_left", durationSec: 0.5 },
              }),
            ],
          ],
          {
            canvas: { width: 1280, height: 720, fps: 30, background: "#202020" },
            soundtrack: {
              input: "song",
              trimStartSec: 5,
              trimEndSec: null,
              volume: 0.3,
              fadeInSec: 0.5,
              fadeOutSec: 0.5,
              duckDb: 10,
            },
          },
        );
        const facts = await render(output);
        expect(facts?.video).toMatchObject({ width: 1280, height: 720, fps: 30 });
        expect(facts?.audio).toMatchObject({ channels: 2, sample_rate: 48_000 });
        expect(Math.abs((facts?.durationSec ?? 0) - 5.5)).toBeLessThanOrEqual(1 / 30 + 0.05);
      },
      120_000,
    );

    it.skipIf(!full)(
      "cuts a highlight reel that holds the three planted moments, crossfaded",
      async () => {
        const planted = await makeHighlightsClip(join(dir, "long.mp4"));
        inputs.long = planted.path;
        const reel: HighlightReelPlanOutput = {
          kind: "highlight_reel",
          name: "reel",
          path: join(dir, "reel.mp4"),
          container: "mp4",
          video: { codec: "h264", crf: 23, bitrateKbps: null, preset: "veryfast" },
          audio: { codec: "aac", bitrateKbps: 128, channels: null, sampleRate: null },
          input: "long",
          segments: 3,
          totalSec: null,
          minSec: 4,
          maxSec: 10,
          crossfadeSec: 0.5,
          maxHeight: null,
        };
        const result = await engine.run({ inputPath: planted.path, inputs, outputs: [reel] });
        const facts = result.outputs[0];
        const segments = facts?.segments ?? [];
        expect(segments).toHaveLength(3);
        for (const [start, end] of planted.moments) {
          expect(segments.some((s) => s.start_sec < end && s.end_sec > start)).toBe(true);
        }
        const total = segments.reduce((sum, s) => sum + (s.end_sec - s.start_sec), 0) - 2 * 0.5;
        expect(Math.abs((facts?.durationSec ?? 0) - total)).toBeLessThanOrEqual(0.1);
        expect(facts?.video).toMatchObject({ width: 160, height: 90 });
      },
      180_000,
    );

    it.skipIf(full)("refuses a highlight reel by name (no highlights analysis in this engine)", async () => {
      const reel: HighlightReelPlanOutput = {
        kind: "highlight_reel",
        name: "reel",
        path: join(dir, "reel-wasm.mp4"),
        container: "mp4",
        video: { codec: "h264", crf: 23, bitrateKbps: null, preset: "veryfast" },
        audio: null,
        input: "red",
        segments: 3,
        totalSec: null,
        minSec: 4,
        maxSec: 10,
        crossfadeSec: 0.5,
        maxHeight: null,
      };
      const error = await engine
        .run({ inputPath: inputs.red as string, inputs, outputs: [reel] })
        .catch((e: unknown) => e);
      expect((error as EngineError).code).toBe("UNSUPPORTED");
      expect((error as EngineError).message).toContain("highlight reels need the highlights analysis");
    });
  });
}
