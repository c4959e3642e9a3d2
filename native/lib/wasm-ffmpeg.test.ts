import { describe, expect, it } from "vitest";
import type {
  AudioEncodeOptions,
  MediaFacts,
  ThumbnailsPlanOutput,
  VideoEncodeOptions,
  VideoPlanOutput,
} from "./engine";
import type { OutputMeasure } from "./run-progress";
import {
  audioArgs,
  fitSize,
  memfsInputName,
  orientationFromMatrix,
  parseDisplayMatrix,
  parseEncoders,
  progressMeasure,
  thumbnailArgs,
  thumbnailTimes,
  timelineOf,
  videoArgs,
  wasmUnsupported,
} from "./wasm-ffmpeg";

const facts: MediaFacts = {
  formatName: "mov,mp4",
  durationSec: 10,
  bitRate: null,
  sizeBytes: 1,
  streams: [{ index: 0, type: "video", codec: "h264", width: 640, height: 360, fps: 25, rotation: 0 }],
};

const output: VideoPlanOutput = {
  kind: "video",
  name: "o",
  path: "/jobs/1/o.mp4",
  container: "mp4",
  video: {
    codec: "h264",
    maxWidth: null,
    maxHeight: 180,
    crf: 23,
    bitrateKbps: null,
    preset: "fast",
    fps: null,
    crop: null,
  },
  audio: { codec: "aac", bitrateKbps: 128, channels: null, sampleRate: null, loudnessTargetLufs: null },
  trim: null,
};

describe("videoArgs", () => {
  it("builds the whole list from typed fields and fixed MEMFS names only", () => {
    const args = videoArgs(output, "/work/in.mp4", facts, "/work/out.mp4");
    expect(args).not.toContain(output.path);
    expect(args.slice(args.indexOf("-i"))).toEqual([
      ...["-i", "/work/in.mp4", "-map", "0:v:0?", "-map", "0:a:0?"],
      ...["-vf", "scale=320:180,setsar=1"],
      ...["-c:v", "libx264", "-preset", "fast", "-pix_fmt", "yuv420p", "-crf", "23"],
      ...["-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", "-f", "mp4", "/work/out.mp4"],
    ]);
  });

  it("seeks before the input for a trim, crops in the rotated picture, copies audio", () => {
    const rotated: MediaFacts = { ...facts, streams: [{ ...facts.streams[0], rotation: 90 } as never] };
    const args = videoArgs(
      {
        ...output,
        container: "mkv",
        trim: { startSec: 1.5, endSec: 4 },
        video: {
          ...output.video,
          maxHeight: null,
          crop: { x: 0, y: 0, width: 360, height: 360 },
          fps: 10,
        } as never,
        audio: "copy",
      },
      "/work/in",
      rotated,
      "/work/out.mkv",
    );
    expect(args.slice(args.indexOf("-ss"), args.indexOf("-map"))).toEqual([
      "-ss",
      "1.5",
      "-i",
      "/work/in",
      "-t",
      "2.5",
    ]);
    expect(args).toContain("fps=10,crop=360:360:0:0:exact=1,scale=360:360,setsar=1");
    expect(args.slice(-5)).toEqual(["-c:a", "copy", "-f", "matroska", "/work/out.mkv"]);
  });

  it("drops a stream with -vn / -an and does not map it", () => {
    const audioOnly = videoArgs({ ...output, video: null }, "/work/in", facts, "/work/out.mp4");
    expect(audioOnly).toContain("-vn");
    expect(audioOnly).not.toContain("0:v:0?");
    const videoOnly = videoArgs({ ...output, audio: null }, "/work/in", facts, "/work/out.mp4");
    expect(videoOnly).toContain("-an");
    expect(videoOnly).not.toContain("0:a:0?");
  });
});

it("builds audio and thumbnail argument lists", () => {
  const audio = audioArgs(
    {
      kind: "audio",
      name: "a",
      path: "/x.mp3",
      trim: null,
      audio: { codec: "mp3", bitrateKbps: 96, channels: 1, sampleRate: 44100, loudnessTargetLufs: null },
    },
    "/work/in",
    facts,
    "/work/out.mp3",
  );
  expect(audio.slice(audio.indexOf("-map"))).toEqual([
    ...["-map", "0:a:0", "-vn", "-c:a", "libmp3lame", "-b:a", "96k", "-ac", "1", "-ar", "44100"],
    ...["-f", "mp3", "/work/out.mp3"],
  ]);
  const thumbs: ThumbnailsPlanOutput = {
    kind: "thumbnails",
    name: "t",
    dir: "/d",
    format: "png",
    maxWidth: 128,
    maxHeight: null,
    select: { mode: "count", count: 4 },
  };
  expect(thumbnailArgs(thumbs, "/work/in", 2.5, facts, "/work/out.png")).toContain("scale=128:72,setsar=1");
  expect(thumbnailTimes(thumbs, 10)).toEqual([1.25, 3.75, 6.25, 8.75]);
  expect(thumbnailTimes({ ...thumbs, select: { mode: "every", everySec: 4 } }, 10)).toEqual([0, 4, 8]);
  expect(() => thumbnailTimes(thumbs, null)).toThrow(/known duration/);
});

it("fits pictures in a box without upscaling, by display aspect", () => {
  expect(fitSize(640, 360, 1, null, 180)).toEqual({ width: 320, height: 180 });
  expect(fitSize(320, 240, 2, null, 120)).toEqual({ width: 320, height: 120 });
  expect(fitSize(640, 360, 1, 1920, 1080)).toEqual({ width: 640, height: 360 });
  expect(fitSize(640, 360, 1, 100, 100)).toEqual({ width: 100, height: 56 });
});

it("names the encoder the wasm build lacks", () => {
  const encoders = ["libx264", "aac", "libopus", "libmp3lame", "mjpeg", "png"];
  expect(wasmUnsupported(output, encoders)).toBeNull();
  expect(
    wasmUnsupported({ ...output, video: { ...output.video, codec: "vp9" } as never }, encoders),
  ).toContain("libvpx-vp9");
  expect(
    wasmUnsupported({ ...output, audio: { ...(output.audio as object), codec: "flac" } as never }, encoders),
  ).toContain("flac");
  const opus = {
    ...output,
    container: "mkv",
    audio: { ...(output.audio as object), codec: "opus" },
  } as VideoPlanOutput;
  expect(wasmUnsupported(opus, [...encoders, "libopus"])).toContain("channels: 1");
});

it("keeps only known extensions of the input path in the MEMFS name", () => {
  expect(memfsInputName("/jobs/1/Clip.MOV")).toBe("/work/in.mov");
  expect(memfsInputName("/jobs/1/x.mp4;rm -rf")).toBe("/work/in");
  expect(memfsInputName("/jobs/1/noext")).toBe("/work/in");
});

it("measures an FFmpeg call's output from its -progress blocks, against wall time since the call began", () => {
  const out: OutputMeasure[] = [];
  let t = 0;
  const track = progressMeasure(
    2,
    (m) => out.push(m),
    () => (t += 500),
  );
  track({ frame: "10", out_time_us: "800000", progress: "continue" });
  track({ frame: "12", out_time_us: "N/A", progress: "continue" });
  track({ frame: "25", out_time_us: "-3000", progress: "continue" });
  expect(out).toEqual([
    { frames: 10, outTimeSec: 0.8, durationSec: 2, elapsedSec: 0.5 },
    { frames: 12, outTimeSec: 0, durationSec: 2, elapsedSec: 1 },
    { frames: 25, outTimeSec: 0, durationSec: 2, elapsedSec: 1.5 },
  ]);
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

describe("still orientation (EXIF, as the decoder's display matrix)", () => {
  const one = 65536;
  // What FFmpeg's mjpeg decoder sets for the EXIF Orientation values, as ffprobe prints them.
  const matrices: Record<number, number[]> = {
    1: [one, 0, 0, 0, one, 0, 0, 0, 1 << 30],
    3: [-one, 0, 0, 0, -one, 0, 0, 0, 1 << 30],
    5: [0, one, 0, one, 0, 0, 0, 0, 1 << 30],
    6: [0, one, 0, -one, 0, 0, 0, 0, 1 << 30],
    8: [0, -one, 0, one, 0, 0, 0, 0, 1 << 30],
  };

  it("turns each matrix into the transpose or flips that make the picture upright", () => {
    expect(orientationFromMatrix(matrices[1] ?? [])).toEqual({ transpose: null, hflip: false, vflip: false });
    expect(orientationFromMatrix(matrices[3] ?? [])).toEqual({ transpose: null, hflip: true, vflip: true });
    expect(orientationFromMatrix(matrices[6] ?? [])).toEqual({ transpose: 1, hflip: false, vflip: false });
    expect(orientationFromMatrix(matrices[8] ?? [])).toEqual({ transpose: 2, hflip: false, vflip: false });
    expect(orientationFromMatrix(matrices[5] ?? [])?.transpose).toBe(0);
  });

  it("reads ffprobe's displaymatrix text", () => {
    const text =
      "\n00000000:            0       65536           0\n00000001:       -65536           0           0\n00000002:            0           0  1073741824\n";
    expect(parseDisplayMatrix(text)).toEqual([0, 65536, 0, -65536, 0, 0, 0, 0, 1073741824]);
    expect(parseDisplayMatrix("garbage")).toBeNull();
  });
});

describe("the input's timeline from its packets", () => {
  const facts: MediaFacts = {
    formatName: "matroska,webm",
    durationSec: null,
    bitRate: null,
    sizeBytes: 0,
    streams: [
      { index: 0, type: "video", codec: "h264" },
      { index: 1, type: "audio", codec: "aac" },
    ],
  };
  const packets = (rows: Array<[number, number, number]>) =>
    rows.map(([i, t, d]) => `${i},${t},${t},${d}`).join("\n");

  it("measures where the media ends, from its start", () => {
    const csv = packets([
      [0, 0.5, 0.04],
      [1, 0.5, 0.021],
      [0, 0.54, 0.04],
      [1, 0.521, 0.021],
    ]);
    expect(timelineOf(csv, facts)).toEqual({
      endSec: expect.closeTo(0.08, 5),
      lastPictureSec: expect.closeTo(0.04, 5),
      problem: null,
    });
  });

  it("names what this build cannot repair: a step back, an audio jump, a far video jump", () => {
    expect(
      timelineOf(
        packets([
          [1, 2.2, 0.02],
          [1, 0.01, 0.02],
        ]),
        facts,
      ).problem,
    ).toMatch(/go back in time by 2.19 s \(audio/);
    expect(
      timelineOf(
        packets([
          [1, 2.2, 0.02],
          [1, 62.2, 0.02],
        ]),
        facts,
      ).problem,
    ).toMatch(/jump 60.00 s ahead \(audio/);
    expect(
      timelineOf(
        packets([
          [0, 1, 0.04],
          [0, 20, 0.04],
        ]),
        facts,
      ).problem,
    ).toMatch(/jump 19.00 s ahead \(video/);
    expect(
      timelineOf(
        packets([
          [0, 1, 0.04],
          [0, 3, 0.04],
        ]),
        facts,
      ).problem,
    ).toBeNull();
  });
});

describe("audio track choice", () => {
  const multi: MediaFacts = {
    ...facts,
    streams: [
      ...facts.streams,
      { index: 1, type: "audio", codec: "aac", channels: 2, language: "eng", default: true },
      { index: 2, type: "subtitle", codec: "subrip" },
      { index: 3, type: "audio", codec: "aac", channels: 6, language: "ger", title: "Deutsch" },
    ],
  };
  const base: AudioEncodeOptions = {
    codec: "aac",
    bitrateKbps: 128,
    channels: null,
    sampleRate: null,
    loudnessTargetLufs: null,
  };

  it("maps the chosen track by its stream number, resolved from the probe (B and T codes alike)", () => {
    const args = videoArgs(
      { ...output, audio: { ...base, track: { language: "deu" } } },
      "/work/in",
      multi,
      "/o",
    );
    expect(args.join(" ")).toContain("-map 0:3 ");
    expect(args.join(" ")).toContain("-ac 2"); // that track's 6 channels, capped at stereo
    const audio = audioArgs(
      { kind: "audio", name: "a", path: "/a.m4a", audio: { ...base, track: { index: 0 } }, trim: null },
      "/work/in",
      multi,
      "/o",
    );
    expect(audio.join(" ")).toContain("-map 0:1 ");
    expect(audio.join(" ")).not.toContain("-ac");
  });

  it("keeps every audio track, each capped at stereo on its own", () => {
    const args = videoArgs({ ...output, audio: { ...base, track: "all" } }, "/work/in", multi, "/o").join(
      " ",
    );
    expect(args).toContain("-map 0:a? ");
    expect(args).toContain("-ac:a:1 2");
    expect(args).not.toContain("-ac:a:0");
  });

  it("fails a missing track naming the tracks the input has", () => {
    expect(() =>
      videoArgs({ ...output, audio: { ...base, track: { language: "spa" } } }, "/in", multi, "/o"),
    ).toThrow(/no audio track in language "spa"; its audio tracks are 0: eng, 1: ger \("Deutsch"\)/);
  });

  it("mixes tracks in a graph of resolved stream numbers, averaged, at the widest layout capped at stereo", () => {
    const args = videoArgs({ ...output, audio: { ...base, track: "mix" } }, "/work/in", multi, "/o");
    const graph = args[args.indexOf("-filter_complex") + 1];
    expect(graph).toBe(
      "[0:1]aresample=osr=48000:first_pts=0,aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=stereo[m0];" +
        "[0:3]aresample=osr=48000:first_pts=0,aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=stereo[m1];" +
        "[m0][m1]amix=inputs=2:duration=longest:normalize=1[mix]",
    );
    expect(args.join(" ")).toContain("-map [mix] ");
    expect(args.join(" ")).toContain("-metadata:s:a:0 language=mul");
    expect(args).not.toContain("-ac");
    // A mix of one listed track is that track.
    const one = audioArgs(
      {
        kind: "audio",
        name: "a",
        path: "/a.m4a",
        audio: { ...base, track: { mix: [{ index: 1 }] } },
        trim: null,
      },
      "/work/in",
      multi,
      "/o",
    );
    expect(one).not.toContain("-filter_complex");
    expect(one.join(" ")).toContain("-map 0:3 ");
  });
});

describe("video track choice", () => {
  const angles: MediaFacts = {
    ...facts,
    streams: [
      { index: 0, type: "video", codec: "png", width: 64, height: 64, attachedPicture: true },
      { index: 1, type: "video", codec: "h264", width: 320, height: 180, language: "eng" },
      { index: 2, type: "video", codec: "h264", width: 640, height: 480, language: "deu" },
    ],
  };
  const h264 = output.video as VideoEncodeOptions;

  it("maps the chosen angle by stream number and sizes the picture from that stream, cover art not counted", () => {
    const args = videoArgs(
      { ...output, video: { ...h264, maxWidth: null, maxHeight: null, track: { index: 1 } } },
      "/in",
      angles,
      "/o",
    );
    expect(args.join(" ")).toContain("-map 0:2 ");
    expect(args[args.indexOf("-vf") + 1]).toContain("scale=640:480");
    expect(() =>
      videoArgs({ ...output, video: { ...h264, track: { index: 2 } } }, "/in", angles, "/o"),
    ).toThrow(/no video track 2; its video tracks are 0: eng, 1: deu$/);
  });
});
