/**
 * Subtitles under AddressSanitizer: a burn (libass through the `ass` filter), tracks in each
 * container's codec (mov_text's encoder opened for its sample description, cues written by hand),
 * an HLS ladder with a rendition, extraction of an input's SubRip and ASS tracks (decoder, WebVTT
 * encoder and muxer), a cancel mid-run, and the file with subtitle tracks cut short and
 * bit-flipped, each run ending in outputs or an EngineError. asan-run.ts runs it in the full job; alone:
 * `bash native/scripts/asan-check.sh native/scripts/asan-subtitles.ts`.
 */
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { makeClip } from "../../test/support/media";
import type { Engine, Plan, PlanOutput } from "../lib/engine";
import { burnStyle, h264, videoOut } from "../test/plans";
import { type Outcome, runWhenMain, type Settle } from "./asan-outcomes";

const run = promisify(execFile);

const style = burnStyle({ fontSize: 64 });

export async function subtitleRuns(
  engine: Engine,
  dir: string,
  outcome: Outcome,
  settle: Settle,
): Promise<void> {
  const clip = await makeClip(join(dir, "subs-clip.mp4"), { seconds: 2, width: 160, height: 90 });
  const srt = join(dir, "subs-en.srt");
  await writeFile(
    srt,
    "1\n00:00:00,200 --> 00:00:01,000\nHello {there} <i>you</i>\n\n2\n00:00:00,800 --> 00:00:03,000\nمرحبا بالعالم\n",
  );
  const embedded = join(dir, "subs-embedded.mkv");
  await run("ffmpeg", [
    ...["-hide_banner", "-loglevel", "error", "-y", "-i", clip, "-i", srt, "-i", srt],
    ...[
      "-map",
      "0",
      "-map",
      "1",
      "-map",
      "2",
      "-c:v",
      "copy",
      "-c:a",
      "copy",
      "-c:s:0",
      "srt",
      "-c:s:1",
      "ass",
    ],
    ...["-metadata:s:s:0", "language=eng", embedded],
  ]);
  const outputs = (prefix: string): PlanOutput[] => [
    videoOut(dir, `${prefix}-burn`, {
      video: h264({ maxHeight: 64 }),
      subtitles: [
        { input: "en", mode: "burn", style },
        { input: "ar", mode: "track", default: true },
      ],
    }),
    ...(["mov", "mkv", "webm"] as const).map((container) =>
      videoOut(dir, `${prefix}-${container}`, {
        container,
        video:
          container === "webm" ? h264({ codec: "vp9", crf: 40, maxHeight: 48 }) : h264({ maxHeight: 48 }),
        audio: null,
        trim: container === "mkv" ? { startSec: 0.5, endSec: 1.5 } : null,
        subtitles: [
          { input: "en", mode: "track", default: false },
          { input: "ar", mode: "track", default: true },
        ],
      }),
    ),
    {
      kind: "hls",
      name: `${prefix}-hls`,
      dir: join(dir, `${prefix}-hls`),
      segmentSec: 1,
      preset: "ultrafast",
      renditions: [{ name: "64p", maxHeight: 64, videoBitrateKbps: 100, audioBitrateKbps: 64 }],
      subtitles: [{ input: "en", default: true }],
    },
    {
      kind: "subtitles",
      name: `${prefix}-srt`,
      path: join(dir, `${prefix}-srt.vtt`),
      format: "vtt",
      track: null,
    },
    {
      kind: "subtitles",
      name: `${prefix}-ass`,
      path: join(dir, `${prefix}-ass.vtt`),
      format: "vtt",
      track: { index: 1 },
    },
  ];
  const plan = (input: string, prefix: string): Plan => ({
    inputPath: input,
    subtitles: {
      en: { path: srt, language: "eng", label: "English" },
      ar: { path: srt, language: "ara", label: null },
    },
    outputs: outputs(prefix),
  });
  outcome("subtitles: burn, tracks, hls, extraction", await settle(engine.run(plan(embedded, "s"))));

  // Canceled without the HLS ladder: FFmpeg 5.1's hls muxer itself leaks its segment buffer when a
  // ladder is stopped before its first segment closes (reproduced without subtitles).
  const controller = new AbortController();
  const canceled = plan(embedded, "k");
  canceled.outputs = canceled.outputs.filter((o) => o.kind !== "hls");
  outcome(
    "subtitles: cancel",
    await settle(engine.run(canceled, { signal: controller.signal, onProgress: () => controller.abort() })),
  );

  const bytes = await readFile(embedded);
  const cut = join(dir, "subs-cut.mkv");
  await writeFile(cut, bytes.subarray(0, bytes.length >> 1));
  outcome("subtitles: truncated", await settle(engine.run(plan(cut, "c"))));
  const flipped = Buffer.from(bytes);
  for (let at = flipped.length >> 2; at < flipped.length; at += 997) flipped[at] = (flipped[at] ?? 0) ^ 0x5a;
  const bad = join(dir, "subs-flip.mkv");
  await writeFile(bad, flipped);
  outcome("subtitles: bit-flipped", await settle(engine.run(plan(bad, "f"))));
}

await runWhenMain(import.meta.url, "subtitles", subtitleRuns);
