import { z } from "zod";
import { webhookSpecSchema } from "./webhooks";

/**
 * The job spec: what an API client may ask for. Every option is a typed field with bounds; nothing
 * here is ever passed to FFmpeg as text. `outputs` is a union on `type`: video, audio, thumbnails,
 * hls, analysis; all outputs of a job share one decode of the input.
 */

export const priorities = ["high", "default", "low"] as const;
export type Priority = (typeof priorities)[number];

export const accelModes = ["auto", "cpu", "gpu"] as const;
export type AccelMode = (typeof accelModes)[number];

export const x264Presets = [
  "ultrafast",
  "superfast",
  "veryfast",
  "faster",
  "fast",
  "medium",
  "slow",
  "slower",
  "veryslow",
] as const;

const evenDimension = z
  .int()
  .min(16)
  .max(4320)
  .refine((n) => n % 2 === 0, "must be an even number of pixels");

export const uploadInputSchema = z.strictObject({
  type: z.literal("upload"),
  upload_id: z.string().regex(/^upl_[0-9a-z]{26}$/, "must be an upload id from POST /v1/uploads"),
});

export const urlInputSchema = z.strictObject({
  type: z.literal("url"),
  url: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).max(2048),
});

const bucketName = z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be an S3 bucket name");

/** An operator's comma-separated bucket list (FW_S3_INPUT_BUCKETS), read the same by edge and node. */
export const bucketListSetting = z
  .string()
  .default("")
  .transform((s) =>
    s
      .split(",")
      .map((b) => b.trim())
      .filter(Boolean),
  )
  .pipe(z.array(bucketName));

/**
 * An object in the operator's own S3 storage, read with the nodes' credentials. Only buckets the
 * operator lists (FW_S3_INPUT_BUCKETS) are accepted. Keys are plain relative paths: no empty, "."
 * or ".." segments, no backslashes or control characters — some stores and proxies normalize
 * "a/../b", which with path-style URLs could walk out of the bucket into another one.
 */
export const s3InputSchema = z.strictObject({
  type: z.literal("s3"),
  bucket: bucketName,
  key: z
    .string()
    .min(1)
    .max(1024)
    .refine(
      (k) => [...k].every((ch) => ch !== "\\" && ch.charCodeAt(0) >= 0x20 && ch.charCodeAt(0) !== 0x7f),
      "must not contain backslashes or control characters",
    )
    .refine(
      (k) => k.split("/").every((part) => part !== "" && part !== "." && part !== ".."),
      "must be a relative path without empty, '.' or '..' segments",
    ),
});

export const inputSchema = z.discriminatedUnion("type", [uploadInputSchema, urlInputSchema, s3InputSchema]);
export type JobInput = z.infer<typeof inputSchema>;

export const videoCodecs = ["h264", "h265", "vp9", "av1"] as const;
export type VideoCodec = (typeof videoCodecs)[number];
export const videoContainers = ["mp4", "webm", "mkv", "mov"] as const;
export const audioCodecs = ["aac", "opus", "mp3", "flac", "wav"] as const;
export type AudioCodec = (typeof audioCodecs)[number];
export const imageFormats = ["jpg", "png", "webp"] as const;
export const sampleRates = [8000, 16000, 22050, 24000, 32000, 44100, 48000] as const;

/** What each video container carries (and players accept). */
export const containerCodecs: Record<
  (typeof videoContainers)[number],
  { video: readonly VideoCodec[]; audio: readonly AudioCodec[] }
> = {
  mp4: { video: ["h264", "h265", "vp9", "av1"], audio: ["aac", "mp3", "opus"] },
  mov: { video: ["h264", "h265"], audio: ["aac", "mp3"] },
  mkv: { video: ["h264", "h265", "vp9", "av1"], audio: ["aac", "opus", "mp3", "flac"] },
  webm: { video: ["vp9", "av1"], audio: ["opus"] },
};

/** The constant-quality value used when a client gives neither crf nor bitrate. */
export const defaultCrf: Record<VideoCodec, number> = { h264: 23, h265: 28, vp9: 33, av1: 35 };

const sampleRateSchema = z
  .int()
  .refine((r) => (sampleRates as readonly number[]).includes(r), `must be one of ${sampleRates.join(", ")}`);

const seconds = z
  .number()
  .min(0)
  .max(7 * 24 * 3600);

export const trimSchema = z
  .strictObject({ start_sec: seconds.default(0), end_sec: seconds.optional() })
  .refine((t) => t.end_sec === undefined || t.end_sec > t.start_sec, {
    message: "end_sec must be after start_sec",
    path: ["end_sec"],
  });

export const cropSchema = z.strictObject({
  x: z.int().min(0).max(16384),
  y: z.int().min(0).max(16384),
  width: evenDimension,
  height: evenDimension,
});

export const watermarkPositions = ["top-left", "top-right", "bottom-left", "bottom-right", "center"] as const;

export const watermarkSchema = z.strictObject({
  /** The image (png with alpha, jpg, webp), fetched like the job's input. */
  image: inputSchema,
  position: z.enum(watermarkPositions).default("bottom-right"),
  margin_px: z.int().min(0).max(512).default(16),
  opacity: z.number().min(0).max(1).default(1),
  /** Scale the image to this percentage of the output width; omitted keeps its own size. */
  width_pct: z.number().min(1).max(100).optional(),
});

export const videoStreamSchema = z
  .strictObject({
    codec: z.enum(videoCodecs).default("h264"),
    /** Maximum height: the picture is fitted inside width x height, aspect kept, never upscaled. */
    height: evenDimension.optional(),
    /** Maximum width. */
    width: evenDimension.optional(),
    /** Constant quality (h264/h265 0–51, vp9/av1 0–63). Omit both crf and bitrate for the codec's default crf. */
    crf: z.int().min(0).max(63).optional(),
    bitrate_kbps: z.int().min(16).max(200_000).optional(),
    preset: z.enum(x264Presets).default("veryfast"),
    fps: z.number().min(1).max(240).optional(),
    crop: cropSchema.optional(),
    watermark: watermarkSchema.optional(),
  })
  .superRefine((v, ctx) => {
    if (v.crf !== undefined && v.bitrate_kbps !== undefined) {
      ctx.addIssue({ code: "custom", message: "give crf or bitrate_kbps, not both", path: ["bitrate_kbps"] });
    }
    if (v.crf !== undefined && (v.codec === "h264" || v.codec === "h265") && v.crf > 51) {
      ctx.addIssue({ code: "custom", message: "must be at most 51 for h264/h265", path: ["crf"] });
    }
  });

export const audioStreamSchema = z.strictObject({
  codec: z.enum(audioCodecs).default("aac"),
  bitrate_kbps: z.int().min(32).max(512).default(128),
  channels: z.int().min(1).max(8).optional(),
  sample_rate: sampleRateSchema.optional(),
});

/** Output names become file names and progress keys: keep them short and path-safe. */
export const outputNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, "must be 1-64 letters, digits, '-' or '_'");

export const videoOutputSchema = z
  .strictObject({
    name: outputNameSchema,
    type: z.literal("video"),
    container: z.enum(videoContainers).default("mp4"),
    video: videoStreamSchema,
    /**
     * `false` removes audio; `"copy"` passes the input's through; omitted means the container's
     * default codec (see containerDefaults: opus for webm, else aac) at the default bitrate.
     */
    audio: z
      .union([audioStreamSchema, z.literal("copy"), z.literal(false)])
      .default({ codec: "aac", bitrate_kbps: 128 }),
    trim: trimSchema.optional(),
  })
  .superRefine((o, ctx) => {
    const allowed = containerCodecs[o.container];
    if (!allowed.video.includes(o.video.codec)) {
      ctx.addIssue({
        code: "custom",
        message: `${o.container} carries ${allowed.video.join(", ")} video`,
        path: ["video", "codec"],
      });
    }
    if (typeof o.audio === "object" && !allowed.audio.includes(o.audio.codec)) {
      ctx.addIssue({
        code: "custom",
        message: `${o.container} carries ${allowed.audio.join(", ")} audio`,
        path: ["audio", "codec"],
      });
    }
  });

export const audioOutputSchema = z.strictObject({
  name: outputNameSchema,
  type: z.literal("audio"),
  codec: z.enum(audioCodecs).default("aac"),
  /** Ignored by the lossless codecs (flac, wav). */
  bitrate_kbps: z.int().min(32).max(512).default(128),
  channels: z.int().min(1).max(8).optional(),
  sample_rate: sampleRateSchema.optional(),
  /** Two-pass EBU R128 loudness normalization to this integrated loudness. */
  loudness: z.strictObject({ target_lufs: z.number().min(-70).max(-5) }).optional(),
  trim: trimSchema.optional(),
});

export const thumbnailsOutputSchema = z
  .strictObject({
    name: outputNameSchema,
    type: z.literal("thumbnails"),
    format: z.enum(imageFormats).default("jpg"),
    width: evenDimension.optional(),
    height: evenDimension.optional(),
    /** Exactly one of: times in seconds, one every N seconds, or N evenly spaced. */
    at_sec: z.array(seconds).min(1).max(100).optional(),
    every_sec: z.number().min(0.5).max(86400).optional(),
    count: z.int().min(1).max(100).optional(),
    /** Also tile the thumbnails into one sprite sheet with a WebVTT storyboard. */
    sprite: z.strictObject({ columns: z.int().min(1).max(100).default(10) }).optional(),
  })
  .refine(
    (t) => [t.at_sec, t.every_sec, t.count].filter((v) => v !== undefined).length === 1,
    "give exactly one of at_sec, every_sec and count",
  );

export const hlsOutputSchema = z.strictObject({
  name: outputNameSchema,
  type: z.literal("hls"),
  segment_sec: z.number().min(1).max(30).default(4),
  preset: z.enum(x264Presets).default("veryfast"),
  renditions: z
    .array(
      z.strictObject({
        height: evenDimension,
        video_bitrate_kbps: z.int().min(64).max(100_000),
        audio_bitrate_kbps: z.int().min(32).max(512).default(128),
      }),
    )
    .min(1)
    .max(8)
    .refine((r) => new Set(r.map((x) => x.height)).size === r.length, "rendition heights must be unique"),
});

export const analysisOutputSchema = z.strictObject({
  name: outputNameSchema,
  type: z.literal("analysis"),
  /** probe: the input's container, duration, streams, codecs, rotation, frame rate and bit rates. */
  analysis: z.literal("probe").default("probe"),
});

/** The codecs a video output gets when it names none: always ones its container carries. */
export const containerDefaults: Record<
  (typeof videoContainers)[number],
  { video: VideoCodec; audio: AudioCodec }
> = {
  mp4: { video: "h264", audio: "aac" },
  mov: { video: "h264", audio: "aac" },
  mkv: { video: "h264", audio: "aac" },
  webm: { video: "vp9", audio: "opus" },
};

/**
 * A default must be valid for the output it lands in: a video output's codecs left out default by
 * its container (webm: vp9 + opus), before validation, so `{container: "webm", video: {}}` just
 * works. Codecs the client names are kept and checked as written.
 */
function withContainerDefaults(raw: unknown): unknown {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return raw;
  const output = raw as Record<string, unknown>;
  if (output.type !== "video") return raw;
  const container = output.container ?? "mp4";
  if (typeof container !== "string" || !Object.hasOwn(containerDefaults, container)) return raw;
  const defaults = containerDefaults[container as keyof typeof containerDefaults];
  const withCodec = (stream: unknown, codec: string) =>
    stream !== null && typeof stream === "object" && !Array.isArray(stream) && !("codec" in stream)
      ? { ...stream, codec }
      : stream;
  return {
    ...output,
    video: withCodec(output.video, defaults.video),
    audio:
      output.audio === undefined
        ? { codec: defaults.audio, bitrate_kbps: 128 }
        : withCodec(output.audio, defaults.audio),
  };
}

export const outputSchema = z.preprocess(
  withContainerDefaults,
  z.discriminatedUnion("type", [
    videoOutputSchema,
    audioOutputSchema,
    thumbnailsOutputSchema,
    hlsOutputSchema,
    analysisOutputSchema,
  ]),
);
export type OutputSpec = z.infer<typeof outputSchema>;

/** At most this many outputs per job; they all share one decode of the input. */
export const maxOutputsPerJob = 16;

export const jobSpecSchema = z.strictObject({
  input: inputSchema,
  outputs: z
    .array(outputSchema)
    .min(1)
    .max(maxOutputsPerJob, `at most ${maxOutputsPerJob} outputs per job`)
    .refine(
      (outputs) => new Set(outputs.map((o) => o.name)).size === outputs.length,
      "output names must be unique",
    ),
  priority: z.enum(priorities).default("default"),
  accel: z.enum(accelModes).default("auto"),
  /** Where to POST signed notifications about this job; omitted: the tenant's default, if any. */
  webhook: webhookSpecSchema.optional(),
  metadata: z
    .record(z.string().max(64), z.string().max(512))
    .refine((m) => Object.keys(m).length <= 32, "at most 32 metadata entries")
    .optional(),
});

/** A spec as the client sent it (defaults not yet applied). */
export type JobSpecInput = z.input<typeof jobSpecSchema>;
/** A validated spec with every default filled in; this is what is stored and dispatched. */
export type JobSpec = z.output<typeof jobSpecSchema>;

/** The processing pool a job is routed to. `gpu` accel needs a GPU node; `auto` and `cpu` run anywhere. */
export function poolFor(spec: Pick<JobSpec, "accel">): "cpu" | "gpu" {
  return spec.accel === "gpu" ? "gpu" : "cpu";
}
