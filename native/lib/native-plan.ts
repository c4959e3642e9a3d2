/**
 * Compiles a validated Plan into the addon's flat options: every plan output becomes native
 * outputs (a ladder: one per rendition, and per audio bit rate when CMAF) or a thumbnail set, all
 * fed by one decode; a dash output that shares an HLS output's ladder adds none. Pure apart
 * from the paths it computes, so the mapping is unit-tested without the addon.
 */
import { join } from "node:path";
import { animationDefaults, presets } from "@framewire/shared/media";
import { selectVideoEncoder } from "./accel";
import type {
  AnalysisOptions,
  AnimationPlanOutput,
  AudioEncodeOptions,
  Capabilities,
  EncodingChoice,
  Plan,
  PlanOutput,
  SubtitlesPlanOutput,
  TrackChoice,
  Trim,
  VideoEncodeOptions,
} from "./engine";
import { CMAF_TIMELINE_START_SEC, isCmaf, type LadderTrack, ladderTracks } from "./ladder-layout";
import type {
  NativeAnalysisOptions,
  NativeAudioOptions,
  NativeOutputOptions,
  NativeThumbnailOptions,
  NativeTranscodeOptions,
  NativeVideoOptions,
} from "./native-addon";
import { AUDIO_FORMATS, IMAGE_ENCODERS, VIDEO_MUXERS, WATERMARK_CORNERS } from "./plan-check";
import { burnPaths, type LoadedSubtitle, nativeSubtitleTracks } from "./subtitle-plan";
import type { AudioStreams } from "./tracks";

/** How one plan output maps onto the native run. */
export interface CompiledOutput {
  output: PlanOutput;
  /** Indexes into options.outputs. */
  nativeOutputs: number[];
  /** Index into options.thumbnails. */
  thumbnails?: number;
  /** Index into options.analyses. */
  analysis?: number;
  /** Index into options.subtitles (a subtitle extraction). */
  subtitles?: number;
  encoding?: EncodingChoice;
}

export interface CompiledPlan {
  options: NativeTranscodeOptions;
  compiledOutputs: CompiledOutput[];
  /** Folders to create first and remove if the run fails. */
  dirs: string[];
}

/** Frame rate as a rational FFmpeg keeps exact: 29.97 → 30000/1001. */
export function fpsRational(fps: number | null): { num: number; den: number } {
  if (fps === null) return { num: 0, den: 1 };
  for (const base of [24, 30, 60, 120]) {
    if (Math.abs(fps - (base * 1000) / 1001) < 0.005) return { num: base * 1000, den: 1001 };
  }
  return { num: Math.round(fps * 1000), den: 1000 };
}

/**
 * The input streams an output's track choices name, resolved from the probe (tracks.ts); absent
 * when no output of the plan chooses a track.
 */
export interface TrackResolver {
  audio(choice: NonNullable<AudioEncodeOptions["track"]>): AudioStreams;
  video(choice: TrackChoice): number;
}

function needResolver(tracks?: TrackResolver): TrackResolver {
  if (!tracks) throw new Error("a track choice needs the probed input (a TrackResolver)");
  return tracks;
}

/** The addon's streamIndex of a video track choice; nothing for the main track. */
function videoStream(
  track: TrackChoice | null | undefined,
  tracks?: TrackResolver,
): { streamIndex?: number } {
  return track ? { streamIndex: needResolver(tracks).video(track) } : {};
}

function nativeVideo(
  video: VideoEncodeOptions,
  choice: EncodingChoice,
  tracks?: TrackResolver,
): NativeVideoOptions {
  const fps = fpsRational(video.fps);
  return {
    ...videoStream(video.track, tracks),
    encoder: choice.encoder,
    hwDevice: choice.accel === "cpu" ? "" : choice.accel,
    maxWidth: video.maxWidth ?? 0,
    maxHeight: video.maxHeight ?? 0,
    crf: video.crf,
    bitrateKbps: video.bitrateKbps,
    preset: video.preset,
    speed: presets.indexOf(video.preset),
    fpsNum: fps.num,
    fpsDen: fps.den,
    crop: video.crop,
    autoRotate: true,
    keyframeIntervalSec: 0,
    watermark: video.watermark
      ? {
          imagePath: video.watermark.imagePath,
          corner: WATERMARK_CORNERS.indexOf(video.watermark.position),
          marginPx: video.watermark.marginPx,
          opacity: video.watermark.opacity,
          widthFraction: video.watermark.widthFraction ?? 0,
        }
      : null,
  };
}

function streamFields({ streams, mix }: AudioStreams): {
  streamIndex?: number;
  moreStreamIndices?: number[];
  mix?: boolean;
} {
  const [first, ...more] = streams;
  if (first === undefined) return {};
  if (more.length === 0) return { streamIndex: first };
  return { streamIndex: first, moreStreamIndices: more, ...(mix ? { mix: true } : {}) };
}

function nativeAudio(audio: AudioEncodeOptions, tracks?: TrackResolver): NativeAudioOptions {
  const track = audio.track;
  return {
    ...(track ? streamFields(needResolver(tracks).audio(track)) : {}),
    encoder: AUDIO_FORMATS[audio.codec].encoder,
    bitrateKbps: audio.codec === "flac" || audio.codec === "wav" ? 0 : (audio.bitrateKbps ?? 0),
    channels: audio.channels ?? 0,
    sampleRate: audio.sampleRate ?? 0,
    loudnessTargetLufs: audio.loudnessTargetLufs ?? 0,
  };
}

/** The addon's flat options of one analysis: only the numbers its kind reads. */
export function nativeAnalysis(a: AnalysisOptions): NativeAnalysisOptions {
  switch (a.kind) {
    case "loudness":
    case "key":
    case "highlights":
      return { kind: a.kind };
    case "silence":
    case "freeze":
      return { kind: a.kind, noiseDb: a.noiseDb, minDurationSec: a.minDurationSec };
    case "scenes":
      return { kind: a.kind, threshold: a.threshold };
    case "black":
      return {
        kind: a.kind,
        minDurationSec: a.minDurationSec,
        pixelThreshold: a.pixelThreshold,
        pictureRatio: a.pictureRatio,
      };
    case "tempo":
      return { kind: a.kind, minBpm: a.minBpm, maxBpm: a.maxBpm };
    case "fingerprint":
      return { kind: a.kind, audioSec: a.audioSec, frameIntervalSec: a.frameIntervalSec };
  }
}

/**
 * An animation is a video output of its own: the clip's window as the trim, its rate and box, no
 * audio; GIF with a palette computed for the clip, WebP at a fixed quality, MP4 as H.264 (software
 * always: a few seconds of small picture are not worth a hardware session).
 */
function nativeAnimation(
  output: AnimationPlanOutput,
  caps: Pick<Capabilities, "encoders" | "hardwareEncoders" | "hardwareErrors">,
  tracks?: TrackResolver,
): NativeOutputOptions {
  const fps = fpsRational(output.fps);
  const encoder =
    output.format === "gif"
      ? "gif"
      : output.format === "webp"
        ? "libwebp_anim"
        : selectVideoEncoder("h264", "cpu", caps).encoder;
  const noBox = output.maxWidth === null && output.maxHeight === null;
  return {
    path: output.path,
    container: output.format,
    trimStartSec: output.startSec,
    trimEndSec: output.startSec + output.durationSec,
    ...(output.format === "mp4" ? {} : { loop: output.loop }),
    video: {
      ...videoStream(output.track, tracks),
      encoder,
      hwDevice: "",
      maxWidth: noBox ? animationDefaults.width : (output.maxWidth ?? 0),
      maxHeight: output.maxHeight ?? 0,
      crf: output.format === "mp4" ? animationDefaults.mp4Crf : null,
      bitrateKbps: null,
      preset: "veryfast",
      speed: presets.indexOf("veryfast"),
      fpsNum: fps.num,
      fpsDen: fps.den,
      crop: null,
      autoRotate: true,
      keyframeIntervalSec: 0,
      ...(output.format === "gif" ? { palette: true } : {}),
      ...(output.format === "webp" ? { quality: animationDefaults.webpQuality } : {}),
    },
    audio: null,
  };
}

/** What the native plan needs of a plan's subtitles (read before compiling; see subtitle-plan.ts). */
export interface NativeSubtitleContext {
  loaded: Map<string, LoadedSubtitle>;
  /** The input stream a subtitles output takes (resolved against the probed input). */
  streamOf?: (output: SubtitlesPlanOutput) => number;
}

function trimFields(trim: Trim | null) {
  return { trimStartSec: trim?.startSec ?? 0, trimEndSec: trim?.endSec ?? null };
}

export function compileNativePlan(
  plan: Plan,
  caps: Pick<Capabilities, "encoders" | "hardwareEncoders" | "hardwareErrors">,
  stallTimeoutMs?: number,
  tracks?: TrackResolver,
  /** Whether the input has audio (probed where a CMAF ladder needs to know: its audio is a track of its own). */
  inputHasAudio = true,
  subtitles?: NativeSubtitleContext,
): CompiledPlan {
  const accel = plan.accel ?? "auto";
  const outputs: NativeOutputOptions[] = [];
  const thumbnails: NativeThumbnailOptions[] = [];
  const analyses: NativeAnalysisOptions[] = [];
  const extracts: { path: string; streamIndex: number }[] = [];
  const compiledOutputs: CompiledOutput[] = [];
  const dirs: string[] = [];
  for (const output of plan.outputs) {
    const compiled: CompiledOutput = { output, nativeOutputs: [] };
    switch (output.kind) {
      case "video": {
        const choice = output.video ? selectVideoEncoder(output.video.codec, accel, caps) : undefined;
        if (choice) compiled.encoding = choice;
        compiled.nativeOutputs.push(outputs.length);
        const uses = output.subtitles ?? [];
        if (uses.length > 0 && !subtitles)
          throw new Error("subtitles need the plan's subtitle files read first (loadSubtitles)");
        const burn = uses.some((u) => u.mode === "burn") ? burnPaths(output) : null;
        const video = output.video && choice ? nativeVideo(output.video, choice, tracks) : null;
        if (video && burn) video.subtitles = { assPath: burn.script, fontsDir: burn.fontsDir };
        const subtitleTracks = subtitles ? nativeSubtitleTracks(output, subtitles.loaded) : [];
        outputs.push({
          path: output.path,
          container: VIDEO_MUXERS[output.container],
          ...trimFields(output.trim),
          video,
          audio: output.audio === "copy" ? { copy: true } : output.audio && nativeAudio(output.audio, tracks),
          ...(subtitleTracks.length > 0 ? { subtitleTracks } : {}),
        });
        break;
      }
      case "audio":
        compiled.nativeOutputs.push(outputs.length);
        outputs.push({
          path: output.path,
          container: AUDIO_FORMATS[output.audio.codec].muxer,
          ...trimFields(output.trim),
          video: null,
          audio: nativeAudio(output.audio, tracks),
        });
        break;
      case "hls":
      case "dash": {
        dirs.push(output.dir);
        // A dash output sharing an HLS output's ladder encodes nothing: see the pass below.
        if (output.kind === "dash" && output.shares) break;
        const choice = selectVideoEncoder("h264", accel, caps);
        compiled.encoding = choice;
        const cmaf = isCmaf(output);
        const tracks = ladderTracks(output);
        const segmenting = (track: LadderTrack) => ({
          path: track.playlist,
          container: "hls",
          trimStartSec: 0,
          trimEndSec: null,
          hlsSegmentSec: output.segmentSec,
          hlsSegmentPattern: track.segmentPattern,
          ...(cmaf ? { hlsSegmentType: "fmp4" as const, timelineOffsetSec: CMAF_TIMELINE_START_SEC } : {}),
        });
        const ladderAudio = (kbps: number): NativeAudioOptions => ({
          encoder: "aac",
          bitrateKbps: kbps,
          channels: 2,
          sampleRate: 0,
          loudnessTargetLufs: 0,
        });
        for (const track of tracks.video) {
          const { rendition } = track;
          dirs.push(track.dir);
          compiled.nativeOutputs.push(outputs.length);
          const video: VideoEncodeOptions = {
            codec: "h264",
            maxWidth: null,
            maxHeight: rendition.maxHeight,
            crf: null,
            bitrateKbps: rendition.videoBitrateKbps,
            preset: output.preset,
            fps: null,
            crop: null,
          };
          outputs.push({
            ...segmenting(track),
            video: { ...nativeVideo(video, choice), keyframeIntervalSec: output.segmentSec },
            // CMAF: the rendition is its video alone; its audio is a track of its own below.
            audio: cmaf ? null : ladderAudio(rendition.audioBitrateKbps),
          });
        }
        // One audio track per bit rate the ladder names (an input without audio has none).
        for (const track of inputHasAudio ? tracks.audio : []) {
          dirs.push(track.dir);
          compiled.nativeOutputs.push(outputs.length);
          outputs.push({ ...segmenting(track), video: null, audio: ladderAudio(track.bitrateKbps) });
        }
        break;
      }
      case "thumbnails": {
        dirs.push(output.dir);
        compiled.thumbnails = thumbnails.length;
        const { select } = output;
        thumbnails.push({
          pathPrefix: join(output.dir, "thumb-"),
          extension: output.format,
          encoder: IMAGE_ENCODERS[output.format],
          maxWidth: output.maxWidth ?? 0,
          maxHeight: output.maxHeight ?? 0,
          atSec: select.mode === "at" ? select.atSec : [],
          everySec: select.mode === "every" ? select.everySec : 0,
          count: select.mode === "count" ? select.count : 0,
          spriteColumns: output.sprite?.columns ?? 0,
          ...(select.mode === "scenes" ? { scenes: true, sceneThreshold: select.threshold } : {}),
          ...videoStream(output.track, tracks),
        });
        break;
      }
      case "waveform":
        // Measured in the decode like an analysis; the picture and peaks are drawn afterwards.
        compiled.analysis = analyses.length;
        analyses.push({
          kind: "waveform",
          ...(output.pointsPerSec !== null
            ? { pointsPerSec: output.pointsPerSec }
            : { points: Math.max(output.points ?? 0, output.width) }),
        });
        break;
      case "animation":
        compiled.nativeOutputs.push(outputs.length);
        outputs.push(nativeAnimation(output, caps, tracks));
        break;
      case "analysis":
        compiled.analysis = analyses.length;
        analyses.push(nativeAnalysis(output.analysis));
        break;
      case "subtitles": {
        const streamIndex = subtitles?.streamOf?.(output);
        if (streamIndex === undefined)
          throw new Error("a subtitles output needs the probed input (subtitles.streamOf)");
        compiled.subtitles = extracts.length;
        extracts.push({ path: output.path, streamIndex });
        break;
      }
      case "probe":
        break;
    }
    compiledOutputs.push(compiled);
  }
  // A dash output sharing an HLS output's ladder runs as far as that ladder does.
  for (const compiled of compiledOutputs) {
    const { output } = compiled;
    if (output.kind !== "dash" || !output.shares) continue;
    const hls = output.shares.hls;
    const shared = compiledOutputs.find((c) => c.output.kind === "hls" && c.output.name === hls);
    if (!shared)
      throw new Error(`dash output ${output.name} shares the ladder of ${hls}, which the plan lacks`);
    compiled.nativeOutputs = shared.nativeOutputs;
    if (shared.encoding) compiled.encoding = shared.encoding;
  }
  const options: NativeTranscodeOptions = { inputPath: plan.inputPath, outputs, thumbnails, analyses };
  if (extracts.length > 0) options.subtitles = extracts;
  if (stallTimeoutMs !== undefined) options.stallTimeoutMs = stallTimeoutMs;
  return { options, compiledOutputs, dirs };
}
