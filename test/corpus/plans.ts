/** The plan outputs the corpus table (and the ASan job) ask of every corpus file, one per output type. */
import { join } from "node:path";
import type { PlanOutput } from "../../native/lib/engine";
import type { CorpusCase, OutputType } from "./cases";

import { LOUDNESS_TARGET } from "./checks";

export function outputFor(
  type: OutputType,
  c: CorpusCase,
  dir: string,
  engine: "native" | "wasm",
): PlanOutput {
  const name = `${type}`;
  const trim = c.trim ? { startSec: c.trim.startSec, endSec: c.trim.endSec } : null;
  const video = {
    maxWidth: null,
    maxHeight: 240,
    bitrateKbps: null,
    preset: "ultrafast" as const,
    fps: null,
    crop: null,
  };
  switch (type) {
    case "mp4":
      return {
        kind: "video",
        name,
        path: join(dir, "out.mp4"),
        container: "mp4",
        video: { ...video, codec: "h264", crf: 30 },
        audio: { codec: "aac", bitrateKbps: 96, channels: null, sampleRate: null, loudnessTargetLufs: null },
        trim,
      };
    case "webm":
      return {
        kind: "video",
        name,
        path: join(dir, "out.webm"),
        container: "webm",
        video: { ...video, codec: "vp9", crf: 40 },
        audio: { codec: "opus", bitrateKbps: 64, channels: null, sampleRate: null, loudnessTargetLufs: null },
        trim,
      };
    case "hls":
    case "dash":
      // DASH: its own CMAF ladder (sharing one with HLS is the streaming corpus test's).
      return {
        kind: type,
        name,
        dir: join(dir, type),
        segmentSec: 2,
        preset: "ultrafast",
        // Two renditions with one audio bitrate: the smaller is scaled on from the larger's pictures
        // and both carry one audio encode, over every real file's sizes, aspects and rotations.
        renditions: [
          { name: "180p", maxHeight: 180, videoBitrateKbps: 400, audioBitrateKbps: 64 },
          { name: "120p", maxHeight: 120, videoBitrateKbps: 200, audioBitrateKbps: 64 },
        ],
      };
    case "thumbnails":
      return {
        kind: "thumbnails",
        name,
        dir: join(dir, "thumbs"),
        format: "jpg",
        maxWidth: null,
        maxHeight: 90,
        select: { mode: "count", count: c.still ? 1 : 4 },
        sprite: engine === "native" ? { columns: 2 } : null,
      };
    case "audio":
      return {
        kind: "audio",
        name,
        path: join(dir, "out.m4a"),
        audio: {
          codec: "aac",
          bitrateKbps: 128,
          channels: null,
          sampleRate: null,
          loudnessTargetLufs: LOUDNESS_TARGET,
        },
        trim,
      };
    case "analysis":
      return { kind: "probe", name, path: join(dir, "facts.json") };
  }
}
