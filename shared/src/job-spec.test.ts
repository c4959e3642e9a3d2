import { describe, expect, it } from "vitest";
import { jobSpecSchema, poolFor } from "./job-spec";

const upload = { type: "upload", upload_id: "upl_01jbcdefghjkmnpqrstvwxyz00" };
const video = { name: "480p", type: "video", video: { height: 480 } };

describe("job spec", () => {
  it("fills in defaults a client may leave out", () => {
    const spec = jobSpecSchema.parse({ input: upload, outputs: [video] });
    expect(spec.priority).toBe("default");
    expect(spec.accel).toBe("auto");
    expect(spec.outputs[0]).toEqual({
      name: "480p",
      type: "video",
      container: "mp4",
      video: { codec: "h264", height: 480, preset: "veryfast" },
      audio: { codec: "aac", bitrate_kbps: 128 },
    });
  });

  it("points at the bad field", () => {
    const result = jobSpecSchema.safeParse({
      input: upload,
      outputs: [{ ...video, video: { height: 481 } }],
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(["outputs", 0, "video", "height"]);
    expect(result.error?.issues[0]?.message).toContain("even");
  });

  it("refuses fields it does not know, so raw FFmpeg options can't ride along", () => {
    const result = jobSpecSchema.safeParse({
      input: upload,
      outputs: [{ ...video, video: { height: 480, filter: "movie=/etc/passwd" } }],
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.code).toBe("unrecognized_keys");
  });

  it("accepts only http(s) URL inputs", () => {
    for (const url of [
      "file:///etc/passwd",
      "concat:a|b",
      "subfile:,start,0,end,0,:x",
      "ftp://host/x",
      "pipe:0",
      "data:video/mp4;base64,AAAA",
      "tcp://127.0.0.1:6379",
      "rtmp://host/live",
      "gopher://127.0.0.1:6379/_x",
      "hls+http://host/a.m3u8",
      "async:http://host/a",
      "crypto+https://host/a",
    ]) {
      expect(jobSpecSchema.safeParse({ input: { type: "url", url }, outputs: [video] }).success, url).toBe(
        false,
      );
    }
    expect(
      jobSpecSchema.safeParse({ input: { type: "url", url: "https://example.com/a.mp4" }, outputs: [video] })
        .success,
    ).toBe(true);
  });

  it("keeps output names path-safe and unique", () => {
    for (const name of ["../x", "a/b", "", ".hidden", "a b"]) {
      expect(jobSpecSchema.safeParse({ input: upload, outputs: [{ ...video, name }] }).success, name).toBe(
        false,
      );
    }
  });

  it("takes s3 inputs as a bucket and a plain relative key that can't walk out of the bucket", () => {
    const s3 = (bucket: string, key: string) =>
      jobSpecSchema.safeParse({ input: { type: "s3", bucket, key }, outputs: [video] }).success;
    expect(s3("media-in", "shows/ep 1/master.mov")).toBe(true);
    for (const key of [
      "../other/x.mp4",
      "a/../../b",
      "./a",
      "/abs.mp4",
      "a//b",
      "a\\..\\b",
      "a\u0000b",
      "",
    ]) {
      expect(s3("media-in", key), JSON.stringify(key)).toBe(false);
    }
    for (const bucket of ["UPPER", "a", "has/slash", "..", "-dash"])
      expect(s3(bucket, "x.mp4"), bucket).toBe(false);
  });

  it("bounds numbers", () => {
    expect(
      jobSpecSchema.safeParse({ input: upload, outputs: [{ ...video, video: { height: 8 } }] }).success,
    ).toBe(false);
    expect(
      jobSpecSchema.safeParse({ input: upload, outputs: [{ ...video, video: { height: 480, crf: 52 } }] })
        .success,
    ).toBe(false);
  });

  it("lets a job drop audio", () => {
    const spec = jobSpecSchema.parse({ input: upload, outputs: [{ ...video, audio: false }] });
    expect(spec.outputs[0]).toMatchObject({ type: "video", audio: false });
  });

  it("accepts up to 16 outputs of every type, and no more", () => {
    const outputs = [
      video,
      {
        name: "webm",
        type: "video",
        container: "webm",
        video: { codec: "vp9", width: 640, bitrate_kbps: 800 },
        audio: { codec: "opus" },
      },
      {
        name: "clip",
        type: "video",
        video: { height: 360, fps: 30, crop: { x: 0, y: 0, width: 640, height: 360 } },
        audio: "copy",
        trim: { start_sec: 1, end_sec: 5.5 },
      },
      {
        name: "voice",
        type: "audio",
        codec: "mp3",
        channels: 1,
        sample_rate: 44100,
        loudness: { target_lufs: -16 },
      },
      { name: "thumbs", type: "thumbnails", every_sec: 2, format: "webp", width: 320 },
      {
        name: "ladder",
        type: "hls",
        renditions: [
          { height: 720, video_bitrate_kbps: 2500 },
          { height: 360, video_bitrate_kbps: 800 },
        ],
      },
      { name: "facts", type: "analysis" },
      {
        name: "stream",
        type: "dash",
        segment_sec: 2,
        renditions: [{ height: 480, video_bitrate_kbps: 1200 }],
      },
    ];
    const spec = jobSpecSchema.parse({ input: upload, outputs });
    expect(spec.outputs.map((o) => o.type)).toEqual([
      "video",
      "video",
      "video",
      "audio",
      "thumbnails",
      "hls",
      "analysis",
      "dash",
    ]);
    expect(spec.outputs[5]).toMatchObject({ segment_sec: 4, renditions: [{ audio_bitrate_kbps: 128 }, {}] });
    // dash takes the hls ladder's options, with the same defaults.
    expect(spec.outputs[7]).toEqual({
      name: "stream",
      type: "dash",
      segment_sec: 2,
      preset: "veryfast",
      renditions: [{ height: 480, video_bitrate_kbps: 1200, audio_bitrate_kbps: 128 }],
    });
    const many = Array.from({ length: 17 }, (_, i) => ({ ...video, name: `o${i}` }));
    expect(jobSpecSchema.safeParse({ input: upload, outputs: many.slice(0, 16) }).success).toBe(true);
    expect(jobSpecSchema.safeParse({ input: upload, outputs: many }).success).toBe(false);
  });

  it.each([
    [
      { ...video, container: "webm", video: { codec: "h264", height: 480 } },
      ["outputs", 0, "video", "codec"],
    ],
    [
      { ...video, video: { height: 480, crf: 20, bitrate_kbps: 900 } },
      ["outputs", 0, "video", "bitrate_kbps"],
    ],
    [{ ...video, video: { codec: "h264", height: 480, crf: 60 } }, ["outputs", 0, "video", "crf"]],
    [{ ...video, trim: { start_sec: 5, end_sec: 2 } }, ["outputs", 0, "trim", "end_sec"]],
    [{ name: "t", type: "thumbnails", every_sec: 2, count: 3 }, ["outputs", 0]],
    [{ name: "a", type: "audio", sample_rate: 12345 }, ["outputs", 0, "sample_rate"]],
    [
      {
        name: "h",
        type: "hls",
        renditions: [
          { height: 360, video_bitrate_kbps: 500 },
          { height: 360, video_bitrate_kbps: 400 },
        ],
      },
      ["outputs", 0, "renditions"],
    ],
    [{ name: "d", type: "dash", renditions: [] }, ["outputs", 0, "renditions"]],
    [
      { name: "d", type: "dash", segment_sec: 0.5, renditions: [{ height: 360, video_bitrate_kbps: 500 }] },
      ["outputs", 0, "segment_sec"],
    ],
    [
      { name: "d", type: "dash", renditions: [{ height: 360, video_bitrate_kbps: 500 }], container: "mp4" },
      ["outputs", 0],
    ],
  ])("rejects %j at %j", (output, path) => {
    const result = jobSpecSchema.safeParse({ input: upload, outputs: [output] });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(path);
  });

  it("routes gpu jobs to the gpu pool and everything else to cpu", () => {
    expect(poolFor({ accel: "gpu" })).toBe("gpu");
    expect(poolFor({ accel: "auto" })).toBe("cpu");
    expect(poolFor({ accel: "cpu" })).toBe("cpu");
  });
});

describe("defaults follow the container", () => {
  const parse = (output: Record<string, unknown>) =>
    jobSpecSchema.safeParse({ input: upload, outputs: [{ name: "o", type: "video", ...output }] });

  it("webm with a vp9 video and no audio settings gets opus, not the mp4 default", () => {
    const result = parse({ container: "webm", video: { codec: "vp9" } });
    expect(result.error?.issues).toBeUndefined();
    expect(result.data?.outputs[0]).toMatchObject({
      container: "webm",
      video: { codec: "vp9" },
      audio: { codec: "opus", bitrate_kbps: 128 },
    });
  });

  it("webm with nothing named gets vp9 and opus; audio settings without a codec get opus", () => {
    const result = parse({ container: "webm", video: { height: 360 }, audio: { bitrate_kbps: 96 } });
    expect(result.data?.outputs[0]).toMatchObject({
      video: { codec: "vp9", height: 360 },
      audio: { codec: "opus", bitrate_kbps: 96 },
    });
  });

  it("mp4, mov and mkv keep h264 and aac", () => {
    for (const container of ["mp4", "mov", "mkv"]) {
      const result = parse({ container, video: {} });
      expect(result.data?.outputs[0], container).toMatchObject({
        video: { codec: "h264" },
        audio: { codec: "aac" },
      });
    }
  });

  it("a codec the client names is checked as written, with the reason", () => {
    const h264InWebm = parse({ container: "webm", video: { codec: "h264" } });
    expect(h264InWebm.error?.issues[0]).toMatchObject({
      path: ["outputs", 0, "video", "codec"],
      message: "webm carries vp9, av1 video",
    });
    const aacInWebm = parse({ container: "webm", video: {}, audio: { codec: "aac" } });
    expect(aacInWebm.error?.issues[0]).toMatchObject({
      path: ["outputs", 0, "audio", "codec"],
      message: "webm carries opus audio",
    });
    const flacInMp4 = parse({ video: {}, audio: { codec: "flac" } });
    expect(flacInMp4.error?.issues[0]?.message).toBe("mp4 carries aac, mp3, opus audio");
  });

  it("copy and no audio stay as written", () => {
    expect(parse({ container: "webm", video: {}, audio: false }).data?.outputs[0]).toMatchObject({
      audio: false,
    });
    expect(parse({ container: "mkv", video: {}, audio: "copy" }).data?.outputs[0]).toMatchObject({
      audio: "copy",
    });
  });
});

describe("analysis outputs", () => {
  const parse = (output: Record<string, unknown>) =>
    jobSpecSchema.safeParse({ input: upload, outputs: [{ name: "a", type: "analysis", ...output }] });

  it("keeps { type: analysis } with no kind meaning probe, as existing clients send it", () => {
    expect(parse({}).data?.outputs[0]).toEqual({ name: "a", type: "analysis", analysis: "probe" });
  });

  it("fills in each kind's options and refuses options of another kind", () => {
    expect(parse({ analysis: "silence" }).data?.outputs[0]).toEqual({
      name: "a",
      type: "analysis",
      analysis: "silence",
      noise_db: -50,
      min_duration_sec: 0.5,
    });
    expect(parse({ analysis: "highlights" }).data?.outputs[0]).toMatchObject({
      count: 5,
      min_sec: 3,
      max_sec: 15,
    });
    const foreign = parse({ analysis: "key", threshold: 20 });
    expect(foreign.error?.issues[0]?.code).toBe("unrecognized_keys");
    expect(parse({ analysis: "tempo", filter: "ebur128" }).success).toBe(false);
  });

  it("bounds every option and relates the ones that go together", () => {
    expect(parse({ analysis: "scenes", threshold: 0 }).error?.issues[0]?.path).toEqual([
      "outputs",
      0,
      "threshold",
    ]);
    expect(parse({ analysis: "silence", noise_db: 3 }).success).toBe(false);
    expect(parse({ analysis: "fingerprint", audio_sec: 5 }).success).toBe(false);
    expect(parse({ analysis: "tempo", min_bpm: 150, max_bpm: 100 }).error?.issues[0]).toMatchObject({
      path: ["outputs", 0, "max_bpm"],
      message: "min_bpm must be under max_bpm",
    });
    expect(parse({ analysis: "highlights", min_sec: 20, max_sec: 10 }).error?.issues[0]?.path).toEqual([
      "outputs",
      0,
      "max_sec",
    ]);
    expect(parse({ analysis: "highlights", total_sec: 2 }).success).toBe(false);
    expect(parse({ analysis: "nonsense" }).success).toBe(false);
  });

  it("takes select: scenes on thumbnails as one of the four ways to choose stills", () => {
    const thumbs = (t: Record<string, unknown>) =>
      jobSpecSchema.safeParse({ input: upload, outputs: [{ name: "t", type: "thumbnails", ...t }] });
    expect(thumbs({ select: "scenes", scene_threshold: 15 }).success).toBe(true);
    expect(thumbs({ select: "scenes", count: 3 }).success).toBe(false);
    expect(thumbs({ count: 3, scene_threshold: 15 }).success).toBe(false);
    expect(thumbs({ select: "faces" }).success).toBe(false);
  });
});

describe("animation outputs", () => {
  const parse = (output: Record<string, unknown>) =>
    jobSpecSchema.safeParse({ input: upload, outputs: [{ name: "a", type: "animation", ...output }] });

  it("fills in a 5 s animated WebP at 15 fps from the start, looping", () => {
    expect(parse({}).data?.outputs[0]).toEqual({
      name: "a",
      type: "animation",
      format: "webp",
      start_sec: 0,
      duration_sec: 5,
      fps: 15,
      loop: true,
    });
  });

  it("takes gif and mp4, bounds the clip, its rate and its box, and refuses filter text", () => {
    expect(parse({ format: "gif", width: 320, duration_sec: 2.5, fps: 10, loop: false }).success).toBe(true);
    expect(parse({ format: "apng" }).success).toBe(false);
    expect(parse({ duration_sec: 61 }).success).toBe(false);
    expect(parse({ duration_sec: 0 }).success).toBe(false);
    expect(parse({ fps: 51 }).success).toBe(false);
    expect(parse({ width: 1922 }).success).toBe(false);
    expect(parse({ width: 321 }).success).toBe(false);
    expect(parse({ filter: "palettegen" }).success).toBe(false);
  });
});

describe("waveform outputs", () => {
  const parse = (output: Record<string, unknown>) =>
    jobSpecSchema.safeParse({ input: upload, outputs: [{ name: "w", type: "waveform", ...output }] });

  it("fills in a 1800x280 blue PNG on transparent", () => {
    expect(parse({}).data?.outputs[0]).toEqual({
      name: "w",
      type: "waveform",
      image: "png",
      width: 1800,
      height: 280,
      color: "#3b82f6",
      background: "transparent",
    });
  });

  it("takes colours as hex only, one resolution, and bounded sizes", () => {
    expect(
      parse({ image: "svg", color: "#ffffff80", background: "#000000", points_per_sec: 50 }).success,
    ).toBe(true);
    expect(parse({ color: "red" }).success).toBe(false);
    expect(parse({ color: "#fff" }).success).toBe(false);
    expect(parse({ background: "url(x)" }).success).toBe(false);
    expect(parse({ points: 1000, points_per_sec: 10 }).success).toBe(false);
    expect(parse({ width: 9000 }).success).toBe(false);
    expect(parse({ image: "jpg" }).success).toBe(false);
  });
});

describe("audio track choice", () => {
  const parse = (output: Record<string, unknown>) =>
    jobSpecSchema.safeParse({ input: upload, outputs: [{ name: "o", ...output }] });

  it("takes a track by index or ISO 639-2 language on video and audio outputs", () => {
    const video = parse({ type: "video", video: {}, audio: { track: { language: "deu" } } });
    expect(video.data?.outputs[0]).toMatchObject({ audio: { codec: "aac", track: { language: "deu" } } });
    expect(parse({ type: "audio", track: { index: 2 } }).data?.outputs[0]).toMatchObject({
      track: { index: 2 },
    });
  });

  it("refuses anything but a bounded index or a three-letter code, and both at once", () => {
    expect(parse({ type: "audio", track: { language: "German" } }).success).toBe(false);
    expect(parse({ type: "audio", track: { language: "DEU" } }).success).toBe(false);
    expect(parse({ type: "audio", track: { language: "deu;-map" } }).success).toBe(false);
    expect(parse({ type: "audio", track: { index: -1 } }).success).toBe(false);
    expect(parse({ type: "audio", track: { index: 64 } }).success).toBe(false);
    expect(parse({ type: "audio", track: { index: 1, language: "deu" } }).success).toBe(false);
    expect(parse({ type: "audio", track: "0:a:1" }).success).toBe(false);
    // Every track: a video output's audio only (an audio file holds one track).
    expect(parse({ type: "video", video: {}, audio: { track: "all" } }).success).toBe(true);
    expect(parse({ type: "audio", track: "all" }).success).toBe(false);
  });

  it('mixes every track ("mix") or 2-8 listed ones, never with loudness normalization', () => {
    expect(parse({ type: "audio", track: "mix" }).success).toBe(true);
    expect(parse({ type: "video", video: {}, audio: { track: "mix" } }).success).toBe(true);
    const listed = parse({ type: "audio", track: { mix: [{ index: 0 }, { language: "deu" }] } });
    expect(listed.data?.outputs[0]).toMatchObject({ track: { mix: [{ index: 0 }, { language: "deu" }] } });
    expect(parse({ type: "audio", track: { mix: [{ index: 0 }] } }).success).toBe(false);
    expect(parse({ type: "audio", track: { mix: Array(9).fill({ index: 0 }) } }).success).toBe(false);
    expect(parse({ type: "audio", track: { mix: "all" } }).success).toBe(false);
    // An edit's audio comes from its clips: a track choice there is refused, not ignored.
    const reel = parse({ type: "highlight_reel", audio: { track: "mix" } });
    expect(reel.success).toBe(false);
    expect(parse({ type: "highlight_reel" }).success).toBe(true);
    const loud = parse({ type: "audio", track: "mix", loudness: { target_lufs: -16 } });
    expect(loud.error?.issues[0]).toMatchObject({ path: ["outputs", 0, "loudness"] });
  });
});

describe("video track choice", () => {
  const parse = (output: Record<string, unknown>) =>
    jobSpecSchema.safeParse({ input: upload, outputs: [{ name: "o", ...output }] });

  it("takes an angle by index or language in video, thumbnails and animation outputs", () => {
    expect(parse({ type: "video", video: { track: { index: 1 } } }).data?.outputs[0]).toMatchObject({
      video: { track: { index: 1 } },
    });
    expect(parse({ type: "thumbnails", count: 3, track: { language: "deu" } }).success).toBe(true);
    expect(parse({ type: "animation", track: { index: 0 } }).success).toBe(true);
    expect(parse({ type: "video", video: { track: { index: 16 } } }).success).toBe(false);
    expect(parse({ type: "video", video: { track: "all" } }).success).toBe(false);
    expect(parse({ type: "video", video: { track: { language: "0:v:1" } } }).success).toBe(false);
  });
});

describe("subtitles", () => {
  const srt = { type: "url", url: "https://example.com/en.srt" };
  const job = (subtitles: unknown, outputs: unknown[]) =>
    jobSpecSchema.safeParse({ input: upload, subtitles, outputs });
  const problems = (result: ReturnType<typeof job>) =>
    result.success ? [] : result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);

  it("takes subtitle files by name, burned (one entry or a list) or carried as tracks, with style defaults", () => {
    const result = job({ en: { input: srt, language: "eng", label: "English" }, ar: { input: upload } }, [
      { ...video, subtitles: { input: "ar", mode: "burn" } },
      {
        ...video,
        name: "webm",
        container: "webm",
        subtitles: [{ input: "en", mode: "track", default: true }],
      },
    ]);
    expect(problems(result)).toEqual([]);
    const [burned, tracked] = result.data?.outputs ?? [];
    expect(burned?.type === "video" && burned.subtitles).toEqual([
      {
        input: "ar",
        mode: "burn",
        style: {
          font: "sans",
          font_size: 48,
          color: "#ffffff",
          outline_color: "#000000",
          outline_px: 3,
          position: "bottom",
          margin_pct: 5,
        },
      },
    ]);
    expect(tracked?.type === "video" && tracked.subtitles).toEqual([
      { input: "en", mode: "track", default: true },
    ]);
  });

  it("offers subtitles as HLS renditions and extracts the input's own tracks", () => {
    const result = job({ en: { input: srt } }, [
      {
        name: "hls",
        type: "hls",
        renditions: [{ height: 360, video_bitrate_kbps: 800 }],
        subtitles: [{ input: "en", default: true }],
      },
      { name: "subs", type: "subtitles", track: { language: "ger" } },
    ]);
    expect(problems(result)).toEqual([]);
    expect(result.data?.outputs[1]).toEqual({
      name: "subs",
      type: "subtitles",
      track: { language: "ger" },
      format: "vtt",
    });
  });

  it("names subtitles that are missing, unused, doubled or burned twice", () => {
    const result = job({ en: { input: srt }, fr: { input: srt } }, [
      {
        ...video,
        subtitles: [
          { input: "en", mode: "burn" },
          { input: "en", mode: "track" },
          { input: "xx", mode: "burn" },
        ],
      },
    ]);
    expect(problems(result)).toEqual([
      "outputs.0.subtitles: burn at most one subtitle into a picture",
      "outputs.0.subtitles.1.input: names subtitles 'en' twice",
      "outputs.0.subtitles.2.input: subtitles 'xx' is not one of the job's subtitles (en, fr)",
      "subtitles.fr: subtitles 'fr' is used by no output (burn it, carry it as a track or add it to an hls output)",
    ]);
    expect(problems(job(undefined, [{ ...video, subtitles: { input: "en", mode: "track" } }]))).toEqual([
      "outputs.0.subtitles.0.input: names subtitles 'en', but the job has no subtitles",
    ]);
  });

  it("bounds the style and the tags, and takes no style text", () => {
    const burn = (style: unknown) =>
      job({ en: { input: srt } }, [{ ...video, subtitles: { input: "en", mode: "burn", style } }]);
    expect(problems(burn({ font: "Comic Sans" }))[0]).toContain("subtitles.0.style.font");
    expect(problems(burn({ font_size: 500 }))[0]).toContain("subtitles.0.style.font_size");
    expect(problems(burn({ color: "red" }))[0]).toContain("must be a colour");
    expect(problems(burn({ force_style: "Fontname=x" }))[0]).toContain("Unrecognized key");
    const tagged = (entry: unknown) =>
      job({ en: { input: srt, ...(entry as object) } }, [
        { ...video, subtitles: { input: "en", mode: "track" } },
      ]);
    expect(problems(tagged({ language: "english" }))[0]).toContain("ISO 639-2");
    expect(problems(tagged({ label: 'say "hi"' }))[0]).toContain("without quotes or line breaks");
    expect(problems(tagged({ label: "two\nlines" }))[0]).toContain("without quotes or line breaks");
  });

  it("goes with a single input, not with a composition's inputs", () => {
    const result = jobSpecSchema.safeParse({
      inputs: { a: upload },
      subtitles: { en: { input: srt } },
      outputs: [{ name: "reel", type: "highlight_reel" }],
    });
    expect(problems(result)).toContain(
      "subtitles: subtitles go with a job's single input, not with inputs (compositions take none)",
    );
  });
});
