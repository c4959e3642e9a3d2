/**
 * Turns what an engine wrote into OutputFacts by reading it back (probing files, reading
 * playlists), never by trusting the plan. Shared by both engines: each passes its own probe.
 */
import { readdir, rm, stat, writeFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import type { ProbeFacts, SubtitleTrackFacts } from "@framewire/shared/media";
import type {
  MediaFacts,
  OutputFacts,
  OutputFile,
  PlanOutput,
  ProbePlanOutput,
  ThumbnailsPlanOutput,
} from "./engine";
import { AUDIO_FORMATS } from "./plan-check";

export type ProbeFn = (path: string) => Promise<MediaFacts>;

/** A probe's first video and audio stream, in the API's words. */
export function streamFacts(facts: MediaFacts): Pick<OutputFacts, "video" | "audio"> {
  const video = facts.streams.find((s) => s.type === "video");
  const audio = facts.streams.find((s) => s.type === "audio");
  return {
    video: video
      ? {
          codec: video.codec,
          width: video.width ?? 0,
          height: video.height ?? 0,
          fps: video.fps ?? null,
          pixel_format: video.pixelFormat ?? null,
        }
      : null,
    audio: audio
      ? { codec: audio.codec, sample_rate: audio.sampleRate ?? 0, channels: audio.channels ?? 0 }
      : null,
  };
}

/** The subtitle tracks of a written file, in stream order, as a job reports them. */
export function subtitleTrackFacts(facts: MediaFacts): SubtitleTrackFacts[] {
  return facts.streams
    .filter((s) => s.type === "subtitle")
    .map((s) => ({
      codec: s.codec,
      language: s.language ?? null,
      title: s.title ?? null,
      default: s.default ?? false,
    }));
}

/** The container name a single-file output reports. */
export function containerOf(output: PlanOutput): string {
  switch (output.kind) {
    case "video":
      return output.container;
    case "audio":
      return AUDIO_FORMATS[output.audio.codec].extension;
    case "thumbnails":
    case "animation":
      return output.format;
    case "waveform":
      return output.image;
    case "hls":
    case "dash":
      return output.kind;
    case "probe":
    case "analysis":
      return "json";
    case "subtitles":
      return output.format;
    case "composition":
    case "highlight_reel":
      return output.container;
  }
}

/** Summarises a probe of a written single-file output (video or audio) into the facts a job reports. */
export function outputFactsFromProbe(
  output: PlanOutput,
  facts: MediaFacts,
  extra: Partial<OutputFacts> = {},
): OutputFacts {
  return {
    name: output.name,
    kind: output.kind,
    path: "path" in output ? output.path : output.dir,
    sizeBytes: facts.sizeBytes,
    container: containerOf(output),
    durationSec: facts.durationSec,
    ...streamFacts(facts),
    ...extra,
  };
}

export async function fileEntry(root: string, path: string): Promise<OutputFile> {
  return {
    path,
    relativePath: relative(root, path).split(sep).join("/"),
    sizeBytes: (await stat(path)).size,
  };
}

/** Every file under `root`, sorted, with its path relative to it. */
export async function listFiles(root: string): Promise<OutputFile[]> {
  const names = (await readdir(root, { recursive: true, withFileTypes: true }))
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name))
    .sort();
  return Promise.all(names.map((p) => fileEntry(root, p)));
}

function vttTime(seconds: number): string {
  const ms = Math.round(seconds * 1000);
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${pad(h)}:${pad(m)}:${pad(s)}.${pad(ms % 1000, 3)}`;
}

/**
 * A WebVTT storyboard: one cue per thumbnail, from its time to the next one's (the last to the end
 * of the input), pointing at its tile in the sprite sheet (Media Fragments #xywh).
 */
export function storyboardVtt(
  sprite: string,
  timesSec: number[],
  tile: { width: number; height: number; columns: number },
  endSec: number | null,
): string {
  const cues = timesSec.map((start, i) => {
    const next = timesSec[i + 1];
    const end = next ?? Math.max(endSec ?? start + 1, start + 0.001);
    const x = (i % tile.columns) * tile.width;
    const y = Math.floor(i / tile.columns) * tile.height;
    return `${vttTime(start)} --> ${vttTime(end)}\n${sprite}#xywh=${x},${y},${tile.width},${tile.height}\n`;
  });
  return `WEBVTT\n\n${cues.join("\n")}`;
}

export async function thumbnailFacts(
  output: ThumbnailsPlanOutput,
  written: { files: string[]; timesSec: number[]; sprite?: string; tileWidth?: number; tileHeight?: number },
  probe: ProbeFn,
  inputDurationSec: number | null = null,
): Promise<OutputFacts> {
  let sprite: OutputFacts["sprite"];
  const paths = [...written.files];
  if (written.sprite && output.sprite) {
    const tile = {
      width: written.tileWidth ?? 0,
      height: written.tileHeight ?? 0,
      columns: output.sprite.columns,
    };
    const spriteName = relative(output.dir, written.sprite).split(sep).join("/");
    const vttPath = join(output.dir, "storyboard.vtt");
    await writeFile(vttPath, storyboardVtt(spriteName, written.timesSec, tile, inputDurationSec));
    paths.push(written.sprite, vttPath);
    sprite = {
      relativePath: spriteName,
      storyboard: "storyboard.vtt",
      tileWidth: tile.width,
      tileHeight: tile.height,
      columns: tile.columns,
    };
  }
  const files = await Promise.all(paths.map((p) => fileEntry(output.dir, p)));
  const first = written.files[0];
  const facts = first ? await probe(first) : null;
  return {
    name: output.name,
    kind: "thumbnails",
    path: output.dir,
    sizeBytes: files.reduce((sum, f) => sum + f.sizeBytes, 0),
    container: output.format,
    durationSec: null,
    video: facts ? streamFacts(facts).video : null,
    audio: null,
    files,
    thumbnails: written.files.map((_, i) => ({
      time_sec: written.timesSec[i] ?? 0,
      relative_path: files[i]?.relativePath ?? "",
    })),
    ...(sprite ? { sprite } : {}),
  };
}

const HDR_TRANSFERS = new Set(["smpte2084", "arib-std-b67"]);
const INTERLACED = new Set(["tt", "bb", "tb", "bt"]);

/** What the input is to a user, and the content flags users filter on (from a deep probe). */
export function contentFlags(
  facts: MediaFacts,
): Pick<
  ProbeFacts,
  "media_kind" | "has_alpha" | "hdr" | "color_transfer" | "interlaced" | "variable_frame_rate" | "rotation"
> {
  const pictures = facts.streams.filter((s) => s.type === "video" && !s.attachedPicture);
  // The stream the deep probe read is the one the engine decodes (FFmpeg's best video stream).
  const main = pictures.find((s) => s.packets !== undefined) ?? pictures[0];
  const mediaKind = main
    ? facts.image
      ? (main.packets ?? 1) > 1
        ? "animated_image"
        : "image"
      : "video"
    : facts.streams.some((s) => s.type === "audio")
      ? "audio"
      : null;
  return {
    media_kind: mediaKind,
    has_alpha: main?.alpha ?? false,
    hdr: HDR_TRANSFERS.has(main?.colorTransfer ?? ""),
    color_transfer: main?.colorTransfer ?? null,
    interlaced: INTERLACED.has(main?.fieldOrder ?? ""),
    variable_frame_rate: main?.variableFrameRate ?? false,
    rotation: main?.rotation ?? 0,
  };
}

/** A probe in the API's own words (snake_case), as an analysis output reports and writes it. */
export function probeDocument(facts: MediaFacts): ProbeFacts {
  return {
    format_name: facts.formatName,
    duration_sec: facts.durationSec,
    bit_rate: facts.bitRate,
    size_bytes: facts.sizeBytes,
    streams: facts.streams.map((s) => ({
      index: s.index,
      type: s.type,
      codec: s.codec,
      width: s.width,
      height: s.height,
      fps: s.fps,
      sample_rate: s.sampleRate,
      channels: s.channels,
      bit_rate: s.bitRate,
      duration_sec: s.durationSec,
      rotation: s.rotation,
      sample_aspect_ratio: s.sampleAspectRatio,
      pixel_format: s.pixelFormat,
      sample_format: s.sampleFormat,
      profile: s.profile,
      level: s.level,
      language: s.language,
      title: s.title,
      default: s.default,
    })),
    ...contentFlags(facts),
  };
}

export async function probeFacts(output: ProbePlanOutput, facts: MediaFacts): Promise<OutputFacts> {
  const document = probeDocument(facts);
  const json = `${JSON.stringify(document, null, 2)}\n`;
  await writeFile(output.path, json);
  return {
    name: output.name,
    kind: "probe",
    path: output.path,
    sizeBytes: Buffer.byteLength(json),
    container: "json",
    durationSec: facts.durationSec,
    ...streamFacts(facts),
    probe: document,
  };
}

/** What a written output must hold (its post-write check). */
export interface OutputExpectation {
  /** null: unknown (not checked). */
  durationSec: number | null;
  video: boolean;
  audio: boolean;
}

/**
 * Duration tolerance of the post-write check: encoder priming and padding, the last frame's length
 * and container rounding stay well inside it; a zero-length trim, a lost stream or a file many
 * times its media's length do not.
 */
export function durationTolerance(expectedSec: number): number {
  return Math.max(0.5, expectedSec * 0.05);
}

/**
 * The post-write check of one output against what it should hold: null when it holds, else the
 * reason, in words a user can act on.
 */
export function outputMismatch(facts: OutputFacts, expected: OutputExpectation): string | null {
  if (expected.video !== (facts.video !== null)) {
    return expected.video
      ? "it has no video stream, though the input has video"
      : "it has a video stream it should not have";
  }
  if (expected.audio !== (facts.audio !== null)) {
    return expected.audio
      ? "it has no audio stream, though the input has audio"
      : "it has an audio stream it should not have";
  }
  if (expected.durationSec !== null && expected.durationSec < 0.001) {
    return "its trim window holds none of the input's media (the window starts after the media ends)";
  }
  if (expected.durationSec !== null) {
    const got = facts.durationSec;
    const tolerance = durationTolerance(expected.durationSec);
    if (got === null || Math.abs(got - expected.durationSec) > tolerance) {
      return (
        `its duration is ${got === null ? "unknown" : `${got.toFixed(2)} s`}, but ${expected.durationSec.toFixed(2)} s ` +
        `(±${tolerance.toFixed(2)} s) of media were asked for`
      );
    }
  }
  return null;
}

/** Removes whatever a failed run may have left: single files and whole output folders. */
export async function removeOutputs(outputs: PlanOutput[]): Promise<void> {
  await Promise.all(
    outputs.map((o) => rm("path" in o ? o.path : o.dir, { recursive: true, force: true }).catch(() => {})),
  );
}
