import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Engine, EngineError, type OutputFacts, type Plan } from "../../native/lib/engine";
import { createNativeEngine } from "../../native/lib/native-engine";
import { createWasmEngine } from "../../native/lib/wasm-engine";
import {
  type CorpusCase,
  corpusCases,
  expectedDuration,
  type OutputType,
  outputTypes,
  refusal,
  wasmOutcome,
} from "./cases";
import {
  dashProblems,
  loudnessFileProblems,
  near,
  pictureProblems,
  uprightProblems,
  videoFileProblems,
} from "./checks";
import { ensureCorpus } from "./fetch";
import { outputFor } from "./plans";
import { loudnessOf, probeFile } from "./probe";

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

const root = resolve(import.meta.dirname, "../..");

interface Row {
  file: string;
  type: OutputType;
  outcome: string;
  problems: string[];
}

/** What a user would notice is wrong with one output; empty when it is right. */
async function problemsOf(
  c: CorpusCase,
  type: OutputType,
  facts: OutputFacts,
  corpus: Record<string, string>,
  engine: "native" | "wasm",
): Promise<string[]> {
  const want = expectedDuration(c, type === "mp4" || type === "webm" || type === "audio");
  switch (type) {
    case "mp4":
    case "webm":
      return videoFileProblems(c, facts.path, type, want);
    case "hls": {
      const problems: string[] = [];
      if (!existsSync(facts.path)) problems.push("no master playlist");
      // Every rendition: its own right picture, and as many segments as the others.
      const counts = new Set<number>();
      for (const rendition of ["180p", "120p"]) {
        const segments = facts.files?.filter(
          (f) => f.relativePath.startsWith(`${rendition}/`) && f.relativePath.endsWith(".ts"),
        );
        const first = segments?.[0];
        if (!first) return [...problems, `${rendition}: no segments`];
        counts.add(segments.length);
        const p = await probeFile(first.path);
        if (p.video?.codec !== "h264")
          problems.push(`${rendition}: segment video ${p.video?.codec ?? "missing"}`);
        if (p.video) problems.push(...pictureProblems(c, p.video).map((x) => `${rendition}: ${x}`));
        if ((p.audio !== null) !== c.audio)
          problems.push(`${rendition}: audio ${p.audio ? "present" : "missing"}`);
      }
      if (counts.size > 1) problems.push(`renditions with ${[...counts].join(" and ")} segments`);
      if (!near(facts.durationSec, want)) {
        problems.push(`duration ${facts.durationSec?.toFixed(2)} s, want ${want.toFixed(2)}`);
      }
      return problems;
    }
    case "dash":
      return dashProblems(c, facts, want);
    case "thumbnails": {
      const problems: string[] = [];
      const count = c.still ? 1 : 4;
      if ((facts.thumbnails ?? []).length !== count) {
        problems.push(`${facts.thumbnails?.length ?? 0} thumbnails, want ${count}`);
      }
      for (const file of facts.files?.filter((f) => /thumb-\d+\.jpg$/.test(f.relativePath)) ?? []) {
        const p = await probeFile(file.path);
        if (!p.video) problems.push(`${file.relativePath} unreadable`);
        else problems.push(...pictureProblems(c, p.video).filter((x) => !x.startsWith("pix_fmt")));
      }
      const first = facts.files?.find((f) => f.relativePath === "thumb-0001.jpg");
      if (first) problems.push(...(await uprightProblems(c, first.path, corpus)));
      if (engine === "native" && !facts.sprite) problems.push("no sprite");
      return problems;
    }
    case "audio": {
      // One ebur128 pass (true peak oversamples 4×, the slowest check here) serves both checks.
      const measured = await loudnessOf(facts.path);
      const problems = await loudnessFileProblems(facts.path, want, measured);
      const l = facts.loudness;
      if (!l || Math.abs(l.output_lufs - measured.lufs) > 0.5 || typeof l.limited !== "boolean") {
        problems.push(`facts.loudness ${JSON.stringify(l)}`);
      }
      return problems;
    }
    case "analysis": {
      const json = JSON.parse(await readFile(facts.path, "utf8")) as { streams?: unknown[] };
      return Array.isArray(json.streams) && json.streams.length > 0 ? [] : ["no streams in the analysis"];
    }
  }
}

let corpus: Record<string, string>;
const tables: Record<"native" | "wasm", Row[]> = { native: [], wasm: [] };

beforeAll(async () => {
  // A missing corpus is fetched here (apt-get download from Debian's archive); one that can be
  // neither found nor fetched fails the suite loudly rather than skipping it.
  corpus = await ensureCorpus();
}, 600_000);

afterAll(async () => {
  const out = join(root, "test-artifacts");
  await mkdir(out, { recursive: true });
  for (const [engine, rows] of Object.entries(tables)) {
    if (rows.length === 0) continue;
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

/**
 * DASH runs over every real file in streaming.int.test.ts, as the shared HLS+DASH ladder a job with
 * both gets (the same CMAF encode a DASH-only output makes), and the ASan job runs it per file:
 * a second CMAF ladder per file here added ~25 s to the suite and no coverage.
 */
const nativeTableTypes = outputTypes.filter((t) => t !== "dash");

describe("real-world corpus: native engine", () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await createNativeEngine();
  });
  afterAll(() => engine?.close());

  it("fails fast with INPUT_UNREADABLE, naming the stream, when a real file is damaged beyond use", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fw-damaged-"));
    try {
      // 20,000 bits flipped over 5–95 % of a real Matroska file (fixed seed): its AAC is gone.
      const bytes = await readFile(corpus["mkv-mpeg4-aac51.mkv"] ?? "");
      let seed = 7;
      for (let i = 0; i < 20_000; i++) {
        seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
        const at = Math.floor(bytes.length * (0.05 + (0.9 * seed) / 2 ** 32));
        bytes[at] = (bytes[at] ?? 0) ^ (1 << (seed % 8));
      }
      const input = join(dir, "ruined.mkv");
      await writeFile(input, bytes);
      const c = corpusCases.find((k) => k.file === "mkv-mpeg4-aac51.mkv");
      if (!c) throw new Error("not a corpus case");
      const started = Date.now();
      const error = await engine
        .run({ inputPath: input, outputs: [outputFor("mp4", c, dir, "native")] })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EngineError);
      expect(error).toMatchObject({
        code: "INPUT_UNREADABLE",
        message: expect.stringMatching(/audio stream is damaged/),
      });
      expect(Date.now() - started).toBeLessThan(5000);
      expect(existsSync(join(dir, "out.mp4"))).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each(corpusCases.map((c) => [c.file, c] as const))(
    "%s",
    async (_, c) => {
      const rows = await runCase(engine, "native", c, nativeTableTypes);
      tables.native.push(...rows);
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
      tables.wasm.push(...rows);
      expect(
        rows.map((r) => ({ type: r.type, outcome: r.outcome.split(":")[0], problems: r.problems })),
      ).toEqual(rows.map((r) => ({ type: r.type, outcome: wasmOutcome(c, r.type), problems: [] })));
    },
    180_000,
  );
});
