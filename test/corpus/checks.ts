/**
 * What a user would notice is wrong with a written file of a corpus case, read back with the ffmpeg
 * CLI's ffprobe: shared by the expectation table and the CLI comparison, so both hold Framewire's
 * outputs and the CLI's to the same checks.
 */
import { existsSync } from "node:fs";
import type { OutputFacts } from "../../native/lib/engine";
import { type CorpusCase, durationTolerance } from "./cases";
import { greyPixels, loudnessOf, type Probed, pictureDistance, probeFile } from "./probe";

export const LOUDNESS_TARGET = -16;

export function near(got: number | null, want: number): boolean {
  return got !== null && Math.abs(got - want) <= durationTolerance(want);
}

function ratio(text: string | null): number {
  const [n, d] = (text ?? "1:1").split(":").map(Number);
  return n && d ? n / d : 1;
}

/** Browser-safe picture (yuv420p, even sizes) with the case's display aspect (pixel aspect applied). */
export function pictureProblems(c: CorpusCase, video: NonNullable<Probed["video"]>): string[] {
  const problems: string[] = [];
  if (video.pixFmt !== "yuv420p") problems.push(`pix_fmt ${video.pixFmt}`);
  if (video.width % 2 !== 0 || video.height % 2 !== 0)
    problems.push(`odd size ${video.width}x${video.height}`);
  const aspect = c.aspect ?? 1;
  const display = (video.width * ratio(video.sar)) / video.height;
  if (Math.abs(display - aspect) / aspect > 0.03) {
    problems.push(`display aspect ${display.toFixed(3)}, want ${aspect.toFixed(3)}`);
  }
  return problems;
}

/** A video file (mp4 with h264/aac, webm with vp9/opus): picture, streams present iff the source has them, duration. */
export async function videoFileProblems(
  c: CorpusCase,
  path: string,
  container: "mp4" | "webm",
  wantDurationSec: number,
): Promise<string[]> {
  const p = await probeFile(path);
  const problems: string[] = [];
  if ((p.video !== null) !== (c.aspect !== null)) problems.push(`video ${p.video ? "present" : "missing"}`);
  if ((p.audio !== null) !== c.audio) problems.push(`audio ${p.audio ? "present" : "missing"}`);
  if (p.video) {
    problems.push(...pictureProblems(c, p.video));
    const codec = container === "mp4" ? "h264" : "vp9";
    if (p.video.codec !== codec) problems.push(`video codec ${p.video.codec}`);
  }
  if (p.audio && p.audio.codec !== (container === "mp4" ? "aac" : "opus"))
    problems.push(`audio codec ${p.audio.codec}`);
  if (!near(p.durationSec, wantDurationSec)) {
    problems.push(`duration ${p.durationSec?.toFixed(2)} s, want ${wantDurationSec.toFixed(2)}`);
  }
  return problems;
}

/** A normalized audio file: AAC, its duration, -16 LUFS ± 1 LU, true peak at or under -1 dBTP. */
export async function loudnessFileProblems(
  path: string,
  wantDurationSec: number,
  measuredAlready?: { lufs: number; truePeakDbtp: number },
): Promise<string[]> {
  const problems: string[] = [];
  const p = await probeFile(path);
  if (p.video) problems.push("video in an audio output");
  if (p.audio?.codec !== "aac") problems.push(`audio ${p.audio?.codec ?? "missing"}`);
  if (!near(p.durationSec, wantDurationSec)) {
    problems.push(`duration ${p.durationSec?.toFixed(2)} s, want ${wantDurationSec.toFixed(2)}`);
  }
  const measured = measuredAlready ?? (await loudnessOf(path));
  if (Math.abs(measured.lufs - LOUDNESS_TARGET) > 1) problems.push(`loudness ${measured.lufs} LUFS`);
  if (measured.truePeakDbtp > -1) problems.push(`true peak ${measured.truePeakDbtp} dBTP`);
  return problems;
}

/** A thumbnail of an EXIF-oriented still, against the same picture stored upright. */
export async function uprightProblems(
  c: CorpusCase,
  thumbnail: string,
  corpus: Record<string, string>,
): Promise<string[]> {
  if (!c.uprightReference) return [];
  const p = await probeFile(thumbnail);
  const size = [p.video?.width ?? 2, p.video?.height ?? 2] as const;
  const reference = corpus[c.uprightReference] ?? "";
  const distance = pictureDistance(
    await greyPixels(thumbnail, ...size),
    await greyPixels(reference, ...size),
  );
  return distance > 20 ? [`not upright (differs from the upright picture by ${distance.toFixed(1)})`] : [];
}

/**
 * A DASH output as a DASH client reads it: FFmpeg's dash demuxer opens the manifest (each
 * representation's segments by the URLs it names), finds H.264 that browsers play in the source's aspect, audio if
 * and only if the source has it, and the real media duration, as the output's facts say too.
 */
export async function dashProblems(
  c: CorpusCase,
  facts: Pick<OutputFacts, "path" | "durationSec">,
  wantDurationSec: number,
): Promise<string[]> {
  if (!facts.path.endsWith("manifest.mpd") || !existsSync(facts.path)) return ["no manifest"];
  const problems: string[] = [];
  const p = await probeFile(facts.path);
  if (p.video?.codec !== "h264") problems.push(`manifest video ${p.video?.codec ?? "missing"}`);
  if (p.video) problems.push(...pictureProblems(c, p.video));
  if ((p.audio !== null) !== c.audio) problems.push(`audio ${p.audio ? "present" : "missing"}`);
  // FFmpeg 5.1's dash demuxer reads a manifest's duration in whole seconds (cut down).
  const tolerance = durationTolerance(wantDurationSec);
  if (
    p.durationSec === null ||
    p.durationSec > wantDurationSec + tolerance ||
    wantDurationSec >= p.durationSec + 1 + tolerance
  )
    problems.push(`manifest duration ${p.durationSec?.toFixed(2)} s, want ${wantDurationSec.toFixed(2)}`);
  if (!near(facts.durationSec, wantDurationSec))
    problems.push(`facts duration ${facts.durationSec?.toFixed(2)} s, want ${wantDurationSec.toFixed(2)}`);
  return problems;
}
