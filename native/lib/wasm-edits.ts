/**
 * Edits in the wasm engine: the same filter graph as the native engine (composition-graph.ts),
 * written as -filter_complex text and run by the CLI over MEMFS copies of the inputs, the title
 * texts (textfile, never inline) and the fonts. What this build cannot do is refused by name: a
 * filter it lacks, and highlight reels (its engine has no highlights analysis).
 */
import { readFile } from "node:fs/promises";
import { type CompositionGraph, filterComplexText } from "./composition-graph";
import type { RenderTarget } from "./edits";
import { EngineError } from "./engine";
import { COMMON, memfsInputName } from "./wasm-ffmpeg";

export interface WasmEditIo {
  write(name: string, bytes: Uint8Array): Promise<void>;
  remove(names: string[]): Promise<void>;
  /** Runs one FFmpeg call with progress against the graph's duration. */
  exec(args: string[], durationSec: number): Promise<void>;
  /** Moves a MEMFS output to its path on disk. */
  keep(memfs: string, path: string): Promise<void>;
  /** Filter names this build has (`-filters`). */
  filters(): Promise<ReadonlySet<string>>;
}

const MEMFS_EDIT_OUT = "/work/edit-out";

/** The graph's filters this build lacks, with what needs them. */
export function missingFilters(graph: CompositionGraph, available: ReadonlySet<string>): string[] {
  const missing = new Set(graph.nodes.map((n) => n.filter).filter((f) => !available.has(f)));
  const why: Record<string, string> = {
    drawtext: "drawtext (text clips)",
    sidechaingate: "sidechaingate (ducking)",
    xfade: "xfade (wipes)",
  };
  return [...missing].map((f) => why[f] ?? f);
}

export async function renderInWasm(
  graph: CompositionGraph,
  target: RenderTarget,
  io: WasmEditIo,
): Promise<void> {
  const lacking = missingFilters(graph, await io.filters());
  if (lacking.length > 0)
    throw new EngineError(
      "UNSUPPORTED",
      `the wasm build lacks the ${lacking.join(", ")} filter; render this composition with the native engine`,
    );
  const written: string[] = [];
  try {
    const inputs: string[] = [];
    for (const [i, instance] of graph.instances.entries()) {
      const name = memfsInputName(instance.path, `/work/edit-in${i}`);
      await io.write(name, new Uint8Array(await readFile(instance.path)));
      written.push(name);
      inputs.push(name);
    }
    // Titles and fonts go in as files: no user text is ever part of the graph text.
    const textFiles = new Map<string, string>();
    const fonts = new Map<string, string>();
    const nodes = [];
    for (const node of graph.nodes) {
      if (node.filter !== "drawtext") {
        nodes.push(node);
        continue;
      }
      const text = node.options.find(([k]) => k === "text")?.[1] ?? "";
      const textName = `/work/edit-text${textFiles.size}.txt`;
      await io.write(textName, new TextEncoder().encode(text));
      written.push(textName);
      textFiles.set(node.id, textName);
      const fontPath = node.options.find(([k]) => k === "fontfile")?.[1] ?? "";
      let fontName = fonts.get(fontPath);
      if (!fontName) {
        fontName = `/work/edit-font${fonts.size}.ttf`;
        await io.write(fontName, new Uint8Array(await readFile(fontPath)));
        written.push(fontName);
        fonts.set(fontPath, fontName);
      }
      const memfsFont = fontName;
      nodes.push({
        ...node,
        options: node.options.map(([k, v]): [string, string] => [k, k === "fontfile" ? memfsFont : v]),
      });
    }
    const label = (ref: string) => {
      const [id, pad] = ref.split("#");
      return `[${id}_${pad ?? 0}]`;
    };
    const video = target.video;
    const args = [
      "-hide_banner",
      // Errors only, with -progress blocks on stdout (the timeline written so far).
      ...COMMON,
      ...inputs.flatMap((name) => ["-i", name]),
      "-filter_complex",
      filterComplexText({ ...graph, nodes }, textFiles),
      "-map",
      label(graph.videoOut),
      ...(graph.audioOut ? ["-map", label(graph.audioOut)] : []),
      "-c:v",
      target.videoEncoder,
      ...(video.bitrateKbps !== null ? ["-b:v", `${video.bitrateKbps}k`] : ["-crf", String(video.crf ?? 23)]),
      "-preset",
      video.preset,
      "-pix_fmt",
      "yuv420p",
      ...(graph.audioOut && target.audioEncoder
        ? [
            "-c:a",
            target.audioEncoder,
            ...(target.audio?.bitrateKbps ? ["-b:a", `${target.audio.bitrateKbps}k`] : []),
          ]
        : []),
      "-f",
      target.muxer,
      "-y",
      MEMFS_EDIT_OUT,
    ];
    await io.exec(args, graph.durationSec);
    await io.keep(MEMFS_EDIT_OUT, target.path);
  } finally {
    await io.remove(written);
  }
}
