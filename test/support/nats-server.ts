import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitForTcpPort } from "../../scripts/lib/stack";

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

/**
 * nats-server picks its own free ports (-1) unless `port` is given (a restart on the same one), and
 * says which in a ports file: a port picked here and bound later can meanwhile be taken by another
 * suite running at the same time, or as the ephemeral port of some outgoing connection.
 */
export async function startNatsServer(
  options: { port?: number; storeDir?: string; websocket?: boolean; monitor?: boolean } = {},
): Promise<NatsServer> {
  const storeDir = options.storeDir ?? (await mkdtemp(join(tmpdir(), "fw-nats-")));
  const portsDir = await mkdtemp(join(tmpdir(), "fw-nats-ports-"));
  const listen = options.port ?? -1;
  let args = ["-js", "-a", "127.0.0.1", "-p", String(listen), "-sd", storeDir];
  if (options.websocket) {
    // The websocket listener needs a config file; store_dir goes there too (not also -sd).
    const config = join(portsDir, "nats.conf");
    await writeFile(
      config,
      `listen: "127.0.0.1:${listen}"\njetstream { store_dir: ${JSON.stringify(storeDir)} }\nwebsocket { listen: "127.0.0.1:-1", no_tls: true }\n` +
        (options.monitor ? `http: "127.0.0.1:-1"\n` : ""),
    );
    args = ["-c", config];
  } else if (options.monitor) {
    args.push("-m", "-1");
  }
  args.push("--ports_file_dir", portsDir);
  const child = spawn("nats-server", args, { stdio: "ignore" });
  const ports = await readPortsFile(join(portsDir, `nats-server_${child.pid}.ports`), child);
  await rm(portsDir, { recursive: true, force: true });
  const port = portOf(ports.nats);
  await waitForTcpPort("nats-server", port, child);
  const wsPort = options.websocket ? portOf(ports.websocket) : null;
  const monitorPort = options.monitor ? portOf(ports.monitoring) : null;
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

interface PortsFile {
  nats?: string[];
  websocket?: string[];
  monitoring?: string[];
}

/** The ports file nats-server writes once its listeners are up. */
async function readPortsFile(path: string, child: ChildProcess, timeoutMs = 10_000): Promise<PortsFile> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nats-server exited with ${child.exitCode} during start-up`);
    const text = await readFile(path, "utf8").catch(() => null);
    if (text) return JSON.parse(text) as PortsFile;
    if (Date.now() > deadline) throw new Error(`nats-server wrote no ports file within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function portOf(urls: string[] | undefined): number {
  const port = Number(new URL(urls?.[0] ?? "http://invalid").port);
  if (!(port > 0)) throw new Error(`nats-server reported no port: ${JSON.stringify(urls)}`);
  return port;
}
