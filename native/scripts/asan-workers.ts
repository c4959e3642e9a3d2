/**
 * Previews on threads of their own (FrameWorker) under AddressSanitizer: a GIF, a WebP and an MP4
 * loop beside a transcode, canceled mid-run; a GIF whose writes are refused while its thread
 * writes it (every write to /dev/full fails), which ends the job; and the same previews run to
 * the end. asan-run.ts runs it in the full job; alone:
 * `bash native/scripts/asan-check.sh native/scripts/asan-workers.ts`.
 */
import { join } from "node:path";
import { makeClip } from "../../test/support/media";
import type { Engine } from "../lib/engine";
import { animation, gifOnFullDisk, h264, videoOut } from "../test/plans";
import { type Outcome, runWhenMain, type Settle } from "./asan-outcomes";

export async function workerRuns(
  engine: Engine,
  dir: string,
  outcome: Outcome,
  settle: Settle,
): Promise<void> {
  // Big enough for a ~1 MB GIF: it outgrows the I/O buffer, so a refused write shows while muxing.
  const clip = await makeClip(join(dir, "workers.mp4"), { seconds: 2, width: 640, height: 360 });
  const previews = (prefix: string) => [
    animation(`${prefix}-gif`, dir, { format: "gif", startSec: 0, durationSec: 1, maxWidth: 160 }),
    animation(`${prefix}-webp`, dir, { format: "webp", startSec: 0.5, durationSec: 1, maxWidth: 160 }),
    animation(`${prefix}-mp4`, dir, { format: "mp4", startSec: 0, durationSec: 1.5, maxWidth: 160 }),
  ];
  const transcode = (name: string) => videoOut(dir, name, { video: h264({ maxHeight: 180 }) });

  outcome(
    "workers: previews beside a transcode",
    await settle(engine.run({ inputPath: clip, outputs: [transcode("w"), ...previews("w")] })),
  );

  const controller = new AbortController();
  let ticks = 0;
  const canceled = engine.run(
    { inputPath: clip, outputs: [transcode("wc"), ...previews("wc")] },
    // A few ticks in: the previews' threads hold frames and, past their windows, packets.
    { signal: controller.signal, onProgress: () => ++ticks === 3 && controller.abort() },
  );
  const value = await settle(canceled);
  outcome("workers: cancel", value === "CANCELED" || value === "output" ? value : `THREW ${value}`);

  const gif = await gifOnFullDisk(dir, 2);
  const refused = await settle(engine.run({ inputPath: clip, outputs: [transcode("wn"), gif] }));
  outcome("workers: write refused", refused === "OUTPUT_WRITE_FAILED" ? refused : `THREW ${refused}`);
}

await runWhenMain(import.meta.url, "workers", workerRuns);
