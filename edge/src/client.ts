import type { JobSpecInput, JobStatus, WebhookEvent } from "@framewire/shared";
import type { presentEvent, presentJob } from "./jobs/present";
import type { Problem } from "./problem";
import type { presentKey } from "./routes/admin";
import type { MaintenanceState } from "./settings";
import type { presentDelivery, presentTenantWebhook } from "./webhooks/present";

/**
 * Receivers verify deliveries with this (Web Crypto: Node 20+, browsers, Workers):
 * `await verifyWebhook({ body: rawBody, signature: req.headers["framewire-signature"], secret })`.
 */
export {
  verifyWebhook,
  type WebhookCheck,
  type WebhookEvent,
  type WebhookPayload,
  webhookIdHeader,
  webhookSignatureHeader,
  webhookToleranceSec,
} from "@framewire/shared";

/**
 * A small typed client for the v1 API. Types come from the functions that shape the responses, so a
 * change there is a compile error here. `fetch` is injectable: tests pass `app.request`.
 */
export type Job = Awaited<ReturnType<typeof presentJob>>;
export type JobEvent = ReturnType<typeof presentEvent>;
export type ApiKey = ReturnType<typeof presentKey>;
export type IssuedApiKey = ApiKey & { key: string };
export type WebhookDelivery = ReturnType<typeof presentDelivery>;
export type TenantWebhook = ReturnType<typeof presentTenantWebhook>;

export type ApiResult<T> =
  | { ok: true; status: number; data: T; headers: Headers }
  | { ok: false; status: number; problem: Problem; headers: Headers };

export interface ClientOptions {
  baseUrl?: string;
  apiKey?: string;
  fetch?: (url: string, init: RequestInit) => Response | Promise<Response>;
  /** Sent as X-Request-Id on every call. */
  requestId?: string;
}

export function createFramewireClient(options: ClientOptions = {}) {
  const base = (options.baseUrl ?? "").replace(/\/+$/, "");
  const doFetch = options.fetch ?? ((url, init) => fetch(url, init));

  async function call<T>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiResult<T>> {
    const h: Record<string, string> = { ...headers };
    if (options.apiKey) h.authorization = `Bearer ${options.apiKey}`;
    if (options.requestId) h["x-request-id"] = options.requestId;
    if (body !== undefined) h["content-type"] = "application/json";
    const res = await doFetch(`${base}${path}`, {
      method,
      headers: h,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    const parsed = text ? (JSON.parse(text) as unknown) : null;
    if (res.ok) return { ok: true, status: res.status, data: parsed as T, headers: res.headers };
    return { ok: false, status: res.status, problem: parsed as Problem, headers: res.headers };
  }

  const q = (params: Record<string, string | number | undefined>) => {
    const s = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined) s.set(k, String(v));
    const text = s.toString();
    return text ? `?${text}` : "";
  };

  return {
    health: () => call<{ status: string; version: string }>("GET", "/v1/health"),
    me: () =>
      call<{
        tenant: { id: string; name: string };
        key: {
          id: string;
          prefix: string;
          name: string;
          scopes: string[];
          expires_at: string | null;
          revoked_at: string | null;
        };
      }>("GET", "/v1/me"),
    healthDetailed: () => call<Record<string, unknown> & { status: string }>("GET", "/v1/health/detailed"),
    jobs: {
      create: (spec: JobSpecInput, opts: { idempotencyKey?: string } = {}) =>
        call<Job>(
          "POST",
          "/v1/jobs",
          spec,
          opts.idempotencyKey ? { "idempotency-key": opts.idempotencyKey } : {},
        ),
      get: (id: string) => call<Job>("GET", `/v1/jobs/${encodeURIComponent(id)}`),
      list: (params: { status?: JobStatus; cursor?: string; limit?: number } = {}) =>
        call<{ data: Job[]; next_cursor: string | null }>("GET", `/v1/jobs${q(params)}`),
      events: (id: string) => call<{ data: JobEvent[] }>("GET", `/v1/jobs/${encodeURIComponent(id)}/events`),
      cancel: (id: string) => call<Job>("DELETE", `/v1/jobs/${encodeURIComponent(id)}`),
      retry: (id: string) => call<Job>("POST", `/v1/jobs/${encodeURIComponent(id)}/retry`),
      webhooks: (id: string, params: { cursor?: string; limit?: number } = {}) =>
        call<{ data: WebhookDelivery[]; next_cursor: string | null }>(
          "GET",
          `/v1/jobs/${encodeURIComponent(id)}/webhooks${q(params)}`,
        ),
      redeliverWebhook: (id: string, deliveryId: string) =>
        call<WebhookDelivery>(
          "POST",
          `/v1/jobs/${encodeURIComponent(id)}/webhooks/${encodeURIComponent(deliveryId)}/redeliver`,
        ),
    },
    webhook: {
      get: () => call<TenantWebhook>("GET", "/v1/webhook"),
      /** The first call creates the signing secret and returns it (`secret`) this once. */
      set: (body: { url: string | null; events?: WebhookEvent[] }) =>
        call<TenantWebhook>("PUT", "/v1/webhook", body),
      rotateSecret: (body: { grace_period_sec?: number } = {}) =>
        call<TenantWebhook>("POST", "/v1/webhook/rotate-secret", body),
    },
    admin: {
      createTenant: (name: string) =>
        call<{ id: string; name: string }>("POST", "/v1/admin/tenants", { name }),
      createKey: (
        tenantId: string,
        body: { name: string; scopes: ApiKey["scopes"]; expires_at?: string | null },
      ) => call<IssuedApiKey>("POST", `/v1/admin/tenants/${encodeURIComponent(tenantId)}/keys`, body),
      listKeys: (tenantId?: string) =>
        call<{ data: ApiKey[] }>("GET", `/v1/admin/keys${q({ tenant_id: tenantId })}`),
      getKey: (keyId: string) => call<ApiKey>("GET", `/v1/admin/keys/${encodeURIComponent(keyId)}`),
      revokeKey: (keyId: string) =>
        call<ApiKey>("POST", `/v1/admin/keys/${encodeURIComponent(keyId)}/revoke`),
      rotateKey: (keyId: string, body: { grace_period_sec?: number } = {}) =>
        call<IssuedApiKey & { replaces: ApiKey | null }>(
          "POST",
          `/v1/admin/keys/${encodeURIComponent(keyId)}/rotate`,
          body,
        ),
      maintenance: () => call<MaintenanceState>("GET", "/v1/admin/maintenance"),
      setMaintenance: (body: { enabled: boolean; retry_after_sec?: number; message?: string | null }) =>
        call<MaintenanceState>("PUT", "/v1/admin/maintenance", body),
      nodes: () =>
        call<{ active: number; busy: number; idle: number; data: Record<string, unknown>[] }>(
          "GET",
          "/v1/admin/nodes",
        ),
      deadLetters: (limit?: number) =>
        call<{ data: { job_id: string; subject: string; attempts: number }[] }>(
          "GET",
          `/v1/admin/dead-letters${q({ limit })}`,
        ),
      requeueDeadLetter: (jobId: string) =>
        call<{ job_id: string; status: string; generation: number }>(
          "POST",
          `/v1/admin/dead-letters/${encodeURIComponent(jobId)}/requeue`,
        ),
      dropDeadLetter: (jobId: string) =>
        call<null>("DELETE", `/v1/admin/dead-letters/${encodeURIComponent(jobId)}`),
    },
  };
}

export type FramewireClient = ReturnType<typeof createFramewireClient>;
