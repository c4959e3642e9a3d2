import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { AnalysisFacts, AnalysisFactsOf } from "@framewire/shared/media";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../../native/lib/engine";
import { createNativeEngine } from "../../native/lib/native-engine";
import { analysisOut } from "../../native/test/plans";
import { aubioBeats, cliFilterFindings, ebur128Cli, fpcalc } from "../support/media";
import { corpusCases, needsTimelineRepair } from "./cases";
import { ensureCorpus } from "./fetch";

/**
 * The analyses on the real-world corpus beside the peer tools, on the same files: fpcalc
 * (Chromaprint), FFmpeg's own filters run by the ffmpeg CLI (ebur128, scdet, blackdetect,
 * silencedetect) and aubio (tempo). Files whose timestamps need the native engine's repair are left
 * out of the filter comparisons (what the CLI measures on them is not their media: see cases.ts);
 * Chromaprint reads the decoded audio as fpcalc does, so it is compared on every file. The table
 * lands in test-artifacts/analysis-peers.json.
 */

const root = resolve(import.meta.dirname, "../..");
let corpus: Record<string, string>;
let engine: Engine;
let dir: string;
const table: Record<string, unknown>[] = [];

beforeAll(async () => {
  corpus = await ensureCorpus();
  engine = await createNativeEngine();
  dir = await mkdtemp(join(tmpdir(), "fw-peers-"));
}, 600_000);

afterAll(async () => {
  await engine?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  const out = join(root, "test-artifacts");
  await mkdir(out, { recursive: true });
  await writeFile(join(out, "analysis-peers.json"), `${JSON.stringify(table, null, 2)}\n`);
});

type Kind = AnalysisFacts["kind"];

/** Several analyses of one file in one run (one decode), by kind. */
async function analyse<K extends Kind>(file: string, kinds: K[]): Promise<{ [k in K]: AnalysisFactsOf<k> }> {
  const result = await engine.run({
    inputPath: corpus[file] ?? "",
    outputs: kinds.map((kind) => analysisOut(dir, kind, kind)),
  });
  return Object.fromEntries(result.outputs.map((o) => [o.analysis?.kind, o.analysis])) as {
    [k in K]: AnalysisFactsOf<k>;
  };
}

const withAudio = corpusCases.filter((c) => c.audio);
const withVideo = corpusCases.filter((c) => c.aspect !== null && !c.still);
const clean = (file: string) => !needsTimelineRepair.has(file);

describe("analyses on real media against the peer tools", () => {
  it.each(withAudio.map((c) => c.file))("%s: Chromaprint as fpcalc prints it", async (file) => {
    const facts = await analyse(file, ["fingerprint"]);
    const theirs = await fpcalc(corpus[file] ?? "");
    table.push({ file, chromaprint_same_as_fpcalc: facts.fingerprint.chromaprint === theirs });
    expect(facts.fingerprint.chromaprint).toBe(theirs);
  });

  it.each(withAudio.filter((c) => clean(c.file)).map((c) => c.file))(
    "%s: loudness as FFmpeg's ebur128, silences as its silencedetect",
    async (file) => {
      const facts = await analyse(file, ["loudness", "silence"]);
      const path = corpus[file] ?? "";
      const cli = await ebur128Cli(path);
      const ours = facts.loudness;
      const peer = await cliFilterFindings(path, "silencedetect", "noise=-50dB:duration=0.5");
      table.push({
        file,
        loudness: {
          ours: [ours.integrated_lufs, ours.loudness_range_lu, ours.true_peak_dbtp],
          cli: [cli.integrated, cli.range, cli.truePeak],
        },
        silences: { ours: facts.silence.silences, cli: peer.spans },
      });
      expect(Math.abs((ours.integrated_lufs ?? -70) - cli.integrated)).toBeLessThanOrEqual(0.1);
      expect(Math.abs((ours.loudness_range_lu ?? 0) - cli.range)).toBeLessThanOrEqual(0.1);
      expect(Math.abs((ours.true_peak_dbtp ?? 0) - cli.truePeak)).toBeLessThanOrEqual(0.1);
      expect(facts.silence.silences).toHaveLength(peer.spans.length);
      facts.silence.silences.forEach((s, i) => {
        const [start, end] = peer.spans[i] ?? [Number.NaN, Number.NaN];
        expect(Math.abs(s.start_sec - start)).toBeLessThan(0.05);
        expect(Math.abs(s.end_sec - end)).toBeLessThan(0.05);
      });
    },
    120_000,
  );

  it.each(withVideo.filter((c) => clean(c.file)).map((c) => c.file))(
    "%s: cuts and black as FFmpeg's scdet and blackdetect",
    async (file) => {
      const facts = await analyse(file, ["scenes", "black"]);
      const path = corpus[file] ?? "";
      const cuts = await cliFilterFindings(path, "scdet", "threshold=10");
      const black = await cliFilterFindings(path, "blackdetect", "d=0.1:pix_th=0.1:pic_th=0.98");
      table.push({
        file,
        cuts: { ours: facts.scenes.scenes.map((s) => s.time_sec), cli: cuts.cuts },
        black: { ours: facts.black.black, cli: black.spans },
      });
      // The CLI lists a cut on the first frame never (no frame before it): the same rule as ours.
      // Within half a frame: the CLI and the engine shift a late-starting stream to 0 each its own way.
      const ours = facts.scenes.scenes.map((s) => s.time_sec);
      expect(ours.length).toBe(cuts.cuts.length);
      ours.forEach((t, i) => {
        expect(Math.abs(t - (cuts.cuts[i] ?? -1))).toBeLessThanOrEqual(0.02);
      });
      // blackdetect's log ends a stretch running to the end at the last frame's start; ours at its end.
      expect(facts.black.black.length).toBe(black.spans.length);
      facts.black.black.forEach((b, i) => {
        expect(Math.abs(b.start_sec - (black.spans[i]?.[0] ?? -1))).toBeLessThan(0.05);
      });
    },
    120_000,
  );

  it("tempo: where aubio's own beats are steady, ours is aubio's tempo or a metrical level of it", async () => {
    const rows: { file: string; ours: number; aubio: number; steady: number; level: number | null }[] = [];
    for (const c of corpusCases.filter((k) => k.file.startsWith("music-"))) {
      const facts = await analyse(c.file, ["tempo", "key"]);
      // aubio's tempo from its own beats (its `tempo` figure is quantized to 11.6 ms hops, ~1 %),
      // and how steady they are: the share of beat intervals within 5 % of their median.
      const beats = await aubioBeats(corpus[c.file] ?? "");
      const intervals = beats
        .slice(1)
        .map((b, i) => b - (beats[i] ?? 0))
        .sort((a, b) => a - b);
      const median = intervals[Math.floor(intervals.length / 2)] ?? 0;
      const steady = intervals.filter((d) => Math.abs(d - median) < 0.05 * median).length / intervals.length;
      const aubio = 60 / median;
      const ours = facts.tempo.bpm ?? 0;
      const level =
        [1, 2, 0.5, 1.5, 2 / 3].find((r) => Math.abs(ours - aubio * r) / (aubio * r) < 0.03) ?? null;
      rows.push({ file: c.file, ours, aubio, steady, level });
      table.push({
        file: c.file,
        tempo: { ours, aubio, aubio_steady_share: steady, level },
        key: facts.key.key,
      });
    }
    // Where aubio's beats wander (rubato) it is no reference: recorded in the table, not held to.
    const steadyRows = rows.filter((r) => r.steady >= 0.8);
    expect(steadyRows.length).toBeGreaterThanOrEqual(2);
    expect(steadyRows.filter((r) => r.level === null)).toEqual([]);
    expect(rows.every((r) => r.ours > 0)).toBe(true);
  }, 300_000);
});
