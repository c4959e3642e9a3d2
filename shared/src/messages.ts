import { z } from "zod";
import { jobErrorSchema } from "./errors";
import { jobSpecSchema, pools } from "./job-spec";
import { jobStatuses } from "./job-state";
import {
  analysisFactsSchema,
  animationFactsSchema,
  audioFactsSchema,
  highlightSegmentSchema,
  loudnessFactsSchema,
  probeFactsSchema,
  renditionFactsSchema,
  subtitleFactsSchema,
  subtitleRenditionFactsSchema,
  subtitleTrackFactsSchema,
  thumbnailFactsSchema,
  videoFactsSchema,
  waveformFactsSchema,
} from "./media";

/**
 * The messages between the parts: JetStream job messages, node→edge reports, progress ticks, node
 * heartbeats and dead letters. Each is one zod schema; its type is inferred from it. Senders build
 * the type, receivers parse with the schema (never cast), so a field can't be dropped on the way.
 *
 * Objects are `z.object` (unknown keys stripped, not refused): during a rolling upgrade a newer
 * sender may add a field an older receiver doesn't know yet, and that must not fail the job.
 */

export const jobStatusSchema = z.enum(jobStatuses);

const jobId = z.string().regex(/^job_[0-9a-z]{26}$/);

/** Published on fw.jobs.<pool>.<priority> with Nats-Msg-Id = job id. */
export const jobMessageSchema = z.object({
  job_id: jobId,
  tenant_id: z.string().min(1).max(64),
  spec: jobSpecSchema,
  /** Where the node fetches an uploaded input, as a storage key (never a user-controlled path). */
  input_key: z.string().max(1024).nullable(),
  /**
   * The job's attempt count before this message was published: 0 on first dispatch, higher after a
   * retry or a dead-letter requeue (each is a new message whose delivery count restarts at 1).
   * Nodes echo it unchanged in their reports as `attempt_base`; absent means 0.
   */
  attempt_base: z.int().min(0).optional(),
  /**
   * Set when the job's webhook wants `job.progress`: the node then sends `progress` reports, at most
   * one per this many seconds. Absent: no progress reports.
   */
  progress_report_sec: z.int().min(1).optional(),
});
export type JobMessage = z.infer<typeof jobMessageSchema>;

export const outputFileSchema = z.object({
  storage_key: z.string().max(1024),
  /** The file's path inside the output's folder ("720p/seg_00001.ts"). */
  relative_path: z.string().max(512),
  size_bytes: z.int().nonnegative(),
});

/** Facts about one finished output, read back by probing the written file. */
export const outputResultSchema = z.object({
  name: z.string().max(64),
  /** The output's type in the job spec. */
  type: z.string().max(32).optional(),
  /** The entry file: the file itself; hls: the master playlist; dash: the manifest; thumbnails: the first image. */
  storage_key: z.string().max(1024),
  size_bytes: z.int().nonnegative(),
  container: z.string().max(32),
  duration_sec: z.number().nullable(),
  video: videoFactsSchema.nullable(),
  audio: audioFactsSchema.nullable(),
  /** Multi-file outputs (hls, dash, thumbnails): every file, stored under the output's folder. */
  files: z.array(outputFileSchema).max(20_000).optional(),
  /**
   * dash outputs whose ladder an hls output of the same job encoded: that output's name. The
   * segments are stored once, in its folder (among its files); this output's files are its
   * manifest, whose media URLs point there.
   */
  segments_from: z.string().max(64).optional(),
  /** The encoder that ran and, when hardware was wanted but not used, why. */
  encoder: z.string().max(64).optional(),
  accel: z.string().max(16).optional(),
  fallback_reason: z.string().max(2000).nullable().optional(),
  thumbnails: z.array(thumbnailFactsSchema).max(1000).optional(),
  renditions: z.array(renditionFactsSchema).max(16).optional(),
  loudness: loudnessFactsSchema.optional(),
  /** analysis outputs of kind probe: the input's facts (also stored as JSON at storage_key). */
  probe: probeFactsSchema.optional(),
  /**
   * analysis outputs of every other kind (loudness, silence, scenes, black, freeze, tempo, key,
   * fingerprint, highlights): the measurement, by `kind` (also stored as JSON at storage_key).
   */
  analysis: analysisFactsSchema.optional(),
  /** highlight_reel outputs: the input's segments used, in reel order. */
  segments: z.array(highlightSegmentSchema).max(50).optional(),
  /** animation outputs: frames, rate and loop as written. */
  animation: animationFactsSchema.optional(),
  /** waveform outputs: the picture and the peaks document (both among `files`), their resolution. */
  waveform: waveformFactsSchema.optional(),
  /** video outputs with subtitle tracks: each track as read back from the file, in stream order. */
  subtitle_tracks: z.array(subtitleTrackFactsSchema).max(16).optional(),
  /** hls outputs with subtitles: the WebVTT renditions of the master playlist. */
  subtitle_renditions: z.array(subtitleRenditionFactsSchema).max(16).optional(),
  /** subtitles outputs: the track extracted and the cues written. */
  subtitles: subtitleFactsSchema.optional(),
  /**
   * Set when the job has a destination: the output was written to this bucket of the tenant's, and
   * storage_key (and each file's) is a key there, not in the service's store.
   */
  destination: z.object({ type: z.literal("s3"), bucket: z.string().max(63) }).optional(),
});
export type OutputResult = z.infer<typeof outputResultSchema>;

/**
 * What every report carries about the attempt it speaks for. `attempt` is the JetStream delivery
 * count of the message the node holds. `attempt_base` is echoed from the JobMessage; the edge adds
 * the two to get the job's attempt number and treats a report whose `attempt_base` differs from the
 * job's current one as stale (it comes from an earlier dispatch of the job). Nodes that don't send
 * it are assumed to speak for the current dispatch.
 */
const reportAttempt = {
  attempt: z.int().min(1),
  attempt_base: z.int().min(0).optional(),
  node_id: z.string().min(1).max(128),
  /**
   * Wall-clock milliseconds this attempt held a slot, on the report that ends it (succeeded,
   * failed, canceled, requeued): summed over attempts into the job's compute time (usage).
   */
  compute_ms: z.int().min(0).optional(),
};

/** The input as the node fetched and probed it: the job's input media minutes (usage, quotas). */
export const inputFactsSchema = z.object({
  /** null when the input's duration is unknown (a still image, a stream without one). */
  duration_sec: z.number().nonnegative().nullable(),
  size_bytes: z.int().nonnegative(),
});
export type InputFacts = z.infer<typeof inputFactsSchema>;

/** A node's report of a job state change, sent to the edge (the only database writer). */
export const jobReportSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("running"), ...reportAttempt, engine: z.string().max(32) }),
  z.object({
    type: z.literal("succeeded"),
    ...reportAttempt,
    outputs: z.array(outputResultSchema).max(16),
    input: inputFactsSchema.optional(),
  }),
  z.object({ type: z.literal("failed"), ...reportAttempt, retryable: z.boolean(), error: jobErrorSchema }),
  z.object({ type: z.literal("canceled"), ...reportAttempt }),
  /** The node handed the delivery back (a retryable failure, or a drain): the job waits for its next attempt. */
  z.object({
    type: z.literal("requeued"),
    ...reportAttempt,
    reason: z.string().max(500),
    error: jobErrorSchema.optional(),
  }),
  /**
   * Coarse progress for `job.progress` webhooks (only when the JobMessage asks for it, at its rate).
   * Latest-state and best effort: never retried, never changes the job's state.
   */
  z.object({ type: z.literal("progress"), ...reportAttempt, percent: z.number().min(0).max(100).nullable() }),
]);
export type JobReport = z.infer<typeof jobReportSchema>;

/** A report that changes (or tries to change) the job's state: every report but `progress`. */
export type StateReport = Exclude<JobReport, { type: "progress" }>;

/** What the edge answers to a report: `stale` tells the node its attempt no longer owns the job. */
export const jobReportReplySchema = z.object({ status: jobStatusSchema, stale: z.boolean() });
export type JobReportReply = z.infer<typeof jobReportReplySchema>;

/**
 * A progress tick about one output of a job: published on fw.progress.<jobId>, kept in KV
 * fw_progress under `<jobId>.<output>` (progressKeys), pushed to browsers. A job with several
 * outputs ticks each on its own, each measured against its own expected duration.
 */
export const progressTickSchema = z.object({
  type: z.literal("job:progress"),
  job_id: jobId,
  /** The job's attempt number (the record's `attempts`), so a retried run's ticks rank above the last run's. */
  attempt: z.int().min(0),
  /** The output this tick is about. */
  output: z.string().max(64),
  /**
   * This output's encoded media time over its expected duration (a trimmed output: its trim
   * window), 0–100, never decreasing within an attempt, 100 once the job succeeded; null while
   * the duration is unknown.
   */
  percent: z.number().min(0).max(100).nullable(),
  /** Video frames written for this output (an HLS ladder: its slowest rendition). */
  frames: z.number().nonnegative(),
  fps: z.number().nonnegative(),
  /** Media seconds of this output written per wall-clock second. */
  speed: z.number().nonnegative(),
  /** Media time of this output written so far, on the output's own timeline. */
  out_time_sec: z.number().nonnegative(),
  eta_sec: z.number().nonnegative().nullable(),
  at: z.iso.datetime(),
});
export type ProgressTick = z.infer<typeof progressTickSchema>;

/** A job's state, sent when it changes and as the last message before a progress socket closes. */
export const stateMessageSchema = z.object({
  type: z.literal("job:state"),
  job_id: jobId,
  status: jobStatusSchema,
  error: jobErrorSchema.optional(),
  at: z.iso.datetime(),
});
export type StateMessage = z.infer<typeof stateMessageSchema>;

export const progressMessageSchema = z.discriminatedUnion("type", [progressTickSchema, stateMessageSchema]);
export type ProgressMessage = z.infer<typeof progressMessageSchema>;

/** A processing node's heartbeat, kept in KV fw_nodes under the node id. */
export const nodeHeartbeatSchema = z.object({
  id: z.string().max(128),
  host: z.string().max(255),
  pools: z.array(z.enum(pools)),
  engine: z.string().max(32),
  encoders: z.array(z.string().max(64)),
  /** Hardware devices that opened (cuda, qsv, vaapi). */
  hardware: z.array(z.string().max(32)),
  /** Hardware encoders that opened on their device, as "device:encoder" (e.g. "cuda:h264_nvenc"). */
  hardware_encoders: z.array(z.string().max(96)).default([]),
  /** Why each hardware device (or encoder) that was tried did not open, e.g. { cuda: "no CUDA device" }. */
  hardware_errors: z.record(z.string(), z.string()).default({}),
  slots: z.object({ total: z.int().min(0), busy: z.int().min(0) }),
  jobs: z.array(z.string()),
  version: z.string().max(64),
  /** The engine's library versions, e.g. { libavcodec: "59.37.100" } (wasm: { ffmpeg: "5.1.4" }). */
  versions: z.record(z.string().max(32), z.string().max(64)).default({}),
  /** The temp disk (FW_WORK_DIR's file system); null when it could not be read. */
  disk: z
    .object({ free_bytes: z.number().nonnegative(), size_bytes: z.number().nonnegative() })
    .nullable()
    .default(null),
  /** The machine's memory and what this node (its process and its slot processes) holds. */
  memory: z
    .object({
      total_bytes: z.number().nonnegative(),
      available_bytes: z.number().nonnegative(),
      rss_bytes: z.number().nonnegative(),
    })
    .nullable()
    .default(null),
  /** This node's clock minus the edge's, measured over HTTP; null until measured. */
  clock_skew_ms: z.number().nullable().default(null),
  /** The node's last storage probe (write, read, delete of a small object). */
  storage: z
    .object({ ok: z.boolean(), detail: z.string().max(500).optional(), at: z.iso.datetime() })
    .nullable()
    .default(null),
  /** False while the node takes no new jobs (its temp disk is below FW_MIN_FREE_DISK_MB, say). */
  accepting: z.boolean().default(true),
  refusing_reason: z.string().max(500).nullable().default(null),
  started_at: z.iso.datetime(),
  at: z.iso.datetime(),
});
export type NodeHeartbeat = z.infer<typeof nodeHeartbeatSchema>;
/** A heartbeat as a node writes it (fields with defaults may be left out by older nodes). */
export type NodeHeartbeatInput = z.input<typeof nodeHeartbeatSchema>;

export const logLevels = ["error", "warning", "info"] as const;
export const attemptOutcomes = ["succeeded", "failed", "retrying", "handed_back", "canceled"] as const;

/** Bounds of one attempt's log: enough to diagnose, small enough to keep with every job. */
export const attemptLogLimits = { lines: 200, messageChars: 1000 } as const;

/**
 * One attempt's log, sent by the node to the edge (`POST /internal/jobs/:id/logs`) before its final
 * report: FFmpeg's own warnings and errors from the engine, and the node's words about what it did
 * (a resource limit, a crash). Paths of the node are redacted before sending; the edge stores it,
 * tenant-scoped, for as long as the job's outputs.
 */
export const attemptLogReportSchema = z.object({
  ...reportAttempt,
  engine: z.string().max(32),
  started_at: z.iso.datetime(),
  ended_at: z.iso.datetime(),
  outcome: z.enum(attemptOutcomes),
  lines: z
    .array(
      z.object({
        /** Milliseconds since the attempt started. */
        at_ms: z.int().min(0),
        level: z.enum(logLevels),
        source: z.enum(["engine", "node"]),
        message: z.string().max(attemptLogLimits.messageChars),
      }),
    )
    .max(attemptLogLimits.lines),
  /** Lines left out to keep within the bound (the first and the last ones are kept). */
  dropped: z.int().min(0),
});
export type AttemptLogReport = z.infer<typeof attemptLogReportSchema>;

/**
 * A job that exhausted its deliveries, as stored in stream FW_DLQ on fw.dlq.<jobId>. The node that
 * sees the last delivery fail (or the MAX_DELIVERIES advisory, when a node died on it) writes it;
 * the admin API lists, requeues or drops it.
 */
export const deadLetterMessageSchema = z.object({
  job_id: jobId,
  tenant_id: z.string(),
  /** The subject the job was queued on, so a requeue goes back to the same pool and priority. */
  subject: z.string(),
  attempts: z.int().min(0),
  last_error: jobErrorSchema.nullable(),
  dead_at: z.iso.datetime(),
  job: jobMessageSchema,
});
export type DeadLetterMessage = z.infer<typeof deadLetterMessageSchema>;

/** JetStream's MAX_DELIVERIES advisory (the fields nodes read). */
export const maxDeliveriesAdvisorySchema = z.object({
  stream: z.string(),
  consumer: z.string(),
  stream_seq: z.int().min(1),
  deliveries: z.int().min(1),
});
export type MaxDeliveriesAdvisory = z.infer<typeof maxDeliveriesAdvisorySchema>;

const decoder = new TextDecoder();

/**
 * A received message's bytes (or text) parsed with its schema: what every receiver does instead of
 * casting. Throws a SyntaxError (not JSON) or a ZodError naming the fields that are wrong.
 */
export function decodeMessage<S extends z.ZodType>(schema: S, data: Uint8Array | string): z.infer<S> {
  return schema.parse(JSON.parse(typeof data === "string" ? data : decoder.decode(data)));
}

/** As decodeMessage, for receivers that skip what they can't read: text that isn't JSON fails too. */
export function safeDecodeMessage<S extends z.ZodType>(schema: S, data: Uint8Array | string) {
  let json: unknown;
  try {
    json = JSON.parse(typeof data === "string" ? data : decoder.decode(data));
  } catch {
    json = undefined;
  }
  return schema.safeParse(json) as z.ZodSafeParseResult<z.infer<S>>;
}
