import { z } from "zod";
import {
  type ClipPosition,
  clipFits,
  clipPositions,
  colourPattern,
  compositionDefaults as defaults,
  fontNames,
  inputNamePattern,
  compositionLimits as limits,
  transitionKinds,
  unrenderableText,
} from "./composition-media";
import {
  analysisDefaults,
  containerCodecs,
  maxCrf,
  mediaLimits,
  presets,
  videoCodecs,
  videoContainers,
} from "./media";

/**
 * The `composition` and `highlight_reel` outputs: several inputs edited on a timeline (canvas,
 * tracks of clips, transitions, a soundtrack), and the best moments of one input cut together.
 * Every field is typed and bounded; the engine builds its filter graph from these values only.
 *
 * Built by a factory so the job spec hands in the schemas it shares (output names, audio encode
 * settings, trims) without an import cycle.
 */

const within = (range: { min: number; max: number }) => z.number().min(range.min).max(range.max);
const evenWithin = (range: { min: number; max: number }) =>
  z
    .int()
    .min(range.min)
    .max(range.max)
    .refine((n) => n % 2 === 0, "must be an even number of pixels");

export const inputNameSchema = z
  .string()
  .regex(inputNamePattern, "must be 1-32 letters, digits, '-' or '_', starting with a letter or digit");

export const colourSchema = z.string().regex(colourPattern, 'must be a colour "#rrggbb" or "#rrggbbaa"');

/** The video encode settings of an edit: the canvas decides size and rate. */
export const editVideoSchema = z
  .strictObject({
    codec: z.enum(videoCodecs).default("h264"),
    crf: z.int().min(mediaLimits.crf.min).max(mediaLimits.crf.max).optional(),
    bitrate_kbps: z
      .int()
      .min(mediaLimits.videoBitrateKbps.min)
      .max(mediaLimits.videoBitrateKbps.max)
      .optional(),
    preset: z.enum(presets).default("veryfast"),
  })
  .superRefine((v, ctx) => {
    if (v.crf !== undefined && v.bitrate_kbps !== undefined)
      ctx.addIssue({ code: "custom", message: "give crf or bitrate_kbps, not both", path: ["bitrate_kbps"] });
    if (v.crf !== undefined && v.crf > maxCrf[v.codec])
      ctx.addIssue({
        code: "custom",
        message: `must be at most ${maxCrf[v.codec]} for ${v.codec}`,
        path: ["crf"],
      });
  });

const transitionSchema = z.strictObject({
  in: z.enum(transitionKinds).optional(),
  out: z.enum(transitionKinds).optional(),
  duration_sec: within(limits.transitionSec).default(defaults.transitionSec),
});

const offsetSchema = z.strictObject({
  /** Share of the canvas width, to the right. */
  x: within(limits.offset).default(0),
  /** Share of the canvas height, upwards (as in Shotstack). */
  y: within(limits.offset).default(0),
});

export function compositionSchemas<
  Name extends z.ZodType<string>,
  Audio extends z.ZodType,
  Trim extends z.ZodType<{ start_sec: number; end_sec?: number | undefined }>,
>(shared: { outputName: Name; audioStream: Audio; trim: Trim }) {
  const mediaAsset = <T extends "video" | "audio">(type: T) =>
    z.strictObject({
      type: z.literal(type),
      /** One of the job's `inputs`; left out: the job's only input. */
      input: inputNameSchema.optional(),
      /** The stretch of the input played: from start_sec, for the clip's length. */
      trim: shared.trim.optional(),
    });
  const imageAsset = z.strictObject({ type: z.literal("image"), input: inputNameSchema.optional() });
  const textAsset = z.strictObject({
    type: z.literal("text"),
    text: z.string().min(limits.textChars.min).max(limits.textChars.max),
    font: z.enum(fontNames).default("sans"),
    font_size: z.int().min(limits.fontSize.min).max(limits.fontSize.max).default(defaults.fontSize),
    color: colourSchema.default(defaults.textColour),
    /** A box behind the text, in this colour; left out: none. */
    background: colourSchema.optional(),
  });
  const asset = z.discriminatedUnion("type", [
    mediaAsset("video"),
    imageAsset,
    mediaAsset("audio"),
    textAsset,
  ]);

  const clip = z.strictObject({
    asset,
    /** Where the clip starts on the timeline. */
    start_sec: within(limits.timelineSec),
    /** How long it plays; optional for video and audio (then: the trimmed media's length). */
    length_sec: within(limits.clipLengthSec).optional(),
    fit: z.enum(clipFits).default("contain"),
    position: z.enum(clipPositions).default("center"),
    offset: offsetSchema.default({ x: 0, y: 0 }),
    scale: within(limits.scale).default(1),
    opacity: z.number().min(0).max(1).default(1),
    /** The clip's own audio (video and audio assets), linear. */
    volume: within(limits.volume).default(1),
    transition: transitionSchema.optional(),
  });

  const soundtrack = z.strictObject({
    input: inputNameSchema.optional(),
    trim: shared.trim.optional(),
    volume: within(limits.volume).default(1),
    fade_in_sec: within(limits.fadeSec).default(0),
    fade_out_sec: within(limits.fadeSec).default(0),
    /** Lower the soundtrack by this many dB while the video clips' own audio has sound. */
    duck: within(limits.duckDb).optional(),
  });

  const container = {
    container: z.enum(videoContainers).default("mp4"),
    video: editVideoSchema.default({ codec: "h264", preset: "veryfast" }),
    /** false: no audio track. */
    audio: z
      .union([shared.audioStream, z.literal(false)])
      .default(() => ({ codec: "aac", bitrate_kbps: 128 }) as never),
  };

  const composition = z.strictObject({
    name: shared.outputName,
    type: z.literal("composition"),
    ...container,
    canvas: z.strictObject({
      width: evenWithin(limits.canvasDimension),
      height: evenWithin(limits.canvasDimension),
      fps: within(limits.canvasFps).default(defaults.canvasFps),
      background: colourSchema.default(defaults.background),
    }),
    /** The first track is drawn on top. */
    tracks: z
      .array(
        z.strictObject({ clips: z.array(clip).min(limits.clipsPerTrack.min).max(limits.clipsPerTrack.max) }),
      )
      .min(limits.tracks.min)
      .max(limits.tracks.max),
    soundtrack: soundtrack.optional(),
  });

  const highlightReel = z.strictObject({
    name: shared.outputName,
    type: z.literal("highlight_reel"),
    ...container,
    /** With `inputs`: which one; left out: the job's only input. */
    input: inputNameSchema.optional(),
    /** At most this many segments (the best ones, shown in time order). */
    segments: z
      .int()
      .min(limits.reelSegments.min)
      .max(limits.reelSegments.max)
      .default(defaults.reelSegments),
    /** At most this many seconds in all. */
    total_sec: within(limits.reelTotalSec).optional(),
    /** Each segment's length bounds (the highlights analysis's min_sec/max_sec). */
    min_sec: within(mediaLimits.highlightSec).default(analysisDefaults.highlightMinSec),
    max_sec: within(mediaLimits.highlightSec).default(analysisDefaults.highlightMaxSec),
    crossfade_sec: within(limits.reelCrossfadeSec).default(defaults.reelCrossfadeSec),
    /** Fit the picture inside this height (aspect kept, never upscaled); left out: the input's. */
    height: evenWithin(mediaLimits.dimension).optional(),
  });

  return { composition, highlightReel, clip };
}

type Schemas = ReturnType<typeof compositionSchemas>;
export type CompositionSpecShape = z.output<Schemas["composition"]>;
export type HighlightReelSpecShape = z.output<Schemas["highlightReel"]>;
export type ClipSpec = z.output<Schemas["clip"]>;

/** A problem found in a composition before any media is read: where it is, and what is wrong. */
export interface CompositionProblem {
  /** Inside the output, e.g. ["tracks", 1, "clips", 2]. */
  path: (string | number)[];
  /** Names the clip: "tracks[1].clips[2]: …". */
  message: string;
}

/** The length a clip has on the timeline when the spec says it (null: it depends on the media). */
export function declaredLength(clip: ClipSpec): number | null {
  if (clip.length_sec !== undefined) return clip.length_sec;
  const asset = clip.asset;
  if ((asset.type === "video" || asset.type === "audio") && asset.trim?.end_sec !== undefined)
    return asset.trim.end_sec - asset.trim.start_sec;
  return null;
}

const fmt = (sec: number) => `${Math.round(sec * 1000) / 1000} s`;
export const clipLabel = (track: number, clip: number) => `tracks[${track}].clips[${clip}]`;

/**
 * Everything about a composition that is knowable at submit: inputs that exist, lengths where they
 * are needed, clips inside the timeline, overlaps only where a crossfade asks for them, transitions
 * that fit their clip, text the fonts can draw, the limits on clips and length.
 * `inputNames`: the job's named inputs (a single-input job: none, and clips name no input).
 */
export function compositionProblems(
  output: CompositionSpecShape,
  inputNames: readonly string[] | null,
): CompositionProblem[] {
  const problems: CompositionProblem[] = [];
  const inputProblem = (name: string | undefined): string | null => {
    if (inputNames === null)
      return name === undefined
        ? null
        : `names input '${name}', but the job has one unnamed input (use "inputs")`;
    if (name === undefined)
      return inputNames.length === 1
        ? null
        : `names no input; the job has several (${inputNames.join(", ")})`;
    return inputNames.includes(name)
      ? null
      : `input '${name}' is not one of the job's inputs (${inputNames.join(", ")})`;
  };
  let clips = 0;
  output.tracks.forEach((track, t) => {
    const timed: { index: number; start: number; end: number | null; clip: ClipSpec }[] = [];
    track.clips.forEach((clip, c) => {
      clips += 1;
      const at = (message: string, ...rest: (string | number)[]) =>
        problems.push({
          path: ["tracks", t, "clips", c, ...rest],
          message: `${clipLabel(t, c)}: ${message}`,
        });
      const asset = clip.asset;
      if (asset.type !== "text") {
        const bad = inputProblem(asset.input);
        if (bad) at(bad, "asset", "input");
      } else {
        const refused = unrenderableText(asset.text);
        if (refused) at(`text holds ${refused}`, "asset", "text");
      }
      const length = declaredLength(clip);
      if ((asset.type === "image" || asset.type === "text") && clip.length_sec === undefined)
        at(`an ${asset.type} clip needs length_sec`, "length_sec");
      if (
        (asset.type === "video" || asset.type === "audio") &&
        clip.length_sec !== undefined &&
        asset.trim?.end_sec !== undefined &&
        clip.length_sec > asset.trim.end_sec - asset.trim.start_sec + 1e-6
      )
        at(
          `length_sec ${fmt(clip.length_sec)} is longer than its trim (${fmt(asset.trim.end_sec - asset.trim.start_sec)})`,
          "length_sec",
        );
      if (length !== null && clip.start_sec + length > limits.timelineSec.max)
        at(
          `ends at ${fmt(clip.start_sec + length)}, past the longest timeline (${fmt(limits.timelineSec.max)})`,
        );
      const tr = clip.transition;
      if (tr?.out === "crossfade")
        at('crossfade is an "in" transition: set it on the clip that follows', "transition", "out");
      if (tr && length !== null) {
        const used = (tr.in ? tr.duration_sec : 0) + (tr.out ? tr.duration_sec : 0);
        if (used > length + 1e-6)
          at(
            `its transitions take ${fmt(used)}, longer than the clip (${fmt(length)})`,
            "transition",
            "duration_sec",
          );
      }
      timed.push({
        index: c,
        start: clip.start_sec,
        end: length === null ? null : clip.start_sec + length,
        clip,
      });
    });
    problems.push(...trackOverlaps(t, timed));
  });
  if (clips > limits.clipsTotal)
    problems.push({
      path: ["tracks"],
      message: `${clips} clips; a composition holds at most ${limits.clipsTotal}`,
    });
  if (output.soundtrack) {
    const bad = inputProblem(output.soundtrack.input);
    if (bad) problems.push({ path: ["soundtrack", "input"], message: `soundtrack: ${bad}` });
  }
  return problems;
}

/**
 * Clips on one track follow each other; two may overlap only where the later one crossfades in,
 * by exactly its transition's duration (where both lengths are known at submit; the engine checks
 * the rest against the media).
 */
export function trackOverlaps(
  track: number,
  clips: { index: number; start: number; end: number | null; clip: ClipSpec }[],
): CompositionProblem[] {
  const problems: CompositionProblem[] = [];
  const sorted = [...clips].sort((a, b) => a.start - b.start || a.index - b.index);
  sorted.forEach((current, i) => {
    const at = (message: string) =>
      problems.push({
        path: ["tracks", track, "clips", current.index],
        message: `${clipLabel(track, current.index)}: ${message}`,
      });
    const previous = sorted[i - 1];
    const crossfade =
      current.clip.transition?.in === "crossfade" ? current.clip.transition.duration_sec : null;
    if (!previous) {
      if (crossfade !== null) at("crossfades in, but no clip before it on its track to blend with");
      return;
    }
    if (previous.end === null) return;
    const overlap = previous.end - current.start;
    if (crossfade === null) {
      if (overlap > 1e-6)
        at(
          `starts at ${fmt(current.start)}, before ${clipLabel(track, previous.index)} ends (${fmt(previous.end)}); ` +
            "clips on one track overlap only to crossfade",
        );
      return;
    }
    if (Math.abs(overlap - crossfade) > 1e-3)
      at(
        `a ${fmt(crossfade)} crossfade starts the clip ${fmt(crossfade)} before ${clipLabel(track, previous.index)} ends, ` +
          `at ${fmt(previous.end - crossfade)}; it starts at ${fmt(current.start)}`,
      );
  });
  return problems;
}

/** Where a clip's box goes for an anchor: shares of the free space (0 left/top, 1 right/bottom). */
export function anchorShares(position: ClipPosition): { x: number; y: number } {
  const x = position.endsWith("left") ? 0 : position.endsWith("right") ? 1 : 0.5;
  const y = position.startsWith("top") ? 0 : position.startsWith("bottom") ? 1 : 0.5;
  return { x, y };
}

/** The video codecs a container carries, for the edit outputs' own check. */
export function editCodecProblems(output: {
  container: (typeof videoContainers)[number];
  video: { codec: (typeof videoCodecs)[number] };
  audio: false | { codec: string };
}): CompositionProblem[] {
  const allowed = containerCodecs[output.container];
  const problems: CompositionProblem[] = [];
  if (!allowed.video.includes(output.video.codec))
    problems.push({
      path: ["video", "codec"],
      message: `${output.container} carries ${allowed.video.join(", ")} video`,
    });
  if (output.audio !== false && !(allowed.audio as readonly string[]).includes(output.audio.codec))
    problems.push({
      path: ["audio", "codec"],
      message: `${output.container} carries ${allowed.audio.join(", ")} audio`,
    });
  return problems;
}

/** `inputs`: 1-16 named inputs. */
export function jobInputsSchema<I extends z.ZodType>(input: I) {
  return z
    .record(inputNameSchema, input)
    .refine((r) => Object.keys(r).length >= limits.inputs.min, "name at least one input")
    .refine((r) => Object.keys(r).length <= limits.inputs.max, `at most ${limits.inputs.max} inputs per job`);
}

/** The issue code a composition problem carries: the edge answers `composition_invalid` for it. */
export const compositionInvalidParams = { code: "composition_invalid" } as const;

/** What checkJobEdits reads of a job spec (structural, so this module needs nothing from job-spec). */
interface EditedJob {
  input?: unknown;
  inputs?: Record<string, unknown> | undefined;
  accel?: string;
  outputs: ({ type: string } | CompositionSpecShape | HighlightReelSpecShape)[];
}

/**
 * The job-level rules of edits: exactly one of `input` and `inputs`; a job with `inputs` carries
 * composition and highlight_reel outputs only; each composition's own problems (composition_invalid,
 * naming the clip); a highlight reel names an input that exists.
 */
export function checkJobEdits(spec: EditedJob, ctx: z.RefinementCtx): void {
  if ((spec.input === undefined) === (spec.inputs === undefined)) {
    ctx.addIssue({
      code: "custom",
      message: spec.input === undefined ? "give input (or inputs)" : "give input or inputs, not both",
      path: spec.input === undefined ? ["input"] : ["inputs"],
    });
    return;
  }
  const names = spec.inputs ? Object.keys(spec.inputs) : null;
  // Edits are rendered by the software filter graph and encoders: a GPU is asked for in vain.
  if (
    spec.accel === "gpu" &&
    spec.outputs.some((o) => o.type === "composition" || o.type === "highlight_reel")
  ) {
    ctx.addIssue({
      code: "custom",
      message: "compositions and highlight reels are rendered on the CPU; use accel auto or cpu",
      path: ["accel"],
    });
  }
  spec.outputs.forEach((output, i) => {
    const problem = (p: CompositionProblem) =>
      ctx.addIssue({
        code: "custom",
        message: p.message,
        path: ["outputs", i, ...p.path],
        params: compositionInvalidParams,
      });
    if (output.type === "composition") {
      for (const p of compositionProblems(output as CompositionSpecShape, names)) problem(p);
    } else if (output.type === "highlight_reel") {
      const reel = output as HighlightReelSpecShape;
      if (reel.min_sec > reel.max_sec)
        problem({ path: ["max_sec"], message: "min_sec must be at most max_sec" });
      if (names && reel.input === undefined && names.length > 1)
        problem({ path: ["input"], message: `names no input; the job has several (${names.join(", ")})` });
      else if (reel.input !== undefined && !(names ?? []).includes(reel.input))
        problem({
          path: ["input"],
          message: names
            ? `input '${reel.input}' is not one of the job's inputs (${names.join(", ")})`
            : `names input '${reel.input}', but the job has one unnamed input (use "inputs")`,
        });
    } else if (names) {
      ctx.addIssue({
        code: "custom",
        message:
          "a job with inputs carries composition and highlight_reel outputs; give this output its own job with input",
        path: ["outputs", i, "type"],
      });
    }
  });
}
