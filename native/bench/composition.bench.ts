/**
 * Issue 14's compositions (`npm run bench -- composition`):
 *   (i) a composition against the equivalent ffmpeg CLI `-filter_complex` command on the same
 *       inputs: a 720p canvas with a logo on top, a title, two clips joined by a crossfade and a
 *       soundtrack with fades, ducked under the clips' own audio. The CLI runs the very graph the
 *       native engine builds (the same filters and options, written as -filter_complex text with
 *       the title in a textfile, the wasm engine's form), with the same encoders and settings
 *       (libx264 veryfast crf 23, AAC 128k), so the two do the same work. Target: native/CLI ≥ 1.0.
 *       FW_BENCH_COMPOSITION_SECONDS sets the timeline's length (default 30).
 *  (j) memory: a 10-minute composition of 8 clips in 3 layers at 1080p (five 1080p clips joined by
 *       crossfades, two picture-in-picture clips over them, a logo over all, a ducked soundtrack)
 *       in its own process as a processing slot runs it; its peak RSS against the 1 GiB target.
 *       FW_BENCH_COMPOSITION_MEMORY_SECONDS shortens it for a quick run (default 600, the issue's).
 * Both record wall and CPU time (user + system; on a shared machine the CPU figure is the steadier
 * one). FW_BENCH_RUNS samples per side for (i) (default 2, interleaved, best kept); (j) runs once.
 * FW_BENCH_ONLY=compare or =memory runs one case. Writes bench-results/composition.json.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { saveBenchResults } from "../../scripts/lib/bench-results";
import { makeClip } from "../../test/support/media";
import { buildCompositionGraph, filterComplexText } from "../lib/composition-graph";
import type { CompositionPlanOutput, PlanClip } from "../lib/composition-plan";
import type { MediaFacts } from "../lib/engine";
import { createNativeEngine } from "../lib/native-engine";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const COMPARE_SECONDS = Number(process.env.FW_BENCH_COMPOSITION_SECONDS ?? 30);
const MEMORY_SECONDS = Number(process.env.FW_BENCH_COMPOSITION_MEMORY_SECONDS ?? 600);
const RUNS = Math.max(1, Number(process.env.FW_BENCH_RUNS ?? 2));
const ONLY = process.env.FW_BENCH_ONLY;
const GIB_KB = 1024 * 1024;

interface Measure {
  wallMs: number;
  cpuMs: number | null;
  maxRssKb: number | null;
  /** Native only: peak before the run (Node, the addon, capability probing). */
  idleRssKb?: number;
}

const load = () => loadavg().map((l) => Math.round(l * 100) / 100);
const ffmpeg = (args: string[]) => execFileSync("ffmpeg", ["-hide_banner", "-v", "error", "-y", ...args]);

/** The engine in a fresh process (bench/run-engine.ts), as an isolated slot runs a job. */
function runNative(planPath: string): Measure {
  const out = execFileSync(
    process.execPath,
    ["--import", "tsx", join(here, "run-engine.ts"), "native", planPath],
    {
      cwd: root,
      encoding: "utf8",
      maxBuffer: 1 << 20,
    },
  );
  const m = JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as Required<Measure>;
  return { wallMs: m.wallMs, cpuMs: m.cpuMs, maxRssKb: m.maxRssKb, idleRssKb: m.idleRssKb };
}

/** One ffmpeg CLI run under GNU time (its peak memory and CPU time). */
function runCli(args: string[]): Measure {
  const started = performance.now();
  const result = spawnSync(
    "/usr/bin/time",
    ["-f", "maxrss=%M cpu=%U+%S", "ffmpeg", "-hide_banner", "-loglevel", "error", "-y", ...args],
    { encoding: "utf8" },
  );
  const wallMs = performance.now() - started;
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`ffmpeg failed: ${result.stderr}`);
  const rss = /maxrss=(\d+)/.exec(result.stderr)?.[1];
  const cpu = /cpu=([\d.]+)\+([\d.]+)/.exec(result.stderr);
  return {
    wallMs,
    maxRssKb: rss ? Number(rss) : null,
    cpuMs: cpu ? (Number(cpu[1]) + Number(cpu[2])) * 1000 : null,
  };
}

const clip = (p: Partial<PlanClip> & Pick<PlanClip, "asset" | "startSec">): PlanClip => ({
  label: "clip",
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
const video = (input: string, trimStartSec: number, trimEndSec: number) => ({
  type: "video" as const,
  input,
  trimStartSec,
  trimEndSec,
});
const crossfade = { kind: "crossfade" as const, durationSec: 1 };
const encoding = {
  container: "mp4" as const,
  video: { codec: "h264" as const, crf: 23, bitrateKbps: null, preset: "veryfast" as const },
  audio: { codec: "aac" as const, bitrateKbps: 128, channels: null, sampleRate: null },
};
const soundtrack = (input: string) => ({
  input,
  trimStartSec: 0,
  trimEndSec: null,
  volume: 0.5,
  fadeInSec: 1,
  fadeOutSec: 1,
  duckDb: 12,
});

/** A 200×80 logo with an alpha channel, and a music bed (two tones, stereo) of `seconds`. */
async function makeLogoAndMusic(dir: string, seconds: number) {
  const logo = join(dir, "logo.png");
  ffmpeg(["-f", "lavfi", "-i", "color=c=0xff8800@0.8:s=200x80", "-frames:v", "1", "-pix_fmt", "rgba", logo]);
  const music = join(dir, "music.m4a");
  ffmpeg([
    ...["-f", "lavfi", "-i", `sine=frequency=220:sample_rate=48000:duration=${seconds}`],
    ...["-f", "lavfi", "-i", `sine=frequency=330:sample_rate=48000:duration=${seconds}`],
    ...[
      "-filter_complex",
      "[0:a][1:a]amerge=inputs=2[m]",
      "-map",
      "[m]",
      "-c:a",
      "aac",
      "-b:a",
      "128k",
      music,
    ],
  ]);
  return { logo, music };
}

/** (i): the composition and the CLI running the same graph, interleaved. */
async function compareBench(dir: string) {
  const D = COMPARE_SECONDS;
  const half = Math.ceil(D / 2) + 1;
  console.log(`(i) making two ${half} s 720p clips, a logo and a ${D} s music bed… load ${load().join(" ")}`);
  const { logo, music } = await makeLogoAndMusic(dir, D);
  const inputs: Record<string, string> = {
    a: await makeClip(join(dir, "i-a.mp4"), { seconds: half, width: 1280, height: 720, fps: 30 }),
    b: await makeClip(join(dir, "i-b.mp4"), { seconds: half, width: 1280, height: 720, fps: 30 }),
    logo,
    music,
  };
  const first = D / 2 + 0.5; // the crossfade: b starts 1 s before a ends
  const plan: CompositionPlanOutput = {
    kind: "composition",
    name: "edit",
    path: join(dir, "i-native.mp4"),
    ...encoding,
    canvas: { width: 1280, height: 720, fps: 30, background: "#000000" },
    tracks: [
      [
        clip({
          asset: { type: "image", input: "logo" },
          startSec: 0,
          lengthSec: D,
          fit: "none",
          position: "top-right",
        }),
      ],
      [
        clip({
          asset: {
            type: "text",
            text: "Framewire",
            font: "sans",
            fontSize: 48,
            color: "#ffffff",
            background: "#00000080",
          },
          startSec: 1,
          lengthSec: 5,
          position: "bottom",
        }),
      ],
      [
        clip({ asset: video("a", 0, first), startSec: 0 }),
        clip({ asset: video("b", 0, D - first + 1), startSec: first - 1, transitionIn: crossfade }),
      ],
    ],
    soundtrack: soundtrack("music"),
  };
  const planPath = join(dir, "i.plan.json");
  await writeFile(planPath, JSON.stringify({ inputPath: inputs.a, inputs, outputs: [plan] }));

  // The CLI's command: the graph the engine builds for these inputs, as -filter_complex text.
  const engine = await createNativeEngine();
  const facts: Record<string, MediaFacts> = {};
  for (const [name, path] of Object.entries(inputs)) facts[name] = await engine.probe(path);
  await engine.close();
  const graph = buildCompositionGraph(plan, inputs, facts);
  const textFiles = new Map<string, string>();
  for (const node of graph.nodes)
    if (node.filter === "drawtext") {
      const path = join(dir, `${node.id}.txt`);
      await writeFile(path, String(node.options.find(([k]) => k === "text")?.[1] ?? ""));
      textFiles.set(node.id, path);
    }
  const label = (ref: string) => `[${ref.split("#")[0]}_${ref.split("#")[1] ?? 0}]`;
  const cliArgs = [
    ...graph.instances.flatMap((instance) => ["-i", instance.path]),
    ...["-filter_complex", filterComplexText(graph, textFiles)],
    ...["-map", label(graph.videoOut), "-map", label(graph.audioOut as string)],
    ...["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p"],
    ...["-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", join(dir, "i-cli.mp4")],
  ];
  const native: Measure[] = [];
  const cli: Measure[] = [];
  const loadBefore = load();
  for (let i = 0; i < RUNS; i++) {
    console.log(`(i) composition: native / ffmpeg CLI, sample ${i + 1}/${RUNS}… load ${load().join(" ")}`);
    native.push(runNative(planPath));
    cli.push(runCli(cliArgs));
  }
  const fastest = (list: Measure[]) => list.reduce((a, b) => (b.wallMs < a.wallMs ? b : a));
  const leastCpu = (list: Measure[]) => {
    const cpu = list.map((m) => m.cpuMs).filter((v): v is number => v !== null);
    return cpu.length === list.length ? Math.min(...cpu) : null;
  };
  const [n, c] = [fastest(native), fastest(cli)];
  const [nCpu, cCpu] = [leastCpu(native), leastCpu(cli)];
  return {
    label: `${D} s 720p composition (logo, title, 2 clips with a crossfade, ducked soundtrack) vs the same graph in the ffmpeg CLI`,
    timelineSec: graph.durationSec,
    filters: graph.nodes.length,
    nativeMs: Math.round(n.wallMs),
    cliMs: Math.round(c.wallMs),
    nativeOverCli: c.wallMs / n.wallMs,
    cpuMs: { native: nCpu, cli: cCpu },
    cpuNativeOverCli: nCpu !== null && cCpu !== null && nCpu > 0 ? cCpu / nCpu : null,
    peakRssKb: { native: n.maxRssKb, nativeIdle: n.idleRssKb ?? null, cli: c.maxRssKb },
    target: "native/cli ≥ 1.0",
    samplesMs: { native: native.map((m) => Math.round(m.wallMs)), cli: cli.map((m) => Math.round(m.wallMs)) },
    load: { before: loadBefore, after: load() },
  };
}

/** (j): 8 clips in 3 layers at 1080p over MEMORY_SECONDS, in its own process; its peak RSS. */
async function memoryBench(dir: string) {
  const D = MEMORY_SECONDS;
  const part = D / 5;
  const sourceSec = Math.ceil(part) + 2;
  console.log(
    `(j) making three ${sourceSec} s 1080p clips, a logo and a ${D} s music bed… load ${load().join(" ")}`,
  );
  // Sources at 10 fps keep their making cheap; the canvas runs at 30 (each frame is still 1080p).
  const make = (name: string) =>
    makeClip(join(dir, `j-${name}.mp4`), { seconds: sourceSec, width: 1920, height: 1080, fps: 10 });
  const { logo, music } = await makeLogoAndMusic(dir, D);
  const inputs = { a: await make("a"), b: await make("b"), c: await make("c"), logo, music };
  // Bottom layer: five clips of `part` seconds, alternately from a and b, each crossfading into the next.
  const main = Array.from({ length: 5 }, (_, i) =>
    clip({
      label: `tracks[2].clips[${i}]`,
      asset: video(i % 2 === 0 ? "a" : "b", 0, part + (i < 4 ? 1 : 0)),
      startSec: i * part,
      transitionIn: i === 0 ? null : crossfade,
    }),
  );
  // Middle layer: two picture-in-picture clips from c, a third of the canvas, bottom-left.
  const pip = [0.2, 0.6].map((at, i) =>
    clip({
      label: `tracks[1].clips[${i}]`,
      asset: video("c", 0, Math.min(part, sourceSec - 1)),
      startSec: at * D,
      fit: "contain",
      scale: 1 / 3,
      position: "bottom-left",
      volume: 0.5,
      transitionIn: { kind: "fade", durationSec: 0.5 },
      transitionOut: { kind: "fade", durationSec: 0.5 },
    }),
  );
  const plan: CompositionPlanOutput = {
    kind: "composition",
    name: "long",
    path: join(dir, "j.mp4"),
    ...encoding,
    canvas: { width: 1920, height: 1080, fps: 30, background: "#000000" },
    tracks: [
      [
        clip({
          label: "tracks[0].clips[0]",
          asset: { type: "image", input: "logo" },
          startSec: 0,
          lengthSec: D,
          fit: "none",
          position: "top-right",
        }),
      ],
      pip,
      main,
    ],
    soundtrack: soundtrack("music"),
  };
  const planPath = join(dir, "j.plan.json");
  await writeFile(planPath, JSON.stringify({ inputPath: inputs.a, inputs, outputs: [plan] }));
  const loadBefore = load();
  console.log(`(j) rendering ${D} s of 1080p (8 clips, 3 layers)… load ${loadBefore.join(" ")}`);
  const m = runNative(planPath);
  return {
    label: `${D} s 1080p composition, 8 clips in 3 layers (5 crossfaded, 2 picture-in-picture, a logo), ducked soundtrack`,
    timelineSec: D,
    clips: plan.tracks.flat().length,
    layers: plan.tracks.length,
    wallMs: Math.round(m.wallMs),
    cpuMs: m.cpuMs === null ? null : Math.round(m.cpuMs),
    realtime: D / (m.wallMs / 1000),
    peakRssKb: m.maxRssKb,
    idleRssKb: m.idleRssKb ?? null,
    targetKb: GIB_KB,
    underTarget: m.maxRssKb !== null && m.maxRssKb < GIB_KB,
    target: "peak RSS of the slot (the engine's process) < 1 GiB",
    load: { before: loadBefore, after: load() },
  };
}

const dir = await mkdtemp(join(tmpdir(), "fw-bench-composition-"));
try {
  const compare = ONLY === "memory" ? null : await compareBench(dir);
  const memory = ONLY === "compare" ? null : await memoryBench(dir);
  const report = {
    name: "composition",
    at: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? "unknown", node: process.version },
    runs: RUNS,
    compare,
    memory,
  };
  await saveBenchResults("composition", report);
  const mb = (kb: number | null | undefined) => (kb ? `${Math.round(kb / 1024)} MB` : "–");
  const rows: Record<string, string> = {};
  if (compare)
    rows["(i) composition vs CLI -filter_complex"] =
      `${compare.nativeMs} vs ${compare.cliMs} ms = ${compare.nativeOverCli.toFixed(2)}× (target ≥ 1.0); CPU time ${compare.cpuMs.native?.toFixed(0) ?? "–"} vs ${compare.cpuMs.cli?.toFixed(0) ?? "–"} ms = ${compare.cpuNativeOverCli?.toFixed(2) ?? "–"}×; peak ${mb(compare.peakRssKb.native)} vs ${mb(compare.peakRssKb.cli)}`;
  if (memory)
    rows[`(j) ${memory.timelineSec} s 1080p, 8 clips / 3 layers`] =
      `peak RSS ${mb(memory.peakRssKb)} (idle ${mb(memory.idleRssKb)}; target < 1024 MB: ${memory.underTarget ? "met" : "NOT met"}); ${(memory.wallMs / 1000).toFixed(1)} s wall, ${((memory.cpuMs ?? 0) / 1000).toFixed(1)} s CPU, ${memory.realtime.toFixed(2)}× realtime`;
  console.table(rows);
  console.log(
    `written: bench-results/composition.json (${cpus().length} × ${cpus()[0]?.model ?? "cpu"}); load ${load().join(" ")}`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
