import { join } from "node:path";
import type { Plan } from "@framewire/native";
import type { JobSpec } from "@framewire/shared";

/** Maps a validated job spec onto an engine plan. Paths are ours (inside the job's temp folder), never the user's. */
export function buildPlan(spec: JobSpec, inputPath: string, workDir: string): Plan {
  return {
    inputPath,
    outputs: spec.outputs.map((output) => ({
      name: output.name,
      path: join(workDir, `out-${output.name}.${output.container}`),
      container: output.container,
      video: {
        codec: output.video.codec,
        height: output.video.height,
        crf: output.video.crf,
        preset: output.video.preset,
      },
      audio:
        output.audio === false ? null : { codec: output.audio.codec, bitrateKbps: output.audio.bitrate_kbps },
    })),
  };
}
