import { decodeMessage, type ProgressMessage, progressMessageSchema } from "@framewire/shared";
import {
  type ApiResult,
  createFramewireClient,
  type FramewireClient,
  type Job,
  type JobSpecInput,
} from "@framewire/shared/client";
import { isFinal } from "@framewire/shared/job-state";
import WebSocket from "ws";

/**
 * Test fixture: API helpers on the typed client, so tests speak the product's own contract (the
 * client the CLI and the console use) instead of hand-written fetches and types.
 */

/** The client for a running stack (or any edge URL) with this key. */
export function apiClient(target: { apiUrl: string; apiKey: string }): FramewireClient {
  return createFramewireClient({ baseUrl: target.apiUrl, apiKey: target.apiKey });
}

/** The data of a call that must succeed; a failure throws with the problem's code and detail. */
export function ok<T>(result: ApiResult<T>): T {
  if (!result.ok) {
    throw new Error(`HTTP ${result.status} ${result.problem.code}: ${result.problem.detail}`);
  }
  return result.data;
}

/** Uploads bytes in one request (the local store) and returns the upload's id. */
export async function uploadBytes(
  client: FramewireClient,
  bytes: Uint8Array,
  contentType = "video/mp4",
): Promise<string> {
  return ok(await client.uploads.send(new Uint8Array(bytes), contentType)).id;
}

/** Submits a job that must be accepted. */
export async function submitJob(client: FramewireClient, spec: JobSpecInput): Promise<Job> {
  return ok(await client.jobs.create(spec));
}

/**
 * Polls a job until it is final (or `until` holds), recording each status seen on the way in
 * `seen` when given.
 */
export async function waitForJob(
  client: FramewireClient,
  id: string,
  options: { timeoutMs?: number; seen?: string[]; until?: (job: Job) => boolean } = {},
): Promise<Job> {
  const deadline = Date.now() + (options.timeoutMs ?? 90_000);
  const until = options.until ?? ((job: Job) => isFinal(job.status));
  for (;;) {
    const job = ok(await client.jobs.get(id));
    if (options.seen && options.seen.at(-1) !== job.status) options.seen.push(job.status);
    if (until(job)) return job;
    if (Date.now() > deadline)
      throw new Error(`job ${id} still ${job.status} after ${options.timeoutMs ?? 90_000} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A progress socket being watched: every message (parsed with the contract's schema) and its close. */
export interface ProgressWatch {
  messages: ProgressMessage[];
  closed: Promise<{ code: number; reason: string }>;
}

/** Opens a job's `progress_url` (or any gateway URL) the way a browser does, and records it. */
export function followProgress(url: string): ProgressWatch {
  const ws = new WebSocket(url);
  const messages: ProgressMessage[] = [];
  ws.on("message", (data) => messages.push(decodeMessage(progressMessageSchema, String(data))));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on("close", (code, reason) => resolve({ code, reason: String(reason) }));
  });
  return { messages, closed };
}
