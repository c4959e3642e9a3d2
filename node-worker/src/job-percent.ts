import type { EngineProgress } from "@framewire/native";

/**
 * One percent for a whole job, from its outputs' own progress (engines report each output on its
 * own): the mean over the plan's outputs, an output not heard from yet counting 0. It never
 * decreases (each output's percent doesn't), reaches 100 when every output has, and is null while
 * any output that has reported is indeterminate (its duration unknown).
 */
export function createJobPercent(outputs: readonly string[]): (progress: EngineProgress) => number | null {
  const latest = new Map<string, number | null>();
  return (progress) => {
    latest.set(progress.output, progress.percent);
    let sum = 0;
    for (const output of outputs) {
      const percent = latest.has(output) ? (latest.get(output) as number | null) : 0;
      if (percent === null) return null;
      sum += percent;
    }
    return outputs.length === 0 ? null : Math.round((sum / outputs.length) * 10) / 10;
  };
}
