import { z } from "zod";

/**
 * The job spec: what an API client may ask for. Every option is a typed field with bounds; nothing
 * here is ever passed to FFmpeg as text. Later output types (audio, thumbnails, hls, analysis) join
 * the `outputs` union.
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

export const inputSchema = z.discriminatedUnion("type", [uploadInputSchema, urlInputSchema]);
export type JobInput = z.infer<typeof inputSchema>;

export const videoStreamSchema = z.strictObject({
  codec: z.literal("h264").default("h264"),
  height: evenDimension,
  crf: z.int().min(0).max(51).default(23),
  preset: z.enum(x264Presets).default("veryfast"),
});

export const audioStreamSchema = z.strictObject({
  codec: z.literal("aac").default("aac"),
  bitrate_kbps: z.int().min(32).max(512).default(128),
});

/** Output names become file names and progress keys: keep them short and path-safe. */
export const outputNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, "must be 1-64 letters, digits, '-' or '_'");

export const videoOutputSchema = z.strictObject({
  name: outputNameSchema,
  type: z.literal("video"),
  container: z.literal("mp4").default("mp4"),
  video: videoStreamSchema,
  /** `false` removes audio; omitted means AAC at the default bitrate. */
  audio: z.union([audioStreamSchema, z.literal(false)]).default({ codec: "aac", bitrate_kbps: 128 }),
});

export const outputSchema = z.discriminatedUnion("type", [videoOutputSchema]);
export type OutputSpec = z.infer<typeof outputSchema>;

export const jobSpecSchema = z.strictObject({
  input: inputSchema,
  outputs: z
    .array(outputSchema)
    .min(1)
    .max(1, "this version produces one output per job")
    .refine(
      (outputs) => new Set(outputs.map((o) => o.name)).size === outputs.length,
      "output names must be unique",
    ),
  priority: z.enum(priorities).default("default"),
  accel: z.enum(accelModes).default("auto"),
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
