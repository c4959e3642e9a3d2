import { mkdir } from "node:fs/promises";
import { natsServers } from "@framewire/shared/nats";
import { connect } from "@nats-io/transport-node";
import pino from "pino";
import { parseNodeConfig } from "./config";
import { startProcessingNode } from "./processing-node";
import { createIsolatedEngine } from "./slots/isolated-engine";
import { createStorage } from "./storage/create-storage";

/** Entry: one processing node. Configuration comes from the environment (see README). */

// Tenants' inputs and outputs pass through the work folder and the local store: owner-only.
process.umask(0o077);
const config = (() => {
  try {
    return parseNodeConfig(process.env);
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
})();
const logger = pino({ level: config.FW_LOG_LEVEL, base: { service: "node", node: config.nodeId } });

await mkdir(config.FW_WORK_DIR, { recursive: true });
const engine = await createIsolatedEngine({
  slots: config.FW_SLOTS,
  engine: config.FW_ENGINE,
  stallTimeoutMs: config.FW_STALL_TIMEOUT_MS,
  timeLimitMs: config.FW_JOB_TIME_LIMIT_MS,
  memoryLimitBytes: config.slotMemoryLimitBytes,
  ...(config.FW_CPU_AFFINITY ? { cpuAffinity: config.FW_CPU_AFFINITY } : {}),
});
logger.info(
  { engine: engine.name, fallback_reason: engine.fallbackReason, slots: engine.pids },
  "engine:loaded",
);
const nc = await connect({
  servers: natsServers(config.FW_NATS_URL),
  name: `framewire-node-${config.nodeId}`,
  maxReconnectAttempts: -1,
});
const node = await startProcessingNode({
  nc,
  engine,
  storage: createStorage(config),
  config,
  logger,
});
if (node.metricsPort !== null) logger.info({ port: node.metricsPort }, "node:metrics:listening");
// Started by the local stack or a test with an IPC channel: tell it where the metrics are.
process.send?.({ type: "listening", port: node.metricsPort });

let stopping = false;
const stop = (reason: string) => {
  if (stopping) return;
  stopping = true;
  logger.info({ reason }, "node:stopping");
  // Running jobs get FW_DRAIN_TIMEOUT_MS to finish; the rest are handed back. The hard exit is a
  // backstop in case something in the shutdown itself hangs.
  setTimeout(() => {
    logger.warn("node:drain:backstop");
    process.exit(0);
  }, config.FW_DRAIN_TIMEOUT_MS + 10_000).unref();
  node
    .stop(config.FW_DRAIN_TIMEOUT_MS)
    .then(() => engine.close())
    .then(() => nc.drain())
    .finally(() => process.exit(0));
};
process.once("SIGINT", () => stop("SIGINT"));
process.once("SIGTERM", () => stop("SIGTERM"));
// Started by the local stack with an IPC channel: stop when the launcher goes away.
process.once("disconnect", () => stop("launcher gone"));
