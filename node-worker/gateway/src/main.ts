import { ensureKv, natsServers } from "@framewire/shared/nats";
import { connect } from "@nats-io/transport-node";
import pino from "pino";
import { parseGatewayConfig } from "./config";
import { startGateway } from "./gateway";

let config: ReturnType<typeof parseGatewayConfig>;
try {
  config = parseGatewayConfig(process.env);
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
const logger = pino({ level: config.FW_LOG_LEVEL, base: { service: "gateway" } });
const nc = await connect({
  servers: natsServers(config.FW_NATS_URL),
  name: "framewire-gateway",
  maxReconnectAttempts: -1,
});
const { progress: progressKv } = await ensureKv(nc, { replicas: config.FW_NATS_REPLICAS });
const gateway = await startGateway({
  nc,
  progressKv,
  tokenSecret: config.FW_TOKEN_SECRET,
  host: config.FW_GATEWAY_HOST,
  port: config.FW_GATEWAY_PORT,
  maxConnectionsPerIp: config.FW_GATEWAY_MAX_CONNECTIONS_PER_IP,
  metricsToken: config.FW_METRICS_TOKEN,
  logger,
});

// Launched by the local stack: tell it which port we got (FW_GATEWAY_PORT=0 picks a free one).
process.send?.({ type: "listening", port: gateway.port });

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  gateway.close();
  nc.drain().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 5_000).unref();
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
// Started by the local stack with an IPC channel: stop when the launcher goes away.
process.once("disconnect", stop);
