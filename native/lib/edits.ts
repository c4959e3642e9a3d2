/**
 * Edits (composition, highlight_reel) for both engines: probe the inputs, check the plan against
 * them (COMPOSITION_INVALID names the clip, before anything is encoded), build the filter graph,
 * have the engine render it, and read the written file back. A highlight reel first runs the
 * `highlights` analysis of its input through the engine, then renders its segments crossfaded.
 */
import type { AnalysisFactsOf, HighlightSegment } from "@framewire/shared/media";
import { buildCompositionGraph, type CompositionGraph, type InputFacts } from "./composition-graph";
import type {
  CompositionPlanOutput,
  EditAudioOptions,
  EditVideoOptions,
  HighlightReelPlanOutput,
  PlanClip,
} from "./composition-plan";
import { EngineError, type MediaFacts, type OutputFacts, type Plan, type PlanOutput } from "./engine";
import { outputFactsFromProbe, outputMismatch } from "./output-facts";
import { AUDIO_FORMATS, SOFTWARE_VIDEO_ENCODERS, VIDEO_MUXERS } from "./plan-check";
import type { OutputMeasure } from "./run-progress";

export type EditPlanOutput = CompositionPlanOutput | HighlightReelPlanOutput;

export function isEdit(output: PlanOutput): output is EditPlanOutput {
  return output.kind === "composition" || output.kind === "highlight_reel";
}

/** The inputs an edit may name: a single-input plan's input is called "input". */
export function planInputs(plan: Plan): Record<string, string> {
  return plan.inputs ?? { input: plan.inputPath };
}

/** What an engine does for edits; edits.ts does the rest. */
export interface EditEngine {
  probe(path: string): Promise<MediaFacts>;
  /** Software encoders the engine can open. */
  encoders: readonly string[];
  /** Renders one graph to `output.path`; progress as the timeline written so far. */
  render(
    graph: CompositionGraph,
    target: RenderTarget,
    onProgress: (measure: OutputMeasure) => void,
    signal: AbortSignal | undefined,
  ): Promise<void>;
  /** The input's best moments (a `highlights` analysis run through the engine). */
  highlights(
    inputPath: string,
    options: { count: number; minSec: number; maxSec: number; totalSec: number | null },
    signal: AbortSignal | undefined,
  ): Promise<AnalysisFactsOf<"highlights">>;
}

/** The file an edit writes and its encoders, in FFmpeg's names. */
export interface RenderTarget {
  path: string;
  muxer: string;
  videoEncoder: string;
  video: EditVideoOptions;
  audioEncoder: string | null;
  audio: EditAudioOptions | null;
  fps: number;
}

function target(output: EditPlanOutput, encoders: readonly string[], fps: number): RenderTarget {
  const videoEncoder = SOFTWARE_VIDEO_ENCODERS[output.video.codec].find((e) => encoders.includes(e));
  if (!videoEncoder)
    throw new EngineError(
      "UNSUPPORTED",
      `output ${output.name}: no working ${output.video.codec} encoder here`,
    );
  const audioEncoder = output.audio ? AUDIO_FORMATS[output.audio.codec].encoder : null;
  if (audioEncoder && !encoders.includes(audioEncoder))
    throw new EngineError("UNSUPPORTED", `output ${output.name}: no working ${audioEncoder} encoder here`);
  return {
    path: output.path,
    muxer: VIDEO_MUXERS[output.container],
    videoEncoder,
    video: output.video,
    audioEncoder,
    audio: output.audio,
    fps,
  };
}

async function probeAll(
  engine: EditEngine,
  inputs: Record<string, string>,
  names: Iterable<string>,
): Promise<InputFacts> {
  const facts: InputFacts = {};
  for (const name of new Set(names)) {
    const path = inputs[name];
    if (!path) throw new EngineError("COMPOSITION_INVALID", `input '${name}' is not one of the job's inputs`);
    facts[name] = await engine.probe(path);
  }
  return facts;
}

function namesOf(output: CompositionPlanOutput): string[] {
  const names = output.tracks.flat().flatMap((c) => (c.asset.type === "text" ? [] : [c.asset.input]));
  if (output.soundtrack) names.push(output.soundtrack.input);
  return names;
}

/** Renders one edit and describes the written file (and a reel's segments). */
export async function runEdit(
  plan: Plan,
  output: EditPlanOutput,
  engine: EditEngine,
  onProgress: (measure: OutputMeasure) => void,
  signal: AbortSignal | undefined,
): Promise<OutputFacts> {
  const inputs = planInputs(plan);
  let composition: CompositionPlanOutput;
  let segments: HighlightSegment[] | undefined;
  let facts: InputFacts;
  if (output.kind === "highlight_reel") {
    const reel = await reelComposition(output, inputs, engine, signal);
    composition = reel.composition;
    segments = reel.segments;
    facts = reel.facts;
  } else {
    composition = output;
    facts = await probeAll(engine, inputs, namesOf(output));
  }
  const graph = buildCompositionGraph(composition, inputs, facts);
  const started = performance.now();
  await engine.render(
    graph,
    target(output, engine.encoders, composition.canvas.fps),
    (measure) => onProgress({ ...measure, elapsedSec: (performance.now() - started) / 1000 }),
    signal,
  );
  const written = outputFactsFromProbe(output, await engine.probe(output.path), {
    encoding: {
      encoder: target(output, engine.encoders, composition.canvas.fps).videoEncoder,
      accel: "cpu",
      fallbackReason: null,
    },
    ...(segments ? { segments } : {}),
  });
  // The post-write check: the file lasts as long as the timeline, within a frame.
  const reason = outputMismatch(written, {
    durationSec: graph.durationSec,
    video: true,
    audio: graph.audioOut !== null,
  });
  if (reason) throw new EngineError("OUTPUT_INVALID", `output ${output.name} failed its check: ${reason}`);
  return written;
}

const even = (v: number) => Math.max(2, 2 * Math.round(v / 2));

/**
 * A highlight reel as a composition: the input's best segments (in time order), one after the
 * other on one track, each crossfading into the next; the canvas is the input's upright picture
 * (fitted under max height), at its frame rate.
 */
async function reelComposition(
  output: HighlightReelPlanOutput,
  inputs: Record<string, string>,
  engine: EditEngine,
  signal: AbortSignal | undefined,
): Promise<{ composition: CompositionPlanOutput; segments: HighlightSegment[]; facts: InputFacts }> {
  const path = inputs[output.input];
  if (!path)
    throw new EngineError("COMPOSITION_INVALID", `input '${output.input}' is not one of the job's inputs`);
  const facts = await probeAll(engine, inputs, [output.input]);
  const media = facts[output.input] as MediaFacts;
  const picture = media.streams.find((s) => s.type === "video" && !s.attachedPicture);
  if (!picture?.width || !picture.height)
    throw new EngineError("COMPOSITION_INVALID", `highlight reel: input '${output.input}' has no picture`);
  const rotated = picture.rotation === 90 || picture.rotation === 270;
  const sar = picture.sampleAspectRatio && picture.sampleAspectRatio > 0 ? picture.sampleAspectRatio : 1;
  let width = rotated ? picture.height : picture.width * sar;
  let height = rotated ? picture.width * sar : picture.height;
  if (output.maxHeight !== null && height > output.maxHeight) {
    width = (width * output.maxHeight) / height;
    height = output.maxHeight;
  }
  const found = await engine.highlights(
    path,
    { count: output.segments, minSec: output.minSec, maxSec: output.maxSec, totalSec: output.totalSec },
    signal,
  );
  const segments = [...found.segments].sort((a, b) => a.start_sec - b.start_sec);
  if (segments.length === 0)
    throw new EngineError(
      "COMPOSITION_INVALID",
      `highlight reel: input '${output.input}' has no highlights to cut`,
    );
  const clips: PlanClip[] = [];
  let at = 0;
  segments.forEach((segment, i) => {
    const length = segment.end_sec - segment.start_sec;
    const previous = clips[i - 1];
    // A crossfade takes at most half of either segment.
    const fade = previous ? Math.min(output.crossfadeSec, length / 2, (previous.lengthSec ?? 0) / 2) : 0;
    const start = Math.max(0, at - fade);
    clips.push({
      label: `segments[${i}]`,
      asset: {
        type: "video",
        input: output.input,
        trimStartSec: segment.start_sec,
        trimEndSec: segment.end_sec,
      },
      startSec: start,
      lengthSec: length,
      fit: "contain",
      position: "center",
      offsetX: 0,
      offsetY: 0,
      scale: 1,
      opacity: 1,
      volume: 1,
      transitionIn: fade > 0 ? { kind: "crossfade", durationSec: fade } : null,
      transitionOut: null,
    });
    at = start + length;
  });
  const fps = Math.min(60, Math.max(1, Math.round(picture.fps ?? 30)));
  return {
    composition: {
      kind: "composition",
      name: output.name,
      path: output.path,
      container: output.container,
      video: output.video,
      audio: output.audio,
      canvas: { width: even(width), height: even(height), fps, background: "#000000" },
      tracks: [clips],
      soundtrack: null,
    },
    segments,
    facts,
  };
}
