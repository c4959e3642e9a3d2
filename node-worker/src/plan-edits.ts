import { join } from "node:path";
import type {
  CompositionPlanOutput,
  EditAudioOptions,
  EditVideoOptions,
  HighlightReelPlanOutput,
  PlanAsset,
  PlanClip,
  PlanTransition,
} from "@framewire/native";
import {
  type ClipSpec,
  type CompositionOutputSpec,
  clipLabel,
  defaultCrf,
  type HighlightReelOutputSpec,
  type JobSpec,
} from "@framewire/shared";

/**
 * Edits (composition, highlight_reel) in the engine's words. Input names stay names: the plan's
 * `inputs` maps each to its file in the job's folder. A single-input job's input is named "input".
 */

/** The name a clip's `input` left out stands for: the job's only input. */
export const SINGLE_INPUT = "input";

/** Where each input of a job lands in its work folder. */
export function inputPaths(spec: JobSpec, workDir: string): Record<string, string> {
  if (!spec.inputs) return { [SINGLE_INPUT]: join(workDir, "input") };
  return Object.fromEntries(Object.keys(spec.inputs).map((name) => [name, join(workDir, `input-${name}`)]));
}

function onlyInput(spec: JobSpec): string {
  return spec.inputs ? (Object.keys(spec.inputs)[0] ?? SINGLE_INPUT) : SINGLE_INPUT;
}

function editVideo(video: CompositionOutputSpec["video"]): EditVideoOptions {
  const bitrate = video.bitrate_kbps ?? null;
  return {
    codec: video.codec,
    crf: bitrate === null ? (video.crf ?? defaultCrf[video.codec]) : null,
    bitrateKbps: bitrate,
    preset: video.preset,
  };
}

function editAudio(audio: CompositionOutputSpec["audio"]): EditAudioOptions | null {
  if (audio === false) return null;
  return {
    codec: audio.codec,
    bitrateKbps: audio.bitrate_kbps,
    channels: audio.channels ?? null,
    sampleRate: audio.sample_rate ?? null,
  };
}

function transition(
  kind: PlanTransition["kind"] | undefined,
  durationSec: number | undefined,
): PlanTransition | null {
  return kind && durationSec !== undefined ? { kind, durationSec } : null;
}

function asset(clip: ClipSpec, fallbackInput: string): PlanAsset {
  const a = clip.asset;
  switch (a.type) {
    case "video":
    case "audio":
      return {
        type: a.type,
        input: a.input ?? fallbackInput,
        trimStartSec: a.trim?.start_sec ?? 0,
        trimEndSec: a.trim?.end_sec ?? null,
      };
    case "image":
      return { type: "image", input: a.input ?? fallbackInput };
    case "text":
      return {
        type: "text",
        text: a.text,
        font: a.font,
        fontSize: a.font_size,
        color: a.color,
        background: a.background ?? null,
      };
  }
}

export function compositionOutput(
  output: CompositionOutputSpec,
  spec: JobSpec,
  workDir: string,
): CompositionPlanOutput {
  const fallback = onlyInput(spec);
  return {
    kind: "composition",
    name: output.name,
    path: join(workDir, `out-${output.name}.${output.container}`),
    container: output.container,
    video: editVideo(output.video),
    audio: editAudio(output.audio),
    canvas: { ...output.canvas },
    tracks: output.tracks.map((track, t) =>
      track.clips.map(
        (clip, c): PlanClip => ({
          label: clipLabel(t, c),
          asset: asset(clip, fallback),
          startSec: clip.start_sec,
          lengthSec: clip.length_sec ?? null,
          fit: clip.fit,
          position: clip.position,
          offsetX: clip.offset.x,
          offsetY: clip.offset.y,
          scale: clip.scale,
          opacity: clip.opacity,
          volume: clip.volume,
          transitionIn: transition(clip.transition?.in, clip.transition?.duration_sec),
          transitionOut: transition(clip.transition?.out, clip.transition?.duration_sec),
        }),
      ),
    ),
    soundtrack: output.soundtrack
      ? {
          input: output.soundtrack.input ?? fallback,
          trimStartSec: output.soundtrack.trim?.start_sec ?? 0,
          trimEndSec: output.soundtrack.trim?.end_sec ?? null,
          volume: output.soundtrack.volume,
          fadeInSec: output.soundtrack.fade_in_sec,
          fadeOutSec: output.soundtrack.fade_out_sec,
          duckDb: output.soundtrack.duck ?? null,
        }
      : null,
  };
}

export function highlightReelOutput(
  output: HighlightReelOutputSpec,
  spec: JobSpec,
  workDir: string,
): HighlightReelPlanOutput {
  return {
    kind: "highlight_reel",
    name: output.name,
    path: join(workDir, `out-${output.name}.${output.container}`),
    container: output.container,
    video: editVideo(output.video),
    audio: editAudio(output.audio),
    input: output.input ?? onlyInput(spec),
    segments: output.segments,
    totalSec: output.total_sec ?? null,
    minSec: output.min_sec,
    maxSec: output.max_sec,
    crossfadeSec: output.crossfade_sec,
    maxHeight: output.height ?? null,
  };
}
