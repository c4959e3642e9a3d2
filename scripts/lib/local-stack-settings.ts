import { dataDirSettings, logSettings, parseSettings } from "@framewire/shared";
import { z } from "zod";
import { edgeNodeSettings } from "../../edge/src/nodejs/settings";
import { gatewayConfigSchema } from "../../node-worker/gateway/src/config";
import { nodeSettings } from "../../node-worker/src/config";

/**
 * What `npm start` (scripts/local-stack.ts) reads. The ports, the engine and the log level are the
 * processes' own settings, taken from their schemas so they mean the same here; the launcher passes
 * them on to the processes it starts.
 */
export const localStackSettingsSchema = z.object({
  ...dataDirSettings,
  ...logSettings,
  FW_API_PORT: edgeNodeSettings.FW_API_PORT,
  FW_GATEWAY_PORT: gatewayConfigSchema.shape.FW_GATEWAY_PORT,
  FW_NATS_PORT: z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(4222)
    .describe("local stack: port of the nats-server it starts (0: any free one)"),
  FW_ENGINE: nodeSettings.FW_ENGINE,
});

export type LocalStackSettings = z.output<typeof localStackSettingsSchema>;

export function parseLocalStackSettings(env: Record<string, unknown>): LocalStackSettings {
  return parseSettings(localStackSettingsSchema, env, "local stack");
}
