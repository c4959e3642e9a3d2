import type { JobSpecInput } from "@framewire/shared/client";

type OutputInput = JobSpecInput["outputs"][number];

/**
 * What the console offers: a few ready-made outputs, each a typed job-spec output (never raw
 * FFmpeg arguments). Several can be ticked at once; they share one decode of the input.
 */
export interface Preset {
  id: string;
  label: string;
  description: string;
  outputs: OutputInput[];
}

/** The HLS and DASH presets' ladder: the same one, so a job with both encodes it once. */
const ladder = {
  segment_sec: 4,
  renditions: [
    { height: 360, video_bitrate_kbps: 800, audio_bitrate_kbps: 96 },
    { height: 720, video_bitrate_kbps: 2500, audio_bitrate_kbps: 128 },
  ],
};

export const presets: Preset[] = [
  {
    id: "mp4-720p",
    label: "MP4 720p",
    description: "H.264 + AAC, fitted into 1280×720, web-ready",
    outputs: [
      {
        name: "mp4-720p",
        type: "video",
        container: "mp4",
        video: { codec: "h264", width: 1280, height: 720, crf: 23, preset: "veryfast" },
        audio: { codec: "aac", bitrate_kbps: 128 },
      },
    ],
  },
  {
    id: "hls",
    label: "HLS ladder",
    description: "Adaptive streaming: 360p and 720p renditions, 4 s segments",
    outputs: [{ name: "hls", type: "hls", ...ladder }],
  },
  {
    id: "dash",
    label: "DASH",
    description: "The same ladder as MPEG-DASH; with HLS ticked too, encoded and stored once for both",
    outputs: [{ name: "dash", type: "dash", ...ladder }],
  },
  {
    id: "thumbnails",
    label: "Thumbnails + storyboard",
    description: "8 evenly spaced JPEG stills and a sprite sheet with a WebVTT storyboard",
    outputs: [
      { name: "thumbnails", type: "thumbnails", format: "jpg", width: 320, count: 8, sprite: { columns: 4 } },
    ],
  },
  {
    id: "audio",
    label: "Audio (AAC, loudness)",
    description: "AAC 128 kb/s in M4A, normalized to −16 LUFS (EBU R128)",
    outputs: [
      { name: "audio", type: "audio", codec: "aac", bitrate_kbps: 128, loudness: { target_lufs: -16 } },
    ],
  },
  {
    id: "preview",
    label: "Animated preview",
    description: "A 4 s animated WebP from the start, 480 px wide, looping",
    outputs: [
      { name: "preview", type: "animation", format: "webp", start_sec: 0, duration_sec: 4, width: 480 },
    ],
  },
  {
    id: "waveform",
    label: "Waveform",
    description: "The audio's waveform as a PNG, with its peaks as JSON for players",
    outputs: [{ name: "waveform", type: "waveform", image: "png", width: 1200, height: 160 }],
  },
  {
    id: "analysis",
    label: "Analysis",
    description: "The input's container, duration, streams, codecs and bit rates",
    outputs: [{ name: "analysis", type: "analysis", analysis: "probe" }],
  },
];

export const defaultPresetIds = ["mp4-720p", "thumbnails"];

export function outputsFor(ids: readonly string[]): OutputInput[] {
  return presets.filter((p) => ids.includes(p.id)).flatMap((p) => p.outputs);
}
