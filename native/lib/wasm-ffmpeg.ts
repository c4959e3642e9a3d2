/**
 * The FFmpeg-facing pieces of the wasm engine that need no worker: the argument list built from a
 * validated PlanOutput, ffprobe JSON read into MediaFacts, and `-progress` blocks turned into ticks.
 */
import { animationDefaults } from "@framewire/shared/media";
import {
  type AnimationPlanOutput,
  type AudioEncodeOptions,
  type AudioPlanOutput,
  EngineError,
  type MediaFacts,
  type PlanOutput,
  type StreamFacts,
  type ThumbnailsPlanOutput,
  type TrackChoice,
  type Trim,
  type VideoEncodeOptions,
  type VideoPlanOutput,
} from "./engine";
import { AUDIO_FORMATS, IMAGE_ENCODERS, SOFTWARE_VIDEO_ENCODERS, VIDEO_MUXERS } from "./plan-check";
import type { OutputMeasure } from "./run-progress";
import { audioStreamsFor, tracksOf, videoStreamFor } from "./tracks";
import { wasmAnalysisUnsupported } from "./wasm-analysis";

/** Fixed MEMFS names: user paths and strings never reach FFmpeg's argument list. */
export const MEMFS_PROBE = "/work/probe.json";
export const MEMFS_PROBE_INPUT = "/work/probe-in";

export function memfsOutputName(extension: string): string {
  return `/work/out.${extension}`;
}

/** Input extensions passed through to MEMFS as a demuxer hint; anything else gets no extension. */
const INPUT_EXTENSIONS = new Set(
  "mp4 m4v m4a mov 3gp mkv webm avi ts mts m2ts flv mpg mpeg wmv mp3 aac wav flac ogg oga opus jpg png webp".split(
    " ",
  ),
);

export function memfsInputName(inputPath: string, base = "/work/in"): string {
  const ext = /\.([A-Za-z0-9]{1,5})$/.exec(inputPath)?.[1]?.toLowerCase();
  return ext && INPUT_EXTENSIONS.has(ext) ? `${base}.${ext}` : base;
}

/**
 * Why the wasm build cannot run an output (null: it can). Its FFmpeg lacks working x265, VP9 and
 * AV1 encoders, and this engine does not implement HLS or DASH ladders or loudness normalization.
 */
export function wasmUnsupported(output: PlanOutput, encoders: readonly string[]): string | null {
  const audioReason = (audio: AudioEncodeOptions | "copy" | null): string | null => {
    if (audio === null || audio === "copy") return null;
    if (audio.loudnessTargetLufs !== null)
      return "loudness normalization is not available in the wasm engine";
    // Checked with @ffmpeg/core 0.12.10: its libopus traps (memory access out of bounds) on stereo.
    if (audio.codec === "opus" && audio.channels !== 1) {
      return "the wasm build's libopus crashes on more than one channel; ask for channels: 1";
    }
    const encoder = AUDIO_FORMATS[audio.codec].encoder;
    return encoders.includes(encoder)
      ? null
      : `the wasm engine has no working ${encoder} encoder (${audio.codec})`;
  };
  switch (output.kind) {
    case "video": {
      if (output.video?.watermark) return "watermarks are not available in the wasm engine";
      if (output.video) {
        const candidates = SOFTWARE_VIDEO_ENCODERS[output.video.codec];
        if (!candidates.some((e) => encoders.includes(e))) {
          return `the wasm engine has no working ${candidates.join("/")} encoder (${output.video.codec})`;
        }
      }
      return audioReason(output.audio);
    }
    case "audio":
      return audioReason(output.audio);
    case "thumbnails": {
      if (output.sprite) return "sprite sheets are not available in the wasm engine";
      if (output.select.mode === "scenes")
        return "one still per scene (cut detection with a representative frame) is not available in the wasm engine";
      const encoder = IMAGE_ENCODERS[output.format];
      return encoders.includes(encoder)
        ? null
        : `the wasm engine has no working ${encoder} encoder (${output.format})`;
    }
    case "hls":
      return "HLS ladders are not available in the wasm engine";
    case "dash":
      return "DASH ladders are not available in the wasm engine";
    case "probe":
      return null;
    case "analysis":
      return wasmAnalysisUnsupported(output.analysis);
    case "composition":
    case "highlight_reel":
      // Edits are checked and rendered apart (edits.ts).
      return null;
    case "waveform":
    case "subtitles":
      return null;
    case "animation": {
      const encoder = ANIMATION_ENCODERS[output.format];
      return encoders.includes(encoder)
        ? null
        : `the wasm engine has no working ${encoder} encoder (${output.format} animations)`;
    }
  }
}

/** The encoder of each animation format (the native engine's choice too). */
export const ANIMATION_ENCODERS = { gif: "gif", webp: "libwebp_anim", mp4: "libx264" } as const;

/** Output size for a picture fitted in a box, aspect kept, never upscaled, even sides (as the native engine). */
export function fitSize(
  width: number,
  height: number,
  sar: number,
  maxWidth: number | null,
  maxHeight: number | null,
): { width: number; height: number } {
  const displayWidth = width * (sar > 0 ? sar : 1);
  let factor = 1;
  if (maxWidth !== null) factor = Math.min(factor, maxWidth / displayWidth);
  if (maxHeight !== null) factor = Math.min(factor, maxHeight / height);
  const even = (v: number) => Math.max(2, Math.round(v / 2) * 2);
  return { width: even(displayWidth * factor), height: even(height * factor) };
}

/**
 * What the wasm engine knows of its input beyond the probe: a still image's orientation (its EXIF,
 * as the decoder's display matrix on the first frame), and the media's timeline read from its
 * packets.
 */
export interface WasmInputFacts extends MediaFacts {
  stillOrientation?: Orientation;
}

/** How to make a picture upright (see the native filter_graph.h): a transpose direction, or flips. */
export interface Orientation {
  /** FFmpeg's transpose dir: 0 cclock_flip, 1 clock, 2 cclock, 3 clock_flip; null: none. */
  transpose: 0 | 1 | 2 | 3 | null;
  hflip: boolean;
  vflip: boolean;
}

/** The orientation a player applies for a 3x3 display matrix (16.16 fixed point), as FFmpeg reads it. */
export function orientationFromMatrix(m: number[]): Orientation {
  const none: Orientation = { transpose: null, hflip: false, vflip: false };
  const [a = 0, b = 0, , c = 0, d = 0] = m;
  const scale0 = Math.hypot(a, c);
  const scale1 = Math.hypot(b, d);
  if (scale0 === 0 || scale1 === 0) return none;
  // av_display_rotation_get (counter-clockwise degrees); FFmpeg's CLI turns it clockwise.
  const ccw = -(Math.atan2(b / scale1, a / scale0) * 180) / Math.PI;
  const theta = ((-Math.round(ccw) % 360) + 360) % 360;
  if (Math.abs(theta - 90) < 1) return { ...none, transpose: c > 0 ? 0 : 1 };
  if (Math.abs(theta - 180) < 1) return { ...none, hflip: a < 0, vflip: d < 0 };
  if (Math.abs(theta - 270) < 1) return { ...none, transpose: c < 0 ? 3 : 2 };
  if (theta < 1 || theta > 359) return { ...none, vflip: d < 0 };
  return none;
}

/** The nine numbers of ffprobe's `displaymatrix` side-data text ("00000000: 0 65536 0 ..."). */
export function parseDisplayMatrix(text: string): number[] | null {
  const rows = text
    .split("\n")
    .map((line) => line.replace(/^\s*[0-9a-f]{8}:/, "").trim())
    .filter((line) => line.length > 0);
  const values = rows.flatMap((row) => row.split(/\s+/).map(Number));
  return values.length === 9 && values.every(Number.isFinite) ? values : null;
}

const TRANSPOSE_DIRS = ["cclock_flip", "clock", "cclock", "clock_flip"] as const;

function orientationFilters(o: Orientation | undefined): string[] {
  if (!o) return [];
  const filters: string[] = [];
  if (o.transpose !== null) filters.push(`transpose=${TRANSPOSE_DIRS[o.transpose]}`);
  if (o.hflip) filters.push("hflip");
  if (o.vflip) filters.push("vflip");
  return filters;
}

/**
 * The displayed geometry of the input's video after rotation: FFmpeg applies a video's display
 * matrix by itself; a still's EXIF orientation is applied by our own filters (with -noautorotate).
 */
function geometry(facts: WasmInputFacts, stream?: number): { width: number; height: number; sar: number } {
  const video = facts.streams.find((s) => (stream === undefined ? s.type === "video" : s.index === stream));
  const width = video?.width ?? 0;
  const height = video?.height ?? 0;
  const sar = video?.sampleAspectRatio ?? 1;
  const quarter = facts.stillOrientation
    ? facts.stillOrientation.transpose !== null
    : video?.rotation === 90 || video?.rotation === 270;
  return quarter ? { width: height, height: width, sar: 1 / sar } : { width, height, sar };
}

/** Input options: a still with its own orientation is turned by our filters, not the CLI's. */
function inputOptions(facts: WasmInputFacts): string[] {
  return facts.stillOrientation ? ["-noautorotate"] : [];
}

/** ffprobe's packet list, read to judge the input's timeline (see timelineProblems). */
export const MEMFS_PACKETS = "/work/packets.csv";

export function packetScanArgs(input: string): string[] {
  return [
    ...["-loglevel", "error", "-show_entries", "packet=stream_index,pts_time,dts_time,duration_time"],
    ...["-of", "csv=p=0", input, "-o", MEMFS_PACKETS],
  ];
}

export function firstFrameArgs(input: string): string[] {
  return [
    ...["-loglevel", "error", "-print_format", "json", "-select_streams", "v:0", "-read_intervals", "%+#1"],
    ...["-show_frames", "-show_entries", "frame=side_data_list", input, "-o", MEMFS_PROBE],
  ];
}

/** A still's orientation from ffprobe's first frame (null: none or unreadable). */
export function stillOrientationOf(json: string): Orientation | null {
  const parsed = JSON.parse(json) as { frames?: Array<{ side_data_list?: Array<Record<string, unknown>> }> };
  const side = parsed.frames?.[0]?.side_data_list?.find((d) => typeof d.displaymatrix === "string");
  const matrix = side ? parseDisplayMatrix(String(side.displaymatrix)) : null;
  return matrix ? orientationFromMatrix(matrix) : null;
}

/**
 * The input's timeline from its packets: where its media ends and where its last picture starts
 * (a window starting after that holds no picture), and what the wasm build (FFmpeg's CLI, which
 * repairs none of it) would get wrong — a stream going back in time (a second copy of a stretch, a
 * reset), audio jumping ahead (a gap, or bogus timestamps), video jumping far ahead.
 */
export function timelineOf(
  csv: string,
  facts: MediaFacts,
): { endSec: number | null; lastPictureSec: number | null; problem: string | null } {
  const video = facts.streams.find((s) => s.type === "video" && s.codec !== "mjpeg" && s.codec !== "png");
  const audio = facts.streams.find((s) => s.type === "audio");
  const last = new Map<number, number>();
  let startSec: number | null = null;
  let endSec: number | null = null;
  let lastPicture: number | null = null;
  // Times are the container's (an MPEG-PS may start at 0.5 s); the media's length counts from its start.
  const result = (problem: string | null) => ({
    endSec: endSec === null ? null : endSec - (startSec ?? 0),
    lastPictureSec: lastPicture === null ? null : lastPicture - (startSec ?? 0),
    problem,
  });
  for (const line of csv.split("\n")) {
    const [indexText, ptsText, dtsText, durationText] = line.split(",");
    const index = Number(indexText);
    const kind = index === video?.index ? "video" : index === audio?.index ? "audio" : null;
    if (kind === null) continue;
    const pts = Number.parseFloat(ptsText ?? "");
    const dts = Number.parseFloat(dtsText ?? "");
    const time = kind === "video" && Number.isFinite(dts) ? dts : Number.isFinite(pts) ? pts : dts;
    if (!Number.isFinite(time)) continue;
    const duration = Number.parseFloat(durationText ?? "");
    const end = time + (Number.isFinite(duration) ? duration : 0);
    const previous = last.get(index);
    if (previous !== undefined) {
      const step = time - previous;
      if (step < (kind === "audio" ? -0.2 : -0.5)) {
        return result(`go back in time by ${(-step).toFixed(2)} s (${kind}, at ${previous.toFixed(2)} s)`);
      }
      if (kind === "audio" && step > 0.5) {
        return result(`jump ${step.toFixed(2)} s ahead (audio, at ${previous.toFixed(2)} s)`);
      }
      if (kind === "video" && step > 10) {
        return result(`jump ${step.toFixed(2)} s ahead (video, at ${previous.toFixed(2)} s)`);
      }
    }
    last.set(index, Math.max(previous ?? time, time));
    startSec = Math.min(startSec ?? time, time);
    endSec = Math.max(endSec ?? end, end);
    // A picture starts at its presentation time (pts), whatever its decode order.
    if (kind === "video") lastPicture = Math.max(lastPicture ?? -Infinity, Number.isFinite(pts) ? pts : time);
  }
  return result(null);
}

function videoFilter(
  video: {
    maxWidth: number | null;
    maxHeight: number | null;
    crop?: VideoEncodeOptions["crop"];
    fps?: number | null;
  },
  facts: WasmInputFacts,
  stream?: number,
  burn: WasmBurn | null = null,
): string {
  let { width, height, sar } = geometry(facts, stream);
  // The frame rate first, as the native engine does: later steps then see only the kept frames.
  const filters: string[] = [
    ...(video.fps ? [`fps=${video.fps}`] : []),
    ...orientationFilters(facts.stillOrientation),
  ];
  const crop = video.crop ?? null;
  if (crop) {
    if (crop.x + crop.width > width || crop.y + crop.height > height) {
      throw new EngineError(
        "UNSUPPORTED",
        `the crop rectangle ${crop.width}x${crop.height}+${crop.x}+${crop.y} does not fit the ${width}x${height} picture`,
      );
    }
    filters.push(`crop=${crop.width}:${crop.height}:${crop.x}:${crop.y}:exact=1`);
    width = crop.width;
    height = crop.height;
  }
  const size = fitSize(width, height, sar, video.maxWidth, video.maxHeight);
  filters.push(`scale=${size.width}:${size.height}`, "setsar=1");
  // Our own MEMFS names only (fixed characters): no client text is part of the filter string.
  if (burn) filters.push(`ass=filename=${burn.script}:fontsdir=${burn.fontsDir}:shaping=complex`);
  return filters.join(",");
}

function trimArgs(trim: Trim | null): { before: string[]; after: string[] } {
  if (!trim) return { before: [], after: [] };
  const before = trim.startSec > 0 ? ["-ss", String(trim.startSec)] : [];
  const after = trim.endSec !== null ? ["-t", String(trim.endSec - trim.startSec)] : [];
  return { before, after };
}

/** The input video stream a chosen track names (resolved from the probe), or undefined for the main one. */
function videoStream(track: TrackChoice | null | undefined, facts: MediaFacts): number | undefined {
  return track ? videoStreamFor(track, facts) : undefined;
}

/** The `-map` of an output's video: the chosen track as `0:<stream index>`, else the first video track. */
function videoMap(stream: number | undefined, optional: boolean): string {
  if (stream !== undefined) return `0:${stream}`;
  return optional ? "0:v:0?" : "0:v:0";
}

/** The filter graph's output a mix is mapped from. */
const MIX_LABEL = "[mix]";

/**
 * Several tracks averaged into one, as the native engine mixes them (FilterGraph::ForAudioMix):
 * each input resampled to the output rate and started at 0, then amix (average, longest). Every
 * value is a number from the probe or the plan; the stream numbers are resolved, never the job's.
 */
function mixArgs(audio: AudioEncodeOptions, facts: MediaFacts): string[] | null {
  if (!audio.track || audio.track === "all") return null;
  const { streams, mix } = audioStreamsFor(audio.track, facts);
  if (!mix) return null;
  const tracks = streams.map((index) => facts.streams.find((s) => s.index === index));
  const rate = audio.sampleRate ?? Math.max(...tracks.map((t) => t?.sampleRate ?? 48000));
  const channels = audio.channels ?? Math.min(2, Math.max(1, ...tracks.map((t) => t?.channels ?? 1)));
  const layout = channels === 1 ? "mono" : channels === 2 ? "stereo" : `${channels}c`;
  const inputs = streams.map(
    (index, i) =>
      `[0:${index}]aresample=osr=${rate}:first_pts=0,aformat=sample_fmts=fltp:sample_rates=${rate}:channel_layouts=${layout}[m${i}]`,
  );
  const labels = streams.map((_, i) => `[m${i}]`).join("");
  const graph = `${inputs.join(";")};${labels}amix=inputs=${streams.length}:duration=longest:normalize=1${MIX_LABEL}`;
  const args = ["-filter_complex", graph];
  const languages = new Set(tracks.map((t) => t?.language).filter((l): l is string => l !== undefined));
  // As the native engine: one language kept, several become "mul" (ISO 639-2: multiple languages).
  if (languages.size > 0)
    args.push("-metadata:s:a:0", `language=${languages.size === 1 ? [...languages][0] : "mul"}`);
  return args;
}

/**
 * The `-map` of an output's audio: the chosen track as `0:<stream index>` (a number resolved from
 * the probe, never text from the job), a mix's graph output, else the first audio track (`?`:
 * optional).
 */
function audioMap(audio: AudioEncodeOptions, facts: MediaFacts, optional: boolean, mixed: boolean): string {
  if (mixed) return MIX_LABEL;
  if (audio.track === "all") return "0:a?";
  const chosen = oneAudioStream(audio, facts);
  if (chosen !== null) return `0:${chosen}`;
  return optional ? "0:a:0?" : "0:a:0";
}

/** The one input stream a track choice (not "all", not a mix of several) names; null: none chosen. */
function oneAudioStream(audio: AudioEncodeOptions, facts: MediaFacts): number | null {
  if (!audio.track || audio.track === "all") return null;
  return audioStreamsFor(audio.track, facts).streams[0] ?? null;
}

function audioEncodeArgs(audio: AudioEncodeOptions, facts: MediaFacts, mixed: boolean): string[] {
  const args = ["-c:a", AUDIO_FORMATS[audio.codec].encoder];
  if (audio.bitrateKbps !== null && audio.codec !== "flac" && audio.codec !== "wav") {
    args.push("-b:a", `${audio.bitrateKbps}k`);
  }
  // A mix's graph already gives the channels and rate.
  if (mixed) return args;
  // As the native engine: the input's channels, capped at stereo, unless asked otherwise.
  if (audio.channels !== null) args.push("-ac", String(audio.channels));
  else if (audio.track === "all") {
    // Every track capped at stereo on its own, as the native engine does (output audio track i).
    const tracks = tracksOf("audio", facts);
    for (const [i, t] of tracks.entries()) if ((t.channels ?? 2) > 2) args.push(`-ac:a:${i}`, "2");
  } else {
    const chosen = oneAudioStream(audio, facts);
    const source = facts.streams.find((s) => s.type === "audio" && (chosen === null || s.index === chosen));
    if ((source?.channels ?? 2) > 2) args.push("-ac", "2");
  }
  if (audio.sampleRate !== null) args.push("-ar", String(audio.sampleRate));
  return args;
}

/** Seconds between `-progress` blocks: a few ticks per second. */
const STATS_PERIOD = "0.25";
export const COMMON = [
  "-loglevel",
  "error",
  "-nostats",
  "-progress",
  "pipe:1",
  "-stats_period",
  STATS_PERIOD,
];

/** Builds the argument list for a video output. Every value comes from a field checkPlan accepted. */
/** A burn in MEMFS: the ASS script we wrote and the folder of the named fonts. */
export interface WasmBurn {
  script: string;
  fontsDir: string;
}

/** A subtitle track from an SRT file we wrote into MEMFS (cues already cut to the output's trim). */
export interface WasmTrack {
  file: string;
  codec: "mov_text" | "webvtt" | "subrip";
  /** ISO 639-2 or "". */
  language: string;
  title: string;
  isDefault: boolean;
}

export function videoArgs(
  output: VideoPlanOutput,
  input: string,
  facts: WasmInputFacts,
  out: string,
  subtitles: { burn: WasmBurn | null; tracks: WasmTrack[] } = { burn: null, tracks: [] },
): string[] {
  const trim = trimArgs(output.trim);
  // Subtitle files come after the input's -ss (which is the input's alone) and before -t (an
  // output option), their cues already on the output's timeline.
  const trackInputs = subtitles.tracks.flatMap((t) => ["-i", t.file]);
  const args = [
    ...COMMON,
    ...trim.before,
    ...inputOptions(facts),
    "-i",
    input,
    ...trackInputs,
    ...trim.after,
  ];
  // `?` makes each map optional, so an input without audio (or video) still runs.
  const stream = videoStream(output.video?.track, facts);
  if (output.video) args.push("-map", videoMap(stream, true));
  const mix = output.audio && output.audio !== "copy" ? mixArgs(output.audio, facts) : null;
  if (mix) args.push(...mix);
  if (output.audio === "copy") args.push("-map", "0:a:0?");
  else if (output.audio) args.push("-map", audioMap(output.audio, facts, true, mix !== null));
  subtitles.tracks.forEach((track, i) => {
    args.push("-map", `${i + 1}:0`);
    // Tags and titles are argument values (never parsed as options or filters); checkPlan bounds them.
    if (track.language) args.push(`-metadata:s:s:${i}`, `language=${track.language}`);
    args.push(`-metadata:s:s:${i}`, `title=${track.title}`);
    args.push(`-disposition:s:${i}`, track.isDefault ? "default" : "0");
  });
  const first = subtitles.tracks[0];
  if (first) args.push("-c:s", first.codec === "subrip" ? "srt" : first.codec);
  const { video, audio } = output;
  if (video) {
    args.push("-vf", videoFilter(video, facts, stream, subtitles.burn));
    // yuv420p: high-bit-depth or 4:4:4 inputs would otherwise give H.264 profiles players reject.
    args.push("-c:v", "libx264", "-preset", video.preset, "-pix_fmt", "yuv420p");
    if (video.crf !== null) args.push("-crf", String(video.crf));
    else args.push("-b:v", `${video.bitrateKbps}k`);
  } else {
    args.push("-vn");
  }
  if (audio === "copy") args.push("-c:a", "copy");
  else if (audio) args.push(...audioEncodeArgs(audio, facts, mix !== null));
  else args.push("-an");
  if (output.container === "mp4" || output.container === "mov") args.push("-movflags", "+faststart");
  args.push("-f", VIDEO_MUXERS[output.container], out);
  return args;
}

/** One of the input's subtitle streams (an index from the probe) written as WebVTT. */
export function subtitleExtractArgs(input: string, streamIndex: number, out: string): string[] {
  return [...COMMON, "-i", input, "-map", `0:${streamIndex}`, "-c:s", "webvtt", "-f", "webvtt", out];
}

export function audioArgs(output: AudioPlanOutput, input: string, facts: MediaFacts, out: string): string[] {
  const trim = trimArgs(output.trim);
  const mix = mixArgs(output.audio, facts);
  const map = audioMap(output.audio, facts, false, mix !== null);
  const args = [...COMMON, ...trim.before, "-i", input, ...trim.after, ...(mix ?? []), "-map", map, "-vn"];
  args.push(...audioEncodeArgs(output.audio, facts, mix !== null));
  args.push("-f", AUDIO_FORMATS[output.audio.codec].muxer, out);
  return args;
}

/**
 * An animation through the CLI: the clip's window, its box (480 wide when none), its rate; a GIF
 * gets a palette computed for the clip (split → palettegen → paletteuse, numbers only), WebP a
 * fixed quality, MP4 x264 without audio.
 */
export function animationArgs(
  output: AnimationPlanOutput,
  input: string,
  facts: WasmInputFacts,
  out: string,
): string[] {
  const args = [...COMMON, "-ss", String(output.startSec), ...inputOptions(facts), "-i", input];
  const stream = videoStream(output.track, facts);
  args.push("-t", String(output.durationSec), "-map", videoMap(stream, false), "-an");
  const noBox = output.maxWidth === null && output.maxHeight === null;
  const box = {
    maxWidth: noBox ? animationDefaults.width : output.maxWidth,
    maxHeight: output.maxHeight,
    fps: output.fps,
  };
  let filter = videoFilter(box, facts, stream);
  if (output.format === "gif") {
    filter +=
      // The native engine's palette: a histogram sampled from every other frame at half size,
      // ordered dithering (see AddPalette in native/src/av/filter_graph.cc for why).
      ",split[frames][forpalette];[forpalette]select=not(mod(n\\,2)),scale=iw/2:ih/2:flags=neighbor," +
      "palettegen=max_colors=256:reserve_transparent=0:stats_mode=full[palette];" +
      "[frames][palette]paletteuse=dither=bayer:bayer_scale=3";
  }
  args.push("-vf", filter);
  if (output.format === "gif") {
    args.push("-c:v", "gif", "-loop", output.loop ? "0" : "-1", "-f", "gif", out);
  } else if (output.format === "webp") {
    args.push(
      "-c:v",
      "libwebp_anim",
      "-quality",
      String(animationDefaults.webpQuality),
      "-compression_level",
      "1",
    );
    args.push("-pix_fmt", "yuv420p", "-loop", output.loop ? "0" : "1", "-f", "webp", out);
  } else {
    args.push("-c:v", "libx264", "-preset", "veryfast", "-crf", String(animationDefaults.mp4Crf));
    args.push("-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4", out);
  }
  return args;
}

/**
 * The longest input whose waveform the wasm engine draws: it decodes the whole mono down-mix into
 * its memory file system first (16-bit, ~5.5 MiB a minute at 48 kHz).
 */
export const WASM_WAVEFORM_MAX_SEC = 30 * 60;

/** The audio as one channel of 16-bit PCM at its own rate, for a waveform. */
export function waveformPcmArgs(input: string, out: string): string[] {
  return [
    ...COMMON,
    "-i",
    input,
    "-map",
    "0:a:0",
    "-vn",
    "-ac",
    "1",
    "-c:a",
    "pcm_s16le",
    "-f",
    "s16le",
    out,
  ];
}

const IMAGE_PIX_FMTS = { jpg: "yuvj420p", png: "rgb24", webp: "yuv420p" } as const;

/** One still at `timeSec` (input seeking is frame-accurate when decoding). */
export function thumbnailArgs(
  output: ThumbnailsPlanOutput,
  input: string,
  timeSec: number,
  facts: WasmInputFacts,
  out: string,
): string[] {
  const args = ["-loglevel", "error", "-ss", String(timeSec), ...inputOptions(facts), "-i", input];
  const stream = videoStream(output.track, facts);
  args.push("-map", videoMap(stream, false), "-frames:v", "1");
  args.push("-vf", videoFilter(output, facts, stream), "-pix_fmt", IMAGE_PIX_FMTS[output.format]);
  args.push("-c:v", IMAGE_ENCODERS[output.format]);
  if (output.format === "jpg") args.push("-q:v", "3");
  args.push("-f", "image2", "-update", "1", out);
  return args;
}

/** The times a selection asks for (as the native engine computes them). */
export function thumbnailTimes(output: ThumbnailsPlanOutput, durationSec: number | null): number[] {
  const { select } = output;
  if (select.mode === "at") return [...select.atSec].sort((a, b) => a - b);
  if (durationSec === null || durationSec <= 0) {
    throw new EngineError(
      "UNSUPPORTED",
      "evenly spaced or periodic thumbnails need an input of known duration",
    );
  }
  if (select.mode === "count") {
    return Array.from({ length: select.count }, (_, i) => ((i + 0.5) * durationSec) / select.count);
  }
  if (select.mode === "scenes") {
    throw new EngineError("UNSUPPORTED", "one still per scene is not available in the wasm engine");
  }
  const times: number[] = [];
  for (let t = 0; t < durationSec && times.length < 10_000; t += select.everySec) times.push(t);
  return times;
}

export function probeArgs(input: string): string[] {
  const args = [
    "-loglevel",
    "error",
    "-print_format",
    "json",
    "-show_error",
    "-show_format",
    "-show_streams",
  ];
  return [...args, input, "-o", MEMFS_PROBE];
}

interface ProbeJson {
  error?: { code?: number; string?: string };
  format?: { format_name?: string; duration?: string; bit_rate?: string; size?: string };
  streams?: Array<Record<string, unknown>>;
}

function num(value: unknown): number | undefined {
  const n = typeof value === "string" ? Number.parseFloat(value) : value;
  return typeof n === "number" && Number.isFinite(n) ? n : undefined;
}

/** "30000/1001" → 29.97; "0/0" (no rate) → undefined. */
function rate(value: unknown): number | undefined {
  if (typeof value !== "string") return undefined;
  const [n, d] = value.split("/").map(Number);
  return n && d && Number.isFinite(n / d) ? n / d : undefined;
}

/** "2:1" → 2; absent or "0:1" → undefined. */
function ratio(value: unknown): number | undefined {
  if (typeof value !== "string") return undefined;
  const [n, d] = value.split(":").map(Number);
  return n && d && Number.isFinite(n / d) ? n / d : undefined;
}

/** Clockwise rotation from the display matrix side data (ffprobe gives it counter-clockwise). */
function rotationOf(s: Record<string, unknown>): number {
  const list = Array.isArray(s.side_data_list) ? (s.side_data_list as Array<Record<string, unknown>>) : [];
  const matrix = list.find((d) => typeof d.rotation === "number");
  if (!matrix) return 0;
  const clockwise = ((-Math.round(matrix.rotation as number) % 360) + 360) % 360;
  return (Math.round(clockwise / 90) * 90) % 360;
}

/** Pixel formats with an alpha channel (ffprobe names them; the TS side has no pixdesc). */
const ALPHA_FORMATS = /^(yuva|rgba|bgra|argb|abgr|gbrap|ya[0-9]|rgba64|bgra64)/;

/** What the native probe reads from codecpar for the content flags, from ffprobe's JSON. */
function videoContent(s: Record<string, unknown>): Partial<StreamFacts> {
  const tags = (s.tags ?? {}) as Record<string, unknown>;
  const disposition = (s.disposition ?? {}) as Record<string, unknown>;
  const transfer =
    typeof s.color_transfer === "string" && s.color_transfer !== "unknown" ? s.color_transfer : undefined;
  const field = typeof s.field_order === "string" && s.field_order !== "unknown" ? s.field_order : undefined;
  return {
    colorTransfer: transfer,
    fieldOrder: field,
    alpha:
      ALPHA_FORMATS.test(String(s.pix_fmt ?? "")) || String(tags.alpha_mode ?? tags.ALPHA_MODE ?? "") === "1",
    attachedPicture: disposition.attached_pic === 1,
  };
}

/**
 * Per video stream, from ffprobe's packet list: how many packets (an animated image has several)
 * and whether frame durations vary over the first 300 packets or 10 s (as the native deep probe).
 */
export function videoPacketFacts(
  csv: string,
  facts: MediaFacts,
): Map<number, { packets: number; variable: boolean }> {
  const times = new Map<number, number[]>();
  const videos = new Set(facts.streams.filter((s) => s.type === "video").map((s) => s.index));
  const first = new Map<number, number>();
  for (const line of csv.split("\n")) {
    const [indexText, ptsText, dtsText] = line.split(",");
    // ffprobe prints side data on lines of their own: only "index,pts,dts,duration" lines count.
    if (!indexText || !/^\d+$/.test(indexText)) continue;
    const index = Number(indexText);
    if (!videos.has(index)) continue;
    const list = times.get(index) ?? [];
    times.set(index, list);
    if (list.length >= 300) continue;
    const pts = Number.parseFloat(ptsText ?? "");
    const t = Number.isFinite(pts) ? pts : Number.parseFloat(dtsText ?? "");
    if (Number.isFinite(t) && !first.has(index)) first.set(index, t);
    if (Number.isFinite(t) && t - (first.get(index) ?? t) > 10) continue;
    list.push(t);
  }
  const out = new Map<number, { packets: number; variable: boolean }>();
  for (const [index, list] of times) {
    const sorted = list.filter(Number.isFinite).sort((a, b) => a - b);
    const deltas: number[] = [];
    for (let i = 1; i < sorted.length; i++) {
      const d = (sorted[i] ?? 0) - (sorted[i - 1] ?? 0);
      if (d > 0) deltas.push(d);
    }
    let variable = false;
    if (deltas.length >= 8) {
      const median = [...deltas].sort((a, b) => a - b)[Math.floor(deltas.length / 2)] ?? 0;
      const off = deltas.filter((d) => Math.abs(d - median) > 0.25 * median).length;
      variable = off > 0.05 * deltas.length;
    }
    out.set(index, { packets: list.length, variable });
  }
  return out;
}

const STREAM_TYPES: Record<string, StreamFacts["type"]> = {
  video: "video",
  audio: "audio",
  subtitle: "subtitle",
  data: "data",
};

/** Language, title and default disposition, as the native probe reads them (an "und" language is none). */
function trackTags(s: Record<string, unknown>): Partial<StreamFacts> {
  const tags = (s.tags ?? {}) as Record<string, unknown>;
  const disposition = (s.disposition ?? {}) as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === "string" && v !== "" ? v.slice(0, 200) : undefined);
  const language = text(tags.language);
  return {
    language: language === "und" ? undefined : language,
    title: text(tags.title),
    default: disposition.default === 1,
  };
}

function streamFacts(s: Record<string, unknown>, index: number): StreamFacts {
  const facts: StreamFacts = {
    index: num(s.index) ?? index,
    type: STREAM_TYPES[String(s.codec_type)] ?? "other",
    codec: typeof s.codec_name === "string" ? s.codec_name : "unknown",
  };
  const optional: Partial<StreamFacts> = {
    width: num(s.width),
    height: num(s.height),
    fps: facts.type === "video" ? rate(s.avg_frame_rate) : undefined,
    sampleRate: num(s.sample_rate),
    channels: num(s.channels),
    bitRate: num(s.bit_rate),
    durationSec: num(s.duration),
    rotation: facts.type === "video" ? rotationOf(s) : undefined,
    sampleAspectRatio: ratio(s.sample_aspect_ratio),
    pixelFormat: facts.type === "video" && typeof s.pix_fmt === "string" ? s.pix_fmt : undefined,
    sampleFormat: facts.type === "audio" && typeof s.sample_fmt === "string" ? s.sample_fmt : undefined,
    profile: typeof s.profile === "string" ? s.profile : undefined,
    level: num(s.level) !== undefined && (num(s.level) ?? 0) > 0 ? num(s.level) : undefined,
    ...(facts.type === "video" ? videoContent(s) : {}),
    ...trackTags(s),
  };
  for (const [key, value] of Object.entries(optional)) {
    if (value !== undefined) Object.assign(facts, { [key]: value });
  }
  return facts;
}

/**
 * Reads the JSON `ffprobe -show_error -show_format -show_streams` wrote (null: it wrote none) into
 * MediaFacts, or throws INPUT_UNREADABLE with FFmpeg's last log line as the detail.
 */
export function mediaFactsFromProbe(json: string | null, stderr: string[], sizeBytes: number): MediaFacts {
  const parsed = json ? (JSON.parse(json) as ProbeJson) : null;
  if (!parsed?.format || parsed.error) {
    const reason = parsed?.error?.string ?? "no probe result";
    throw new EngineError(
      "INPUT_UNREADABLE",
      `The input is not media FFmpeg can read (${reason})`,
      stderr.at(-1) ?? reason,
    );
  }
  const { format } = parsed;
  const formatName = format.format_name ?? "unknown";
  return {
    image: /(_pipe|^image2|^gif|^apng)$/.test(formatName),
    formatName,
    durationSec: num(format.duration) ?? null,
    bitRate: num(format.bit_rate) ?? null,
    sizeBytes: num(format.size) ?? sizeBytes,
    streams: (parsed.streams ?? []).map(streamFacts),
  };
}

/**
 * Turns one FFmpeg call's `-progress` blocks (frame=, out_time_us=, progress=continue|end) into
 * measures of the output it writes; elapsed time counts from the call's start.
 */
export function progressMeasure(
  durationSec: number | null,
  emit: (measure: OutputMeasure) => void,
  now: () => number = performance.now.bind(performance),
): (block: Record<string, string>) => void {
  const started = now();
  return (block) => {
    emit({
      frames: Math.max(0, num(block.frame) ?? 0),
      // out_time_us is "N/A" before the first packet and can be negative with audio priming.
      outTimeSec: Math.max(0, (num(block.out_time_us) ?? 0) / 1e6),
      durationSec,
      elapsedSec: (now() - started) / 1000,
    });
  };
}

/** Encoder names from `ffmpeg -encoders` (" V....D libx264  libx264 H.264 ..."). */
export function parseEncoders(lines: string[]): string[] {
  const names: string[] = [];
  for (const line of lines) {
    const match = /^\s*[VAS][.A-Z]{5}\s+([\w-]+)\s/.exec(line);
    if (match?.[1]) names.push(match[1]);
  }
  return names;
}

/** "ffmpeg version 5.1.4 Copyright ..." → "5.1.4". */
export function parseVersion(lines: string[]): string {
  for (const line of lines) {
    const match = /^ffmpeg version (\S+)/.exec(line);
    if (match?.[1]) return match[1];
  }
  return "unknown";
}
