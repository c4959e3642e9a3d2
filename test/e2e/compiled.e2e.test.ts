import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BuildResult, buildDist, undeclaredRuntimeImports } from "../../scripts/build";
import { type CompiledEntry, compiledEntries, compiledFile } from "../../scripts/lib/compiled-entries";
import { repoRoot, type Stack, startStack } from "../../scripts/lib/stack";
import { makeClip } from "../support/media";

const execFileAsync = promisify(execFile);

/**
 * The container image's way of running Framewire, without Docker: `npm run build`'s bundles run by
 * plain `node` (no tsx, no loader flags) from a folder whose node_modules holds only the packages
 * `npm ci --omit=dev` installs, so a bundle that needs a devDependency fails to start here as it
 * would in the image. A job goes through the compiled edge, gateway, node, slot process and CLI.
 */

let dir: string;
let build: BuildResult;
let stack: Stack;

/**
 * node_modules with links to the production packages only: those package-lock.json does not mark
 * `dev` (what `npm ci --omit=dev` installs), minus our workspace links (the bundles contain them).
 */
async function linkProductionPackages(target: string): Promise<number> {
  const lock = JSON.parse(await readFile(join(repoRoot, "package-lock.json"), "utf8")) as {
    packages: Record<string, { dev?: boolean; link?: boolean }>;
  };
  let linked = 0;
  for (const [path, entry] of Object.entries(lock.packages)) {
    // Top-level packages only: a nested node_modules travels inside its parent's folder.
    if (!/^node_modules\/(@[^/]+\/)?[^/]+$/.test(path) || entry.dev || entry.link) continue;
    // Optional packages for other platforms are in the lockfile but not installed.
    if (!existsSync(join(repoRoot, path))) continue;
    const to = join(target, path.slice("node_modules/".length));
    await mkdir(dirname(to), { recursive: true });
    await symlink(join(repoRoot, path), to, "dir");
    linked++;
  }
  return linked;
}

const cleanEnv = (env: Record<string, string>) => ({ ...process.env, NODE_OPTIONS: "", ...env });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "fw-compiled-"));
  expect(await linkProductionPackages(join(dir, "app/node_modules"))).toBeGreaterThan(20);
  build = await buildDist({ outdir: join(dir, "app/dist") });
  stack = await startStack({
    dataDir: join(dir, "data"),
    ports: { api: 0, gateway: 0, nats: 0 },
    output: "files",
    compiledDir: build.outdir,
  });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("the compiled build", () => {
  it("has one bundle per process and what they load beside them", async () => {
    expect(build.files).toEqual((Object.keys(compiledEntries) as CompiledEntry[]).map(compiledFile).sort());
    expect(build.nativeAddon).toBe(true);
    const beside = await readdir(build.outdir);
    expect(beside).toEqual(
      expect.arrayContaining(["migrations", "wasm-worker.mjs", "framewire_native.node"]),
    );
    for (const [, child] of stack.processes) {
      if (child.spawnfile === "nats-server") continue;
      expect(child.spawnargs.slice(1)).toEqual([expect.stringMatching(/\/dist\/(edge|gateway|node)\.mjs$/)]);
    }
  });

  it("refuses a bundle that would import a package its workspace does not list as a runtime dependency", async () => {
    expect(await undeclaredRuntimeImports(build.metafile)).toEqual([]);
    const devImport = {
      inputs: {
        "edge/src/app.ts": {
          bytes: 1,
          imports: [{ path: "vitest", kind: "import-statement" as const, external: true }],
        },
      },
      outputs: {},
    };
    expect(await undeclaredRuntimeImports(devImport)).toEqual([
      "edge/src/app.ts imports vitest, which @framewire/edge does not list in dependencies",
    ]);
  });

  it("runs a job end to end: the compiled CLI submits, follows progress through the gateway and downloads", async () => {
    const clip = await makeClip(join(dir, "clip.mp4"), { seconds: 1, width: 1280, height: 720 });
    const out = join(dir, "out");
    const result = await execFileAsync(
      process.execPath,
      [join(build.outdir, compiledFile("cli")), "submit", clip, "--preset", "360p", "--out", out],
      {
        cwd: dirname(build.outdir),
        env: cleanEnv({ FRAMEWIRE_API_URL: stack.apiUrl, FRAMEWIRE_API_KEY: stack.apiKey }),
      },
    );
    expect(result.stderr).toMatch(/job job_\w+ queued/);
    const [file] = await readdir(out);
    const { stdout } = await execFileAsync("ffprobe", [
      "-v",
      "error",
      "-select_streams",
      "v:0",
      "-show_entries",
      "stream=height",
      "-of",
      "csv=p=0",
      join(out, file as string),
    ]);
    expect(Number(stdout.trim())).toBe(360);
    // The edge's background checkpointer (a worker thread that finds libsql from dist/) ran.
    const edgeLog = await readFile(join(dir, "data/logs/edge.log"), "utf8");
    expect(edgeLog).toContain('"msg":"http:request"');
    expect(edgeLog).toContain('"msg":"db:checkpointer:started"');
    expect(edgeLog).not.toContain("db:checkpointer:failed");
  }, 60_000);

  it("runs nodes on either engine: the native addon and the ffmpeg.wasm worker load from dist/", async () => {
    stack.startNode("node-wasm", { FW_ENGINE: "wasm" });
    const engines = async () => {
      const res = await fetch(`${stack.apiUrl}/v1/health/detailed`, {
        headers: { authorization: `Bearer ${stack.apiKey}` },
      });
      const body = (await res.json()) as { nodes: { list?: { id: string; engine: string }[] } };
      return Object.fromEntries((body.nodes.list ?? []).map((n) => [n.id, n.engine]));
    };
    const deadline = Date.now() + 30_000;
    while (!(await engines())["node-wasm"] && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 250));
    expect(await engines()).toEqual({ "node-1": "native", "node-wasm": "wasm" });
  }, 45_000);
});
