/**
 * An output's choice among the input's audio tracks, resolved against the probed input: both
 * engines take the same track for the same choice, and fail the same way when it is not there.
 */
import { languageCodeAliases } from "@framewire/shared/media";
import { type AudioTrackChoice, EngineError, type MediaFacts, type StreamFacts } from "./engine";

const canonical = (code: string): string => {
  const lower = code.toLowerCase();
  return languageCodeAliases[lower] ?? lower;
};

/** "0: eng, 1: deu ("Kommentar"), 2: untagged": what a failed choice tells the client. */
function listTracks(tracks: StreamFacts[]): string {
  if (tracks.length === 0) return "it has no audio track";
  const one = (t: StreamFacts, i: number) => {
    const title = t.title ? ` ("${t.title.slice(0, 40)}")` : "";
    return `${i}: ${t.language ?? "untagged"}${title}`;
  };
  return `its audio tracks are ${tracks.map(one).join(", ")}`;
}

/**
 * The input stream (its index in the probe) a choice names. Throws INPUT_NO_STREAMS naming the
 * audio tracks and languages the input has when there is no such track.
 */
export function audioStreamFor(choice: AudioTrackChoice, facts: MediaFacts): number {
  const tracks = facts.streams.filter((s) => s.type === "audio");
  if ("index" in choice) {
    const track = tracks[choice.index];
    if (track) return track.index;
    throw new EngineError(
      "INPUT_NO_STREAMS",
      `The input has no audio track ${choice.index}; ${listTracks(tracks)}`,
    );
  }
  const wanted = canonical(choice.language);
  const matching = tracks.filter((t) => t.language !== undefined && canonical(t.language) === wanted);
  const track = matching.find((t) => t.default) ?? matching[0];
  if (track) return track.index;
  throw new EngineError(
    "INPUT_NO_STREAMS",
    `The input has no audio track in language "${choice.language}"; ${listTracks(tracks)}`,
  );
}

/** The input streams a choice names: one, or with "all" every audio track in order (none: no audio). */
export function audioStreamsFor(choice: AudioTrackChoice | "all", facts: MediaFacts): number[] {
  if (choice === "all") return facts.streams.filter((s) => s.type === "audio").map((s) => s.index);
  return [audioStreamFor(choice, facts)];
}

/** Whether any output of a plan chooses an audio track (the input must then be probed first). */
export function choosesAudioTrack(outputs: readonly { kind: string; audio?: unknown }[]): boolean {
  return outputs.some((o) => {
    if (o.kind !== "video" && o.kind !== "audio") return false;
    const audio = o.audio as { track?: unknown } | null | undefined | "copy";
    return typeof audio === "object" && audio !== null && audio.track !== undefined && audio.track !== null;
  });
}
