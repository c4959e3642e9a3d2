/**
 * Track choice under AddressSanitizer: several decoders in one decode (a track by language, one by
 * index, every track kept, a normalized chosen track, mixes of tracks at other rates and starts,
 * angles of a multi-angle file in video and thumbnails), missing tracks, and the multi-track file
 * cut short and bit-flipped. asan-run.ts runs it in the full job; alone:
 * `bash native/scripts/asan-check.sh native/scripts/asan-tracks.ts`.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { makeMultiAngleClip, makeMultiTrackClip } from "../../test/support/media";
import type { Engine } from "../lib/engine";
import { aac, audioOut, h264, thumbsOut, videoOut } from "../test/plans";
import { type Outcome, runWhenMain, type Settle } from "./asan-outcomes";

export async function trackRuns(
  engine: Engine,
  dir: string,
  outcome: Outcome,
  settle: Settle,
): Promise<void> {
  const multi = await makeMultiTrackClip(
    join(dir, "multi.mkv"),
    [
      { language: "eng", frequency: 440, amplitude: 0.4 },
      { language: "deu", frequency: 1000, amplitude: 0.2, channels: 2 },
      { language: "fra", frequency: 2000, amplitude: 0.1, sampleRate: 44100, startSec: 0.3 },
    ],
    { seconds: 2, width: 160, height: 90 },
  );
  const outputs = (prefix: string) => [
    videoOut(dir, `${prefix}-deu`, {
      video: h264({ maxHeight: 64 }),
      audio: aac({ track: { language: "deu" } }),
    }),
    videoOut(dir, `${prefix}-all`, {
      container: "mkv",
      video: h264({ maxHeight: 64 }),
      audio: aac({ track: "all" }),
      trim: { startSec: 0.5, endSec: 1.5 },
    }),
    audioOut(dir, `${prefix}-third`, { codec: "flac", bitrateKbps: null, track: { index: 2 } }),
    audioOut(dir, `${prefix}-loud`, { track: { language: "ger" }, loudnessTargetLufs: -16 }),
    audioOut(dir, `${prefix}-main`, { codec: "opus" }),
    audioOut(dir, `${prefix}-mix`, { codec: "opus", track: "mix" }),
    videoOut(dir, `${prefix}-vmix`, {
      video: h264({ maxHeight: 64 }),
      audio: aac({ track: { mix: [{ index: 2 }, { language: "eng" }] } }),
      trim: { startSec: 0.2, endSec: 1.2 },
    }),
  ];
  outcome(
    "tracks: chosen, all, normalized",
    await settle(engine.run({ inputPath: multi, outputs: outputs("t") })),
  );
  const missing = await settle(
    engine.run({ inputPath: multi, outputs: [audioOut(dir, "spa", { track: { language: "spa" } })] }),
  );
  outcome("tracks: missing language", missing === "INPUT_NO_STREAMS" ? missing : `THREW ${missing}`);

  const angles = await makeMultiAngleClip(join(dir, "angles.mp4"), [
    { language: "eng", color: "red" },
    { language: "deu", color: "blue" },
  ]);
  const angleOutputs = [
    videoOut(dir, "angle-1", { video: h264({ maxHeight: 64, track: { index: 1 } }) }),
    videoOut(dir, "angle-main", { video: h264({ maxHeight: 64 }), trim: { startSec: 1, endSec: 2 } }),
    thumbsOut(dir, "angle-thumbs", { track: { language: "deu" } }),
  ];
  outcome("tracks: angles", await settle(engine.run({ inputPath: angles, outputs: angleOutputs })));

  // The same file damaged: cut at half, and with bytes flipped every 997 from the first KiB on.
  const bytes = await readFile(multi);
  const cut = join(dir, "multi-cut.mkv");
  await writeFile(cut, bytes.subarray(0, bytes.length >> 1));
  outcome("tracks: truncated", await settle(engine.run({ inputPath: cut, outputs: outputs("c") })));
  const flipped = Buffer.from(bytes);
  for (let at = 1024; at < flipped.length; at += 997) flipped[at] = (flipped[at] ?? 0) ^ 0x5a;
  const bad = join(dir, "multi-flip.mkv");
  await writeFile(bad, flipped);
  outcome("tracks: bit-flipped", await settle(engine.run({ inputPath: bad, outputs: outputs("f") })));
}

await runWhenMain(import.meta.url, "tracks", trackRuns);
