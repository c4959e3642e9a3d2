import {
  logSettings,
  metricsTokenSettings,
  natsSettings,
  parseSettings,
  tokenSecretSettings,
} from "@framewire/shared";
import { z } from "zod";

/** The progress gateway's settings, validated once at start; messages name the variable and the bad value. */
export const gatewayConfigSchema = z.object({
  ...natsSettings,
  ...logSettings,
  ...tokenSecretSettings,
  ...metricsTokenSettings,
  FW_GATEWAY_HOST: z
    .string()
    .default("127.0.0.1")
    .describe("address the gateway listens on (0.0.0.0: every interface)"),
  FW_GATEWAY_PORT: z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(8081)
    .describe("port the gateway listens on (0: any free one)"),
  FW_GATEWAY_MAX_CONNECTIONS_PER_IP: z.coerce
    .number()
    .int()
    .min(1)
    .default(100)
    .describe("progress sockets one client address may hold (more are closed with 4429)"),
});

export type GatewayConfig = z.output<typeof gatewayConfigSchema>;

export function parseGatewayConfig(env: Record<string, unknown>): GatewayConfig {
  return parseSettings(gatewayConfigSchema, env, "gateway");
}
