import { describe, expect, it } from "vitest";
import {
  loudnessFromLog,
  silenceFromLog,
  videoFromMetadata,
  wasmAnalysisArgs,
  wasmAnalysisUnsupported,
} from "./wasm-analysis";
import { videoPacketFacts } from "./wasm-ffmpeg";

describe("wasm analyses: reading FFmpeg's output", () => {
  it("reads ebur128's frame log and summary", () => {
    const log = [
      "[Parsed_ebur128_0 @ 0x1] t: 0.1        TARGET:-23 LUFS    M:-120.7 S:-120.7     I: -70.0 LUFS       LRA:   0.0 LU  TPK: -inf -inf dBFS",
      "[Parsed_ebur128_0 @ 0x1] t: 0.5        TARGET:-23 LUFS    M: -20.4 S:-120.7     I: -20.4 LUFS       LRA:   0.0 LU  TPK: -3.1 -3.2 dBFS",
      "[Parsed_ebur128_0 @ 0x1] Summary:",
      "  Integrated loudness:",
      "    I:         -19.3 LUFS",
      "    Threshold: -29.5 LUFS",
      "  Loudness range:",
      "    LRA:         5.1 LU",
      "  True peak:",
      "    Peak:       -0.5 dBFS",
    ];
    expect(loudnessFromLog(log, 10)).toEqual({
      durationSec: 10,
      integratedLufs: -19.3,
      loudnessRangeLu: 5.1,
      truePeakDbtp: -0.5,
      momentary: [0.1, -120, 0.5, -20.4],
    });
  });

  it("reads silencedetect's lines and closes a silence still open at the end", () => {
    const log = [
      "[silencedetect @ 0x2] silence_start: 1.50033",
      "[silencedetect @ 0x2] silence_end: 2.60002 | silence_duration: 1.09969",
      "[silencedetect @ 0x2] silence_start: 7.2",
    ];
    expect(silenceFromLog(log, 8, 0.5).intervals).toEqual([1.50033, 2.60002, 7.2, 8]);
    expect(silenceFromLog(log, 7.5, 0.5).intervals).toEqual([1.50033, 2.60002]);
  });

  it("reads scdet, blackdetect and freezedetect from the metadata filter's print file", () => {
    const print = [
      "frame:0    pts:0       pts_time:0",
      "lavfi.scd.score=0.000",
      "frame:50   pts:2000    pts_time:2",
      "lavfi.scd.score=35.026",
      "lavfi.scd.time=2",
      "lavfi.black_start=2",
      "frame:80   pts:3200    pts_time:3.2",
      "lavfi.scd.score=35.154",
      "lavfi.scd.time=3.2",
      "lavfi.black_end=3.2",
      "lavfi.black_start=3.2",
      "",
    ].join("\n");
    expect(videoFromMetadata({ kind: "scenes", threshold: 10 }, print, 8)).toEqual({
      durationSec: 8,
      cuts: [2, 35.026, 3.2, 35.154],
      frames: 3,
    });
    const black = videoFromMetadata(
      { kind: "black", minDurationSec: 0.5, pixelThreshold: 0.1, pictureRatio: 0.98 },
      print,
      8,
    );
    expect(black.intervals).toEqual([2, 3.2, 3.2, 8]);
  });

  it("builds filters from numbers only, and names what the build lacks for the rest", () => {
    expect(
      wasmAnalysisArgs({ kind: "silence", noiseDb: -40, minDurationSec: 0.25 }, "/work/in.mp4"),
    ).toContain("silencedetect=noise=1.000000e-2:duration=0.250000");
    expect(wasmAnalysisUnsupported({ kind: "fingerprint", audioSec: 120, frameIntervalSec: 2 })).toMatch(
      /Chromaprint/,
    );
    expect(wasmAnalysisUnsupported({ kind: "tempo", minBpm: 50, maxBpm: 200 })).toMatch(/tempo/);
    expect(wasmAnalysisUnsupported({ kind: "scenes", threshold: 10 })).toBeNull();
  });

  it("tells variable from constant frame rate from ffprobe's packet list, as the native deep probe does", () => {
    const facts = {
      formatName: "mp4",
      durationSec: 4,
      bitRate: null,
      sizeBytes: 1,
      streams: [{ index: 0, type: "video" as const, codec: "h264" }],
    };
    const lines = (step: (i: number) => number) => {
      let t = 0;
      return Array.from({ length: 40 }, (_, i) => {
        const line = `0,${t.toFixed(6)},${t.toFixed(6)},0.04`;
        t += step(i);
        return line;
      }).join("\n");
    };
    expect(videoPacketFacts(`\n${lines(() => 0.04)}`, facts).get(0)).toEqual({
      packets: 40,
      variable: false,
    });
    expect(
      videoPacketFacts(
        lines((i) => (i % 4 === 3 ? 0.08 : 0.04)),
        facts,
      ).get(0),
    ).toEqual({ packets: 40, variable: true });
  });
});
