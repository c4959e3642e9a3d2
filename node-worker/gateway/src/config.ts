import { logSettings, natsSettings, parseSettings } from "@framewire/shared";
import { z } from "zod";

/** The progress gateway's settings, validated once at start; messages name the variable and the bad value. */
export const gatewayConfigSchema = z.object({
  ...natsSettings,
  ...logSettings,
  FW_TOKEN_SECRET: z
    .string()
    .min(32, "must be at least 32 characters")
    .describe("secret that signs progress tokens; the edge's FW_TOKEN_SECRET"),
  FW_GATEWAY_HOST: z.string().default("127.0.0.1").describe("address the gateway listens on"),
  FW_GATEWAY_PORT: z.coerce.number().int().min(0).max(65535).default(8081).describe("port (0: any free one)"),
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
