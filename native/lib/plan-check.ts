/**
 * Validation of a Plan against the contract, shared by both engines. Plans are built from a
 * validated job spec; this is the engine's own last line before a number reaches FFmpeg, so it
 * trusts nothing and names the field it rejects.
 */
import {
  type AudioCodec,
  type AudioEncodeOptions,
  EngineError,
  type Plan,
  type PlanOutput,
  type Trim,
  type VideoCodec,
  type VideoContainer,
  type VideoEncodeOptions,
} from "./engine";

export const PRESETS = [
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

/** Which video codecs and audio codecs each video container carries (what players accept). */
export const CONTAINER_CODECS: Record<VideoContainer, { video: VideoCodec[]; audio: AudioCodec[] }> = {
  mp4: { video: ["h264", "h265", "vp9", "av1"], audio: ["aac", "mp3", "opus"] },
  mov: { video: ["h264", "h265"], audio: ["aac", "mp3"] },
  mkv: { video: ["h264", "h265", "vp9", "av1"], audio: ["aac", "opus", "mp3", "flac"] },
  webm: { video: ["vp9", "av1"], audio: ["opus"] },
};

/** libavformat muxer per video container. */
export const VIDEO_MUXERS: Record<VideoContainer, string> = {
  mp4: "mp4",
  mov: "mov",
  mkv: "matroska",
  webm: "webm",
};

/** Audio-only outputs: the encoder, muxer and file extension follow the codec. */
export const AUDIO_FORMATS: Record<AudioCodec, { encoder: string; muxer: string; extension: string }> = {
  aac: { encoder: "aac", muxer: "mp4", extension: "m4a" },
  opus: { encoder: "libopus", muxer: "opus", extension: "opus" },
  mp3: { encoder: "libmp3lame", muxer: "mp3", extension: "mp3" },
  flac: { encoder: "flac", muxer: "flac", extension: "flac" },
  wav: { encoder: "pcm_s16le", muxer: "wav", extension: "wav" },
};

export const IMAGE_ENCODERS = { jpg: "mjpeg", png: "png", webp: "libwebp" } as const;

/** Software encoders per video codec, best first. */
export const SOFTWARE_VIDEO_ENCODERS: Record<VideoCodec, string[]> = {
  h264: ["libx264"],
  h265: ["libx265"],
  vp9: ["libvpx-vp9"],
  av1: ["libaom-av1", "libsvtav1"],
};

export const MAX_OUTPUTS = 16;

/** Watermark positions, in the order the addon numbers them. */
export const WATERMARK_CORNERS = ["top-left", "top-right", "bottom-left", "bottom-right", "center"] as const;

function bad(field: string, rule: string, value: unknown): EngineError {
  return new EngineError("UNSUPPORTED", `${field} must be ${rule}, got ${JSON.stringify(value)}`);
}

function int(field: string, value: unknown, min: number, max: number): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw bad(field, `an integer ${min}–${max}`, value);
  }
}

function num(field: string, value: unknown, min: number, max: number): void {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    throw bad(field, `a number ${min}–${max}`, value);
  }
}

function even(field: string, value: number): void {
  if (value % 2 !== 0) throw bad(field, "even", value);
}

function optionalInt(field: string, value: unknown, min: number, max: number): void {
  if (value !== null) int(field, value, min, max);
}

function oneOf<T>(field: string, value: unknown, allowed: readonly T[]): void {
  if (!allowed.includes(value as T)) throw bad(field, `one of ${allowed.join(", ")}`, value);
}

function checkTrim(field: string, trim: Trim | null): void {
  if (trim === null) return;
  num(`${field}.startSec`, trim.startSec, 0, 1e7);
  if (trim.endSec !== null) {
    num(`${field}.endSec`, trim.endSec, 0.001, 1e7);
    if (trim.endSec <= trim.startSec) throw bad(`${field}.endSec`, "after startSec", trim.endSec);
  }
}

export function checkVideo(field: string, video: VideoEncodeOptions): void {
  oneOf(`${field}.codec`, video.codec, Object.keys(SOFTWARE_VIDEO_ENCODERS));
  optionalInt(`${field}.maxWidth`, video.maxWidth, 16, 8192);
  optionalInt(`${field}.maxHeight`, video.maxHeight, 16, 8192);
  if (video.maxWidth !== null) even(`${field}.maxWidth`, video.maxWidth);
  if (video.maxHeight !== null) even(`${field}.maxHeight`, video.maxHeight);
  if ((video.crf === null) === (video.bitrateKbps === null)) {
    throw new EngineError("UNSUPPORTED", `${field} needs exactly one of crf and bitrateKbps`);
  }
  const maxCrf = video.codec === "h264" || video.codec === "h265" ? 51 : 63;
  optionalInt(`${field}.crf`, video.crf, 0, maxCrf);
  optionalInt(`${field}.bitrateKbps`, video.bitrateKbps, 16, 200_000);
  oneOf(`${field}.preset`, video.preset, PRESETS);
  if (video.fps !== null) num(`${field}.fps`, video.fps, 1, 240);
  if (video.crop !== null) {
    int(`${field}.crop.x`, video.crop.x, 0, 16384);
    int(`${field}.crop.y`, video.crop.y, 0, 16384);
    int(`${field}.crop.width`, video.crop.width, 16, 16384);
    int(`${field}.crop.height`, video.crop.height, 16, 16384);
    even(`${field}.crop.width`, video.crop.width);
    even(`${field}.crop.height`, video.crop.height);
  }
  if (video.watermark) {
    const w = video.watermark;
    if (typeof w.imagePath !== "string" || !w.imagePath.startsWith("/")) {
      throw bad(`${field}.watermark.imagePath`, "an absolute path", w.imagePath);
    }
    oneOf(`${field}.watermark.position`, w.position, WATERMARK_CORNERS);
    int(`${field}.watermark.marginPx`, w.marginPx, 0, 4096);
    num(`${field}.watermark.opacity`, w.opacity, 0, 1);
    if (w.widthFraction !== null) num(`${field}.watermark.widthFraction`, w.widthFraction, 0.01, 1);
  }
}

export function checkAudio(field: string, audio: AudioEncodeOptions): void {
  oneOf(`${field}.codec`, audio.codec, Object.keys(AUDIO_FORMATS));
  optionalInt(`${field}.bitrateKbps`, audio.bitrateKbps, 8, 512);
  optionalInt(`${field}.channels`, audio.channels, 1, 8);
  if (audio.sampleRate !== null) oneOf(`${field}.sampleRate`, audio.sampleRate, SAMPLE_RATES);
  if (audio.loudnessTargetLufs !== null)
    num(`${field}.loudnessTargetLufs`, audio.loudnessTargetLufs, -70, -5);
}

export const SAMPLE_RATES = [8000, 16000, 22050, 24000, 32000, 44100, 48000] as const;

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

function checkOutput(output: PlanOutput, field: string): void {
  if (typeof output.name !== "string" || !NAME.test(output.name))
    throw bad(`${field}.name`, "a safe name", output.name);
  switch (output.kind) {
    case "video": {
      oneOf(`${field}.container`, output.container, Object.keys(CONTAINER_CODECS));
      const allowed = CONTAINER_CODECS[output.container];
      if (output.video === null && (output.audio === null || output.audio === undefined)) {
        throw new EngineError(
          "UNSUPPORTED",
          `${field} drops both video and audio; there is nothing to write`,
        );
      }
      if (output.video) {
        checkVideo(`${field}.video`, output.video);
        if (!allowed.video.includes(output.video.codec)) {
          throw bad(
            `${field}.video.codec`,
            `one of ${allowed.video.join(", ")} in ${output.container}`,
            output.video.codec,
          );
        }
      }
      if (output.audio !== null && output.audio !== "copy") {
        checkAudio(`${field}.audio`, output.audio);
        if (!allowed.audio.includes(output.audio.codec)) {
          throw bad(
            `${field}.audio.codec`,
            `one of ${allowed.audio.join(", ")} in ${output.container}`,
            output.audio.codec,
          );
        }
      }
      checkTrim(`${field}.trim`, output.trim);
      return;
    }
    case "audio":
      checkAudio(`${field}.audio`, output.audio);
      checkTrim(`${field}.trim`, output.trim);
      return;
    case "thumbnails": {
      oneOf(`${field}.format`, output.format, Object.keys(IMAGE_ENCODERS));
      optionalInt(`${field}.maxWidth`, output.maxWidth, 16, 8192);
      optionalInt(`${field}.maxHeight`, output.maxHeight, 16, 8192);
      const select = output.select;
      if (select.mode === "at") {
        if (!Array.isArray(select.atSec) || select.atSec.length < 1 || select.atSec.length > 100) {
          throw bad(`${field}.select.atSec`, "1–100 times", select.atSec);
        }
        for (const [i, t] of select.atSec.entries()) num(`${field}.select.atSec[${i}]`, t, 0, 1e7);
      } else if (select.mode === "every") {
        num(`${field}.select.everySec`, select.everySec, 0.5, 86400);
      } else if (select.mode === "count") {
        int(`${field}.select.count`, select.count, 1, 100);
      } else {
        throw bad(`${field}.select.mode`, "at, every or count", (select as { mode: unknown }).mode);
      }
      if (output.sprite) int(`${field}.sprite.columns`, output.sprite.columns, 1, 100);
      return;
    }
    case "hls": {
      num(`${field}.segmentSec`, output.segmentSec, 1, 30);
      oneOf(`${field}.preset`, output.preset, PRESETS);
      if (!Array.isArray(output.renditions) || output.renditions.length < 1 || output.renditions.length > 8) {
        throw bad(`${field}.renditions`, "1–8 renditions", output.renditions?.length);
      }
      const names = new Set<string>();
      output.renditions.forEach((r, i) => {
        const at = `${field}.renditions[${i}]`;
        if (!NAME.test(r.name) || names.has(r.name)) throw bad(`${at}.name`, "a unique safe name", r.name);
        names.add(r.name);
        int(`${at}.maxHeight`, r.maxHeight, 16, 4320);
        even(`${at}.maxHeight`, r.maxHeight);
        int(`${at}.videoBitrateKbps`, r.videoBitrateKbps, 16, 100_000);
        int(`${at}.audioBitrateKbps`, r.audioBitrateKbps, 16, 512);
      });
      return;
    }
    case "probe":
      return;
    default:
      throw bad(
        `${field}.kind`,
        "video, audio, thumbnails, hls or probe",
        (output as { kind: unknown }).kind,
      );
  }
}

/** Throws EngineError("UNSUPPORTED") naming the first field that breaks the contract. */
export function checkPlan(plan: Plan): void {
  if (typeof plan.inputPath !== "string" || plan.inputPath === "")
    throw bad("plan.inputPath", "a path", plan.inputPath);
  if (!Array.isArray(plan.outputs) || plan.outputs.length < 1 || plan.outputs.length > MAX_OUTPUTS) {
    throw bad("plan.outputs", `1–${MAX_OUTPUTS} outputs`, plan.outputs?.length);
  }
  if (plan.accel !== undefined) oneOf("plan.accel", plan.accel, ["auto", "cpu", "gpu"]);
  const names = new Set<string>();
  plan.outputs.forEach((output, i) => {
    checkOutput(output, `plan.outputs[${i}]`);
    if (names.has(output.name)) throw bad(`plan.outputs[${i}].name`, "unique", output.name);
    names.add(output.name);
  });
}
