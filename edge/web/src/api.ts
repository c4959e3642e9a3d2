import type { DeadLetterMessage, JobSpecInput, JobStatus, NodeHeartbeat } from "@framewire/shared";
import type { ApiResult, Job } from "../../src/client";
import type { Problem } from "../../src/problem";

export type { ApiResult, Job, Problem };
export type JobOutput = Job["outputs"][number];
type FileEntry = NonNullable<JobOutput["files"]>[number];
/** A file that can still be fetched (retention deletes outputs, and their links go null). */
export type OutputFile = FileEntry & { url: string };
/** An output whose files are still stored. */
export type LiveOutput = Omit<JobOutput, "url" | "files"> & { url: string; files?: OutputFile[] };

/** The output with its links, or null once retention deleted it. */
export function liveOutput(output: JobOutput): LiveOutput | null {
  const { url, files } = output;
  if (url === null) return null;
  return { ...output, url, files: files?.filter((f): f is OutputFile => f.url !== null) };
}

export interface FleetSummary {
  active: number;
  busy: number;
  idle: number;
  slots: { total: number; busy: number };
  data: NodeHeartbeat[];
}

/**
 * The API calls the console makes (same origin), typed by the edge's own response shapes. Not
 * edge/src/client.ts itself: it re-exports code from shared/ whose index would pull NATS and the
 * database schema into the page's bundle; types cost nothing.
 */
export function createApi(apiKey: string) {
  async function call<T>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiResult<T>> {
    const res = await fetch(path, {
      method,
      headers: {
        authorization: `Bearer ${apiKey}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    const answer = text ? (JSON.parse(text) as unknown) : null;
    return res.ok
      ? { ok: true, status: res.status, data: answer as T, headers: res.headers }
      : { ok: false, status: res.status, problem: answer as Problem, headers: res.headers };
  }

  /**
   * Asks where to put the file, then PUTs it with XMLHttpRequest (fetch reports no upload
   * progress). The API key goes only to this edge, never to a presigned storage URL.
   */
  async function upload(
    file: File,
    onProgress: (fraction: number) => void,
    signal: AbortSignal,
  ): Promise<ApiResult<{ id: string }>> {
    const res = await fetch("/v1/uploads", {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
      // The size is required when uploads go straight to S3: the presigned PUT is signed for it.
      body: JSON.stringify({ content_type: file.type || "application/octet-stream", size_bytes: file.size }),
      signal,
    });
    const answer = (await res.json()) as unknown;
    if (!res.ok) return { ok: false, status: res.status, problem: answer as Problem, headers: res.headers };
    const ticket = answer as {
      id: string;
      upload_url: string;
      method: string;
      headers?: Record<string, string>;
    };
    const ownPath = `/v1/uploads/${ticket.id}`;
    const toEdge = ticket.upload_url.endsWith(ownPath);
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open(ticket.method || "PUT", toEdge ? ownPath : ticket.upload_url);
      if (toEdge) xhr.setRequestHeader("authorization", `Bearer ${apiKey}`);
      const sent = new Set<string>();
      for (const [name, value] of Object.entries(ticket.headers ?? {})) {
        // The browser sets these itself (and refuses to be told).
        if (/^(content-length|host)$/i.test(name)) continue;
        xhr.setRequestHeader(name, value);
        sent.add(name.toLowerCase());
      }
      if (!sent.has("content-type"))
        xhr.setRequestHeader("content-type", file.type || "application/octet-stream");
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable) onProgress(e.loaded / e.total);
      };
      xhr.onload = () => {
        const headers = new Headers();
        let body: unknown = null;
        try {
          body = xhr.responseText ? JSON.parse(xhr.responseText) : null;
        } catch {
          // A storage service may answer with XML or nothing: the status says enough.
        }
        if (xhr.status >= 200 && xhr.status < 300) {
          onProgress(1);
          resolve({ ok: true, status: xhr.status, data: { id: ticket.id }, headers });
        } else {
          const problem = (body ?? {
            title: "The upload was refused",
            detail: `The storage answered ${xhr.status}.`,
            status: xhr.status,
          }) as Problem;
          resolve({ ok: false, status: xhr.status, problem, headers });
        }
      };
      xhr.onerror = () => reject(new Error("The upload failed: the connection was lost."));
      xhr.onabort = () => reject(new DOMException("The upload was canceled.", "AbortError"));
      signal.addEventListener("abort", () => xhr.abort(), { once: true });
      xhr.send(file);
    });
  }

  const job = (id: string) => `/v1/jobs/${encodeURIComponent(id)}`;
  return {
    jobs: {
      create: (spec: JobSpecInput, opts: { idempotencyKey: string }) =>
        call<Job>("POST", "/v1/jobs", spec, { "idempotency-key": opts.idempotencyKey }),
      get: (id: string) => call<Job>("GET", job(id)),
      list: (params: { status?: JobStatus; cursor?: string; limit?: number }) => {
        const query = new URLSearchParams();
        for (const [k, v] of Object.entries(params)) if (v !== undefined) query.set(k, String(v));
        return call<{ data: Job[]; next_cursor: string | null }>("GET", `/v1/jobs?${query}`);
      },
      cancel: (id: string) => call<Job>("DELETE", job(id)),
      retry: (id: string) => call<Job>("POST", `${job(id)}/retry`),
    },
    admin: {
      requeueDeadLetter: (jobId: string) =>
        call<{ job_id: string; status: string }>(
          "POST",
          `/v1/admin/dead-letters/${encodeURIComponent(jobId)}/requeue`,
        ),
      dropDeadLetter: (jobId: string) =>
        call<null>("DELETE", `/v1/admin/dead-letters/${encodeURIComponent(jobId)}`),
    },
    upload,
    me: () =>
      call<{ key: { id: string; scopes: string[] }; tenant: { id: string; name: string } }>("GET", "/v1/me"),
    fleet: () => call<FleetSummary>("GET", "/v1/admin/nodes"),
    deadLetters: () => call<{ data: DeadLetterMessage[] }>("GET", "/v1/admin/dead-letters?limit=50"),
  };
}

export type Api = ReturnType<typeof createApi>;

/** A readable sentence for a failed call, with the field errors of a validation problem. */
export function describeProblem(problem: Problem | null | undefined, status: number): string {
  if (!problem || typeof problem !== "object") return `The request failed (HTTP ${status}).`;
  const fields = Array.isArray(problem.errors)
    ? (problem.errors as { field?: string; message?: string }[])
        .map((e) => `${e.field ?? "request"}: ${e.message ?? "invalid"}`)
        .join("; ")
    : "";
  const base = problem.detail || problem.title || `HTTP ${status}`;
  return fields && !base.includes(fields) ? `${base} (${fields})` : base;
}
