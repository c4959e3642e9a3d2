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
