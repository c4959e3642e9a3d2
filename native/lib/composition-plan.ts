/**
 * Plan outputs for edits: a composition (several inputs on a timeline, one filter graph) and a
 * highlight reel (the best moments of one input, crossfaded). Built by the node from the validated
 * job spec; every value is typed and already bounded by the contract (shared/src/composition.ts).
 */
import type {
  AudioCodec,
  ClipFit,
  ClipPosition,
  FontName,
  HighlightSegment,
  Preset,
  TransitionKind,
  VideoCodec,
  VideoContainer,
} from "@framewire/shared/media";

/** An edit's video encode: the canvas gives size and rate. */
export interface EditVideoOptions {
  codec: VideoCodec;
  crf: number | null;
  bitrateKbps: number | null;
  preset: Preset;
}

/** An edit's audio encode (no loudness normalization). */
export interface EditAudioOptions {
  codec: AudioCodec;
  bitrateKbps: number | null;
  /** null: stereo. */
  channels: number | null;
  /** null: 48 kHz. */
  sampleRate: number | null;
}

export interface PlanTransition {
  kind: TransitionKind;
  durationSec: number;
}

export type PlanAsset =
  | {
      type: "video" | "audio";
      /** A key of Plan.inputs. */
      input: string;
      trimStartSec: number;
      /** null: as long as the clip (length_sec), else to the input's end. */
      trimEndSec: number | null;
    }
  | { type: "image"; input: string }
  | {
      type: "text";
      text: string;
      font: FontName;
      fontSize: number;
      /** "#rrggbb" or "#rrggbbaa". */
      color: string;
      background: string | null;
    };

export interface PlanClip {
  /** Where it is in the spec, for messages: "tracks[1].clips[2]". */
  label: string;
  asset: PlanAsset;
  startSec: number;
  /** null: the trimmed media's length (video, audio). */
  lengthSec: number | null;
  fit: ClipFit;
  position: ClipPosition;
  /** Shares of the canvas: x to the right, y upwards. */
  offsetX: number;
  offsetY: number;
  scale: number;
  opacity: number;
  volume: number;
  transitionIn: PlanTransition | null;
  transitionOut: PlanTransition | null;
}

export interface PlanSoundtrack {
  input: string;
  trimStartSec: number;
  trimEndSec: number | null;
  volume: number;
  fadeInSec: number;
  fadeOutSec: number;
  /** dB the soundtrack is lowered by while the video clips' own audio has sound; null: no ducking. */
  duckDb: number | null;
}

export interface CompositionPlanOutput {
  kind: "composition";
  name: string;
  path: string;
  container: VideoContainer;
  video: EditVideoOptions;
  audio: EditAudioOptions | null;
  canvas: { width: number; height: number; fps: number; background: string };
  /** The first track is drawn on top. */
  tracks: PlanClip[][];
  soundtrack: PlanSoundtrack | null;
}

export interface HighlightReelPlanOutput {
  kind: "highlight_reel";
  name: string;
  path: string;
  container: VideoContainer;
  video: EditVideoOptions;
  audio: EditAudioOptions | null;
  /** A key of Plan.inputs. */
  input: string;
  segments: number;
  totalSec: number | null;
  minSec: number;
  maxSec: number;
  crossfadeSec: number;
  maxHeight: number | null;
}

/** What a rendered edit reports beyond a video's facts: the reel's segments, in reel order. */
export interface EditFacts {
  segments?: HighlightSegment[];
}
