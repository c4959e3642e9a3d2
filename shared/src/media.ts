/**
 * The media vocabulary: every codec, container, preset, rate and limit a job may name, defined once.
 * The job spec (zod) and the engine's plan check (`native/lib/plan-check.ts`) both read these, so
 * the API can never accept what the engine refuses, or the other way round. The facts an engine
 * reads back from what it wrote (probe facts, an output's streams) are defined here too, in the
 * API's own snake_case, so the engine produces exactly what the API shows. This module imports only
 * zod, so the engine package depends on it without pulling in NATS, the database or the client.
 */

import { z } from "zod";

export const videoCodecs = ["h264", "h265", "vp9", "av1"] as const;
export type VideoCodec = (typeof videoCodecs)[number];

export const videoContainers = ["mp4", "webm", "mkv", "mov"] as const;
export type VideoContainer = (typeof videoContainers)[number];

export const audioCodecs = ["aac", "opus", "mp3", "flac", "wav"] as const;
export type AudioCodec = (typeof audioCodecs)[number];

export const imageFormats = ["jpg", "png", "webp"] as const;
export type ImageFormat = (typeof imageFormats)[number];

export const sampleRates = [8000, 16000, 22050, 24000, 32000, 44100, 48000] as const;
export type SampleRate = (typeof sampleRates)[number];

/** x264's preset names, fastest first; the engine maps each onto every encoder's own speed knob. */
export const presets = [
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
export type Preset = (typeof presets)[number];

export const accelModes = ["auto", "cpu", "gpu"] as const;
/** auto: a working hardware encoder if there is one, else software; gpu: hardware or fail; cpu: never. */
export type AccelMode = (typeof accelModes)[number];

export const watermarkPositions = ["top-left", "top-right", "bottom-left", "bottom-right", "center"] as const;
export type WatermarkPosition = (typeof watermarkPositions)[number];

/** What each video container carries (and players accept). */
export const containerCodecs: Record<
  VideoContainer,
  { video: readonly VideoCodec[]; audio: readonly AudioCodec[] }
> = {
  mp4: { video: ["h264", "h265", "vp9", "av1"], audio: ["aac", "mp3", "opus"] },
  mov: { video: ["h264", "h265"], audio: ["aac", "mp3"] },
  mkv: { video: ["h264", "h265", "vp9", "av1"], audio: ["aac", "opus", "mp3", "flac"] },
  webm: { video: ["vp9", "av1"], audio: ["opus"] },
};

/** The codecs a video output gets when it names none: always ones its container carries. */
export const containerDefaults: Record<VideoContainer, { video: VideoCodec; audio: AudioCodec }> = {
  mp4: { video: "h264", audio: "aac" },
  mov: { video: "h264", audio: "aac" },
  mkv: { video: "h264", audio: "aac" },
  webm: { video: "vp9", audio: "opus" },
};

/** The constant-quality value used when a client gives neither crf nor bitrate. */
export const defaultCrf: Record<VideoCodec, number> = { h264: 23, h265: 28, vp9: 33, av1: 35 };

/** The highest crf each codec's scale has (x264/x265 stop at 51, libvpx and libaom at 63). */
export const maxCrf: Record<VideoCodec, number> = { h264: 51, h265: 51, vp9: 63, av1: 63 };

/** Bounds on every number a job may give, shared by the job spec and the engine's plan check. */
export const mediaLimits = {
  /** Outputs per job; they all share one decode of the input. */
  outputsPerJob: 16,
  /** Output width/height box and crop sizes, in pixels (always even). */
  dimension: { min: 16, max: 4320 },
  /** Crop offsets into the (upright) input picture. */
  cropOffset: { min: 0, max: 16384 },
  crf: { min: 0, max: 63 },
  videoBitrateKbps: { min: 16, max: 200_000 },
  fps: { min: 1, max: 240 },
  audioBitrateKbps: { min: 32, max: 512 },
  channels: { min: 1, max: 8 },
  loudnessTargetLufs: { min: -70, max: -5 },
  /** Any time on the input's timeline (trim points, thumbnail times): a week. */
  timeSec: { min: 0, max: 7 * 24 * 3600 },
  watermarkMarginPx: { min: 0, max: 512 },
  watermarkWidthPct: { min: 1, max: 100 },
  thumbnailTimes: { min: 1, max: 100 },
  thumbnailEverySec: { min: 0.5, max: 86_400 },
  thumbnailCount: { min: 1, max: 100 },
  spriteColumns: { min: 1, max: 100 },
  hlsSegmentSec: { min: 1, max: 30 },
  hlsRenditions: { min: 1, max: 8 },
  hlsVideoBitrateKbps: { min: 64, max: 100_000 },
} as const;

/** Output names become file names, storage keys and progress keys: short and path-safe. */
export const outputNamePattern = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** One stream of a probed file. Optional fields are absent when the container doesn't say. */
export const streamFactsSchema = z.object({
  index: z.int().min(0),
  type: z.enum(["video", "audio", "subtitle", "data", "other"]),
  codec: z.string(),
  width: z.int().optional(),
  height: z.int().optional(),
  /** Average frame rate, frames per second. */
  fps: z.number().optional(),
  sample_rate: z.int().optional(),
  channels: z.int().optional(),
  bit_rate: z.number().optional(),
  duration_sec: z.number().optional(),
  /** Video: clockwise rotation a player applies (display matrix), 0 when none. */
  rotation: z.number().optional(),
  /** Pixel width over height (anamorphic video: not 1). */
  sample_aspect_ratio: z.number().optional(),
  pixel_format: z.string().optional(),
  sample_format: z.string().optional(),
  /** Codec profile name, e.g. "High", "Constrained Baseline". */
  profile: z.string().optional(),
  level: z.number().optional(),
});
export type StreamFacts = z.infer<typeof streamFactsSchema>;

/** A probed file: what an `analysis` output of kind `probe` reports and writes as JSON. */
export const probeFactsSchema = z.object({
  /** libavformat's short name for the container, e.g. "mov,mp4,m4a,3gp,3g2,mj2". */
  format_name: z.string(),
  duration_sec: z.number().nullable(),
  bit_rate: z.number().nullable(),
  size_bytes: z.int().nonnegative(),
  streams: z.array(streamFactsSchema),
});
export type ProbeFacts = z.infer<typeof probeFactsSchema>;

/**
 * What an engine reads back about each output it wrote, in the API's words: the engine builds these
 * objects and the job response shows them as they are, so a field added here and set by the engine
 * reaches the edge, the OpenAPI document, the client, the CLI and the console with nothing between.
 */
export const videoFactsSchema = z.object({
  codec: z.string().max(32),
  width: z.int(),
  height: z.int(),
  fps: z.number().nullable(),
  /**
   * The written picture's pixel format, e.g. yuv420p (8-bit 4:2:0: what every browser plays).
   * Absent on outputs recorded before it was reported.
   */
  pixel_format: z.string().max(32).nullable().optional(),
});
export type VideoFacts = z.infer<typeof videoFactsSchema>;

export const audioFactsSchema = z.object({
  codec: z.string().max(32),
  sample_rate: z.int(),
  channels: z.int(),
});
export type AudioFacts = z.infer<typeof audioFactsSchema>;

/** Loudness normalization: the input's and the written output's loudness, its true peak, whether the limiter acted. */
export const loudnessFactsSchema = z.object({
  target_lufs: z.number(),
  input_lufs: z.number(),
  gain_db: z.number(),
  output_lufs: z.number(),
  true_peak_dbtp: z.number(),
  limited: z.boolean(),
});
export type LoudnessFacts = z.infer<typeof loudnessFactsSchema>;

/** One still of a thumbnails output: where in the input it was taken, and its file in the output's folder. */
export const thumbnailFactsSchema = z.object({
  time_sec: z.number().nonnegative(),
  relative_path: z.string().max(512),
});
export type ThumbnailFacts = z.infer<typeof thumbnailFactsSchema>;

/** One rendition of an HLS ladder. */
export const renditionFactsSchema = z.object({
  name: z.string().max(64),
  width: z.int(),
  height: z.int(),
  /** Peak segment bit rate, bits/s (the HLS BANDWIDTH attribute). */
  bandwidth: z.number().nonnegative(),
  /** Mean bit rate over the whole rendition, bits/s (the HLS AVERAGE-BANDWIDTH attribute). */
  average_bandwidth: z.number().nonnegative(),
  segments: z.int().nonnegative(),
  playlist: z.string().max(512),
});
export type RenditionFacts = z.infer<typeof renditionFactsSchema>;
