import { describe, expect, it } from "vitest";
import type { EngineProgress, PlanOutput } from "./engine";
import { checkOutput, memfsInputName, parseEncoders, progressTracker, transcodeArgs } from "./wasm-ffmpeg";

const output: PlanOutput = {
  name: "o",
  path: "/jobs/1/o.mp4",
  container: "mp4",
  video: { codec: "h264", height: 360, crf: 23, preset: "fast" },
  audio: { codec: "aac", bitrateKbps: 128 },
};

describe("transcodeArgs", () => {
  it("builds the whole list from typed fields and fixed MEMFS names only", () => {
    const args = transcodeArgs(output, "/work/in.mp4");
    expect(args).not.toContain(output.path);
    expect(args.slice(args.indexOf("-i"))).toEqual([
      ...["-i", "/work/in.mp4", "-map", "0:v:0?", "-map", "0:a:0?"],
      ...["-vf", "scale=w=2*round(360*dar/2):h=360,setsar=1"],
      ...["-c:v", "libx264", "-preset", "fast", "-crf", "23", "-pix_fmt", "yuv420p"],
      ...["-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", "-f", "mp4", "/work/out.mp4"],
    ]);
  });

  it("drops a stream with -vn / -an and does not map it", () => {
    const audioOnly = transcodeArgs({ ...output, video: null }, "/work/in");
    expect(audioOnly).toContain("-vn");
    expect(audioOnly).not.toContain("0:v:0?");
    const videoOnly = transcodeArgs({ ...output, audio: null }, "/work/in");
    expect(videoOnly).toContain("-an");
    expect(videoOnly).not.toContain("0:a:0?");
  });
});

describe("checkOutput", () => {
  it.each([
    [{ video: { ...output.video, height: 361 } }, "video.height"],
    [{ video: { ...output.video, crf: 52 } }, "video.crf"],
    [{ video: { ...output.video, preset: "placebo" } }, "video.preset"],
    [{ audio: { codec: "aac", bitrateKbps: 1.5 } }, "audio.bitrateKbps"],
    [{ video: null, audio: null }, "nothing to write"],
  ])("rejects %j naming %s", (patch, field) => {
    expect(() => checkOutput({ ...output, ...patch } as PlanOutput)).toThrow(field);
  });
});

it("keeps only known extensions of the input path in the MEMFS name", () => {
  expect(memfsInputName("/jobs/1/Clip.MOV")).toBe("/work/in.mov");
  expect(memfsInputName("/jobs/1/x.mp4;rm -rf")).toBe("/work/in");
  expect(memfsInputName("/jobs/1/noext")).toBe("/work/in");
});

describe("progressTracker", () => {
  function ticks(durationSec: number | null, blocks: Array<Record<string, string>>): EngineProgress[] {
    const out: EngineProgress[] = [];
    let t = 0;
    const track = progressTracker(
      durationSec,
      (p) => out.push(p),
      () => (t += 500),
    );
    for (const block of blocks) track(block);
    return out;
  }

  it("never lets percent go down, and reaches 100 at the end block", () => {
    const out = ticks(2, [
      { frame: "10", out_time_us: "800000", progress: "continue" },
      { frame: "12", out_time_us: "N/A", progress: "continue" },
      { frame: "25", out_time_us: "1000000", progress: "continue" },
      { frame: "50", out_time_us: "1990000", progress: "end" },
    ]);
    expect(out.map((p) => p.percent)).toEqual([40, 40, 50, 100]);
    expect(out[2]).toMatchObject({ frames: 25, outTimeSec: 1, fps: 25 / 1.5, speed: 1 / 1.5, etaSec: 1.5 });
    expect(out[3]?.etaSec).toBe(0);
  });

  it("is indeterminate without a duration", () => {
    const [tick] = ticks(null, [{ frame: "5", out_time_us: "200000", progress: "continue" }]);
    expect(tick).toMatchObject({ percent: null, etaSec: null, durationSec: null, frames: 5 });
  });
});

it("reads encoder names from -encoders output, skipping the legend", () => {
  const lines = [
    " V..... = Video",
    " ------",
    " V....D libx264              libx264 H.264",
    " A..... aac  AAC",
  ];
  expect(parseEncoders(lines)).toEqual(["libx264", "aac"]);
});
