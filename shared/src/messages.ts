import type { JobError } from "./errors";
import type { JobSpec } from "./job-spec";
import type { JobStatus } from "./job-state";

/** Published on fw.jobs.<pool>.<priority> with Nats-Msg-Id = job id. */
export interface JobMessage {
  job_id: string;
  tenant_id: string;
  spec: JobSpec;
  /** Where the node fetches an uploaded input, as a storage key (never a user-controlled path). */
  input_key: string | null;
  /**
   * The job's attempt count before this message was published: 0 on first dispatch, higher after a
   * retry or a dead-letter requeue (each is a new message whose delivery count restarts at 1).
   * Nodes echo it unchanged in their reports as `attempt_base`; absent means 0. Additive field.
   */
  attempt_base?: number;
  /**
   * Set when the job's webhook wants `job.progress`: the node then sends `progress` reports, at most
   * one per this many seconds. Absent: no progress reports. Additive field.
   */
  progress_report_sec?: number;
}

/** Facts about one finished output, read back by probing the written file. */
export interface OutputResult {
  name: string;
  storage_key: string;
  size_bytes: number;
  container: string;
  duration_sec: number | null;
  video: { codec: string; width: number; height: number; fps: number | null } | null;
  audio: { codec: string; sample_rate: number; channels: number } | null;
  /** The output's type in the job spec (absent on results recorded before output types existed). */
  type?: string;
  /**
   * Multi-file outputs (hls, thumbnails): every file, stored under the output's folder.
   * `storage_key` is then the entry point (hls: master.m3u8; thumbnails: the first image).
   */
  files?: { storage_key: string; relative_path: string; size_bytes: number }[];
  /** The encoder that ran and, when hardware was wanted but not used, why. */
  encoder?: string;
  accel?: string;
  fallback_reason?: string | null;
  thumbnails?: { time_sec: number; relative_path: string }[];
  renditions?: {
    name: string;
    width: number;
    height: number;
    bandwidth: number;
    segments: number;
    playlist: string;
  }[];
  /** Loudness normalization: the input's and the written output's loudness, its true peak, whether the limiter acted. */
  loudness?: {
    target_lufs: number;
    input_lufs: number;
    gain_db: number;
    output_lufs: number;
    true_peak_dbtp: number;
    limited: boolean;
  };
  /** analysis outputs: the input's facts (also stored as JSON at storage_key). */
  probe?: unknown;
}

/**
 * What every report carries about the attempt it speaks for. `attempt` is the JetStream delivery
 * count of the message the node holds. `attempt_base` is echoed from the JobMessage; the edge adds
 * the two to get the job's attempt number and treats a report whose `attempt_base` differs from the
 * job's current one as stale (it comes from an earlier dispatch of the job). Nodes that don't send
 * it are assumed to speak for the current dispatch.
 */
interface ReportAttempt {
  attempt: number;
  attempt_base?: number;
  node_id: string;
}

/** A node's report of a job state change, sent to the edge (the only database writer). */
export type JobReport =
  | ({ type: "running"; engine: string } & ReportAttempt)
  | ({ type: "succeeded"; outputs: OutputResult[] } & ReportAttempt)
  | ({ type: "failed"; error: JobError; retryable: boolean } & ReportAttempt)
  | ({ type: "canceled" } & ReportAttempt)
  /** The node handed the delivery back (a retryable failure, or a drain): the job waits for its next attempt. */
  | ({ type: "requeued"; reason: string; error?: JobError } & ReportAttempt)
  /**
   * Coarse progress for `job.progress` webhooks (only when the JobMessage asks for it, at its rate).
   * Latest-state and best effort: never retried, never changes the job's state.
   */
  | ({ type: "progress"; percent: number | null } & ReportAttempt);

/** A report that changes (or tries to change) the job's state: every report but `progress`. */
export type StateReport = Exclude<JobReport, { type: "progress" }>;

/** What the edge answers to a report: `stale` tells the node its attempt no longer owns the job. */
export interface JobReportReply {
  status: JobStatus;
  stale: boolean;
}

/**
 * A progress tick about one output of a job: published on fw.progress.<jobId>, kept in KV
 * fw_progress under `<jobId>.<output>` (progressKeys), pushed to browsers. A job with several
 * outputs ticks each on its own, each measured against its own expected duration.
 */
export interface ProgressTick {
  type: "job:progress";
  job_id: string;
  /** The job's attempt number (the record's `attempts`), so a retried run's ticks rank above the last run's. */
  attempt: number;
  /** The output this tick is about. */
  output: string;
  /**
   * This output's encoded media time over its expected duration (a trimmed output: its trim
   * window), 0–100, never decreasing within an attempt, 100 once the job succeeded; null while
   * the duration is unknown.
   */
  percent: number | null;
  /** Video frames written for this output (an HLS ladder: its slowest rendition). */
  frames: number;
  fps: number;
  /** Media seconds of this output written per wall-clock second. */
  speed: number;
  /** Media time of this output written so far, on the output's own timeline. */
  out_time_sec: number;
  eta_sec: number | null;
  at: string;
}

/** A job's state, sent when it changes and as the last message before a progress socket closes. */
export interface StateMessage {
  type: "job:state";
  job_id: string;
  status: JobStatus;
  error?: JobError;
  at: string;
}

export type ProgressMessage = ProgressTick | StateMessage;

/** A processing node's heartbeat, kept in KV fw_nodes under the node id. */
export interface NodeHeartbeat {
  id: string;
  host: string;
  pools: string[];
  engine: string;
  encoders: string[];
  /** Hardware devices that opened (cuda, qsv, vaapi). */
  hardware: string[];
  /** Hardware encoders that opened on their device, as "device:encoder" (e.g. "cuda:h264_nvenc"). Additive field. */
  hardware_encoders?: string[];
  /** Why each hardware device (or encoder) that was tried did not open, e.g. { cuda: "no CUDA device" }. Additive field. */
  hardware_errors?: Record<string, string>;
  slots: { total: number; busy: number };
  jobs: string[];
  version: string;
  started_at: string;
  at: string;
}

/**
 * A job that exhausted its deliveries, as stored in stream FW_DLQ on fw.dlq.<jobId>. The node that
 * sees the last delivery fail (or the MAX_DELIVERIES advisory, when a node died on it) writes it;
 * the admin API lists, requeues or drops it.
 */
export interface DeadLetterMessage {
  job_id: string;
  tenant_id: string;
  /** The subject the job was queued on, so a requeue goes back to the same pool and priority. */
  subject: string;
  attempts: number;
  last_error: JobError | null;
  dead_at: string;
  job: JobMessage;
}
