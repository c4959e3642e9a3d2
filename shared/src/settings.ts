import { z } from "zod";
import { bucketName } from "./job-spec";

/**
 * Pieces of the processes' settings (environment variables on Node, bindings on Workers). Each
 * process validates its settings once at start with one zod schema built from these pieces and its
 * own; every setting carries a description (`.describe`), from which the README's configuration
 * table is generated (`npm run docs:config`).
 */

/** What every process that talks to NATS reads. */
export const natsSettings = {
  FW_NATS_URL: z
    .string()
    .min(1)
    .default("nats://127.0.0.1:4222")
    .describe("NATS server(s), comma-separated for a cluster"),
  FW_NATS_REPLICAS: z.coerce
    .number()
    .pipe(z.union([z.literal(1), z.literal(3), z.literal(5)]))
    .default(1)
    .describe("JetStream stream and KV replicas: 1 for one server, 3 or 5 for a cluster"),
};

export const logSettings = {
  FW_LOG_LEVEL: z
    .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
    .default("info")
    .describe("pino log level (JSON lines)"),
};

/** An operator's comma-separated bucket list (FW_S3_INPUT_BUCKETS), read the same by edge and node. */
export const bucketListSetting = z
  .string()
  .default("")
  .transform((s) =>
    s
      .split(",")
      .map((b) => b.trim())
      .filter(Boolean),
  )
  .pipe(z.array(bucketName));

/** One line per bad setting, naming it and the value it had. */
export function describeSettingIssues(error: z.ZodError, env: Record<string, unknown>): string[] {
  return error.issues.map((issue) => {
    const name = String(issue.path[0]);
    return `${name}=${JSON.stringify(env[name] ?? null)}: ${issue.message}`;
  });
}

/**
 * Parses settings with their schema, or throws one error listing every bad variable with its value,
 * so an operator fixes them all in one go.
 */
export function parseSettings<S extends z.ZodType>(
  schema: S,
  env: Record<string, unknown>,
  what: string,
): z.output<S> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  throw new Error(
    `invalid ${what} configuration:\n  ${describeSettingIssues(parsed.error, env).join("\n  ")}`,
  );
}
