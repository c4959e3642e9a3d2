import {
  checkStorageSettings,
  logSettings,
  metricsTokenSettings,
  natsSettings,
  parseSettings,
  storageDirSettings,
} from "@framewire/shared";
import { z } from "zod";
import { type EdgeConfig, edgeDatabaseSettings, edgeSettings, toEdgeConfig } from "../config";
import { type StorageSettings, toS3Connection, toStorageSettings } from "../storage/storage-config";
import type { S3Connection } from "../watches/lister";

const sweepMs = (fallback: number, min: number) => z.coerce.number().int().min(min).default(fallback);

/** The edge on Node: the app's settings plus what only a long-lived Node process has. */
export const edgeNodeSettings = {
  ...edgeSettings,
  ...edgeDatabaseSettings,
  ...natsSettings,
  ...logSettings,
  ...storageDirSettings,
  ...metricsTokenSettings,
  FW_API_HOST: z
    .string()
    .default("127.0.0.1")
    .describe("address the edge listens on (0.0.0.0: every interface)"),
  FW_API_PORT: z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(8080)
    .describe("port the edge listens on (0: any free one)"),
  FW_EDGE_PROCESSES: z.coerce
    .number()
    .int()
    .min(1)
    .max(256)
    .default(1)
    .describe(
      "edge processes sharing FW_API_PORT (node:cluster), e.g. one per core; rate limits and metrics stay " +
        "whole across them (held by the primary process), sweepers run in one",
    ),
  FW_OUTBOX_SWEEP_MS: sweepMs(5_000, 100).describe(
    "how often, in ms, jobs accepted while NATS was unreachable are published again (Workers: the Cron trigger)",
  ),
  FW_WEBHOOK_SWEEP_MS: sweepMs(5_000, 50).describe(
    "how often, in ms, webhook deliveries that are due are retried (Workers: the Cron trigger)",
  ),
  FW_RETENTION_SWEEP_MS: sweepMs(60_000, 100).describe(
    "how often, in ms, the retention sweeper deletes expired uploads and outputs (Workers: the Cron trigger)",
  ),
  FW_SCHEDULER_SWEEP_MS: sweepMs(2_000, 50).describe(
    "how often, in ms, the edge looks for batches whose jobs are still to be made, held jobs a lost trigger left " +
      "waiting, batches that have ended and watches that are due (Workers: the Cron trigger)",
  ),
  FW_USAGE_FLUSH_MS: sweepMs(5_000, 100).describe(
    "how often, in ms, API key usage (last use, request count) is written to the database (and at shutdown)",
  ),
};

export const edgeNodeSettingsSchema = z
  .object(edgeNodeSettings)
  .superRefine(checkStorageSettings())
  .superRefine((s, ctx) => {
    // Each process would pick its own free port: the processes must share a known one.
    if (s.FW_EDGE_PROCESSES > 1 && s.FW_API_PORT === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["FW_API_PORT"],
        message: "must be a fixed port when FW_EDGE_PROCESSES > 1",
      });
    }
  });

export type EdgeNodeSettings = z.output<typeof edgeNodeSettingsSchema>;

/** Every setting of the edge on Node, validated at once: one message lists every bad variable. */
export function parseEdgeNodeSettings(env: Record<string, unknown>): {
  settings: EdgeNodeSettings;
  config: EdgeConfig;
  storage: StorageSettings;
  /** The FW_S3_* connection (watched buckets are listed with it, whatever FW_STORAGE is). */
  s3: S3Connection;
} {
  const settings = parseSettings(edgeNodeSettingsSchema, env, "edge");
  return {
    settings,
    config: toEdgeConfig(settings),
    storage: toStorageSettings(settings),
    s3: toS3Connection(settings),
  };
}
