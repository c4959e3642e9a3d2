/**
 * WebVTT subtitle renditions of an HLS output, added once its video renditions are written (kept
 * apart from hls.ts and finishHls so those stay about the video ladder): each subtitle becomes a
 * media playlist of WebVTT segments cut at the video's segment boundaries, each segment mapped onto
 * the MPEG-TS clock (X-TIMESTAMP-MAP, RFC 8216 §3.5), and the master playlist gets one
 * EXT-X-MEDIA TYPE=SUBTITLES entry per subtitle, in a group every variant names.
 */
import { mkdir, open, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { bcp47Language, languageCodeAliases } from "@framewire/shared/media";
import type { HlsPlanOutput, OutputFacts, OutputFile } from "./engine";
import { parseMediaPlaylist } from "./hls";
import { CMAF_TIMELINE_START_SEC, isCmaf, ladderTracks } from "./ladder-layout";
import type { LoadedSubtitle } from "./subtitle-plan";
import { type Cue, vttDocument } from "./subtitles";

export const SUBTITLE_GROUP = "subs";

/** The folder of a subtitle rendition inside the output's folder. */
export const subtitleRenditionDir = (input: string) => `subtitles-${input}`;

/**
 * The MPEG-TS time (90 kHz) of media time 0 in a segment: the presentation time of its first video
 * PES packet (the first picture shown; the muxer starts its clock past zero, and audio may start a
 * little earlier with its encoder's priming), else the earliest audio one. Null when none is found.
 */
export function firstPts(bytes: Uint8Array): bigint | null {
  let audio: bigint | null = null;
  const seen = new Set<number>();
  for (let at = 0; at + 188 <= bytes.length && seen.size < 8; at += 188) {
    if (bytes[at] !== 0x47) break;
    const b1 = bytes[at + 1] ?? 0;
    const start = (b1 & 0x40) !== 0;
    const pid = ((b1 & 0x1f) << 8) | (bytes[at + 2] ?? 0);
    const control = ((bytes[at + 3] ?? 0) >> 4) & 0x3;
    if (!start || !(control & 0x1) || seen.has(pid)) continue;
    let payload = at + 4;
    if (control & 0x2) payload += 1 + (bytes[at + 4] ?? 0);
    if (payload + 14 > at + 188) continue;
    if (bytes[payload] !== 0 || bytes[payload + 1] !== 0 || bytes[payload + 2] !== 1) continue;
    const streamId = bytes[payload + 3] ?? 0;
    // Audio (0xC0–0xDF) and video (0xE0–0xEF) elementary streams.
    if (streamId < 0xc0 || streamId > 0xef) continue;
    seen.add(pid);
    if (((bytes[payload + 7] ?? 0) & 0x80) === 0) continue;
    const p = payload + 9;
    const b = (i: number) => BigInt(bytes[p + i] ?? 0);
    const pts =
      (((b(0) >> 1n) & 0x7n) << 30n) | (b(1) << 22n) | ((b(2) >> 1n) << 15n) | (b(3) << 7n) | (b(4) >> 1n);
    if (streamId >= 0xe0) return pts;
    if (audio === null || pts < audio) audio = pts;
  }
  return audio;
}

async function readHead(path: string, bytes: number): Promise<Uint8Array> {
  const handle = await open(path, "r");
  try {
    const buffer = new Uint8Array(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** The cues of one segment: those showing at any time in [start, end). */
export function segmentCues(cues: Cue[], startSec: number, endSec: number): Cue[] {
  return cues.filter((c) => c.startSec < endSec && c.endSec > startSec);
}

/** One subtitle's media playlist: a WebVTT segment per video segment, the same durations. */
export function subtitlePlaylist(durations: number[]): string {
  const target = Math.max(1, ...durations.map((d) => Math.ceil(d)));
  const lines = [
    "#EXTM3U",
    "#EXT-X-VERSION:3",
    `#EXT-X-TARGETDURATION:${target}`,
    "#EXT-X-MEDIA-SEQUENCE:0",
    "#EXT-X-PLAYLIST-TYPE:VOD",
  ];
  durations.forEach((d, i) => {
    lines.push(`#EXTINF:${d.toFixed(6)},`, `seg_${String(i).padStart(5, "0")}.vtt`);
  });
  lines.push("#EXT-X-ENDLIST");
  return `${lines.join("\n")}\n`;
}

export interface SubtitleRenditionEntry {
  name: string;
  /** BCP 47, or null. */
  language: string | null;
  isDefault: boolean;
  uri: string;
}

/** The master playlist with the subtitle group: its EXT-X-MEDIA lines, and every variant naming it. */
export function withSubtitleGroup(master: string, entries: SubtitleRenditionEntry[]): string {
  if (entries.length === 0) return master;
  const media = entries.map((e) => {
    const attrs = [
      "TYPE=SUBTITLES",
      `GROUP-ID="${SUBTITLE_GROUP}"`,
      `NAME="${e.name}"`,
      ...(e.language ? [`LANGUAGE="${e.language}"`] : []),
      `DEFAULT=${e.isDefault ? "YES" : "NO"}`,
      "AUTOSELECT=YES",
      "FORCED=NO",
      `URI="${e.uri}"`,
    ];
    return `#EXT-X-MEDIA:${attrs.join(",")}`;
  });
  const lines = master.replace(/\n$/, "").split("\n");
  const firstVariant = lines.findIndex((l) => l.startsWith("#EXT-X-STREAM-INF:"));
  const out = lines.map((l) =>
    l.startsWith("#EXT-X-STREAM-INF:") ? `${l},SUBTITLES="${SUBTITLE_GROUP}"` : l,
  );
  out.splice(firstVariant < 0 ? out.length : firstVariant, 0, ...media);
  return `${out.join("\n")}\n`;
}

async function filesOf(root: string, dir: string): Promise<OutputFile[]> {
  const names = (await readdir(dir)).sort();
  return Promise.all(
    names.map(async (name) => {
      const path = join(dir, name);
      return {
        path,
        relativePath: relative(root, path).split(sep).join("/"),
        sizeBytes: (await stat(path)).size,
      };
    }),
  );
}

/**
 * Writes the output's subtitle renditions beside its video renditions and adds them to its master
 * playlist; returns the facts with their files and renditions added.
 */
export async function addSubtitleRenditions(
  output: HlsPlanOutput,
  facts: OutputFacts,
  loaded: Map<string, LoadedSubtitle>,
): Promise<OutputFacts> {
  const uses = output.subtitles ?? [];
  const first = output.renditions[0];
  if (uses.length === 0 || !first) return facts;
  const video = ladderTracks(output).video.find((t) => t.name === first.name);
  if (!video) return facts;
  const segments = parseMediaPlaylist(await readFile(video.playlist, "utf8"));
  const firstSegment = segments[0];
  // The WebVTT cue times are media time; X-TIMESTAMP-MAP puts media time 0 on the segments' clock:
  // the first MPEG-TS PTS, or for CMAF segments (shared with DASH) the shared timeline's start.
  const pts = isCmaf(output)
    ? BigInt(CMAF_TIMELINE_START_SEC * 90_000)
    : firstSegment
      ? firstPts(await readHead(join(video.dir, firstSegment.uri), 188 * 400))
      : null;
  const header = [`X-TIMESTAMP-MAP=MPEGTS:${pts ?? 0n},LOCAL:00:00:00.000`];
  const entries: SubtitleRenditionEntry[] = [];
  const renditions: NonNullable<OutputFacts["subtitleRenditions"]> = [];
  const files = [...(facts.files ?? [])];
  let sizeBytes = facts.sizeBytes;
  const names = new Set<string>();
  for (const use of uses) {
    const subtitle = loaded.get(use.input);
    if (!subtitle) throw new Error(`subtitles '${use.input}' were not loaded`);
    const folder = subtitleRenditionDir(use.input);
    const dir = join(output.dir, folder);
    await mkdir(dir, { recursive: true });
    let start = 0;
    for (const [i, segment] of segments.entries()) {
      const end = start + segment.durationSec;
      const inSegment = segmentCues(subtitle.cues, start, end);
      await writeFile(join(dir, `seg_${String(i).padStart(5, "0")}.vtt`), vttDocument(inSegment, header));
      start = end;
    }
    const cues = subtitle.cues.filter((c) => c.startSec < start).length;
    await writeFile(join(dir, "index.m3u8"), subtitlePlaylist(segments.map((s) => s.durationSec)));
    let name = subtitle.label ?? subtitle.name;
    if (names.has(name)) name = `${name} (${subtitle.name})`;
    names.add(name);
    const language = subtitle.language ? bcp47Language(subtitle.language, languageCodeAliases) : null;
    const playlist = `${folder}/index.m3u8`;
    entries.push({ name, language, isDefault: use.default, uri: playlist });
    renditions.push({ name, language, cues, segments: segments.length, playlist });
    const written = await filesOf(output.dir, dir);
    files.push(...written);
    sizeBytes += written.reduce((sum, f) => sum + f.sizeBytes, 0);
  }
  const masterText = await readFile(facts.path, "utf8");
  const master = withSubtitleGroup(masterText, entries);
  await writeFile(facts.path, master);
  const masterFile = files.find((f) => f.path === facts.path);
  if (masterFile) {
    sizeBytes += Buffer.byteLength(master) - masterFile.sizeBytes;
    masterFile.sizeBytes = Buffer.byteLength(master);
  }
  files.sort((a, b) => a.relativePath.localeCompare(b.relativePath));
  return { ...facts, files, sizeBytes, subtitleRenditions: renditions };
}
