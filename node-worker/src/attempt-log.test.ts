import { describe, expect, it } from "vitest";
import { createAttemptLog } from "./attempt-log";

describe("an attempt's log", () => {
  const workDir = "/var/lib/framewire/work/job_01hzzzzzzzzzzzzzzzzzzzzzzz-1";
  const start = new Date("2024-05-01T10:00:00.000Z");

  it("merges FFmpeg's lines and the node's in time order, with ms since the start, paths redacted", () => {
    const log = createAttemptLog(workDir, start);
    log.engine({
      lines: [
        {
          at: start.getTime() + 1500,
          level: "error",
          message: `h264: error while decoding MB 6 0 in ${workDir}/input`,
        },
        { at: start.getTime() + 200, level: "warning", message: "mov: stream 1, missing mandatory atoms" },
      ],
      dropped: 3,
    });
    log.node("error", "engine_failure: could not write /srv/framewire/storage/ten_x/jobs/out.mp4");
    const { lines, dropped } = log.report();
    expect(lines.map((l) => [l.at_ms, l.source, l.level])).toEqual([
      [200, "engine", "warning"],
      [1500, "engine", "error"],
      [expect.any(Number), "node", "error"],
    ]);
    expect(lines[1]?.message).toBe("h264: error while decoding MB 6 0 in input");
    expect(lines[2]?.message).toBe("engine_failure: could not write <path>");
    expect(dropped).toBe(3);
  });

  it("keeps the first and the last lines within the bound and counts the rest", () => {
    const log = createAttemptLog(workDir, start);
    log.engine({
      lines: Array.from({ length: 500 }, (_, i) => ({
        at: start.getTime() + i,
        level: "warning" as const,
        message: `line ${i} ${"x".repeat(2000)}`,
      })),
      dropped: 0,
    });
    const { lines, dropped } = log.report();
    expect(lines).toHaveLength(200);
    expect(dropped).toBe(300);
    expect(lines[0]?.message).toMatch(/^line 0 /);
    expect(lines.at(-1)?.message).toMatch(/^line 499 /);
    for (const line of lines) expect(line.message.length).toBeLessThanOrEqual(1000);
  });
});
