import { dataDirSettings, parseSettings } from "@framewire/shared";
import { z } from "zod";

/** What the `framewire` CLI reads from its environment (flags --api/--key come first). */
export const cliSettingsSchema = z.object({
  ...dataDirSettings,
  FRAMEWIRE_API_URL: z
    .string()
    .min(1)
    .optional()
    .describe(
      "CLI: the API's base URL when --api is not given; unset: the local stack's (FW_DATA_DIR/local.json)",
    ),
  FRAMEWIRE_API_KEY: z
    .string()
    .min(1)
    .optional()
    .describe("CLI: the API key when --key is not given; unset: the local stack's (FW_DATA_DIR/local.json)"),
});

export type CliSettings = z.output<typeof cliSettingsSchema>;

export function parseCliSettings(env: Record<string, unknown>): CliSettings {
  return parseSettings(cliSettingsSchema, env, "framewire CLI");
}
