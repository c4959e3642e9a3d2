import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../../native/lib/engine";
import { createNativeEngine } from "../../native/lib/native-engine";
import { psnr, rgbFrames } from "../../native/test/outputs-contract";
import { aac, audioOut, h264, thumbsOut, videoOut } from "../../native/test/plans";
import { ffprobe } from "../support/media";
import { ensureCorpus } from "./fetch";

/**
 * Track choice over the corpus's real multi-track files (derived.ts: three real audio tracks of
 * different loudness, rates and lengths; two real pictures as angles), native engine. What was
 * picked is checked against the source track read by the ffmpeg CLI: its loudness (EBU R128), its
 * length, its tags, its picture (PSNR).
 */
const run = promisify(execFile);
let corpus: Record<string, string>;
let engine: Engine;
let dir: string;

beforeAll(async () => {
  corpus = await ensureCorpus();
  engine = await createNativeEngine();
  dir = await mkdtemp(join(tmpdir(), "fw-corpus-tracks-"));
}, 600_000);

afterAll(async () => {
  await engine?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Integrated loudness (LUFS) by the CLI's ebur128: of a file's audio stream a:N, or of a graph. */
async function lufs(path: string, select: { stream: number } | { graph: string }): Promise<number> {
  const args =
    "stream" in select
      ? ["-map", `0:a:${select.stream}`, "-af", "ebur128"]
      : ["-filter_complex", `${select.graph},ebur128`];
  const { stderr } = await run("ffmpeg", [
    "-hide_banner",
    "-nostats",
    "-i",
    path,
    ...args,
    "-f",
    "null",
    "-",
  ]);
  // The last summary: the CLI may configure a complex graph twice, the first one fed nothing.
  const match = [...stderr.matchAll(/Integrated loudness:\s+I:\s+(-?[\d.]+) LUFS/g)].at(-1);
  if (!match?.[1]) throw new Error(`no loudness for ${path}: ${stderr.slice(-300)}`);
  return Number.parseFloat(match[1]);
}

const tags = (s: Record<string, unknown>) => s.tags as Record<string, string> | undefined;

describe("track choice over the real-world corpus", () => {
  it("takes audio tracks by language and index, keeps all, and mixes them, as the source holds them", async () => {
    const src = corpus["mkv-three-audio-tracks.mkv"] ?? "";
    const source = await Promise.all([0, 1, 2].map((stream) => lufs(src, { stream })));
    // The premise: the three tracks are told apart by loudness (Original, Deutsch, Commentary).
    expect(
      Math.min(...source.flatMap((a, i) => source.slice(i + 1).map((b) => Math.abs(a - b)))),
    ).toBeGreaterThan(2);

    const pcm = { codec: "wav" as const, bitrateKbps: null };
    const outputs = [
      audioOut(dir, "deu", { ...pcm, track: { language: "deu" } }),
      audioOut(dir, "eng", { ...pcm, track: { language: "eng" } }),
      audioOut(dir, "commentary", { ...pcm, track: { index: 2 } }),
      videoOut(dir, "all", {
        container: "mkv",
        video: h264({ maxHeight: 120 }),
        audio: aac({ track: "all" }),
      }),
      audioOut(dir, "mix", { ...pcm, track: "mix" }),
      videoOut(dir, "dub-mix", {
        container: "mkv",
        video: h264({ maxHeight: 120 }),
        audio: aac({ bitrateKbps: 160, track: { mix: [{ index: 0 }, { language: "deu" }] } }),
      }),
    ];
    const result = await engine.run({ inputPath: src, outputs });
    const got = await Promise.all(outputs.map((o) => lufs(o.path, { stream: 0 })));
    const facts = Object.fromEntries(result.outputs.map((o) => [o.name, o]));
    const figures = outputs.map(
      (o, i) => `${o.name} ${got[i]?.toFixed(1)} LUFS ${facts[o.name]?.durationSec?.toFixed(2)} s`,
    );
    console.log(
      `corpus tracks: source ${source.map((l) => l.toFixed(1)).join(" / ")} LUFS; ${figures.join("; ")}`,
    );

    // A chosen track: the source track's loudness (within 0.5 LU; PCM out) and length. "eng" is
    // the default-disposition one of the two English tracks (the Original, not the Commentary).
    expect(Math.abs((got[0] ?? 0) - (source[1] ?? 0))).toBeLessThan(0.5);
    expect(Math.abs((got[1] ?? 0) - (source[0] ?? 0))).toBeLessThan(0.5);
    expect(Math.abs((got[2] ?? 0) - (source[2] ?? 0))).toBeLessThan(0.5);
    expect(facts.commentary?.durationSec).toBeCloseTo(4.29, 1);
    expect(facts.eng?.durationSec).toBeCloseTo(8.0, 1);

    // Every track kept: three tracks in order, languages and titles as the source, each its level.
    const all = (await ffprobe(outputs[3]?.path ?? "")).streams.filter((s) => s.codec_type === "audio");
    expect(all.map((s) => [tags(s)?.language, tags(s)?.title])).toEqual([
      ["eng", "Original"],
      ["deu", "Deutsch"],
      ["eng", "Commentary"],
    ]);
    for (const i of [0, 1, 2]) {
      expect(
        Math.abs((await lufs(outputs[3]?.path ?? "", { stream: i })) - (source[i] ?? 0)),
        `track ${i}`,
      ).toBeLessThan(1);
    }

    // The mix of all three: one track, as long as the longest (not the 4.3 s commentary), within
    // 1 LU of FFmpeg's own amix (average) of the same tracks; a mix of two tracks tagged "mul".
    const reference = await lufs(src, {
      graph: "[0:a:0][0:a:1][0:a:2]amix=inputs=3:duration=longest:normalize=1",
    });
    expect(Math.abs((got[4] ?? 0) - reference), `mix ${got[4]} vs CLI amix ${reference}`).toBeLessThan(1);
    expect(facts.mix?.durationSec).toBeCloseTo(8.0, 1);
    const dub = (await ffprobe(outputs[5]?.path ?? "")).streams.filter((s) => s.codec_type === "audio");
    expect(dub.map((s) => [tags(s)?.language, s.channels])).toEqual([["mul", 2]]);
    const dubReference = await lufs(src, {
      graph: "[0:a:0][0:a:1]amix=inputs=2:duration=longest:normalize=1",
    });
    expect(Math.abs((got[5] ?? 0) - dubReference)).toBeLessThan(1);
  }, 120_000);

  it("takes a video track (angle) by index or language for video and thumbnails: its picture and size", async () => {
    const src = corpus["mkv-two-angles.mkv"] ?? "";
    const outputs = [
      videoOut(dir, "angle-2", { video: h264({ maxHeight: 240, track: { index: 1 } }), audio: null }),
      videoOut(dir, "angle-main", { video: h264({ maxHeight: 240 }), audio: null }),
      thumbsOut(dir, "angle-2-thumbs", {
        maxHeight: 240,
        select: { mode: "at", atSec: [2] },
        track: { language: "deu" },
      }),
    ] as const;
    await engine.run({ inputPath: src, outputs: [...outputs] });
    const size = async (path: string) => {
      const [v] = (await ffprobe(path)).streams.filter((s) => s.codec_type === "video");
      return [Number(v?.width), Number(v?.height)] as const;
    };
    // Angle 2 is the 1024x768 screencast, the main angle the 640x360 clip.
    expect(await size(outputs[0].path)).toEqual([320, 240]);
    expect(await size(outputs[1].path)).toEqual([426, 240]);
    const thumb = join(outputs[2].dir, "thumb-0001.jpg");
    expect(await size(thumb)).toEqual([320, 240]);
    // The picture at 2 s is the chosen angle's (the source read by the CLI, scaled alike).
    const frame = (args: string[]) =>
      rgbFrames([...args, "-frames:v", "1", "-vf", "scale=320:240"], 320, 240);
    const [angle2] = await frame(["-ss", "2", "-i", src, "-map", "0:v:1"]);
    const [angle1] = await frame(["-ss", "2", "-i", src, "-map", "0:v:0"]);
    const [video] = await frame(["-ss", "2", "-i", outputs[0].path]);
    const [still] = await frame(["-i", thumb]);
    const db = (a?: Buffer, b?: Buffer) => psnr(a ?? Buffer.alloc(0), b ?? Buffer.alloc(0));
    console.log(
      `corpus angles: video ${db(video, angle2).toFixed(1)} dB vs angle 2, ${db(video, angle1).toFixed(1)} dB vs angle 1; thumbnail ${db(still, angle2).toFixed(1)} dB`,
    );
    expect(db(video, angle2)).toBeGreaterThan(30);
    expect(db(still, angle2)).toBeGreaterThan(25);
    expect(db(video, angle1)).toBeLessThan(db(video, angle2) - 10);
  }, 120_000);

  it("fails a video track the input lacks naming its angles, with titles", async () => {
    const src = corpus["mkv-two-angles.mkv"] ?? "";
    const third = videoOut(dir, "angle-3", { video: h264({ track: { index: 2 } }) });
    await expect(engine.run({ inputPath: src, outputs: [third] })).rejects.toMatchObject({
      code: "INPUT_NO_STREAMS",
      message: expect.stringMatching(
        /no video track 2; its video tracks are 0: eng \("Angle 1"\), 1: deu \("Angle 2"\)$/,
      ),
    });
  });
});
