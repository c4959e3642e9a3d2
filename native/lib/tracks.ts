/**
 * An output's choice among the input's audio or video tracks, resolved against the probed input:
 * both engines take the same tracks for the same choice, and fail the same way when one is not
 * there.
 */
import { languageCodeAliases } from "@framewire/shared/media";
import {
  type AudioMix,
  type AudioTrackChoice,
  EngineError,
  type MediaFacts,
  type StreamFacts,
  type TrackChoice,
} from "./engine";

type TrackKind = "audio" | "video";

const canonical = (code: string): string => {
  const lower = code.toLowerCase();
  return languageCodeAliases[lower] ?? lower;
};

/**
 * The input's tracks of a kind, in probe order. An attached picture (cover art) is a video stream
 * to FFmpeg but not a track anyone watches: it is not counted.
 */
export function tracksOf(kind: TrackKind, facts: MediaFacts): StreamFacts[] {
  return facts.streams.filter((s) => s.type === kind && !(kind === "video" && s.attachedPicture));
}

/** "0: eng, 1: deu ("Kommentar"), 2: untagged": what a failed choice tells the client. */
function listTracks(kind: TrackKind, tracks: StreamFacts[]): string {
  if (tracks.length === 0) return `it has no ${kind} track`;
  const one = (t: StreamFacts, i: number) => {
    const title = t.title ? ` ("${t.title.slice(0, 40)}")` : "";
    return `${i}: ${t.language ?? "untagged"}${title}`;
  };
  return `its ${kind} tracks are ${tracks.map(one).join(", ")}`;
}

/** The input stream (its index in the probe) a choice names, or INPUT_NO_STREAMS naming the tracks. */
function streamFor(kind: TrackKind, choice: TrackChoice, facts: MediaFacts): number {
  const tracks = tracksOf(kind, facts);
  if ("index" in choice) {
    const track = tracks[choice.index];
    if (track) return track.index;
    throw new EngineError(
      "INPUT_NO_STREAMS",
      `The input has no ${kind} track ${choice.index}; ${listTracks(kind, tracks)}`,
    );
  }
  const wanted = canonical(choice.language);
  const matching = tracks.filter((t) => t.language !== undefined && canonical(t.language) === wanted);
  const track = matching.find((t) => t.default) ?? matching[0];
  if (track) return track.index;
  throw new EngineError(
    "INPUT_NO_STREAMS",
    `The input has no ${kind} track in language "${choice.language}"; ${listTracks(kind, tracks)}`,
  );
}

export const audioStreamFor = (choice: AudioTrackChoice, facts: MediaFacts): number =>
  streamFor("audio", choice, facts);

export const videoStreamFor = (choice: TrackChoice, facts: MediaFacts): number =>
  streamFor("video", choice, facts);

/** What an output's audio takes: input streams, kept as tracks of their own or mixed into one. */
export interface AudioStreams {
  streams: number[];
  /** The streams are averaged into one output track (never true for a single stream). */
  mix: boolean;
}

function mixStreams(choice: AudioMix, facts: MediaFacts): number[] {
  const tracks = tracksOf("audio", facts);
  if (choice === "mix") {
    if (tracks.length > 0) return tracks.map((t) => t.index);
    throw new EngineError("INPUT_NO_STREAMS", "The input has no audio track to mix; it has no audio track");
  }
  const streams = choice.mix.map((c) => audioStreamFor(c, facts));
  const twice = streams.find((s, i) => streams.indexOf(s) !== i);
  if (twice !== undefined) {
    // Two choices that name one track ({index: 0} and {language: "eng"}) would double its level.
    const position = tracks.findIndex((t) => t.index === twice);
    throw new EngineError(
      "INPUT_NO_STREAMS",
      `The mix names audio track ${position} twice; ${listTracks("audio", tracks)}`,
    );
  }
  return streams;
}

/**
 * The input streams a choice names: one; with "all" every audio track in order (none: no audio);
 * with a mix the tracks mixed (a mix of one track is that track).
 */
export function audioStreamsFor(
  choice: AudioTrackChoice | "all" | AudioMix,
  facts: MediaFacts,
): AudioStreams {
  if (choice === "all") return { streams: tracksOf("audio", facts).map((s) => s.index), mix: false };
  if (choice === "mix" || "mix" in choice) {
    const streams = mixStreams(choice, facts);
    return { streams, mix: streams.length > 1 };
  }
  return { streams: [audioStreamFor(choice, facts)], mix: false };
}

const chosen = (track: unknown): boolean => track !== undefined && track !== null;

/** Whether any output of a plan chooses an audio or video track (the input must then be probed first). */
export function choosesTrack(
  outputs: readonly { kind: string; audio?: unknown; video?: unknown; track?: unknown }[],
): boolean {
  return outputs.some((o) => {
    if ((o.kind === "thumbnails" || o.kind === "animation") && chosen(o.track)) return true;
    if (o.kind !== "video" && o.kind !== "audio") return false;
    const { audio, video } = o as {
      audio?: { track?: unknown } | null | "copy";
      video?: { track?: unknown } | null;
    };
    const picks = (stream: { track?: unknown } | null | undefined | "copy") =>
      typeof stream === "object" && stream !== null && chosen(stream.track);
    return picks(audio) || picks(video);
  });
}
