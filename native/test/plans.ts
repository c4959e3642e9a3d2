import { symlink } from "node:fs/promises";
import { join } from "node:path";
import { analysisDefaults as d, subtitleStyleDefaults } from "@framewire/shared/media";
import type {
  AnalysisOptions,
  AnalysisPlanOutput,
  AnimationPlanOutput,
  AudioEncodeOptions,
  AudioPlanOutput,
  SubtitleBurnStyle,
  ThumbnailsPlanOutput,
  VideoEncodeOptions,
  VideoPlanOutput,
} from "../lib/engine";

/** Plan-output builders for tests: small, fast defaults, any field overridable. */
export function h264(overrides: Partial<VideoEncodeOptions> = {}): VideoEncodeOptions {
  return {
    codec: "h264",
    maxWidth: null,
    maxHeight: 120,
    crf: 30,
    bitrateKbps: null,
    preset: "ultrafast",
    fps: null,
    crop: null,
    ...overrides,
  };
}

export function aac(overrides: Partial<AudioEncodeOptions> = {}): AudioEncodeOptions {
  return {
    codec: "aac",
    bitrateKbps: 64,
    channels: null,
    sampleRate: null,
    loudnessTargetLufs: null,
    ...overrides,
  };
}

export function videoOut(
  dir: string,
  name: string,
  overrides: Partial<VideoPlanOutput> = {},
): VideoPlanOutput {
  const container = overrides.container ?? "mp4";
  return {
    kind: "video",
    name,
    path: join(dir, `${name}.${container}`),
    container,
    video: h264(),
    audio: aac(),
    trim: null,
    ...overrides,
  };
}

export function audioOut(
  dir: string,
  name: string,
  audio: Partial<AudioEncodeOptions> = {},
): AudioPlanOutput {
  const options = aac(audio);
  const ext = { aac: "m4a", opus: "opus", mp3: "mp3", flac: "flac", wav: "wav" }[options.codec];
  return { kind: "audio", name, path: join(dir, `${name}.${ext}`), audio: options, trim: null };
}

export function thumbsOut(
  dir: string,
  name: string,
  overrides: Partial<ThumbnailsPlanOutput> = {},
): ThumbnailsPlanOutput {
  return {
    kind: "thumbnails",
    name,
    dir: join(dir, name),
    format: "jpg",
    maxWidth: null,
    maxHeight: 90,
    select: { mode: "every", everySec: 1 },
    ...overrides,
  };
}

/** Each analysis kind with the contract's default options. */
export const defaultAnalysis = {
  loudness: { kind: "loudness", momentaryPoints: d.momentaryPoints },
  silence: { kind: "silence", noiseDb: d.silenceNoiseDb, minDurationSec: d.silenceMinSec },
  scenes: { kind: "scenes", threshold: d.sceneThreshold },
  black: {
    kind: "black",
    minDurationSec: d.blackMinSec,
    pixelThreshold: d.blackPixelThreshold,
    pictureRatio: d.blackPictureRatio,
  },
  freeze: { kind: "freeze", noiseDb: d.freezeNoiseDb, minDurationSec: d.freezeMinSec },
  tempo: { kind: "tempo", minBpm: d.minBpm, maxBpm: d.maxBpm },
  key: { kind: "key" },
  fingerprint: { kind: "fingerprint", audioSec: d.fingerprintSec, frameIntervalSec: d.frameHashIntervalSec },
  highlights: {
    kind: "highlights",
    count: d.highlightCount,
    minSec: d.highlightMinSec,
    maxSec: d.highlightMaxSec,
    totalSec: null,
  },
} as const satisfies Record<AnalysisOptions["kind"], AnalysisOptions>;

export function analysisOut<K extends AnalysisOptions["kind"]>(
  dir: string,
  name: string,
  kind: K,
  overrides: Partial<Extract<AnalysisOptions, { kind: K }>> = {},
): AnalysisPlanOutput {
  return {
    kind: "analysis",
    name,
    path: join(dir, `${name}.json`),
    analysis: { ...defaultAnalysis[kind], ...overrides } as AnalysisOptions,
  };
}

/** A burn style: the product's defaults (what a job that names none gets), any field overridable. */
export function burnStyle(overrides: Partial<SubtitleBurnStyle> = {}): SubtitleBurnStyle {
  return { ...subtitleStyleDefaults, background: null, ...overrides };
}

/** A 2 s animated preview from 1 s at 10 fps, at its source size unless told. */
export function animation(
  name: string,
  dir: string,
  options: Partial<AnimationPlanOutput>,
): AnimationPlanOutput {
  const format = options.format ?? "webp";
  return {
    kind: "animation",
    name,
    path: join(dir, `${name}.${format}`),
    format,
    startSec: 1,
    durationSec: 2,
    fps: 10,
    maxWidth: null,
    maxHeight: null,
    loop: true,
    ...options,
  };
}

/**
 * A GIF of the first `durationSec` at 25 fps, written through a link to /dev/full: every write
 * fails (ENOSPC), and removing the partial output removes only the link.
 */
export async function gifOnFullDisk(dir: string, durationSec: number): Promise<AnimationPlanOutput> {
  const path = join(dir, "nospace.gif");
  await symlink("/dev/full", path);
  return animation("nospace", dir, { format: "gif", path, startSec: 0, durationSec, fps: 25 });
}
