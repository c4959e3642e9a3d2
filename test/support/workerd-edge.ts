import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { freePort, repoRoot } from "../../scripts/lib/stack";

/**
 * The edge bundle inside workerd, as `wrangler dev` runs it (local mode, offline), with its
 * variables given on the command line. The e2e suite and the Workers bench start it the same way.
 */
export interface WorkerdEdge {
  url: string;
  logPath: string;
  stop(): Promise<void>;
}

export async function startWorkerdEdge(options: {
  /** A scratch folder: wrangler's state and logs go in it. */
  dir: string;
  /** `--var NAME:value` for each; FW_PUBLIC_URL is set to the edge's own URL. */
  vars: Record<string, string>;
  /**
   * `wrangler` (default): `wrangler dev`, what a developer runs; its dev proxy (a second workerd
   * in front, for live reload) adds a hop to every request. `miniflare`: the bundle `wrangler
   * deploy` would upload, in one workerd through Miniflare, without that hop: the closer stand-in
   * for production when measuring latency.
   */
  runner?: "wrangler" | "miniflare";
}): Promise<WorkerdEdge> {
  if (options.runner === "miniflare") return await startMiniflareEdge(options);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logPath = join(options.dir, "wrangler.log");
  const log = createWriteStream(logPath);
  const vars = { FW_PUBLIC_URL: url, ...options.vars };
  const child = spawn(
    join(repoRoot, "node_modules/.bin/wrangler"),
    [
      "dev",
      "--config",
      "wrangler.toml",
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(await freePort()),
      "--persist-to",
      join(options.dir, "wrangler-state"),
      "--show-interactive-dev-session=false",
      "--test-scheduled", // GET /__scheduled runs the Cron handler
      ...Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
    ],
    {
      cwd: repoRoot,
      detached: true, // its own process group, stopped as a group
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        WRANGLER_SEND_METRICS: "false",
        CLOUDFLARE_CF_FETCH_ENABLED: "false",
        WRANGLER_LOG_PATH: join(options.dir, "wrangler-logs"),
        NO_COLOR: "1",
      },
    },
  );
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const edge: WorkerdEdge = { url, logPath, stop: () => stopGroup(child) };
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler exited:\n${await readFile(logPath, "utf8")}`);
    if (
      await fetch(`${url}/v1/health`)
        .then((r) => r.ok)
        .catch(() => false)
    )
      return edge;
    if (Date.now() > deadline) {
      await edge.stop();
      throw new Error(`wrangler dev did not start:\n${await readFile(logPath, "utf8")}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise((r) => child.once("exit", r));
  try {
    process.kill(-child.pid, "SIGTERM"); // wrangler and its workerd child: the whole group
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      if (child.pid) process.kill(-child.pid, "SIGKILL");
    } catch {}
  }, 5_000);
  await exited;
  clearTimeout(timer);
}

async function startMiniflareEdge(options: {
  dir: string;
  vars: Record<string, string>;
}): Promise<WorkerdEdge> {
  const bundleDir = join(options.dir, "bundle");
  await new Promise<void>((resolve, reject) => {
    const build = spawn(
      join(repoRoot, "node_modules/.bin/wrangler"),
      ["deploy", "--dry-run", "--outdir", bundleDir, "--config", "wrangler.toml"],
      { cwd: repoRoot, stdio: "ignore", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } },
    );
    build.once("error", reject);
    build.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`wrangler build exited ${code}`)),
    );
  });
  const { parse } = await import("smol-toml");
  const config = parse(await readFile(join(repoRoot, "wrangler.toml"), "utf8")) as {
    compatibility_date: string;
    compatibility_flags: string[];
    durable_objects: { bindings: { name: string; class_name: string }[] };
  };
  const { Miniflare } = await import("miniflare");
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const mf = new Miniflare({
    modules: true,
    scriptPath: join(bundleDir, "worker.js"),
    modulesRoot: bundleDir,
    compatibilityDate: config.compatibility_date,
    compatibilityFlags: config.compatibility_flags,
    bindings: { FW_PUBLIC_URL: url, ...options.vars },
    durableObjects: Object.fromEntries(config.durable_objects.bindings.map((b) => [b.name, b.class_name])),
    host: "127.0.0.1",
    port,
  });
  await mf.ready;
  return { url, logPath: "", stop: () => mf.dispose() };
}
