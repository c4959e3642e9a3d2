/**
 * Ladders: the renditions an hls or dash output encodes in one decode, where their files go, and
 * what they are once written, read back (playlists, segment sizes and times, one probe per track).
 *
 * Two layouts (engine.ts, LadderSegments). "ts": one folder per rendition of MPEG-TS segments with
 * its audio muxed in, HLS as it always was. "cmaf": one folder per track, fragmented MP4 on one
 * shared timeline: each rendition's video, and the audio once per audio bit rate of the ladder
 * (`audio-128k`). A dash output is always "cmaf"; an hls output is when a dash output of the same
 * job shares its ladder, and then both manifests name the same files, encoded and stored once.
 */
import { readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { bcp47Language, languageCodeAliases, type RenditionFacts } from "@framewire/shared/media";
import { type MpdRepresentation, mpd } from "./dash";
import type {
  DashPlanOutput,
  EncodingChoice,
  HlsPlanOutput,
  HlsRendition,
  MediaFacts,
  OutputFacts,
} from "./engine";
import { type FragmentTiming, readFragmentFile, readInit, type TrackInfo } from "./fmp4";
import { hlsCodecs, masterPlaylist, parseMediaMap, parseMediaPlaylist } from "./hls";
import {
  CMAF_TIMELINE_START_SEC,
  isCmaf,
  type LadderPlanOutput,
  type LadderTrack,
  ladderTracks,
} from "./ladder-layout";
import { listFiles, type ProbeFn, streamFacts } from "./output-facts";

/** One track as written: its segments, their sizes and (CMAF) exact times, and a probe of it. */
export interface TrackReading {
  name: string;
  /** The init segment's file name (CMAF), null for TS. */
  init: string | null;
  info: TrackInfo | null;
  segments: { uri: string; sizeBytes: number; durationSec: number; timing: FragmentTiming | null }[];
  /** Sum of the playlist's segment durations. */
  durationSec: number;
  /** Peak and mean segment bit rate, bits/s. */
  peakBps: number;
  averageBps: number;
  facts: MediaFacts | null;
}

/** Readings shared by the outputs of one run (an HLS output and the DASH output sharing its ladder). */
export type TrackCache = Map<string, Promise<TrackReading | null>>;

async function probeTrack(dir: string, init: string | null, first: string, probe: ProbeFn) {
  if (!init) return probe(join(dir, first));
  // A CMAF media segment is not a file on its own: the probe reads it behind its init segment.
  const joined = join(dir, ".probe.mp4");
  try {
    await writeFile(
      joined,
      Buffer.concat([await readFile(join(dir, init)), await readFile(join(dir, first))]),
    );
    return await probe(joined);
  } finally {
    await rm(joined, { force: true });
  }
}

async function readTrack(track: LadderTrack, probe: ProbeFn): Promise<TrackReading | null> {
  let text: string;
  try {
    text = await readFile(track.playlist, "utf8");
  } catch (error) {
    // An input without audio has no audio tracks; the post-write check says whether it should.
    if (track.type === "audio" && (error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
  const listed = parseMediaPlaylist(text);
  const init = track.type === "muxed" ? null : parseMediaMap(text);
  if (track.type !== "muxed" && !init) throw new Error(`${track.playlist} names no init segment`);
  const info = init ? readInit(await readFile(join(track.dir, init))) : null;
  const segments: TrackReading["segments"] = [];
  let peak = 0;
  let bytes = 0;
  let seconds = 0;
  for (const s of listed) {
    const path = join(track.dir, s.uri);
    const sizeBytes = (await stat(path)).size;
    const timing = info ? await readFragmentFile(path, info) : null;
    segments.push({ uri: s.uri, sizeBytes, durationSec: s.durationSec, timing });
    bytes += sizeBytes;
    seconds += s.durationSec;
    if (s.durationSec > 0) peak = Math.max(peak, (sizeBytes * 8) / s.durationSec);
  }
  const first = listed[0];
  return {
    name: track.name,
    init,
    info,
    segments,
    durationSec: seconds,
    peakBps: peak,
    averageBps: seconds > 0 ? (bytes * 8) / seconds : 0,
    facts: first ? await probeTrack(track.dir, init, first.uri, probe) : null,
  };
}

interface LadderReading {
  rungs: { rendition: HlsRendition; video: TrackReading; audio: TrackReading | null }[];
  audio: TrackReading[];
}

async function readLadder(
  output: LadderPlanOutput,
  root: string,
  probe: ProbeFn,
  cache: TrackCache = new Map(),
): Promise<LadderReading> {
  const tracks = ladderTracks(output, root);
  const read = (track: LadderTrack) => {
    let reading = cache.get(track.dir);
    if (!reading) {
      reading = readTrack(track, probe);
      cache.set(track.dir, reading);
    }
    return reading;
  };
  const rungs: LadderReading["rungs"] = [];
  // One track at a time: a long ladder has thousands of segments to stat and read the heads of.
  for (const track of tracks.video) {
    const video = await read(track);
    if (!video) throw new Error(`rendition ${track.name} wrote no playlist`);
    const audioTrack = tracks.audio.find((a) => a.bitrateKbps === track.rendition.audioBitrateKbps);
    rungs.push({ rendition: track.rendition, video, audio: audioTrack ? await read(audioTrack) : null });
  }
  const audio: TrackReading[] = [];
  for (const track of tracks.audio) {
    const reading = await read(track);
    if (reading) audio.push(reading);
  }
  return { rungs, audio };
}

/** The first video and audio stream of a ladder, from its tracks' probes. */
function ladderStreams(ladder: LadderReading): Pick<OutputFacts, "video" | "audio"> {
  const first = ladder.rungs[0]?.video.facts;
  const video = first ? streamFacts(first).video : null;
  const audioFacts = ladder.audio[0]?.facts ?? (ladder.audio.length === 0 ? first : null);
  return { video, audio: audioFacts ? streamFacts(audioFacts).audio : null };
}

function renditionFacts(ladder: LadderReading, playlist: (name: string) => string): RenditionFacts[] {
  return ladder.rungs.map(({ rendition, video, audio }) => {
    const stream = video.facts?.streams.find((s) => s.type === "video");
    return {
      name: rendition.name,
      width: stream?.width ?? 0,
      height: stream?.height ?? 0,
      // What a player fetches for the rung: its video and, apart (CMAF), its audio.
      bandwidth: Math.round(video.peakBps + (audio?.peakBps ?? 0)),
      average_bandwidth: Math.round(video.averageBps + (audio?.averageBps ?? 0)),
      segments: video.segments.length,
      playlist: playlist(rendition.name),
    };
  });
}

/** "avc1.64001f,mp4a.40.2" as the init segments name their tracks; null when one can't be named. */
function cmafCodecs(video: TrackReading, audio: TrackReading | null): string | null {
  const codecs = [video.info?.codecs ?? null, ...(audio ? [audio.info?.codecs ?? null] : [])];
  return codecs.every((c) => c !== null) ? codecs.join(",") : null;
}

/**
 * Reads each rendition's media playlist and segments, writes master.m3u8 (BANDWIDTH measured from
 * the segments written; a CMAF ladder's audio as EXT-X-MEDIA groups) and reports every file.
 */
export async function finishHls(
  output: HlsPlanOutput,
  probe: ProbeFn,
  encoding: EncodingChoice | undefined,
  cache?: TrackCache,
): Promise<OutputFacts> {
  const cmaf = isCmaf(output);
  const ladder = await readLadder(output, output.dir, probe, cache);
  const renditions = renditionFacts(ladder, (name) => `${name}/index.m3u8`);
  const entries = ladder.rungs.map(({ video, audio }, i) => {
    const stream = video.facts?.streams.find((s) => s.type === "video");
    const rendition = renditions[i] as RenditionFacts;
    const hasAudio = video.facts?.streams.some((s) => s.type === "audio") ?? false;
    return {
      playlist: rendition.playlist,
      bandwidth: rendition.bandwidth,
      averageBandwidth: rendition.average_bandwidth,
      width: rendition.width,
      height: rendition.height,
      fps: stream?.fps ?? null,
      codecs: cmaf ? cmafCodecs(video, audio) : stream ? hlsCodecs(stream, hasAudio) : null,
      ...(audio ? { audioGroup: audio.name } : {}),
    };
  });
  const master = join(output.dir, "master.m3u8");
  await writeFile(
    master,
    masterPlaylist(entries, {
      version: cmaf ? 7 : 3,
      audio: ladder.audio.map((a) => ({
        groupId: a.name,
        playlist: `${a.name}/index.m3u8`,
        channels: a.facts?.streams.find((s) => s.type === "audio")?.channels ?? null,
      })),
    }),
  );
  const files = await listFiles(output.dir);
  return {
    name: output.name,
    kind: "hls",
    path: master,
    sizeBytes: files.reduce((sum, f) => sum + f.sizeBytes, 0),
    container: "hls",
    durationSec: ladder.rungs[0]?.video.durationSec ?? null,
    ...ladderStreams(ladder),
    files,
    renditions,
    ...(encoding ? { encoding } : {}),
  };
}

/** "25", "30000/1001": a DASH frameRate from a probed rate. */
export function frameRateAttribute(fps: number | undefined): string | null {
  if (!fps || !Number.isFinite(fps) || fps <= 0) return null;
  for (const base of [24, 30, 60, 120]) {
    if (Math.abs(fps - (base * 1000) / 1001) < 0.005) return `${base * 1000}/1001`;
  }
  const rounded = Math.round(fps * 1000) / 1000;
  return Number.isInteger(rounded) ? String(rounded) : `${Math.round(fps * 1000)}/1000`;
}

/** A track as a DASH Representation: its exact timeline, its media by URL relative to the manifest. */
function representation(track: TrackReading, url: string, stream: MediaFacts["streams"][number] | undefined) {
  const info = track.info;
  if (!info || !track.init) throw new Error(`track ${track.name} is not CMAF`);
  const presentationTimeOffset = Math.round(CMAF_TIMELINE_START_SEC * info.timescale);
  const segments = track.segments.map((s, i) => {
    const timing = s.timing as FragmentTiming;
    const next = track.segments[i + 1]?.timing;
    return { t: timing.start, d: (next ? next.start : timing.end) - timing.start, media: `${url}${s.uri}` };
  });
  const r: MpdRepresentation = {
    id: track.name,
    bandwidth: track.peakBps,
    codecs: info.codecs,
    timescale: info.timescale,
    presentationTimeOffset,
    initialization: `${url}${track.init}`,
    segments,
  };
  if (stream?.type === "video") {
    r.width = stream.width ?? 0;
    r.height = stream.height ?? 0;
    r.frameRate = frameRateAttribute(stream.fps);
  }
  if (stream?.type === "audio" && stream.sampleRate) r.audioSamplingRate = stream.sampleRate;
  const last = segments.at(-1);
  const endSec = last ? (last.t + last.d - presentationTimeOffset) / info.timescale : 0;
  const longestSec = Math.max(0, ...segments.map((s) => s.d / info.timescale));
  return { representation: r, endSec, longestSec };
}

/**
 * Writes manifest.mpd over the ladder's CMAF tracks, in this output's folder or (sharing) the HLS
 * output's at `root`, and reports the output: every file of its own folder (a shared ladder: the
 * manifest alone; the segments are the HLS output's files).
 */
export async function finishDash(
  output: DashPlanOutput,
  root: string,
  probe: ProbeFn,
  encoding: EncodingChoice | undefined,
  cache?: TrackCache,
): Promise<OutputFacts> {
  const ladder = await readLadder(output, root, probe, cache);
  const prefix = output.shares?.url ?? "";
  const stream = (track: TrackReading, type: "video" | "audio") =>
    track.facts?.streams.find((s) => s.type === type);
  const videos = ladder.rungs.map(({ video }) =>
    representation(video, `${prefix}${video.name}/`, stream(video, "video")),
  );
  const audios = ladder.audio.map((a) => representation(a, `${prefix}${a.name}/`, stream(a, "audio")));
  const all = [...videos, ...audios];
  const durationSec = Math.max(0, ...all.map((r) => r.endSec));
  const audio = ladder.audio[0] ? stream(ladder.audio[0], "audio") : undefined;
  const channels = audio?.channels;
  // ISO 639-2 as the track is tagged; DASH's @lang is BCP 47 ("deu" → "de"). Untagged: no @lang.
  const lang =
    audio?.language && audio.language !== "und" ? bcp47Language(audio.language, languageCodeAliases) : null;
  const manifest = join(output.dir, "manifest.mpd");
  await writeFile(
    manifest,
    mpd({
      durationSec,
      minBufferSec: Math.max(output.segmentSec, ...all.map((r) => r.longestSec)),
      adaptationSets: [
        { contentType: "video", representations: videos.map((v) => v.representation) },
        ...(audios.length > 0
          ? [
              {
                contentType: "audio" as const,
                ...(channels ? { channels } : {}),
                ...(lang ? { lang } : {}),
                representations: audios.map((a) => a.representation),
              },
            ]
          : []),
      ],
    }),
  );
  // The media playlists were how the tracks were read; they are no part of a DASH output.
  if (!output.shares) {
    const { video, audio } = ladderTracks(output);
    await Promise.all([...video, ...audio].map((t) => rm(t.playlist, { force: true })));
  }
  const files = await listFiles(output.dir);
  return {
    name: output.name,
    kind: "dash",
    path: manifest,
    sizeBytes: files.reduce((sum, f) => sum + f.sizeBytes, 0),
    container: "dash",
    durationSec,
    ...ladderStreams(ladder),
    files,
    renditions: renditionFacts(ladder, () => "manifest.mpd"),
    ...(output.shares ? { segmentsFrom: output.shares.hls } : {}),
    ...(encoding ? { encoding } : {}),
  };
}
