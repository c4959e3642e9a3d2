import cluster from "node:cluster";
import { serveClusterRequests } from "./cluster-ipc";
import { openDatabase } from "./database";
import { type EdgeServer, startEdgeServer } from "./server";
import { parseEdgeNodeSettings } from "./settings";

/**
 * Entry: the edge as a Node process, or as FW_EDGE_PROCESSES processes sharing one port
 * (node:cluster): the primary migrates the database once, forks the workers, holds the shared rate
 * limits and aggregates metrics, and replaces a worker that dies. Configuration comes from the
 * environment (see README).
 */

// The database (webhook signing secrets) and every tenant's stored media: owner-only, whatever the
// umask the process was started with.
process.umask(0o077);

/** Which process of the cluster this is (0 runs the sweepers); set by the primary for its workers. */
const workerIndexVariable = "FRAMEWIRE_EDGE_PROCESS_INDEX";

const fail = (error: unknown): never => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
};

const processes = cluster.isPrimary
  ? (() => {
      try {
        return parseEdgeNodeSettings(process.env).settings.FW_EDGE_PROCESSES;
      } catch (error) {
        return fail(error);
      }
    })()
  : 1;

if (cluster.isPrimary && processes > 1) await runPrimary(processes);
else await runServer();

async function runServer(): Promise<void> {
  const index = cluster.isWorker ? Number(process.env[workerIndexVariable] ?? 0) : null;
  const edge: EdgeServer = await startEdgeServer(
    process.env,
    index === null ? {} : { cluster: { index } },
  ).catch(fail);
  // Tells the launcher (the local stack) that this process holds the port: a health check alone
  // could be answered by another process on the same port.
  if (!cluster.isWorker) process.send?.({ type: "listening", port: edge.port });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    edge.close().finally(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  // Started by the local stack (or the cluster's primary) with an IPC channel: stop when it goes away.
  process.once("disconnect", stop);
}

async function runPrimary(count: number): Promise<void> {
  // Migrations once, before any worker opens the database.
  const { settings } = parseEdgeNodeSettings(process.env);
  (await openDatabase(settings.FW_DB_URL, settings.FW_DB_AUTH_TOKEN).catch(fail)).close();
  serveClusterRequests();
  let stopping = false;
  const byIndex = new Map<number, ReturnType<typeof cluster.fork>>();
  const fork = (index: number) => {
    const worker = cluster.fork({ [workerIndexVariable]: String(index) });
    byIndex.set(index, worker);
    worker.once("exit", (code, signal) => {
      byIndex.delete(index);
      if (stopping) {
        if (byIndex.size === 0) process.exit(0);
        return;
      }
      console.error(`edge process ${index} exited (${signal ?? code}); starting it again`);
      setTimeout(() => fork(index), 500).unref();
    });
  };
  for (let i = 0; i < count; i++) fork(i);
  // The workers share one port: the first that listens tells the launcher, as a single process does.
  cluster.once("listening", (_worker, address) => process.send?.({ type: "listening", port: address.port }));
  const stop = () => {
    if (stopping) return;
    stopping = true;
    for (const worker of byIndex.values()) worker.process.kill("SIGTERM");
    if (byIndex.size === 0) process.exit(0);
    setTimeout(() => process.exit(0), 10_000).unref();
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  process.once("disconnect", stop);
}
