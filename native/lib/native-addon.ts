import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { StreamFacts } from "./engine";

/**
 * The raw binding in native/src/addon.cc. Values are plain data; errors it rejects with carry
 * `code` (an EngineErrorCode) and `detail` (FFmpeg's own words). Option validation there is a
 * second line of defence only: callers pass an already-validated Plan.
 */
export interface NativeAddon {
  /** `deep`: also read the first video packets (variable frame rate, animated images). */
  probe(path: string, deep?: boolean): Promise<NativeMediaFacts>;
  transcode(
    options: NativeTranscodeOptions,
    onProgress?: (tick: NativeProgressTick) => void,
  ): NativeTranscodeJob;
  capabilities(): Promise<NativeCapabilities>;
  /** Renders a composition's filter graph (native/src/av/composition.h). */
  compose(
    options: NativeComposeOptions,
    onProgress?: (tick: NativeProgressTick) => void,
  ): { promise: Promise<NativeComposeResult>; cancel(): void };
  /** Returns and clears the warnings and errors libav logged in this process since the last call. */
  takeLog(): { lines: { at: number; level: "error" | "warning"; message: string }[]; dropped: number };
}

/** compose()'s options: the graph of composition-graph.ts and the encoders, in FFmpeg's names. */
export interface NativeComposeOptions {
  instances: { path: string; video: boolean; audio: boolean; seekSec: number; endSec: number }[];
  nodes: { id: string; filter: string; options: [string, string][]; inputs: string[] }[];
  videoOut: string;
  audioOut: string | null;
  path: string;
  container: string;
  video: { encoder: string; crf: number; bitrateKbps: number; preset: string; speed: number };
  audio: { encoder: string; bitrateKbps: number } | null;
  channels: number;
  sampleRate: number;
  fpsNum: number;
  fpsDen: number;
  durationSec: number;
  stallTimeoutMs: number;
}

export interface NativeComposeResult {
  videoEncoder: string;
  videoSec: number;
  frames: number;
}

/** The addon reports streams in exactly the Engine contract's shape. */
export type NativeStreamFacts = StreamFacts;

export interface NativeMediaFacts {
  formatName: string;
  durationSec: number | null;
  bitRate: number | null;
  /** avio_size(); negative when the size is unknown. */
  sizeBytes: number;
  streams: NativeStreamFacts[];
  image?: boolean;
}

export interface NativeVideoOptions {
  /** An FFmpeg encoder name from a fixed set (libx264, libx265, libvpx-vp9, libaom-av1, h264_nvenc, ...). */
  encoder: string;
  /** "" for software; the device a hardware encoder runs on. */
  hwDevice: "" | "cuda" | "qsv";
  /** 0: unbounded. */
  maxWidth: number;
  maxHeight: number;
  /** null: bitrate mode. */
  crf: number | null;
  bitrateKbps: number | null;
  /** x264's preset name, and its place in the vocabulary's list (0 fastest .. 8 slowest) for other encoders. */
  preset: string;
  speed: number;
  /** 0/1: keep the input's rate. */
  fpsNum: number;
  fpsDen: number;
  crop: { x: number; y: number; width: number; height: number } | null;
  autoRotate: boolean;
  watermark?: {
    imagePath: string;
    /** 0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right, 4 centre. */
    corner: number;
    marginPx: number;
    opacity: number;
    /** 0: the image's own size. */
    widthFraction: number;
  } | null;
  /** > 0: a keyframe at each multiple (aligned HLS segments). */
  keyframeIntervalSec: number;
  /** GIF: a palette computed for the clip (needs fpsNum and trimEndSec). */
  palette?: boolean;
  /** libwebp_anim: lossy quality 0–100. */
  quality?: number;
  /** The input video stream to take (an index in the probe); absent: the best video stream. */
  streamIndex?: number;
  /** Burned subtitles: an ASS script we wrote (native/lib/subtitles.ts) and the fonts' folder. */
  subtitles?: { assPath: string; fontsDir: string } | null;
}

/** A subtitle track of an output: cues on the output's timeline, each its codec's payload text. */
export interface NativeSubtitleTrack {
  codec: "mov_text" | "webvtt" | "subrip";
  /** ISO 639-2, or "" (untagged). */
  language: string;
  title: string;
  isDefault: boolean;
  cues: { startSec: number; endSec: number; text: string }[];
}

export type NativeAudioOptions =
  | { copy: true }
  | {
      copy?: false;
      encoder: string;
      /** 0: the encoder's default. */
      bitrateKbps: number;
      channels: number;
      sampleRate: number;
      /** 0: no normalization; else a negative LUFS target. */
      loudnessTargetLufs: number;
      /** The input stream to take (an index in the probe); absent: the best audio stream. */
      streamIndex?: number;
      /** Further input streams kept as further output tracks, encoded alike (needs streamIndex). */
      moreStreamIndices?: number[];
      /** streamIndex and moreStreamIndices mixed (averaged) into one output track instead. */
      mix?: boolean;
    };

export interface NativeOutputOptions {
  path: string;
  /** libavformat muxer name. */
  container: string;
  trimStartSec: number;
  trimEndSec: number | null;
  hlsSegmentSec?: number;
  hlsSegmentPattern?: string;
  /** Default "mpegts"; "fmp4": CMAF (init.mp4 + .m4s), on the shared timeline at timelineOffsetSec. */
  hlsSegmentType?: "mpegts" | "fmp4";
  timelineOffsetSec?: number;
  /** gif/webp muxers: loop forever (true) or play once (false). */
  loop?: boolean;
  video: NativeVideoOptions | null;
  audio: NativeAudioOptions | null;
  subtitleTracks?: NativeSubtitleTrack[];
}

export interface NativeThumbnailOptions {
  pathPrefix: string;
  extension: "jpg" | "png" | "webp";
  encoder: "mjpeg" | "png" | "libwebp";
  maxWidth: number;
  maxHeight: number;
  atSec: number[];
  everySec: number;
  count: number;
  /** 0: no sprite sheet. */
  spriteColumns?: number;
  /** One still per scene at its most representative frame (then atSec/everySec/count are unused). */
  scenes?: boolean;
  sceneThreshold?: number;
  /** The input video stream the stills come from; absent: the best video stream. */
  streamIndex?: number;
}

/** One analysis in the shared decode; numbers its kind does not use are left out. */
export interface NativeAnalysisOptions {
  kind:
    | "loudness"
    | "silence"
    | "scenes"
    | "black"
    | "freeze"
    | "tempo"
    | "key"
    | "fingerprint"
    | "highlights"
    | "waveform";
  noiseDb?: number;
  minDurationSec?: number;
  threshold?: number;
  pixelThreshold?: number;
  pictureRatio?: number;
  minBpm?: number;
  maxBpm?: number;
  audioSec?: number;
  frameIntervalSec?: number;
  /** waveform: the resolution asked for (one of them; the buckets are finer). */
  points?: number;
  pointsPerSec?: number;
}

/** What one analysis measured; only its kind's fields are set. Pairs are flattened [t, v, t, v, …]. */
export interface NativeAnalysisReport {
  /** Media analysed: the later end of the streams it read. */
  durationSec: number;
  /** Why a value is missing (silence, no beat, too short). */
  reason?: string;
  integratedLufs?: number;
  loudnessRangeLu?: number;
  truePeakDbtp?: number | null;
  momentary?: number[];
  /** silence, black, freeze: [start, end, start, end, …]. */
  intervals?: number[];
  /** scenes, highlights: [time, score, …]. */
  cuts?: number[];
  frames?: number;
  bpm?: number | null;
  confidence?: number;
  beatsSec?: number[];
  tonic?: number;
  minor?: boolean;
  chroma?: number[];
  chromaprint?: string | null;
  chromaprintDurationSec?: number;
  frameHashes?: { timeSec: number; hash: string }[];
  featureStepSec?: number;
  featureLoudness?: number[];
  featureRmsDb?: number[];
  featureMotion?: number[];
  /** waveform: the mono down-mix's min and max per bucket of bucketSec from startSec. */
  bucketSec?: number;
  startSec?: number;
  sampleRate?: number;
  bucketMin?: Float32Array;
  bucketMax?: Float32Array;
}

export interface NativeTranscodeOptions {
  inputPath: string;
  outputs: NativeOutputOptions[];
  thumbnails: NativeThumbnailOptions[];
  analyses?: NativeAnalysisOptions[];
  /** Input subtitle streams written as WebVTT files. */
  subtitles?: { path: string; streamIndex: number }[];
  stallTimeoutMs?: number;
}

export interface ThumbnailsWritten {
  files: string[];
  timesSec: number[];
  sprite?: string;
  tileWidth?: number;
  tileHeight?: number;
}

export interface NativeTranscodeResult {
  outputs: {
    videoEncoder?: string;
    loudnessInputLufs?: number;
    gainDb?: number;
    loudnessOutputLufs?: number;
    truePeakDbtp?: number;
    limited?: boolean;
    /** The trim window within the media actually decoded; absent when nothing was. */
    expectedDurationSec?: number;
    expectsVideo?: boolean;
    expectsAudio?: boolean;
    /** Video packets written. */
    videoFrames?: number;
  }[];
  thumbnails: ThumbnailsWritten[];
  analyses?: NativeAnalysisReport[];
  /** Per subtitle extraction: the cues written. */
  subtitles?: { cues: number }[];
}

/** How far one native output or thumbnail set has got. */
export interface NativeOutputProgress {
  /** Video packets written (thumbnail sets: images written). */
  frames: number;
  /** Media time written, on the output's own (trimmed) timeline. */
  outTimeSec: number;
  /** The duration this output will have (its trim window); null when unknown. */
  durationSec: number | null;
}

/** Latest state of a run; ~5 a second at most. Entries follow options.outputs / options.thumbnails. */
export interface NativeProgressTick {
  elapsedSec: number;
  outputs: NativeOutputProgress[];
  thumbnails: NativeOutputProgress[];
  analyses?: NativeOutputProgress[];
  subtitles?: NativeOutputProgress[];
}

export interface NativeTranscodeJob {
  /** Settles once the run has stopped and every libav object is freed. */
  promise: Promise<NativeTranscodeResult>;
  /** Asks the run to stop; the promise then rejects with code CANCELED (idempotent). */
  cancel(): void;
}

export interface NativeCapabilities {
  versions: Record<string, string>;
  encoders: string[];
  hardware: string[];
  hardwareEncoders: string[];
  hardwareErrors: Record<string, string>;
}

/**
 * Where the addon is looked for; FRAMEWIRE_NATIVE_ADDON overrides it (e.g. an ASan build). From
 * source this module is native/lib/native-addon.ts and node-gyp's output is native/build/Release;
 * in the compiled build it is inside a bundle in dist/, where scripts/build.ts copies the addon.
 */
export function nativeAddonPath(): string {
  const override = process.env.FRAMEWIRE_NATIVE_ADDON;
  if (override) return override;
  const here = dirname(fileURLToPath(import.meta.url));
  const compiled = !import.meta.url.endsWith(".ts");
  return compiled
    ? join(here, "framewire_native.node")
    : join(here, "..", "build", "Release", "framewire_native.node");
}

let cached: { addon: NativeAddon } | { error: string } | undefined;

/** Loads the addon once per process; on failure says why, in words an operator can act on. */
export function loadNativeAddon(): { addon: NativeAddon } | { error: string } {
  cached ??= tryLoad(nativeAddonPath());
  return cached;
}

function tryLoad(path: string): { addon: NativeAddon } | { error: string } {
  if (!existsSync(path)) {
    return { error: `the native addon is not built (${path} is missing): run \`npm run build -w native\`` };
  }
  let loaded: unknown;
  try {
    loaded = createRequire(import.meta.url)(path);
  } catch (error) {
    return { error: explainLoadFailure(path, error) };
  }
  const addon = loaded as Partial<NativeAddon> | null;
  if (
    typeof addon?.probe !== "function" ||
    typeof addon.transcode !== "function" ||
    typeof addon.capabilities !== "function" ||
    typeof addon.compose !== "function"
  ) {
    return {
      error: `${path} loaded but lacks probe/transcode/capabilities: a stale build? run \`npm run build -w native\``,
    };
  }
  return { addon: addon as NativeAddon };
}

function explainLoadFailure(path: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const missingLib = /(lib[\w.+-]+\.so[\w.]*): cannot open shared object file/.exec(message);
  if (missingLib) {
    return (
      `the native addon needs ${missingLib[1]}, which is not installed: install the FFmpeg shared libraries ` +
      `(Debian: apt-get install libavformat59 libavcodec59 libavfilter8 libswscale6 libswresample4) or rebuild ` +
      `against the installed ones with \`npm run build -w native\` (${message})`
    );
  }
  if (
    /NODE_MODULE_VERSION|compiled against a different Node\.js version|Module did not self-register/.test(
      message,
    )
  ) {
    return `the native addon was built for another Node.js version (ABI mismatch): run \`npm run build -w native\` (${message})`;
  }
  if (/undefined symbol/.test(message)) {
    return (
      `the native addon does not match the installed FFmpeg libraries (undefined symbol): ` +
      `run \`npm run build -w native\` (${message})`
    );
  }
  if (/invalid ELF header|wrong ELF class|not a dynamic executable|Exec format error/.test(message)) {
    return `the native addon was built for another platform or CPU: run \`npm run build -w native\` here (${message})`;
  }
  if (/libasan|AddressSanitizer|ASan runtime/i.test(message)) {
    return `the native addon is an AddressSanitizer build: run node with LD_PRELOAD=$(gcc -print-file-name=libasan.so) (${message})`;
  }
  return `could not load the native addon at ${path}: ${message}`;
}
