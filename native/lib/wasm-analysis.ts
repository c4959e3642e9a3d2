/**
 * Analyses in the wasm engine: FFmpeg 5.1.4's own filters run by the wasm build's CLI, their
 * findings read back from what the CLI prints (ebur128's frame log, silencedetect's lines; the
 * build has no `ametadata`) or from the video `metadata` filter's print file, into the same report
 * the addon gives, so both engines write the same documents (native/lib/analysis.ts). Tempo, key,
 * Chromaprint and highlights need what this build lacks and are refused, naming it.
 */
import type { AnalysisKind } from "@framewire/shared/media";
import type { AnalysisOptions } from "./engine";
import type { NativeAnalysisReport } from "./native-addon";

/** Where the video `metadata` filter prints each frame's findings. */
export const MEMFS_METADATA = "/work/metadata.txt";

/** The analysis kinds this build measures. */
export const WASM_ANALYSIS_KINDS: AnalysisKind[] = [
  "probe",
  "loudness",
  "silence",
  "scenes",
  "black",
  "freeze",
];

/** Why the wasm build cannot run an analysis (null: it can). */
export function wasmAnalysisUnsupported(analysis: AnalysisOptions): string | null {
  switch (analysis.kind) {
    case "tempo":
    case "key":
      return `${analysis.kind} analysis is the native engine's own DSP; this FFmpeg build has no ${analysis.kind} measurement`;
    case "fingerprint":
      return "the wasm FFmpeg build has no Chromaprint (no chromaprint muxer, no libchromaprint)";
    case "highlights":
      return "highlights need the native engine's feature extraction (pauses between words, per-step motion); the wasm engine has no equivalent";
    default:
      return null;
  }
}

const num = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(6));
const linear = (db: number) => (10 ** (db / 20)).toExponential(6);

/** The CLI arguments of one analysis; every value comes from a field checkPlan accepted. */
export function wasmAnalysisArgs(analysis: AnalysisOptions, input: string): string[] {
  const head = ["-hide_banner", "-nostats", "-progress", "pipe:1", "-stats_period", "0.25"];
  const audio = (level: string, filter: string) => [
    ...head,
    "-loglevel",
    level,
    "-i",
    input,
    "-vn",
    "-sn",
    "-af",
    filter,
    "-f",
    "null",
    "-",
  ];
  const video = (filter: string) => [
    ...head,
    ...["-loglevel", "error", "-i", input, "-an", "-sn"],
    ...["-vf", `${filter},metadata=mode=print:file=${MEMFS_METADATA}`, "-f", "null", "-"],
  ];
  switch (analysis.kind) {
    case "loudness":
      // The frame log is printed at the verbose level; the summary at info.
      return audio("verbose", "ebur128=framelog=verbose:peak=true");
    case "silence":
      return audio(
        "info",
        `silencedetect=noise=${linear(analysis.noiseDb)}:duration=${num(analysis.minDurationSec)}`,
      );
    case "scenes":
      return video(`scdet=threshold=${num(analysis.threshold)}`);
    case "black":
      return video(
        `blackdetect=d=${num(analysis.minDurationSec)}:pix_th=${num(analysis.pixelThreshold)}:pic_th=${num(analysis.pictureRatio)}`,
      );
    case "freeze":
      return video(`freezedetect=n=${linear(analysis.noiseDb)}:d=${num(analysis.minDurationSec)}`);
    default:
      throw new Error(`no wasm arguments for ${analysis.kind}`);
  }
}

function value(text: string | undefined): number | null {
  if (text === undefined) return null;
  const n = Number.parseFloat(text);
  return Number.isFinite(n) ? n : text.trim() === "-inf" ? -Infinity : null;
}

/** ebur128's frame log and summary (`-loglevel verbose`), as the addon reports them. */
export function loudnessFromLog(lines: string[], durationSec: number): NativeAnalysisReport {
  const momentary: number[] = [];
  let integrated = -70;
  let range = 0;
  let peak: number | null = null;
  let summary = false;
  for (const line of lines) {
    const frame = /\bt:\s*([\d.]+)\s+TARGET:.*?\bM:\s*(\S+)\s+S:.*?\bI:\s*(\S+) LUFS\s+LRA:\s*(\S+) LU/.exec(
      line,
    );
    if (frame) {
      const t = value(frame[1]);
      const m = value(frame[2]);
      if (t !== null && m !== null) momentary.push(t, Math.max(-120, m));
      continue;
    }
    if (/Summary:/.test(line)) summary = true;
    if (!summary) continue;
    const i = /^\s*I:\s*(\S+) LUFS/.exec(line);
    if (i) integrated = value(i[1]) ?? integrated;
    const lra = /^\s*LRA:\s*(\S+) LU/.exec(line);
    if (lra) range = value(lra[1]) ?? range;
    const tp = /^\s*Peak:\s*(\S+) dBFS/.exec(line);
    if (tp) {
      const p = value(tp[1]);
      peak = p !== null && Number.isFinite(p) ? p : null;
    }
  }
  const report: NativeAnalysisReport = {
    durationSec,
    integratedLufs: integrated,
    loudnessRangeLu: range,
    truePeakDbtp: peak,
    momentary,
  };
  if (integrated <= -69.95) report.reason = "silent: every block is under the -70 LUFS gate";
  return report;
}

/** silencedetect's lines; a silence still open at the end closes at the audio's end. */
export function silenceFromLog(lines: string[], durationSec: number, minSec: number): NativeAnalysisReport {
  const intervals: number[] = [];
  let open: number | null = null;
  for (const line of lines) {
    const start = /silence_start:\s*(-?[\d.]+)/.exec(line);
    if (start && open === null) open = Math.max(0, value(start[1]) ?? 0);
    const end = /silence_end:\s*(-?[\d.]+)/.exec(line);
    if (end && open !== null) {
      intervals.push(open, value(end[1]) ?? durationSec);
      open = null;
    }
  }
  if (open !== null && durationSec - open >= minSec - 1e-6) intervals.push(open, durationSec);
  return { durationSec, intervals };
}

interface MetadataFrame {
  timeSec: number;
  entries: Map<string, string>;
}

/** The `metadata=mode=print` file: a `frame:N pts:P pts_time:T` line, then its key=value lines. */
export function parseMetadataPrint(text: string): MetadataFrame[] {
  const frames: MetadataFrame[] = [];
  for (const line of text.split("\n")) {
    const head = /^frame:\s*\d+\s+pts:\s*\S+\s+pts_time:\s*(\S+)/.exec(line);
    if (head) {
      frames.push({ timeSec: value(head[1]) ?? 0, entries: new Map() });
      continue;
    }
    const eq = line.indexOf("=");
    const current = frames.at(-1);
    if (eq > 0 && current) current.entries.set(line.slice(0, eq), line.slice(eq + 1).trim());
  }
  return frames;
}

/** Findings of scdet, blackdetect or freezedetect, as the addon reports them. */
export function videoFromMetadata(
  analysis: AnalysisOptions,
  text: string,
  durationSec: number,
): NativeAnalysisReport {
  const frames = parseMetadataPrint(text);
  if (analysis.kind === "scenes") {
    const cuts: number[] = [];
    frames.forEach((f, i) => {
      const score = value(f.entries.get("lavfi.scd.score"));
      if (i > 0 && f.entries.has("lavfi.scd.time") && score !== null) cuts.push(f.timeSec, score);
    });
    return { durationSec, cuts, frames: frames.length };
  }
  const [startKey, endKey] =
    analysis.kind === "black"
      ? ["lavfi.black_start", "lavfi.black_end"]
      : ["lavfi.freezedetect.freeze_start", "lavfi.freezedetect.freeze_end"];
  const minSec = "minDurationSec" in analysis ? analysis.minDurationSec : 0;
  const intervals: number[] = [];
  let open: number | null = null;
  const close = (end: number) => {
    if (open !== null && end - open >= minSec - 1e-6) intervals.push(open, end);
    open = null;
  };
  for (const f of frames) {
    const end = value(f.entries.get(endKey));
    if (end !== null) close(end);
    const start = value(f.entries.get(startKey));
    if (start !== null && open === null) open = Math.max(0, start);
  }
  if (open !== null) close(durationSec);
  return { durationSec, intervals };
}
