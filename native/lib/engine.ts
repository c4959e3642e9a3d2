/**
 * The Engine contract: what a processing node may ask of FFmpeg.
 *
 * Two implementations sit behind it: `native` (our node-addon-api binding over libav*) and `wasm`
 * (ffmpeg.wasm core in a worker thread). Callers hand over a Plan made only of validated, typed
 * values; neither engine accepts raw FFmpeg arguments or filter strings from anywhere.
 */

export type EngineName = "native" | "wasm";

export type VideoCodec = "h264";
export type AudioCodec = "aac";
export type Container = "mp4";
export type X264Preset =
  | "ultrafast"
  | "superfast"
  | "veryfast"
  | "faster"
  | "fast"
  | "medium"
  | "slow"
  | "slower"
  | "veryslow";

export interface VideoEncodeOptions {
  codec: VideoCodec;
  /** Output height in pixels (even). Width follows the input's display aspect ratio, rounded to even. */
  height: number;
  /** Constant rate factor (0–51; lower is better quality). */
  crf: number;
  preset: X264Preset;
}

export interface AudioEncodeOptions {
  codec: AudioCodec;
  bitrateKbps: number;
}

export interface PlanOutput {
  /** The output's name in the job spec; progress and results are keyed by it. */
  name: string;
  /** Absolute path of the file to write, always inside the job's own temp folder. */
  path: string;
  container: Container;
  /** null drops video. */
  video: VideoEncodeOptions | null;
  /** null drops audio; an input without audio simply yields no audio stream. */
  audio: AudioEncodeOptions | null;
}

export interface Plan {
  /** Absolute path of the input, always inside the job's own temp folder. */
  inputPath: string;
  outputs: PlanOutput[];
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
}

export interface MediaFacts {
  /** libavformat's short name for the container, e.g. "mov,mp4,m4a,3gp,3g2,mj2". */
  formatName: string;
  durationSec: number | null;
  bitRate: number | null;
  sizeBytes: number;
  streams: StreamFacts[];
}

/** What a finished output is, read back by probing the written file (never taken from the plan). */
export interface OutputFacts {
  name: string;
  path: string;
  sizeBytes: number;
  container: string;
  durationSec: number | null;
  video: { codec: string; width: number; height: number; fps: number | null } | null;
  audio: { codec: string; sampleRate: number; channels: number } | null;
}

export interface EngineProgress {
  /** Frames written so far (video), summed over outputs for a multi-output plan's first output. */
  frames: number;
  /** Media time written so far, seconds. */
  outTimeSec: number;
  /** Duration the run will produce, seconds; null when unknown (then percent is null: indeterminate). */
  durationSec: number | null;
  /** 0–100, never decreasing within a run; null when indeterminate. */
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
  onProgress?: (progress: EngineProgress) => void;
}

export interface RunResult {
  outputs: OutputFacts[];
}

export interface Capabilities {
  engine: EngineName;
  /** Library versions, e.g. { libavformat: "59.27.100" } or { ffmpeg: "5.1.4" }. */
  versions: Record<string, string>;
  /** Encoders this engine can actually open (software ones for now). */
  encoders: string[];
  /** Hardware devices that opened (empty without a GPU). */
  hardware: string[];
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
  | "OUTPUT_WRITE_FAILED";

export class EngineError extends Error {
  override readonly name = "EngineError";
  constructor(
    readonly code: EngineErrorCode,
    message: string,
    /** FFmpeg's own words (av_strerror text or log line), for the job's error detail. */
    readonly detail?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** Whether running the same plan again could succeed (a crash could; a bad input won't). */
  get retryable(): boolean {
    return this.code === "ENGINE_FAILURE";
  }
}

export function isEngineError(error: unknown, code?: EngineErrorCode): error is EngineError {
  return error instanceof EngineError && (code === undefined || error.code === code);
}
