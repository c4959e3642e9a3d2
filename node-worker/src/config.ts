import { availableParallelism, hostname } from "node:os";
import { bucketListSetting, logSettings, natsSettings, parseSettings } from "@framewire/shared";
import { z } from "zod";

/** Processing node settings, validated once at start-up; messages name the variable and the bad value. */
const schema = z.object({
  ...natsSettings,
  ...logSettings,
  FW_EDGE_URL: z.url().describe("base URL of the edge, for state reports"),
  FW_NODE_TOKEN: z.string().min(32, "must be at least 32 characters"),
  FW_STORAGE: z.enum(["local", "s3"]).default("local"),
  FW_STORAGE_DIR: z.string().min(1).default(".data/storage"),
  FW_S3_ENDPOINT: z.url().optional(),
  FW_S3_REGION: z.string().min(1).default("us-east-1"),
  FW_S3_BUCKET: z.string().min(3).optional(),
  FW_S3_FORCE_PATH_STYLE: z.stringbool().default(false),
  FW_S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  FW_S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  /** See storage/s3-storage.ts: WHEN_REQUIRED suits most S3-compatible stores. */
  FW_S3_CHECKSUMS: z.enum(["WHEN_SUPPORTED", "WHEN_REQUIRED"]).default("WHEN_REQUIRED"),
  /** Buckets `s3` job inputs may name (the edge checks too), comma-separated; read with FW_S3_*. */
  FW_S3_INPUT_BUCKETS: bucketListSetting,
  FW_WORK_DIR: z.string().min(1),
  FW_ENGINE: z.enum(["auto", "native", "wasm"]).default("auto"),
  FW_NODE_ID: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .optional(),
  FW_POOLS: z
    .string()
    .default("cpu")
    .transform((s) => s.split(",").map((p) => p.trim()))
    .pipe(z.array(z.enum(["cpu", "gpu"])).min(1)),
  /** Default: one slot per two cores, since one FFmpeg encode already uses several threads. */
  FW_SLOTS: z.coerce
    .number()
    .int()
    .min(1)
    .max(64)
    .default(Math.max(1, Math.floor(availableParallelism() / 2))),
  /** Pin slot processes to these CPUs (taskset list, e.g. "0" or "2-3"); unset: all CPUs. */
  FW_CPU_AFFINITY: z
    .string()
    .regex(/^\d+(-\d+)?(,\d+(-\d+)?)*$/, "must be a CPU list like 0 or 0-3 or 0,2")
    .optional(),
  FW_FLEET_MAX_ACK_PENDING: z.coerce.number().int().min(1).default(256),
  FW_HEARTBEAT_MS: z.coerce.number().int().min(500).max(5_000).default(5_000),
  /** The no-progress watchdog: a run silent for this long is killed. */
  FW_STALL_TIMEOUT_MS: z.coerce.number().int().min(500).default(120_000),
  /** Hard limit on one run. */
  FW_JOB_TIME_LIMIT_MS: z.coerce
    .number()
    .int()
    .min(1_000)
    .default(6 * 3600_000),
  /** Fleet-wide JetStream settings (every node must agree; the consumers are shared). */
  FW_ACK_WAIT_MS: z.coerce.number().int().min(1_000).default(30_000),
  FW_MAX_DELIVER: z.coerce.number().int().min(1).max(100).default(5),
  /** Test-only fault injection (see slots/protocol.ts). Never set in production. */
  FW_TEST_FAULTS: z.enum(["0", "1"]).default("0"),
  FW_DRAIN_TIMEOUT_MS: z.coerce.number().int().min(0).default(30_000),
  FW_POLL_MS: z.coerce.number().int().min(50).default(2_000),
  FW_MAX_INPUT_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(4 * 1024 ** 3),
  FW_INPUT_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .default(10 * 60_000),
  FW_ALLOW_HTTP_INPUTS: z.stringbool().default(false),
});

export type NodeConfig = z.output<typeof schema> & { nodeId: string; host: string };

const s3Required = schema.superRefine((c, ctx) => {
  if (c.FW_STORAGE === "s3" && !c.FW_S3_BUCKET) {
    ctx.addIssue({ code: "custom", path: ["FW_S3_BUCKET"], message: "is required when FW_STORAGE=s3" });
  }
  // The storage bucket holds every tenant's files: as an `s3` input source, any tenant could read
  // any other tenant's uploads and outputs by key.
  if (c.FW_S3_BUCKET && c.FW_S3_INPUT_BUCKETS.includes(c.FW_S3_BUCKET)) {
    ctx.addIssue({
      code: "custom",
      path: ["FW_S3_INPUT_BUCKETS"],
      message: `must not list the storage bucket ${c.FW_S3_BUCKET} (every tenant's files are there)`,
    });
  }
});

export function parseNodeConfig(env: NodeJS.ProcessEnv): NodeConfig {
  const parsed = parseSettings(s3Required, env, "node");
  const host = hostname();
  const nodeId = parsed.FW_NODE_ID ?? `${host.replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 40)}-${process.pid}`;
  return { ...parsed, nodeId, host };
}
