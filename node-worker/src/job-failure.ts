import { EngineError, type EngineErrorCode } from "@framewire/native";
import type { ErrorCode, JobError } from "@framewire/shared";
import { InputFetchError } from "./inputs/safe-fetch";
import { SlotError } from "./slots/isolated-engine";
import { StorageNotFoundError } from "./storage/storage";

/**
 * What a failed run tells the tenant: a code from the catalog, readable words, and the engine's own
 * words where they help. The words name no path, host or internal name of the fleet (a job's work
 * folder, the node's data folders): those stay in the node's logs.
 */

const engineCodes: Record<EngineErrorCode, ErrorCode> = {
  INPUT_UNREADABLE: "input_unreadable",
  INPUT_NO_STREAMS: "input_no_streams",
  UNSUPPORTED: "unsupported",
  CANCELED: "canceled",
  ENGINE_FAILURE: "engine_failure",
  OUTPUT_WRITE_FAILED: "output_write_failed",
  STALLED: "engine_stalled",
  OUTPUT_INVALID: "output_invalid",
  COMPOSITION_INVALID: "composition_invalid",
  WINDOW_EMPTY: "output_window_empty",
};

/** A failure with the code and words the job record will show. */
export class JobFailure extends Error {
  constructor(
    readonly jobError: JobError,
    readonly retryable: boolean,
  ) {
    super(jobError.message);
  }
}

/**
 * Removes the fleet's own paths from text a tenant will read: a path inside the job's work folder
 * becomes its name there ("input", "out-720p.mp4"); any other absolute path becomes "<path>".
 */
export function redactPaths(text: string, workDir: string): string {
  const inWorkDir = `${workDir.replace(/\/+$/, "")}/`;
  return text
    .split(inWorkDir)
    .join("")
    .replace(/(?<![\w.:/])\/(?:[^\s/'"`:,;()]+\/)+[^\s/'"`:,;()]*/g, "<path>");
}

function redact(jobError: JobError, workDir: string): JobError {
  return {
    ...jobError,
    message: redactPaths(jobError.message, workDir),
    ...(jobError.detail !== undefined ? { detail: redactPaths(jobError.detail, workDir) } : {}),
  };
}

/** The failure as the job record will show it, for a run that used `workDir`. */
export function toJobFailure(error: unknown, workDir: string): JobFailure {
  const failure = classify(error);
  return new JobFailure(redact(failure.jobError, workDir), failure.retryable);
}

function classify(error: unknown): JobFailure {
  if (error instanceof JobFailure) return error;
  if (error instanceof EngineError) {
    const jobError: JobError = { code: engineCodes[error.code], message: error.message };
    if (error.detail) jobError.detail = error.detail;
    return new JobFailure(jobError, error.retryable);
  }
  if (error instanceof SlotError) {
    return new JobFailure({ code: error.code, message: error.message }, error.retryable);
  }
  if (error instanceof InputFetchError) {
    return new JobFailure(
      {
        code: error.reason === "not_allowed" ? "input_not_allowed" : "input_unavailable",
        message: error.message,
      },
      error.reason === "timeout" || error.reason === "network",
    );
  }
  if (error instanceof StorageNotFoundError) {
    return new JobFailure(
      { code: "input_unavailable", message: "The uploaded input no longer exists." },
      false,
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return new JobFailure({ code: "engine_failure", message: `Processing failed: ${message}` }, true);
}
