/**
 * A plan's subtitles for both engines: each subtitle file a plan uses is read and checked once
 * (INPUT_UNREADABLE names the subtitle and the line), burns get an ASS script we write and a folder
 * of the named fonts, tracks get their codec's cue payloads cut to the output's trim, and an
 * extraction's track choice is resolved against the probed input.
 */
import { mkdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import {
  type FontName,
  fontFiles,
  fontNames,
  languageCodeAliases,
  subtitleLimits,
  subtitleTrackCodecs,
  textSubtitleCodecs,
} from "@framewire/shared/media";
import {
  EngineError,
  type MediaFacts,
  type OutputFacts,
  type Plan,
  type StreamFacts,
  type SubtitlesPlanOutput,
  type SubtitleTrackChoice,
  type VideoPlanOutput,
} from "./engine";
import type { NativeSubtitleTrack } from "./native-addon";
import {
  assScript,
  type Cue,
  cuesInWindow,
  parseSubtitles,
  SubtitleParseError,
  sequentialCues,
  trackText,
  unburnableCue,
} from "./subtitles";

export interface LoadedSubtitle {
  name: string;
  language: string | null;
  label: string | null;
  cues: Cue[];
}

/** The subtitle names a plan's outputs use, in first-use order. */
export function usedSubtitles(plan: Plan): string[] {
  const names: string[] = [];
  for (const output of plan.outputs) {
    const uses = output.kind === "video" || output.kind === "hls" ? (output.subtitles ?? []) : [];
    for (const use of uses) if (!names.includes(use.input)) names.push(use.input);
  }
  return names;
}

/** Reads and checks every subtitle file the plan uses: INPUT_UNREADABLE names the subtitle and the line. */
export async function loadSubtitles(plan: Plan): Promise<Map<string, LoadedSubtitle>> {
  const loaded = new Map<string, LoadedSubtitle>();
  for (const name of usedSubtitles(plan)) {
    const file = plan.subtitles?.[name];
    if (!file) throw new EngineError("UNSUPPORTED", `the plan names subtitles '${name}' it does not have`);
    let bytes: Buffer;
    try {
      const { size } = await stat(file.path);
      if (size > subtitleLimits.fileBytes)
        throw new EngineError(
          "INPUT_UNREADABLE",
          `subtitles '${name}': the file is ${size} bytes; a subtitle file may have at most ${subtitleLimits.fileBytes}`,
        );
      bytes = await readFile(file.path);
    } catch (error) {
      if (error instanceof EngineError) throw error;
      throw new EngineError(
        "INPUT_UNREADABLE",
        `subtitles '${name}': the file could not be read`,
        String(error),
        {
          cause: error,
        },
      );
    }
    try {
      const { cues } = parseSubtitles(bytes);
      loaded.set(name, { name, language: file.language, label: file.label, cues });
    } catch (error) {
      if (error instanceof SubtitleParseError)
        throw new EngineError("INPUT_UNREADABLE", `subtitles '${name}', ${error.message}`, undefined, {
          cause: error,
        });
      throw error;
    }
  }
  return loaded;
}

function loadedOf(loaded: Map<string, LoadedSubtitle>, name: string): LoadedSubtitle {
  const found = loaded.get(name);
  if (!found) throw new EngineError("UNSUPPORTED", `subtitles '${name}' were not loaded`);
  return found;
}

/** The output's cues: its trim window of the subtitles' cues. */
function windowOf(output: VideoPlanOutput, cues: Cue[]): Cue[] {
  return output.trim ? cuesInWindow(cues, output.trim.startSec, output.trim.endSec) : cues;
}

/** Where a burn's files go: beside the output, in the job's folder. */
export function burnPaths(output: VideoPlanOutput): { script: string; fontsDir: string } {
  const dir = dirname(output.path);
  return { script: join(dir, `burn-${output.name}.ass`), fontsDir: join(dir, "burn-fonts") };
}

/**
 * Writes each burning output's ASS script, and a folder holding the named fonts (links to the
 * installed files), so libass loads those and nothing else we did not name. Refuses a cue no
 * installed font can draw, naming its line. Returns what to remove after the run.
 */
export async function writeBurnFiles(plan: Plan, loaded: Map<string, LoadedSubtitle>): Promise<string[]> {
  const written: string[] = [];
  for (const output of plan.outputs) {
    if (output.kind !== "video") continue;
    const burn = output.subtitles?.find((u) => u.mode === "burn");
    if (burn?.mode !== "burn") continue;
    const subtitle = loadedOf(loaded, burn.input);
    const cues = windowOf(output, subtitle.cues);
    const refused = unburnableCue(cues);
    if (refused)
      throw new EngineError(
        "UNSUPPORTED",
        `subtitles '${burn.input}', line ${refused.line}: holds ${refused.reason}; carry it as a track instead of burning it`,
      );
    const paths = burnPaths(output);
    if (!written.includes(paths.fontsDir)) {
      await linkFonts(paths.fontsDir);
      written.push(paths.fontsDir);
    }
    await writeFile(paths.script, assScript(cues, burn.style));
    written.push(paths.script);
  }
  return written;
}

/** A folder of links to the installed fonts the product names. */
async function linkFonts(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  for (const font of fontNames) {
    const file = fontFiles[font as FontName];
    await symlink(file, join(dir, file.split("/").at(-1) ?? `${font}.ttf`));
  }
}

export async function removeFiles(paths: string[]): Promise<void> {
  await Promise.all(paths.map((p) => rm(p, { recursive: true, force: true }).catch(() => {})));
}

/** The output's subtitle tracks in the addon's words: its container's codec, cues cut to its trim. */
export function nativeSubtitleTracks(
  output: VideoPlanOutput,
  loaded: Map<string, LoadedSubtitle>,
): NativeSubtitleTrack[] {
  const codec = subtitleTrackCodecs[output.container];
  return (output.subtitles ?? []).flatMap((use) => {
    if (use.mode !== "track") return [];
    const subtitle = loadedOf(loaded, use.input);
    let cues = windowOf(output, subtitle.cues);
    // 3GPP timed text shows one sample at a time: overlapping cues become one after another.
    if (codec === "mov_text") cues = sequentialCues(cues);
    return [
      {
        codec,
        language: subtitle.language ?? "",
        title: subtitle.label ?? subtitle.name,
        isDefault: use.default,
        cues: cues.map((c) => ({ startSec: c.startSec, endSec: c.endSec, text: trackText(codec, c.runs) })),
      },
    ];
  });
}

// ---- extraction --------------------------------------------------------------------------------------

const canonical = (code: string): string => {
  const lower = code.toLowerCase();
  return languageCodeAliases[lower] ?? lower;
};

/** "0: eng (subrip), 1: deu (mov_text)": what a failed choice tells the client. */
function listTracks(tracks: StreamFacts[]): string {
  if (tracks.length === 0) return "it has no subtitle track";
  const one = (t: StreamFacts, i: number) => {
    const title = t.title ? ` "${t.title.slice(0, 40)}"` : "";
    return `${i}: ${t.language ?? "untagged"}${title} (${t.codec})`;
  };
  return `its subtitle tracks are ${tracks.map(one).join(", ")}`;
}

/**
 * The input stream a subtitles output takes. INPUT_NO_STREAMS names the input's subtitle tracks
 * when there is no such track; UNSUPPORTED when the track is pictures (DVD, PGS), not text.
 */
export function subtitleStreamFor(choice: SubtitleTrackChoice | null, facts: MediaFacts): StreamFacts {
  const tracks = facts.streams.filter((s) => s.type === "subtitle");
  let track: StreamFacts | undefined;
  if (choice === null) {
    track = tracks[0];
    if (!track)
      throw new EngineError("INPUT_NO_STREAMS", `The input has no subtitle track; ${listTracks(tracks)}`);
  } else if ("index" in choice) {
    track = tracks[choice.index];
    if (!track)
      throw new EngineError(
        "INPUT_NO_STREAMS",
        `The input has no subtitle track ${choice.index}; ${listTracks(tracks)}`,
      );
  } else {
    const wanted = canonical(choice.language);
    const matching = tracks.filter((t) => t.language !== undefined && canonical(t.language) === wanted);
    track = matching.find((t) => t.default) ?? matching[0];
    if (!track)
      throw new EngineError(
        "INPUT_NO_STREAMS",
        `The input has no subtitle track in language "${choice.language}"; ${listTracks(tracks)}`,
      );
  }
  if (!(textSubtitleCodecs as readonly string[]).includes(track.codec))
    throw new EngineError(
      "UNSUPPORTED",
      `subtitle track ${tracks.indexOf(track)} is ${track.codec}, pictures rather than text: it cannot be written as WebVTT`,
    );
  return track;
}

/** Cues in a WebVTT file we wrote: its timing lines. */
export function countVttCues(text: string): number {
  return text.split(/\r?\n/).filter((line) => line.includes("-->")).length;
}

/** What a subtitles output wrote (the same facts from either engine): read back from its file. */
export async function extractedSubtitleFacts(
  output: SubtitlesPlanOutput,
  source: StreamFacts,
): Promise<OutputFacts> {
  const text = await readFile(output.path, "utf8");
  return {
    name: output.name,
    kind: "subtitles",
    path: output.path,
    sizeBytes: Buffer.byteLength(text),
    container: "vtt",
    durationSec: null,
    video: null,
    audio: null,
    subtitles: {
      format: "vtt",
      cues: countVttCues(text),
      source_index: source.index,
      source_codec: source.codec,
      language: source.language ?? null,
    },
  };
}
