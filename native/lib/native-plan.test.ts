import { describe, expect, it } from "vitest";
import type { DashPlanOutput, HlsPlanOutput } from "./engine";
import { CMAF_TIMELINE_START_SEC } from "./ladder-layout";
import { compileNativePlan } from "./native-plan";

const caps = { encoders: ["libx264", "aac"], hardwareEncoders: [], hardwareErrors: {} };
const renditions = [
  { name: "720p", maxHeight: 720, videoBitrateKbps: 2500, audioBitrateKbps: 128 },
  { name: "360p", maxHeight: 360, videoBitrateKbps: 800, audioBitrateKbps: 128 },
  { name: "240p", maxHeight: 240, videoBitrateKbps: 400, audioBitrateKbps: 64 },
];
const hls: HlsPlanOutput = {
  kind: "hls",
  name: "apple",
  dir: "/w/out-apple",
  segmentSec: 4,
  preset: "veryfast",
  renditions,
};

describe("compiling ladders", () => {
  it("keeps a lone HLS ladder on MPEG-TS, each rendition with its own audio", () => {
    const { options } = compileNativePlan({ inputPath: "/w/in", outputs: [hls] }, caps);
    expect(options.outputs.map((o) => [o.path, o.hlsSegmentPattern, o.audio !== null])).toEqual([
      ["/w/out-apple/720p/index.m3u8", "/w/out-apple/720p/seg_%05d.ts", true],
      ["/w/out-apple/360p/index.m3u8", "/w/out-apple/360p/seg_%05d.ts", true],
      ["/w/out-apple/240p/index.m3u8", "/w/out-apple/240p/seg_%05d.ts", true],
    ]);
    expect(options.outputs.every((o) => o.hlsSegmentType === undefined)).toBe(true);
  });

  it("encodes a shared CMAF ladder once: video renditions, audio per bit rate, nothing for the dash output", () => {
    const dash: DashPlanOutput = {
      ...hls,
      kind: "dash",
      name: "stream",
      dir: "/w/out-stream",
      shares: { hls: "apple", url: "../apple/" },
    };
    const { options, compiledOutputs, dirs } = compileNativePlan(
      { inputPath: "/w/in", outputs: [dash, { ...hls, segments: "cmaf" }] },
      caps,
    );
    expect(
      options.outputs.map((o) => [o.hlsSegmentPattern, o.video !== null, o.audio !== null, o.hlsSegmentType]),
    ).toEqual([
      ["/w/out-apple/720p/seg_%05d.m4s", true, false, "fmp4"],
      ["/w/out-apple/360p/seg_%05d.m4s", true, false, "fmp4"],
      ["/w/out-apple/240p/seg_%05d.m4s", true, false, "fmp4"],
      ["/w/out-apple/audio-128k/seg_%05d.m4s", false, true, "fmp4"],
      ["/w/out-apple/audio-64k/seg_%05d.m4s", false, true, "fmp4"],
    ]);
    expect(options.outputs.every((o) => o.timelineOffsetSec === CMAF_TIMELINE_START_SEC)).toBe(true);
    expect(options.outputs[4]?.audio).toMatchObject({ encoder: "aac", bitrateKbps: 64, channels: 2 });
    // The dash output runs as far as the ladder it shares, and writes its manifest in its own folder.
    const [stream, apple] = compiledOutputs;
    expect(stream?.nativeOutputs).toEqual([0, 1, 2, 3, 4]);
    expect(apple?.nativeOutputs).toEqual([0, 1, 2, 3, 4]);
    expect(stream?.encoding).toEqual(apple?.encoding);
    expect(dirs).toContain("/w/out-stream");
  });

  it("writes no audio tracks for an input without audio", () => {
    const dash: DashPlanOutput = { ...hls, kind: "dash", name: "solo", dir: "/w/out-solo" };
    const { options } = compileNativePlan(
      { inputPath: "/w/in", outputs: [dash] },
      caps,
      undefined,
      undefined,
      false,
    );
    expect(options.outputs.map((o) => o.path)).toEqual([
      "/w/out-solo/720p/index.m3u8",
      "/w/out-solo/360p/index.m3u8",
      "/w/out-solo/240p/index.m3u8",
    ]);
  });
});
