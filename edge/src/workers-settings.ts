import { checkStorageSettings, parseSettings } from "@framewire/shared";
import { z } from "zod";
import { type EdgeConfig, edgeDatabaseSettings, edgeSettings, toEdgeConfig } from "./config";
import type { DurableObjectNamespaceLike } from "./rate-limit/durable-object";
import { type StorageSettings, toS3Connection, toStorageSettings } from "./storage/storage-config";
import type { S3Connection } from "./watches/lister";

/**
 * The edge on Workers: its config is the bindings named in wrangler.toml (vars, secrets, the rate
 * limiter Durable Object) — the app's settings plus what only a Worker has. Validated once per isolate.
 */
export const edgeWorkersSettings = {
  ...edgeSettings,
  ...edgeDatabaseSettings,
  FW_NATS_WS_URL: z
    .url({ protocol: /^wss?$/ })
    .describe(
      "Workers: nats-server's websocket listener (ws(s)://…, `websocket { port: 8443 }`); a Worker cannot open " +
        "raw TCP to NATS",
    ),
  FW_NATS: z
    .custom<DurableObjectNamespaceLike>(
      (v) => typeof (v as Partial<DurableObjectNamespaceLike> | null)?.idFromName === "function",
      "must be a Durable Object namespace binding",
    )
    .optional()
    .describe(
      "Workers: the Durable Object binding (class NatsObject, wrangler.toml) that holds one NATS connection for " +
        "every request; unbound: each request that needs NATS connects on its own",
    ),
  FW_RATE_LIMITER: z
    .custom<DurableObjectNamespaceLike>(
      (v) => typeof (v as Partial<DurableObjectNamespaceLike> | null)?.idFromName === "function",
      "must be a Durable Object namespace binding",
    )
    .optional()
    .describe(
      "Workers: the Durable Object binding (class RateLimiterObject, wrangler.toml) that holds the rate-limit " +
        "buckets; unbound: limits per isolate, approximate",
    ),
};

export const edgeWorkersSettingsSchema = z
  .object(edgeWorkersSettings)
  .superRefine(checkStorageSettings({ requireCredentials: true }))
  .superRefine((c, ctx) => {
    // @libsql/client/web speaks HTTP only; a file database needs the Node runtime.
    if (c.FW_DB_URL.startsWith("file:")) {
      ctx.addIssue({
        code: "custom",
        path: ["FW_DB_URL"],
        message: "a file: database needs Node; on Workers use libSQL over HTTP (https: or libsql:)",
      });
    }
  });

export type EdgeWorkersSettings = z.output<typeof edgeWorkersSettingsSchema>;

export function parseEdgeWorkersSettings(env: Record<string, unknown>): {
  settings: EdgeWorkersSettings;
  config: EdgeConfig;
  storage: StorageSettings;
  s3: S3Connection;
} {
  const settings = parseSettings(edgeWorkersSettingsSchema, env, "edge");
  return {
    settings,
    config: toEdgeConfig(settings),
    storage: toStorageSettings(settings),
    s3: toS3Connection(settings),
  };
}
