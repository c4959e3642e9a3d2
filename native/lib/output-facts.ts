import type { MediaFacts, OutputFacts, PlanOutput } from "./engine";

/** Summarises a probe of a written output into the facts a job reports. Shared by both engines. */
export function outputFactsFromProbe(output: PlanOutput, facts: MediaFacts): OutputFacts {
  const video = facts.streams.find((s) => s.type === "video");
  const audio = facts.streams.find((s) => s.type === "audio");
  return {
    name: output.name,
    path: output.path,
    sizeBytes: facts.sizeBytes,
    container: output.container,
    durationSec: facts.durationSec,
    video: video
      ? { codec: video.codec, width: video.width ?? 0, height: video.height ?? 0, fps: video.fps ?? null }
      : null,
    audio: audio
      ? { codec: audio.codec, sampleRate: audio.sampleRate ?? 0, channels: audio.channels ?? 0 }
      : null,
  };
}
