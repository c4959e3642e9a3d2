/**
 * A composition as one filter graph, built from the plan's typed values and the inputs' probed
 * facts. Both engines run what this returns: the native engine creates each filter by name and sets
 * each option through AVOptions (no graph text is parsed, so no value can add a filter); the wasm
 * engine writes the same graph as -filter_complex text with every value quoted.
 *
 * The picture: a `color` canvas, then every clip overlaid on it, the last track first (the first
 * track ends on top), within a track in time order (a crossfading clip lands on the one it blends
 * with). Each clip's branch: trim to its stretch of the input, restart at 0, the canvas frame rate,
 * scaled to its fitted size, alpha for opacity and fades, wipes through xfade against transparency,
 * then padded with transparent frames up to its start, so the overlay never waits on an input
 * that is not due yet (that wait would hold every frame of the other layers in memory). Slides move
 * the overlay's position per frame.
 *
 * The sound: every clip's audio resampled to the output's rate and layout, trimmed, its volume and
 * fades applied, delayed (by samples) to its start, and summed with amix (normalize off: levels
 * are what the volumes say). Ducking: a gate keyed by the clips' own sound opens on the
 * soundtrack, and the mix adds the gated copy at -(1 - 10^(-dB/20)), so the soundtrack is
 * lowered by exactly that many dB while the clips have sound.
 *
 * Each input is decoded once per "run" of clips that use it in time order (a later clip reads a
 * later stretch of the input); a clip that reads the input out of order gets its own decode, so no
 * branch ever buffers frames that are not due yet.
 */
import {
  type ClipFit,
  type ClipPosition,
  compositionDefaults,
  compositionLimits,
  fontFiles,
} from "@framewire/shared/media";
import type { CompositionPlanOutput, PlanClip, PlanTransition } from "./composition-plan";
import { EngineError, type MediaFacts } from "./engine";

/** One filter: its libavfilter name, options in order, and its input pads ("node", "node#1", "src:0:v"). */
export interface GraphNode {
  id: string;
  filter: string;
  options: [string, string][];
  inputs: string[];
}

/** One decode of one input: the streams it feeds and the stretch it reads. */
export interface DecodeInstance {
  input: string;
  path: string;
  video: boolean;
  audio: boolean;
  /** Seek near here before reading (input timeline, seconds). */
  seekSec: number;
  /** Stop reading once past this (plus a margin); null: to the end. */
  endSec: number | null;
}

export interface CompositionGraph {
  instances: DecodeInstance[];
  nodes: GraphNode[];
  /** The pads the encoders read. */
  videoOut: string;
  audioOut: string | null;
  durationSec: number;
  /** Output audio, when there is any. */
  sampleRate: number;
  channels: number;
}

/** Media facts per input name (probed). */
export type InputFacts = Record<string, MediaFacts>;

/** Extra time read past a trim's end (reordering, interleaving); the trims drop it. */
const readMarginSec = 1;

const n = (value: number) => {
  const rounded = Math.round(value * 1e6) / 1e6;
  return Object.is(rounded, -0) ? "0" : String(rounded);
};
const fmtSec = (value: number) => `${Math.round(value * 100) / 100} s`;
const invalid = (message: string) => new EngineError("COMPOSITION_INVALID", message);

/** "#rrggbb[aa]" as FFmpeg's colour syntax "0xRRGGBB@alpha". */
export function ffmpegColour(colour: string): string {
  const rgb = colour.slice(1, 7);
  const alpha = colour.length === 9 ? Number.parseInt(colour.slice(7, 9), 16) / 255 : 1;
  return `0x${rgb.toUpperCase()}@${n(alpha)}`;
}

interface VisualInfo {
  /** Display size, upright. */
  width: number;
  height: number;
  rotation: number;
}

interface ResolvedClip {
  clip: PlanClip;
  track: number;
  lengthSec: number;
  endSec: number;
  /** Where it reads its input (video/audio/image). */
  trimStartSec: number;
  visual: VisualInfo | null;
  hasAudio: boolean;
}

/** The audio the output gets: channels and rate from the encode settings, else stereo at 48 kHz. */
function audioFormat(plan: CompositionPlanOutput): { sampleRate: number; channels: number } {
  return { sampleRate: plan.audio?.sampleRate ?? 48_000, channels: plan.audio?.channels ?? 2 };
}

function videoStream(facts: MediaFacts) {
  return (
    facts.streams.find((s) => s.type === "video" && !s.attachedPicture) ??
    facts.streams.find((s) => s.type === "video")
  );
}

function visualInfo(facts: MediaFacts): VisualInfo | null {
  const stream = videoStream(facts);
  if (!stream?.width || !stream.height) return null;
  const rotation = (((stream.rotation ?? 0) % 360) + 360) % 360;
  const sar = stream.sampleAspectRatio && stream.sampleAspectRatio > 0 ? stream.sampleAspectRatio : 1;
  const w = Math.max(2, Math.round(stream.width * sar));
  const h = stream.height;
  return rotation === 90 || rotation === 270
    ? { width: h, height: w, rotation }
    : { width: w, height: h, rotation };
}

/** The media's length: the container's duration, else the longest stream's. */
function mediaDuration(facts: MediaFacts): number | null {
  if (facts.durationSec !== null && facts.durationSec > 0) return facts.durationSec;
  const streams = facts.streams.map((s) => s.durationSec ?? 0).filter((d) => d > 0);
  return streams.length ? Math.max(...streams) : null;
}

/**
 * Checks every clip against its input's facts and fixes its length: a trim past the input's end,
 * a video clip on an input with no picture, an audio clip on one with no sound. Throws
 * COMPOSITION_INVALID naming the clip, before anything is decoded.
 */
export function resolveClips(plan: CompositionPlanOutput, facts: InputFacts): ResolvedClip[] {
  const resolved: ResolvedClip[] = [];
  plan.tracks.forEach((clips, track) => {
    for (const clip of clips) {
      const asset = clip.asset;
      if (asset.type === "text") {
        const length = clip.lengthSec ?? 0;
        resolved.push({
          clip,
          track,
          lengthSec: length,
          endSec: clip.startSec + length,
          trimStartSec: 0,
          visual: null,
          hasAudio: false,
        });
        continue;
      }
      const input = facts[asset.input];
      if (!input) throw invalid(`${clip.label}: input '${asset.input}' is not one of the job's inputs`);
      const visual = visualInfo(input);
      const hasAudio = input.streams.some((s) => s.type === "audio");
      if ((asset.type === "video" || asset.type === "image") && !visual)
        throw invalid(`${clip.label}: input '${asset.input}' has no picture for a ${asset.type} clip`);
      if (asset.type === "audio" && !hasAudio)
        throw invalid(`${clip.label}: input '${asset.input}' has no audio for an audio clip`);
      if (asset.type === "image") {
        const length = clip.lengthSec ?? 0;
        resolved.push({
          clip,
          track,
          lengthSec: length,
          endSec: clip.startSec + length,
          trimStartSec: 0,
          visual,
          hasAudio: false,
        });
        continue;
      }
      const duration = mediaDuration(input);
      const fps = videoStream(input)?.fps ?? 25;
      // Containers round their duration; a frame's worth of slack keeps an exact trim valid.
      const slack = Math.max(0.05, 1 / fps);
      const wanted =
        clip.lengthSec !== null ? asset.trimStartSec + clip.lengthSec : (asset.trimEndSec ?? duration);
      if (wanted === null)
        throw invalid(
          `${clip.label}: input '${asset.input}' does not say how long it is; give the clip a length_sec`,
        );
      if (duration !== null && wanted > duration + slack)
        throw invalid(
          `${clip.label}: trim ends at ${fmtSec(wanted)} but input '${asset.input}' lasts ${fmtSec(duration)}`,
        );
      if (duration !== null && asset.trimStartSec >= duration)
        throw invalid(
          `${clip.label}: trim starts at ${fmtSec(asset.trimStartSec)} but input '${asset.input}' lasts ${fmtSec(duration)}`,
        );
      const length = Math.max(0, Math.min(wanted, duration ?? wanted) - asset.trimStartSec);
      resolved.push({
        clip,
        track,
        lengthSec: length,
        endSec: clip.startSec + length,
        trimStartSec: asset.trimStartSec,
        visual: asset.type === "video" ? visual : null,
        hasAudio: hasAudio && (asset.type === "audio" || asset.type === "video"),
      });
    }
  });
  checkTimeline(resolved);
  return resolved;
}

/** What only the media could tell: overlaps and crossfades with the lengths now known, and the limit. */
function checkTimeline(clips: ResolvedClip[]): void {
  const tracks = new Map<number, ResolvedClip[]>();
  for (const c of clips) tracks.set(c.track, [...(tracks.get(c.track) ?? []), c]);
  for (const list of tracks.values()) {
    const sorted = [...list].sort((a, b) => a.clip.startSec - b.clip.startSec);
    for (let i = 1; i < sorted.length; i++) {
      const previous = sorted[i - 1] as ResolvedClip;
      const current = sorted[i] as ResolvedClip;
      const overlap = previous.endSec - current.clip.startSec;
      const crossfade =
        current.clip.transitionIn?.kind === "crossfade" ? current.clip.transitionIn.durationSec : null;
      if (crossfade === null && overlap > 1e-3)
        throw invalid(
          `${current.clip.label}: starts at ${fmtSec(current.clip.startSec)}, before ${previous.clip.label} ends (${fmtSec(previous.endSec)}); clips on one track overlap only to crossfade`,
        );
      if (crossfade !== null && Math.abs(overlap - crossfade) > 1e-3)
        throw invalid(
          `${current.clip.label}: a ${fmtSec(crossfade)} crossfade starts the clip ${fmtSec(crossfade)} before ${previous.clip.label} ends, at ${fmtSec(previous.endSec - crossfade)}; it starts at ${fmtSec(current.clip.startSec)}`,
        );
    }
  }
  for (const c of clips) {
    const used = (c.clip.transitionIn?.durationSec ?? 0) + (c.clip.transitionOut?.durationSec ?? 0);
    if (used > c.lengthSec + 1e-6)
      throw invalid(
        `${c.clip.label}: its transitions take ${fmtSec(used)}, longer than the clip (${fmtSec(c.lengthSec)})`,
      );
    if (c.lengthSec <= 0) throw invalid(`${c.clip.label}: the clip is empty`);
    if (c.endSec > compositionLimits.timelineSec.max)
      throw invalid(
        `${c.clip.label}: ends at ${fmtSec(c.endSec)}, past the longest timeline (${compositionLimits.timelineSec.max} s)`,
      );
  }
}

/** A clip's picture size on the canvas: fitted, then scaled; even sides, at least 2 pixels. */
export function fittedSize(
  source: { width: number; height: number },
  canvas: { width: number; height: number },
  fit: ClipFit,
  scale: number,
): { width: number; height: number } {
  let w = source.width;
  let h = source.height;
  if (fit === "fill") {
    w = canvas.width;
    h = canvas.height;
  } else if (fit === "contain" || fit === "cover") {
    const sx = canvas.width / source.width;
    const sy = canvas.height / source.height;
    const s = fit === "contain" ? Math.min(sx, sy) : Math.max(sx, sy);
    w = source.width * s;
    h = source.height * s;
  }
  const even = (v: number) => Math.max(2, 2 * Math.round((v * scale) / 2));
  return { width: even(w), height: even(h) };
}

/** Top-left corner of a box on the canvas for an anchor and offset (x right, y up). */
export function placedAt(
  box: { width: number; height: number },
  canvas: { width: number; height: number },
  position: ClipPosition,
  offsetX: number,
  offsetY: number,
): { x: number; y: number } {
  const ax = position.endsWith("left") ? 0 : position.endsWith("right") ? 1 : 0.5;
  const ay = position.startsWith("top") ? 0 : position.startsWith("bottom") ? 1 : 0.5;
  return {
    x: Math.round(ax * (canvas.width - box.width) + offsetX * canvas.width),
    y: Math.round(ay * (canvas.height - box.height) - offsetY * canvas.height),
  };
}

class GraphBuilder {
  readonly nodes: GraphNode[] = [];
  #count = 0;

  add(filter: string, inputs: string[], options: [string, string][] = []): string {
    const id = `${filter}${this.#count++}`;
    this.nodes.push({ id, filter, options, inputs });
    return id;
  }

  /** A chain of single-input filters. */
  chain(from: string, steps: [string, [string, string][]][]): string {
    let last = from;
    for (const [filter, options] of steps) last = this.add(filter, [last], options);
    return last;
  }

  /** `count` copies of a pad (split/asplit), or the pad itself when one is enough. */
  fanOut(from: string, count: number, audio: boolean): string[] {
    if (count <= 1) return [from];
    const id = this.add(audio ? "asplit" : "split", [from], [["outputs", String(count)]]);
    return Array.from({ length: count }, (_, i) => (i === 0 ? id : `${id}#${i}`));
  }
}

const wipeNames: Record<string, string> = {
  wipe_left: "wipeleft",
  wipe_right: "wiperight",
  wipe_up: "wipeup",
  wipe_down: "wipedown",
};

/** Orientation filters that make a stored picture upright (the player's rotation). */
function uprightSteps(rotation: number): [string, [string, string][]][] {
  if (rotation === 90) return [["transpose", [["dir", "clock"]]]];
  if (rotation === 270) return [["transpose", [["dir", "cclock"]]]];
  if (rotation === 180)
    return [
      ["hflip", []],
      ["vflip", []],
    ];
  return [];
}

/**
 * Groups each input's clips into decodes: clips join a decode while they read the input in the
 * order they play (each starts on the timeline after the previous ends and reads after its trim).
 */
function planDecodes(clips: ResolvedClip[]): Map<ResolvedClip, number> & { list: DecodeInstance[] } {
  const assignment = new Map<ResolvedClip, number>() as Map<ResolvedClip, number> & {
    list: DecodeInstance[];
  };
  assignment.list = [];
  const last = new Map<number, ResolvedClip>();
  const sorted = [...clips].sort((a, b) => a.clip.startSec - b.clip.startSec);
  for (const c of sorted) {
    const asset = c.clip.asset;
    if (asset.type === "text") continue;
    const found = assignment.list.findIndex((d, i) => {
      if (d.input !== asset.input) return false;
      if (asset.type === "image")
        return d.endSec === null && d.seekSec === 0 && !d.audio && last.get(i)?.clip.asset.type === "image";
      const previous = last.get(i);
      if (!previous || previous.clip.asset.type === "image") return false;
      return (
        previous.endSec <= c.clip.startSec + 1e-6 &&
        previous.trimStartSec + previous.lengthSec <= c.trimStartSec + 1e-6
      );
    });
    const index =
      found >= 0
        ? found
        : assignment.list.push({
            input: asset.input,
            path: "",
            video: false,
            audio: false,
            seekSec: c.trimStartSec,
            endSec: asset.type === "image" ? null : 0,
          }) - 1;
    const decode = assignment.list[index] as DecodeInstance;
    if (c.visual || asset.type === "image") decode.video = true;
    if (c.hasAudio && c.clip.volume > 0) decode.audio = true;
    if (asset.type !== "image")
      decode.endSec = Math.max(decode.endSec ?? 0, c.trimStartSec + c.lengthSec + readMarginSec);
    last.set(index, c);
    assignment.set(c, index);
  }
  return assignment;
}

/**
 * The whole graph for a composition whose inputs were probed. Throws COMPOSITION_INVALID (naming
 * the clip) when the media contradicts the plan.
 */
export function buildCompositionGraph(
  plan: CompositionPlanOutput,
  inputs: Record<string, string>,
  facts: InputFacts,
): CompositionGraph {
  const clips = resolveClips(plan, facts);
  const { width: W, height: H, fps } = plan.canvas;
  const canvas = { width: W, height: H };
  const duration = Math.max(...clips.map((c) => c.endSec), 0);
  if (duration <= 0) throw invalid("the composition is empty: no clip has any length");
  const withAudio = plan.audio !== null;
  const { sampleRate, channels } = audioFormat(plan);
  const layout = channels === 1 ? "mono" : channels === 2 ? "stereo" : `${channels}c`;
  const g = new GraphBuilder();

  // Decodes, each stream fanned out to the clips it feeds.
  const decodes = planDecodes(clips);
  const soundtrack = withAudio ? plan.soundtrack : null;
  let soundtrackDecode = -1;
  if (soundtrack) {
    const track = facts[soundtrack.input];
    if (!track) throw invalid(`soundtrack: input '${soundtrack.input}' is not one of the job's inputs`);
    if (!track.streams.some((s) => s.type === "audio"))
      throw invalid(`soundtrack: input '${soundtrack.input}' has no audio`);
    const trackDuration = mediaDuration(track);
    if (
      soundtrack.trimEndSec !== null &&
      trackDuration !== null &&
      soundtrack.trimEndSec > trackDuration + 0.05
    )
      throw invalid(
        `soundtrack: trim ends at ${fmtSec(soundtrack.trimEndSec)} but input '${soundtrack.input}' lasts ${fmtSec(trackDuration)}`,
      );
    soundtrackDecode =
      decodes.list.push({
        input: soundtrack.input,
        path: "",
        video: false,
        audio: true,
        seekSec: soundtrack.trimStartSec,
        endSec:
          Math.min(soundtrack.trimEndSec ?? Number.POSITIVE_INFINITY, soundtrack.trimStartSec + duration) +
          readMarginSec,
      }) - 1;
  }
  for (const d of decodes.list) {
    const path = inputs[d.input];
    if (!path) throw invalid(`input '${d.input}' is not one of the job's inputs`);
    d.path = path;
    if (d.endSec !== null && !Number.isFinite(d.endSec)) d.endSec = null;
  }
  const videoUsers = decodes.list.map(() => [] as ResolvedClip[]);
  const audioUsers = decodes.list.map(() => [] as ResolvedClip[]);
  for (const [c, index] of decodes) {
    if (c.visual || c.clip.asset.type === "image") videoUsers[index]?.push(c);
    if (withAudio && c.hasAudio && c.clip.volume > 0) audioUsers[index]?.push(c);
  }
  const videoPads = new Map<ResolvedClip, string>();
  const audioPads = new Map<ResolvedClip, string>();
  let soundtrackPad: string | null = null;
  decodes.list.forEach((d, i) => {
    const users = videoUsers[i] ?? [];
    if (d.video && users.length > 0) {
      const rotation = users[0]?.visual?.rotation ?? visualInfo(facts[d.input] as MediaFacts)?.rotation ?? 0;
      const upright = g.chain(`src:${i}:v`, uprightSteps(rotation));
      g.fanOut(upright, users.length, false).forEach((pad, k) => {
        videoPads.set(users[k] as ResolvedClip, pad);
      });
    } else d.video = false;
    const listeners = audioUsers[i] ?? [];
    const soundtrackHere = i === soundtrackDecode;
    if (d.audio && (listeners.length > 0 || soundtrackHere)) {
      const normalised = g.chain(`src:${i}:a`, [
        ["aresample", [["out_sample_rate", String(sampleRate)]]],
        [
          "aformat",
          [
            ["sample_fmts", "fltp"],
            ["sample_rates", String(sampleRate)],
            ["channel_layouts", layout],
          ],
        ],
      ]);
      if (soundtrackHere) soundtrackPad = normalised;
      else
        g.fanOut(normalised, listeners.length, true).forEach((pad, k) => {
          audioPads.set(listeners[k] as ResolvedClip, pad);
        });
    } else d.audio = false;
  });

  // The picture: the canvas, then layers from the bottom track up.
  let picture = g.chain(
    g.add(
      "color",
      [],
      [
        ["color", ffmpegColour(plan.canvas.background.slice(0, 7))],
        ["size", `${W}x${H}`],
        ["rate", n(fps)],
        ["duration", n(duration)],
      ],
    ),
    [["format", [["pix_fmts", "yuv420p"]]]],
  );
  const layers = [...clips]
    .filter((c) => c.clip.asset.type !== "audio")
    .sort((a, b) => b.track - a.track || a.clip.startSec - b.clip.startSec);
  for (const c of layers) picture = overlayClip(g, c, picture, videoPads.get(c), { ...canvas, fps });

  // The sound: every clip's audio at its place, the soundtrack (ducked) under it.
  let audioOut: string | null = null;
  if (withAudio) {
    const silence = () =>
      g.chain(
        g.add(
          "anullsrc",
          [],
          [
            ["channel_layout", layout],
            ["sample_rate", String(sampleRate)],
          ],
        ),
        [["atrim", [["end_sample", String(Math.round(duration * sampleRate))]]]],
      );
    const placed = (c: ResolvedClip, pad: string) => {
      const fades = audioFades(c.clip.transitionIn, c.clip.transitionOut, c.lengthSec, clips, c);
      return g.chain(pad, [
        [
          "atrim",
          [
            ["start", n(c.trimStartSec)],
            ["end", n(c.trimStartSec + c.lengthSec)],
          ],
        ],
        ["asetpts", [["expr", "PTS-STARTPTS"]]],
        ...(c.clip.volume !== 1
          ? ([["volume", [["volume", n(c.clip.volume)]]]] as [string, [string, string][]][])
          : []),
        ...fades,
        [
          "adelay",
          [
            ["delays", `${Math.round(c.clip.startSec * sampleRate)}S`],
            ["all", "1"],
          ],
        ],
      ]);
    };
    const clipSounds = clips
      .filter((c) => audioPads.has(c))
      .map((c) => ({ c, pad: placed(c, audioPads.get(c) as string) }));
    const voices = clipSounds.filter(({ c }) => c.clip.asset.type === "video").map(({ pad }) => pad);
    const others = clipSounds.filter(({ c }) => c.clip.asset.type !== "video").map(({ pad }) => pad);
    const mixInputs: string[] = [silence()];
    const weights: number[] = [1];
    let sidechain: string | null = null;
    if (soundtrack?.duckDb && voices.length > 0 && soundtrackPad) {
      const voiceBus = mix(g, [silence(), ...voices], [1, ...voices.map(() => 1)]);
      const [main, side] = g.fanOut(voiceBus, 2, true) as [string, string];
      mixInputs.push(main);
      weights.push(1);
      sidechain = side;
    } else {
      mixInputs.push(...voices);
      weights.push(...voices.map(() => 1));
    }
    mixInputs.push(...others);
    weights.push(...others.map(() => 1));
    if (soundtrack && soundtrackPad) {
      const bedLength = Math.min(
        duration,
        (soundtrack.trimEndSec ?? mediaDuration(facts[soundtrack.input] as MediaFacts) ?? duration) -
          soundtrack.trimStartSec,
      );
      const bed = g.chain(soundtrackPad, [
        [
          "atrim",
          [
            ["start", n(soundtrack.trimStartSec)],
            ["end", n(soundtrack.trimStartSec + bedLength)],
          ],
        ],
        ["asetpts", [["expr", "PTS-STARTPTS"]]],
        ["volume", [["volume", n(soundtrack.volume)]]],
        ...(soundtrack.fadeInSec > 0
          ? ([
              [
                "afade",
                [
                  ["type", "in"],
                  ["start_time", "0"],
                  ["duration", n(Math.min(soundtrack.fadeInSec, bedLength))],
                ],
              ],
            ] as [string, [string, string][]][])
          : []),
        ...(soundtrack.fadeOutSec > 0
          ? ([
              [
                "afade",
                [
                  ["type", "out"],
                  ["start_time", n(Math.max(0, bedLength - soundtrack.fadeOutSec))],
                  ["duration", n(Math.min(soundtrack.fadeOutSec, bedLength))],
                ],
              ],
            ] as [string, [string, string][]][])
          : []),
      ]);
      if (sidechain && soundtrack.duckDb) {
        const [direct, keyed] = g.fanOut(bed, 2, true) as [string, string];
        const gated = g.add(
          "sidechaingate",
          [keyed, sidechain],
          [
            ["threshold", n(10 ** (compositionDefaults.duckThresholdDb / 20))],
            ["ratio", "9000"],
            ["range", "0"],
            ["attack", "10"],
            ["release", "250"],
            ["knee", "1"],
            ["detection", "rms"],
          ],
        );
        // amix takes weights by magnitude: the subtraction is a negative volume on the gated copy.
        const lowered = g.chain(gated, [["volume", [["volume", n(-(1 - 10 ** (-soundtrack.duckDb / 20)))]]]]);
        mixInputs.push(direct, lowered);
        weights.push(1, 1);
      } else {
        mixInputs.push(bed);
        weights.push(1);
      }
    }
    audioOut = mixInputs.length === 1 ? (mixInputs[0] as string) : mix(g, mixInputs, weights);
  }

  return {
    instances: decodes.list,
    nodes: g.nodes,
    videoOut: picture,
    audioOut,
    durationSec: duration,
    sampleRate,
    channels,
  };
}

/** amix of pads, the first one setting the length, weights as given (no normalization). */
function mix(g: GraphBuilder, pads: string[], weights: number[]): string {
  return g.add("amix", pads, [
    ["inputs", String(pads.length)],
    ["duration", "first"],
    ["dropout_transition", "0"],
    ["weights", weights.map(n).join(" ")],
    ["normalize", "0"],
  ]);
}

/**
 * A clip's audio fades: every transition fades the sound over its duration; the clip a crossfade
 * lands on fades out under it.
 */
function audioFades(
  tIn: PlanTransition | null,
  tOut: PlanTransition | null,
  length: number,
  all: ResolvedClip[],
  self: ResolvedClip,
): [string, [string, string][]][] {
  const steps: [string, [string, string][]][] = [];
  if (tIn)
    steps.push([
      "afade",
      [
        ["type", "in"],
        ["start_time", "0"],
        ["duration", n(tIn.durationSec)],
      ],
    ]);
  const crossedBy = all.find(
    (o) =>
      o !== self &&
      o.track === self.track &&
      o.clip.transitionIn?.kind === "crossfade" &&
      Math.abs(o.clip.startSec + o.clip.transitionIn.durationSec - self.endSec) < 1e-3,
  );
  const outSec = tOut?.durationSec ?? crossedBy?.clip.transitionIn?.durationSec ?? null;
  if (outSec !== null)
    steps.push([
      "afade",
      [
        ["type", "out"],
        ["start_time", n(Math.max(0, length - outSec))],
        ["duration", n(outSec)],
      ],
    ]);
  return steps;
}

/** One clip's layer over `below`: its picture (or text) prepared, then overlaid in its window. */
function overlayClip(
  g: GraphBuilder,
  c: ResolvedClip,
  below: string,
  source: string | undefined,
  canvas: { width: number; height: number; fps: number },
): string {
  const { clip } = c;
  const rate = n(canvas.fps);
  const length = c.lengthSec;
  let layer: string;
  let box: { width: number; height: number };
  let at: { x: number; y: number };
  if (clip.asset.type === "text") {
    box = { width: canvas.width, height: canvas.height };
    at = { x: 0, y: 0 };
    const anchorX = clip.position.endsWith("left") ? 0 : clip.position.endsWith("right") ? 1 : 0.5;
    const anchorY = clip.position.startsWith("top") ? 0 : clip.position.startsWith("bottom") ? 1 : 0.5;
    const size = Math.max(4, Math.round(clip.asset.fontSize * clip.scale));
    const pad = Math.round(size / 4);
    const text = clip.asset;
    layer = g.chain(
      g.add(
        "color",
        [],
        [
          ["color", "0x000000@0"],
          ["size", `${canvas.width}x${canvas.height}`],
          ["rate", rate],
          ["duration", n(length)],
        ],
      ),
      [
        ["format", [["pix_fmts", "yuva420p"]]],
        [
          "drawtext",
          [
            ["fontfile", fontFiles[text.font]],
            ["text", text.text],
            ["expansion", "none"],
            ["fontsize", String(size)],
            ["fontcolor", ffmpegColour(text.color)],
            ...(text.background
              ? ([
                  ["box", "1"],
                  ["boxcolor", ffmpegColour(text.background)],
                  ["boxborderw", String(pad)],
                ] as [string, string][])
              : []),
            // The text's box (with its padding) anchored like a clip, then offset (y up).
            ["x", `${n(anchorX)}*(w-text_w-${2 * pad})+${pad}+${n(clip.offsetX * canvas.width)}`],
            ["y", `${n(anchorY)}*(h-text_h-${2 * pad})+${pad}-${n(clip.offsetY * canvas.height)}`],
          ],
        ],
      ],
    );
  } else {
    const visual = c.visual ?? { width: 2, height: 2, rotation: 0 };
    box = fittedSize(visual, canvas, clip.fit, clip.scale);
    at = placedAt(box, canvas, clip.position, clip.offsetX, clip.offsetY);
    const timed: [string, [string, string][]][] =
      clip.asset.type === "image"
        ? [
            [
              "loop",
              [
                ["loop", "-1"],
                ["size", "1"],
                ["start", "0"],
              ],
            ],
            ["setpts", [["expr", `N/(${rate}*TB)`]]],
            ["trim", [["end", n(length)]]],
          ]
        : [
            [
              "trim",
              [
                ["start", n(c.trimStartSec)],
                ["end", n(c.trimStartSec + length)],
              ],
            ],
            ["setpts", [["expr", "PTS-STARTPTS"]]],
          ];
    layer = g.chain(source as string, [
      ...timed,
      ["fps", [["fps", rate]]],
      [
        "scale",
        [
          ["width", String(box.width)],
          ["height", String(box.height)],
        ],
      ],
      ["setsar", [["sar", "1"]]],
      ["format", [["pix_fmts", "yuva420p"]]],
    ]);
  }
  if (clip.opacity < 1) layer = g.chain(layer, [["lut", [["a", `val*${n(clip.opacity)}`]]]]);
  layer = alphaTransitions(g, layer, clip, length, box, rate);
  layer = g.chain(layer, [
    [
      "tpad",
      [
        ["start_duration", n(clip.startSec)],
        ["start_mode", "add"],
        ["color", "0x000000@0"],
      ],
    ],
  ]);
  const [x, y] = slidePosition(clip, at, box, canvas, length);
  const end = clip.startSec + length;
  return g.add(
    "overlay",
    [below, layer],
    [
      ["x", x],
      ["y", y],
      ["eval", "frame"],
      ["eof_action", "pass"],
      ["repeatlast", "0"],
      ["enable", `gte(t,${n(clip.startSec)})*lt(t,${n(end)})`],
    ],
  );
}

/** Fades (alpha) and wipes (xfade against a transparent picture of the layer's size), on the clip's own clock. */
function alphaTransitions(
  g: GraphBuilder,
  from: string,
  clip: PlanClip,
  length: number,
  box: { width: number; height: number },
  rate: string,
): string {
  let layer = from;
  const transparent = (seconds: number) =>
    g.chain(
      g.add(
        "color",
        [],
        [
          ["color", "0x000000@0"],
          ["size", `${box.width}x${box.height}`],
          ["rate", rate],
          ["duration", n(seconds)],
        ],
      ),
      [["format", [["pix_fmts", "yuva420p"]]]],
    );
  const tIn = clip.transitionIn;
  const tOut = clip.transitionOut;
  if (tIn && (tIn.kind === "fade" || tIn.kind === "crossfade"))
    layer = g.chain(layer, [
      [
        "fade",
        [
          ["type", "in"],
          ["start_time", "0"],
          ["duration", n(tIn.durationSec)],
          ["alpha", "1"],
        ],
      ],
    ]);
  if (tOut && tOut.kind === "fade")
    layer = g.chain(layer, [
      [
        "fade",
        [
          ["type", "out"],
          ["start_time", n(length - tOut.durationSec)],
          ["duration", n(tOut.durationSec)],
          ["alpha", "1"],
        ],
      ],
    ]);
  const wipeIn = tIn ? wipeNames[tIn.kind] : undefined;
  if (tIn && wipeIn)
    layer = g.add(
      "xfade",
      [transparent(tIn.durationSec), layer],
      [
        ["transition", wipeIn],
        ["duration", n(tIn.durationSec)],
        ["offset", "0"],
      ],
    );
  const wipeOut = tOut ? wipeNames[tOut.kind] : undefined;
  if (tOut && wipeOut)
    layer = g.add(
      "xfade",
      [layer, transparent(tOut.durationSec)],
      [
        ["transition", wipeOut],
        ["duration", n(tOut.durationSec)],
        ["offset", n(length - tOut.durationSec)],
      ],
    );
  return layer;
}

/**
 * The overlay's position as expressions of the timeline's t: still where the clip sits, moving in
 * from (or out to) the canvas edge during a slide.
 */
function slidePosition(
  clip: PlanClip,
  at: { x: number; y: number },
  box: { width: number; height: number },
  canvas: { width: number; height: number },
  length: number,
): [string, string] {
  let x = String(at.x);
  let y = String(at.y);
  const start = clip.startSec;
  const end = start + length;
  const tIn = clip.transitionIn;
  const tOut = clip.transitionOut;
  if (tIn?.kind.startsWith("slide_")) {
    const p = `(1-clip((t-${n(start)})/${n(tIn.durationSec)},0,1))`;
    // Travelling right, it comes from off the left edge; and so on.
    if (tIn.kind === "slide_right") x += `+${n(-box.width - at.x)}*${p}`;
    if (tIn.kind === "slide_left") x += `+${n(canvas.width - at.x)}*${p}`;
    if (tIn.kind === "slide_down") y += `+${n(-box.height - at.y)}*${p}`;
    if (tIn.kind === "slide_up") y += `+${n(canvas.height - at.y)}*${p}`;
  }
  if (tOut?.kind.startsWith("slide_")) {
    const q = `clip((t-${n(end - tOut.durationSec)})/${n(tOut.durationSec)},0,1)`;
    if (tOut.kind === "slide_right") x += `+${n(canvas.width - at.x)}*${q}`;
    if (tOut.kind === "slide_left") x += `+${n(-box.width - at.x)}*${q}`;
    if (tOut.kind === "slide_down") y += `+${n(canvas.height - at.y)}*${q}`;
    if (tOut.kind === "slide_up") y += `+${n(-box.height - at.y)}*${q}`;
  }
  return [x, y];
}

/**
 * The graph as -filter_complex text (the wasm engine, and the bench's hand-written equivalent):
 * every option value quoted for the graph parser; `src:<i>:v|a` become the i-th input's streams.
 * Text goes in through `textfile` (see wasm-engine), never inline.
 */
export function filterComplexText(graph: CompositionGraph, textFiles?: Map<string, string>): string {
  const pad = (ref: string) => {
    const src = /^src:(\d+):([va])$/.exec(ref);
    if (src) return `[${src[1]}:${src[2]}]`;
    const [id, index] = ref.split("#");
    return `[${id}_${index ?? 0}]`;
  };
  const outputsOf = new Map<string, Set<number>>();
  for (const node of graph.nodes)
    for (const ref of node.inputs) {
      if (ref.startsWith("src:")) continue;
      const [id, index] = ref.split("#");
      outputsOf.set(id as string, (outputsOf.get(id as string) ?? new Set()).add(Number(index ?? 0)));
    }
  // Level 1 (the filter's option parser): single quotes, inside which only a quote needs care.
  const quote = (value: string) => `'${value.replace(/'/g, "'\\''")}'`;
  const escapeLevel2 = (value: string) => value.replace(/[\\'[\],;]/g, (ch) => `\\${ch}`);
  return graph.nodes
    .map((node) => {
      const options = node.options
        .map(([k, v]) => {
          if (node.filter === "drawtext" && k === "text")
            return `textfile=${escapeLevel2(quote(textFiles?.get(node.id) ?? ""))}`;
          return `${k}=${escapeLevel2(quote(v))}`;
        })
        .join(":");
      const outs = [...(outputsOf.get(node.id) ?? new Set([0]))].sort((a, b) => a - b);
      const count =
        node.filter === "split" || node.filter === "asplit" ? Number(node.options[0]?.[1] ?? 1) : 1;
      const labels = Array.from(
        { length: Math.max(count, ...outs.map((o) => o + 1)) },
        (_, i) => `[${node.id}_${i}]`,
      );
      return `${node.inputs.map(pad).join("")}${node.filter}${options ? `=${options}` : ""}${labels.join("")}`;
    })
    .join(";");
}
