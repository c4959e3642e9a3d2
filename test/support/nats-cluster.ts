import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { freePort } from "../../scripts/lib/stack";

/** A real three-server nats-server cluster with JetStream on loopback, for R3 fault tests. */
export interface NatsCluster {
  url: string;
  servers: { name: string; port: number; process: ChildProcess }[];
  kill(name: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startNatsCluster(dir: string): Promise<NatsCluster> {
  const members = await Promise.all(
    ["n1", "n2", "n3"].map(async (name) => ({ name, port: await freePort(), clusterPort: await freePort() })),
  );
  const servers: NatsCluster["servers"] = [];
  for (const member of members) {
    const routes = members
      .filter((m) => m !== member)
      .map((m) => `"nats-route://127.0.0.1:${m.clusterPort}"`);
    const config = join(dir, `${member.name}.conf`);
    await mkdir(join(dir, member.name), { recursive: true });
    await writeFile(
      config,
      [
        `server_name: ${member.name}`,
        `listen: 127.0.0.1:${member.port}`,
        `jetstream { store_dir: "${join(dir, member.name)}" }`,
        `cluster { name: fw_test, listen: 127.0.0.1:${member.clusterPort}, routes: [${routes.join(", ")}] }`,
      ].join("\n"),
    );
    servers.push({
      name: member.name,
      port: member.port,
      process: spawn("nats-server", ["-c", config], { stdio: "ignore" }),
    });
  }
  const url = servers.map((s) => `nats://127.0.0.1:${s.port}`).join(",");

  // Ready when JetStream answers through the cluster (a meta leader has been elected).
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const nc = await connect({ servers: url.split(","), timeout: 1_000 });
      try {
        await (await jetstreamManager(nc, { timeout: 1_000 })).getAccountInfo();
        break;
      } finally {
        await nc.close();
      }
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`the NATS cluster did not form: ${String(error)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  const stopOne = (child: ChildProcess, signal: NodeJS.Signals) =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill(signal);
    });

  return {
    url,
    servers,
    async kill(name) {
      const server = servers.find((s) => s.name === name);
      if (server) await stopOne(server.process, "SIGKILL");
    },
    async stop() {
      await Promise.all(servers.map((s) => stopOne(s.process, "SIGTERM")));
    },
  };
}
