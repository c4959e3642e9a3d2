import type { EngineLog } from "@framewire/native";
import { type AttemptLogReport, attemptLogLimits } from "@framewire/shared";
import { redactPaths } from "./job-failure";

type Line = AttemptLogReport["lines"][number];

/**
 * One attempt's log as the job's tenant will read it: FFmpeg's warnings and errors (from the
 * engine's run) and the node's own words about what it did, with milliseconds since the attempt
 * started. Bounded like the engine's own collection: the first and the last lines are kept and the
 * ones between are counted, so a run that warns on every frame still sends one small report. Every
 * message goes through redactPaths: a tenant sees the file's name in the job, never the node's
 * folders.
 */
export interface AttemptLog {
  node(level: Line["level"], message: string): void;
  engine(log: EngineLog | undefined): void;
  /** The report for the edge (lines in time order). */
  report(): { lines: Line[]; dropped: number; startedAt: Date };
}

export function createAttemptLog(workDir: string, startedAt = new Date()): AttemptLog {
  const start = startedAt.getTime();
  const lines: Line[] = [];
  let dropped = 0;
  const add = (at: number, level: Line["level"], source: Line["source"], message: string) => {
    lines.push({
      at_ms: Math.max(0, Math.round(at - start)),
      level,
      source,
      message: redactPaths(message, workDir).slice(0, attemptLogLimits.messageChars),
    });
  };
  return {
    node(level, message) {
      add(Date.now(), level, "node", message);
    },
    engine(log) {
      if (!log) return;
      for (const line of log.lines) add(line.at, line.level, "engine", line.message);
      dropped += log.dropped;
    },
    report() {
      const sorted = [...lines].sort((a, b) => a.at_ms - b.at_ms);
      const max = attemptLogLimits.lines;
      if (sorted.length <= max) return { lines: sorted, dropped, startedAt };
      const head = Math.ceil(max / 2);
      const kept = [...sorted.slice(0, head), ...sorted.slice(sorted.length - (max - head))];
      return { lines: kept, dropped: dropped + sorted.length - kept.length, startedAt };
    },
  };
}
