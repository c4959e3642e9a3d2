import { describe, expect, it } from "vitest";
import { bucketsFromPcm, columnRows, peaksOf } from "./waveform";

describe("waveform peaks", () => {
  it("takes each point's lowest and highest sample from the buckets inside it", () => {
    const buckets = { bucketSec: 0.25, startSec: 0, sampleRate: 8, durationSec: 2 };
    const min = [0, -0.1, -0.5, -0.2, 0, 0, -1, 0];
    const max = [0, 0.1, 0.5, 0.2, 0, 0, 0.9, 0];
    expect(Array.from(peaksOf({ ...buckets, min, max }, 2))).toEqual([-0.5, 0.5, -1, expect.closeTo(0.9, 5)]);
    // A fixed step past the end gives silence.
    expect(Array.from(peaksOf({ ...buckets, min, max }, 3, 1)).slice(4)).toEqual([0, 0]);
  });

  it("buckets 16-bit PCM 8 to a point, scaled into -1..1", () => {
    const pcm = Int16Array.from([0, 16384, -32768, 0, 0, 0, 0, 8192]);
    const b = bucketsFromPcm(pcm, 8, { points: 1 });
    expect(b.bucketSec).toBeCloseTo(0.125);
    expect(Array.from(b.max)).toEqual([0, 0.5, -1, 0, 0, 0, 0, 0.25]);
    expect(Array.from(b.min)[2]).toBe(-1);
  });

  it("paints at least the centre row of a silent column", () => {
    expect(columnRows(0, 0, 101)).toEqual([50, 50]);
    expect(columnRows(-1, 1, 101)).toEqual([0, 100]);
  });
});
