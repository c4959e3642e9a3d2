import type { JobSpecInput } from "@framewire/shared";

type OutputInput = JobSpecInput["outputs"][number];

/** Named presets for `framewire submit --preset`; each is an ordinary job spec output. */
export const presets: Record<string, OutputInput> = {
  "360p": { name: "360p", type: "video", video: { height: 360, crf: 26 } },
  "480p": { name: "480p", type: "video", video: { height: 480, crf: 24 } },
  "720p": { name: "720p", type: "video", video: { height: 720, crf: 23 } },
  "1080p": { name: "1080p", type: "video", video: { height: 1080, crf: 22, preset: "faster" } },
};
