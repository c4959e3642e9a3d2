/**
 * Where a ladder's files go (see ladder.ts for what they are once written): pure, so the plan's
 * compiler and checks use it without reading anything.
 */
import { join } from "node:path";
import type { DashPlanOutput, HlsPlanOutput, HlsRendition } from "./engine";

export type LadderPlanOutput = HlsPlanOutput | DashPlanOutput;

/**
 * Where a CMAF ladder's shared timeline starts, seconds: every track's packets move this far on,
 * more than any encoder starts before zero (B-frame delay, AAC priming), so the muxer never shifts
 * one track on its own and the tracks stay in sync by their own timestamps (the addon's
 * OutputFile::Options). A DASH Period starts here (presentationTimeOffset).
 */
export const CMAF_TIMELINE_START_SEC = 10;

export const isCmaf = (output: LadderPlanOutput): boolean =>
  output.kind === "dash" || output.segments === "cmaf";

/** The folder of a CMAF ladder's audio at one bit rate. */
export const audioTrackName = (kbps: number) => `audio-${kbps}k`;

export interface LadderTrack {
  /** Folder name inside the ladder's dir: the rendition's ("720p") or the audio's ("audio-128k"). */
  name: string;
  /** "muxed": a TS rendition, video and audio; "video" / "audio": one CMAF track. */
  type: "muxed" | "video" | "audio";
  dir: string;
  playlist: string;
  segmentPattern: string;
}

/** Every track of a ladder and where it lives inside `root` (its own dir, or the HLS output's it shares). */
export function ladderTracks(
  output: LadderPlanOutput,
  root: string = output.dir,
): {
  video: (LadderTrack & { rendition: HlsRendition })[];
  audio: (LadderTrack & { bitrateKbps: number })[];
} {
  const cmaf = isCmaf(output);
  const track = (name: string, type: LadderTrack["type"]): LadderTrack => {
    const dir = join(root, name);
    const segmentPattern = join(dir, cmaf ? "seg_%05d.m4s" : "seg_%05d.ts");
    return { name, type, dir, playlist: join(dir, "index.m3u8"), segmentPattern };
  };
  const video = output.renditions.map((rendition) => ({
    ...track(rendition.name, cmaf ? "video" : "muxed"),
    rendition,
  }));
  const rates = cmaf ? [...new Set(output.renditions.map((r) => r.audioBitrateKbps))] : [];
  const audio = rates.map((bitrateKbps) => ({ ...track(audioTrackName(bitrateKbps), "audio"), bitrateKbps }));
  return { video, audio };
}

/** Whether two ladders encode the same thing (segment length, preset, renditions in any order). */
export function sameLadder(a: LadderPlanOutput, b: LadderPlanOutput): boolean {
  if (a.segmentSec !== b.segmentSec || a.preset !== b.preset || a.renditions.length !== b.renditions.length)
    return false;
  return a.renditions.every((r) =>
    b.renditions.some(
      (s) =>
        s.name === r.name &&
        s.maxHeight === r.maxHeight &&
        s.videoBitrateKbps === r.videoBitrateKbps &&
        s.audioBitrateKbps === r.audioBitrateKbps,
    ),
  );
}
