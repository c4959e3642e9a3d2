import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawFrame } from "../../test/support/media";
import {
  type Engine,
  EngineError,
  type EngineProgress,
  type HlsPlanOutput,
  type Plan,
  type PlanOutput,
  type SubtitleBurnStyle,
  type SubtitlesPlanOutput,
  type VideoPlanOutput,
} from "../lib/engine";
import { readFragmentFile, readInit } from "../lib/fmp4";
import { createNativeEngine } from "../lib/native-engine";
import { assScript, parseSubtitles } from "../lib/subtitles";
import { createWasmEngine } from "../lib/wasm-engine";
import { burnStyle, h264, videoOut } from "./plans";

const run = promisify(execFile);

/**
 * Subtitles, checked as a viewer and a player would: burned cues are in the picture at their time
 * and nowhere else (the subtitle region of the burned output against the same run's unburned one,
 * frame by frame), Arabic comes out shaped right to left (against libass's own rendering with and
 * without shaping), tracks are in each container with their codec and language tags (ffprobe),
 * HLS masters offer WebVTT renditions aligned with the video's segments, embedded tracks extract to
 * WebVTT, and a malformed file fails naming its line.
 */

let engine: Engine;
let dir: string;
const files: Record<string, string> = {};
const ff = (args: string[]) => run("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", ...args]);

const W = 640;
const H = 360;

beforeAll(async () => {
  engine = await createNativeEngine();
  dir = await mkdtemp(join(tmpdir(), "fw-subs-"));
  files.clip = join(dir, "clip.mp4");
  files.flat = join(dir, "flat.mp4");
  files.embedded = join(dir, "embedded.mkv");
  await Promise.all([
    ff([
      ...["-f", "lavfi", "-i", `testsrc2=size=${W}x${H}:rate=25:duration=6`],
      ...["-f", "lavfi", "-i", "sine=frequency=440:duration=6:sample_rate=48000"],
      ...[
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-shortest",
        files.clip,
      ],
    ]),
    ff([
      ...["-f", "lavfi", "-i", `color=0x204060:size=${W}x${H}:rate=25:duration=4`],
      ...["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", files.flat],
    ]),
  ]);
  const write = async (name: string, text: string) => {
    files[name] = join(dir, name);
    await writeFile(files[name] as string, text);
  };
  await write(
    "en.srt",
    "1\n00:00:01,000 --> 00:00:02,000\nHello, subtitles!\n\n2\n00:00:03,000 --> 00:00:04,000\n{curly} back\\slash <i>italic</i>\n",
  );
  await write("ar.vtt", "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nمرحبا بالعالم\n");
  await write("he.srt", "1\n00:00:01,000 --> 00:00:03,000\nשלום עולם\n");
  await write(
    "ja.srt",
    "1\n00:00:01,000 --> 00:00:02,000\nfine\n\n2\n00:00:03,000 --> 00:00:04,000\n日本語\n",
  );
  await write(
    "bad.srt",
    "1\n00:00:01,000 --> 00:00:02,000\nfine\n\n2\n00:00:03.000 -> 00:00:04,000\nbroken\n",
  );
  // An input carrying its own subtitle tracks: SubRip in English, ASS in German (ISO 639-2/B tag).
  await write(
    "de.ass",
    assScript(parseSubtitles(Buffer.from("1\n00:00:02,000 --> 00:00:03,500\nGuten Tag\n")).cues, style()),
  );
  await ff([
    ...["-i", files.clip, "-i", files["en.srt"] as string, "-i", files["de.ass"] as string],
    ...[
      "-map",
      "0",
      "-map",
      "1",
      "-map",
      "2",
      "-c:v",
      "copy",
      "-c:a",
      "copy",
      "-c:s:0",
      "srt",
      "-c:s:1",
      "ass",
    ],
    ...["-metadata:s:s:0", "language=eng", "-metadata:s:s:1", "language=ger", files.embedded],
  ]);
});

afterAll(async () => {
  await engine?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

// Larger than the default (48) so the burned region is easy to measure on small test clips.
const style = (overrides: Partial<SubtitleBurnStyle> = {}) => burnStyle({ fontSize: 64, ...overrides });

const subtitleFiles = (...names: string[]): Plan["subtitles"] =>
  Object.fromEntries(
    names.map((name) => {
      const [key, ext] = name.split(".");
      const language = { en: "eng", ar: "ara", he: "heb", ja: "jpn", bad: null }[key as string] ?? null;
      return [
        key,
        { path: files[`${key}.${ext}`] as string, language, label: key === "en" ? "English" : null },
      ];
    }),
  ) as Plan["subtitles"];

function video(name: string, overrides: Partial<VideoPlanOutput> = {}): VideoPlanOutput {
  return videoOut(dir, name, { video: h264({ maxHeight: null, crf: 23 }), audio: null, ...overrides });
}

/** One frame's luma, W x H (the output's own size), at `sec`. */
async function luma(path: string, sec: number, width = W, height = H): Promise<Uint8Array> {
  const stdout = await rawFrame(path, sec, "gray");
  expect(stdout.length).toBe(width * height);
  return new Uint8Array(stdout);
}

/**
 * Pixels inside a box (shares of the picture: x0, y0, x1, y1) whose luma differs by more than 48
 * between two frames: drawn text changes hundreds, encoder noise a handful.
 */
function difference(
  a: Uint8Array,
  b: Uint8Array,
  box: [number, number, number, number],
  width = W,
  height = H,
): number {
  const [x0, y0, x1, y1] = [box[0] * width, box[1] * height, box[2] * width, box[3] * height].map(
    Math.round,
  ) as [number, number, number, number];
  let changed = 0;
  for (let y = y0; y < y1; y++)
    for (let x = x0; x < x1; x++)
      if (Math.abs((a[y * width + x] ?? 0) - (b[y * width + x] ?? 0)) > 48) changed++;
  return changed;
}

const extract = (name: string, track: SubtitlesPlanOutput["track"]): SubtitlesPlanOutput => ({
  kind: "subtitles",
  name,
  path: join(dir, `${name}.vtt`),
  format: "vtt",
  track,
});

const BOTTOM: [number, number, number, number] = [0.15, 0.78, 0.85, 0.97];
const TOP: [number, number, number, number] = [0.15, 0.03, 0.85, 0.22];

async function probeStreams(path: string) {
  const { stdout } = await run("ffprobe", [
    ...["-v", "error", "-print_format", "json", "-show_streams", path],
  ]);
  return (
    JSON.parse(stdout) as {
      streams: {
        index: number;
        codec_type: string;
        codec_name: string;
        tags?: Record<string, string>;
        disposition?: Record<string, number>;
      }[];
    }
  ).streams;
}

/**
 * The cues of a file's `n`-th subtitle stream as packets: [pts, duration] in seconds. MP4's timed
 * text fills the gaps between cues with empty samples (2 bytes), which are left out.
 */
async function subtitlePackets(path: string, n = 0): Promise<[number, number][]> {
  const { stdout } = await run("ffprobe", [
    ...["-v", "error", "-select_streams", `s:${n}`, "-show_entries", "packet=pts_time,duration_time,size"],
    ...["-of", "csv=p=0", path],
  ]);
  return stdout
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((line) => line.split(",").map(Number))
    .filter(([, , size]) => (size ?? 0) > 2)
    .map(([pts, duration]) => [pts, duration] as [number, number]);
}

/** A subtitle stream's text as the ffmpeg CLI reads it, one cue per entry. */
async function subtitleText(path: string, n = 0): Promise<string[]> {
  const { stdout } = await run("ffmpeg", [
    "-v",
    "error",
    "-i",
    path,
    "-map",
    `0:s:${n}`,
    "-f",
    "webvtt",
    "-",
  ]);
  return parseSubtitles(Buffer.from(stdout)).cues.map((c) => c.runs.map((r) => r.text).join(""));
}

describe("burned subtitles (native)", () => {
  let plain: string;
  let burned: string;
  let top: string;
  const ticks: EngineProgress[] = [];

  beforeAll(async () => {
    const result = await engine.run(
      {
        inputPath: files.clip as string,
        subtitles: subtitleFiles("en.srt"),
        outputs: [
          video("plain"),
          video("burned", { subtitles: [{ input: "en", mode: "burn", style: style() }] }),
          video("top", {
            subtitles: [
              { input: "en", mode: "burn", style: style({ position: "top", background: "#000000" }) },
            ],
          }),
        ],
      },
      { onProgress: (p) => ticks.push(p) },
    );
    [plain, burned, top] = result.outputs.map((o) => o.path) as [string, string, string];
  });

  it("draws each cue in the subtitle region at its time, and nothing outside it", async () => {
    const at = async (sec: number) => difference(await luma(plain, sec), await luma(burned, sec), BOTTOM);
    // Cues at 1–2 s and 3–4 s.
    for (const sec of [1.2, 1.8, 3.5]) expect(await at(sec), `at ${sec} s`).toBeGreaterThan(150);
    for (const sec of [0.4, 2.5, 4.6, 5.5]) expect(await at(sec), `at ${sec} s`).toBeLessThan(10);
    // Only the subtitle region changes.
    expect(difference(await luma(plain, 1.5), await luma(burned, 1.5), TOP)).toBeLessThan(10);
  });

  it("puts the lines where the style says, in a box when asked", async () => {
    const frame = await luma(top, 1.5);
    const base = await luma(plain, 1.5);
    expect(difference(base, frame, TOP)).toBeGreaterThan(150);
    expect(difference(base, frame, BOTTOM)).toBeLessThan(10);
  });

  it("reports each burning output's progress to 100 %", () => {
    for (const name of ["plain", "burned", "top"]) {
      const own = ticks.filter((t) => t.output === name).map((t) => t.percent ?? 0);
      expect(own.at(-1)).toBe(100);
      expect(own).toEqual([...own].sort((a, b) => a - b));
    }
  });

  it("follows a trim: cues shift with the output's start", async () => {
    const result = await engine.run({
      inputPath: files.clip as string,
      subtitles: subtitleFiles("en.srt"),
      outputs: [
        video("trim-plain", { trim: { startSec: 0.5, endSec: 3 } }),
        video("trim-burned", {
          trim: { startSec: 0.5, endSec: 3 },
          subtitles: [{ input: "en", mode: "burn", style: style() }],
        }),
      ],
    });
    const [a, b] = result.outputs.map((o) => o.path) as [string, string];
    // Input 1–2 s is output 0.5–1.5 s.
    expect(difference(await luma(a, 1), await luma(b, 1), BOTTOM)).toBeGreaterThan(150);
    expect(difference(await luma(a, 0.2), await luma(b, 0.2), BOTTOM)).toBeLessThan(10);
    expect(difference(await luma(a, 2), await luma(b, 2), BOTTOM)).toBeLessThan(10);
  });
});

describe("right-to-left and Unicode text (native)", () => {
  let plain: string;
  const burned: Record<string, string> = {};

  beforeAll(async () => {
    const result = await engine.run({
      inputPath: files.flat as string,
      subtitles: subtitleFiles("ar.vtt", "he.srt"),
      outputs: [
        video("flat-plain"),
        video("flat-ar", { subtitles: [{ input: "ar", mode: "burn", style: style({ fontSize: 144 }) }] }),
        video("flat-he", { subtitles: [{ input: "he", mode: "burn", style: style({ fontSize: 96 }) }] }),
      ],
    });
    [plain, burned.ar, burned.he] = result.outputs.map((o) => o.path) as [string, string, string];
  });

  it("draws Hebrew and Arabic at the cue's time only", async () => {
    for (const lang of ["ar", "he"]) {
      const path = burned[lang] as string;
      expect(difference(await luma(plain, 2), await luma(path, 2), BOTTOM), lang).toBeGreaterThan(150);
      expect(difference(await luma(plain, 3.5), await luma(path, 3.5), BOTTOM), lang).toBeLessThan(10);
    }
  });

  it("shapes Arabic right to left: joined letters in reading order, as libass draws them with HarfBuzz", async () => {
    // libass's own rendering of the cue (over the same decoded picture), and of the same letters
    // kept apart (a zero-width non-joiner between each: isolated forms) or forced left to right.
    const cues = parseSubtitles(await readFile(files["ar.vtt"] as string)).cues;
    const reference = async (name: string, change: (text: string) => string) => {
      const script = join(dir, `ar-${name}.ass`);
      const changed = cues.map((c) => ({ ...c, runs: c.runs.map((r) => ({ ...r, text: change(r.text) })) }));
      await writeFile(script, assScript(changed, style({ fontSize: 144 })));
      const { stdout } = await run(
        "ffmpeg",
        [
          ...["-v", "error", "-i", plain, "-ss", "2"],
          ...["-vf", `ass=filename=${script}:fontsdir=/usr/share/fonts/truetype/dejavu:shaping=complex`],
          ...["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-"],
        ],
        { encoding: "buffer", maxBuffer: 64 << 20 },
      );
      return new Uint8Array(stdout);
    };
    const ours = await luma(burned.ar as string, 2);
    expect(difference(ours, await reference("shaped", (t) => t), BOTTOM)).toBeLessThan(10);
    const isolated = (t: string) => [...t].join("\u200c");
    expect(difference(ours, await reference("isolated", isolated), BOTTOM)).toBeGreaterThan(150);
    const leftToRight = (t: string) => `\u202d${t}\u202c`;
    expect(difference(ours, await reference("ltr", leftToRight), BOTTOM)).toBeGreaterThan(150);
  });

  it("refuses to burn what no installed font draws, naming the line; a track carries it", async () => {
    const plan = (mode: "burn" | "track"): Plan => ({
      inputPath: files.flat as string,
      subtitles: subtitleFiles("ja.srt"),
      outputs: [
        video(`ja-${mode}`, {
          subtitles: [
            mode === "burn" ? { input: "ja", mode, style: style() } : { input: "ja", mode, default: false },
          ],
        }),
      ],
    });
    const error = await engine.run(plan("burn")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).code).toBe("UNSUPPORTED");
    expect((error as EngineError).message).toBe(
      "subtitles 'ja', line 6: holds 日 (U+65E5): no installed font covers CJK scripts; carry it as a track instead of burning it",
    );
    const track = await engine.run(plan("track"));
    expect(await subtitleText(track.outputs[0]?.path as string)).toEqual(["fine", "日本語"]);
  });
});

describe("subtitle tracks (native)", () => {
  it("carries each subtitle in the container's codec with its language tag and title", async () => {
    const uses: VideoPlanOutput["subtitles"] = [
      { input: "en", mode: "track", default: true },
      { input: "ar", mode: "track", default: false },
    ];
    const result = await engine.run({
      inputPath: files.clip as string,
      subtitles: subtitleFiles("en.srt", "ar.vtt"),
      outputs: [
        video("t-mp4", { subtitles: uses }),
        video("t-mov", { container: "mov", subtitles: uses }),
        video("t-mkv", { container: "mkv", subtitles: uses }),
        video("t-webm", {
          container: "webm",
          video: h264({ codec: "vp9", crf: 40, maxHeight: 120 }),
          subtitles: uses,
        }),
      ],
    });
    const codecs: Record<string, string> = {
      mp4: "mov_text",
      mov: "mov_text",
      mkv: "subrip",
      webm: "webvtt",
    };
    for (const facts of result.outputs) {
      const container = facts.name.slice(2);
      const streams = (await probeStreams(facts.path)).filter((s) => s.codec_type === "subtitle");
      expect(
        streams.map((s) => s.codec_name),
        facts.name,
      ).toEqual([codecs[container], codecs[container]]);
      expect(
        streams.map((s) => s.tags?.language),
        facts.name,
      ).toEqual(["eng", "ara"]);
      expect(facts.subtitleTracks?.map((t) => [t.codec, t.language])).toEqual([
        [codecs[container], "eng"],
        [codecs[container], "ara"],
      ]);
      if (container === "mkv" || container === "webm") {
        expect(streams.map((s) => s.disposition?.default)).toEqual([1, 0]);
        expect(streams.map((s) => s.tags?.title)).toEqual(["English", "ar"]);
      }
      // The cues at their times (ms), with their text; the file no longer than its media.
      expect(await subtitlePackets(facts.path, 0)).toEqual([
        [1, 1],
        [3, 1],
      ]);
      expect(await subtitleText(facts.path, 1)).toEqual(["مرحبا بالعالم"]);
      expect(facts.durationSec).toBeCloseTo(6, 0);
    }
    const mkv = result.outputs.find((o) => o.name === "t-mkv")?.path as string;
    expect(await subtitleText(mkv, 0)).toEqual(["Hello, subtitles!", "{curly} back\\slash italic"]);
  });

  it("cuts the cues to a trim, on the output's timeline", async () => {
    const result = await engine.run({
      inputPath: files.clip as string,
      subtitles: subtitleFiles("en.srt"),
      outputs: [
        video("t-trim", {
          trim: { startSec: 1.5, endSec: 3.5 },
          subtitles: [{ input: "en", mode: "track", default: false }],
        }),
      ],
    });
    const path = result.outputs[0]?.path as string;
    const [first, second, more] = await subtitlePackets(path);
    expect(first).toEqual([0, 0.5]);
    // The second cue runs past the window (3–4 s in a 1.5–3.5 s trim): cut where the media ends.
    expect(second?.[0]).toBe(1.5);
    expect(second?.[1]).toBeGreaterThan(0.44);
    expect(second?.[1]).toBeLessThanOrEqual(0.5);
    expect(more).toBeUndefined();
  });
});

describe("long cues (native)", () => {
  it("keeps a cue longer than the hold whole, and cuts one past the media at its end", async () => {
    const long = join(dir, "long.mp4");
    await ff([
      ...["-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=12"],
      ...["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", long],
    ]);
    const srt = join(dir, "long.srt");
    await writeFile(
      srt,
      "1\n00:00:00,500 --> 00:00:10,500\nten seconds\n\n2\n00:00:01,000 --> 00:00:02,000\nshort\n\n3\n00:00:11,000 --> 00:00:20,000\npast the end\n",
    );
    const result = await engine.run({
      inputPath: long,
      subtitles: { long: { path: srt, language: "eng", label: null } },
      outputs: ["mkv", "mp4"].map((container) =>
        video(`long-${container}`, {
          container: container as "mkv" | "mp4",
          video: h264({ maxHeight: 90 }),
          subtitles: [{ input: "long", mode: "track", default: false }],
        }),
      ),
    });
    for (const facts of result.outputs) {
      const packets = await subtitlePackets(facts.path);
      const last = packets.pop();
      // Matroska keeps overlapping cues; MP4's timed text shows one sample at a time, so the
      // overlap is its own sample holding both texts.
      expect(packets, facts.name).toEqual(
        facts.name === "long-mkv"
          ? [
              [0.5, 10],
              [1, 1],
            ]
          : [
              [0.5, 0.5],
              [1, 1],
              [2, 8.5],
            ],
      );
      expect(last?.[0], facts.name).toBe(11);
      expect(last?.[1], facts.name).toBeCloseTo(1, 1);
      expect(facts.durationSec, facts.name).toBeCloseTo(12, 0);
    }
    const mp4 = result.outputs.find((o) => o.name === "long-mp4")?.path as string;
    expect(await subtitleText(mp4)).toEqual([
      "ten seconds",
      "ten seconds\nshort",
      "ten seconds",
      "past the end",
    ]);
  });
});

describe("HLS subtitle renditions (native)", () => {
  it("offers each subtitle as a WebVTT rendition, segmented with the video", async () => {
    const hls: HlsPlanOutput = {
      kind: "hls",
      name: "ladder",
      dir: join(dir, "ladder"),
      segmentSec: 2,
      preset: "ultrafast",
      renditions: [
        { name: "360p", maxHeight: 360, videoBitrateKbps: 600, audioBitrateKbps: 64 },
        { name: "180p", maxHeight: 180, videoBitrateKbps: 200, audioBitrateKbps: 64 },
      ],
      subtitles: [
        { input: "en", default: true },
        { input: "ar", default: false },
      ],
    };
    const ticks: EngineProgress[] = [];
    const result = await engine.run(
      { inputPath: files.clip as string, subtitles: subtitleFiles("en.srt", "ar.vtt"), outputs: [hls] },
      { onProgress: (p) => ticks.push(p) },
    );
    const facts = result.outputs[0];
    expect(ticks.at(-1)?.percent).toBe(100);
    const master = await readFile(join(hls.dir, "master.m3u8"), "utf8");
    expect(master).toContain(
      '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,FORCED=NO,URI="subtitles-en/index.m3u8"',
    );
    expect(master).toContain('NAME="ar",LANGUAGE="ar",DEFAULT=NO');
    const variants = master.split("\n").filter((l) => l.startsWith("#EXT-X-STREAM-INF:"));
    expect(variants).toHaveLength(2);
    for (const v of variants) expect(v).toMatch(/,SUBTITLES="subs"$/);
    expect(facts?.subtitleRenditions).toEqual([
      { name: "English", language: "en", cues: 2, segments: 3, playlist: "subtitles-en/index.m3u8" },
      { name: "ar", language: "ar", cues: 1, segments: 3, playlist: "subtitles-ar/index.m3u8" },
    ]);
    // The same segment durations as the video; every segment is WebVTT on the video's MPEG-TS clock.
    const durations = (text: string) => [...text.matchAll(/#EXTINF:([\d.]+)/g)].map((m) => Number(m[1]));
    const videoPlaylist = await readFile(join(hls.dir, "360p", "index.m3u8"), "utf8");
    const subPlaylist = await readFile(join(hls.dir, "subtitles-en", "index.m3u8"), "utf8");
    expect(durations(subPlaylist)).toEqual(durations(videoPlaylist));
    const { stdout } = await run("ffprobe", [
      ...["-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts", "-read_intervals", "%+#1"],
      ...["-of", "csv=p=0", join(hls.dir, "360p", "seg_00000.ts")],
    ]);
    const videoPts = Number(stdout.trim().split(/[,\n]/)[0]);
    expect(videoPts).toBeGreaterThanOrEqual(0);
    const cues: string[] = [];
    for (const i of [0, 1, 2]) {
      const text = await readFile(join(hls.dir, "subtitles-en", `seg_0000${i}.vtt`), "utf8");
      expect(text).toContain(`X-TIMESTAMP-MAP=MPEGTS:${videoPts},LOCAL:00:00:00.000`);
      if (text.includes("-->"))
        cues.push(...parseSubtitles(Buffer.from(text)).cues.map((c) => `${c.startSec}-${c.endSec}`));
    }
    // Cue 1 (1–2 s) in segment 0, cue 2 (3–4 s) in segment 1: each once.
    expect(cues).toEqual(["1-2", "3-4"]);
    expect(facts?.files?.some((f) => f.relativePath === "subtitles-ar/seg_00000.vtt")).toBe(true);
  });
  it("puts the cues on the CMAF clock when the ladder is shared with DASH", async () => {
    // CMAF tracks start on a shared timeline a few seconds in; a cue map made for MPEG-TS (or none)
    // would show every cue that far early or late.
    const ladder = {
      segmentSec: 2,
      preset: "ultrafast" as const,
      renditions: [{ name: "180p", maxHeight: 180, videoBitrateKbps: 300, audioBitrateKbps: 64 }],
    };
    const hls: HlsPlanOutput = {
      kind: "hls",
      name: "cmaf",
      dir: join(dir, "cmaf"),
      ...ladder,
      segments: "cmaf",
      subtitles: [{ input: "en", default: true }],
    };
    await engine.run({
      inputPath: files.clip as string,
      subtitles: subtitleFiles("en.srt"),
      outputs: [
        hls,
        { kind: "dash", name: "d", dir: join(dir, "d"), ...ladder, shares: { hls: "cmaf", url: "../cmaf/" } },
      ],
    });
    const track = readInit(await readFile(join(hls.dir, "180p", "init.mp4")));
    const first = await readFragmentFile(join(hls.dir, "180p", "seg_00000.m4s"), track);
    // Media time 0 is the first picture's presentation time, on the 90 kHz clock.
    const mpegts = Math.round((first.start / track.timescale) * 90_000);
    const text = await readFile(join(hls.dir, "subtitles-en", "seg_00000.vtt"), "utf8");
    expect(text).toContain(`X-TIMESTAMP-MAP=MPEGTS:${mpegts},LOCAL:00:00:00.000`);
    expect(await readFile(join(hls.dir, "master.m3u8"), "utf8")).toMatch(/AUDIO="[^"]+".*SUBTITLES="subs"/);
  });
});

describe("subtitle extraction (native)", () => {
  it("writes the input's subtitle tracks as WebVTT, in the run's one decode", async () => {
    const ticks: EngineProgress[] = [];
    const result = await engine.run(
      {
        inputPath: files.embedded as string,
        outputs: [
          extract("first", null),
          extract("german", { language: "deu" }),
          extract("second", { index: 1 }),
          video("beside"),
        ],
      },
      { onProgress: (p) => ticks.push(p) },
    );
    const [first, german, second] = result.outputs;
    expect(first?.subtitles).toEqual({
      format: "vtt",
      cues: 2,
      source_index: 2,
      source_codec: "subrip",
      language: "eng",
    });
    expect(german?.subtitles).toEqual({
      format: "vtt",
      cues: 1,
      source_index: 3,
      source_codec: "ass",
      language: "ger",
    });
    expect(second?.subtitles?.source_index).toBe(3);
    const read = async (path: string) =>
      parseSubtitles(await readFile(path)).cues.map((c) => [
        c.startSec,
        c.endSec,
        c.runs.map((r) => r.text).join(""),
      ]);
    // On the input's timeline: where its packets are (the muxer moved everything by the audio's priming).
    const packets = await subtitlePackets(files.embedded as string, 0);
    const offset = (packets[0]?.[0] ?? 0) - 1;
    expect(offset).toBeGreaterThanOrEqual(0);
    expect(packets[1]?.[0]).toBeCloseTo(3 + offset, 3);
    const near = (cues: (string | number)[][]) =>
      cues.map((c) => c.map((v) => (typeof v === "number" ? Math.round((v - offset) * 1000) / 1000 : v)));
    expect(near(await read(first?.path as string))).toEqual([
      [1, 2, "Hello, subtitles!"],
      [3, 4, "{curly} back\\slash italic"],
    ]);
    expect(near(await read(german?.path as string))).toEqual([[2, 3.5, "Guten Tag"]]);
    for (const name of ["first", "german", "second", "beside"]) {
      expect(ticks.filter((t) => t.output === name).at(-1)?.percent, name).toBe(100);
    }
  });

  it("names the tracks the input has when the one asked for is missing", async () => {
    const error = await engine
      .run({ inputPath: files.embedded as string, outputs: [extract("fr", { language: "fra" })] })
      .catch((e: unknown) => e);
    expect((error as EngineError).code).toBe("INPUT_NO_STREAMS");
    expect((error as EngineError).message).toBe(
      'The input has no subtitle track in language "fra"; its subtitle tracks are 0: eng (subrip), 1: ger (ass)',
    );
    const none = await engine
      .run({ inputPath: files.clip as string, outputs: [extract("none", null)] })
      .catch((e: unknown) => e);
    expect((none as EngineError).code).toBe("INPUT_NO_STREAMS");
  });
});

describe("malformed subtitle files", () => {
  it("fail the job as input_unreadable, naming the subtitle and the line", async () => {
    for (const output of [
      video("bad-burn", { subtitles: [{ input: "bad", mode: "burn", style: style() }] }),
      video("bad-track", { subtitles: [{ input: "bad", mode: "track", default: false }] }),
    ] as PlanOutput[]) {
      const error = await engine
        .run({ inputPath: files.clip as string, subtitles: subtitleFiles("bad.srt"), outputs: [output] })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EngineError);
      expect((error as EngineError).code).toBe("INPUT_UNREADABLE");
      expect((error as EngineError).message).toBe(
        `subtitles 'bad', line 6: expected a timing line like 00:00:01,000 --> 00:00:02,000, found "00:00:03.000 -> 00:00:04,000"`,
      );
    }
  });
});

describe("the wasm engine", () => {
  let wasm: Engine;
  beforeAll(async () => {
    wasm = await createWasmEngine();
  });
  afterAll(async () => {
    await wasm?.close();
  });

  it("burns, carries and extracts subtitles with the same plan", async () => {
    const result = await wasm.run({
      inputPath: files.embedded as string,
      subtitles: subtitleFiles("en.srt", "ar.vtt"),
      outputs: [
        video("w-plain"),
        video("w-burned", { subtitles: [{ input: "ar", mode: "burn", style: style() }] }),
        video("w-tracks", {
          container: "mkv",
          subtitles: [
            { input: "en", mode: "track", default: true },
            { input: "ar", mode: "track", default: false },
          ],
        }),
        extract("w-german", { language: "ger" }),
      ],
    });
    const [plain, burned, tracks, german] = result.outputs;
    expect(
      difference(await luma(plain?.path as string, 2), await luma(burned?.path as string, 2), BOTTOM),
    ).toBeGreaterThan(150);
    expect(
      difference(await luma(plain?.path as string, 4.5), await luma(burned?.path as string, 4.5), BOTTOM),
    ).toBeLessThan(10);
    const streams = (await probeStreams(tracks?.path as string)).filter((s) => s.codec_type === "subtitle");
    expect(streams.map((s) => [s.codec_name, s.tags?.language, s.disposition?.default])).toEqual([
      ["subrip", "eng", 1],
      ["subrip", "ara", 0],
    ]);
    expect(await subtitleText(tracks?.path as string, 1)).toEqual(["مرحبا بالعالم"]);
    expect(german?.subtitles).toMatchObject({ cues: 1, source_codec: "ass", language: "ger" });
  });

  it("refuses HLS subtitle renditions with the rest of HLS, naming what is missing", async () => {
    const error = await wasm
      .run({
        inputPath: files.clip as string,
        subtitles: subtitleFiles("en.srt"),
        outputs: [
          {
            kind: "hls",
            name: "w-hls",
            dir: join(dir, "w-hls"),
            segmentSec: 2,
            preset: "ultrafast",
            renditions: [{ name: "180p", maxHeight: 180, videoBitrateKbps: 200, audioBitrateKbps: 64 }],
            subtitles: [{ input: "en", default: false }],
          },
        ],
      })
      .catch((e: unknown) => e);
    expect((error as EngineError).code).toBe("UNSUPPORTED");
    expect((error as EngineError).message).toContain("HLS ladders are not available in the wasm engine");
  });
});
