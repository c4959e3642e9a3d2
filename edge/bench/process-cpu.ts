import { readdir, readFile } from "node:fs/promises";

/** USER_HZ: 100 on every Linux this runs on (getconf CLK_TCK). */
const clockTicks = 100;

/**
 * A process's CPU time so far in µs (user + system, all threads), from /proc (Linux): steadier
 * than requests per second on a shared machine, where the load generator's pace swings from run to
 * run. null off Linux or once the process is gone.
 */
export async function cpuMicros(pid: number | undefined): Promise<number | null> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => null);
  // Fields after the command name (which may hold spaces), from the 3rd: utime and stime are the 14th and 15th.
  const fields = stat?.slice(stat.lastIndexOf(")") + 2).split(" ");
  if (!fields) return null;
  return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / clockTicks;
}

/** `pid` and its descendants (a cluster's primary and its workers), from /proc's children lists. */
export async function processTree(pid: number): Promise<number[]> {
  const threads = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  const children = (
    await Promise.all(
      threads.map((tid) => readFile(`/proc/${pid}/task/${tid}/children`, "utf8").catch(() => "")),
    )
  )
    .flatMap((text) => text.split(" "))
    .filter(Boolean)
    .map(Number);
  return [pid, ...(await Promise.all(children.map(processTree))).flat()];
}
