import type { Pool, Priority } from "../job-spec";

/** NATS names are part of the wire contract between the edge, processing nodes and the gateway. */
export const streams = {
  jobs: "FW_JOBS",
  deadLetters: "FW_DLQ",
} as const;

export const kvBuckets = {
  nodes: "fw_nodes",
  progress: "fw_progress",
} as const;

/**
 * Keys of KV fw_progress. A job's last state message lives under its id; each output's last
 * progress tick under `<jobId>.<output>` (output names are KV-safe: see outputNameSchema), so a
 * late listener can be shown every output, not only the one that ticked last.
 */
export const progressKeys = {
  state: (jobId: string) => jobId,
  output: (jobId: string, output: string) => `${jobId}.${output}`,
  /** Matches every output key of one job. */
  outputsOf: (jobId: string) => `${jobId}.*`,
} as const;

export const subjects = {
  jobsAll: "fw.jobs.>",
  job: (pool: Pool, priority: Priority) => `fw.jobs.${pool}.${priority}`,
  progress: (jobId: string) => `fw.progress.${jobId}`,
  progressAll: "fw.progress.>",
  cancel: (jobId: string) => `fw.cancel.${jobId}`,
  deadLetter: (jobId: string) => `fw.dlq.${jobId}`,
  deadLettersAll: "fw.dlq.>",
  /** An API key revoked or rotated (payload: its id): every Node edge process drops it from its cache. */
  keyRevoked: "fw.edge.keys.revoked",
} as const;

/** Durable consumer per pool and priority; a 2.9 work-queue stream refuses overlapping consumers. */
export function consumerName(pool: Pool, priority: Priority): string {
  return `fw_${pool}_${priority}`;
}

/** `FW_NATS_URL` may list several servers of one cluster, comma-separated. */
export function natsServers(url: string): string[] {
  return url
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Message headers the edge sets on dispatch. */
export const headers = {
  requestId: "Fw-Request-Id",
  tenant: "Fw-Tenant",
} as const;
