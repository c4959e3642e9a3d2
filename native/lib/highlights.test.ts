import { describe, expect, it } from "vitest";
import { binInterest, type HighlightFeatures, pauseTimes, rankHighlights } from "./highlights";

/** 60 s of features: a quiet still, with what `edit` puts in. */
function features(edit: (f: HighlightFeatures) => void = () => {}): HighlightFeatures {
  const steps = 600;
  const f: HighlightFeatures = {
    stepSec: 0.1,
    durationSec: 60,
    loudness: new Array(steps).fill(-40),
    quietDb: new Array(steps).fill(-35),
    motion: new Array(steps).fill(0.2),
    cuts: [],
  };
  edit(f);
  return f;
}

const loudAt = (f: HighlightFeatures, from: number, to: number, lufs = -12) => {
  for (let s = from * 10; s < to * 10; s++) f.loudness[s] = lufs;
};
const movingAt = (f: HighlightFeatures, from: number, to: number) => {
  for (let s = from * 10; s < to * 10; s++) f.motion[s] = 8;
};

describe("highlights", () => {
  it("ranks loud, moving moments first and keeps to count, length and total", () => {
    const f = features((x) => {
      loudAt(x, 10, 16);
      movingAt(x, 10, 16);
      loudAt(x, 40, 44, -20);
    });
    const segments = rankHighlights(f, { count: 3, minSec: 3, maxSec: 8, totalSec: 12 });
    expect(segments[0]?.start_sec).toBeGreaterThanOrEqual(9);
    expect(segments[0]?.end_sec).toBeLessThanOrEqual(17);
    expect(segments[0]?.reasons).toEqual(expect.arrayContaining(["loud", "motion"]));
    expect(segments.reduce((s, x) => s + (x.end_sec - x.start_sec), 0)).toBeLessThanOrEqual(12 + 1e-9);
    for (const s of segments) {
      expect(s.end_sec - s.start_sec).toBeGreaterThanOrEqual(3 - 1e-9);
      expect(s.end_sec - s.start_sec).toBeLessThanOrEqual(8 + 1e-9);
    }
    // No two overlap; best first.
    const sorted = [...segments].sort((a, b) => a.start_sec - b.start_sec);
    sorted.slice(1).forEach((s, i) => {
      expect(s.start_sec).toBeGreaterThanOrEqual(sorted[i]?.end_sec ?? 0);
    });
    expect(segments.map((s) => s.score)).toEqual([...segments.map((s) => s.score)].sort((a, b) => b - a));
  });

  it("starts and ends on a nearby cut, else on a pause, never mid-word when one is near", () => {
    const f = features((x) => {
      loudAt(x, 20, 26);
      x.cuts.push({ timeSec: 19.2, score: 40 });
      // A pause between words 1.4 s after the loud stretch ends.
      for (const s of [273, 274]) x.quietDb[s] = -80;
    });
    const [best] = rankHighlights(f, { count: 1, minSec: 3, maxSec: 10, totalSec: null });
    expect(best?.start_sec).toBe(19.2);
    expect(best?.reasons).toContain("starts_at_cut");
    expect(best?.end_sec).toBeCloseTo(27.35, 2);
    expect(best?.reasons).toContain("ends_at_silence");
  });

  it("cuts an edge back for max_sec or total_sec onto a pause between words where the room has one", () => {
    // Speech throughout (no pause), loud 10–30 s with pauses at 14.05 and 17.05 s.
    const f = features((x) => {
      x.quietDb.fill(-30);
      loudAt(x, 10, 30);
      for (const s of [140, 170]) x.quietDb[s] = -80;
    });
    // Grown to 8 s (11.5–19.5), its start moves back onto the cut at 10 s: 9.5 s is too long, and
    // the end comes back to the last pause that keeps it within 8 s, not to 18 s mid-word.
    const cut = { ...f, cuts: [{ timeSec: 10, score: 30 }] };
    const [capped] = rankHighlights(cut, { count: 1, minSec: 3, maxSec: 8, totalSec: null });
    expect(capped).toMatchObject({ start_sec: 10, end_sec: 17.05 });
    expect(capped?.reasons).toEqual(expect.arrayContaining(["starts_at_cut", "ends_at_silence"]));
    // A total of 6 s: the end comes back to the pause at 14.05 s, not to 16 s mid-word.
    const [short] = rankHighlights(f, { count: 1, minSec: 3, maxSec: 20, totalSec: 6 });
    expect(short).toMatchObject({ start_sec: 10, end_sec: 14.05 });
    expect(short?.reasons).toContain("ends_at_silence");
  });

  it("weighs only what the input has: audio only, or video only", () => {
    const audioOnly = features((x) => {
      x.motion = [];
      loudAt(x, 30, 35);
    });
    expect(binInterest(audioOnly).every((b) => b.change === 0 && b.motion === 0)).toBe(true);
    expect(
      rankHighlights(audioOnly, { count: 1, minSec: 3, maxSec: 6, totalSec: null })[0]?.start_sec,
    ).toBeGreaterThanOrEqual(29);
    const videoOnly = features((x) => {
      x.loudness = [];
      x.quietDb = [];
      movingAt(x, 50, 55);
    });
    expect(pauseTimes(videoOnly)).toEqual([]);
    expect(
      rankHighlights(videoOnly, { count: 1, minSec: 3, maxSec: 6, totalSec: null })[0]?.start_sec,
    ).toBeGreaterThanOrEqual(49);
  });

  it("finds nothing to rank in a flat input", () => {
    expect(
      rankHighlights(
        features((x) => {
          x.motion = [];
          x.loudness = new Array(600).fill(-120);
        }),
        { count: 3, minSec: 3, maxSec: 6, totalSec: null },
      ),
    ).toEqual([]);
  });

  it("ranks the equally lively moment that is cleanly cut (between words) above the one that is not", () => {
    const f = features((x) => {
      // Two identical loud stretches; only the second has pauses at both ends.
      loudAt(x, 10, 15);
      loudAt(x, 40, 45);
      for (const s of [397, 398, 452, 453]) x.quietDb[s] = -80;
    });
    const segments = rankHighlights(f, { count: 2, minSec: 3, maxSec: 8, totalSec: null });
    expect(segments).toHaveLength(2);
    const [first, second] = segments;
    expect(first?.start_sec).toBeGreaterThanOrEqual(39);
    expect(first?.reasons).toEqual(expect.arrayContaining(["starts_after_silence", "ends_at_silence"]));
    expect(second?.start_sec).toBeLessThan(16);
    expect(first?.score ?? 0).toBeGreaterThan(second?.score ?? 0);
  });
});
