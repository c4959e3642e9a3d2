import type { JobInput, JobMessage } from "@framewire/shared";
import { storageKeys } from "@framewire/shared";
import type { Storage } from "../storage/storage";
import type { S3InputFetch } from "./s3-input";
import { fetchToFile } from "./safe-fetch";

export interface InputFetchOptions {
  maxBytes: number;
  timeoutMs: number;
  allowHttp: boolean;
  signal: AbortSignal;
}

interface InputPorts {
  storage: Storage;
  s3Inputs: S3InputFetch;
  /** Counts a storage failure (not a missing object) against the node's metrics. */
  onStorageError?: () => void;
}

/**
 * Fetches one input (an upload, an s3 object or a URL) to `path`. An upload is read by its key
 * (`key`, from the job message) or, for named inputs and watermark images, by its upload id.
 */
export async function fetchInput(
  ports: InputPorts,
  tenantId: string,
  input: JobInput,
  path: string,
  options: InputFetchOptions,
  key?: string,
): Promise<void> {
  if (input.type === "upload") {
    await ports.storage.download(key ?? storageKeys.upload(tenantId, input.upload_id), path);
  } else if (input.type === "s3") {
    await ports.s3Inputs(input, path, options);
  } else {
    await fetchToFile(input.url, path, options);
  }
}

/** At most this many named inputs are fetched at once: enough to overlap latency, not to flood the store. */
const parallelFetches = 4;

/**
 * Fetches a job's named inputs (`inputs`) to their paths (see plan-edits' inputPaths), a few at a
 * time; the first failure stops the rest (the job's signal is shared, so a cancel stops them all).
 */
export async function fetchNamedInputs(
  ports: InputPorts,
  message: JobMessage,
  paths: Record<string, string>,
  options: InputFetchOptions,
): Promise<void> {
  const queue = Object.entries(message.spec.inputs ?? {});
  const failed = new AbortController();
  const signal = AbortSignal.any([options.signal, failed.signal]);
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const [name, input] = next;
      const path = paths[name];
      if (!path) throw new Error(`no path for input ${name}`);
      await fetchInput(ports, message.tenant_id, input, path, { ...options, signal }).catch(
        (error: unknown) => {
          failed.abort();
          throw error;
        },
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallelFetches, queue.length) }, worker));
}
