import { z } from "zod";
import { targetRefusals } from "./net-policy";

/**
 * The closed set of error codes Framewire exposes. HTTP problem details, job errors and logs all use
 * these; clients may switch on them, so a code is never renamed or reused.
 */
export const errorCatalog = {
  unauthorized: { status: 401, title: "Missing or invalid API key" },
  forbidden: { status: 403, title: "The API key lacks the scope this needs" },
  not_found: { status: 404, title: "Not found" },
  validation_failed: { status: 422, title: "The request is not valid" },
  malformed_json: { status: 400, title: "The body is not valid JSON" },
  payload_too_large: { status: 413, title: "The body is too large" },
  request_incomplete: { status: 400, title: "The client went away before its request body was complete" },
  conflict: { status: 409, title: "The request conflicts with the resource's state" },
  rate_limited: { status: 429, title: "Too many requests" },
  maintenance: { status: 503, title: "Writes are paused for maintenance" },
  input_not_allowed: { status: 403, title: "The input is in a place this service may not read" },
  dispatch_unavailable: { status: 503, title: "The job queue is unreachable" },
  no_capable_node: { status: 503, title: "No live processing node can run this job" },
  transition_pending: { status: 503, title: "The job's last change is still being recorded; retry shortly" },
  database_busy: { status: 503, title: "The database stayed locked by other writers; retry shortly" },
  internal: { status: 500, title: "Internal error" },
  webhook_url_refused: { status: 422, title: "The webhook URL points somewhere webhooks may not go" },
  webhook_secret_missing: { status: 422, title: "The tenant has no webhook signing secret yet" },
  quota_exceeded: { status: 429, title: "A quota of the tenant is used up" },
  template_not_found: { status: 422, title: "The template named does not exist (or no longer exists)" },
  batch_too_large: { status: 422, title: "The batch has more inputs than a batch may have" },
  bucket_not_allowed: { status: 403, title: "The bucket is not one the operator allows for this" },
  destination_path_invalid: { status: 422, title: "The destination path would leave its prefix" },
  // Job failure codes (on a job's `error`, not HTTP responses).
  input_unreadable: { status: 422, title: "The input could not be read as media" },
  input_unavailable: { status: 422, title: "The input could not be fetched" },
  input_no_streams: { status: 422, title: "The input has no usable audio or video" },
  unsupported: { status: 422, title: "The engine cannot produce this output" },
  engine_failure: { status: 500, title: "The engine failed while processing" },
  engine_crashed: { status: 500, title: "The engine process crashed" },
  engine_stalled: { status: 500, title: "The engine stopped making progress" },
  time_limit_exceeded: { status: 500, title: "The job ran past its time limit" },
  deliveries_exhausted: { status: 500, title: "Every delivery attempt of the job failed" },
  output_write_failed: { status: 500, title: "The output could not be stored" },
  output_invalid: {
    status: 500,
    title: "A written output failed its check (duration or streams) and was not stored",
  },
  resource_exhausted: { status: 500, title: "The job exceeded a resource limit of its node" },
  output_window_empty: {
    status: 422,
    title: "An output's window starts after the input's media ends (its message says where that is)",
  },
  composition_invalid: {
    status: 422,
    title: "The composition is not valid (its message names the clip)",
  },
  upload_expired: { status: 410, title: "The upload has expired and was deleted" },
  canceled: { status: 409, title: "The job was canceled" },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof errorCatalog;

export const errorCodes = Object.keys(errorCatalog) as [ErrorCode, ...ErrorCode[]];
export const errorCodeSchema = z.enum(errorCodes);

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(errorCatalog, value);
}

/**
 * A tenant's quotas (set by an admin). `max_running_jobs` holds jobs back in the queue (a running
 * job must end before another starts); the other two refuse new work with `quota_exceeded`.
 */
export const quotaLimits = ["max_running_jobs", "max_queued_jobs", "media_minutes_per_month"] as const;
export type QuotaLimit = (typeof quotaLimits)[number];

/** What a problem may say beyond RFC 9457's fields, for the codes that need it. */
export const problemExtensionsSchema = z.object({
  /** validation_failed (and the errors it stands for): one entry per bad field. */
  errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  /** conflict on a reused Idempotency-Key: the job the key names. */
  job_id: z.string().optional(),
  /** maintenance, rate_limited: seconds to wait (also the Retry-After header). */
  retry_after_sec: z.number().optional(),
  /** rate_limited: which bucket ran out, the API key's or the client address's. */
  limit_by: z.enum(["key", "ip"]).optional(),
  /** webhook_url_refused: why the target was refused. */
  reason: z.enum(targetRefusals).optional(),
  /** quota_exceeded: the limit that is used up; batch_too_large: `max_batch_inputs`. */
  limit: z.enum([...quotaLimits, "max_batch_inputs"]).optional(),
  /** quota_exceeded, batch_too_large: the limit's value. */
  limit_value: z.number().optional(),
  /** quota_exceeded: how much of it is used (queued jobs, media minutes this month). */
  used: z.number().optional(),
});
export type ProblemExtensions = z.infer<typeof problemExtensionsSchema>;

/** An error with a stable code; mapped once to problem details at the HTTP boundary. */
export class FramewireError extends Error {
  override readonly name = "FramewireError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extra: ProblemExtensions = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get status(): number {
    return errorCatalog[this.code].status;
  }
}

/** The `error` recorded on a failed job. */
export const jobErrorSchema = z.object({
  code: errorCodeSchema,
  message: z.string().max(2000),
  /** The engine's own words (FFmpeg's message), when there are any. */
  detail: z.string().max(4000).optional(),
});
export type JobError = z.infer<typeof jobErrorSchema>;
