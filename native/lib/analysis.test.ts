import { describe, expect, it } from "vitest";
import { analysisDocument, chromaprintItems, decimate } from "./analysis";

describe("analysis documents", () => {
  it("decimates a momentary curve to at most the asked points, keeping each stretch's loudest", () => {
    const points: [number, number][] = Array.from({ length: 1000 }, (_, i) => [
      (i + 1) / 10,
      i === 537 ? -3 : -30,
    ]);
    const kept = decimate(points, 100);
    expect(kept.length).toBeLessThanOrEqual(100);
    expect(kept).toContainEqual([53.8, -3]);
    expect(decimate(points.slice(0, 50), 100)).toHaveLength(50);
  });

  it("reads the item count of a compressed Chromaprint from its header", () => {
    // algorithm 1, 0x000016 = 22 items; and the empty fingerprint fpcalc refuses to print.
    expect(chromaprintItems("AQAAFkmyNUkijUHSXIGL58b5EC2HKd")).toBe(22);
    expect(chromaprintItems("AQAAAA")).toBe(0);
  });

  it("says why instead of making a number up", () => {
    expect(
      analysisDocument(
        { kind: "loudness", momentaryPoints: 10 },
        { durationSec: 3, integratedLufs: -70, truePeakDbtp: null, momentary: [] },
      ),
    ).toMatchObject({ integrated_lufs: null, loudness_range_lu: null, true_peak_dbtp: null });
    expect(
      analysisDocument(
        { kind: "tempo", minBpm: 50, maxBpm: 220 },
        { durationSec: 3, bpm: null, beatsSec: [1, 2], reason: "no steady beat" },
      ),
    ).toEqual({
      kind: "tempo",
      bpm: null,
      confidence: 0,
      beats_sec: [],
      reason: "no steady beat",
    });
    expect(
      analysisDocument(
        { kind: "key" },
        { durationSec: 3, tonic: 9, minor: true, confidence: 0.5, chroma: [1] },
      ),
    ).toMatchObject({
      key: "A minor",
      tonic: "A",
      mode: "minor",
      chroma: [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
      reason: null,
    });
    expect(
      analysisDocument(
        { kind: "fingerprint", audioSec: 120, frameIntervalSec: 2 },
        { durationSec: 1, chromaprint: "AQAAAA", frameHashes: [] },
      ),
    ).toMatchObject({
      chromaprint: null,
      chromaprint_duration_sec: null,
      reason: "the audio is too short to fingerprint",
    });
  });
});
