import { mkdir } from "node:fs/promises";
import { connect } from "@nats-io/transport-node";
import pino from "pino";
import { parseNodeConfig } from "./config";
import { loadEngine } from "./engine-loader";
import { startProcessingNode } from "./processing-node";
import { createLocalStorage } from "./storage/local-storage";

/** Entry: one processing node. Configuration comes from the environment (see README). */
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
const { engine, fallbackReason } = await loadEngine(config.FW_ENGINE, logger);
logger.info({ engine: engine.name, fallback_reason: fallbackReason }, "engine:loaded");
const nc = await connect({
  servers: config.FW_NATS_URL,
  name: `framewire-node-${config.nodeId}`,
  maxReconnectAttempts: -1,
});
const node = await startProcessingNode({
  nc,
  engine,
  storage: createLocalStorage(config.FW_STORAGE_DIR),
  config,
  logger,
});

let stopping = false;
const stop = (reason: string) => {
  if (stopping) return;
  stopping = true;
  logger.info({ reason }, "node:stopping");
  // Running jobs get FW_DRAIN_TIMEOUT_MS to finish; what doesn't is redelivered after ack_wait.
  setTimeout(() => {
    logger.warn("node:drain:timeout");
    process.exit(0);
  }, config.FW_DRAIN_TIMEOUT_MS).unref();
  node
    .stop()
    .then(() => engine.close())
    .then(() => nc.drain())
    .finally(() => process.exit(0));
};
process.once("SIGINT", () => stop("SIGINT"));
process.once("SIGTERM", () => stop("SIGTERM"));
// Started by the local stack with an IPC channel: stop when the launcher goes away.
process.once("disconnect", () => stop("launcher gone"));
