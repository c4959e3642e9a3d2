import { createReadStream, createWriteStream } from "node:fs";
import { stat } from "node:fs/promises";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import type { JobSpecInput } from "@framewire/shared";
import { CliError, exitCodes } from "./exit-codes";

export interface JobView {
  id: string;
  status: "queued" | "running" | "succeeded" | "failed" | "canceled";
  attempts: number;
  error: { code: string; message: string; detail?: string } | null;
  outputs: {
    name: string;
    url: string;
    container: string;
    size_bytes: number;
    duration_sec: number | null;
  }[];
  progress_url: string;
  created_at: string;
}

export interface KeyView {
  id: string;
  tenant_id: string;
  prefix: string;
  name: string;
  scopes: string[];
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
  request_count: number;
  /** The secret: only in the answer that created it. */
  key?: string;
}

export interface TenantView {
  id: string;
  name: string;
  created_at: string;
}

/** The slice of the public API the CLI uses, over fetch. Problem details become CliErrors. */
export function createApiClient(apiUrl: string, apiKey: string) {
  const base = apiUrl.replace(/\/+$/, "");

  async function call<T>(path: string, init: RequestInit & { duplex?: "half" } = {}): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${apiKey}`, ...(init.headers as Record<string, string>) },
      });
    } catch (error) {
      throw new CliError(`cannot reach ${base}: ${(error as Error).cause ?? error}`, exitCodes.unreachable);
    }
    const body = (await response.json().catch(() => null)) as (T & { code?: string; detail?: string }) | null;
    if (!response.ok) {
      const detail = body?.detail ?? `HTTP ${response.status}`;
      throw new CliError(`${body?.code ?? "error"}: ${detail}`, exitCodes.apiRefused);
    }
    return body as T;
  }

  return {
    /**
     * Asks where to PUT the file, then streams it there: the edge itself (local store) or a
     * presigned S3 URL, which must not also carry our API key (S3 refuses two auth methods, and
     * the key has no business leaving for the store).
     */
    async upload(path: string): Promise<string> {
      const { size } = await stat(path).catch(() => {
        throw new CliError(`no such file: ${path}`, exitCodes.usage);
      });
      const target = await call<{ id: string; upload_url: string; headers?: Record<string, string> }>(
        "/v1/uploads",
        {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ size_bytes: size }),
        },
      );
      // A presigned URL carries its own signature. Anything else is the edge's own upload route,
      // which wants our key: it is sent to the API address this CLI was given (the edge may know
      // itself by another name), never to whatever host the answer named.
      const named = new URL(target.upload_url);
      const toEdge = !named.searchParams.has("X-Amz-Signature");
      const uploadUrl = toEdge
        ? new URL(`${named.pathname}${named.search}`, `${base}/`).toString()
        : named.toString();
      const response = await fetch(uploadUrl, {
        method: "PUT",
        headers: {
          ...(toEdge ? { authorization: `Bearer ${apiKey}` } : {}),
          ...target.headers,
          "content-length": String(size),
        },
        body: Readable.toWeb(createReadStream(path)) as unknown as ReadableStream<Uint8Array>,
        duplex: "half",
      } as RequestInit).catch((error: unknown) => {
        throw new CliError(
          `cannot upload to ${new URL(uploadUrl).host}: ${String(error)}`,
          exitCodes.unreachable,
        );
      });
      if (!response.ok)
        throw new CliError(`the upload answered HTTP ${response.status}`, exitCodes.apiRefused);
      return target.id;
    },
    createJob: (spec: JobSpecInput) =>
      call<JobView>("/v1/jobs", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(spec),
      }),
    getJob: (id: string) => call<JobView>(`/v1/jobs/${encodeURIComponent(id)}`),
    listJobs: (query: { status?: string; cursor?: string; limit?: number }) => {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
      return call<{ data: JobView[]; next_cursor: string | null }>(`/v1/jobs?${params}`);
    },
    cancelJob: (id: string) => call<JobView>(`/v1/jobs/${encodeURIComponent(id)}`, { method: "DELETE" }),
    admin: {
      listTenants: () => call<{ data: TenantView[] }>("/v1/admin/tenants"),
      createTenant: (name: string) => call<TenantView>("/v1/admin/tenants", postJson({ name })),
      listKeys: (tenantId?: string) =>
        call<{ data: KeyView[] }>(
          `/v1/admin/keys${tenantId ? `?tenant_id=${encodeURIComponent(tenantId)}` : ""}`,
        ),
      createKey: (tenantId: string, body: { name: string; scopes: string[]; expires_at?: string }) =>
        call<KeyView>(`/v1/admin/tenants/${encodeURIComponent(tenantId)}/keys`, postJson(body)),
      revokeKey: (id: string) =>
        call<KeyView>(`/v1/admin/keys/${encodeURIComponent(id)}/revoke`, { method: "POST" }),
      rotateKey: (id: string, graceSec?: number) =>
        call<KeyView & { replaces: KeyView | null }>(
          `/v1/admin/keys/${encodeURIComponent(id)}/rotate`,
          postJson(graceSec === undefined ? {} : { grace_period_sec: graceSec }),
        ),
    },
    async download(url: string, destination: string): Promise<void> {
      const response = await fetch(url).catch((error: unknown) => {
        throw new CliError(`cannot download ${url}: ${String(error)}`, exitCodes.unreachable);
      });
      if (!response.ok || !response.body)
        throw new CliError(`download answered HTTP ${response.status}`, exitCodes.apiRefused);
      await pipeline(
        Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
        createWriteStream(destination),
      );
    },
  };
}

function postJson(body: unknown): RequestInit {
  return { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
}

export type ApiClient = ReturnType<typeof createApiClient>;
