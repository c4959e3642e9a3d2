import { chmod, copyFile, cp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire, isBuiltin } from "node:module";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Metafile, Plugin } from "esbuild";
import { buildWebAssets } from "../edge/web/build";
import { compiledEntries, compiledFile } from "./lib/compiled-entries";

/**
 * `npm run build`: the processes as plain JavaScript for `node dist/<entry>.mjs` (the container
 * image runs these; no tsx, no TypeScript at run time). Each entry in lib/compiled-entries.ts becomes
 * one ESM bundle with our @framewire/* workspace packages inside (they export TypeScript sources) and
 * every third-party package external: those come from a production install (`npm ci --omit=dev`).
 * Beside the bundles go what they find next to themselves at run time: the database migrations, the
 * ffmpeg.wasm worker and the native addon (when built: `npm run build:native` first). The web
 * console is rebuilt first (edge/src/web/assets.gen.ts, imported by the edge).
 */

export const repoRoot = resolve(fileURLToPath(new URL("..", import.meta.url)));

// esbuild is the edge's devDependency (it builds the web console too): load that one, not the
// version some other tool's dependency put at the root.
const esbuild: typeof import("esbuild") = createRequire(join(repoRoot, "edge/package.json"))("esbuild");

/** Our workspace packages, each with the dependencies it may import at run time. */
async function workspaces(): Promise<{ dir: string; name: string; dependencies: Set<string> }[]> {
  const root = JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8")) as { workspaces: string[] };
  return Promise.all(
    root.workspaces.map(async (dir) => {
      const pkg = JSON.parse(await readFile(join(repoRoot, dir, "package.json"), "utf8")) as {
        name: string;
        dependencies?: Record<string, string>;
      };
      return { dir, name: pkg.name, dependencies: new Set(Object.keys(pkg.dependencies ?? {})) };
    }),
  );
}

/** "@aws-sdk/client-s3/dist/x" → "@aws-sdk/client-s3"; "pino" → "pino". */
const packageOf = (spec: string) =>
  spec
    .split("/")
    .slice(0, spec.startsWith("@") ? 2 : 1)
    .join("/");

/** Bare imports stay imports, except our own packages, which are bundled. */
const thirdPartyExternal: Plugin = {
  name: "third-party-external",
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith("@framewire/") ? undefined : { path: args.path, external: true },
    );
  },
};

/**
 * Every package a bundled source file imports at run time that its workspace package does not list
 * in `dependencies` (a devDependency, or nothing): the production install would lack it. Read from
 * esbuild's metafile, file by file, so each import is held to its own package's list.
 */
export async function undeclaredRuntimeImports(metafile: Metafile): Promise<string[]> {
  // Longest folder first: node-worker/gateway before node-worker.
  const packages = (await workspaces()).sort((a, b) => b.dir.length - a.dir.length);
  const problems = new Set<string>();
  for (const [input, { imports }] of Object.entries(metafile.inputs)) {
    const file = relative(repoRoot, resolve(repoRoot, input));
    const owner = packages.find((p) => file.startsWith(`${p.dir}/`));
    for (const { path, external } of imports) {
      if (!external || isBuiltin(path)) continue;
      const name = packageOf(path);
      if (!owner?.dependencies.has(name)) {
        problems.add(
          `${file} imports ${name}, which ${owner?.name ?? "no workspace package"} does not list in dependencies`,
        );
      }
    }
  }
  return [...problems].sort();
}

export interface BuildResult {
  outdir: string;
  files: string[];
  metafile: Metafile;
  nativeAddon: boolean;
}

export async function buildDist(options: { outdir?: string } = {}): Promise<BuildResult> {
  const outdir = resolve(options.outdir ?? join(repoRoot, "dist"));
  await buildWebAssets();
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });

  const result = await esbuild.build({
    absWorkingDir: repoRoot,
    entryPoints: Object.fromEntries(
      Object.entries(compiledEntries).map(([name, source]) => [name, join(repoRoot, source)]),
    ),
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    outdir,
    outExtension: { ".js": ".mjs" },
    plugins: [thirdPartyExternal],
    metafile: true,
    write: false,
    logLevel: "warning",
  });
  const problems = await undeclaredRuntimeImports(result.metafile);
  if (problems.length > 0) {
    throw new Error(
      `the bundles would need packages a production install lacks:\n  ${problems.join("\n  ")}`,
    );
  }

  const files: string[] = [];
  for (const file of result.outputFiles) {
    // The CLI's source line runs it through tsx; the bundle is plain JavaScript.
    const text = file.text.replace(/^#!.*\n/, "#!/usr/bin/env node\n");
    await writeFile(file.path, text);
    files.push(relative(outdir, file.path));
  }
  await chmod(join(outdir, compiledFile("cli")), 0o755);

  // Found beside the bundles at run time (see edge/src/nodejs/database.ts, native/lib/wasm-engine.ts
  // and native/lib/native-addon.ts).
  await cp(join(repoRoot, "shared/migrations"), join(outdir, "migrations"), { recursive: true });
  await copyFile(join(repoRoot, "native/lib/wasm-worker.mjs"), join(outdir, "wasm-worker.mjs"));
  const addon = join(repoRoot, "native/build/Release/framewire_native.node");
  const nativeAddon = await copyFile(addon, join(outdir, "framewire_native.node")).then(
    () => true,
    () => false,
  );
  return { outdir, files: files.sort(), metafile: result.metafile, nativeAddon };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outdir = process.argv[2];
  const result = await buildDist(outdir ? { outdir } : {});
  console.log(`build: ${result.files.join(", ")} -> ${relative(process.cwd(), result.outdir) || "."}`);
  if (!result.nativeAddon) {
    console.warn(
      "build: the native addon is not built (npm run build:native): compiled nodes will use the wasm engine",
    );
  }
}
