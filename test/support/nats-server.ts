import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitForTcpPort } from "../../scripts/lib/stack";

/** A real nats-server with JetStream on a free loopback port and a temporary store. */
export interface NatsServer {
  url: string;
  port: number;
  /** ws://… when started with `websocket: true` (the listener the Workers runtime uses). */
  wsUrl: string | null;
  /** http://… of the monitoring endpoint (/varz, /connz) when started with `monitor: true`. */
  monitorUrl: string | null;
  storeDir: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function startNatsServer(
  options: { port?: number; storeDir?: string; websocket?: boolean; monitor?: boolean } = {},
): Promise<NatsServer> {
  const port = options.port ?? (await freePort());
  const storeDir = options.storeDir ?? (await mkdtemp(join(tmpdir(), "fw-nats-")));
  let args = ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", storeDir];
  let wsPort: number | null = null;
  const monitorPort = options.monitor ? await freePort() : null;
  if (options.websocket) {
    // The websocket listener needs a config file; store_dir goes there too (not also -sd).
    wsPort = await freePort();
    const config = join(storeDir, "..", `nats-${port}.conf`);
    await writeFile(
      config,
      `listen: "127.0.0.1:${port}"\njetstream { store_dir: ${JSON.stringify(storeDir)} }\nwebsocket { listen: "127.0.0.1:${wsPort}", no_tls: true }\n` +
        (monitorPort ? `http: "127.0.0.1:${monitorPort}"\n` : ""),
    );
    args = ["-c", config];
  } else if (monitorPort) {
    args.push("-m", String(monitorPort));
  }
  const child = spawn("nats-server", args, { stdio: "ignore" });
  await waitForTcpPort("nats-server", port, child);
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    wsUrl: wsPort === null ? null : `ws://127.0.0.1:${wsPort}`,
    monitorUrl: monitorPort === null ? null : `http://127.0.0.1:${monitorPort}`,
    storeDir,
    process: child,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
      if (!options.storeDir) await rm(storeDir, { recursive: true, force: true });
    },
  };
}
