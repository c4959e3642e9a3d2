import { describe, expect, it } from "vitest";
import type { EngineProgress } from "./engine";
import { RunProgress } from "./run-progress";

function collect(outputs: string[]) {
  const ticks: EngineProgress[] = [];
  return { ticks, progress: new RunProgress(outputs, (p) => ticks.push(p)) };
}

const percents = (ticks: EngineProgress[], output: string) =>
  ticks.filter((t) => t.output === output).map((t) => t.percent);

describe("RunProgress", () => {
  it("gives each output its own percent against its own duration", () => {
    const { ticks, progress } = collect(["full", "trimmed"]);
    progress.update("full", { frames: 25, outTimeSec: 1, durationSec: 4, elapsedSec: 0.5 });
    progress.update("trimmed", { frames: 25, outTimeSec: 1, durationSec: 1.5, elapsedSec: 0.5 });
    expect(ticks).toEqual([
      {
        output: "full",
        frames: 25,
        outTimeSec: 1,
        durationSec: 4,
        percent: 25,
        fps: 50,
        speed: 2,
        etaSec: 1.5,
      },
      {
        output: "trimmed",
        frames: 25,
        outTimeSec: 1,
        durationSec: 1.5,
        percent: 66.7,
        fps: 50,
        speed: 2,
        etaSec: 0.25,
      },
    ]);
  });

  it("never goes backwards, stays under 100 while running and ends every output at 100", () => {
    const { ticks, progress } = collect(["a", "b", "facts"]);
    progress.update("a", { frames: 10, outTimeSec: 2, durationSec: 4, elapsedSec: 1 });
    progress.update("a", { frames: 11, outTimeSec: 1.5, durationSec: 4, elapsedSec: 1.2 });
    progress.update("a", { frames: 99, outTimeSec: 4.2, durationSec: 4, elapsedSec: 2 });
    progress.update("b", { frames: 3, outTimeSec: 1, durationSec: null, elapsedSec: 1 });
    progress.finish();
    expect(percents(ticks, "a")).toEqual([50, 50, 99.9, 100]);
    expect(percents(ticks, "b")).toEqual([null, 100]);
    expect(percents(ticks, "facts")).toEqual([100]);
    expect(ticks.filter((t) => t.percent === 100).every((t) => t.etaSec === 0)).toBe(true);
  });

  it("is indeterminate (no percent, no ETA) when the duration is unknown", () => {
    const { ticks, progress } = collect(["x"]);
    progress.update("x", { frames: 5, outTimeSec: 0.2, durationSec: null, elapsedSec: 1 });
    expect(ticks[0]).toMatchObject({ percent: null, etaSec: null, durationSec: null, frames: 5 });
  });

  it("skips a tick that says nothing new, and survives a throwing listener", () => {
    let calls = 0;
    const progress = new RunProgress(["x"], () => {
      calls++;
      throw new Error("listener bug");
    });
    const measure = { frames: 5, outTimeSec: 1, durationSec: 2, elapsedSec: 1 };
    progress.update("x", measure);
    progress.update("x", { ...measure, elapsedSec: 1.2 });
    expect(calls).toBe(1);
    progress.finish();
    expect(calls).toBe(2);
  });
});
