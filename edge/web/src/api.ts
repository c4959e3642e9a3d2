import type { DeadLetterMessage, NodeHeartbeat } from "@framewire/shared";
import { type ApiResult, createFramewireClient, type Job } from "../../src/client";
import type { Problem } from "../../src/problem";

export type { ApiResult, Job, Problem };
export type JobOutput = Job["outputs"][number];
export type OutputFile = NonNullable<JobOutput["files"]>[number];

export interface FleetSummary {
  active: number;
  busy: number;
  idle: number;
  slots: { total: number; busy: number };
  data: NodeHeartbeat[];
}

/** The typed API client (same-origin), plus what a browser adds: uploads with progress. */
export function createApi(apiKey: string) {
  const client = createFramewireClient({ baseUrl: "", apiKey });

  async function call<T>(method: string, path: string): Promise<ApiResult<T>> {
    const res = await fetch(path, { method, headers: { authorization: `Bearer ${apiKey}` } });
    const text = await res.text();
    const body = text ? (JSON.parse(text) as unknown) : null;
    return res.ok
      ? { ok: true, status: res.status, data: body as T, headers: res.headers }
      : { ok: false, status: res.status, problem: body as Problem, headers: res.headers };
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
      body: JSON.stringify({ content_type: file.type || "application/octet-stream" }),
      signal,
    });
    const answer = (await res.json()) as unknown;
    if (!res.ok) return { ok: false, status: res.status, problem: answer as Problem, headers: res.headers };
    const ticket = answer as { id: string; upload_url: string; method: string };
    const ownPath = `/v1/uploads/${ticket.id}`;
    const toEdge = ticket.upload_url.endsWith(ownPath);
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open(ticket.method || "PUT", toEdge ? ownPath : ticket.upload_url);
      if (toEdge) xhr.setRequestHeader("authorization", `Bearer ${apiKey}`);
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

  return {
    ...client,
    upload,
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
