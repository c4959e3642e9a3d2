/**
 * The workload the AddressSanitizer job runs inside one Node process with the ASan build of the
 * addon (see asan-check.sh): a short multi-output transcode (video, audio, thumbnails, HLS,
 * loudness), every damaged input of the bad-media corpus, the real-world corpus (test/corpus: every
 * file with every output type it can make, in one shared decode, then each output it cannot make),
 * every analysis kind (in the decode of a transcode, alone, on inputs without the streams a kind
 * needs, on every damaged input and on every real-world file), subtitles (asan-subtitles.ts),
 * previews on threads of their own (asan-workers.ts), a cancel and a stall. Exits non-zero if any run ends in anything but an output or an
 * EngineError, or if a real-world file ends differently than the corpus table expects; ASan/LSan
 * abort the process on an invalid access or, at exit, on a leak.
 */

import { execFileSync } from "node:child_process";
import { mkdtemp, open, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { corpusCases, outputTypes, refusal } from "../../test/corpus/cases";
import { ensureCorpus } from "../../test/corpus/fetch";
import { outputFor } from "../../test/corpus/plans";
import { makeBadMediaSet, makeClickTrack, makeClip, makeCutsClip } from "../../test/support/media";
import type { AnalysisOptions, PlanOutput } from "../lib/engine";
import { createNativeEngine } from "../lib/native-engine";
import { aac, analysisOut, audioOut, defaultAnalysis, h264, thumbsOut, videoOut } from "../test/plans";
import { compositionWorkload } from "./asan-compositions";
import { outcomeCounter, settle } from "./asan-outcomes";
import { subtitleRuns } from "./asan-subtitles";
import { trackRuns } from "./asan-tracks";
import { workerRuns } from "./asan-workers";

/** Ends the workload early (FW_ASAN_ONLY) through the same cleanup as a full run. */
class Done extends Error {}

const dir = await mkdtemp(join(tmpdir(), "fw-asan-"));
const engine = await createNativeEngine();
const { outcome, failures: failureCount } = outcomeCounter();

try {
  // Compositions: every filter the graph builder emits, a cancel, a refusal, a highlight reel.
  // FW_ASAN_ONLY=compositions runs just these (a quicker check while working on them).
  await compositionWorkload(engine, dir, settle, outcome);
  if (process.env.FW_ASAN_ONLY === "compositions") throw new Done();
  const clip = await makeClip(join(dir, "clip.mp4"), { seconds: 2, width: 320, height: 180 });
  const logo = await makeClip(join(dir, "logo.mp4"), { seconds: 1, width: 64, height: 32, audio: false });
  await engine.capabilities();
  outcome(
    "multi-output transcode",
    await settle(
      engine.run({
        inputPath: clip,
        outputs: [
          videoOut(dir, "v", { video: h264({ maxHeight: 90 }) }),
          videoOut(dir, "w", {
            container: "webm",
            video: h264({ codec: "vp9", crf: 40, maxHeight: 64 }),
            audio: aac({ codec: "opus" }),
          }),
          videoOut(dir, "c", {
            container: "mkv",
            video: h264({ maxHeight: 64, fps: 10 }),
            audio: "copy",
            trim: { startSec: 0.5, endSec: 1.5 },
          }),
          audioOut(dir, "a", { codec: "mp3", loudnessTargetLufs: -16 }),
          thumbsOut(dir, "t", { format: "png", select: { mode: "count", count: 2 }, sprite: { columns: 2 } }),
          videoOut(dir, "wm", {
            video: h264({
              maxHeight: 90,
              watermark: {
                imagePath: logo,
                position: "center",
                marginPx: 4,
                opacity: 0.5,
                widthFraction: 0.3,
              },
            }),
            audio: null,
          }),
          {
            kind: "hls",
            name: "h",
            dir: join(dir, "h"),
            segmentSec: 1,
            preset: "ultrafast",
            renditions: [{ name: "a", maxHeight: 90, videoBitrateKbps: 200, audioBitrateKbps: 64 }],
          },
          { kind: "probe", name: "p", path: join(dir, "p.json") },
          ...previews(dir, "pv"),
        ],
      }),
    ),
  );

  // Every analysis kind in the decode of a transcode, then each alone on inputs that lack the
  // streams some kinds need (they must be refused with INPUT_NO_STREAMS, never crash).
  const kinds = Object.keys(defaultAnalysis) as AnalysisOptions["kind"][];
  const analyses = (work: string, only: AnalysisOptions["kind"][] = kinds): PlanOutput[] =>
    only.map((kind) => analysisOut(work, `an-${kind}`, kind));
  const cuts = await makeCutsClip(join(dir, "cuts.mp4"), [
    { source: "testsrc2", frames: 30 },
    { source: "smptebars", frames: 20 },
    { source: "black", frames: 10 },
    { source: "mandelbrot", frames: 20 },
  ]);
  outcome(
    "analyses beside a transcode",
    await settle(
      engine.run({
        inputPath: clip,
        outputs: [
          videoOut(dir, "av", { video: h264({ maxHeight: 90 }) }),
          ...analyses(dir),
          thumbsOut(dir, "scene-stills", {
            select: { mode: "scenes", threshold: 10 },
            sprite: { columns: 2 },
          }),
          { kind: "probe", name: "deep", path: join(dir, "deep.json") },
        ],
      }),
    ),
  );
  outcome(
    "scene stills on cuts",
    await settle(
      engine.run({
        inputPath: cuts.path,
        outputs: [thumbsOut(dir, "cut-stills", { select: { mode: "scenes", threshold: 10 } })],
      }),
    ),
  );
  const clicks = await makeClickTrack(join(dir, "clicks.wav"), { bpm: 120, seconds: 6 });
  const mute = await makeClip(join(dir, "mute.mp4"), { seconds: 1, width: 160, height: 90, audio: false });
  for (const kind of kinds) {
    outcome(
      `analysis ${kind} on audio only`,
      await settle(engine.run({ inputPath: clicks, outputs: analyses(dir, [kind]) })),
    );
    outcome(
      `analysis ${kind} on video only`,
      await settle(engine.run({ inputPath: mute, outputs: analyses(dir, [kind]) })),
    );
  }
  const analysisCanceler = new AbortController();
  outcome(
    "cancel an analysis",
    await settle(
      engine.run(
        { inputPath: clip, outputs: analyses(dir) },
        { signal: analysisCanceler.signal, onProgress: () => analysisCanceler.abort() },
      ),
    ),
  );

  const small = await makeClip(join(dir, "small.mp4"), { seconds: 1, width: 160, height: 90 });
  const smallTs = await makeClip(join(dir, "small.ts"), { seconds: 1, width: 160, height: 90 });
  for (const bad of await makeBadMediaSet(dir, small, smallTs)) {
    outcome(
      `corrupt ${bad.label}`,
      await settle(
        engine.run({
          inputPath: bad.path,
          outputs: [videoOut(dir, `x-${bad.label}`, { video: h264({ maxHeight: 64 }) })],
        }),
      ),
    );
    outcome(`probe ${bad.label}`, await settle(engine.probe(bad.path)));
    outcome(
      `analyses ${bad.label}`,
      await settle(
        engine.run({
          inputPath: bad.path,
          outputs: [
            ...analyses(dir),
            { kind: "probe", name: "bad-probe", path: join(dir, "bad-probe.json") },
            ...previews(dir, `bad-${bad.label}`),
          ],
        }),
      ),
    );
  }

  // The real-world corpus: what the table expects (an output, or the refusal), under ASan.
  const corpus = await ensureCorpus((line) => console.log(line));
  for (const c of corpusCases) {
    const input = corpus[c.file] ?? "";
    const work = await mkdtemp(join(dir, "real-"));
    const made = outputTypes.filter((t) => refusal(c, t) === null);
    if (made.length > 0) {
      const value = await settle(
        engine.run({ inputPath: input, outputs: made.map((t) => outputFor(t, c, work, "native")) }),
      );
      outcome(`real ${c.file} [${made.join(" ")}]`, value === "output" ? value : `THREW ${value}`);
    }
    // Every analysis the file can feed, in one decode; each one it cannot, refused.
    const audio = c.audio;
    const video = c.aspect !== null;
    const can = kinds.filter((k) =>
      ["loudness", "silence", "tempo", "key"].includes(k)
        ? audio
        : ["scenes", "black", "freeze"].includes(k)
          ? video
          : audio || video,
    );
    if (can.length > 0) {
      const value = await settle(engine.run({ inputPath: input, outputs: analyses(work, can) }));
      outcome(`real ${c.file} analyses [${can.join(" ")}]`, value === "output" ? value : `THREW ${value}`);
    }
    for (const kind of kinds.filter((k) => !can.includes(k))) {
      const value = await settle(engine.run({ inputPath: input, outputs: analyses(work, [kind]) }));
      outcome(`real ${c.file} analysis ${kind}`, value === "INPUT_NO_STREAMS" ? value : `THREW ${value}`);
    }
    for (const type of outputTypes.filter((t) => refusal(c, t) !== null)) {
      const value = await settle(
        engine.run({ inputPath: input, outputs: [outputFor(type, c, work, "native")] }),
      );
      outcome(`real ${c.file} ${type}`, value === refusal(c, type) ? value : `THREW ${value}`);
    }
    await rm(work, { recursive: true, force: true });
  }

  await trackRuns(engine, dir, outcome, settle);
  await subtitleRuns(engine, dir, outcome, settle);

  await workerRuns(engine, dir, outcome, settle);

  const controller = new AbortController();
  const canceled = engine.run(
    { inputPath: clip, outputs: [videoOut(dir, "k", { video: h264({ preset: "slow", maxHeight: 180 }) })] },
    { signal: controller.signal, onProgress: () => controller.abort() },
  );
  outcome("cancel", await settle(canceled));

  const fifo = join(dir, "stall.fifo");
  execFileSync("mkfifo", [fifo]);
  const writer = await open(fifo, "r+");
  await writer.write((await readFile(smallTs)).subarray(0, 20_000));
  outcome(
    "stall",
    await settle(engine.run({ inputPath: fifo, outputs: [videoOut(dir, "s")] }, { stallTimeoutMs: 300 })),
  );
  await writer.close();
} catch (error) {
  if (!(error instanceof Done)) throw error;
} finally {
  await engine.close();
  await rm(dir, { recursive: true, force: true });
}
const failures = failureCount();
if (failures > 0) {
  console.error(`${failures} run(s) ended in something other than an output or an EngineError`);
  process.exit(1);
}

/** Issue 18's outputs in a decode: a GIF (palette graph), an animated WebP, an MP4 loop, a waveform. */
function previews(dir: string, prefix: string): PlanOutput[] {
  const animation = (format: "gif" | "webp" | "mp4"): PlanOutput => ({
    kind: "animation",
    name: `${prefix}-${format}`,
    path: join(dir, `${prefix}-anim.${format}`),
    format,
    startSec: 0.2,
    durationSec: 0.6,
    fps: 10,
    maxWidth: 64,
    maxHeight: null,
    loop: format === "gif",
  });
  return [
    animation("gif"),
    animation("webp"),
    animation("mp4"),
    {
      kind: "waveform",
      name: `${prefix}-wave`,
      dir: join(dir, `${prefix}-wave`),
      image: "png",
      width: 64,
      height: 16,
      color: "#ffffff",
      background: null,
      points: null,
      pointsPerSec: null,
    },
  ];
}
