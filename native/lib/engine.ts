/**
 * The Engine contract: what a processing node may ask of FFmpeg.
 *
 * Two implementations sit behind it: `native` (our node-addon-api binding over libav*) and `wasm`
 * (ffmpeg.wasm core in a worker thread). Callers hand over a Plan made only of validated, typed
 * values; neither engine accepts raw FFmpeg arguments or filter strings from anywhere.
 */

import type {
  AccelMode,
  AnalysisFacts,
  AnalysisKind,
  AnimationFacts,
  AnimationFormat,
  AudioCodec,
  AudioFacts,
  HighlightSegment,
  ImageFormat,
  LoudnessFacts,
  Preset,
  ProbeFacts,
  RenditionFacts,
  SubtitleFacts,
  SubtitleRenditionFacts,
  SubtitleTrackFacts,
  ThumbnailFacts,
  VideoCodec,
  VideoContainer,
  VideoFacts,
  WatermarkPosition,
  WaveformFacts,
  WaveformImageFormat,
} from "@framewire/shared/media";

import type { CompositionPlanOutput, HighlightReelPlanOutput } from "./composition-plan";
import type { SubtitleBurnStyle } from "./subtitles";

export type EngineName = "native" | "wasm";

/** The media vocabulary is the job spec's own (shared/src/media.ts): one list of each. */
export type {
  AccelMode,
  AnalysisFacts,
  AnalysisKind,
  AnimationFacts,
  AnimationFormat,
  AudioCodec,
  ImageFormat,
  Preset,
  VideoCodec,
  VideoContainer,
  WatermarkPosition,
  WaveformFacts,
  WaveformImageFormat,
} from "@framewire/shared/media";
export type * from "./composition-plan";
export type { SubtitleBurnStyle } from "./subtitles";
export interface VideoEncodeOptions {
  codec: VideoCodec;
  /**
   * The picture is fitted inside maxWidth x maxHeight (null: unbounded on that side), keeping the
   * display aspect ratio, never upscaled, both sides rounded to even.
   */
  maxWidth: number | null;
  maxHeight: number | null;
  /** Constant quality (h264/h265: 0–51, vp9/av1: 0–63; lower is better). Exactly one of crf and bitrateKbps. */
  crf: number | null;
  bitrateKbps: number | null;
  /** x264's preset names; mapped onto each encoder's own speed setting (cpu-used, p1–p7, ...). */
  preset: Preset;
  /** Output frame rate; null keeps the input's. */
  fps: number | null;
  /** A rectangle of the (rotated) input picture, applied before scaling; even sizes. */
  crop: { x: number; y: number; width: number; height: number } | null;
  /** An image composited onto the scaled picture. */
  watermark?: Watermark | null;
  /** Which of the input's video tracks (angles); absent or null: the main one. */
  track?: TrackChoice | null;
}

export interface Watermark {
  /** Absolute path of the image (png with alpha, jpg, webp), inside the job's temp folder. */
  imagePath: string;
  position: WatermarkPosition;
  /** Distance from the nearest edges, in output pixels. */
  marginPx: number;
  /** 0 (invisible) to 1 (opaque). */
  opacity: number;
  /** Scale the image to this share of the output width (0.01–1); null keeps its own size. */
  widthFraction: number | null;
}

export interface AudioEncodeOptions {
  codec: AudioCodec;
  /** null: the encoder's default; lossless codecs (flac, wav) ignore it. */
  bitrateKbps: number | null;
  /** null: the input's, capped at 2. */
  channels: number | null;
  /** null: the input's when the encoder supports it, else 48 kHz. */
  sampleRate: number | null;
  /** Two-pass EBU R128 normalization to this integrated loudness (LUFS), or null. */
  loudnessTargetLufs: number | null;
  /**
   * Which of the input's audio tracks (see AudioTrackChoice); "all" (video outputs only): every
   * audio track, each its own output track encoded alike; "mix": every audio track mixed into
   * one, `{mix: [...]}` the listed ones (see AudioMix); absent or null: the main one.
   */
  track?: AudioTrackChoice | "all" | AudioMix | null;
}

/**
 * One of the input's tracks of a kind: the N-th of them (0: the first, in probe order; attached
 * pictures are not video tracks), or the first tagged with an ISO 639-2 language (the
 * default-disposition one when several are).
 */
export type TrackChoice = { index: number } | { language: string };
export type AudioTrackChoice = TrackChoice;

/**
 * Several audio tracks mixed into one output track, averaged (each of N at 1/N, so a mix cannot
 * clip where no track does): "mix" every audio track of the input, or the listed ones.
 */
export type AudioMix = "mix" | { mix: AudioTrackChoice[] };

/** A window of the input timeline, frame-accurate; the output starts at 0. */
export interface Trim {
  startSec: number;
  /** null: to the end. */
  endSec: number | null;
}

interface PlanOutputBase {
  /** The output's name in the job spec; progress and results are keyed by it. */
  name: string;
}

/** A subtitle file of the job (SRT or WebVTT, read by the engine), always inside the job's temp folder. */
export interface SubtitleFile {
  path: string;
  /** ISO 639-2 code its tracks and renditions are tagged with; null: untagged. */
  language: string | null;
  /** The name players list it by (track title, HLS NAME); null: the subtitle's own name. */
  label: string | null;
}

/**
 * How a video output uses one of the plan's subtitles: burned into the picture (at most one per
 * output) or carried as a track of the container's subtitle codec.
 */
export type SubtitleUsePlan =
  | { input: string; mode: "burn"; style: SubtitleBurnStyle }
  | { input: string; mode: "track"; default: boolean };

/** One file with video (and usually audio). */
export interface VideoPlanOutput extends PlanOutputBase {
  kind: "video";
  /** Absolute path of the file to write, always inside the job's own temp folder. */
  path: string;
  container: VideoContainer;
  /** null drops video. */
  video: VideoEncodeOptions | null;
  /** "copy" passes the input's audio through; null drops audio; an input without audio yields none. */
  audio: AudioEncodeOptions | "copy" | null;
  trim: Trim | null;
  /** Subtitles of `Plan.subtitles` by name; cues follow the trim (shifted by its start, cut at its ends). */
  subtitles?: SubtitleUsePlan[] | null;
}

/** One audio-only file; the container follows the codec (m4a, opus, mp3, flac, wav). */
export interface AudioPlanOutput extends PlanOutputBase {
  kind: "audio";
  path: string;
  audio: AudioEncodeOptions;
  trim: Trim | null;
}

export type ThumbnailSelection =
  | { mode: "at"; atSec: number[] }
  | { mode: "every"; everySec: number }
  | { mode: "count"; count: number }
  /** One still per scene (cuts at `threshold`, scdet's score), at its most representative frame; at most 100. */
  | { mode: "scenes"; threshold: number };

/** Still images into `dir` (thumb-0001.jpg, ...), optionally a sprite sheet with a WebVTT storyboard. */
export interface ThumbnailsPlanOutput extends PlanOutputBase {
  kind: "thumbnails";
  /** Absolute path of a folder the engine creates; every file of this output goes there. */
  dir: string;
  format: ImageFormat;
  maxWidth: number | null;
  maxHeight: number | null;
  select: ThumbnailSelection;
  /** Which of the input's video tracks (angles); absent or null: the main one. */
  track?: TrackChoice | null;
  /** Also tile every thumbnail into sprite.<format> with a WebVTT storyboard (storyboard.vtt). */
  sprite?: { columns: number } | null;
}

export interface HlsRendition {
  /** Folder name of the rendition inside the output's dir. */
  name: string;
  maxHeight: number;
  videoBitrateKbps: number;
  audioBitrateKbps: number;
}

/**
 * How a ladder's segments are written. "ts": MPEG-TS, each rendition's audio muxed in beside its
 * video (what every HLS player reads). "cmaf": fragmented MP4 (init.mp4 + seg_00000.m4s, ...), one
 * track per folder: each rendition's video, and its audio apart in one folder per audio bit rate
 * of the ladder (`audio-128k`), on one shared timeline; the layout HLS and DASH both read.
 */
export type LadderSegments = "ts" | "cmaf";

/** An adaptive ladder: one decode, one encoder per rendition, segments cut at the same instants. */
export interface HlsPlanOutput extends PlanOutputBase {
  kind: "hls";
  /** master.m3u8 plus one folder per rendition (index.m3u8, seg_00000.ts, ...) and, "cmaf", per audio bit rate. */
  dir: string;
  segmentSec: number;
  preset: Preset;
  renditions: HlsRendition[];
  /** Default "ts"; "cmaf" where a DASH output shares the ladder (DashPlanOutput.shares). */
  segments?: LadderSegments;
  /** Subtitles of `Plan.subtitles` offered as WebVTT renditions (subtitles-<name>/index.m3u8), segmented with the video. */
  subtitles?: { input: string; default: boolean }[] | null;
}

/** The input's subtitle track an extraction takes: the N-th subtitle track, or the first in a language. */
export type SubtitleTrackChoice = { index: number } | { language: string };

/** One of the input's text subtitle tracks written as WebVTT, in the shared decode. */
export interface SubtitlesPlanOutput extends PlanOutputBase {
  kind: "subtitles";
  path: string;
  format: "vtt";
  /** null: the input's first subtitle track. */
  track: SubtitleTrackChoice | null;
}

/**
 * The same ladder as a DASH presentation: manifest.mpd over CMAF segments ("cmaf" above), the
 * video renditions in one adaptation set and the audio in another.
 */
export interface DashPlanOutput extends PlanOutputBase {
  kind: "dash";
  /** manifest.mpd, plus (unless it shares) the ladder's folders: one per rendition and per audio bit rate. */
  dir: string;
  segmentSec: number;
  preset: Preset;
  renditions: HlsRendition[];
  /**
   * Share the segments of this plan's HLS output `hls` (the same segmentSec, preset and
   * renditions, segments "cmaf"): nothing more is encoded or stored but the manifest, whose media
   * URLs reach that output's files through `url`, the relative URL from this output's folder to
   * that one's, ending in "/" (e.g. "../hls/" where stored outputs are siblings).
   */
  shares?: { hls: string; url: string } | null;
}

/** The input's facts (format, duration, streams) written as JSON. */
export interface ProbePlanOutput extends PlanOutputBase {
  kind: "probe";
  path: string;
}

/** What one analysis output measures, with its options (bounds and defaults: shared/src/media.ts). */
export type AnalysisOptions =
  | { kind: "loudness"; momentaryPoints: number }
  | { kind: "silence"; noiseDb: number; minDurationSec: number }
  | { kind: "scenes"; threshold: number }
  | { kind: "black"; minDurationSec: number; pixelThreshold: number; pictureRatio: number }
  | { kind: "freeze"; noiseDb: number; minDurationSec: number }
  | { kind: "tempo"; minBpm: number; maxBpm: number }
  | { kind: "key" }
  | { kind: "fingerprint"; audioSec: number; frameIntervalSec: number }
  | { kind: "highlights"; count: number; minSec: number; maxSec: number; totalSec: number | null };

/**
 * A measurement of the whole input, written as JSON to `path` and reported as the output's
 * `analysis` facts. Runs in the same decode as the plan's other outputs (native engine).
 */
export interface AnalysisPlanOutput extends PlanOutputBase {
  kind: "analysis";
  path: string;
  analysis: AnalysisOptions;
}

/**
 * A short animated clip of the input (animated WebP, GIF with a palette computed for the clip, or a
 * silent H.264 MP4): `durationSec` from `startSec`, at `fps`, fitted in maxWidth x maxHeight.
 */
export interface AnimationPlanOutput extends PlanOutputBase {
  kind: "animation";
  path: string;
  format: AnimationFormat;
  startSec: number;
  durationSec: number;
  fps: number;
  maxWidth: number | null;
  maxHeight: number | null;
  /** GIF/WebP: loop forever, or play once; MP4 ignores it. */
  loop: boolean;
  /** Which of the input's video tracks (angles); absent or null: the main one. */
  track?: TrackChoice | null;
}

/**
 * The audio's waveform into `dir`: waveform.<image> (width x height, color on background) and
 * peaks.json (`points` pairs over the input, or `pointsPerSec` a second; neither: `width` pairs).
 */
export interface WaveformPlanOutput extends PlanOutputBase {
  kind: "waveform";
  dir: string;
  image: WaveformImageFormat;
  width: number;
  height: number;
  /** #rrggbb or #rrggbbaa. */
  color: string;
  /** #rrggbb, #rrggbbaa or null (transparent). */
  background: string | null;
  points: number | null;
  pointsPerSec: number | null;
}

export type PlanOutput =
  | VideoPlanOutput
  | AnimationPlanOutput
  | WaveformPlanOutput
  | AudioPlanOutput
  | ThumbnailsPlanOutput
  | HlsPlanOutput
  | DashPlanOutput
  | ProbePlanOutput
  | AnalysisPlanOutput
  | CompositionPlanOutput
  | HighlightReelPlanOutput
  | SubtitlesPlanOutput;
export type PlanOutputKind = PlanOutput["kind"];

export interface Plan {
  /**
   * Absolute path of the input, always inside the job's own temp folder (a job with named inputs:
   * the first of them; its composition and highlight_reel outputs name theirs in `inputs`).
   */
  inputPath: string;
  /** Named inputs (name → absolute path in the job's temp folder), for edits. */
  inputs?: Record<string, string>;
  /** The job's subtitle files by name, for video outputs' burns and tracks and HLS renditions. */
  subtitles?: Record<string, SubtitleFile>;
  /** Every output shares one demux and one decode of the input (native engine). */
  outputs: PlanOutput[];
  /** Default "auto". */
  accel?: AccelMode;
}

export interface StreamFacts {
  index: number;
  type: "video" | "audio" | "subtitle" | "data" | "other";
  codec: string;
  width?: number;
  height?: number;
  /** Average frame rate, frames per second. */
  fps?: number;
  sampleRate?: number;
  channels?: number;
  bitRate?: number;
  durationSec?: number;
  /** Video: clockwise rotation a player applies (display matrix), 0 when none. */
  rotation?: number;
  /** Pixel width/height (anamorphic video: not 1). */
  sampleAspectRatio?: number;
  pixelFormat?: string;
  sampleFormat?: string;
  /** Codec profile name, e.g. "High", "Constrained Baseline". */
  profile?: string;
  level?: number;
  /** Video: the transfer characteristic FFmpeg names (e.g. "smpte2084", "bt709"), when known. */
  colorTransfer?: string;
  /** Video: "progressive", "tt", "bb", "tb", "bt" when known. */
  fieldOrder?: string;
  /** Video: the picture has an alpha channel (pixel format, or WebM's alpha_mode). */
  alpha?: boolean;
  /** Video: an attached picture (cover art), not a moving picture. */
  attachedPicture?: boolean;
  /** Video: frame durations vary over the first packets (read by probeDeep only). */
  variableFrameRate?: boolean;
  /** Video: packets seen by probeDeep (capped), to tell an animated image from a still. */
  packets?: number;
  /** The track's language tag (ISO 639-2, e.g. "deu"), when the container gives one other than "und". */
  language?: string;
  /** The track's title tag (e.g. "Commentary"), when it has one. */
  title?: string;
  /** Players pick this track unless told otherwise (the container's default disposition). */
  default?: boolean;
}

export interface MediaFacts {
  /** libavformat's short name for the container, e.g. "mov,mp4,m4a,3gp,3g2,mj2". */
  formatName: string;
  durationSec: number | null;
  bitRate: number | null;
  sizeBytes: number;
  streams: StreamFacts[];
  /** Read by an image demuxer (a still or animated picture, not a video container). */
  image?: boolean;
}

/** How a video output was encoded, and why not on hardware when hardware was wanted. */
export interface EncodingChoice {
  /** The FFmpeg encoder that ran, e.g. "libx264" or "h264_nvenc". */
  encoder: string;
  /** "cpu" or the hardware device type the encoder ran on. */
  accel: "cpu" | "cuda" | "qsv";
  /** Set when accel was auto and no hardware encoder could be used. */
  fallbackReason: string | null;
}

export interface OutputFile {
  /** Absolute path. */
  path: string;
  /** Path inside the output's folder, "/"-separated (e.g. "720p/seg_00001.ts"). */
  relativePath: string;
  sizeBytes: number;
}

/**
 * What a finished output is, read back by probing the written files (never taken from the plan).
 * Multi-file outputs (hls, dash, thumbnails) list every file in `files`; `path` is then the master
 * playlist (hls), the manifest (dash) or the output's folder (thumbnails).
 */
export interface OutputFacts {
  name: string;
  kind: PlanOutputKind;
  path: string;
  /** Total bytes written for this output. */
  sizeBytes: number;
  /** Container short name: mp4, webm, mkv, mov, m4a, opus, mp3, flac, wav, hls, dash, jpg, png, webp, json. */
  container: string;
  durationSec: number | null;
  // What the job reports about the output, in the API's words (shared/src/media.ts): the node hands
  // these objects on as they are.
  video: VideoFacts | null;
  audio: AudioFacts | null;
  files?: OutputFile[];
  encoding?: EncodingChoice;
  thumbnails?: ThumbnailFacts[];
  /** Thumbnails with a sprite: the sheet, its tile size and the WebVTT storyboard pointing into it. */
  sprite?: {
    relativePath: string;
    storyboard: string;
    tileWidth: number;
    tileHeight: number;
    columns: number;
  };
  renditions?: RenditionFacts[];
  /**
   * dash outputs that share an HLS output's ladder: that output's name. Its folder holds the
   * segments (listed among its files); this output's files are the manifest alone.
   */
  segmentsFrom?: string;
  /**
   * Loudness normalization: the target, the input's integrated loudness, the static gain, and what
   * the written file measures (integrated loudness and true peak, read back), and whether the
   * true-peak limiter acted (it does where the gain alone would put peaks above the ceiling).
   */
  loudness?: LoudnessFacts;
  /** probe outputs: the input's facts in the API's words (also written as JSON to `path`). */
  probe?: ProbeFacts;
  /** analysis outputs: the measurement in the API's words (also written as JSON to `path`). */
  analysis?: AnalysisFacts;
  /** highlight_reel outputs: the input's segments used, in reel order. */
  segments?: HighlightSegment[];
  /** animation outputs: frames, rate and loop as written. */
  animation?: AnimationFacts;
  /** waveform outputs: the picture and peaks files, their resolution. */
  waveform?: WaveformFacts;
  /** video outputs with subtitle tracks: each, as read back from the file. */
  subtitleTracks?: SubtitleTrackFacts[];
  /** hls outputs with subtitles: the WebVTT renditions of the master playlist. */
  subtitleRenditions?: SubtitleRenditionFacts[];
  /** subtitles outputs: the track taken and the cues written. */
  subtitles?: SubtitleFacts;
}

/**
 * How far one output of a run has got. Every output has its own progress, measured against its own
 * expected duration (a trimmed output: its trim window), so a multi-output run reports each output
 * separately. Within a run an output's percent never decreases, and on success every output's
 * last tick has percent 100.
 */
export interface EngineProgress {
  /** The plan output this is about (PlanOutput.name). */
  output: string;
  /** Video frames written so far for this output (an HLS ladder: its slowest rendition; thumbnails: images). */
  frames: number;
  /** Media time of this output written so far, seconds, on the output's own timeline (a trim starts at 0). */
  outTimeSec: number;
  /** Duration this output will have, seconds; null when unknown (then percent is null: indeterminate). */
  durationSec: number | null;
  /** 0–100, never decreasing within a run, 100 once the run succeeded; null when indeterminate. */
  percent: number | null;
  /** Frames per second of wall time. */
  fps: number;
  /** Media seconds per wall second. */
  speed: number;
  /** Seconds left at the current speed; null when indeterminate. */
  etaSec: number | null;
}

export interface RunOptions {
  signal?: AbortSignal;
  /** Called with one output's progress at a time (several calls per tick for a multi-output plan). */
  onProgress?: (progress: EngineProgress) => void;
  /**
   * No-progress watchdog: a run that reads and writes nothing for this long is stopped with
   * STALLED (through FFmpeg's interrupt callback, so even blocked I/O stops). Default: off.
   */
  stallTimeoutMs?: number;
}

export interface RunResult {
  outputs: OutputFacts[];
  /** FFmpeg's warnings and errors during the run, where the engine collects them (native). */
  log?: EngineLog;
}

/** One line FFmpeg logged: "<component>: <message>", as libav formats it. */
export interface EngineLogLine {
  /** Wall clock, ms since the epoch. */
  at: number;
  level: "error" | "warning";
  message: string;
}

/** A run's log, bounded: the first and last lines are kept, `dropped` counts the ones between. */
export interface EngineLog {
  lines: EngineLogLine[];
  dropped: number;
}

export interface Capabilities {
  engine: EngineName;
  /** Library versions, e.g. { libavformat: "59.27.100" } or { ffmpeg: "5.1.4" }. */
  versions: Record<string, string>;
  /** Software encoders this engine can actually open. */
  encoders: string[];
  /** Hardware devices that opened (empty without a GPU). */
  hardware: string[];
  /** Hardware encoders that opened on their device, as "device:encoder" (e.g. "cuda:h264_nvenc"). */
  hardwareEncoders: string[];
  /** Why each hardware device type did not open, for the heartbeat and fallback reasons. */
  hardwareErrors: Record<string, string>;
  /** Plan output kinds this engine runs; others are rejected with UNSUPPORTED. */
  outputKinds: PlanOutputKind[];
  /** Analysis kinds this engine measures (outputs of kind "analysis"); others are rejected with UNSUPPORTED. */
  analysisKinds: AnalysisKind[];
  /** Whether several outputs share one decode (false: the engine decodes once per output). */
  sharedDecode: boolean;
}

export interface Engine {
  readonly name: EngineName;
  capabilities(): Promise<Capabilities>;
  probe(path: string, options?: { signal?: AbortSignal }): Promise<MediaFacts>;
  run(plan: Plan, options?: RunOptions): Promise<RunResult>;
  /** Releases threads and memory; the engine is unusable afterwards. */
  close(): Promise<void>;
}

export type EngineErrorCode =
  /** The input could not be opened or is not media FFmpeg understands. */
  | "INPUT_UNREADABLE"
  /** The input opened but has no stream the plan needs. */
  | "INPUT_NO_STREAMS"
  /** An encoder or container in the plan cannot be opened by this engine. */
  | "UNSUPPORTED"
  /** The run was stopped through its AbortSignal. */
  | "CANCELED"
  /** Decoding, filtering, encoding or muxing failed part-way. */
  | "ENGINE_FAILURE"
  /** The output could not be written. */
  | "OUTPUT_WRITE_FAILED"
  /** The no-progress watchdog stopped the run (RunOptions.stallTimeoutMs). */
  | "STALLED"
  /**
   * A written output failed its post-write check (probed duration far from the trim window of the
   * media actually decoded, or a stream missing that should be there); nothing is kept.
   */
  | "OUTPUT_INVALID"
  /**
   * An edit (composition, highlight reel) that the media contradicts (a trim past an input's end,
   * an image input that is audio): the message names the clip. Found before any encoding.
   */
  | "COMPOSITION_INVALID"
  /**
   * An output's window (its trim or an animation's start) starts where the input's media has
   * already ended, so the output would be empty; the message says where the media ends.
   */
  | "WINDOW_EMPTY";

export class EngineError extends Error {
  override readonly name = "EngineError";
  constructor(
    readonly code: EngineErrorCode,
    message: string,
    /** FFmpeg's own words (av_strerror text or log line), for the job's error detail. */
    readonly detail?: string,
    options?: { cause?: unknown; log?: EngineLog },
  ) {
    super(message, options);
    this.log = options?.log;
  }

  /** FFmpeg's warnings and errors during the failed run, where the engine collects them. */
  log: EngineLog | undefined;

  /** Whether running the same plan again could succeed (a crash could; a bad input won't). */
  get retryable(): boolean {
    return this.code === "ENGINE_FAILURE" || this.code === "STALLED";
  }
}

export const engineErrorCodes: readonly EngineErrorCode[] = [
  "INPUT_UNREADABLE",
  "INPUT_NO_STREAMS",
  "UNSUPPORTED",
  "CANCELED",
  "ENGINE_FAILURE",
  "OUTPUT_WRITE_FAILED",
  "STALLED",
  "OUTPUT_INVALID",
  "COMPOSITION_INVALID",
  "WINDOW_EMPTY",
];

export function isEngineError(error: unknown, code?: EngineErrorCode): error is EngineError {
  return error instanceof EngineError && (code === undefined || error.code === code);
}
