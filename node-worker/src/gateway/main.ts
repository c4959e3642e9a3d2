import { ensureKv, natsServers } from "@framewire/shared/nats";
import { connect } from "@nats-io/transport-node";
import pino from "pino";
import { z } from "zod";
import { commonSettings, describeIssues } from "../config";
import { startGateway } from "./gateway";

const schema = z.object({
  ...commonSettings,
  FW_TOKEN_SECRET: z.string().min(32, "must be at least 32 characters"),
  FW_GATEWAY_HOST: z.string().default("127.0.0.1"),
  FW_GATEWAY_PORT: z.coerce.number().int().min(0).max(65535).default(8081),
  FW_GATEWAY_MAX_CONNECTIONS_PER_IP: z.coerce.number().int().min(1).default(100),
});

const parsed = schema.safeParse(process.env);
if (!parsed.success) {
  for (const line of describeIssues(parsed.error, process.env)) console.error(line);
  process.exit(1);
}
const config = parsed.data;
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
