import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Engine,
  EngineError,
  type OutputFacts,
  type Plan,
  type PlanOutput,
} from "../../native/lib/engine";
import { createNativeEngine } from "../../native/lib/native-engine";
import { createWasmEngine } from "../../native/lib/wasm-engine";
import {
  type CorpusCase,
  corpusCases,
  durationTolerance,
  expectedDuration,
  type OutputType,
  outputTypes,
  refusal,
  wasmOutcome,
} from "./cases";
import { ensureCorpus } from "./fetch";
import { greyPixels, loudnessOf, pictureDistance, probeFile } from "./probe";

/**
 * The expectation table over the real-world corpus (test/corpus): every file × every output type,
 * each output probed with the ffmpeg CLI's ffprobe (independent of the engines) and held to what a
 * user would notice: browser-playable (codec, yuv420p, even sizes), the real media duration within
 * 5 % or 0.35 s, the display aspect kept, audio if and only if the source has it, -16 LUFS ± 1 LU
 * with true peaks at or under -1 dBTP, thumbnails upright. Output types an input cannot make are
 * refused with INPUT_NO_STREAMS. The native engine runs the whole table; the wasm engine runs the
 * files that break naive FFmpeg use, and either writes the same correct result or refuses with
 * UNSUPPORTED, never a wrong file.
 */

const LOUDNESS_TARGET = -16;
const root = resolve(import.meta.dirname, "../..");

interface Row {
  file: string;
  type: OutputType;
  outcome: string;
  problems: string[];
}

function outputFor(type: OutputType, c: CorpusCase, dir: string, engine: "native" | "wasm"): PlanOutput {
  const name = `${type}`;
  const trim = c.trim ? { startSec: c.trim.startSec, endSec: c.trim.endSec } : null;
  const video = {
    maxWidth: null,
    maxHeight: 240,
    bitrateKbps: null,
    preset: "ultrafast" as const,
    fps: null,
    crop: null,
  };
  switch (type) {
    case "mp4":
      return {
        kind: "video",
        name,
        path: join(dir, "out.mp4"),
        container: "mp4",
        video: { ...video, codec: "h264", crf: 30 },
        audio: { codec: "aac", bitrateKbps: 96, channels: null, sampleRate: null, loudnessTargetLufs: null },
        trim,
      };
    case "webm":
      return {
        kind: "video",
        name,
        path: join(dir, "out.webm"),
        container: "webm",
        video: { ...video, codec: "vp9", crf: 40 },
        audio: { codec: "opus", bitrateKbps: 64, channels: null, sampleRate: null, loudnessTargetLufs: null },
        trim,
      };
    case "hls":
      return {
        kind: "hls",
        name,
        dir: join(dir, "hls"),
        segmentSec: 2,
        preset: "ultrafast",
        renditions: [{ name: "180p", maxHeight: 180, videoBitrateKbps: 400, audioBitrateKbps: 64 }],
      };
    case "thumbnails":
      return {
        kind: "thumbnails",
        name,
        dir: join(dir, "thumbs"),
        format: "jpg",
        maxWidth: null,
        maxHeight: 90,
        select: { mode: "count", count: c.still ? 1 : 4 },
        sprite: engine === "native" ? { columns: 2 } : null,
      };
    case "audio":
      return {
        kind: "audio",
        name,
        path: join(dir, "out.m4a"),
        audio: {
          codec: "aac",
          bitrateKbps: 128,
          channels: null,
          sampleRate: null,
          loudnessTargetLufs: LOUDNESS_TARGET,
        },
        trim,
      };
    case "analysis":
      return { kind: "probe", name, path: join(dir, "facts.json") };
  }
}

function near(got: number | null, want: number): boolean {
  return got !== null && Math.abs(got - want) <= durationTolerance(want);
}

/** What a user would notice is wrong with one output; empty when it is right. */
async function problemsOf(
  c: CorpusCase,
  type: OutputType,
  facts: OutputFacts,
  corpus: Record<string, string>,
  engine: "native" | "wasm",
): Promise<string[]> {
  const problems: string[] = [];
  const want = expectedDuration(c, type === "mp4" || type === "webm" || type === "audio");
  const checkVideo = (v: {
    codec: string;
    pixFmt: string;
    width: number;
    height: number;
    sar: string | null;
  }) => {
    if (v.pixFmt !== "yuv420p") problems.push(`pix_fmt ${v.pixFmt}`);
    if (v.width % 2 !== 0 || v.height % 2 !== 0) problems.push(`odd size ${v.width}x${v.height}`);
    if (v.sar !== null && v.sar !== "1:1" && v.sar !== "0:1") problems.push(`non-square pixels ${v.sar}`);
    const aspect = c.aspect ?? 0;
    if (Math.abs(v.width / v.height - aspect) / aspect > 0.03) {
      problems.push(`aspect ${(v.width / v.height).toFixed(3)}, want ${aspect.toFixed(3)}`);
    }
  };
  switch (type) {
    case "mp4":
    case "webm": {
      const p = await probeFile(facts.path);
      if ((p.video !== null) !== (c.aspect !== null))
        problems.push(`video ${p.video ? "present" : "missing"}`);
      if ((p.audio !== null) !== c.audio) problems.push(`audio ${p.audio ? "present" : "missing"}`);
      if (p.video) {
        checkVideo(p.video);
        const codec = type === "mp4" ? "h264" : "vp9";
        if (p.video.codec !== codec) problems.push(`video codec ${p.video.codec}`);
      }
      if (p.audio && p.audio.codec !== (type === "mp4" ? "aac" : "opus"))
        problems.push(`audio codec ${p.audio.codec}`);
      if (!near(p.durationSec, want))
        problems.push(`duration ${p.durationSec?.toFixed(2)} s, want ${want.toFixed(2)}`);
      break;
    }
    case "hls": {
      const first = facts.files?.find((f) => f.relativePath.endsWith(".ts"));
      if (!existsSync(facts.path)) problems.push("no master playlist");
      if (!first) {
        problems.push("no segments");
        break;
      }
      const p = await probeFile(first.path);
      if (!p.video || p.video.codec !== "h264") problems.push(`segment video ${p.video?.codec ?? "missing"}`);
      if (p.video) checkVideo(p.video);
      if ((p.audio !== null) !== c.audio) problems.push(`audio ${p.audio ? "present" : "missing"}`);
      if (!near(facts.durationSec, want))
        problems.push(`duration ${facts.durationSec?.toFixed(2)} s, want ${want.toFixed(2)}`);
      break;
    }
    case "thumbnails": {
      const files = facts.thumbnails ?? [];
      const count = c.still ? 1 : 4;
      if (files.length !== count) problems.push(`${files.length} thumbnails, want ${count}`);
      for (const file of facts.files?.filter((f) => /thumb-\d+\.jpg$/.test(f.relativePath)) ?? []) {
        const p = await probeFile(file.path);
        if (!p.video) problems.push(`${file.relativePath} unreadable`);
        else if (Math.abs(p.video.width / p.video.height - (c.aspect ?? 1)) / (c.aspect ?? 1) > 0.06) {
          problems.push(`${file.relativePath} aspect ${(p.video.width / p.video.height).toFixed(3)}`);
        }
      }
      const first = facts.files?.find((f) => f.relativePath === "thumb-0001.jpg");
      if (c.uprightReference && first) {
        const p = await probeFile(first.path);
        const reference = corpus[c.uprightReference] ?? "";
        const size = [p.video?.width ?? 2, p.video?.height ?? 2] as const;
        const distance = pictureDistance(
          await greyPixels(first.path, ...size),
          await greyPixels(reference, ...size),
        );
        if (distance > 20)
          problems.push(`not upright (differs from the upright picture by ${distance.toFixed(1)})`);
      }
      if (engine === "native" && !facts.sprite) problems.push("no sprite");
      break;
    }
    case "audio": {
      const p = await probeFile(facts.path);
      if (p.video) problems.push("video in an audio output");
      if (!p.audio || p.audio.codec !== "aac") problems.push(`audio ${p.audio?.codec ?? "missing"}`);
      if (!near(p.durationSec, want))
        problems.push(`duration ${p.durationSec?.toFixed(2)} s, want ${want.toFixed(2)}`);
      if (engine === "native") {
        const measured = await loudnessOf(facts.path);
        if (Math.abs(measured.lufs - LOUDNESS_TARGET) > 1) problems.push(`loudness ${measured.lufs} LUFS`);
        if (measured.truePeakDbtp > -1) problems.push(`true peak ${measured.truePeakDbtp} dBTP`);
        const l = facts.loudness;
        if (!l || Math.abs(l.outputLufs - measured.lufs) > 0.5 || typeof l.limited !== "boolean") {
          problems.push(`facts.loudness ${JSON.stringify(l)}`);
        }
      }
      break;
    }
    case "analysis": {
      const json = JSON.parse(await readFile(facts.path, "utf8")) as { streams?: unknown[] };
      if (!Array.isArray(json.streams) || json.streams.length === 0)
        problems.push("no streams in the analysis");
      break;
    }
  }
  return problems;
}

let corpus: Record<string, string>;
const tables: Record<string, Row[]> = {};

beforeAll(async () => {
  // A missing corpus is fetched here (apt-get download from Debian's archive); one that can be
  // neither found nor fetched fails the suite loudly rather than skipping it.
  corpus = await ensureCorpus();
}, 600_000);

afterAll(async () => {
  const out = join(root, "test-artifacts");
  await mkdir(out, { recursive: true });
  for (const [engine, rows] of Object.entries(tables)) {
    await writeFile(join(out, `real-media-${engine}.json`), `${JSON.stringify(rows, null, 2)}\n`);
  }
});

async function runCase(
  engine: Engine,
  label: "native" | "wasm",
  c: CorpusCase,
  types: OutputType[],
): Promise<Row[]> {
  const dir = await mkdtemp(join(tmpdir(), "fw-real-"));
  const rows: Row[] = [];
  try {
    const input = corpus[c.file] ?? "";
    const made = types.filter((t) => refusal(c, t) === null);
    // Everything the input can make in one plan (the native engine decodes it once)...
    if (made.length > 0) {
      const plan: Plan = { inputPath: input, outputs: made.map((t) => outputFor(t, c, dir, label)) };
      const result = await engine.run(plan).then(
        (r) => r,
        (e: unknown) => (e instanceof EngineError ? e : new EngineError("ENGINE_FAILURE", String(e))),
      );
      for (const [i, type] of made.entries()) {
        const facts = result instanceof EngineError ? undefined : result.outputs[i];
        const problems = facts ? await problemsOf(c, type, facts, corpus, label) : [];
        const outcome = result instanceof EngineError ? `${result.code}: ${result.message}` : "ok";
        rows.push({ file: c.file, type, outcome, problems });
      }
    }
    // ...and each output it cannot make on its own, which must be refused with the reason.
    for (const type of types.filter((t) => refusal(c, t) !== null)) {
      const outcome = await engine.run({ inputPath: input, outputs: [outputFor(type, c, dir, label)] }).then(
        () => "ok",
        (e: unknown) => (e instanceof EngineError ? e.code : `THREW ${String(e)}`),
      );
      rows.push({ file: c.file, type, outcome, problems: [] });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return rows;
}

describe("real-world corpus: native engine", () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await createNativeEngine();
  });
  afterAll(() => engine?.close());

  it.each(corpusCases.map((c) => [c.file, c] as const))(
    "%s",
    async (_, c) => {
      const rows = await runCase(engine, "native", c, outputTypes);
      (tables.native ??= []).push(...rows);
      const wanted = rows.map((r) => ({
        type: r.type,
        outcome: refusal(c, r.type) ?? "ok",
        problems: [],
      }));
      expect(
        rows.map((r) => ({ type: r.type, outcome: r.outcome.split(":")[0], problems: r.problems })),
      ).toEqual(wanted);
    },
    120_000,
  );
});

/**
 * The wasm engine (FFmpeg's CLI in wasm) over the files that break naive FFmpeg use, plus a few
 * clean ones: each output on its own (it decodes once per output anyway). What it cannot do right
 * it refuses with UNSUPPORTED naming what it lacks; what it writes passes the same checks.
 */
const wasmFiles = [
  "mkv-mpeg4-aac51.mkv",
  "ogv-bogus-audio-ts.ogv",
  "asf-wmv2-wma.asf",
  "mkv-no-cues.mkv",
  "3gp-h263-amr.3gp",
  "dvd-anamorphic-mp2.mpg",
  "phone-vfr-rotated.mp4",
  "h264-hi444-10bit.mkv",
  "webm-bitflips.webm",
  "jpeg-exif-5.jpg",
  "speech-front-center.wav",
  "subtitles.srt",
];

describe("real-world corpus: wasm engine", () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await createWasmEngine();
  });
  afterAll(() => engine?.close());

  it.each(wasmFiles.map((file) => [file, corpusCases.find((c) => c.file === file)] as const))(
    "%s",
    async (_, c) => {
      if (!c) throw new Error("not a corpus case");
      const rows: Row[] = [];
      for (const type of outputTypes) rows.push(...(await runCase(engine, "wasm", c, [type])));
      (tables.wasm ??= []).push(...rows);
      expect(
        rows.map((r) => ({ type: r.type, outcome: r.outcome.split(":")[0], problems: r.problems })),
      ).toEqual(rows.map((r) => ({ type: r.type, outcome: wasmOutcome(c, r.type), problems: [] })));
    },
    180_000,
  );
});
