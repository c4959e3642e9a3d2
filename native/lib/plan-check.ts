/**
 * Validation of a Plan against the contract, shared by both engines. Plans are built from a
 * validated job spec; this is the engine's own last line before a number reaches FFmpeg, so it
 * trusts nothing and names the field it rejects.
 */
import {
  accelModes,
  analysisKinds,
  animationFormats,
  compositionLimits,
  containerCodecs,
  fontNames,
  hexColorPattern,
  imageFormats,
  inputNamePattern,
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
  videoCodecs,
  videoContainers,
  watermarkPositions,
  waveformImageFormats,
} from "@framewire/shared/media";
import type { CompositionPlanOutput, HighlightReelPlanOutput } from "./composition-plan";
import {
  type AnalysisOptions,
  type AudioCodec,
  type AudioEncodeOptions,
  EngineError,
  type Plan,
  type PlanOutput,
  type SubtitleUsePlan,
  type TrackChoice,
  type Trim,
  type VideoCodec,
  type VideoContainer,
  type VideoEncodeOptions,
} from "./engine";
import { sameLadder } from "./ladder-layout";

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

/** Watermark positions, in the order the addon numbers them. */
export const WATERMARK_CORNERS = watermarkPositions;

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

function oneOf<T>(field: string, value: unknown, allowed: readonly T[]): void {
  if (!allowed.includes(value as T)) throw bad(field, `one of ${allowed.join(", ")}`, value);
}

type Range = { readonly min: number; readonly max: number };
const within = (field: string, value: unknown, range: Range) => num(field, value, range.min, range.max);
const intWithin = (field: string, value: unknown, range: Range) => int(field, value, range.min, range.max);
const dimension = (field: string, value: number | null) => {
  if (value === null) return;
  intWithin(field, value, limits.dimension);
  even(field, value);
};

function checkTrim(field: string, trim: Trim | null): void {
  if (trim === null) return;
  within(`${field}.startSec`, trim.startSec, limits.timeSec);
  if (trim.endSec !== null) {
    within(`${field}.endSec`, trim.endSec, limits.timeSec);
    if (trim.endSec <= trim.startSec) throw bad(`${field}.endSec`, "after startSec", trim.endSec);
  }
}

export function checkVideo(field: string, video: VideoEncodeOptions): void {
  oneOf(`${field}.codec`, video.codec, videoCodecs);
  dimension(`${field}.maxWidth`, video.maxWidth);
  dimension(`${field}.maxHeight`, video.maxHeight);
  if ((video.crf === null) === (video.bitrateKbps === null)) {
    throw new EngineError("UNSUPPORTED", `${field} needs exactly one of crf and bitrateKbps`);
  }
  if (video.crf !== null) int(`${field}.crf`, video.crf, limits.crf.min, maxCrf[video.codec]);
  if (video.bitrateKbps !== null)
    intWithin(`${field}.bitrateKbps`, video.bitrateKbps, limits.videoBitrateKbps);
  oneOf(`${field}.preset`, video.preset, presets);
  if (video.fps !== null) within(`${field}.fps`, video.fps, limits.fps);
  if (video.crop !== null) {
    intWithin(`${field}.crop.x`, video.crop.x, limits.cropOffset);
    intWithin(`${field}.crop.y`, video.crop.y, limits.cropOffset);
    dimension(`${field}.crop.width`, video.crop.width);
    dimension(`${field}.crop.height`, video.crop.height);
  }
  if (video.watermark) {
    const w = video.watermark;
    if (typeof w.imagePath !== "string" || !w.imagePath.startsWith("/")) {
      throw bad(`${field}.watermark.imagePath`, "an absolute path", w.imagePath);
    }
    oneOf(`${field}.watermark.position`, w.position, watermarkPositions);
    intWithin(`${field}.watermark.marginPx`, w.marginPx, limits.watermarkMarginPx);
    num(`${field}.watermark.opacity`, w.opacity, 0, 1);
    if (w.widthFraction !== null) {
      const pct = limits.watermarkWidthPct;
      num(`${field}.watermark.widthFraction`, w.widthFraction, pct.min / 100, pct.max / 100);
    }
  }
  if (video.track) checkTrack(`${field}.track`, video.track, limits.videoTrackIndex);
}

export function checkAudio(field: string, audio: AudioEncodeOptions, allTracks = false): void {
  oneOf(`${field}.codec`, audio.codec, Object.keys(AUDIO_FORMATS));
  if (audio.bitrateKbps !== null)
    intWithin(`${field}.bitrateKbps`, audio.bitrateKbps, limits.audioBitrateKbps);
  if (audio.channels !== null) intWithin(`${field}.channels`, audio.channels, limits.channels);
  if (audio.sampleRate !== null) oneOf(`${field}.sampleRate`, audio.sampleRate, sampleRates);
  if (audio.loudnessTargetLufs !== null)
    within(`${field}.loudnessTargetLufs`, audio.loudnessTargetLufs, limits.loudnessTargetLufs);
  const track = audio.track;
  if (track === undefined || track === null) return;
  const several = track === "all" || track === "mix" || "mix" in track;
  if (several && audio.loudnessTargetLufs !== null) {
    throw bad(`${field}.track`, "one track with loudness normalization", track);
  }
  if (track === "all") {
    if (!allTracks) throw bad(`${field}.track`, "one track (an audio file holds one)", track);
  } else if (track !== "mix" && !("mix" in track)) {
    checkTrack(`${field}.track`, track, limits.audioTrackIndex);
  } else if (track !== "mix") {
    const { min, max } = limits.audioMixTracks;
    if (!Array.isArray(track.mix)) throw bad(`${field}.track.mix`, "a list of tracks", track.mix);
    int(`${field}.track.mix.length`, track.mix.length, min, max);
    for (const [i, one] of track.mix.entries())
      checkTrack(`${field}.track.mix[${i}]`, one, limits.audioTrackIndex);
  }
}

/** One track by index (within bounds) or by ISO 639-2 language. */
export function checkTrack(field: string, track: TrackChoice, bounds: { min: number; max: number }): void {
  if (typeof track !== "object" || track === null) throw bad(field, "{index} or {language}", track);
  if ("index" in track) intWithin(`${field}.index`, track.index, bounds);
  else if (typeof track.language !== "string" || !languageCodePattern.test(track.language)) {
    throw bad(`${field}.language`, "an ISO 639-2 code (three lower-case letters)", track.language);
  }
}

/** An edit's shape and bounds (the graph builder checks the rest against the media). */
function checkEdit(output: CompositionPlanOutput | HighlightReelPlanOutput, field: string): void {
  oneOf(`${field}.container`, output.container, videoContainers);
  oneOf(`${field}.video.codec`, output.video.codec, containerCodecs[output.container].video);
  if (output.audio)
    oneOf(`${field}.audio.codec`, output.audio.codec, containerCodecs[output.container].audio);
  if (output.kind === "highlight_reel") {
    int(
      `${field}.segments`,
      output.segments,
      compositionLimits.reelSegments.min,
      compositionLimits.reelSegments.max,
    );
    num(
      `${field}.crossfadeSec`,
      output.crossfadeSec,
      compositionLimits.reelCrossfadeSec.min,
      compositionLimits.reelCrossfadeSec.max,
    );
    return;
  }
  const { width, height, fps } = output.canvas;
  int(
    `${field}.canvas.width`,
    width,
    compositionLimits.canvasDimension.min,
    compositionLimits.canvasDimension.max,
  );
  int(
    `${field}.canvas.height`,
    height,
    compositionLimits.canvasDimension.min,
    compositionLimits.canvasDimension.max,
  );
  even(`${field}.canvas.width`, width);
  even(`${field}.canvas.height`, height);
  num(`${field}.canvas.fps`, fps, compositionLimits.canvasFps.min, compositionLimits.canvasFps.max);
  int(`${field}.tracks`, output.tracks.length, compositionLimits.tracks.min, compositionLimits.tracks.max);
  const clips = output.tracks.flat();
  int(`${field}.clips`, clips.length, 1, compositionLimits.clipsTotal);
  for (const clip of clips) {
    num(`${field}.${clip.label}.startSec`, clip.startSec, 0, compositionLimits.timelineSec.max);
    num(`${field}.${clip.label}.scale`, clip.scale, compositionLimits.scale.min, compositionLimits.scale.max);
    num(`${field}.${clip.label}.opacity`, clip.opacity, 0, 1);
    num(
      `${field}.${clip.label}.volume`,
      clip.volume,
      compositionLimits.volume.min,
      compositionLimits.volume.max,
    );
    if (clip.asset.type === "text" && clip.asset.text.length > compositionLimits.textChars.max)
      throw bad(
        `${field}.${clip.label}.asset.text`,
        `at most ${compositionLimits.textChars.max} characters`,
        clip.asset.text.length,
      );
  }
}

function checkSubtitleUses(
  field: string,
  uses: SubtitleUsePlan[],
  names: readonly string[],
  video: boolean,
): void {
  if (!Array.isArray(uses) || uses.length > subtitleLimits.inputs.max)
    throw bad(field, `at most ${subtitleLimits.inputs.max} subtitles`, uses);
  const seen = new Set<string>();
  uses.forEach((use, i) => {
    const at = `${field}[${i}]`;
    if (!names.includes(use.input))
      throw bad(`${at}.input`, `one of the plan's subtitles (${names.join(", ")})`, use.input);
    if (seen.has(use.input)) throw bad(`${at}.input`, "named once", use.input);
    seen.add(use.input);
    if (use.mode === "track") {
      if (typeof use.default !== "boolean") throw bad(`${at}.default`, "a boolean", use.default);
      return;
    }
    oneOf(`${at}.mode`, use.mode, ["burn", "track"]);
    if (!video) throw new EngineError("UNSUPPORTED", `${at} burns subtitles into an output without video`);
    const style = use.style;
    oneOf(`${at}.style.font`, style.font, fontNames);
    intWithin(`${at}.style.fontSize`, style.fontSize, subtitleLimits.fontSize);
    within(`${at}.style.outlinePx`, style.outlinePx, subtitleLimits.outlinePx);
    within(`${at}.style.marginPct`, style.marginPct, subtitleLimits.marginPct);
    oneOf(`${at}.style.position`, style.position, subtitlePositions);
    for (const key of ["color", "outlineColor", "background"] as const) {
      const value = style[key];
      if (value === null && key === "background") continue;
      if (typeof value !== "string" || !hexColorPattern.test(value))
        throw bad(`${at}.style.${key}`, "a #rrggbb(aa) colour", value);
    }
  });
  if (uses.filter((u) => u.mode === "burn").length > 1)
    throw new EngineError("UNSUPPORTED", `${field} burns more than one subtitle into the picture`);
}

function checkOutput(output: PlanOutput, field: string, subtitles: readonly string[] = []): void {
  if (typeof output.name !== "string" || !outputNamePattern.test(output.name))
    throw bad(`${field}.name`, "a safe name", output.name);
  switch (output.kind) {
    case "composition":
    case "highlight_reel":
      checkEdit(output, field);
      return;
    case "video": {
      oneOf(`${field}.container`, output.container, videoContainers);
      const allowed = containerCodecs[output.container];
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
        checkAudio(`${field}.audio`, output.audio, true);
        if (!allowed.audio.includes(output.audio.codec)) {
          throw bad(
            `${field}.audio.codec`,
            `one of ${allowed.audio.join(", ")} in ${output.container}`,
            output.audio.codec,
          );
        }
      }
      checkTrim(`${field}.trim`, output.trim);
      if (output.subtitles)
        checkSubtitleUses(`${field}.subtitles`, output.subtitles, subtitles, output.video !== null);
      return;
    }
    case "audio":
      checkAudio(`${field}.audio`, output.audio);
      checkTrim(`${field}.trim`, output.trim);
      return;
    case "thumbnails": {
      oneOf(`${field}.format`, output.format, imageFormats);
      dimension(`${field}.maxWidth`, output.maxWidth);
      dimension(`${field}.maxHeight`, output.maxHeight);
      const select = output.select;
      if (select.mode === "at") {
        const count = limits.thumbnailTimes;
        if (
          !Array.isArray(select.atSec) ||
          select.atSec.length < count.min ||
          select.atSec.length > count.max
        ) {
          throw bad(`${field}.select.atSec`, `${count.min}–${count.max} times`, select.atSec);
        }
        for (const [i, t] of select.atSec.entries()) within(`${field}.select.atSec[${i}]`, t, limits.timeSec);
      } else if (select.mode === "every") {
        within(`${field}.select.everySec`, select.everySec, limits.thumbnailEverySec);
      } else if (select.mode === "count") {
        intWithin(`${field}.select.count`, select.count, limits.thumbnailCount);
      } else if (select.mode === "scenes") {
        within(`${field}.select.threshold`, select.threshold, limits.sceneThreshold);
      } else {
        throw bad(`${field}.select.mode`, "at, every, count or scenes", (select as { mode: unknown }).mode);
      }
      if (output.sprite) intWithin(`${field}.sprite.columns`, output.sprite.columns, limits.spriteColumns);
      if (output.track) checkTrack(`${field}.track`, output.track, limits.videoTrackIndex);
      return;
    }
    case "hls":
    case "dash": {
      within(`${field}.segmentSec`, output.segmentSec, limits.hlsSegmentSec);
      oneOf(`${field}.preset`, output.preset, presets);
      const count = limits.hlsRenditions;
      if (
        !Array.isArray(output.renditions) ||
        output.renditions.length < count.min ||
        output.renditions.length > count.max
      ) {
        throw bad(`${field}.renditions`, `${count.min}–${count.max} renditions`, output.renditions?.length);
      }
      const names = new Set<string>();
      output.renditions.forEach((r, i) => {
        const at = `${field}.renditions[${i}]`;
        // Not an audio track's folder name (audio-128k) either.
        if (!outputNamePattern.test(r.name) || names.has(r.name) || r.name.startsWith("audio-"))
          throw bad(`${at}.name`, "a unique safe name", r.name);
        names.add(r.name);
        dimension(`${at}.maxHeight`, r.maxHeight);
        intWithin(`${at}.videoBitrateKbps`, r.videoBitrateKbps, limits.hlsVideoBitrateKbps);
        intWithin(`${at}.audioBitrateKbps`, r.audioBitrateKbps, limits.audioBitrateKbps);
      });
      if (output.kind === "hls" && output.segments !== undefined)
        oneOf(`${field}.segments`, output.segments, ["ts", "cmaf"] as const);
      if (output.kind === "hls" && output.subtitles)
        checkSubtitleUses(
          `${field}.subtitles`,
          output.subtitles.map((u) => ({ ...u, mode: "track" as const })),
          subtitles,
          true,
        );
      if (output.kind === "dash" && output.shares) {
        if (typeof output.shares.hls !== "string" || !outputNamePattern.test(output.shares.hls))
          throw bad(`${field}.shares.hls`, "an output's name", output.shares.hls);
        if (typeof output.shares.url !== "string" || !relativeFolderUrl.test(output.shares.url))
          throw bad(`${field}.shares.url`, 'a relative folder URL such as "../hls/"', output.shares.url);
      }
      return;
    }
    case "subtitles": {
      if (typeof output.path !== "string" || !output.path.startsWith("/"))
        throw bad(`${field}.path`, "an absolute path", output.path);
      oneOf(`${field}.format`, output.format, subtitleFormats);
      const track = output.track;
      if (track !== null) {
        if ("index" in track) intWithin(`${field}.track.index`, track.index, subtitleLimits.trackIndex);
        else if (typeof track.language !== "string" || !languageCodePattern.test(track.language))
          throw bad(`${field}.track.language`, "an ISO 639-2 code", track.language);
      }
      return;
    }
    case "animation": {
      if (typeof output.path !== "string" || !output.path.startsWith("/"))
        throw bad(`${field}.path`, "an absolute path", output.path);
      oneOf(`${field}.format`, output.format, animationFormats);
      within(`${field}.startSec`, output.startSec, limits.timeSec);
      within(`${field}.durationSec`, output.durationSec, limits.animationDurationSec);
      within(`${field}.fps`, output.fps, limits.animationFps);
      for (const side of ["maxWidth", "maxHeight"] as const) {
        const value = output[side];
        if (value === null) continue;
        intWithin(`${field}.${side}`, value, limits.animationDimension);
        even(`${field}.${side}`, value);
      }
      if (typeof output.loop !== "boolean") throw bad(`${field}.loop`, "a boolean", output.loop);
      if (output.track) checkTrack(`${field}.track`, output.track, limits.videoTrackIndex);
      return;
    }
    case "waveform": {
      if (typeof output.dir !== "string" || !output.dir.startsWith("/"))
        throw bad(`${field}.dir`, "an absolute path", output.dir);
      oneOf(`${field}.image`, output.image, waveformImageFormats);
      intWithin(`${field}.width`, output.width, limits.waveformWidth);
      intWithin(`${field}.height`, output.height, limits.waveformHeight);
      for (const key of ["color", "background"] as const) {
        const value = output[key];
        if (value === null && key === "background") continue;
        if (typeof value !== "string" || !hexColorPattern.test(value))
          throw bad(`${field}.${key}`, "a #rrggbb(aa) colour", value);
      }
      if (output.points !== null && output.pointsPerSec !== null)
        throw new EngineError("UNSUPPORTED", `${field} takes points or pointsPerSec, not both`);
      if (output.points !== null) intWithin(`${field}.points`, output.points, limits.waveformPoints);
      if (output.pointsPerSec !== null)
        within(`${field}.pointsPerSec`, output.pointsPerSec, limits.waveformPointsPerSec);
      return;
    }
    case "probe":
      return;
    case "analysis":
      if (typeof output.path !== "string" || !output.path.startsWith("/"))
        throw bad(`${field}.path`, "an absolute path", output.path);
      checkAnalysis(`${field}.analysis`, output.analysis);
      return;
    default:
      throw bad(
        `${field}.kind`,
        "video, audio, thumbnails, hls, dash, probe, analysis, animation, waveform or subtitles",
        (output as { kind: unknown }).kind,
      );
  }
}

export function checkAnalysis(field: string, a: AnalysisOptions): void {
  oneOf(
    `${field}.kind`,
    a?.kind,
    analysisKinds.filter((k) => k !== "probe"),
  );
  switch (a.kind) {
    case "loudness":
      intWithin(`${field}.momentaryPoints`, a.momentaryPoints, limits.momentaryPoints);
      return;
    case "silence":
      within(`${field}.noiseDb`, a.noiseDb, limits.silenceNoiseDb);
      within(`${field}.minDurationSec`, a.minDurationSec, limits.intervalMinSec);
      return;
    case "scenes":
      within(`${field}.threshold`, a.threshold, limits.sceneThreshold);
      return;
    case "black":
      within(`${field}.minDurationSec`, a.minDurationSec, limits.intervalMinSec);
      within(`${field}.pixelThreshold`, a.pixelThreshold, limits.blackPixelThreshold);
      within(`${field}.pictureRatio`, a.pictureRatio, limits.blackPictureRatio);
      return;
    case "freeze":
      within(`${field}.noiseDb`, a.noiseDb, limits.freezeNoiseDb);
      within(`${field}.minDurationSec`, a.minDurationSec, limits.intervalMinSec);
      return;
    case "tempo":
      within(`${field}.minBpm`, a.minBpm, limits.tempoBpm);
      within(`${field}.maxBpm`, a.maxBpm, limits.tempoBpm);
      if (a.minBpm >= a.maxBpm) throw bad(`${field}.maxBpm`, "above minBpm", a.maxBpm);
      return;
    case "key":
      return;
    case "fingerprint":
      within(`${field}.audioSec`, a.audioSec, limits.fingerprintSec);
      within(`${field}.frameIntervalSec`, a.frameIntervalSec, limits.frameHashIntervalSec);
      return;
    case "highlights":
      intWithin(`${field}.count`, a.count, limits.highlightCount);
      within(`${field}.minSec`, a.minSec, limits.highlightSec);
      within(`${field}.maxSec`, a.maxSec, limits.highlightSec);
      if (a.minSec > a.maxSec) throw bad(`${field}.maxSec`, "at least minSec", a.maxSec);
      if (a.totalSec !== null) {
        within(`${field}.totalSec`, a.totalSec, limits.highlightTotalSec);
        if (a.totalSec < a.minSec) throw bad(`${field}.totalSec`, "at least minSec", a.totalSec);
      }
      return;
  }
}

/** Throws EngineError("UNSUPPORTED") naming the first field that breaks the contract. */
/** "../hls/", "../../hls/2025-01-01/": up some folders, then down safe ones, ending in "/". */
const relativeFolderUrl = /^(\.\.\/)*([A-Za-z0-9_][A-Za-z0-9_.-]*\/)+$/;

/** A dash output may share only a CMAF HLS output of the same plan with the same ladder. */
function checkShares(plan: Plan): void {
  plan.outputs.forEach((output, i) => {
    if (output.kind !== "dash" || !output.shares) return;
    const hls = plan.outputs.find((o) => o.kind === "hls" && o.name === output.shares?.hls);
    if (hls?.kind !== "hls" || hls.segments !== "cmaf" || !sameLadder(hls, output))
      throw bad(
        `plan.outputs[${i}].shares.hls`,
        "an hls output of this plan with the same ladder and CMAF segments",
        output.shares.hls,
      );
  });
}

export function checkPlan(plan: Plan): void {
  if (typeof plan.inputPath !== "string" || plan.inputPath === "")
    throw bad("plan.inputPath", "a path", plan.inputPath);
  const most = limits.outputsPerJob;
  if (!Array.isArray(plan.outputs) || plan.outputs.length < 1 || plan.outputs.length > most) {
    throw bad("plan.outputs", `1–${most} outputs`, plan.outputs?.length);
  }
  if (plan.accel !== undefined) oneOf("plan.accel", plan.accel, accelModes);
  const subtitles = Object.keys(plan.subtitles ?? {});
  if (subtitles.length > subtitleLimits.inputs.max)
    throw bad("plan.subtitles", `at most ${subtitleLimits.inputs.max} files`, subtitles.length);
  for (const [name, file] of Object.entries(plan.subtitles ?? {})) {
    const at = `plan.subtitles.${name}`;
    if (!inputNamePattern.test(name)) throw bad(at, "a safe name", name);
    if (typeof file.path !== "string" || !file.path.startsWith("/"))
      throw bad(`${at}.path`, "an absolute path", file.path);
    if (file.language !== null && !languageCodePattern.test(file.language))
      throw bad(`${at}.language`, "an ISO 639-2 code or null", file.language);
    if (file.label !== null && !subtitleLabelPattern.test(file.label))
      throw bad(`${at}.label`, "a label without quotes or line breaks, or null", file.label);
  }
  const names = new Set<string>();
  plan.outputs.forEach((output, i) => {
    checkOutput(output, `plan.outputs[${i}]`, subtitles);
    if (names.has(output.name)) throw bad(`plan.outputs[${i}].name`, "unique", output.name);
    names.add(output.name);
  });
  checkShares(plan);
}
