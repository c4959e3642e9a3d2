import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { natsListenPorts, waitFor, waitForTcpPort } from "../../scripts/lib/stack";

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
  await waitFor(
    "nats-server",
    async () => (await natsListenPorts(portsDir, child)) !== null,
    child,
    null,
    10_000,
  );
  const ports = await natsListenPorts(portsDir, child);
  await rm(portsDir, { recursive: true, force: true });
  if (!ports) throw new Error("nats-server's ports file went away");
  const { nats: port, websocket, monitoring } = ports;
  await waitForTcpPort("nats-server", port, child);
  const wsPort = options.websocket ? websocket : null;
  const monitorPort = options.monitor ? monitoring : null;
  if ((options.websocket && wsPort === null) || (options.monitor && monitorPort === null)) {
    throw new Error("nats-server did not report the websocket or monitoring port asked for");
  }
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
