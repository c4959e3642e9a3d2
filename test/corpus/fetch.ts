/**
 * Fetches the real-world corpus into `.cache/corpus/` (gitignored): the pinned files of
 * `sources.ts` from Debian packages (`apt-get download` + `dpkg-deb -x`, sha256 checked), then the
 * `derived.ts` files made from them. A cached corpus needs no network; a missing one is fetched
 * once. Run on demand with `npx tsx test/corpus/fetch.ts`; `./dev test` and the tests call it too.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { derivedFiles } from "./derived";
import { type DebianFile, debianFiles } from "./sources";

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const corpusDir = join(root, ".cache", "corpus");

async function sha256(path: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(path))
    .digest("hex");
}

async function aptDownload(spec: string, dir: string): Promise<void> {
  try {
    await run("apt-get", ["download", "-q", spec], { cwd: dir });
  } catch {
    // A machine that never ran `apt-get update` has no package lists: fetch them once, then retry.
    await run("apt-get", ["update", "-qq"]);
    await run("apt-get", ["download", "-q", spec], { cwd: dir });
  }
}

/** Downloads one package (the pinned version, else the current one), extracts it, keeps `files`. */
async function fetchPackage(pkg: string, files: DebianFile[]): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), "fw-corpus-"));
  try {
    const version = files[0]?.version ?? "";
    await aptDownload(`${pkg}=${version}`, work).catch(() => aptDownload(pkg, work));
    const deb = (await readdir(work)).find((f) => f.endsWith(".deb"));
    if (!deb) throw new Error(`apt-get download ${pkg} wrote no package`);
    await run("dpkg-deb", ["-x", join(work, deb), join(work, "x")]);
    for (const file of files) {
      const extracted = join(work, "x", file.path);
      if (!existsSync(extracted)) throw new Error(`${pkg} (${deb}) has no ${file.path}`);
      const got = await sha256(extracted);
      if (got !== file.sha256) {
        throw new Error(`${pkg} ${file.path}: sha256 ${got}, pinned ${file.sha256} (package ${deb})`);
      }
      const target = join(corpusDir, file.name);
      await copyFile(extracted, `${target}.part`);
      await rename(`${target}.part`, target);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function isCurrent(file: DebianFile): Promise<boolean> {
  const path = join(corpusDir, file.name);
  return existsSync(path) && (await sha256(path)) === file.sha256;
}

/**
 * Makes sure every corpus file is in `.cache/corpus/` and returns their paths by name. Throws
 * (loudly, naming what is missing and why) when a file can neither be found nor fetched.
 */
export async function ensureCorpus(log: (line: string) => void = () => {}): Promise<Record<string, string>> {
  await mkdir(corpusDir, { recursive: true });
  const missing = new Map<string, DebianFile[]>();
  for (const file of debianFiles) {
    if (await isCurrent(file)) continue;
    missing.set(file.package, [...(missing.get(file.package) ?? []), file]);
  }
  for (const [pkg, files] of missing) {
    log(`corpus: fetching ${pkg} (${files.map((f) => f.name).join(", ")})`);
    await fetchPackage(pkg, files).catch((error: unknown) => {
      throw new Error(
        `the real-media corpus is incomplete: ${pkg} could not be fetched (${String(error)}). ` +
          "It comes from Debian's archive with apt-get; run `npx tsx test/corpus/fetch.ts` where apt can reach it.",
        { cause: error },
      );
    });
  }
  const paths: Record<string, string> = {};
  for (const file of debianFiles) paths[file.name] = join(corpusDir, file.name);
  for (const derived of derivedFiles) {
    const out = join(corpusDir, derived.name);
    const inputs = derived.from.map((name) => {
      const path = paths[name];
      if (!path) throw new Error(`derived ${derived.name} needs ${name}, which is not in the corpus`);
      return path;
    });
    const stamp = `${derived.recipe} ${(await Promise.all(inputs.map(sha256))).join(" ")}\n`;
    const stampPath = `${out}.recipe`;
    const current = existsSync(out) && existsSync(stampPath) && (await readFile(stampPath, "utf8")) === stamp;
    if (!current) {
      log(`corpus: deriving ${derived.name}`);
      await derived.make(inputs, `${out}.part${extensionOf(out)}`);
      await rename(`${out}.part${extensionOf(out)}`, out);
      await writeFile(stampPath, stamp);
    }
    paths[derived.name] = out;
  }
  return paths;
}

function extensionOf(path: string): string {
  return /\.[a-z0-9]+$/i.exec(path)?.[0] ?? "";
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  const paths = await ensureCorpus((line) => console.log(line));
  console.log(`corpus: ${Object.keys(paths).length} files in ${corpusDir} (${Date.now() - started} ms)`);
}
