import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { AnalysisFactsOf } from "@framewire/shared/media";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  beatTimes,
  cadence,
  ebur128Cli,
  fpcalc,
  makeClickTrack,
  makeClip,
  makeCutsClip,
  makeDrumLoop,
  makeGarbage,
  makeHighlightsClip,
  makeIntervalsClip,
  makeNotes,
  makeSpeech,
  scale,
  writeWav,
} from "../../test/support/media";
import { type Engine, EngineError, type EngineProgress, type OutputFacts } from "../lib/engine";
import { createNativeEngine } from "../lib/native-engine";
import { analysisOut, h264, thumbsOut, videoOut } from "./plans";

const run = promisify(execFile);

/**
 * Every analysis against ground truth it was made with: click tracks and drum loops at known
 * tempos, cadences and scales in known keys, cuts at known frames, silence, black and frozen
 * picture at known places, three loud moments in a long dull video. The peers (fpcalc, FFmpeg's
 * own filters run by the CLI) measure the same files where one exists. The real-world corpus is
 * compared with the peers in test/corpus/analysis-peers.int.test.ts.
 */

let engine: Engine;
let dir: string;

beforeAll(async () => {
  engine = await createNativeEngine();
  dir = await mkdtemp(join(tmpdir(), "fw-analysis-"));
});

afterAll(async () => {
  await engine?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs may go in parallel: each writes its own document. */
let analyses = 0;

async function analyse<K extends Parameters<typeof analysisOut>[2]>(
  input: string,
  kind: K,
  options: Parameters<typeof analysisOut<K>>[3] = {},
): Promise<AnalysisFactsOf<K>> {
  const result = await engine.run({
    inputPath: input,
    outputs: [analysisOut(dir, `a-${kind}-${++analyses}`, kind, options)],
  });
  const facts = result.outputs[0]?.analysis;
  if (facts?.kind !== kind) throw new Error(`no ${kind} facts`);
  // The document written is the facts reported.
  expect(JSON.parse(await readFile(result.outputs[0]?.path ?? "", "utf8"))).toEqual(facts);
  return facts as AnalysisFactsOf<K>;
}

const nearest = (times: number[], t: number) => Math.min(...times.map((x) => Math.abs(x - t)));

describe("tempo", () => {
  const cases: { kind: "click" | "drums" | "swing"; bpm: number; lead?: number }[] = [
    ...[60, 75, 90, 97, 120, 135, 150, 180].map((bpm) => ({ kind: "click" as const, bpm })),
    ...[66, 128, 174].map((bpm) => ({ kind: "drums" as const, bpm })),
    ...[84, 104].map((bpm) => ({ kind: "swing" as const, bpm })),
    { kind: "click" as const, bpm: 110, lead: 6 },
    { kind: "drums" as const, bpm: 93, lead: 4 },
  ];

  it.each(cases)(
    "within 1 % of the truth, beats on the onsets: $kind at $bpm BPM (lead silence $lead s)",
    async (c) => {
      const path = join(dir, `${c.kind}-${c.bpm}.wav`);
      const o = { bpm: c.bpm, seconds: 30, ...(c.lead ? { leadSilenceSec: c.lead } : {}) };
      if (c.kind === "click") await makeClickTrack(path, o);
      else await makeDrumLoop(path, { ...o, swing: c.kind === "swing" });
      const tempo = await analyse(path, "tempo");
      expect(tempo.reason).toBeNull();
      expect(Math.abs((tempo.bpm ?? 0) - c.bpm) / c.bpm).toBeLessThan(0.01);
      expect(tempo.confidence).toBeGreaterThan(0.8);
      const truth = beatTimes(o);
      // Nearly every beat found, each within 30 ms of its onset, none in the leading silence.
      expect(tempo.beats_sec.length).toBeGreaterThanOrEqual(truth.length - 2);
      for (const b of tempo.beats_sec) expect(nearest(truth, b)).toBeLessThan(0.03);
      expect(Math.min(...tempo.beats_sec)).toBeGreaterThan((c.lead ?? 0) - 0.05);
    },
  );

  it("withholds a tempo where there is no steady beat (speech, noise, silence), saying why", async () => {
    const speech = await makeSpeech(
      join(dir, "speech.wav"),
      "The engine decodes each input once for every output it writes. Analyses read the same frames, so a job that " +
        "transcodes and measures pays for one decode. Speech has onsets, but no steady beat to count.",
    );
    const noise = join(dir, "noise.wav");
    await run("ffmpeg", [
      "-v",
      "error",
      "-y",
      "-f",
      "lavfi",
      "-i",
      "anoisesrc=d=15:c=pink:a=0.3:seed=7",
      noise,
    ]);
    const silence = await writeWav(join(dir, "silence.wav"), new Float32Array(44100 * 10));
    for (const path of [speech, noise]) {
      expect(await analyse(path, "tempo")).toMatchObject({
        bpm: null,
        beats_sec: [],
        reason: "no steady beat",
      });
    }
    expect(await analyse(silence, "tempo")).toMatchObject({
      bpm: null,
      confidence: 0,
      reason: "no beat: the audio is silent",
    });
  });
});

describe("key", () => {
  const names = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"];
  const cases = names.flatMap((name, i) =>
    (["major", "minor"] as const).flatMap((mode) =>
      (["cadence", "scale"] as const).map((form) => ({ key: `${name} ${mode}`, tonic: 60 + i, mode, form })),
    ),
  );

  it("is right on every synthetic case: 24 keys as cadences and as scales", async () => {
    const wrong: string[] = [];
    for (const c of cases) {
      const path = join(dir, "key.wav");
      const minor = c.mode === "minor";
      await makeNotes(path, c.form === "cadence" ? cadence(c.tonic, minor) : scale(c.tonic, minor));
      const key = await analyse(path, "key");
      if (key.key !== c.key) wrong.push(`${c.form} in ${c.key}: ${key.key}`);
      expect(key.chroma).toHaveLength(12);
      // The chroma it was read from peaks on the tonic or its fifth (cadence chords double them).
      const top = key.chroma.indexOf(1);
      expect([c.tonic % 12, (c.tonic + 7) % 12]).toContain(top);
    }
    expect(wrong).toEqual([]);
  });

  it("names no key for unpitched sound or silence, saying why", async () => {
    const drums = await makeDrumLoop(join(dir, "drums-key.wav"), { bpm: 120, seconds: 10 });
    const silence = await writeWav(join(dir, "silence-key.wav"), new Float32Array(22050 * 5), 22050);
    expect(await analyse(drums, "key")).toMatchObject({ key: null, tonic: null, mode: null, confidence: 0 });
    expect(await analyse(silence, "key")).toMatchObject({ key: null, reason: "no key: the audio is silent" });
  });
});

describe("scenes, silence, black, freeze", () => {
  it("finds every cut between different sources within one frame, and no other", async () => {
    const clip = await makeCutsClip(join(dir, "cuts.mp4"), [
      { source: "testsrc2", frames: 53 },
      { source: "smptebars", frames: 48 },
      { source: "mandelbrot", frames: 61 },
      { source: "rgbtestsrc", frames: 40 },
      { source: "testsrc2", frames: 37 },
    ]);
    const scenes = await analyse(clip.path, "scenes");
    expect(scenes.scenes).toHaveLength(clip.cutsSec.length);
    clip.cutsSec.forEach((cut, i) => {
      expect(Math.abs((scenes.scenes[i]?.time_sec ?? -1) - cut)).toBeLessThanOrEqual(0.04 + 1e-6);
      expect(scenes.scenes[i]?.score).toBeGreaterThanOrEqual(10);
    });
    expect(scenes.frames).toBe(53 + 48 + 61 + 40 + 37);
  });

  it("finds silences, black and frozen picture within 50 ms of where they were put", async () => {
    const clip = await makeIntervalsClip(join(dir, "intervals.mkv"));
    const within = (got: { start_sec: number; end_sec: number }[], want: [number, number][]) => {
      expect(got).toHaveLength(want.length);
      want.forEach(([start, end], i) => {
        expect(Math.abs((got[i]?.start_sec ?? -1) - start)).toBeLessThan(0.05);
        expect(Math.abs((got[i]?.end_sec ?? -1) - end)).toBeLessThan(0.05);
      });
    };
    within((await analyse(clip.path, "silence")).silences, clip.silence);
    within((await analyse(clip.path, "black")).black, clip.black);
    within((await analyse(clip.path, "freeze", { minDurationSec: 1 })).freeze, clip.freeze);
    // A stretch shorter than the minimum is not reported.
    expect((await analyse(clip.path, "silence", { minDurationSec: 1.0 })).silences).toHaveLength(1);
  });

  it("closes a stretch still open at the end at the media's end", async () => {
    const path = join(dir, "fade-out.mkv");
    await run("ffmpeg", [
      ...["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=160x90:r=25:d=3,fade=out:st=1.5:d=0.2"],
      ...[
        "-f",
        "lavfi",
        "-i",
        "sine=d=1.5,apad=whole_dur=3",
        "-c:v",
        "libx264",
        "-qp",
        "0",
        "-c:a",
        "pcm_s16le",
        path,
      ],
    ]);
    const black = await analyse(path, "black");
    expect(black.black).toHaveLength(1);
    expect(black.black[0]?.end_sec).toBeCloseTo(3, 1);
    const silence = await analyse(path, "silence");
    expect(silence.silences[0]?.start_sec).toBeCloseTo(1.5, 1);
    expect(silence.silences[0]?.end_sec).toBeCloseTo(3, 1);
    expect(silence.total_silence_sec).toBeCloseTo(1.5, 1);
  });
});

describe("loudness", () => {
  it("measures within 0.1 LU of FFmpeg's ebur128 (integrated, range) and its true peak, with a momentary curve", async () => {
    const path = join(dir, "dynamics.wav");
    await run("ffmpeg", [
      ...["-v", "error", "-y", "-f", "lavfi", "-i", "anoisesrc=d=20:c=pink:a=0.5:seed=3"],
      ...["-af", "volume='if(lt(t,8),0.05,if(lt(t,14),0.8,0.2))':eval=frame", "-ac", "2", path],
    ]);
    const cli = await ebur128Cli(path);
    const loudness = await analyse(path, "loudness", { momentaryPoints: 10_000 });
    expect(Math.abs((loudness.integrated_lufs ?? 0) - cli.integrated)).toBeLessThanOrEqual(0.1);
    expect(Math.abs((loudness.loudness_range_lu ?? 0) - cli.range)).toBeLessThanOrEqual(0.1);
    expect(Math.abs((loudness.true_peak_dbtp ?? 0) - cli.truePeak)).toBeLessThanOrEqual(0.1);
    // One point per 100 ms, times rising; the loud middle is where the curve says it is.
    expect(loudness.momentary.length).toBeGreaterThanOrEqual(195);
    const loudest = loudness.momentary.reduce((a, b) => (b.lufs > a.lufs ? b : a));
    expect(loudest.time_sec).toBeGreaterThan(8);
    expect(loudest.time_sec).toBeLessThan(14.5);
    // Decimated for a long input: at most the asked points, the peak kept.
    const few = await analyse(path, "loudness", { momentaryPoints: 20 });
    expect(few.momentary.length).toBeLessThanOrEqual(20);
    expect(Math.max(...few.momentary.map((m) => m.lufs))).toBe(loudest.lufs);
  });
});

describe("fingerprint", () => {
  it("gives fpcalc's own Chromaprint string", async () => {
    const loop = await makeDrumLoop(join(dir, "fp-loop.wav"), { bpm: 101, seconds: 40 });
    const speech = await makeSpeech(
      join(dir, "fp-speech.wav"),
      "Fingerprints are compared bit by bit where they line up.",
    );
    const clip = await makeClip(join(dir, "fp-clip.mp4"), { seconds: 12, width: 160, height: 90 });
    for (const path of [loop, speech, clip]) {
      const print = await analyse(path, "fingerprint");
      expect(print.chromaprint).not.toBeNull();
      expect(print.chromaprint).toBe(await fpcalc(path));
    }
  });

  it("hashes pictures so that a re-encode at another size stays within a few bits, another picture far", async () => {
    const original = await makeClip(join(dir, "ph-a.mp4"), {
      seconds: 4,
      width: 640,
      height: 360,
      audio: false,
    });
    const smaller = join(dir, "ph-b.mp4");
    await run("ffmpeg", ["-v", "error", "-y", "-i", original, "-vf", "scale=320:180", "-crf", "35", smaller]);
    const other = join(dir, "ph-c.mp4");
    await run("ffmpeg", [
      "-v",
      "error",
      "-y",
      "-f",
      "lavfi",
      "-i",
      "mandelbrot=s=640x360:r=25,trim=duration=4",
      other,
    ]);
    const [a, b, c] = await Promise.all(
      [original, smaller, other].map((p) => analyse(p, "fingerprint", { frameIntervalSec: 1 })),
    );
    const bits = (x: string, y: string) =>
      [...(BigInt(`0x${x}`) ^ BigInt(`0x${y}`)).toString(2)].filter((d) => d === "1").length;
    expect(a?.frame_hashes.map((h) => h.time_sec)).toEqual([0, 1, 2, 3]);
    expect(a?.chromaprint).toBeNull();
    expect(a?.reason).toBe("the input has no audio to fingerprint");
    a?.frame_hashes.forEach((h, i) => {
      expect(bits(h.phash, b?.frame_hashes[i]?.phash ?? "")).toBeLessThanOrEqual(6);
      expect(bits(h.phash, c?.frame_hashes[i]?.phash ?? "")).toBeGreaterThanOrEqual(16);
    });
  });
});

describe("highlights", () => {
  it("ranks three known highlight moments of a 3-minute input among the top five, on their cuts", async () => {
    const clip = await makeHighlightsClip(join(dir, "long.mp4"));
    const highlights = await analyse(clip.path, "highlights", { count: 5, minSec: 3, maxSec: 15 });
    const top = highlights.segments.slice(0, 5);
    for (const [start, end] of clip.moments) {
      const hit = top.find(
        (s) => Math.min(s.end_sec, end) - Math.max(s.start_sec, start) > 0.5 * (end - start),
      );
      expect(hit, `moment at ${start}–${end}`).toBeDefined();
      // It starts on the moment's cut, not mid-way.
      expect(Math.abs((hit?.start_sec ?? -1) - start)).toBeLessThan(0.1);
      expect(hit?.reasons).toEqual(
        expect.arrayContaining(["loud", "scene_change", "motion", "starts_at_cut"]),
      );
    }
    for (const s of highlights.segments) {
      expect(s.end_sec - s.start_sec).toBeGreaterThanOrEqual(3 - 1e-6);
      expect(s.end_sec - s.start_sec).toBeLessThanOrEqual(15 + 1e-6);
    }
    const scores = highlights.segments.map((s) => s.score);
    expect(scores).toEqual([...scores].sort((x, y) => y - x));
  });
});

describe("probe", () => {
  it("says what the input is and flags alpha, HDR, interlacing, variable frame rate and rotation", async () => {
    const make = (name: string, args: string[]) =>
      run("ffmpeg", ["-v", "error", "-y", ...args, join(dir, name)]).then(() => join(dir, name));
    const src = ["-f", "lavfi", "-i", "testsrc2=s=160x96:r=25:d=1"];
    const files = {
      hdr: await make("hdr.mp4", [
        ...src,
        "-c:v",
        "libx265",
        "-x265-params",
        "log-level=none",
        "-pix_fmt",
        "yuv420p10le",
        "-color_trc",
        "smpte2084",
        "-color_primaries",
        "bt2020",
        "-colorspace",
        "bt2020nc",
      ]),
      interlaced: await make("interlaced.mp4", [
        ...src,
        "-c:v",
        "libx264",
        "-flags",
        "+ildct+ilme",
        "-x264opts",
        "tff=1",
      ]),
      gif: await make("anim.gif", [...src]),
      png: await make("still.png", [...src, "-frames:v", "1"]),
      alpha: await make("alpha.png", [
        "-f",
        "lavfi",
        "-i",
        "color=red@0.5:s=32x32,format=rgba",
        "-frames:v",
        "1",
      ]),
      rotated: await makeClip(join(dir, "rotated.mp4"), { seconds: 1, rotate: 90 }),
      wav: await makeClickTrack(join(dir, "clicks.wav"), { bpm: 120, seconds: 2 }),
      subtitles: join(dir, "subs.srt"),
    };
    await writeFile(files.subtitles, "1\n00:00:00,000 --> 00:00:01,000\nhello\n");
    const probe = async (path: string) => {
      const result = await engine.run({
        inputPath: path,
        outputs: [{ kind: "probe", name: "p", path: join(dir, "p.json") }],
      });
      return result.outputs[0]?.probe;
    };
    expect(await probe(files.hdr)).toMatchObject({
      media_kind: "video",
      hdr: true,
      color_transfer: "smpte2084",
      interlaced: false,
    });
    expect(await probe(files.interlaced)).toMatchObject({
      media_kind: "video",
      interlaced: true,
      hdr: false,
    });
    expect(await probe(files.gif)).toMatchObject({ media_kind: "animated_image" });
    expect(await probe(files.png)).toMatchObject({ media_kind: "image", has_alpha: false });
    expect(await probe(files.alpha)).toMatchObject({ media_kind: "image", has_alpha: true });
    expect(await probe(files.rotated)).toMatchObject({
      media_kind: "video",
      rotation: 90,
      variable_frame_rate: false,
    });
    expect(await probe(files.wav)).toMatchObject({ media_kind: "audio", rotation: 0 });
    expect(await probe(files.subtitles)).toMatchObject({ media_kind: null });
  });
});

describe("thumbnails, one per scene", () => {
  it("writes one still per scene, from inside the scene rather than its first (black, fading-in) frame", async () => {
    const path = join(dir, "scenes.mp4");
    await run("ffmpeg", [
      ...["-v", "error", "-y", "-filter_complex"],
      "testsrc2=s=320x180:r=25:d=3[a];smptebars=s=320x180:r=25:d=3,fade=in:st=0:d=1[b];mandelbrot=s=320x180:r=25,trim=duration=3[c];" +
        "[a][b][c]concat=n=3:v=1:a=0,format=yuv420p",
      ...["-c:v", "libx264", "-preset", "ultrafast", path],
    ]);
    const result = await engine.run({
      inputPath: path,
      outputs: [
        thumbsOut(dir, "per-scene", { select: { mode: "scenes", threshold: 10 }, sprite: { columns: 3 } }),
      ],
    });
    const facts = result.outputs[0];
    const times = facts?.thumbnails?.map((t) => t.time_sec) ?? [];
    expect(times).toHaveLength(3);
    // Each still lies in its own scene; the fading scene's is past its fade-in.
    expect(times[0]).toBeLessThan(3);
    expect(times[1]).toBeGreaterThanOrEqual(4);
    expect(times[1]).toBeLessThan(6);
    expect(times[2]).toBeGreaterThanOrEqual(6);
    expect(facts?.sprite).toMatchObject({ columns: 3 });
    // Not black: the picture has detail.
    const { stdout } = await run("ffmpeg", [
      ...[
        "-v",
        "error",
        "-i",
        join(dir, "per-scene", "thumb-0002.jpg"),
        "-vf",
        "signalstats,metadata=print:file=-",
      ],
      ...["-f", "null", "-"],
    ]);
    expect(Number(/lavfi\.signalstats\.YAVG=([\d.]+)/.exec(stdout)?.[1])).toBeGreaterThan(40);
  });
});

describe("analyses in the shared decode", () => {
  it("runs beside a transcode in one decode, each analysis output with its own progress to 100", async () => {
    const clip = await makeClip(join(dir, "shared.mp4"), { seconds: 4, width: 320, height: 180 });
    const ticks: EngineProgress[] = [];
    const result = await engine.run(
      {
        inputPath: clip,
        outputs: [
          videoOut(dir, "small", { video: h264({ maxHeight: 90 }) }),
          analysisOut(dir, "loud", "loudness"),
          analysisOut(dir, "cuts", "scenes"),
          analysisOut(dir, "quiet", "silence"),
        ],
      },
      { onProgress: (p) => ticks.push(p) },
    );
    expect(result.outputs.map((o) => o.name)).toEqual(["small", "loud", "cuts", "quiet"]);
    const [video, loud, cuts, quiet] = result.outputs as OutputFacts[];
    expect(video?.video?.height).toBe(90);
    expect(loud?.analysis).toMatchObject({ kind: "loudness", duration_sec: expect.closeTo(4, 0) });
    expect(cuts?.analysis).toMatchObject({ kind: "scenes", scenes: [], frames: 100 });
    expect(quiet?.analysis).toMatchObject({ kind: "silence", silences: [] });
    for (const name of ["loud", "cuts", "quiet"]) {
      const own = ticks.filter((t) => t.output === name);
      expect(own.at(-1), name).toMatchObject({ percent: 100 });
      const percents = own.map((t) => t.percent ?? 0);
      expect(percents).toEqual([...percents].sort((a, b) => a - b));
    }
  });

  it("refuses kinds an input lacks the streams for (INPUT_NO_STREAMS) and unreadable input (INPUT_UNREADABLE)", async () => {
    const audioOnly = await makeClickTrack(join(dir, "no-video.wav"), { bpm: 100, seconds: 3 });
    const videoOnly = await makeClip(join(dir, "no-audio.mp4"), { seconds: 1, audio: false });
    const garbage = await makeGarbage(join(dir, "garbage.mp4"));
    const subtitles = join(dir, "only.srt");
    await writeFile(subtitles, "1\n00:00:00,000 --> 00:00:01,000\nhello\n");
    const outcome = (input: string, kind: Parameters<typeof analysisOut>[2]) =>
      engine.run({ inputPath: input, outputs: [analysisOut(dir, "x", kind)] }).then(
        () => "ok",
        (e: unknown) => (e instanceof EngineError ? e.code : `threw ${String(e)}`),
      );
    for (const kind of ["scenes", "black", "freeze"] as const)
      expect(await outcome(audioOnly, kind), kind).toBe("INPUT_NO_STREAMS");
    for (const kind of ["loudness", "silence", "tempo", "key"] as const)
      expect(await outcome(videoOnly, kind), kind).toBe("INPUT_NO_STREAMS");
    for (const kind of ["fingerprint", "highlights"] as const)
      expect(await outcome(subtitles, kind), kind).toBe("INPUT_NO_STREAMS");
    for (const kind of [
      "loudness",
      "silence",
      "scenes",
      "black",
      "freeze",
      "tempo",
      "key",
      "fingerprint",
      "highlights",
    ] as const) {
      expect(await outcome(garbage, kind), kind).toBe("INPUT_UNREADABLE");
    }
    // Audio-only and video-only inputs still give what they can.
    expect((await analyse(videoOnly, "fingerprint")).chromaprint).toBeNull();
    expect((await analyse(audioOnly, "highlights")).segments.length).toBeGreaterThanOrEqual(0);
  });

  it("gives clear answers, never made-up numbers, for a video whose audio track is silent", async () => {
    const path = join(dir, "silent-track.mp4");
    await run("ffmpeg", [
      ...[
        "-v",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=160x90:r=25:d=6",
        "-f",
        "lavfi",
        "-i",
        "anullsrc=r=48000:d=6",
      ],
      ...["-shortest", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", path],
    ]);
    expect(await analyse(path, "tempo")).toMatchObject({ bpm: null, reason: "no beat: the audio is silent" });
    expect(await analyse(path, "key")).toMatchObject({ key: null, reason: "no key: the audio is silent" });
    expect(await analyse(path, "loudness")).toMatchObject({
      integrated_lufs: null,
      loudness_range_lu: null,
      true_peak_dbtp: null,
      reason: expect.stringContaining("silent"),
    });
    const silence = await analyse(path, "silence");
    expect(silence.silences).toHaveLength(1);
    expect(silence.total_silence_sec).toBeCloseTo(6, 0);
    const print = await analyse(path, "fingerprint");
    expect(print.frame_hashes.length).toBeGreaterThan(0);
  });
});
