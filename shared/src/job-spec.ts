import { z } from "zod";
import { defaultDestinationPath, destinationPathProblem, destinationPrefixProblem } from "./destinations";
import {
  accelModes,
  audioCodecs,
  containerCodecs,
  containerDefaults,
  imageFormats,
  mediaLimits as limits,
  maxCrf,
  outputNamePattern,
  presets,
  sampleRates,
  type VideoContainer,
  videoCodecs,
  videoContainers,
  watermarkPositions,
} from "./media";
import { webhookSpecSchema } from "./webhooks";

/**
 * The job spec: what an API client may ask for. Every option is a typed field with bounds; nothing
 * here is ever passed to FFmpeg as text. `outputs` is a union on `type`: video, audio, thumbnails,
 * hls, analysis; all outputs of a job share one decode of the input.
 */

export const priorities = ["high", "default", "low"] as const;
export type Priority = (typeof priorities)[number];

export const pools = ["cpu", "gpu"] as const;
export type Pool = (typeof pools)[number];

const evenDimension = z
  .int()
  .min(limits.dimension.min)
  .max(limits.dimension.max)
  .refine((n) => n % 2 === 0, "must be an even number of pixels");

export const uploadInputSchema = z.strictObject({
  type: z.literal("upload"),
  upload_id: z.string().regex(/^upl_[0-9a-z]{26}$/, "must be an upload id from POST /v1/uploads"),
});

export const urlInputSchema = z.strictObject({
  type: z.literal("url"),
  url: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).max(2048),
});

export const bucketName = z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be an S3 bucket name");

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

const sampleRateSchema = z
  .int()
  .refine((r) => (sampleRates as readonly number[]).includes(r), `must be one of ${sampleRates.join(", ")}`);

/** A range from the media vocabulary as a zod number (or integer) check. */
const within = (range: { min: number; max: number }) => z.number().min(range.min).max(range.max);
const intWithin = (range: { min: number; max: number }) => z.int().min(range.min).max(range.max);

const seconds = within(limits.timeSec);

export const trimSchema = z
  .strictObject({ start_sec: seconds.default(0), end_sec: seconds.optional() })
  .refine((t) => t.end_sec === undefined || t.end_sec > t.start_sec, {
    message: "end_sec must be after start_sec",
    path: ["end_sec"],
  });

export const cropSchema = z.strictObject({
  x: intWithin(limits.cropOffset),
  y: intWithin(limits.cropOffset),
  width: evenDimension,
  height: evenDimension,
});

export const watermarkSchema = z.strictObject({
  /** The image (png with alpha, jpg, webp), fetched like the job's input. */
  image: inputSchema,
  position: z.enum(watermarkPositions).default("bottom-right"),
  margin_px: intWithin(limits.watermarkMarginPx).default(16),
  opacity: z.number().min(0).max(1).default(1),
  /** Scale the image to this percentage of the output width; omitted keeps its own size. */
  width_pct: within(limits.watermarkWidthPct).optional(),
});

export const videoStreamSchema = z
  .strictObject({
    codec: z.enum(videoCodecs).default("h264"),
    /** Maximum height: the picture is fitted inside width x height, aspect kept, never upscaled. */
    height: evenDimension.optional(),
    /** Maximum width. */
    width: evenDimension.optional(),
    /** Constant quality (h264/h265 0–51, vp9/av1 0–63). Omit both crf and bitrate for the codec's default crf. */
    crf: intWithin(limits.crf).optional(),
    bitrate_kbps: intWithin(limits.videoBitrateKbps).optional(),
    preset: z.enum(presets).default("veryfast"),
    fps: within(limits.fps).optional(),
    crop: cropSchema.optional(),
    watermark: watermarkSchema.optional(),
  })
  .superRefine((v, ctx) => {
    if (v.crf !== undefined && v.bitrate_kbps !== undefined) {
      ctx.addIssue({ code: "custom", message: "give crf or bitrate_kbps, not both", path: ["bitrate_kbps"] });
    }
    if (v.crf !== undefined && v.crf > maxCrf[v.codec]) {
      ctx.addIssue({
        code: "custom",
        message: `must be at most ${maxCrf[v.codec]} for ${v.codec}`,
        path: ["crf"],
      });
    }
  });

export const audioStreamSchema = z.strictObject({
  codec: z.enum(audioCodecs).default("aac"),
  bitrate_kbps: intWithin(limits.audioBitrateKbps).default(128),
  channels: intWithin(limits.channels).optional(),
  sample_rate: sampleRateSchema.optional(),
});

/** Output names become file names and progress keys: keep them short and path-safe. */
export const outputNameSchema = z
  .string()
  .regex(outputNamePattern, "must be 1-64 letters, digits, '-' or '_'");

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
  bitrate_kbps: intWithin(limits.audioBitrateKbps).default(128),
  channels: intWithin(limits.channels).optional(),
  sample_rate: sampleRateSchema.optional(),
  /** Two-pass EBU R128 loudness normalization to this integrated loudness. */
  loudness: z.strictObject({ target_lufs: within(limits.loudnessTargetLufs) }).optional(),
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
    at_sec: z.array(seconds).min(limits.thumbnailTimes.min).max(limits.thumbnailTimes.max).optional(),
    every_sec: within(limits.thumbnailEverySec).optional(),
    count: intWithin(limits.thumbnailCount).optional(),
    /** Also tile the thumbnails into one sprite sheet with a WebVTT storyboard. */
    sprite: z.strictObject({ columns: intWithin(limits.spriteColumns).default(10) }).optional(),
  })
  .refine(
    (t) => [t.at_sec, t.every_sec, t.count].filter((v) => v !== undefined).length === 1,
    "give exactly one of at_sec, every_sec and count",
  );

export const hlsOutputSchema = z.strictObject({
  name: outputNameSchema,
  type: z.literal("hls"),
  segment_sec: within(limits.hlsSegmentSec).default(4),
  preset: z.enum(presets).default("veryfast"),
  renditions: z
    .array(
      z.strictObject({
        height: evenDimension,
        video_bitrate_kbps: intWithin(limits.hlsVideoBitrateKbps),
        audio_bitrate_kbps: intWithin(limits.audioBitrateKbps).default(128),
      }),
    )
    .min(limits.hlsRenditions.min)
    .max(limits.hlsRenditions.max)
    .refine((r) => new Set(r.map((x) => x.height)).size === r.length, "rendition heights must be unique"),
});

export const analysisOutputSchema = z.strictObject({
  name: outputNameSchema,
  type: z.literal("analysis"),
  /** probe: the input's container, duration, streams, codecs, rotation, frame rate and bit rates. */
  analysis: z.literal("probe").default("probe"),
});

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
  const defaults = containerDefaults[container as VideoContainer];
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

const maxOutputsPerJob = limits.outputsPerJob;

/** A template's name: what jobs, batches and watches call it by (its id works too). */
export const templateNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "must be 1-64 letters, digits, '.', '_' or '-'")
  .refine((name) => !/^tpl_[0-9a-z]{26}$/.test(name), "must not look like a template id");

/** `<name or id>[@<version>]`: without a version, the template's latest version when it is used. */
export const templateRefSchema = z
  .string()
  .regex(
    /^(tpl_[0-9a-z]{26}|[A-Za-z0-9][A-Za-z0-9._-]{0,63})(@[1-9][0-9]{0,8})?$/,
    "must be a template name or id, optionally with @version",
  );

/**
 * Outputs written to the tenant's own bucket instead of the service's store (a bucket the operator
 * lists in FW_S3_OUTPUT_BUCKETS, written with the nodes' credentials: none are ever stored with the
 * job). `path` names each output's location below `prefix` (see destinations.ts); retention never
 * deletes what a destination holds.
 */
export const destinationSchema = z.strictObject({
  type: z.literal("s3"),
  bucket: bucketName,
  prefix: z
    .string()
    .default("")
    .superRefine((prefix, ctx) => {
      const problem = destinationPrefixProblem(prefix);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    }),
  path: z
    .string()
    .default(defaultDestinationPath)
    .superRefine((path, ctx) => {
      const problem = destinationPathProblem(path);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    })
    .describe("placeholders: {job_id}, {output}, {input} (the input's file name), {date} (YYYY-MM-DD)"),
});
export type Destination = z.output<typeof destinationSchema>;

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
  /**
   * The template the job was made from. A client names it as `<name or id>[@version]`; the stored
   * spec records what was used, as `<id>@<version>`, with the template's outputs and defaults
   * already merged in.
   */
  template: templateRefSchema.optional(),
  /** Write the outputs to the tenant's own bucket (see destinationSchema). */
  destination: destinationSchema.optional(),
});

/** A spec as the client sent it (defaults not yet applied). */
export type JobSpecInput = z.input<typeof jobSpecSchema>;
/** A validated spec with every default filled in; this is what is stored and dispatched. */
export type JobSpec = z.output<typeof jobSpecSchema>;

/** The processing pool a job is routed to. `gpu` accel needs a GPU node; `auto` and `cpu` run anywhere. */
export function poolFor(spec: Pick<JobSpec, "accel">): Pool {
  return spec.accel === "gpu" ? "gpu" : "cpu";
}
