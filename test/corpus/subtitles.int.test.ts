import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type {
  Engine,
  OutputFacts,
  Plan,
  SubtitlesPlanOutput,
  VideoPlanOutput,
} from "../../native/lib/engine";
import { createNativeEngine } from "../../native/lib/native-engine";
import { parseSubtitles } from "../../native/lib/subtitles";
import { createWasmEngine } from "../../native/lib/wasm-engine";
import { burnStyle } from "../../native/test/plans";
import { rawFrame } from "../support/media";
import { ensureCorpus } from "./fetch";

const run = promisify(execFile);

/**
 * Subtitles over real files (issue 18): the real SRT of the corpus (gabriel-vasile/mimetype's test
 * data) read by our parser; its cues muxed into real clips (derived.ts: SubRip in Matroska, 3GPP
 * timed text in MP4, both tagged eng) extracted to WebVTT by both engines with their text and
 * times; and those extracted cues burned into a real clip (in the picture at the cue's time, not
 * outside it), carried as a tagged track and offered as an HLS rendition, all in one run.
 */
let corpus: Record<string, string>;
let dir: string;

beforeAll(async () => {
  corpus = await ensureCorpus();
  dir = await mkdtemp(join(tmpdir(), "fw-corpus-subs-"));
}, 600_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The first two cues of the real SRT, moved 136 s earlier as derived.ts muxes them. */
const CUES = [
  [0.612, 3.376, "Senator, we're making\nour final approach into Coruscant."],
  [3.482, 5.609, "Very good, Lieutenant."],
];

const textOf = (path: string) =>
  readFile(path).then((bytes) =>
    parseSubtitles(bytes).cues.map((c) => [c.startSec, c.endSec, c.runs.map((r) => r.text).join("")]),
  );

const extract = (name: string): SubtitlesPlanOutput => ({
  kind: "subtitles",
  name,
  path: join(dir, `${name}.vtt`),
  format: "vtt",
  track: { language: "eng" },
});

/** Pixels of a box (shares) whose luma differs by more than 48 between the frames two files show at `sec`. */
async function changed(
  a: string,
  b: string,
  sec: number,
  box: [number, number, number, number],
): Promise<number> {
  const frame = async (path: string) => {
    const stdout = await rawFrame(path, sec, "gray");
    return stdout;
  };
  const [fa, fb] = [await frame(a), await frame(b)];
  const { stdout } = await run("ffprobe", [
    ...["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height", "-of", "csv=p=0", a],
  ]);
  const [width, height] = stdout.trim().split(",").map(Number) as [number, number];
  let count = 0;
  for (let y = Math.round(box[1] * height); y < Math.round(box[3] * height); y++)
    for (let x = Math.round(box[0] * width); x < Math.round(box[2] * width); x++)
      if (Math.abs((fa[y * width + x] ?? 0) - (fb[y * width + x] ?? 0)) > 48) count++;
  return count;
}

describe("the real SRT", () => {
  it("reads whole: five cues, two-line cues kept", async () => {
    const cues = await textOf(corpus["subtitles.srt"] as string);
    expect(cues).toHaveLength(5);
    expect(cues[0]).toEqual([136.612, 139.376, "Senator, we're making\nour final approach into Coruscant."]);
    expect(cues[4]).toEqual([200.476, 202.671, "There was no danger at all."]);
  });
});

describe.each([
  ["native", createNativeEngine],
  ["wasm", createWasmEngine],
] as const)("embedded subtitles of real files, %s engine", (label, create) => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await create();
  });
  afterAll(() => engine?.close());

  it.each(["mkv-subrip-eng.mkv", "mp4-mov-text-eng.mp4"])(
    "extracts the English track of %s to WebVTT",
    async (file) => {
      const output = extract(`${label}-${file.split(".")[0]}`);
      const result = await engine.run({ inputPath: corpus[file] as string, outputs: [output] });
      expect(result.outputs[0]?.subtitles).toMatchObject({ format: "vtt", cues: 2, language: "eng" });
      const cues = await textOf(output.path);
      expect(
        cues.map(([s, e, t]) => [Math.round((s as number) * 1000), Math.round((e as number) * 1000), t]),
      ).toEqual(
        CUES.map(([s, e, t]) => [Math.round((s as number) * 1000), Math.round((e as number) * 1000), t]),
      );
    },
  );
});

describe("the real cues on a real clip, in one run (native)", () => {
  let engine: Engine;
  let outputs: Record<string, OutputFacts>;
  beforeAll(async () => {
    engine = await createNativeEngine();
    // The cues as the engine extracted them from the Matroska file: the subtitle input.
    const subtitle = extract("from-mkv");
    await engine.run({ inputPath: corpus["mkv-subrip-eng.mkv"] as string, outputs: [subtitle] });
    const video = (name: string, overrides: Partial<VideoPlanOutput> = {}): VideoPlanOutput => ({
      kind: "video",
      name,
      path: join(dir, `${name}.mp4`),
      container: "mp4",
      video: {
        codec: "h264",
        maxWidth: null,
        maxHeight: null,
        crf: 23,
        bitrateKbps: null,
        preset: "ultrafast",
        fps: null,
        crop: null,
      },
      audio: { codec: "aac", bitrateKbps: 96, channels: null, sampleRate: null, loudnessTargetLufs: null },
      trim: null,
      ...overrides,
    });
    const plan: Plan = {
      inputPath: corpus["webm-vp8-vorbis.webm"] as string,
      subtitles: { en: { path: subtitle.path, language: "eng", label: "English" } },
      outputs: [
        video("real-plain"),
        video("real-burned", {
          subtitles: [
            {
              input: "en",
              mode: "burn",
              style: burnStyle(),
            },
          ],
        }),
        video("real-track", { subtitles: [{ input: "en", mode: "track", default: true }] }),
        {
          kind: "hls",
          name: "real-hls",
          dir: join(dir, "real-hls"),
          segmentSec: 2,
          preset: "ultrafast",
          renditions: [{ name: "360p", maxHeight: 360, videoBitrateKbps: 600, audioBitrateKbps: 96 }],
          subtitles: [{ input: "en", default: true }],
        },
      ],
    };
    const result = await engine.run(plan);
    outputs = Object.fromEntries(result.outputs.map((o) => [o.name, o]));
  }, 120_000);
  afterAll(() => engine?.close());

  it("burns each cue into the subtitle region at its time, and nothing outside it", async () => {
    const plain = outputs["real-plain"]?.path as string;
    const burned = outputs["real-burned"]?.path as string;
    const region: [number, number, number, number] = [0.1, 0.72, 0.9, 0.97];
    expect(await changed(plain, burned, 2, region)).toBeGreaterThan(150);
    expect(await changed(plain, burned, 4.5, region)).toBeGreaterThan(150);
    expect(await changed(plain, burned, 0.3, region)).toBeLessThan(10);
    expect(await changed(plain, burned, 7, region)).toBeLessThan(10);
    // Above the lines nothing changes.
    expect(await changed(plain, burned, 2, [0.1, 0.05, 0.9, 0.6])).toBeLessThan(10);
  });

  it("carries them as an English timed-text track", async () => {
    expect(outputs["real-track"]?.subtitleTracks).toEqual([
      { codec: "mov_text", language: "eng", title: null, default: true },
    ]);
    const { stdout } = await run("ffprobe", [
      ...["-v", "error", "-select_streams", "s", "-show_entries", "stream=codec_name:stream_tags=language"],
      ...["-of", "csv=p=0", outputs["real-track"]?.path as string],
    ]);
    expect(stdout.trim()).toBe("mov_text,eng");
  });

  it("offers them as an HLS rendition tagged en", async () => {
    const videoSegments = outputs["real-hls"]?.renditions?.[0]?.segments;
    expect(videoSegments).toBeGreaterThan(1);
    expect(outputs["real-hls"]?.subtitleRenditions).toEqual([
      {
        name: "English",
        language: "en",
        cues: 2,
        segments: videoSegments,
        playlist: "subtitles-en/index.m3u8",
      },
    ]);
    const master = await readFile(join(dir, "real-hls", "master.m3u8"), "utf8");
    expect(master).toMatch(
      /#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en",DEFAULT=YES/,
    );
    expect(master).toMatch(/SUBTITLES="subs"\n360p\/index\.m3u8/);
  });
});
