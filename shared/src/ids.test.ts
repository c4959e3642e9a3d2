import { describe, expect, it } from "vitest";
import { idTime, newId, newSequentialIds, randomSecret } from "./ids";

describe("ids", () => {
  it("are unique, carry their creation time, and sort by it", () => {
    const at = 1_800_000_000_000;
    const ids = Array.from({ length: 20_000 }, (_, i) => newId("job", at + (i % 3)));
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids.slice(0, 3)) expect(id).toMatch(/^job_[0-9a-hjkmnp-tv-z]{26}$/);
    expect(ids.map(idTime).slice(0, 3)).toEqual([at, at + 1, at + 2]);
    const sorted = [newId("job", at + 5), newId("job", at + 1), newId("job", at + 3)].sort();
    expect(sorted.map(idTime)).toEqual([at + 1, at + 3, at + 5]);
    expect(idTime("not-an-id")).toBeNull();
  });

  it("draw their random part evenly from all 32 characters, across refills of the random pool", () => {
    const counts = new Map<string, number>();
    const ids = 20_000;
    for (let i = 0; i < ids; i++) {
      for (const ch of newId("job", 0).slice(-16)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    }
    expect(counts.size).toBe(32);
    // 10,000 expected each (standard deviation about 100): 20% off would be a broken generator.
    for (const n of counts.values()) expect(Math.abs(n - 10_000)).toBeLessThan(2_000);
  });

  it("in a batch keep the order they were made in", () => {
    const ids = newSequentialIds("job", 40);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(40);
  });

  it("make secrets of the length asked for, never the same twice", () => {
    const a = randomSecret(300);
    expect(a).toMatch(/^[0-9a-hjkmnp-tv-z]{300}$/);
    expect(randomSecret(300)).not.toBe(a);
  });
});
