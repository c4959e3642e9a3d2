/**
 * The compositions part of the AddressSanitizer job: one composition that uses every filter the
 * graph builder emits (image and video clips, text, opacity, every transition kind, a soundtrack
 * with fades and ducking) over inputs of different sizes, rates and layouts, a canceled one, one
 * refused by the media (COMPOSITION_INVALID), and a highlight reel.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { makeClip, makeHighlightsClip } from "../../test/support/media";
import type { CompositionPlanOutput, PlanClip } from "../lib/composition-plan";
import type { Engine } from "../lib/engine";

export async function compositionWorkload(
  engine: Engine,
  dir: string,
  settle: (p: Promise<unknown>) => Promise<string>,
  outcome: (label: string, value: string) => void,
): Promise<void> {
  const a = await makeClip(join(dir, "comp-a.mp4"), { seconds: 3, width: 320, height: 240, fps: 25 });
  const b = await makeClip(join(dir, "comp-b.mp4"), {
    seconds: 3,
    width: 640,
    height: 360,
    fps: 30,
    rotate: 90,
  });
  const logo = join(dir, "comp-logo.png");
  execFileSync("ffmpeg", [
    "-v",
    "error",
    "-y",
    "-f",
    "lavfi",
    "-i",
    "color=green:size=64x64",
    "-frames:v",
    "1",
    logo,
  ]);
  const music = join(dir, "comp-music.mp3");
  execFileSync("ffmpeg", [
    "-v",
    "error",
    "-y",
    "-f",
    "lavfi",
    "-i",
    "sine=frequency=200:duration=10",
    "-ac",
    "1",
    music,
  ]);
  const inputs = { a, b, logo, music };
  const clip = (p: Partial<PlanClip> & Pick<PlanClip, "asset" | "startSec">): PlanClip => ({
    label: "tracks[0].clips[0]",
    lengthSec: null,
    fit: "contain",
    position: "center",
    offsetX: 0,
    offsetY: 0,
    scale: 1,
    opacity: 1,
    volume: 1,
    transitionIn: null,
    transitionOut: null,
    ...p,
  });
  const v = (input: string, start: number, end: number) => ({
    type: "video" as const,
    input,
    trimStartSec: start,
    trimEndSec: end,
  });
  const composition = (name: string, tracks: PlanClip[][]): CompositionPlanOutput => ({
    kind: "composition",
    name,
    path: join(dir, `${name}.mp4`),
    container: "mp4",
    video: { codec: "h264", crf: 30, bitrateKbps: null, preset: "ultrafast" },
    audio: { codec: "aac", bitrateKbps: 96, channels: null, sampleRate: null },
    canvas: { width: 320, height: 180, fps: 25, background: "#102030" },
    tracks,
    soundtrack: {
      input: "music",
      trimStartSec: 0,
      trimEndSec: null,
      volume: 0.5,
      fadeInSec: 0.5,
      fadeOutSec: 0.5,
      duckDb: 12,
    },
  });
  const everything = composition("comp-all", [
    [
      clip({
        asset: {
          type: "text",
          text: "Framewire שלום",
          font: "mono-bold",
          fontSize: 24,
          color: "#ffffff",
          background: "#00000080",
        },
        startSec: 0.5,
        lengthSec: 2,
        position: "bottom",
        transitionIn: { kind: "fade", durationSec: 0.3 },
      }),
    ],
    [
      clip({
        asset: { type: "image", input: "logo" },
        startSec: 0,
        lengthSec: 5,
        fit: "none",
        scale: 0.5,
        position: "top-right",
        opacity: 0.7,
      }),
    ],
    [
      clip({
        asset: v("a", 0, 2),
        startSec: 0,
        transitionIn: { kind: "slide_right", durationSec: 0.4 },
        transitionOut: { kind: "wipe_left", durationSec: 0.4 },
      }),
      clip({
        asset: v("b", 0, 2),
        startSec: 1.6,
        fit: "cover",
        transitionIn: { kind: "crossfade", durationSec: 0.4 },
        transitionOut: { kind: "slide_down", durationSec: 0.4 },
      }),
      clip({
        asset: v("a", 2, 3),
        startSec: 3.6,
        transitionIn: { kind: "wipe_up", durationSec: 0.3 },
        transitionOut: { kind: "fade", durationSec: 0.3 },
      }),
    ],
    [
      clip({
        asset: { type: "audio", input: "b", trimStartSec: 0, trimEndSec: 3 },
        startSec: 1,
        volume: 0.8,
      }),
    ],
  ]);
  outcome(
    "composition (every filter)",
    await settle(engine.run({ inputPath: a, inputs, outputs: [everything] })),
  );
  const canceled = new AbortController();
  setTimeout(() => canceled.abort(), 150);
  outcome(
    "composition canceled",
    await settle(
      engine.run(
        { inputPath: a, inputs, outputs: [composition("comp-cancel", everything.tracks)] },
        { signal: canceled.signal },
      ),
    ),
  );
  outcome(
    "composition past an input's end",
    await settle(
      engine.run({
        inputPath: a,
        inputs,
        outputs: [composition("comp-bad", [[clip({ asset: v("a", 1, 9), startSec: 0 })]])],
      }),
    ),
  );
  const long = await makeHighlightsClip(join(dir, "comp-long.mp4"), {
    seconds: 60,
    moments: [10, 40],
    momentSec: 4,
  });
  outcome(
    "highlight reel",
    await settle(
      engine.run({
        inputPath: long.path,
        outputs: [
          {
            kind: "highlight_reel",
            name: "reel",
            path: join(dir, "reel.mp4"),
            container: "mp4",
            video: { codec: "h264", crf: 30, bitrateKbps: null, preset: "ultrafast" },
            audio: { codec: "aac", bitrateKbps: 96, channels: null, sampleRate: null },
            input: "input",
            segments: 2,
            totalSec: null,
            minSec: 2,
            maxSec: 5,
            crossfadeSec: 0.3,
            maxHeight: null,
          },
        ],
      }),
    ),
  );
}
