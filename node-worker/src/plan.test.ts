import { checkPlan } from "@framewire/native";
import { jobSpecSchema } from "@framewire/shared";
import { describe, expect, it } from "vitest";
import { buildPlan } from "./plan";

const input = { type: "upload", upload_id: "upl_01jbcdefghjkmnpqrstvwxyz00" };

describe("buildPlan", () => {
  it("maps every output type onto a valid engine plan, paths inside the work dir", () => {
    const spec = jobSpecSchema.parse({
      input,
      accel: "cpu",
      outputs: [
        {
          name: "small",
          type: "video",
          video: { height: 240, watermark: { image: input, position: "top-left", width_pct: 20 } },
        },
        {
          name: "vp9",
          type: "video",
          container: "webm",
          video: { codec: "vp9", bitrate_kbps: 500 },
          audio: { codec: "opus" },
        },
        {
          name: "cut",
          type: "video",
          video: { height: 240, crf: 30 },
          audio: "copy",
          trim: { start_sec: 2 },
        },
        { name: "voice", type: "audio", codec: "flac", loudness: { target_lufs: -23 } },
        { name: "thumbs", type: "thumbnails", count: 5, height: 90, sprite: {} },
        {
          name: "ladder",
          type: "hls",
          segment_sec: 2,
          renditions: [{ height: 360, video_bitrate_kbps: 800 }],
        },
        { name: "facts", type: "analysis" },
      ],
    });
    const plan = buildPlan(spec, "/work/j/input", "/work/j");
    expect(() => checkPlan(plan)).not.toThrow();
    expect(plan.accel).toBe("cpu");
    const [small, vp9, cut, voice, thumbs, ladder, facts] = plan.outputs;
    expect(small).toMatchObject({
      kind: "video",
      path: "/work/j/out-small.mp4",
      video: {
        codec: "h264",
        maxHeight: 240,
        maxWidth: null,
        crf: 23,
        bitrateKbps: null,
        watermark: {
          imagePath: "/work/j/watermark-small",
          position: "top-left",
          marginPx: 16,
          opacity: 1,
          widthFraction: 0.2,
        },
      },
      audio: { codec: "aac", bitrateKbps: 128 },
      trim: null,
    });
    expect(vp9).toMatchObject({ container: "webm", video: { codec: "vp9", crf: null, bitrateKbps: 500 } });
    expect(cut).toMatchObject({ audio: "copy", trim: { startSec: 2, endSec: null } });
    expect(voice).toMatchObject({
      kind: "audio",
      path: "/work/j/out-voice.flac",
      audio: { loudnessTargetLufs: -23 },
    });
    expect(thumbs).toMatchObject({
      kind: "thumbnails",
      dir: "/work/j/out-thumbs",
      select: { mode: "count", count: 5 },
    });
    expect(ladder).toMatchObject({
      kind: "hls",
      segmentSec: 2,
      renditions: [{ name: "360p", audioBitrateKbps: 128 }],
    });
    expect(facts).toEqual({ kind: "probe", name: "facts", path: "/work/j/out-facts.json" });
  });
});

describe("buildPlan: analyses", () => {
  it("maps every analysis kind with its options (defaults filled in) and scene thumbnails onto a valid plan", () => {
    const spec = jobSpecSchema.parse({
      input,
      outputs: [
        { name: "p", type: "analysis" },
        { name: "l", type: "analysis", analysis: "loudness", momentary_points: 50 },
        { name: "s", type: "analysis", analysis: "silence", noise_db: -40 },
        { name: "c", type: "analysis", analysis: "scenes" },
        { name: "b", type: "analysis", analysis: "black" },
        { name: "f", type: "analysis", analysis: "freeze", min_duration_sec: 0.5 },
        { name: "t", type: "analysis", analysis: "tempo", min_bpm: 70, max_bpm: 140 },
        { name: "k", type: "analysis", analysis: "key" },
        { name: "fp", type: "analysis", analysis: "fingerprint" },
        { name: "h", type: "analysis", analysis: "highlights", count: 3, total_sec: 30 },
        { name: "st", type: "thumbnails", select: "scenes", scene_threshold: 20 },
      ],
    });
    const plan = buildPlan(spec, "/work/j/input", "/work/j");
    expect(() => checkPlan(plan)).not.toThrow();
    expect(plan.outputs.map((o) => (o.kind === "analysis" ? o.analysis : o.kind))).toEqual([
      "probe",
      { kind: "loudness", momentaryPoints: 50 },
      { kind: "silence", noiseDb: -40, minDurationSec: 0.5 },
      { kind: "scenes", threshold: 10 },
      { kind: "black", minDurationSec: 0.1, pixelThreshold: 0.1, pictureRatio: 0.98 },
      { kind: "freeze", noiseDb: -60, minDurationSec: 0.5 },
      { kind: "tempo", minBpm: 70, maxBpm: 140 },
      { kind: "key" },
      { kind: "fingerprint", audioSec: 120, frameIntervalSec: 2 },
      { kind: "highlights", count: 3, minSec: 3, maxSec: 15, totalSec: 30 },
      "thumbnails",
    ]);
    expect(plan.outputs[1]).toMatchObject({ path: "/work/j/out-l.json" });
    expect(plan.outputs[10]).toMatchObject({ select: { mode: "scenes", threshold: 20 } });
  });
});

describe("buildPlan: animations", () => {
  it("maps an animation's window, rate, box and loop onto a valid plan", () => {
    const spec = jobSpecSchema.parse({
      input,
      outputs: [
        { name: "g", type: "animation", format: "gif", start_sec: 2, duration_sec: 3, fps: 12, width: 320 },
        { name: "w", type: "animation", loop: false },
      ],
    });
    const plan = buildPlan(spec, "/work/j/input", "/work/j");
    expect(() => checkPlan(plan)).not.toThrow();
    expect(plan.outputs).toEqual([
      {
        kind: "animation",
        name: "g",
        path: "/work/j/out-g.gif",
        format: "gif",
        startSec: 2,
        durationSec: 3,
        fps: 12,
        maxWidth: 320,
        maxHeight: null,
        loop: true,
      },
      expect.objectContaining({ path: "/work/j/out-w.webp", format: "webp", durationSec: 5, loop: false }),
    ]);
  });
});

describe("buildPlan: waveforms", () => {
  it("maps a waveform's picture, colours and resolution onto a valid plan (transparent: no background)", () => {
    const spec = jobSpecSchema.parse({
      input,
      outputs: [{ name: "wave", type: "waveform", image: "svg", width: 800, points_per_sec: 10 }],
    });
    const plan = buildPlan(spec, "/work/j/input", "/work/j");
    expect(() => checkPlan(plan)).not.toThrow();
    expect(plan.outputs[0]).toEqual({
      kind: "waveform",
      name: "wave",
      dir: "/work/j/out-wave",
      image: "svg",
      width: 800,
      height: 280,
      color: "#3b82f6",
      background: null,
      points: null,
      pointsPerSec: 10,
    });
  });
});

describe("buildPlan: audio track choice", () => {
  it("carries a video or audio output's track choice into its audio options", () => {
    const spec = jobSpecSchema.parse({
      input,
      outputs: [
        { name: "v", type: "video", video: {}, audio: { track: { language: "deu" } } },
        { name: "a", type: "audio", track: { index: 1 } },
        { name: "plain", type: "audio" },
      ],
    });
    const plan = buildPlan(spec, "/work/j/input", "/work/j");
    expect(() => checkPlan(plan)).not.toThrow();
    expect(plan.outputs[0]).toMatchObject({ audio: { codec: "aac", track: { language: "deu" } } });
    expect(plan.outputs[1]).toMatchObject({ audio: { track: { index: 1 } } });
    expect(plan.outputs[2]).not.toHaveProperty("audio.track");
  });

  it("carries a mix and video track choices into the plan", () => {
    const spec = jobSpecSchema.parse({
      input,
      outputs: [
        { name: "v", type: "video", video: { track: { index: 1 } }, audio: { track: "mix" } },
        { name: "a", type: "audio", track: { mix: [{ index: 0 }, { language: "deu" }] } },
        { name: "t", type: "thumbnails", count: 2, track: { language: "deu" } },
        { name: "g", type: "animation", track: { index: 1 } },
      ],
    });
    const plan = buildPlan(spec, "/work/j/input", "/work/j");
    expect(() => checkPlan(plan)).not.toThrow();
    expect(plan.outputs[0]).toMatchObject({ video: { track: { index: 1 } }, audio: { track: "mix" } });
    expect(plan.outputs[1]).toMatchObject({ audio: { track: { mix: [{ index: 0 }, { language: "deu" }] } } });
    expect(plan.outputs[2]).toMatchObject({ track: { language: "deu" } });
    expect(plan.outputs[3]).toMatchObject({ track: { index: 1 } });
  });

  it("keeps every track only in a video output: the engine's plan check refuses it for an audio file", () => {
    const spec = jobSpecSchema.parse({
      input,
      outputs: [{ name: "v", type: "video", video: {}, audio: { track: "all" } }],
    });
    const plan = buildPlan(spec, "/work/j/input", "/work/j");
    expect(() => checkPlan(plan)).not.toThrow();
    const audio = { kind: "audio" as const, name: "a", path: "/work/j/a.m4a", trim: null };
    const all = {
      codec: "aac" as const,
      bitrateKbps: 128,
      channels: null,
      sampleRate: null,
      loudnessTargetLufs: null,
    };
    expect(() =>
      checkPlan({ inputPath: "/work/j/input", outputs: [{ ...audio, audio: { ...all, track: "all" } }] }),
    ).toThrow(/track/);
  });

  it("maps subtitles: the job's files into the work dir, burns with their typed style, tracks, renditions and extraction", () => {
    const spec = jobSpecSchema.parse({
      input,
      subtitles: {
        en: { input: { type: "url", url: "https://example.com/en.vtt" }, language: "eng", label: "English" },
        ar: { input },
      },
      outputs: [
        {
          name: "burned",
          type: "video",
          video: {},
          trim: { start_sec: 1 },
          subtitles: {
            input: "ar",
            mode: "burn",
            style: { font: "serif-bold", position: "top", background: "#00000080" },
          },
        },
        {
          name: "tracks",
          type: "video",
          container: "mkv",
          video: {},
          subtitles: [{ input: "en", mode: "track" }],
        },
        {
          name: "ladder",
          type: "hls",
          renditions: [{ height: 360, video_bitrate_kbps: 800 }],
          subtitles: [{ input: "en" }],
        },
        { name: "own", type: "subtitles", track: { index: 1 } },
      ],
    });
    const plan = buildPlan(spec, "/work/job/input", "/work/job");
    expect(() => checkPlan(plan)).not.toThrow();
    expect(plan.subtitles).toEqual({
      en: { path: "/work/job/subtitles-en", language: "eng", label: "English" },
      ar: { path: "/work/job/subtitles-ar", language: null, label: null },
    });
    const [burned, tracks, ladder, own] = plan.outputs;
    expect(burned?.kind === "video" && burned.subtitles).toEqual([
      {
        input: "ar",
        mode: "burn",
        style: {
          font: "serif-bold",
          fontSize: 48,
          color: "#ffffff",
          outlineColor: "#000000",
          outlinePx: 3,
          background: "#00000080",
          position: "top",
          marginPct: 5,
        },
      },
    ]);
    expect(tracks?.kind === "video" && tracks.subtitles).toEqual([
      { input: "en", mode: "track", default: false },
    ]);
    expect(ladder?.kind === "hls" && ladder.subtitles).toEqual([{ input: "en", default: false }]);
    expect(own).toEqual({
      kind: "subtitles",
      name: "own",
      path: "/work/job/out-own.vtt",
      format: "vtt",
      track: { index: 1 },
    });
  });
});

describe("buildPlan: DASH", () => {
  const ladder = {
    segment_sec: 2,
    renditions: [
      { height: 360, video_bitrate_kbps: 800, audio_bitrate_kbps: 96 },
      { height: 720, video_bitrate_kbps: 2500 },
    ],
  };

  it("shares the ladder of an hls output with the same options: CMAF segments, stored once", () => {
    const spec = jobSpecSchema.parse({
      input,
      outputs: [
        { name: "stream", type: "dash", ...ladder, renditions: [...ladder.renditions].reverse() },
        { name: "apple", type: "hls", ...ladder },
        { name: "also", type: "dash", ...ladder },
      ],
    });
    const plan = buildPlan(spec, "/work/j/input", "/work/j");
    expect(() => checkPlan(plan)).not.toThrow();
    const [stream, apple, also] = plan.outputs;
    expect(apple).toMatchObject({ kind: "hls", dir: "/work/j/out-apple", segments: "cmaf" });
    expect(stream).toMatchObject({
      kind: "dash",
      dir: "/work/j/out-stream",
      shares: { hls: "apple", url: "../apple/" },
    });
    expect(also).toMatchObject({ kind: "dash", shares: { hls: "apple", url: "../apple/" } });
  });

  it("links the shared segments by where a destination's path template stores each output", () => {
    const spec = jobSpecSchema.parse({
      input,
      outputs: [
        { name: "apple", type: "hls", ...ladder },
        { name: "stream", type: "dash", ...ladder },
      ],
    });
    const folder = (output: string) => `prefix/2025-01-02/${output}/media`;
    const plan = buildPlan(spec, "/work/j/input", "/work/j", folder);
    expect(plan.outputs[1]).toMatchObject({ shares: { hls: "apple", url: "../../apple/media/" } });
    expect(() => checkPlan(plan)).not.toThrow();
  });

  it("encodes a different ladder apart, and keeps a lone hls output on MPEG-TS", () => {
    const spec = jobSpecSchema.parse({
      input,
      outputs: [
        { name: "apple", type: "hls", ...ladder },
        { name: "stream", type: "dash", ...ladder, segment_sec: 4 },
      ],
    });
    const plan = buildPlan(spec, "/work/j/input", "/work/j");
    expect(() => checkPlan(plan)).not.toThrow();
    expect(plan.outputs[0]).not.toHaveProperty("segments");
    expect(plan.outputs[1]).toMatchObject({ kind: "dash", segmentSec: 4 });
    expect(plan.outputs[1]).not.toHaveProperty("shares");
  });
});
