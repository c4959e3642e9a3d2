/**
 * The naive ffmpeg CLI command a user would write for each real-world corpus case, beside
 * Framewire's native engine on the same file, both read back with the same checks as the corpus
 * table (test/corpus/checks.ts): duration against the real media, browser-safe picture, display
 * aspect, audio present iff the source has it, loudness and true peak, upright stills.
 *
 *   npx tsx native/bench/cli-compare.ts      (needs the corpus: npx tsx test/corpus/fetch.ts)
 *
 * Prints a Markdown table and writes bench-results/cli-compare.json. The ffmpeg CLI is run here as
 * a point of comparison only; the product never runs it.
 */
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type CorpusCase, corpusCases, expectedDuration } from "../../test/corpus/cases";
import { loudnessFileProblems, uprightProblems, videoFileProblems } from "../../test/corpus/checks";
import { ensureCorpus } from "../../test/corpus/fetch";
import { outputFor } from "../../test/corpus/plans";
import { probeFile } from "../../test/corpus/probe";
import { EngineError, type PlanOutput } from "../lib/engine";
import { createNativeEngine } from "../lib/native-engine";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

interface Row {
  case: string;
  file: string;
  command: string;
  cli: string;
  framewire: string;
}

function verdict(problems: string[]): string {
  return problems.length === 0 ? "correct" : `wrong: ${problems.join("; ")}`;
}

const corpus = await ensureCorpus((line) => console.log(line));
const engine = await createNativeEngine();
const dir = await mkdtemp(join(tmpdir(), "fw-cli-compare-"));
const rows: Row[] = [];

/** One comparison: the CLI's naive command and Framewire's plan output, both checked by `check`. */
async function compare(
  label: string,
  c: CorpusCase,
  cliArgs: (input: string, out: string) => string[],
  extension: string,
  output: (work: string) => PlanOutput,
  check: (path: string) => Promise<string[]>,
  framewirePath: (output: PlanOutput) => Promise<string>,
): Promise<void> {
  const input = corpus[c.file] ?? "";
  const work = await mkdtemp(join(dir, "case-"));
  const cliOut = join(work, `cli.${extension}`);
  const args = cliArgs(input, cliOut);
  const cli = spawnSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", ...args], {
    encoding: "utf8",
  });
  const cliResult =
    cli.status !== 0
      ? `failed: ${(cli.stderr.trim().split("\n").at(-1) ?? "").slice(0, 120)}`
      : verdict(await check(cliOut).catch((e: unknown) => [`unreadable (${String(e).slice(0, 80)})`]));
  const planned = output(work);
  const framewire = await engine.run({ inputPath: input, outputs: [planned] }).then(
    async () => verdict(await check(await framewirePath(planned))),
    (e: unknown) =>
      e instanceof EngineError ? `refused: ${e.code} (${e.message.slice(0, 100)})` : String(e),
  );
  const command = `ffmpeg ${args.map((a) => (a === input ? basename(input) : a === cliOut ? `out.${extension}` : a)).join(" ")}`;
  rows.push({ case: label, file: c.file, command, cli: cliResult, framewire });
  console.log(`${label} | ${c.file}\n  CLI: ${cliResult}\n  Framewire: ${framewire}`);
}

const pathOf = async (o: PlanOutput) => ("path" in o ? o.path : o.dir);
const mp4 = (c: CorpusCase, work: string, trim: { startSec: number; endSec: number } | null): PlanOutput => {
  const o = outputFor("mp4", c, work, "native");
  return o.kind === "video" ? { ...o, trim } : o;
};

try {
  for (const c of corpusCases) {
    const hasMedia = c.aspect !== null || c.audio;
    if (hasMedia && !c.still) {
      const trim = c.trim ?? null;
      const seek = trim ? ["-ss", String(trim.startSec), "-to", String(trim.endSec)] : [];
      await compare(
        trim ? `mp4 of ${trim.startSec}–${trim.endSec} s` : "mp4",
        c,
        (input, out) => [
          ...[...seek, "-i", input, "-vf", "scale=-2:240", "-c:v", "libx264", "-preset", "ultrafast"],
          ...["-crf", "30", "-c:a", "aac", "-b:a", "96k", out],
        ],
        "mp4",
        (work) => mp4(c, work, trim),
        (path) => videoFileProblems(c, path, "mp4", expectedDuration(c, true)),
        pathOf,
      );
    }
    if (c.aspect !== null && !c.still && c.durationSec > 3) {
      const window = { ...c, trim: { startSec: 1, endSec: 3 } };
      await compare(
        "trim 1–3 s",
        c,
        (input, out) => [
          ...["-ss", "1", "-to", "3", "-i", input, "-vf", "scale=-2:240", "-c:v", "libx264"],
          ...["-preset", "ultrafast", "-crf", "30", "-c:a", "aac", "-b:a", "96k", out],
        ],
        "mp4",
        (work) => mp4(c, work, window.trim),
        (path) => videoFileProblems(window, path, "mp4", expectedDuration(window, true)),
        pathOf,
      );
    }
    if (c.audio) {
      const trim = c.trim ?? null;
      const seek = trim ? ["-ss", String(trim.startSec), "-to", String(trim.endSec)] : [];
      await compare(
        "loudness -16 LUFS",
        c,
        (input, out) => [
          ...seek,
          "-i",
          input,
          "-vn",
          "-af",
          "loudnorm=I=-16:TP=-1",
          "-c:a",
          "aac",
          "-b:a",
          "128k",
          out,
        ],
        "m4a",
        (work) => outputFor("audio", c, work, "native"),
        (path) => loudnessFileProblems(path, expectedDuration(c, true)),
        pathOf,
      );
    }
    if (c.still) {
      await compare(
        "thumbnail",
        c,
        (input, out) => ["-i", input, "-vf", "scale=-2:90", "-frames:v", "1", out],
        "jpg",
        (work) =>
          ({ ...(outputFor("thumbnails", c, work, "native") as PlanOutput), sprite: null }) as PlanOutput,
        async (path) => {
          const p = await probeFile(path);
          const aspect = c.aspect ?? 1;
          const got = p.video ? p.video.width / p.video.height : 0;
          const problems =
            Math.abs(got - aspect) / aspect > 0.06
              ? [`aspect ${got.toFixed(3)}, want ${aspect.toFixed(3)}`]
              : [];
          return [...problems, ...(await uprightProblems(c, path, corpus))];
        },
        async (o) => join("dir" in o ? o.dir : "", "thumb-0001.jpg"),
      );
    }
  }
  await mkdir(join(root, "bench-results"), { recursive: true });
  await writeFile(join(root, "bench-results", "cli-compare.json"), `${JSON.stringify(rows, null, 2)}\n`);
  const cell = (text: string) => text.replaceAll("|", "\\|");
  console.log("\n| case | file | naive CLI command | CLI | Framewire |\n| --- | --- | --- | --- | --- |");
  for (const r of rows) {
    console.log(`| ${r.case} | ${r.file} | \`${cell(r.command)}\` | ${cell(r.cli)} | ${cell(r.framewire)} |`);
  }
  const cliWrong = rows.filter((r) => r.cli !== "correct").length;
  const fwWrong = rows.filter((r) => r.framewire !== "correct").length;
  console.log(`\n${rows.length} cases: the CLI is wrong or fails on ${cliWrong}, Framewire on ${fwWrong}.`);
} finally {
  await engine.close();
  await rm(dir, { recursive: true, force: true });
}
