import type { EngineProgress } from "@framewire/native";
import { describe, expect, it } from "vitest";
import { createJobPercent } from "./job-percent";

const tick = (output: string, percent: number | null): EngineProgress => ({
  output,
  percent,
  frames: 0,
  outTimeSec: 0,
  durationSec: percent === null ? null : 10,
  fps: 0,
  speed: 0,
  etaSec: null,
});

describe("createJobPercent", () => {
  it("averages the outputs, counting one not heard from as 0, and reaches 100 only when all have", () => {
    const jobPercent = createJobPercent(["video", "ladder"]);
    expect(jobPercent(tick("video", 50))).toBe(25);
    expect(jobPercent(tick("ladder", 20))).toBe(35);
    expect(jobPercent(tick("video", 100))).toBe(60);
    expect(jobPercent(tick("ladder", 100))).toBe(100);
  });

  it("is null while an output's percent is unknown", () => {
    const jobPercent = createJobPercent(["a", "b"]);
    expect(jobPercent(tick("a", null))).toBeNull();
    expect(jobPercent(tick("b", 40))).toBeNull();
    expect(jobPercent(tick("a", 100))).toBe(70);
  });
});
