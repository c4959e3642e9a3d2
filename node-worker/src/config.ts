import { availableParallelism, hostname, totalmem } from "node:os";
import {
  checkStorageSettings,
  logSettings,
  metricsTokenSettings,
  natsSettings,
  nodeTokenSettings,
  parseSettings,
  s3Settings,
  settingDefaultInWords,
  storageDirSettings,
  storageKindSettings,
} from "@framewire/shared";
import { z } from "zod";

/** What a slot process reads too (it inherits the node's environment; see slots/slot-child.ts). */
export const slotSettings = {
  ...logSettings,
  FW_ENGINE: z
    .enum(["auto", "native", "wasm"])
    .default("auto")
    .describe(
      "engine: `auto` (native if the addon loads, else wasm, with the reason logged and in the heartbeat), " +
        "`native` (refuse to start without it) or `wasm`",
    ),
  FW_TEST_FAULTS: z
    .enum(["0", "1"])
    .default("0")
    .describe(
      "test only: `1` lets a job's `metadata.fw_test_fault` (`crash`, `stall`) misbehave in its slot, for the " +
        "fault tests; never set it in production",
    ),
};

/** Processing node settings, validated once at start-up; messages name the variable and the bad value. */
export const nodeSettings = {
  ...natsSettings,
  ...slotSettings,
  ...nodeTokenSettings,
  ...storageKindSettings,
  ...storageDirSettings,
  ...s3Settings,
  FW_EDGE_URL: z.url().describe("base URL of the edge, where the node reports job states"),
  FW_WORK_DIR: z
    .string()
    .min(1)
    .describe("folder for jobs' temporary files (one folder per job, removed on every exit path)"),
  FW_NODE_ID: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .optional()
    .describe(
      "this node's id in heartbeats, reports and logs (letters, digits, - and _); unset: host name-pid",
    ),
  FW_POOLS: z
    .string()
    .default("cpu")
    .transform((s) => s.split(",").map((p) => p.trim()))
    .pipe(z.array(z.enum(["cpu", "gpu"])).min(1))
    .describe(
      "pools this node serves, in order: `cpu`, or `gpu,cpu` on a GPU node (takes CPU work when idle)",
    ),
  // One slot per two cores, since one FFmpeg encode already uses several threads.
  FW_SLOTS: z.coerce
    .number()
    .int()
    .min(1)
    .max(64)
    .default(Math.max(1, Math.floor(availableParallelism() / 2)))
    .describe("jobs run at once, each in its own slot process")
    .register(settingDefaultInWords, { text: "half the cores, at least 1" }),
  FW_CPU_AFFINITY: z
    .string()
    .regex(/^\d+(-\d+)?(,\d+(-\d+)?)*$/, "must be a CPU list like 0 or 0-3 or 0,2")
    .optional()
    .describe("pin slot processes to these CPUs (taskset list, e.g. `0` or `2-3`); unset: all CPUs"),
  FW_FLEET_MAX_ACK_PENDING: z.coerce
    .number()
    .int()
    .min(1)
    .default(256)
    .describe(
      "fleet-wide: jobs handed out and not yet finished per consumer (JetStream max_ack_pending); above the " +
        "fleet's slot count, or delivery stalls",
    ),
  FW_HEARTBEAT_MS: z.coerce
    .number()
    .int()
    .min(500)
    .max(5_000)
    .default(5_000)
    .describe("how often, in ms, the node writes its heartbeat (KV `fw_nodes`, entries expire after 15 s)"),
  FW_STALL_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(500)
    .default(120_000)
    .describe(
      "no-progress watchdog, in ms: the engine stops a silent run (`engine_stalled`); the slot process is killed " +
        "if it has not stopped a second later",
    ),
  FW_JOB_TIME_LIMIT_MS: z.coerce
    .number()
    .int()
    .min(1_000)
    .default(6 * 3600_000)
    .describe("hard limit on one run, in ms (default 6 h)"),
  // Fleet-wide JetStream settings: every node must agree, the consumers are shared.
  FW_ACK_WAIT_MS: z.coerce
    .number()
    .int()
    .min(1_000)
    .default(30_000)
    .describe(
      "fleet-wide: JetStream redelivers a job whose node has been silent this long, in ms (running jobs are " +
        "kept alive every third of it)",
    ),
  FW_MAX_DELIVER: z.coerce
    .number()
    .int()
    .min(1)
    .max(100)
    .default(5)
    .describe("fleet-wide: deliveries of a job before it goes to the dead-letter stream `FW_DLQ` and fails"),
  FW_DRAIN_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(30_000)
    .describe("on SIGTERM, how long running jobs may finish, in ms, before they are handed back"),
  FW_POLL_MS: z.coerce
    .number()
    .int()
    .min(50)
    .default(2_000)
    .describe("idle poll interval, in ms, behind the NATS doorbell that wakes an idle node at once"),
  FW_MAX_INPUT_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(4 * 1024 ** 3)
    .describe("largest input a job may fetch (URL or `s3`), in bytes (default 4 GiB)"),
  FW_INPUT_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .default(10 * 60_000)
    .describe("time limit for fetching one input, in ms"),
  FW_ALLOW_HTTP_INPUTS: z
    .stringbool()
    .default(false)
    .describe("development only: allow http:// URL inputs (otherwise https only)"),
  ...metricsTokenSettings,
  FW_METRICS_PORT: z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .optional()
    .describe("port of the node's GET /metrics (Prometheus; 0: any free one); unset: no metrics listener"),
  FW_METRICS_HOST: z
    .string()
    .default("127.0.0.1")
    .describe("address the node's metrics listener binds (0.0.0.0: every interface)"),
  FW_SLOT_MEMORY_MB: z.coerce
    .number()
    .int()
    .min(0)
    .optional()
    .describe(
      "memory limit of one slot process, in MiB: a run whose slot's resident memory passes it is stopped and " +
        "the job fails with `resource_exhausted` (the node carries on); 0: no limit",
    )
    .register(settingDefaultInWords, { text: "the machine's memory × 0.8 ÷ FW_SLOTS" }),
  FW_JOB_TEMP_MB: z.coerce
    .number()
    .int()
    .min(0)
    .default(0)
    .describe(
      "temp space one job may use in FW_WORK_DIR (input, outputs before upload), in MiB: past it the job fails " +
        "with `resource_exhausted`; 0: no per-job limit (FW_MIN_FREE_DISK_MB still guards the disk)",
    ),
  FW_MIN_FREE_DISK_MB: z.coerce
    .number()
    .int()
    .min(0)
    .default(1024)
    .describe(
      "the node takes no new jobs while FW_WORK_DIR's file system has less free space than this, in MiB (its " +
        "heartbeat says why; running jobs go on); 0: no check",
    ),
};

export const nodeSettingsSchema = z.object(nodeSettings).superRefine(checkStorageSettings());

export type NodeConfig = z.output<typeof nodeSettingsSchema> & {
  nodeId: string;
  host: string;
  /** FW_SLOT_MEMORY_MB in bytes with its default applied; 0: no limit. */
  slotMemoryLimitBytes: number;
};

export function parseNodeConfig(env: Record<string, unknown>): NodeConfig {
  const parsed = parseSettings(nodeSettingsSchema, env, "node");
  const host = hostname();
  const nodeId = parsed.FW_NODE_ID ?? `${host.replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 40)}-${process.pid}`;
  // The slots together may not take the machine's memory: one slot's runaway run is stopped with a
  // typed failure before the kernel's OOM killer picks a victim (possibly the node itself).
  const slotMemoryMb =
    parsed.FW_SLOT_MEMORY_MB ?? Math.floor((totalmem() * 0.8) / parsed.FW_SLOTS / 1024 ** 2);
  return { ...parsed, nodeId, host, slotMemoryLimitBytes: slotMemoryMb * 1024 ** 2 };
}

/** A slot process's settings: the node's, inherited (the node sets FW_ENGINE to its own choice). */
export function parseSlotSettings(env: Record<string, unknown>) {
  return parseSettings(z.object(slotSettings), env, "slot");
}
