import { z } from "zod";

/**
 * Edge settings, validated once at start-up (Node) or per isolate (Workers, from bindings). Messages
 * name the variable and the bad value.
 */
export const edgeConfigSchema = z.object({
  FW_PUBLIC_URL: z.url().describe("base URL clients use to reach this API, for links"),
  FW_PROGRESS_URL: z.url({ protocol: /^wss?$/ }).describe("base ws(s):// URL of the progress gateway"),
  FW_TOKEN_SECRET: z.string().min(32, "must be at least 32 characters"),
  FW_NODE_TOKEN: z.string().min(32, "must be at least 32 characters"),
  FW_DOWNLOAD_TTL_SEC: z.coerce
    .number()
    .int()
    .min(60)
    .max(7 * 86400)
    .default(86400),
  FW_PROGRESS_TTL_SEC: z.coerce
    .number()
    .int()
    .min(60)
    .max(7 * 86400)
    .default(86400),
  FW_MAX_UPLOAD_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(2 * 1024 ** 3),
  FW_MAX_JSON_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(64 * 1024),
});

export type EdgeConfigInput = z.input<typeof edgeConfigSchema>;

export interface EdgeConfig {
  publicUrl: string;
  progressUrl: string;
  tokenSecret: string;
  nodeToken: string;
  downloadTtlSec: number;
  progressTtlSec: number;
  maxUploadBytes: number;
  maxJsonBytes: number;
}

export function parseEdgeConfig(env: Record<string, unknown>): EdgeConfig {
  const parsed = edgeConfigSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      return `${name}=${JSON.stringify(env[name] ?? null)}: ${issue.message}`;
    });
    throw new Error(`invalid edge configuration:\n  ${lines.join("\n  ")}`);
  }
  const c = parsed.data;
  return {
    publicUrl: c.FW_PUBLIC_URL.replace(/\/+$/, ""),
    progressUrl: c.FW_PROGRESS_URL.replace(/\/+$/, ""),
    tokenSecret: c.FW_TOKEN_SECRET,
    nodeToken: c.FW_NODE_TOKEN,
    downloadTtlSec: c.FW_DOWNLOAD_TTL_SEC,
    progressTtlSec: c.FW_PROGRESS_TTL_SEC,
    maxUploadBytes: c.FW_MAX_UPLOAD_BYTES,
    maxJsonBytes: c.FW_MAX_JSON_BYTES,
  };
}
