/**
 * Highlights: the best moments of an input, ranked from the features the addon measures in the
 * shared decode (native/src/av/analysis/analyses.cc, per 100 ms step): momentary loudness, the
 * quietest 25 ms of each step (pauses between words), mean frame difference (motion) and scene
 * cuts. Pure, so the ranking is unit-tested without media.
 *
 * Each half-second bin gets an interest in 0–1:
 *   0.35 × energy  (its loudness within the input's own range: 10th to 98th percentile of bins with sound)
 * + 0.20 × peak    (how far it rises over the median of the 10 s around it, 10 LU = 1)
 * + 0.25 × change  (the strongest cut within half a second, over the input's strongest cut)
 * + 0.20 × motion  (its mean frame difference over the input's 95th percentile)
 * with the weights of a missing stream's terms shared out over the others. Segments grow around the
 * most interesting bins not yet taken (to min_sec, then while their neighbours hold half the peak's
 * interest, up to max_sec), then their edges move to a cut, else to a pause, within 2 s (an edge
 * cut back to keep to max_sec or total_sec lands on a cut or pause in the room it has, where there
 * is one). A segment scores 0.85 × the mean interest of its bins + 0.15 × how cleanly it is cut
 * (half for a start on a cut or after a pause, half for an end on a cut or at a pause), so of two
 * equally lively moments the one that begins and ends between words or shots ranks first. They
 * never overlap, and stop at `count` or `total_sec`.
 */
import type { HighlightReason, HighlightSegment } from "@framewire/shared/media";

export interface HighlightFeatures {
  stepSec: number;
  durationSec: number;
  /** Momentary loudness per step (LUFS, −120 floor); empty without audio. */
  loudness: number[];
  /** The quietest 25 ms of each step (dBFS); empty without audio. */
  quietDb: number[];
  /** Mean frame difference per step (−1: no frame in it); empty without video. */
  motion: number[];
  /** Scene cuts: time and scdet score. */
  cuts: { timeSec: number; score: number }[];
}

export interface HighlightOptions {
  count: number;
  minSec: number;
  maxSec: number;
  totalSec: number | null;
}

const BIN_SEC = 0.5;
/** The share of a segment's score that rewards clean edges (on a cut, or at a speech pause). */
const EDGE_WEIGHT = 0.15;
const WEIGHTS = { energy: 0.35, peak: 0.2, change: 0.25, motion: 0.2 };
const SNAP_SEC = 2;
const GATE_LUFS = -70;

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const at = Math.min(sorted.length - 1, Math.max(0, Math.round((p / 100) * (sorted.length - 1))));
  return sorted[at] ?? 0;
}

function median(values: number[]): number {
  return percentile(values, 50);
}

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

interface BinTerms {
  energy: number;
  peak: number;
  change: number;
  motion: number;
  interest: number;
}

/** Per-bin terms and interest (exported for tests). */
export function binInterest(f: HighlightFeatures): BinTerms[] {
  const bins = Math.max(1, Math.ceil(f.durationSec / BIN_SEC - 1e-9));
  const perBin = Math.max(1, Math.round(BIN_SEC / f.stepSec));
  const hasAudio = f.loudness.length > 0;
  const hasVideo = f.motion.length > 0;
  const binLufs: number[] = [];
  const binMotion: number[] = [];
  for (let b = 0; b < bins; b++) {
    let energy = 0;
    let steps = 0;
    let motion = 0;
    let frames = 0;
    for (let s = b * perBin; s < (b + 1) * perBin; s++) {
      const l = f.loudness[s];
      if (l !== undefined) {
        energy += 10 ** (l / 10);
        steps++;
      }
      const m = f.motion[s];
      if (m !== undefined && m >= 0) {
        motion += m;
        frames++;
      }
    }
    binLufs.push(steps > 0 && energy > 0 ? 10 * Math.log10(energy / steps) : -120);
    binMotion.push(frames > 0 ? motion / frames : 0);
  }
  const sounding = binLufs.filter((l) => l > GATE_LUFS);
  const lo = percentile(sounding, 10);
  const hi = percentile(sounding, 98);
  const motionTop = percentile(binMotion, 95);
  const strongestCut = Math.max(0, ...f.cuts.map((c) => c.score));
  const window = Math.round(5 / BIN_SEC);
  const terms: BinTerms[] = [];
  for (let b = 0; b < bins; b++) {
    const l = binLufs[b] ?? -120;
    const energy = hasAudio && hi - lo >= 1 && l > GATE_LUFS ? clamp01((l - lo) / (hi - lo)) : 0;
    const around = binLufs.slice(Math.max(0, b - window), Math.min(bins, b + window + 1));
    const peak = hasAudio && l > GATE_LUFS ? clamp01((l - median(around)) / 10) : 0;
    const start = b * BIN_SEC - BIN_SEC;
    const end = (b + 1) * BIN_SEC + BIN_SEC;
    const cut = Math.max(
      0,
      ...f.cuts.filter((c) => c.timeSec >= start && c.timeSec < end).map((c) => c.score),
    );
    const change = hasVideo && strongestCut > 0 ? cut / strongestCut : 0;
    const motion = hasVideo && motionTop > 0 ? clamp01((binMotion[b] ?? 0) / motionTop) : 0;
    const weight =
      (hasAudio ? WEIGHTS.energy + WEIGHTS.peak : 0) + (hasVideo ? WEIGHTS.change + WEIGHTS.motion : 0);
    const sum =
      (hasAudio ? WEIGHTS.energy * energy + WEIGHTS.peak * peak : 0) +
      (hasVideo ? WEIGHTS.change * change + WEIGHTS.motion * motion : 0);
    terms.push({ energy, peak, change, motion, interest: weight > 0 ? sum / weight : 0 });
  }
  return terms;
}

/** Times of pauses: steps whose quietest 25 ms is far under the input's speaking level. */
export function pauseTimes(f: HighlightFeatures): number[] {
  if (f.quietDb.length === 0) return [];
  const sounding = f.quietDb.filter((_, i) => (f.loudness[i] ?? -120) > GATE_LUFS);
  const level = sounding.length > 0 ? median(sounding) : -120;
  const threshold = Math.max(-65, level - 20);
  const times: number[] = [];
  f.quietDb.forEach((db, i) => {
    if (db < threshold) times.push((i + 0.5) * f.stepSec);
  });
  return times;
}

function nearest(times: number[], target: number, lo: number, hi: number): number | null {
  let best: number | null = null;
  for (const t of times) {
    if (t < lo || t > hi) continue;
    if (best === null || Math.abs(t - target) < Math.abs(best - target)) best = t;
  }
  return best;
}

/** The first (or last) of `times` in [lo, hi]. */
function within(times: number[], lo: number, hi: number, last: boolean): number | null {
  let best: number | null = null;
  for (const t of times) {
    if (t < lo - 1e-9 || t > hi + 1e-9) continue;
    if (best === null || (last ? t > best : t < best)) best = t;
  }
  return best;
}

const round3 = (v: number) => Math.round(v * 1000) / 1000;

export function rankHighlights(f: HighlightFeatures, o: HighlightOptions): HighlightSegment[] {
  const terms = binInterest(f);
  const bins = terms.length;
  const cuts = f.cuts.map((c) => c.timeSec);
  const pauses = pauseTimes(f);
  const duration = Math.max(f.durationSec, BIN_SEC);
  const used = new Array<boolean>(bins).fill(false);
  const taken: { start: number; end: number; reasons: HighlightReason[] }[] = [];
  const minBins = Math.max(1, Math.round(o.minSec / BIN_SEC));
  const maxBins = Math.max(minBins, Math.floor(o.maxSec / BIN_SEC));
  // Smoothed over the shortest segment, so a peak is judged with what a segment around it holds.
  const smooth = terms.map((_, b) => {
    const lo = Math.max(0, b - Math.floor(minBins / 2));
    const hi = Math.min(bins, lo + minBins);
    let sum = 0;
    for (let i = lo; i < hi; i++) sum += terms[i]?.interest ?? 0;
    return sum / Math.max(1, hi - lo);
  });
  let total = 0;
  const free = (b: number) => b >= 0 && b < bins && !used[b];
  while (taken.length < o.count) {
    let peak = -1;
    for (let b = 0; b < bins; b++) {
      if (free(b) && (peak < 0 || (smooth[b] ?? 0) > (smooth[peak] ?? 0))) peak = b;
    }
    if (peak < 0 || (smooth[peak] ?? 0) <= 0) break;
    // Grow around the peak: to the minimum length, then while a neighbour holds half its interest.
    let lo = peak;
    let hi = peak + 1;
    const level = terms[peak]?.interest ?? 0;
    for (;;) {
      if (hi - lo >= maxBins) break;
      const left = free(lo - 1) ? (terms[lo - 1]?.interest ?? 0) : -1;
      const right = free(hi) ? (terms[hi]?.interest ?? 0) : -1;
      if (left < 0 && right < 0) break;
      const needed = hi - lo < minBins;
      if (!needed && Math.max(left, right) < 0.5 * level) break;
      if (right >= left) hi++;
      else lo--;
    }
    for (let b = lo; b < hi; b++) used[b] = true;
    if (hi - lo < minBins) continue;
    // Edges on a cut, else a pause, within SNAP_SEC; never into another segment.
    const floor = Math.max(0, ...taken.filter((t) => t.end <= lo * BIN_SEC + 1e-9).map((t) => t.end));
    const ceiling = Math.min(
      duration,
      ...taken.filter((t) => t.start >= hi * BIN_SEC - 1e-9).map((t) => t.start),
    );
    const reasons: HighlightReason[] = [];
    let start = lo * BIN_SEC;
    let end = Math.min(hi * BIN_SEC, duration);
    const startCut = nearest(cuts, start, Math.max(floor, start - SNAP_SEC), start + SNAP_SEC);
    const startPause =
      startCut === null ? nearest(pauses, start, Math.max(floor, start - SNAP_SEC), start + SNAP_SEC) : null;
    if (startCut !== null) {
      start = startCut;
      reasons.push("starts_at_cut");
    } else if (startPause !== null) {
      start = startPause;
      reasons.push("starts_after_silence");
    }
    const endCut = nearest(
      cuts,
      end,
      Math.max(start + o.minSec, end - SNAP_SEC),
      Math.min(ceiling, end + SNAP_SEC),
    );
    const endPause =
      endCut === null
        ? nearest(pauses, end, Math.max(start + o.minSec, end - SNAP_SEC), Math.min(ceiling, end + SNAP_SEC))
        : null;
    if (endCut !== null) {
      end = endCut;
      reasons.push("ends_at_cut");
    } else if (endPause !== null) {
      end = endPause;
      reasons.push("ends_at_silence");
    }
    // An edge that has to move (to keep to max_sec or total_sec) lands on a cut, else a pause, in
    // the room it has, where there is one: the longest segment that still ends between words.
    const moveEnd = (lo: number, hi: number) => {
      const cut = within(cuts, lo, hi, true);
      const pause = cut === null ? within(pauses, lo, hi, true) : null;
      end = cut ?? pause ?? hi;
      const kept = reasons.filter((r) => !r.startsWith("ends"));
      reasons.splice(0, reasons.length, ...kept);
      if (cut !== null) reasons.push("ends_at_cut");
      else if (pause !== null) reasons.push("ends_at_silence");
    };
    const moveStart = (lo: number, hi: number) => {
      const cut = within(cuts, lo, hi, false);
      const pause = cut === null ? within(pauses, lo, hi, false) : null;
      start = cut ?? pause ?? lo;
      const kept = reasons.filter((r) => !r.startsWith("starts"));
      reasons.splice(0, reasons.length, ...kept);
      if (cut !== null) reasons.unshift("starts_at_cut");
      else if (pause !== null) reasons.unshift("starts_after_silence");
    };
    // Keep to the asked length: the edge that did not land on a cut or pause gives way.
    if (end - start > o.maxSec) {
      if (reasons.some((r) => r.startsWith("ends"))) moveStart(end - o.maxSec, end - o.minSec);
      else moveEnd(start + o.minSec, start + o.maxSec);
    }
    if (end - start < o.minSec) end = Math.min(ceiling, start + o.minSec);
    if (end - start < o.minSec) start = Math.max(floor, end - o.minSec);
    if (end - start < o.minSec - 1e-6) continue;
    let length = end - start;
    if (o.totalSec !== null && total + length > o.totalSec + 1e-6) {
      const room = o.totalSec - total;
      if (room < o.minSec) break;
      moveEnd(start + o.minSec, start + room);
      length = end - start;
    }
    total += length;
    for (let b = Math.floor(start / BIN_SEC); b < Math.ceil(end / BIN_SEC); b++)
      if (b >= 0 && b < bins) used[b] = true;
    taken.push({ start, end, reasons });
  }
  return taken
    .map(({ start, end, reasons }) => {
      const from = Math.max(0, Math.floor(start / BIN_SEC + 1e-9));
      const to = Math.min(bins, Math.max(from + 1, Math.ceil(end / BIN_SEC - 1e-9)));
      const inside = terms.slice(from, to);
      const mean = (key: keyof BinTerms) =>
        inside.reduce((s, t) => s + t[key], 0) / Math.max(1, inside.length);
      const all: HighlightReason[] = [];
      if (mean("energy") >= 0.6) all.push("loud");
      if (Math.max(0, ...inside.map((t) => t.peak)) >= 0.5) all.push("loudness_peak");
      if (Math.max(0, ...inside.map((t) => t.change)) > 0) all.push("scene_change");
      if (mean("motion") >= 0.5) all.push("motion");
      const edges =
        (reasons.includes("starts_at_cut") || reasons.includes("starts_after_silence") ? 0.5 : 0) +
        (reasons.includes("ends_at_cut") || reasons.includes("ends_at_silence") ? 0.5 : 0);
      return {
        start_sec: round3(start),
        end_sec: round3(end),
        score: round3(clamp01((1 - EDGE_WEIGHT) * mean("interest") + EDGE_WEIGHT * edges)),
        reasons: [...all, ...reasons],
      };
    })
    .sort((a, b) => b.score - a.score);
}
