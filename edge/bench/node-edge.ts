import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { repoRoot } from "../../scripts/lib/stack";

/**
 * The Node edge as `npm start` runs it, in its own process, for the benches: its log to `logPath`,
 * started once /v1/health answers. `nodeArgs` go before the entry (e.g. --cpu-prof).
 */
export async function startNodeEdge(options: {
  env: Record<string, string>;
  logPath: string;
  nodeArgs?: string[];
}): Promise<{ child: ChildProcess; stop: () => Promise<void> }> {
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), "--import", "tsx", "edge/src/nodejs/main.ts"],
    { cwd: repoRoot, env: { ...process.env, ...options.env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  const log = createWriteStream(options.logPath);
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const base = `http://127.0.0.1:${options.env.FW_API_PORT}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`the edge exited during start-up; see ${options.logPath}`);
    if (
      await fetch(`${base}/v1/health`)
        .then((r) => r.ok)
        .catch(() => false)
    )
      break;
    if (i > 300) throw new Error("the edge did not start");
    await new Promise((r) => setTimeout(r, 100));
  }
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  };
  return { child, stop };
}

/**
 * The environment the API benches give the edge: a local stack on 127.0.0.1, limits far above the
 * load (the limiter's bookkeeping runs, its refusals don't), and every accepted job published at
 * once, as a tenant without a backlog has it. With fair dispatch's default depth the flood's jobs
 * would mostly wait in the database (no node starts them here), and POST would be measured without
 * its dispatch.
 */
export function benchEdgeEnv(options: {
  port: number;
  dbUrl: string;
  natsUrl: string;
  storageDir: string;
}): Record<string, string> {
  return {
    FW_API_PORT: String(options.port),
    FW_DB_URL: options.dbUrl,
    FW_NATS_URL: options.natsUrl,
    FW_STORAGE_DIR: options.storageDir,
    FW_PUBLIC_URL: `http://127.0.0.1:${options.port}`,
    FW_PROGRESS_URL: "ws://127.0.0.1:1",
    FW_TOKEN_SECRET: "b".repeat(40),
    FW_NODE_TOKEN: "c".repeat(40),
    FW_RATE_KEY_BURST: "1000000000",
    FW_RATE_IP_BURST: "1000000000",
    FW_LOG_LEVEL: "info",
    FW_TENANT_QUEUE_DEPTH: "0",
  };
}
