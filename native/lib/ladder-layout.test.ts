import { describe, expect, it } from "vitest";
import type { DashPlanOutput, HlsPlanOutput, Plan } from "./engine";
import { ladderTracks, sameLadder } from "./ladder-layout";
import { checkPlan } from "./plan-check";

const renditions = [
  { name: "720p", maxHeight: 720, videoBitrateKbps: 2500, audioBitrateKbps: 128 },
  { name: "360p", maxHeight: 360, videoBitrateKbps: 800, audioBitrateKbps: 96 },
  { name: "240p", maxHeight: 240, videoBitrateKbps: 400, audioBitrateKbps: 96 },
];
const hls: HlsPlanOutput = {
  kind: "hls",
  name: "apple",
  dir: "/w/out-apple",
  segmentSec: 4,
  preset: "veryfast",
  renditions,
  segments: "cmaf",
};
const dash: DashPlanOutput = {
  kind: "dash",
  name: "stream",
  dir: "/w/out-stream",
  segmentSec: 4,
  preset: "veryfast",
  renditions: [...renditions].reverse(),
  shares: { hls: "apple", url: "../apple/" },
};

describe("ladder layout", () => {
  it("lays a CMAF ladder out as one folder per rendition's video and per audio bit rate", () => {
    const tracks = ladderTracks(hls);
    expect(tracks.video.map((t) => [t.name, t.type, t.segmentPattern])).toEqual([
      ["720p", "video", "/w/out-apple/720p/seg_%05d.m4s"],
      ["360p", "video", "/w/out-apple/360p/seg_%05d.m4s"],
      ["240p", "video", "/w/out-apple/240p/seg_%05d.m4s"],
    ]);
    expect(tracks.audio.map((t) => [t.name, t.bitrateKbps, t.playlist])).toEqual([
      ["audio-128k", 128, "/w/out-apple/audio-128k/index.m3u8"],
      ["audio-96k", 96, "/w/out-apple/audio-96k/index.m3u8"],
    ]);
    // A plain HLS ladder: MPEG-TS renditions, each with its audio.
    const ts = ladderTracks({ ...hls, segments: "ts" });
    expect(ts.video.map((t) => [t.type, t.segmentPattern])[0]).toEqual([
      "muxed",
      "/w/out-apple/720p/seg_%05d.ts",
    ]);
    expect(ts.audio).toEqual([]);
    // A shared ladder is read where the HLS output wrote it.
    expect(ladderTracks(dash, hls.dir).video[0]?.dir).toBe("/w/out-apple/240p");
  });

  it("tells the same ladder in any order from a different one", () => {
    expect(sameLadder(hls, dash)).toBe(true);
    expect(sameLadder(hls, { ...dash, segmentSec: 2 })).toBe(false);
    expect(sameLadder(hls, { ...dash, preset: "fast" })).toBe(false);
    expect(sameLadder(hls, { ...dash, renditions: renditions.slice(1) })).toBe(false);
    const louder = renditions.map((r, i) => (i === 0 ? { ...r, audioBitrateKbps: 160 } : r));
    expect(sameLadder(hls, { ...dash, renditions: louder })).toBe(false);
  });

  it("lets a dash output share only a CMAF HLS output of the plan with its ladder, by a relative URL", () => {
    const plan = (outputs: Plan["outputs"]): Plan => ({ inputPath: "/w/input", outputs });
    expect(() => checkPlan(plan([hls, dash]))).not.toThrow();
    expect(() => checkPlan(plan([{ ...hls, segments: "ts" }, dash]))).toThrow(/shares\.hls/);
    expect(() => checkPlan(plan([{ ...hls, segmentSec: 2 }, dash]))).toThrow(/shares\.hls/);
    expect(() => checkPlan(plan([dash]))).toThrow(/shares\.hls/);
    for (const url of ["/etc/", "https://evil.example/", "../apple", "../../a/../b/", "./x/"])
      expect(() => checkPlan(plan([hls, { ...dash, shares: { hls: "apple", url } }])), url).toThrow(
        /shares\.url/,
      );
    expect(() =>
      checkPlan(plan([hls, { ...dash, shares: { hls: "apple", url: "../../apple/2025-01-02/" } }])),
    ).not.toThrow();
    // Audio folders are named audio-<kbps>k: a rendition may not take such a name.
    const clash = {
      ...dash,
      shares: null,
      renditions: [{ ...renditions[0], name: "audio-128k" } as (typeof renditions)[0]],
    };
    expect(() => checkPlan(plan([clash]))).toThrow(/renditions\[0\]\.name/);
  });
});
