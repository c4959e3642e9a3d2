import { join } from "node:path";
import type {
  AudioEncodeOptions,
  AudioPlanOutput,
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
