/**
 * The composition vocabulary: what a `composition` or `highlight_reel` output may name (fits,
 * anchors, transitions, fonts) and every bound, defined once for the job spec and the engines.
 * Part of the media vocabulary (`@framewire/shared/media` re-exports it); imports nothing.
 */

/** How a video or image clip is sized into the canvas before its `scale`. */
export const clipFits = ["contain", "cover", "fill", "none"] as const;
export type ClipFit = (typeof clipFits)[number];

/** Where a clip (or a text's box) sits on the canvas, before its offset: Shotstack's nine anchors. */
export const clipPositions = [
  "top-left",
  "top",
  "top-right",
  "left",
  "center",
  "right",
  "bottom-left",
  "bottom",
  "bottom-right",
] as const;
export type ClipPosition = (typeof clipPositions)[number];

/**
 * How a clip comes in or goes out. `fade`: its opacity (and volume) ramps; `crossfade`: like fade,
 * and the clip overlaps its neighbour on the same track by the transition's duration, so the two
 * blend; `wipe_*`: a straight edge reveals (or hides) the clip in place, moving in that direction;
 * `slide_*`: the clip moves in from (or out to) the canvas edge, travelling in that direction.
 */
export const transitionKinds = [
  "fade",
  "crossfade",
  "wipe_left",
  "wipe_right",
  "wipe_up",
  "wipe_down",
  "slide_left",
  "slide_right",
  "slide_up",
  "slide_down",
] as const;
export type TransitionKind = (typeof transitionKinds)[number];

/**
 * The fonts text clips may name. The product installs them (Debian's fonts-dejavu-core, which ./dev
 * and the image install); each name maps to one file. DejaVu covers Latin, Greek, Cyrillic, Armenian,
 * Georgian, Hebrew and Arabic (shaped right to left through FriBidi), not CJK scripts or emoji.
 */
export const fontNames = ["sans", "sans-bold", "serif", "serif-bold", "mono", "mono-bold"] as const;
export type FontName = (typeof fontNames)[number];

export const fontFiles: Record<FontName, string> = {
  sans: "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
  "sans-bold": "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
  serif: "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
  "serif-bold": "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf",
  mono: "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
  "mono-bold": "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf",
};

/**
 * Characters a text clip may not hold, with why: emoji and other pictographs (no colour-emoji
 * renderer in the text path; they would come out as empty boxes), CJK (no installed font covers
 * it), and control characters other than a line break.
 */
export function unrenderableText(text: string): string | null {
  for (const char of text) {
    const cp = char.codePointAt(0) ?? 0;
    if (cp === 0x0a) continue;
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return `control character U+${hex(cp)}`;
    if (/\p{Extended_Pictographic}/u.test(char) && cp > 0xff)
      return `emoji ${char} (U+${hex(cp)}): text clips render no emoji`;
    if (/[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u.test(char))
      return `${char} (U+${hex(cp)}): no installed font covers CJK scripts`;
    if (cp >= 0xfe00 && cp <= 0xfe0f) return `variation selector U+${hex(cp)} (emoji presentation)`;
  }
  return null;
}

const hex = (cp: number) => cp.toString(16).toUpperCase().padStart(4, "0");

/** "#rrggbb" or "#rrggbbaa" (alpha last, 00 transparent). */
export const colourPattern = /^#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$/;

/** Input names in `inputs`: referenced by clips, soundtracks and highlight reels. */
export const inputNamePattern = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;

export const compositionLimits = {
  /** Named inputs per job. */
  inputs: { min: 1, max: 16 },
  /** Tracks (layers) per composition: memory grows with them, not with the length. */
  tracks: { min: 1, max: 8 },
  clipsPerTrack: { min: 1, max: 100 },
  clipsTotal: 200,
  /** The timeline: a composition lasts at most an hour. */
  timelineSec: { min: 0, max: 3600 },
  /** A clip's own length on the timeline. */
  clipLengthSec: { min: 0.04, max: 3600 },
  canvasDimension: { min: 16, max: 3840 },
  canvasFps: { min: 1, max: 60 },
  scale: { min: 0.01, max: 10 },
  /** Offsets are shares of the canvas: x to the right, y upwards (Shotstack's model). */
  offset: { min: -2, max: 2 },
  /** Linear gain; 1 leaves the level as it is, 2 is +6 dB. */
  volume: { min: 0, max: 4 },
  transitionSec: { min: 0.04, max: 10 },
  fadeSec: { min: 0, max: 60 },
  /** How far the soundtrack is lowered while clips have sound, dB. */
  duckDb: { min: 1, max: 60 },
  textChars: { min: 1, max: 500 },
  fontSize: { min: 8, max: 400 },
  /** highlight_reel: segments and their crossfade. */
  reelSegments: { min: 1, max: 20 },
  reelTotalSec: { min: 2, max: 1800 },
  reelCrossfadeSec: { min: 0, max: 2 },
} as const;

export const compositionDefaults = {
  canvasFps: 30,
  background: "#000000",
  transitionSec: 0.5,
  fontSize: 48,
  textColour: "#ffffff",
  reelSegments: 5,
  reelCrossfadeSec: 0.5,
  /** The gate that decides "the clips have sound" for ducking: their mix above this level, dBFS. */
  duckThresholdDb: -45,
} as const;
