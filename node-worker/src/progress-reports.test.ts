import { describe, expect, it } from "vitest";
import { createProgressReportThrottle } from "./progress-reports";

describe("progress reports for job.progress webhooks", () => {
  it("passes on at most one report per interval, in whole percent, only when it moved", () => {
    let clock = 0;
    const sent: (number | null)[] = [];
    const tick = createProgressReportThrottle({
      intervalMs: 1_000,
      now: () => clock,
      send: (p) => sent.push(p),
    });
    tick(1.5); // first tick goes at once
    clock = 500;
    tick(40); // inside the interval: dropped
    clock = 1_000;
    tick(1.9); // interval passed but the whole percent didn't move: dropped
    clock = 1_200;
    tick(55.2);
    clock = 1_300;
    tick(70);
    clock = 2_300;
    tick(99.99);
    expect(sent).toEqual([1, 55, 99]);
  });

  it("reports an indeterminate job as null, once", () => {
    let clock = 0;
    const sent: (number | null)[] = [];
    const tick = createProgressReportThrottle({
      intervalMs: 10,
      now: () => clock,
      send: (p) => sent.push(p),
    });
    for (let i = 0; i < 5; i++) {
      tick(null);
      clock += 100;
    }
    expect(sent).toEqual([null]);
  });
});
