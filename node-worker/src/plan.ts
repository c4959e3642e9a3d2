import { join, posix } from "node:path";
import {
  type AnalysisPlanOutput,
  AUDIO_FORMATS,
  type AudioEncodeOptions,
  type HlsPlanOutput,
  type Plan,
  type PlanOutput,
  type SubtitleUsePlan,
  sameLadder,
} from "@framewire/native";
import {
  analysisDefaults,
  defaultCrf,
  type JobSpec,
  type OutputSpec,
  type SubtitleUse,
} from "@framewire/shared";
import { compositionOutput, highlightReelOutput, inputPaths } from "./plan-edits";

type Spec<T extends OutputSpec["type"]> = Extract<OutputSpec, { type: T }>;

function trim(spec: { trim?: { start_sec: number; end_sec?: number } | undefined }) {
  return spec.trim ? { startSec: spec.trim.start_sec, endSec: spec.trim.end_sec ?? null } : null;
}

function audioOptions(
  audio: {
    codec: AudioEncodeOptions["codec"];
    bitrate_kbps: number;
    channels?: number;
    sample_rate?: number;
    track?: AudioEncodeOptions["track"];
  },
  loudness?: { target_lufs: number },
): AudioEncodeOptions {
  return {
    codec: audio.codec,
    bitrateKbps: audio.bitrate_kbps,
    channels: audio.channels ?? null,
    sampleRate: audio.sample_rate ?? null,
    loudnessTargetLufs: loudness?.target_lufs ?? null,
    ...(audio.track ? { track: audio.track } : {}),
  };
}

/** Where the worker puts a video output's watermark image before the run. */
export function watermarkPath(workDir: string, outputName: string): string {
  return join(workDir, `watermark-${outputName}`);
}

/** Where the worker puts one of the job's subtitle files before the run. */
export function subtitlePath(workDir: string, name: string): string {
  return join(workDir, `subtitles-${name}`);
}

function subtitleUse(use: SubtitleUse): SubtitleUsePlan {
  if (use.mode === "track") return { input: use.input, mode: "track", default: use.default };
  const style = use.style;
  return {
    input: use.input,
    mode: "burn",
    style: {
      font: style.font,
      fontSize: style.font_size,
      color: style.color,
      outlineColor: style.outline_color,
      outlinePx: style.outline_px,
      background: style.background ?? null,
      position: style.position,
      marginPct: style.margin_pct,
    },
  };
}

function videoOutput(output: Spec<"video">, workDir: string): PlanOutput {
  const v = output.video;
  const watermark = v.watermark
    ? {
        imagePath: watermarkPath(workDir, output.name),
        position: v.watermark.position,
        marginPx: v.watermark.margin_px,
        opacity: v.watermark.opacity,
        widthFraction: v.watermark.width_pct !== undefined ? v.watermark.width_pct / 100 : null,
      }
    : null;
  const bitrate = v.bitrate_kbps ?? null;
  return {
    kind: "video",
    name: output.name,
    path: join(workDir, `out-${output.name}.${output.container}`),
    container: output.container,
    video: {
      codec: v.codec,
      maxWidth: v.width ?? null,
      maxHeight: v.height ?? null,
      crf: bitrate === null ? (v.crf ?? defaultCrf[v.codec]) : null,
      bitrateKbps: bitrate,
      preset: v.preset,
      fps: v.fps ?? null,
      crop: v.crop ?? null,
      watermark,
      ...(v.track ? { track: v.track } : {}),
    },
    audio: output.audio === false ? null : output.audio === "copy" ? "copy" : audioOptions(output.audio),
    trim: trim(output),
    ...(output.subtitles ? { subtitles: output.subtitles.map(subtitleUse) } : {}),
  };
}

function thumbnailsOutput(output: Spec<"thumbnails">, workDir: string): PlanOutput {
  const select =
    output.select === "scenes"
      ? { mode: "scenes" as const, threshold: output.scene_threshold ?? analysisDefaults.sceneThreshold }
      : output.at_sec !== undefined
        ? { mode: "at" as const, atSec: output.at_sec }
        : output.every_sec !== undefined
          ? { mode: "every" as const, everySec: output.every_sec }
          : { mode: "count" as const, count: output.count ?? 1 };
  return {
    kind: "thumbnails",
    name: output.name,
    dir: join(workDir, `out-${output.name}`),
    format: output.format,
    maxWidth: output.width ?? null,
    maxHeight: output.height ?? null,
    select,
    sprite: output.sprite ?? null,
    ...(output.track ? { track: output.track } : {}),
  };
}

/** Each analysis kind with its options, in the engine's words; probe stays its own plan output. */
function analysisOutput(output: Spec<"analysis">, workDir: string): PlanOutput {
  const base = { name: output.name, path: join(workDir, `out-${output.name}.json`) };
  const measure = (analysis: AnalysisPlanOutput["analysis"]): PlanOutput => ({
    kind: "analysis",
    ...base,
    analysis,
  });
  switch (output.analysis) {
    case "probe":
      return { kind: "probe", ...base };
    case "loudness":
      return measure({ kind: "loudness", momentaryPoints: output.momentary_points });
    case "silence":
      return measure({ kind: "silence", noiseDb: output.noise_db, minDurationSec: output.min_duration_sec });
    case "scenes":
      return measure({ kind: "scenes", threshold: output.threshold });
    case "black":
      return measure({
        kind: "black",
        minDurationSec: output.min_duration_sec,
        pixelThreshold: output.pixel_threshold,
        pictureRatio: output.picture_ratio,
      });
    case "freeze":
      return measure({ kind: "freeze", noiseDb: output.noise_db, minDurationSec: output.min_duration_sec });
    case "tempo":
      return measure({ kind: "tempo", minBpm: output.min_bpm, maxBpm: output.max_bpm });
    case "key":
      return measure({ kind: "key" });
    case "fingerprint":
      return measure({
        kind: "fingerprint",
        audioSec: output.audio_sec,
        frameIntervalSec: output.frame_interval_sec,
      });
    case "highlights":
      return measure({
        kind: "highlights",
        count: output.count,
        minSec: output.min_sec,
        maxSec: output.max_sec,
        totalSec: output.total_sec ?? null,
      });
  }
}

function planOutput(output: OutputSpec, spec: JobSpec, workDir: string): PlanOutput {
  switch (output.type) {
    case "video":
      return videoOutput(output, workDir);
    case "audio":
      return {
        kind: "audio",
        name: output.name,
        path: join(workDir, `out-${output.name}.${AUDIO_FORMATS[output.codec].extension}`),
        audio: audioOptions(output, output.loudness),
        trim: trim(output),
      };
    case "thumbnails":
      return thumbnailsOutput(output, workDir);
    case "hls":
    case "dash":
      return {
        kind: output.type,
        name: output.name,
        dir: join(workDir, `out-${output.name}`),
        segmentSec: output.segment_sec,
        preset: output.preset,
        renditions: output.renditions.map((r) => ({
          name: `${r.height}p`,
          maxHeight: r.height,
          videoBitrateKbps: r.video_bitrate_kbps,
          audioBitrateKbps: r.audio_bitrate_kbps,
        })),
        ...(output.type === "hls" && output.subtitles
          ? { subtitles: output.subtitles.map((u) => ({ input: u.input, default: u.default })) }
          : {}),
      };
    case "analysis":
      return analysisOutput(output, workDir);
    case "composition":
      return compositionOutput(output, spec, workDir);
    case "highlight_reel":
      return highlightReelOutput(output, spec, workDir);
    case "waveform":
      return {
        kind: "waveform",
        name: output.name,
        dir: join(workDir, `out-${output.name}`),
        image: output.image,
        width: output.width,
        height: output.height,
        color: output.color,
        background: output.background === "transparent" ? null : output.background,
        points: output.points ?? null,
        pointsPerSec: output.points_per_sec ?? null,
      };
    case "subtitles":
      return {
        kind: "subtitles",
        name: output.name,
        path: join(workDir, `out-${output.name}.${output.format}`),
        format: output.format,
        track: output.track ?? null,
      };
    case "animation":
      return {
        kind: "animation",
        name: output.name,
        path: join(workDir, `out-${output.name}.${output.format}`),
        format: output.format,
        startSec: output.start_sec,
        durationSec: output.duration_sec,
        fps: output.fps,
        maxWidth: output.width ?? null,
        maxHeight: output.height ?? null,
        loop: output.loop,
        ...(output.track ? { track: output.track } : {}),
      };
  }
}

/**
 * Where each output's files are stored, as a folder key (its files go below it): to link one
 * output's files from another's. The service's store keeps a job's outputs side by side
 * (`<tenant>/jobs/<job>/<output>`), and so does a destination's path template (it names {output}).
 */
export type OutputFolder = (output: string) => string;

const siblingFolders: OutputFolder = (output) => output;

/**
 * A dash output with the same ladder as an hls output of the job shares it: the ladder is encoded
 * once, in CMAF, into the hls output's folder, and the DASH manifest links those segments by the
 * relative URL between the two outputs' stored folders. Several dash outputs may share one hls.
 */
function shareLadders(outputs: PlanOutput[], folder: OutputFolder): void {
  for (const dash of outputs) {
    if (dash.kind !== "dash") continue;
    const hls = outputs.find((o): o is HlsPlanOutput => o.kind === "hls" && sameLadder(o, dash));
    if (!hls) continue;
    hls.segments = "cmaf";
    const from = folder(dash.name);
    const up = posix.relative(from, folder(hls.name));
    dash.shares = { hls: hls.name, url: `${up}/` };
  }
}

/**
 * Maps a validated job spec onto an engine plan. Paths are ours (inside the job's temp folder),
 * never the user's. `folder` says where outputs are stored (default: side by side by name).
 */
export function buildPlan(
  spec: JobSpec,
  inputPath: string,
  workDir: string,
  folder: OutputFolder = siblingFolders,
): Plan {
  const outputs = spec.outputs.map((output) => planOutput(output, spec, workDir));
  shareLadders(outputs, folder);
  return {
    inputPath,
    ...(spec.inputs ? { inputs: inputPaths(spec, workDir) } : {}),
    ...(spec.subtitles
      ? {
          subtitles: Object.fromEntries(
            Object.entries(spec.subtitles).map(([name, s]) => [
              name,
              { path: subtitlePath(workDir, name), language: s.language ?? null, label: s.label ?? null },
            ]),
          ),
        }
      : {}),
    accel: spec.accel,
    outputs,
  };
}
