/**
 * An analysis output's document: what the engine measured (the addon's report, or the wasm
 * engine's reading of FFmpeg's filter output) in the API's words (shared/src/media.ts), written as
 * the output's JSON file and reported as its `analysis` facts. Shared by both engines.
 */
import { writeFile } from "node:fs/promises";
import { type AnalysisFacts, pitchClasses } from "@framewire/shared/media";
import type { AnalysisOptions, AnalysisPlanOutput, OutputFacts } from "./engine";
import { rankHighlights } from "./highlights";
import type { NativeAnalysisReport } from "./native-addon";

const round = (v: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};
const time = (v: number) => round(Math.max(0, v), 3);

function pairs(flat: number[] | undefined): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i + 1 < (flat?.length ?? 0); i += 2) out.push([flat?.[i] ?? 0, flat?.[i + 1] ?? 0]);
  return out;
}

/**
 * At most `max` points of a curve sampled every 100 ms: consecutive stretches of equal length,
 * each kept by its loudest point (a short peak survives decimation).
 */
export function decimate(points: [number, number][], max: number): [number, number][] {
  if (points.length <= max) return points;
  const stretch = Math.ceil(points.length / max);
  const kept: [number, number][] = [];
  for (let i = 0; i < points.length; i += stretch) {
    let best = points[i] as [number, number];
    for (let j = i + 1; j < Math.min(points.length, i + stretch); j++) {
      const p = points[j] as [number, number];
      if (p[1] > best[1]) best = p;
    }
    kept.push(best);
  }
  return kept;
}

function intervals(flat: number[] | undefined) {
  return pairs(flat).map(([start, end]) => ({ start_sec: time(start), end_sec: time(end) }));
}

/**
 * Items in a compressed Chromaprint: its header is one byte of algorithm and three of item count,
 * base64url-encoded without padding.
 */
export function chromaprintItems(fingerprint: string): number {
  const header = Buffer.from(fingerprint.slice(0, 8).replace(/-/g, "+").replace(/_/g, "/"), "base64");
  return header.length >= 4 ? ((header[1] ?? 0) << 16) | ((header[2] ?? 0) << 8) | (header[3] ?? 0) : 0;
}

export function analysisDocument(options: AnalysisOptions, m: NativeAnalysisReport): AnalysisFacts {
  const duration = time(m.durationSec);
  const reason = m.reason ?? null;
  switch (options.kind) {
    case "loudness": {
      const silent = (m.integratedLufs ?? -70) <= -69.95;
      return {
        kind: "loudness",
        integrated_lufs: silent ? null : round(m.integratedLufs ?? -70, 2),
        loudness_range_lu: silent ? null : round(m.loudnessRangeLu ?? 0, 2),
        true_peak_dbtp:
          m.truePeakDbtp === null || m.truePeakDbtp === undefined ? null : round(m.truePeakDbtp, 2),
        momentary: decimate(pairs(m.momentary), options.momentaryPoints).map(([t, lufs]) => ({
          time_sec: time(t),
          lufs: round(Math.max(-120, lufs), 2),
        })),
        duration_sec: duration,
        reason,
      };
    }
    case "silence": {
      const silences = intervals(m.intervals);
      return {
        kind: "silence",
        noise_db: options.noiseDb,
        min_duration_sec: options.minDurationSec,
        silences,
        total_silence_sec: time(silences.reduce((s, i) => s + (i.end_sec - i.start_sec), 0)),
        duration_sec: duration,
      };
    }
    case "scenes":
      return {
        kind: "scenes",
        threshold: options.threshold,
        scenes: pairs(m.cuts).map(([t, score]) => ({
          time_sec: time(t),
          score: round(Math.min(100, score), 3),
        })),
        frames: m.frames ?? 0,
        duration_sec: duration,
      };
    case "black":
      return {
        kind: "black",
        min_duration_sec: options.minDurationSec,
        pixel_threshold: options.pixelThreshold,
        picture_ratio: options.pictureRatio,
        black: intervals(m.intervals),
        duration_sec: duration,
      };
    case "freeze":
      return {
        kind: "freeze",
        noise_db: options.noiseDb,
        min_duration_sec: options.minDurationSec,
        freeze: intervals(m.intervals),
        duration_sec: duration,
      };
    case "tempo": {
      const bpm = typeof m.bpm === "number" && m.bpm > 0 ? round(m.bpm, 2) : null;
      return {
        kind: "tempo",
        bpm,
        confidence: round(Math.min(1, Math.max(0, m.confidence ?? 0)), 3),
        beats_sec: bpm === null ? [] : (m.beatsSec ?? []).slice(0, 50_000).map(time),
        reason: bpm === null ? (reason ?? "no steady beat") : null,
      };
    }
    case "key": {
      const tonic = m.tonic !== undefined && m.tonic >= 0 ? pitchClasses[m.tonic] : undefined;
      const mode = m.minor ? "minor" : "major";
      const chroma = (m.chroma ?? []).slice(0, 12).map((c) => round(Math.min(1, Math.max(0, c)), 3));
      while (chroma.length < 12) chroma.push(0);
      return {
        kind: "key",
        key: tonic ? `${tonic} ${mode}` : null,
        tonic: tonic ?? null,
        mode: tonic ? mode : null,
        confidence: tonic ? round(Math.min(1, Math.max(0, m.confidence ?? 0)), 3) : 0,
        chroma,
        reason: tonic ? null : (reason ?? "no key"),
      };
    }
    case "fingerprint": {
      // Too little audio gives Chromaprint no item at all: fpcalc calls that an empty fingerprint.
      const chromaprint = m.chromaprint && chromaprintItems(m.chromaprint) > 0 ? m.chromaprint : null;
      return {
        kind: "fingerprint",
        chromaprint,
        chromaprint_duration_sec: chromaprint ? time(m.chromaprintDurationSec ?? 0) : null,
        frame_hashes: (m.frameHashes ?? []).map((h) => ({ time_sec: time(h.timeSec), phash: h.hash })),
        reason: chromaprint ? null : m.chromaprint ? "the audio is too short to fingerprint" : reason,
      };
    }
    case "highlights":
      return {
        kind: "highlights",
        segments: rankHighlights(
          {
            stepSec: m.featureStepSec ?? 0.1,
            durationSec: m.durationSec,
            loudness: m.featureLoudness ?? [],
            quietDb: m.featureRmsDb ?? [],
            motion: m.featureMotion ?? [],
            cuts: pairs(m.cuts).map(([timeSec, score]) => ({ timeSec, score })),
          },
          options,
        ),
        duration_sec: duration,
      };
  }
}

/** Writes an analysis output's document and describes the output. */
export async function analysisFacts(
  output: AnalysisPlanOutput,
  document: AnalysisFacts,
): Promise<OutputFacts> {
  const json = `${JSON.stringify(document, null, 2)}\n`;
  await writeFile(output.path, json);
  return {
    name: output.name,
    kind: "analysis",
    path: output.path,
    sizeBytes: Buffer.byteLength(json),
    container: "json",
    durationSec: "duration_sec" in document ? document.duration_sec : null,
    video: null,
    audio: null,
    analysis: document,
  };
}
