/**
 * The media vocabulary: every codec, container, preset, rate and limit a job may name, defined once.
 * The job spec (zod) and the engine's plan check (`native/lib/plan-check.ts`) both read these, so
 * the API can never accept what the engine refuses, or the other way round. The facts an engine
 * reads back from what it wrote (probe facts, an output's streams) are defined here too, in the
 * API's own snake_case, so the engine produces exactly what the API shows. This module imports only
 * zod, so the engine package depends on it without pulling in NATS, the database or the client.
 */

import { z } from "zod";

export * from "./composition-media";
export * from "./subtitle-media";

export const videoCodecs = ["h264", "h265", "vp9", "av1"] as const;
export type VideoCodec = (typeof videoCodecs)[number];

export const videoContainers = ["mp4", "webm", "mkv", "mov"] as const;
export type VideoContainer = (typeof videoContainers)[number];

export const audioCodecs = ["aac", "opus", "mp3", "flac", "wav"] as const;
export type AudioCodec = (typeof audioCodecs)[number];

export const imageFormats = ["jpg", "png", "webp"] as const;
export type ImageFormat = (typeof imageFormats)[number];

/**
 * An animation's file: animated WebP (small, every browser), GIF (everywhere, 256 colours from a
 * palette computed for the clip) or a short silent H.264 MP4 (smallest; players loop it with their
 * own loop attribute, so `loop` does not apply to it).
 */
export const animationFormats = ["webp", "gif", "mp4"] as const;
export type AnimationFormat = (typeof animationFormats)[number];

/** A waveform's picture: PNG (drawn columns) or SVG (one filled path, scales without blur). */
export const waveformImageFormats = ["png", "svg"] as const;
export type WaveformImageFormat = (typeof waveformImageFormats)[number];

/** A colour as #rrggbb or #rrggbbaa (alpha last). */
export const hexColorPattern = /^#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$/;

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

/** A track language as containers tag it: ISO 639-2, three lower-case letters ("deu", "eng"). */
export const languageCodePattern = /^[a-z]{3}$/;

/**
 * ISO 639-2 has two codes for some languages (bibliographic "ger", terminology "deu"); files carry
 * either, so a choice of one matches a track tagged with the other.
 */
export const languageCodeAliases: Readonly<Record<string, string>> = {
  alb: "sqi",
  arm: "hye",
  baq: "eus",
  bur: "mya",
  chi: "zho",
  cze: "ces",
  dut: "nld",
  fre: "fra",
  geo: "kat",
  ger: "deu",
  gre: "ell",
  ice: "isl",
  mac: "mkd",
  mao: "mri",
  may: "msa",
  per: "fas",
  rum: "ron",
  slo: "slk",
  tib: "bod",
  wel: "cym",
};

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
  /** An output's audio track by position among the input's audio tracks (0: the first). */
  audioTrackIndex: { min: 0, max: 63 },
  /** The tracks one mix takes when they are listed (the engine decodes each). */
  audioMixTracks: { min: 2, max: 8 },
  /** An output's video track by position among the input's video tracks (0: the first). */
  videoTrackIndex: { min: 0, max: 15 },
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
  /** Analysis options (see analysisDefaults for what an option left out means). */
  silenceNoiseDb: { min: -90, max: -10 },
  /** Shortest silence, black or frozen stretch reported, seconds. */
  intervalMinSec: { min: 0.04, max: 600 },
  /** scdet's scene score (0–100: how much of the picture changed, less the change before it). */
  sceneThreshold: { min: 1, max: 100 },
  /** blackdetect: a pixel is black under this share of the luma range; a picture is black when this share of its pixels are. */
  blackPixelThreshold: { min: 0, max: 1 },
  blackPictureRatio: { min: 0.5, max: 1 },
  freezeNoiseDb: { min: -90, max: -10 },
  /** Points of a loudness output's momentary curve (one per 100 ms at most; longer inputs are decimated). */
  momentaryPoints: { min: 10, max: 10_000 },
  tempoBpm: { min: 30, max: 300 },
  /** Seconds of audio fingerprinted from the start (fpcalc's -length). */
  fingerprintSec: { min: 10, max: 600 },
  /** Seconds between the video frames a fingerprint hashes. */
  frameHashIntervalSec: { min: 0.5, max: 600 },
  highlightCount: { min: 1, max: 50 },
  highlightSec: { min: 1, max: 600 },
  highlightTotalSec: { min: 1, max: 36_000 },
  /** Animations: a short clip, at most this long, this many frames a second and this large a box. */
  animationDurationSec: { min: 0.1, max: 60 },
  animationFps: { min: 1, max: 50 },
  animationDimension: { min: 16, max: 1920 },
  /** Waveforms: the picture's size in pixels, and the peaks' resolution (pairs in all, or a second). */
  waveformWidth: { min: 16, max: 8192 },
  waveformHeight: { min: 16, max: 2048 },
  waveformPoints: { min: 16, max: 100_000 },
  waveformPointsPerSec: { min: 1, max: 1000 },
} as const;

/** A waveform's options left out: 1800x280, blue on transparent, one peak pair per pixel column. */
export const waveformDefaults = {
  image: "png",
  width: 1800,
  height: 280,
  color: "#3b82f6",
  background: "transparent",
} as const;

/** What an animation output's options mean when left out (neither width nor height: 480 wide). */
export const animationDefaults = {
  format: "webp",
  durationSec: 5,
  fps: 15,
  width: 480,
  /** Animated WebP's lossy quality (libwebp, 0–100). */
  webpQuality: 75,
  /** The MP4 loop's constant quality (x264). */
  mp4Crf: 23,
} as const;

/**
 * The analyses an `analysis` output can run, all in the job's one decode of the input:
 * - probe: the container and streams (read from the headers, no decode);
 * - loudness: EBU R128 integrated loudness, loudness range, true peak and the momentary curve;
 * - silence, black, freeze: intervals of silent audio, black picture, frozen picture;
 * - scenes: cuts, with their scene score;
 * - tempo: beats per minute and beat times; key: the musical key and its chroma profile;
 * - fingerprint: the audio's Chromaprint (as fpcalc prints it) and perceptual hashes of frames;
 * - highlights: the best moments, ranked (see highlightsFactsSchema for the score).
 */
export const analysisKinds = [
  "probe",
  "loudness",
  "silence",
  "scenes",
  "black",
  "freeze",
  "tempo",
  "key",
  "fingerprint",
  "highlights",
] as const;
export type AnalysisKind = (typeof analysisKinds)[number];

/** What each analysis needs of the input; an input without it is refused with input_no_streams. */
export const analysisNeeds: Record<AnalysisKind, "any" | "audio" | "video" | "audio_or_video"> = {
  probe: "any",
  loudness: "audio",
  silence: "audio",
  scenes: "video",
  black: "video",
  freeze: "video",
  tempo: "audio",
  key: "audio",
  fingerprint: "audio_or_video",
  highlights: "audio_or_video",
};

/** The value an analysis option takes when the job leaves it out. */
export const analysisDefaults = {
  silenceNoiseDb: -50,
  silenceMinSec: 0.5,
  sceneThreshold: 10,
  blackMinSec: 0.1,
  blackPixelThreshold: 0.1,
  blackPictureRatio: 0.98,
  freezeNoiseDb: -60,
  freezeMinSec: 1,
  momentaryPoints: 1200,
  minBpm: 50,
  maxBpm: 220,
  fingerprintSec: 120,
  frameHashIntervalSec: 2,
  highlightCount: 5,
  highlightMinSec: 3,
  highlightMaxSec: 15,
} as const;

/** Pitch classes as key names spell them, C first (the chroma profile's order). */
export const pitchClasses = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"] as const;
export type PitchClass = (typeof pitchClasses)[number];

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
  /** The track's language (ISO 639-2 as the container tags it, e.g. "deu"); absent when untagged or "und". */
  language: z.string().max(200).optional(),
  /** The track's title (e.g. "Director's commentary"), as the container tags it. */
  title: z.string().max(200).optional(),
  /** Players pick this track unless told otherwise. */
  default: z.boolean().optional(),
});
export type StreamFacts = z.infer<typeof streamFactsSchema>;

export const mediaKinds = ["video", "audio", "image", "animated_image"] as const;
export type MediaKind = (typeof mediaKinds)[number];

/** A probed file: what an `analysis` output of kind `probe` reports and writes as JSON. */
export const probeFactsSchema = z.object({
  /** libavformat's short name for the container, e.g. "mov,mp4,m4a,3gp,3g2,mj2". */
  format_name: z.string(),
  duration_sec: z.number().nullable(),
  bit_rate: z.number().nullable(),
  size_bytes: z.int().nonnegative(),
  streams: z.array(streamFactsSchema),
  /**
   * What the input is to a user: moving picture, sound only (cover art doesn't count as
   * picture), one still image, or an animated image (GIF, APNG with several frames). null when it
   * has none of these (subtitles or data only). Absent on outputs recorded before it was reported.
   */
  media_kind: z.enum(mediaKinds).nullable().optional(),
  /** The main picture carries an alpha channel (a pixel format with alpha, or VP8/VP9 alpha in WebM). */
  has_alpha: z.boolean().optional(),
  /** The picture's transfer is HDR: PQ (SMPTE ST 2084) or HLG (ARIB STD-B67). */
  hdr: z.boolean().optional(),
  /** The picture's transfer characteristic as FFmpeg names it (e.g. "smpte2084", "bt709"); null when unknown. */
  color_transfer: z.string().max(32).nullable().optional(),
  /** The picture is coded interlaced (fields), as the codec or container says. */
  interlaced: z.boolean().optional(),
  /** Frame durations vary (as phones record), read from the first packets' timestamps. */
  variable_frame_rate: z.boolean().optional(),
  /** Clockwise rotation a player applies to the main picture: 0, 90, 180 or 270. */
  rotation: z.number().optional(),
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

/**
 * One rendition of an HLS or DASH ladder. Bit rates are what a player fetches to play it: its
 * segments, with (CMAF, where the audio is a track apart) its audio's.
 */
export const renditionFactsSchema = z.object({
  name: z.string().max(64),
  width: z.int(),
  height: z.int(),
  /** Peak segment bit rate, bits/s (the HLS BANDWIDTH attribute). */
  bandwidth: z.number().nonnegative(),
  /** Mean bit rate over the whole rendition, bits/s (the HLS AVERAGE-BANDWIDTH attribute). */
  average_bandwidth: z.number().nonnegative(),
  segments: z.int().nonnegative(),
  /** hls: the rendition's media playlist ("720p/index.m3u8"); dash: the manifest. */
  playlist: z.string().max(512),
});
export type RenditionFacts = z.infer<typeof renditionFactsSchema>;

/**
 * A subtitle track of a written video output, read back from the file: its codec (mov_text, webvtt,
 * subrip), language tag (ISO 639-2, null when untagged), title and default disposition.
 */
export const subtitleTrackFactsSchema = z.object({
  codec: z.string().max(32),
  language: z.string().max(16).nullable(),
  title: z.string().max(64).nullable(),
  default: z.boolean(),
});
export type SubtitleTrackFacts = z.infer<typeof subtitleTrackFactsSchema>;

/** A WebVTT subtitle rendition of an HLS output (an EXT-X-MEDIA TYPE=SUBTITLES entry of its master playlist). */
export const subtitleRenditionFactsSchema = z.object({
  name: z.string().max(64),
  /** The BCP 47 tag in the master playlist (LANGUAGE), null when the subtitle file has none. */
  language: z.string().max(16).nullable(),
  cues: z.int().nonnegative(),
  segments: z.int().nonnegative(),
  playlist: z.string().max(512),
});
export type SubtitleRenditionFacts = z.infer<typeof subtitleRenditionFactsSchema>;

/** A subtitles output: the input's subtitle track it was taken from, and the WebVTT written (read back). */
export const subtitleFactsSchema = z.object({
  format: z.literal("vtt"),
  /** The cues in the written file. */
  cues: z.int().nonnegative(),
  /** The input stream it came from: its index, codec and language tag (null when untagged). */
  source_index: z.int().nonnegative(),
  source_codec: z.string().max(32),
  language: z.string().max(16).nullable(),
});
export type SubtitleFacts = z.infer<typeof subtitleFactsSchema>;

/** An animation as written, read back from the file (GIF and WebP: their frame records). */
export const animationFactsSchema = z.object({
  format: z.enum(animationFormats),
  frames: z.int().nonnegative(),
  /** Frames a second as written (frames over duration). */
  fps: z.number().nonnegative(),
  /** GIF and WebP: the file asks players to loop forever; MP4: null (the player's loop attribute decides). */
  loop: z.boolean().nullable(),
});
export type AnimationFacts = z.infer<typeof animationFactsSchema>;

/**
 * A waveform as written: its picture, and its peaks document (`peaks.json`: `peaks` as
 * [min, max, min, max, …] in −1…1 of the mono down-mix, one pair per `1/points_per_sec` s, the
 * array wavesurfer.js takes as `peaks`, with `length`, `sample_rate`, `samples_per_pixel` and
 * `duration_sec` beside it).
 */
export const waveformFactsSchema = z.object({
  image: z.string().max(64),
  peaks: z.string().max(64),
  width: z.int(),
  height: z.int(),
  /** Peak pairs in the document. */
  points: z.int().nonnegative(),
  points_per_sec: z.number().nonnegative(),
  duration_sec: z.number().nonnegative(),
});
export type WaveformFacts = z.infer<typeof waveformFactsSchema>;

// ---- analysis facts: what each kind of `analysis` output reports (and writes as its JSON document) ----

const secondsFact = z.number().nonnegative();
/** A stretch of the input, seconds from its start. */
export const intervalSchema = z.object({ start_sec: secondsFact, end_sec: secondsFact });
export type Interval = z.infer<typeof intervalSchema>;
const intervals = z.array(intervalSchema).max(10_000);

/**
 * Why a measurement has no value (instead of a made-up one): the input is silent, too short, or
 * has no steady beat. Null when there is a value.
 */
const reasonSchema = z.string().max(200).nullable();

export const loudnessAnalysisSchema = z.object({
  kind: z.literal("loudness"),
  /** EBU R128 integrated loudness (LUFS), as FFmpeg's ebur128 measures it; null when all of it is under the -70 LUFS gate (silence). */
  integrated_lufs: z.number().nullable(),
  /** EBU R128 loudness range (LU): the spread of short-term loudness (10th to 95th percentile, gated). */
  loudness_range_lu: z.number().nullable(),
  /** Highest true (inter-sample, 4× oversampled) peak over all channels, dBTP; null for digital silence. */
  true_peak_dbtp: z.number().nullable(),
  /**
   * Momentary loudness (400 ms window) every 100 ms; longer inputs are decimated to the output's
   * momentary_points by keeping the loudest point of each stretch. `lufs` is floored at -120
   * (digital silence).
   */
  momentary: z.array(z.object({ time_sec: secondsFact, lufs: z.number() })).max(10_000),
  duration_sec: z.number().nonnegative(),
  reason: reasonSchema,
});

export const silenceAnalysisSchema = z.object({
  kind: z.literal("silence"),
  /** Audio under this level (dBFS) on every channel counts as silence (FFmpeg's silencedetect). */
  noise_db: z.number(),
  min_duration_sec: z.number(),
  silences: intervals,
  total_silence_sec: z.number().nonnegative(),
  duration_sec: z.number().nonnegative(),
});

export const scenesAnalysisSchema = z.object({
  kind: z.literal("scenes"),
  threshold: z.number(),
  /**
   * Cuts: the time of the first frame of each new scene and its scene score (FFmpeg's scdet: the
   * share of the picture that changed, less the change before it, 0–100). The first scene starts at 0
   * and is not listed.
   */
  scenes: z.array(z.object({ time_sec: secondsFact, score: z.number().min(0).max(100) })).max(10_000),
  frames: z.int().nonnegative(),
  duration_sec: z.number().nonnegative(),
});

export const blackAnalysisSchema = z.object({
  kind: z.literal("black"),
  min_duration_sec: z.number(),
  pixel_threshold: z.number(),
  picture_ratio: z.number(),
  /** Stretches of black picture (FFmpeg's blackdetect); one running to the end ends with the last frame. */
  black: intervals,
  duration_sec: z.number().nonnegative(),
});

export const freezeAnalysisSchema = z.object({
  kind: z.literal("freeze"),
  noise_db: z.number(),
  min_duration_sec: z.number(),
  /** Stretches of frozen picture (FFmpeg's freezedetect); one running to the end ends with the last frame. */
  freeze: intervals,
  duration_sec: z.number().nonnegative(),
});

export const tempoAnalysisSchema = z.object({
  kind: z.literal("tempo"),
  /**
   * Beats per minute of the steady beat; null when there is none (speech, silence, free time),
   * with `reason` saying why.
   */
  bpm: z.number().positive().nullable(),
  /**
   * How clearly the beat stands out: the onset envelope's autocorrelation at the beat period,
   * from 0.2 (the least a steady beat has) to 0.7 and above (a metronome) mapped onto 0–1.
   */
  confidence: z.number().min(0).max(1),
  /** Beat times, seconds from the start (empty when bpm is null). */
  beats_sec: z.array(secondsFact).max(50_000),
  reason: reasonSchema,
});

export const keyAnalysisSchema = z.object({
  kind: z.literal("key"),
  /** Tonic and mode, e.g. "A minor"; null when the audio has no pitched content (with `reason`). */
  key: z.string().max(16).nullable(),
  tonic: z.enum(pitchClasses).nullable(),
  mode: z.enum(["major", "minor"]).nullable(),
  /**
   * How far the key stands out: (r1 − r2) / (1 − r2), r1 and r2 the correlations of the chroma
   * profile with the best and the runner-up key profiles (Krumhansl–Kessler); 0 when there is no key.
   */
  confidence: z.number().min(0).max(1),
  /** Energy per pitch class, C to B (see pitchClasses), the largest 1: what the key was read from. */
  chroma: z.array(z.number().min(0).max(1)).length(12),
  reason: reasonSchema,
});

export const frameHashSchema = z.object({
  time_sec: secondsFact,
  /** 64-bit DCT perceptual hash of the frame as 16 hex digits; near-identical pictures differ in few bits. */
  phash: z.string().regex(/^[0-9a-f]{16}$/),
});
export type FrameHash = z.infer<typeof frameHashSchema>;

export const fingerprintAnalysisSchema = z.object({
  kind: z.literal("fingerprint"),
  /**
   * The audio's Chromaprint, compressed and base64-encoded exactly as `fpcalc` prints it (the first
   * `audio_sec` seconds, algorithm 2), for AcoustID lookups or comparison; null without usable
   * audio (with `reason`).
   */
  chromaprint: z.string().max(100_000).nullable(),
  /** Seconds of audio the Chromaprint covers. */
  chromaprint_duration_sec: z.number().nonnegative().nullable(),
  /** Perceptual hashes of frames every `frame_interval_sec` (an image: its one picture). */
  frame_hashes: z.array(frameHashSchema).max(1000),
  reason: reasonSchema,
});

export const highlightReasons = [
  "loud",
  "loudness_peak",
  "scene_change",
  "motion",
  "starts_at_cut",
  "starts_after_silence",
  "ends_at_cut",
  "ends_at_silence",
] as const;
export type HighlightReason = (typeof highlightReasons)[number];

export const highlightSegmentSchema = z.object({
  start_sec: secondsFact,
  end_sec: secondsFact,
  /** 0–1; see highlightsAnalysisSchema. */
  score: z.number().min(0).max(1),
  reasons: z.array(z.enum(highlightReasons)).max(highlightReasons.length),
});
export type HighlightSegment = z.infer<typeof highlightSegmentSchema>;

export const highlightsAnalysisSchema = z
  .object({
    kind: z.literal("highlights"),
    /**
     * Best first. Each half-second of the input gets an interest in 0–1: 0.35 × energy (its
     * loudness between the input's 10th and 98th percentile) + 0.2 × peak (its rise over the median
     * of the 10 s around it, 10 LU = 1) + 0.25 × change (the strongest cut within half a second,
     * over the input's strongest) + 0.2 × motion (its mean frame difference over the input's 95th
     * percentile); without audio or video the other terms share the weight. A segment grows around
     * the most interesting half-second not yet taken (to min_sec, then while its neighbours hold half
     * that interest, up to max_sec); its edges move to a cut, else to a pause between words, within
     * 2 s (an edge cut back to keep to max_sec or total_sec lands on a cut or pause where its room
     * holds one); its score is the mean interest of its half-seconds. Segments never overlap and
     * stop at count or total_sec.
     */
    segments: z.array(highlightSegmentSchema).max(50),
    duration_sec: z.number().nonnegative(),
  })
  .describe("the best moments of the input, ranked");

/**
 * The facts of an `analysis` output (and its JSON document), by kind. A `probe` output's facts are
 * the output's `probe` field instead (kept where earlier clients read it).
 */
export const analysisFactsSchema = z.discriminatedUnion("kind", [
  loudnessAnalysisSchema,
  silenceAnalysisSchema,
  scenesAnalysisSchema,
  blackAnalysisSchema,
  freezeAnalysisSchema,
  tempoAnalysisSchema,
  keyAnalysisSchema,
  fingerprintAnalysisSchema,
  highlightsAnalysisSchema,
]);
export type AnalysisFacts = z.infer<typeof analysisFactsSchema>;
export type AnalysisFactsOf<K extends AnalysisFacts["kind"]> = Extract<AnalysisFacts, { kind: K }>;
