/**
 * What each corpus file is and what a correct output of it must show, independent of any engine:
 * its real media duration (how it is known, where the container says otherwise), whether it has
 * video and audio, the display aspect a player shows (rotation and pixel aspect applied), and for
 * EXIF-oriented stills the upright reference picture. The expectation table (real-media.int.test.ts)
 * and the CLI comparison (native/bench/cli-compare.ts) both read it.
 */
export type OutputType = "mp4" | "webm" | "hls" | "dash" | "thumbnails" | "audio" | "analysis";
export const outputTypes: OutputType[] = ["mp4", "webm", "hls", "dash", "thumbnails", "audio", "analysis"];

export interface CorpusCase {
  file: string;
  /** The classes this file stands for. */
  classes: string[];
  /** Real media duration, seconds. */
  durationSec: number;
  /** Why durationSec differs from what the container says, when it does. */
  durationNote?: string;
  /** Display width/height of the picture, upright; null: no video. */
  aspect: number | null;
  audio: boolean;
  /** A still image (one picture). */
  still?: boolean;
  /** For EXIF-oriented stills: the same picture stored upright, to compare thumbnails with. */
  uprightReference?: string;
  /** A window of a long source, so the table stays quick; outputs are checked against it. */
  trim?: { startSec: number; endSec: number };
}

export const corpusCases: CorpusCase[] = [
  {
    file: "mkv-mpeg4-aac51.mkv",
    classes: ["matroska", "5.1 aac", "disordered timestamps", "no cues"],
    durationSec: 3.6,
    durationNote:
      "both streams restart at 0 after 2.24 s: a second copy of a stretch; the container says 3.6 s",
    aspect: 16 / 9,
    audio: true,
  },
  {
    file: "ogv-bogus-audio-ts.ogv",
    classes: ["ogg theora/vorbis", "bogus audio timestamps"],
    durationSec: 5.55,
    durationNote:
      "audio pages in the second half claim to be 60 s later; the picture and the samples last 5.55 s",
    aspect: 560 / 320,
    audio: true,
  },
  {
    file: "ogv-theora-vorbis.ogv",
    classes: ["ogg theora/vorbis", "skeleton stream"],
    durationSec: 5.55,
    aspect: 560 / 320,
    audio: true,
  },
  {
    file: "3gp-h263-amr.3gp",
    classes: ["3gp", "h.263", "amr-nb", "anamorphic (SAR 12:11)"],
    durationSec: 5.53,
    aspect: 4 / 3,
    audio: true,
  },
  {
    file: "asf-wmv2-wma.asf",
    classes: ["asf", "wmv2/wma", "joint timestamp gap"],
    durationSec: 6.44,
    durationNote:
      "the header says 4.41 s; both streams' timestamps run to 6.44 s with a 1.1 s pause at 2.9 s",
    aspect: 560 / 320,
    audio: true,
  },
  {
    file: "flv-flv1-mp3.flv",
    classes: ["flv", "sorenson h.263", "mp3"],
    durationSec: 5.56,
    aspect: 4 / 3,
    audio: true,
  },
  {
    file: "rm-rv10-ac3.rmvb",
    classes: ["realmedia", "rv10", "ac3"],
    durationSec: 5.57,
    aspect: 560 / 320,
    audio: true,
  },
  {
    file: "mpeg2-ps-odd-height.mpg",
    classes: ["mpeg-ps", "mpeg-2", "odd height (405)", "start time 0.54 s"],
    durationSec: 7.6,
    aspect: 16 / 9,
    audio: false,
  },
  {
    file: "dvd-anamorphic-mp2.mpg",
    classes: ["mpeg-ps", "mpeg-2 + mp2", "anamorphic (SAR 64:45)"],
    durationSec: 7.01,
    aspect: 16 / 9,
    audio: true,
  },
  {
    file: "webm-vp8-vorbis.webm",
    classes: ["webm", "vp8/vorbis"],
    durationSec: 8.09,
    aspect: 16 / 9,
    audio: true,
  },
  {
    file: "webm-screencast.webm",
    classes: ["webm", "vp8 screencast (gstreamer 0.10)", "video only"],
    durationSec: 37.13,
    aspect: 4 / 3,
    audio: false,
    trim: { startSec: 10, endSec: 20 },
  },
  {
    file: "webm-bitflips.webm",
    classes: ["matroska", "damaged (bit flips)"],
    durationSec: 8.09,
    aspect: 16 / 9,
    audio: true,
  },
  {
    file: "mkv-no-cues.mkv",
    classes: ["matroska", "no cues", "no duration"],
    durationSec: 8.09,
    durationNote: "written to a pipe: the container has no duration",
    aspect: 16 / 9,
    audio: true,
  },
  {
    file: "mkv-subrip-eng.mkv",
    classes: ["matroska", "embedded subtitles (SubRip, eng)"],
    durationSec: 8.01,
    aspect: 16 / 9,
    audio: true,
  },
  {
    file: "mp4-mov-text-eng.mp4",
    classes: ["mp4", "embedded subtitles (mov_text, eng)"],
    durationSec: 8.02,
    aspect: 16 / 9,
    audio: true,
  },
  {
    file: "avi-indeo3.avi",
    classes: ["avi", "indeo 3", "yuv410p"],
    durationSec: 3.44,
    aspect: 4 / 3,
    audio: false,
  },
  { file: "mov-mjpeg422.mov", classes: ["mov", "mjpeg 4:2:2"], durationSec: 3.03, aspect: 1, audio: false },
  {
    file: "phone-vfr-rotated.mp4",
    classes: ["phone video", "variable frame rate", "rotation 90°"],
    durationSec: 8.04,
    aspect: 9 / 16,
    audio: true,
  },
  {
    file: "h264-hi444-10bit.mkv",
    classes: ["h.264 high 4:4:4", "10-bit"],
    durationSec: 8.08,
    aspect: 16 / 9,
    audio: true,
  },
  {
    file: "hevc-main10.mp4",
    classes: ["hevc main 10", "10-bit"],
    durationSec: 4.0,
    aspect: 16 / 9,
    audio: true,
  },
  { file: "vp9-alpha.webm", classes: ["vp9 with alpha"], durationSec: 3.01, aspect: 16 / 9, audio: true },
  { file: "mp3-in-mp4.mp4", classes: ["mp3 inside mp4"], durationSec: 8.02, aspect: 16 / 9, audio: true },
  {
    file: "speech-apollo11.wav",
    classes: ["speech recording", "audio only"],
    durationSec: 4.28,
    aspect: null,
    audio: true,
  },
  {
    file: "speech-front-center.wav",
    classes: ["quiet speech with peaks", "audio only"],
    durationSec: 1.43,
    aspect: null,
    audio: true,
  },
  {
    file: "music-ragtime.ogg",
    classes: ["mastered music", "audio only"],
    durationSec: 193.88,
    aspect: null,
    audio: true,
    trim: { startSec: 60, endSec: 90 },
  },
  {
    file: "music-mastered.mp3",
    classes: ["mastered music, true peak above 0 dBFS", "mp3 with cover art", "audio only"],
    durationSec: 191.58,
    aspect: null,
    audio: true,
    trim: { startSec: 30, endSec: 60 },
  },
  {
    file: "music-game-loud.ogg",
    classes: ["loud master (-10.5 LUFS, +1.1 dBTP)", "audio only"],
    durationSec: 60,
    aspect: null,
    audio: true,
    trim: { startSec: 0, endSec: 30 },
  },
  {
    file: "jpeg-exif-5.jpg",
    classes: ["jpeg", "exif orientation 5 (transpose)"],
    durationSec: 0.04,
    aspect: 40 / 80,
    audio: false,
    still: true,
    uprightReference: "jpeg-exif-1-reference.jpg",
  },
  {
    file: "jpeg-exif-8.jpg",
    classes: ["jpeg", "exif orientation 8 (rotate 270°)"],
    durationSec: 0.04,
    aspect: 40 / 80,
    audio: false,
    still: true,
    uprightReference: "jpeg-exif-1-reference.jpg",
  },
  {
    file: "jpeg-exif-3.jpg",
    classes: ["jpeg", "exif orientation 3 (rotate 180°)"],
    durationSec: 0.04,
    aspect: 50 / 70,
    audio: false,
    still: true,
    uprightReference: "jpeg-exif-0-reference.jpg",
  },
  {
    file: "jpeg-exif-6-camera.jpg",
    classes: ["camera jpeg", "exif orientation 6 (rotate 90°)"],
    durationSec: 0.04,
    aspect: 102 / 205,
    audio: false,
    still: true,
  },
  {
    file: "jpeg-exif-corrupt-loop.jpg",
    classes: ["jpeg", "corrupt exif (IFD loop)"],
    durationSec: 0.04,
    aspect: 1,
    audio: false,
    still: true,
  },
  {
    file: "mkv-three-audio-tracks.mkv",
    classes: [
      "several audio tracks (eng, deu, eng commentary)",
      "tracks of different rates, layouts and lengths",
    ],
    durationSec: 8.09,
    aspect: 16 / 9,
    audio: true,
  },
  {
    file: "mkv-two-angles.mkv",
    classes: ["two video tracks (angles) of different sizes"],
    durationSec: 8.09,
    // The main (default) angle's.
    aspect: 16 / 9,
    audio: true,
  },
  {
    file: "subtitles.srt",
    classes: ["subtitles only"],
    durationSec: 0,
    aspect: null,
    audio: false,
  },
];

/** What each output type needs of the input; an input lacking it must be refused with this code. */
export function refusal(c: CorpusCase, type: OutputType): "INPUT_NO_STREAMS" | null {
  const video = c.aspect !== null;
  switch (type) {
    case "mp4":
    case "webm":
      return video || c.audio ? null : "INPUT_NO_STREAMS";
    case "hls":
    case "dash":
    case "thumbnails":
      return video ? null : "INPUT_NO_STREAMS";
    case "audio":
      return c.audio ? null : "INPUT_NO_STREAMS";
    case "analysis":
      return null;
  }
}

/** The duration an output of this case must have: its trim window of the real media, else all of it. */
export function expectedDuration(c: CorpusCase, trimmed: boolean): number {
  if (!trimmed || !c.trim) return c.durationSec;
  return Math.min(c.trim.endSec, c.durationSec) - c.trim.startSec;
}

/** The table's duration tolerance: 5 % or 0.35 s, whichever is larger. */
export function durationTolerance(expectedSec: number): number {
  return Math.max(0.35, expectedSec * 0.05);
}

/**
 * What the wasm engine does with a case's output: UNSUPPORTED where its build lacks something
 * (named in the error: HLS, DASH, VP9, loudness normalization, and the timestamp repair the files marked
 * here need), else the refusal any engine makes, else a correct output.
 */
export function wasmOutcome(c: CorpusCase, type: OutputType): string {
  // Refused from the plan alone, before the input is read.
  if (type === "hls" || type === "dash" || type === "webm" || type === "audio") return "UNSUPPORTED";
  const refused = refusal(c, type);
  if (refused) return refused;
  if ((type === "mp4" || type === "thumbnails") && wasmNeedsRepair.has(c.file)) return "UNSUPPORTED";
  return "ok";
}

/**
 * Files whose timestamps need the native engine's repair (the wasm build refuses their video and
 * audio outputs; what a naive tool such as the ffmpeg CLI measures on them is not their real media).
 */
export const needsTimelineRepair = new Set([
  "mkv-mpeg4-aac51.mkv",
  "ogv-bogus-audio-ts.ogv",
  "asf-wmv2-wma.asf",
]);
const wasmNeedsRepair = needsTimelineRepair;
