import { describe, expect, it } from "vitest";
import type { OutputFacts } from "./engine";
import { durationTolerance, outputMismatch } from "./output-facts";

const facts = (over: Partial<OutputFacts>): OutputFacts => ({
  name: "out",
  kind: "video",
  path: "/tmp/out.mp4",
  sizeBytes: 1000,
  container: "mp4",
  durationSec: 2,
  video: { codec: "h264", width: 320, height: 240, fps: 25, pixel_format: "yuv420p" },
  audio: { codec: "aac", sample_rate: 48000, channels: 2 },
  ...over,
});

describe("the post-write check", () => {
  it("passes an output that holds what was asked for, within the tolerance", () => {
    expect(
      outputMismatch(facts({ durationSec: 2.04 }), { durationSec: 2, video: true, audio: true }),
    ).toBeNull();
    expect(durationTolerance(2)).toBe(0.5);
    expect(durationTolerance(60)).toBe(3);
  });

  it("names a zero-length trim, a file many times its media's length, and a missing stream", () => {
    expect(outputMismatch(facts({ durationSec: 0 }), { durationSec: 2, video: true, audio: true })).toMatch(
      /duration is 0.00 s, but 2.00 s/,
    );
    expect(
      outputMismatch(facts({ durationSec: 65.5 }), { durationSec: 5.55, video: true, audio: true }),
    ).toMatch(/65.50 s/);
    expect(outputMismatch(facts({ audio: null }), { durationSec: 2, video: true, audio: true })).toMatch(
      /no audio stream/,
    );
    expect(outputMismatch(facts({}), { durationSec: 2, video: false, audio: true })).toMatch(
      /video stream it should not/,
    );
  });

  it("says so when a trim window lies past the media", () => {
    expect(
      outputMismatch(facts({ durationSec: null }), { durationSec: 0, video: true, audio: true }),
    ).toMatch(/trim window holds none/);
  });
});
