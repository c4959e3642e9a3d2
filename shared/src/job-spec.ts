import { z } from "zod";
import {
  checkJobEdits,
  compositionSchemas,
  editCodecProblems,
  inputNameSchema,
  jobInputsSchema,
} from "./composition";
import { defaultDestinationPath, destinationPathProblem, destinationPrefixProblem } from "./destinations";
import {
  accelModes,
  analysisDefaults as analysisDefault,
  animationDefaults,
  animationFormats,
  audioCodecs,
  containerCodecs,
  containerDefaults,
  fontNames,
  hexColorPattern,
  imageFormats,
  languageCodePattern,
  mediaLimits as limits,
  maxCrf,
  outputNamePattern,
  presets,
  sampleRates,
  subtitleFormats,
  subtitleLabelPattern,
  subtitleLimits,
  subtitlePositions,
  subtitleStyleDefaults,
  type VideoContainer,
  videoCodecs,
  videoContainers,
  watermarkPositions,
  waveformDefaults,
  waveformImageFormats,
} from "./media";
import { webhookSpecSchema } from "./webhooks";

/**
 * The job spec: what an API client may ask for. Every option is a typed field with bounds; nothing
 * here is ever passed to FFmpeg as text. `outputs` is a union on `type`: video, audio, thumbnails,
 * hls, dash, analysis, animation, waveform, subtitles (and the edits: composition,
 * highlight_reel); all outputs of a job share one decode of the input.
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

/**
 * Which of the input's audio tracks an output takes: `{index: N}` is the N-th audio track (0: the
 * first, in the order the probe lists them), `{language: "deu"}` the first track tagged with that
 * ISO 639-2 language (the default-disposition one when several are; "ger" and "deu" alike).
 * Omitted: the input's main audio track. A job whose input lacks the track fails with
 * `input_no_streams`, naming the tracks it has.
 */
export const audioTrackSchema = z.union([
  z.strictObject({ index: intWithin(limits.audioTrackIndex) }),
  z.strictObject({
    language: z.string().regex(languageCodePattern, 'must be an ISO 639-2 language code such as "deu"'),
  }),
]);
export type AudioTrackChoice = z.infer<typeof audioTrackSchema>;

/**
 * Several audio tracks mixed into one output track: `"mix"` every audio track of the input,
 * `{mix: [choice, ...]}` the listed ones (each by index or language, each at most once). The mix
 * is the average of the tracks playing at each moment (each of N at 1/N: it cannot clip where no
 * track clips; a track that ends early fades out of the average over 2 s and the others come back
 * up), in the widest track's layout at the highest rate among them (or `channels`/`sample_rate`).
 */
export const audioMixSchema = z.strictObject({
  mix: z.array(audioTrackSchema).min(limits.audioMixTracks.min).max(limits.audioMixTracks.max),
});
export type AudioMixChoice = z.infer<typeof audioMixSchema>;

/**
 * Which of the input's video tracks (angles) an output takes: `{index: N}` the N-th video track (0:
 * the first in probe order; attached pictures such as cover art are not video tracks), `{language:
 * "deu"}` the first tagged with that language (the default-disposition one when several are).
 * Omitted: the input's main video track. A missing track fails with `input_no_streams`, naming the
 * tracks the input has.
 */
export const videoTrackSchema = z.union([
  z.strictObject({ index: intWithin(limits.videoTrackIndex) }),
  z.strictObject({
    language: z.string().regex(languageCodePattern, 'must be an ISO 639-2 language code such as "deu"'),
  }),
]);
export type VideoTrackChoice = z.infer<typeof videoTrackSchema>;

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
    /** Which of the input's video tracks (angles); omitted: the main one. */
    track: videoTrackSchema.optional(),
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

/** Whether a track choice mixes several tracks into one. */
export const isMix = (track: unknown): boolean =>
  track === "mix" || (typeof track === "object" && track !== null && "mix" in track);

export const audioStreamSchema = z.strictObject({
  codec: z.enum(audioCodecs).default("aac"),
  bitrate_kbps: intWithin(limits.audioBitrateKbps).default(128),
  channels: intWithin(limits.channels).optional(),
  sample_rate: sampleRateSchema.optional(),
  /**
   * A video output may also keep `"all"` the input's audio tracks, each encoded alike, in order,
   * tags kept; or mix several into one (`"mix"`, `{mix: [...]}`; see audioMixSchema).
   */
  track: z.union([audioTrackSchema, z.literal("all"), z.literal("mix"), audioMixSchema]).optional(),
});

/** Output names become file names and progress keys: keep them short and path-safe. */
export const outputNameSchema = z
  .string()
  .regex(outputNamePattern, "must be 1-64 letters, digits, '-' or '_'");

const hexColor = z.string().regex(hexColorPattern, "must be a colour as #rrggbb or #rrggbbaa");

/**
 * How burned subtitles look: typed, bounded fields our code turns into the subtitle renderer's
 * style (never the client's text). Sizes are pixels of a 1080-line picture, scaled with the output.
 * `background`: a box behind each line in that colour (the outline is then not drawn).
 */
export const subtitleStyleSchema = z.strictObject({
  font: z.enum(fontNames).default(subtitleStyleDefaults.font),
  font_size: intWithin(subtitleLimits.fontSize).default(subtitleStyleDefaults.fontSize),
  color: hexColor.default(subtitleStyleDefaults.color),
  outline_color: hexColor.default(subtitleStyleDefaults.outlineColor),
  outline_px: within(subtitleLimits.outlinePx).default(subtitleStyleDefaults.outlinePx),
  background: hexColor.optional(),
  position: z.enum(subtitlePositions).default(subtitleStyleDefaults.position),
  /** Distance of the lines from the top or bottom edge, percent of the picture height. */
  margin_pct: within(subtitleLimits.marginPct).default(subtitleStyleDefaults.marginPct),
});
export type SubtitleStyle = z.output<typeof subtitleStyleSchema>;

/**
 * One of the job's `subtitles` on a video output: `burn` draws its cues into the picture (at most
 * one per output); `track` carries them as a subtitle stream (mov_text in MP4/MOV, WebVTT in WebM,
 * SubRip in MKV) tagged with the subtitle's language and label; `default` asks players to show it.
 */
export const subtitleUseSchema = z.discriminatedUnion("mode", [
  z.strictObject({
    input: inputNameSchema,
    mode: z.literal("burn"),
    style: subtitleStyleSchema.prefault({}),
  }),
  z.strictObject({
    input: inputNameSchema,
    mode: z.literal("track"),
    default: z.boolean().default(false),
  }),
]);
export type SubtitleUse = z.output<typeof subtitleUseSchema>;

/** `subtitles` on an output: one entry or a list (1-8); stored as a list. */
const subtitleUsesSchema = z.preprocess(
  (value) => (value !== null && typeof value === "object" && !Array.isArray(value) ? [value] : value),
  z
    .array(subtitleUseSchema)
    .min(subtitleLimits.inputs.min)
    .max(subtitleLimits.inputs.max)
    .superRefine((uses, ctx) => {
      if (uses.filter((u) => u.mode === "burn").length > 1)
        ctx.addIssue({ code: "custom", message: "burn at most one subtitle into a picture" });
      const seen = new Set<string>();
      uses.forEach((u, i) => {
        if (seen.has(u.input))
          ctx.addIssue({ code: "custom", message: `names subtitles '${u.input}' twice`, path: [i, "input"] });
        seen.add(u.input);
      });
    }),
);

/**
 * A subtitle file the job reads (SRT or WebVTT, told apart by its content), fetched like any input.
 * `language`: the ISO 639-2 code its tracks and renditions are tagged with; `label`: the name
 * players list it by (the track title, the HLS rendition NAME; left out: the subtitle's key).
 */
export const subtitleInputSchema = z.strictObject({
  input: inputSchema,
  language: z
    .string()
    .regex(languageCodePattern, 'must be an ISO 639-2 language code such as "eng"')
    .optional(),
  label: z
    .string()
    .regex(
      subtitleLabelPattern,
      `must be 1-${subtitleLimits.labelChars} characters without quotes or line breaks`,
    )
    .optional(),
});
export type SubtitleInput = z.infer<typeof subtitleInputSchema>;

/** A job's `subtitles`: 1-8 subtitle files by name. */
export const jobSubtitlesSchema = z
  .record(inputNameSchema, subtitleInputSchema)
  .refine((r) => Object.keys(r).length >= subtitleLimits.inputs.min, "name at least one subtitle file")
  .refine(
    (r) => Object.keys(r).length <= subtitleLimits.inputs.max,
    `at most ${subtitleLimits.inputs.max} subtitle files per job`,
  )
  .describe(
    "subtitle files (SRT or WebVTT) by name, fetched like inputs: burned into video outputs, carried as their tracks, or offered as HLS renditions",
  );

/** Which of the input's subtitle tracks: the N-th (probe order) or the first tagged with a language. */
export const subtitleTrackSchema = z.union([
  z.strictObject({ index: intWithin(subtitleLimits.trackIndex) }),
  z.strictObject({
    language: z.string().regex(languageCodePattern, 'must be an ISO 639-2 language code such as "deu"'),
  }),
]);

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
    /** Subtitles of the job's `subtitles` burned into the picture or carried as tracks. */
    subtitles: subtitleUsesSchema
      .optional()
      .describe(
        'one of the job\'s subtitles, or a list: {input, mode: "burn", style} (at most one) or {input, mode: "track", default}',
      ),
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

export const audioOutputSchema = z
  .strictObject({
    name: outputNameSchema,
    type: z.literal("audio"),
    codec: z.enum(audioCodecs).default("aac"),
    /** Ignored by the lossless codecs (flac, wav). */
    bitrate_kbps: intWithin(limits.audioBitrateKbps).default(128),
    channels: intWithin(limits.channels).optional(),
    sample_rate: sampleRateSchema.optional(),
    /** One track (see audioTrackSchema), or several mixed into one (`"mix"`, `{mix: [...]}`). */
    track: z.union([audioTrackSchema, z.literal("mix"), audioMixSchema]).optional(),
    /** Two-pass EBU R128 loudness normalization to this integrated loudness (of one track, not a mix). */
    loudness: z.strictObject({ target_lufs: within(limits.loudnessTargetLufs) }).optional(),
    trim: trimSchema.optional(),
  })
  .refine((a) => a.loudness === undefined || !isMix(a.track), {
    // The first pass measures one decoded track; a mix only exists inside the second.
    message: "loudness normalization takes one track, not a mix",
    path: ["loudness"],
  });

export const thumbnailsOutputSchema = z
  .strictObject({
    name: outputNameSchema,
    type: z.literal("thumbnails"),
    format: z.enum(imageFormats).default("jpg"),
    width: evenDimension.optional(),
    height: evenDimension.optional(),
    /** Exactly one of: times in seconds, one every N seconds, N evenly spaced, or one per scene. */
    at_sec: z.array(seconds).min(limits.thumbnailTimes.min).max(limits.thumbnailTimes.max).optional(),
    every_sec: within(limits.thumbnailEverySec).optional(),
    count: intWithin(limits.thumbnailCount).optional(),
    /**
     * "scenes": one still per scene (cuts found as the `scenes` analysis finds them), taken at the
     * scene's most representative frame (the one nearest the scene's average picture, skipping
     * fades), not the first after the cut; at most 100 (the first 100 scenes).
     */
    select: z.literal("scenes").optional(),
    /** With select "scenes": the scene score a cut needs (scdet, 0–100). */
    scene_threshold: within(limits.sceneThreshold).optional(),
    /** Which of the input's video tracks (angles) the stills are taken from; omitted: the main one. */
    track: videoTrackSchema.optional(),
    /** Also tile the thumbnails into one sprite sheet with a WebVTT storyboard. */
    sprite: z.strictObject({ columns: intWithin(limits.spriteColumns).default(10) }).optional(),
  })
  .refine(
    (t) => [t.at_sec, t.every_sec, t.count, t.select].filter((v) => v !== undefined).length === 1,
    "give exactly one of at_sec, every_sec, count and select",
  )
  .refine((t) => t.scene_threshold === undefined || t.select === "scenes", {
    message: 'scene_threshold goes with select: "scenes"',
    path: ["scene_threshold"],
  });

/** An adaptive ladder: what hls and dash outputs take alike. */
const ladderFields = {
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
};

export const hlsOutputSchema = z.strictObject({
  name: outputNameSchema,
  type: z.literal("hls"),
  ...ladderFields,
  /**
   * Subtitles of the job's `subtitles`, each a WebVTT rendition of the master playlist (segmented
   * with the video); `default`: players show it unless told otherwise.
   */
  subtitles: z
    .array(z.strictObject({ input: inputNameSchema, default: z.boolean().default(false) }))
    .min(subtitleLimits.inputs.min)
    .max(subtitleLimits.inputs.max)
    .refine((r) => new Set(r.map((x) => x.input)).size === r.length, "subtitle inputs must be unique")
    .optional(),
});

/**
 * One of the input's own subtitle tracks written as WebVTT (text tracks: SubRip, ASS, mov_text,
 * WebVTT, …; picture-based ones such as DVD or PGS are refused). `track` left out: the first
 * subtitle track. A job whose input lacks the track fails with `input_no_streams`, naming those it has.
 */
export const subtitlesOutputSchema = z.strictObject({
  name: outputNameSchema,
  type: z.literal("subtitles"),
  track: subtitleTrackSchema.optional(),
  format: z.enum(subtitleFormats).default("vtt"),
});

/**
 * The ladder as MPEG-DASH: `manifest.mpd` over CMAF (fragmented MP4) segments, the video renditions
 * in one adaptation set and the audio, once per audio bit rate, in another. In a job that also
 * asks for an hls output with the same ladder (segment_sec, preset and renditions), the ladder is
 * encoded and stored once: that output's folder holds the segments (its playlists then CMAF too,
 * the audio as its own rendition group) and this one only the manifest, which points at them
 * (the output's `segments_from` names that output).
 */
export const dashOutputSchema = z
  .strictObject({
    name: outputNameSchema,
    type: z.literal("dash"),
    ...ladderFields,
  })
  .describe(
    "MPEG-DASH: manifest.mpd over CMAF segments, video and audio adaptation sets. With an hls output of the same ladder (segment_sec, preset, renditions) in the job, the ladder is encoded and stored once, in the hls output's folder, and this output is its manifest (segments_from names that output).",
  );

const animationDimension = z
  .int()
  .min(limits.animationDimension.min)
  .max(limits.animationDimension.max)
  .refine((n) => n % 2 === 0, "must be an even number of pixels");

/**
 * An animated preview of a stretch of the input: animated WebP, GIF (a palette computed for the
 * clip) or a short silent MP4 loop, `duration_sec` from `start_sec` at `fps`, fitted inside
 * width x height (aspect kept, never upscaled; neither given: 480 wide). A window past the end of
 * the input is cut at the end. Runs in the job's one decode.
 */
export const animationOutputSchema = z.strictObject({
  name: outputNameSchema,
  type: z.literal("animation"),
  format: z.enum(animationFormats).default(animationDefaults.format),
  start_sec: seconds.default(0),
  duration_sec: within(limits.animationDurationSec).default(animationDefaults.durationSec),
  fps: within(limits.animationFps).default(animationDefaults.fps),
  width: animationDimension.optional(),
  height: animationDimension.optional(),
  /** GIF and WebP: loop forever (true) or play once (false). MP4 files carry no loop flag. */
  loop: z.boolean().default(true),
  /** Which of the input's video tracks (angles); omitted: the main one. */
  track: videoTrackSchema.optional(),
});

/**
 * A picture of the audio's waveform (PNG or SVG, width x height, `color` on `background`) and its
 * peaks as JSON for players that draw their own: `points` pairs over the whole input or
 * `points_per_sec` pairs a second (neither: one pair per pixel column). Runs in the job's one decode.
 */
export const waveformOutputSchema = z
  .strictObject({
    name: outputNameSchema,
    type: z.literal("waveform"),
    image: z.enum(waveformImageFormats).default(waveformDefaults.image),
    width: intWithin(limits.waveformWidth).default(waveformDefaults.width),
    height: intWithin(limits.waveformHeight).default(waveformDefaults.height),
    color: hexColor.default(waveformDefaults.color),
    /** A colour, or "transparent". */
    background: z.union([hexColor, z.literal("transparent")]).default(waveformDefaults.background),
    points: intWithin(limits.waveformPoints).optional(),
    points_per_sec: within(limits.waveformPointsPerSec).optional(),
  })
  .refine((w) => w.points === undefined || w.points_per_sec === undefined, {
    message: "give points or points_per_sec, not both",
    path: ["points_per_sec"],
  });

const analysisOutput = <K extends string, S extends z.core.$ZodLooseShape>(kind: K, shape: S) =>
  z.strictObject({
    name: outputNameSchema,
    type: z.literal("analysis"),
    analysis: z.literal(kind),
    ...shape,
  });

const minDuration = (fallback: number) => within(limits.intervalMinSec).default(fallback);

/**
 * An analysis of the input, written as a JSON document (the output's file) and reported on the
 * output (`probe`, or `analysis` for every other kind; shapes in shared/src/media.ts). Every kind
 * runs in the job's one decode, beside its other outputs. `analysis` left out means `probe`.
 */
export const analysisOutputSchema = z.discriminatedUnion("analysis", [
  z.strictObject({
    name: outputNameSchema,
    type: z.literal("analysis"),
    /** probe: the input's container, duration, streams, codecs, rotation, frame rate, bit rates and content flags. */
    analysis: z.literal("probe").default("probe"),
  }),
  analysisOutput("loudness", {
    /** At most this many points of the momentary curve (one per 100 ms; longer inputs are decimated). */
    momentary_points: intWithin(limits.momentaryPoints).default(analysisDefault.momentaryPoints),
  }),
  analysisOutput("silence", {
    /** Audio under this level (dBFS) counts as silence. */
    noise_db: within(limits.silenceNoiseDb).default(analysisDefault.silenceNoiseDb),
    /** Shortest silence reported, seconds. */
    min_duration_sec: minDuration(analysisDefault.silenceMinSec),
  }),
  analysisOutput("scenes", {
    /** The scene score (0–100) a cut needs; lower finds softer cuts (and more false ones). */
    threshold: within(limits.sceneThreshold).default(analysisDefault.sceneThreshold),
  }),
  analysisOutput("black", {
    min_duration_sec: minDuration(analysisDefault.blackMinSec),
    /** A pixel is black when its luma is under this share of the range. */
    pixel_threshold: within(limits.blackPixelThreshold).default(analysisDefault.blackPixelThreshold),
    /** A picture is black when at least this share of its pixels are. */
    picture_ratio: within(limits.blackPictureRatio).default(analysisDefault.blackPictureRatio),
  }),
  analysisOutput("freeze", {
    /** Frames differing by less than this (dB of the mean absolute difference) count as the same picture. */
    noise_db: within(limits.freezeNoiseDb).default(analysisDefault.freezeNoiseDb),
    min_duration_sec: minDuration(analysisDefault.freezeMinSec),
  }),
  analysisOutput("tempo", {
    /** The beat is looked for between these tempos (beats per minute). */
    min_bpm: within(limits.tempoBpm).default(analysisDefault.minBpm),
    max_bpm: within(limits.tempoBpm).default(analysisDefault.maxBpm),
  }),
  analysisOutput("key", {}),
  analysisOutput("fingerprint", {
    /** Seconds of audio fingerprinted from the start (fpcalc's default: 120). */
    audio_sec: within(limits.fingerprintSec).default(analysisDefault.fingerprintSec),
    /** Seconds between hashed video frames (at most 1000 hashes: longer inputs hash fewer). */
    frame_interval_sec: within(limits.frameHashIntervalSec).default(analysisDefault.frameHashIntervalSec),
  }),
  analysisOutput("highlights", {
    /** How many segments, at most. */
    count: intWithin(limits.highlightCount).default(analysisDefault.highlightCount),
    min_sec: within(limits.highlightSec).default(analysisDefault.highlightMinSec),
    max_sec: within(limits.highlightSec).default(analysisDefault.highlightMaxSec),
    /** At most this many seconds of segments in all. */
    total_sec: within(limits.highlightTotalSec).optional(),
  }),
]);
export type AnalysisOutputSpec = z.infer<typeof analysisOutputSchema>;

/** Relations between analysis options that one field's bounds can't say. */
function checkAnalysisOptions(output: OutputSpecRaw, ctx: z.RefinementCtx): void {
  if (output.type === "composition" || output.type === "highlight_reel") {
    for (const p of editCodecProblems(output))
      ctx.addIssue({ code: "custom", message: p.message, path: p.path });
    return;
  }
  if (output.type !== "analysis") return;
  if (output.analysis === "tempo" && output.min_bpm >= output.max_bpm) {
    ctx.addIssue({ code: "custom", message: "min_bpm must be under max_bpm", path: ["max_bpm"] });
  }
  if (output.analysis === "highlights" && output.min_sec > output.max_sec) {
    ctx.addIssue({ code: "custom", message: "min_sec must be at most max_sec", path: ["max_sec"] });
  }
  if (
    output.analysis === "highlights" &&
    output.total_sec !== undefined &&
    output.total_sec < output.min_sec
  ) {
    ctx.addIssue({ code: "custom", message: "total_sec must be at least min_sec", path: ["total_sec"] });
  }
}

/**
 * A default must be valid for the output it lands in: a video output's codecs left out default by
 * its container (webm: vp9 + opus), before validation, so `{container: "webm", video: {}}` just
 * works. Codecs the client names are kept and checked as written.
 */
function withContainerDefaults(raw: unknown): unknown {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return raw;
  const output = raw as Record<string, unknown>;
  const edit = output.type === "composition" || output.type === "highlight_reel";
  if (output.type !== "video" && !edit) return raw;
  const container = output.container ?? "mp4";
  if (typeof container !== "string" || !Object.hasOwn(containerDefaults, container)) return raw;
  const defaults = containerDefaults[container as VideoContainer];
  const withCodec = (stream: unknown, codec: string) =>
    stream !== null && typeof stream === "object" && !Array.isArray(stream) && !("codec" in stream)
      ? { ...stream, codec }
      : stream;
  return {
    ...output,
    video:
      edit && output.video === undefined
        ? { codec: defaults.video }
        : withCodec(output.video, defaults.video),
    audio:
      output.audio === undefined
        ? { codec: defaults.audio, bitrate_kbps: 128 }
        : withCodec(output.audio, defaults.audio),
  };
}

/** composition and highlight_reel outputs (shared/src/composition.ts). */
const edits = compositionSchemas({
  outputName: outputNameSchema,
  // An edit's audio is made from its clips and soundtrack, not from one input's tracks: a `track`
  // there would be ignored, so it is refused as an unknown field.
  audioStream: audioStreamSchema.omit({ track: true }),
  trim: trimSchema,
});
export const compositionOutputSchema = edits.composition;
export const highlightReelOutputSchema = edits.highlightReel;

const outputUnion = z.discriminatedUnion("type", [
  videoOutputSchema,
  audioOutputSchema,
  thumbnailsOutputSchema,
  hlsOutputSchema,
  dashOutputSchema,
  analysisOutputSchema,
  compositionOutputSchema,
  highlightReelOutputSchema,
  animationOutputSchema,
  waveformOutputSchema,
  subtitlesOutputSchema,
]);
type OutputSpecRaw = z.infer<typeof outputUnion>;

export const outputSchema = z.preprocess(
  withContainerDefaults,
  outputUnion.superRefine(checkAnalysisOptions),
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

export const jobSpecSchema = z
  .strictObject({
    /** The job's one input; or name several in `inputs` (compositions, highlight reels). */
    input: inputSchema.optional(),
    /** Named inputs (1-16), for composition and highlight_reel outputs; instead of `input`. */
    inputs: jobInputsSchema(inputSchema).optional(),
    /**
     * Subtitle files (SRT or WebVTT, 1-8) by name, for the outputs of a job with one `input`: video
     * outputs burn them or carry them as tracks, HLS outputs offer them as renditions.
     */
    subtitles: jobSubtitlesSchema.optional(),
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
  })
  .superRefine(checkJobEdits)
  .superRefine(checkJobSubtitles);

/** A spec as the client sent it (defaults not yet applied). */
export type JobSpecInput = z.input<typeof jobSpecSchema>;
/** A validated spec with every default filled in; this is what is stored and dispatched. */
export type JobSpec = z.output<typeof jobSpecSchema>;

/** The processing pool a job is routed to. `gpu` accel needs a GPU node; `auto` and `cpu` run anywhere. */
export function poolFor(spec: Pick<JobSpec, "accel">): Pool {
  return spec.accel === "gpu" ? "gpu" : "cpu";
}

/** A validated composition output (shared/src/composition.ts), every default filled in. */
export type CompositionOutputSpec = z.output<typeof compositionOutputSchema>;
/** A validated highlight_reel output. */
export type HighlightReelOutputSpec = z.output<typeof highlightReelOutputSchema>;

/** What checkJobSubtitles reads of a job spec. */
interface SubtitledJob {
  inputs?: Record<string, unknown> | undefined;
  subtitles?: Record<string, SubtitleInput> | undefined;
  outputs: OutputSpecRaw[];
}

/**
 * The job-level rules of subtitles: they go with a single `input`; every subtitle an output names
 * is one of the job's, and every one of the job's is used by some output.
 */
export function checkJobSubtitles(spec: SubtitledJob, ctx: z.RefinementCtx): void {
  const names = Object.keys(spec.subtitles ?? {});
  if (spec.subtitles && spec.inputs) {
    ctx.addIssue({
      code: "custom",
      message: "subtitles go with a job's single input, not with inputs (compositions take none)",
      path: ["subtitles"],
    });
    return;
  }
  const used = new Set<string>();
  const check = (name: string, path: (string | number)[]) => {
    used.add(name);
    if (names.includes(name)) return;
    ctx.addIssue({
      code: "custom",
      message:
        names.length === 0
          ? `names subtitles '${name}', but the job has no subtitles`
          : `subtitles '${name}' is not one of the job's subtitles (${names.join(", ")})`,
      path,
    });
  };
  spec.outputs.forEach((output, i) => {
    const uses = output.type === "video" || output.type === "hls" ? (output.subtitles ?? []) : [];
    uses.forEach((u, j) => {
      check(u.input, ["outputs", i, "subtitles", j, "input"]);
    });
  });
  for (const name of names) {
    if (!used.has(name))
      ctx.addIssue({
        code: "custom",
        message: `subtitles '${name}' is used by no output (burn it, carry it as a track or add it to an hls output)`,
        path: ["subtitles", name],
      });
  }
}
