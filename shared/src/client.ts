/**
 * `@framewire/shared/client`: the one typed client of the v1 API, used by the CLI, the web console
 * and the tests. Its types come from the contract's schemas (./api), so a change there is a compile
 * error here and in every caller. Runtime-neutral (fetch only) and free of zod at run time: the
 * console bundles it, so it imports types and the signature helpers, nothing else.
 */
import type {
  ApiKey,
  Batch,
  BatchCreate,
  BatchJobsQuery,
  BatchPage,
  DeadLetterList,
  FingerprintMatches,
  FingerprintMatchQuery,
  Health,
  HealthDetailed,
  IssuedApiKey,
  Job,
  JobEvent,
  JobListQuery,
  JobLogs,
  JobPage,
  JobRequest,
  KeyCreate,
  KeyRotate,
  MaintenanceRequest,
  MaintenanceState,
  Me,
  NodeList,
  Problem,
  QuotaSettings,
  Quotas,
  RotatedApiKey,
  SecretRotate,
  Template,
  TemplateBodyInput,
  TemplateCreate,
  TemplatePage,
  Tenant,
  TenantWebhook,
  TenantWebhookRequest,
  Upload,
  UploadRequest,
  UploadTarget,
  Usage,
  UsageQuery,
  Watch,
  WatchCreate,
  WatchObjectPage,
  WatchPage,
  WatchUpdate,
  WebhookDelivery,
} from "./api";
import type { JobSpecInput } from "./job-spec";

export type * from "./api";
export type { ErrorCode, JobError } from "./errors";
export type { JobSpec, JobSpecInput, OutputSpec, Priority } from "./job-spec";
export type { JobStatus } from "./job-state";
export type { AnalysisFacts, ProbeFacts, StreamFacts } from "./media";
export type {
  DeadLetterMessage,
  NodeHeartbeat,
  ProgressMessage,
  ProgressTick,
  StateMessage,
} from "./messages";
/** Receivers verify deliveries with `verifyWebhook` (Web Crypto: Node 20+, browsers, Workers). */
export {
  verifyWebhook,
  type WebhookCheck,
  webhookIdHeader,
  webhookSignatureHeader,
  webhookToleranceSec,
} from "./webhook-signing";
export type { WebhookEvent } from "./webhooks";

export type ApiResult<T> =
  | { ok: true; status: number; data: T; headers: Headers }
  | { ok: false; status: number; problem: Problem; headers: Headers };

export type FetchLike = (url: string, init: RequestInit) => Response | Promise<Response>;

export interface ClientOptions {
  /** The edge's base URL, e.g. https://api.example.com (a page on the edge's own origin: its origin). */
  baseUrl?: string;
  apiKey?: string;
  /** Injectable: tests pass `app.request`. */
  fetch?: FetchLike;
  /** Sent as X-Request-Id on every call. */
  requestId?: string;
}

/** A body for an upload's PUT: a Blob or File, bytes, or a stream (Node: with its length). */
export type UploadBody = BodyInit;

/**
 * Where an upload's bytes go. A presigned storage URL carries its own signature and must not also
 * carry the API key (S3 refuses two auth methods, and the key has no business leaving for the
 * store). Anything else is the edge's own upload route, which wants the key: it goes to the API
 * address this client was given (the edge may know itself by another name), never to whatever host
 * the answer named.
 */
export function uploadDestination(baseUrl: string, target: Pick<UploadTarget, "upload_url">) {
  const named = new URL(target.upload_url, baseUrl || undefined);
  if (named.searchParams.has("X-Amz-Signature")) return { url: named.toString(), withKey: false };
  const base = baseUrl.replace(/\/+$/, "");
  return { url: `${base}${named.pathname}${named.search}`, withKey: true };
}

const q = (params: Record<string, string | number | undefined>) => {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) s.set(k, String(v));
  const text = s.toString();
  return text ? `?${text}` : "";
};
const seg = encodeURIComponent;

export function createFramewireClient(options: ClientOptions = {}) {
  const base = (options.baseUrl ?? "").replace(/\/+$/, "");
  const doFetch: FetchLike = options.fetch ?? ((url, init) => fetch(url, init));
  const keyHeader = (): Record<string, string> =>
    options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {};

  async function settle<T>(res: Response): Promise<ApiResult<T>> {
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // Storage services may answer with XML or nothing; the status says enough.
    }
    if (res.ok) return { ok: true, status: res.status, data: parsed as T, headers: res.headers };
    const problem =
      parsed && typeof parsed === "object" && "code" in parsed
        ? (parsed as Problem)
        : ({
            type: "about:blank",
            title: "The request failed",
            status: res.status,
            code: "internal",
            detail: `HTTP ${res.status}`,
          } satisfies Problem);
    return { ok: false, status: res.status, problem, headers: res.headers };
  }

  async function call<T>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiResult<T>> {
    const h: Record<string, string> = { ...keyHeader(), ...headers };
    if (options.requestId) h["x-request-id"] = options.requestId;
    if (body !== undefined) h["content-type"] = "application/json";
    const res = await doFetch(`${base}${path}`, {
      method,
      headers: h,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return settle<T>(res);
  }

  const job = (id: string) => `/v1/jobs/${seg(id)}`;

  return {
    health: () => call<Health>("GET", "/v1/health"),
    healthDetailed: () => call<HealthDetailed>("GET", "/v1/health/detailed"),
    me: () => call<Me>("GET", "/v1/me"),
    jobs: {
      /** A job spec, or `template: "<name or id>[@version]"` with overrides. */
      create: (spec: JobSpecInput | JobRequest, opts: { idempotencyKey?: string } = {}) =>
        call<Job>(
          "POST",
          "/v1/jobs",
          spec,
          opts.idempotencyKey ? { "idempotency-key": opts.idempotencyKey } : {},
        ),
      get: (id: string) => call<Job>("GET", job(id)),
      list: (params: JobListQuery = {}) => call<JobPage>("GET", `/v1/jobs${q(params)}`),
      events: (id: string) => call<{ data: JobEvent[] }>("GET", `${job(id)}/events`),
      /** Each attempt's log: FFmpeg's warnings and errors, the node's words, with timings. */
      logs: (id: string) => call<JobLogs>("GET", `${job(id)}/logs`),
      cancel: (id: string) => call<Job>("DELETE", job(id)),
      retry: (id: string) => call<Job>("POST", `${job(id)}/retry`),
      webhooks: (id: string, params: { cursor?: string; limit?: number } = {}) =>
        call<{ data: WebhookDelivery[]; next_cursor: string | null }>(
          "GET",
          `${job(id)}/webhooks${q(params)}`,
        ),
      redeliverWebhook: (id: string, deliveryId: string) =>
        call<WebhookDelivery>("POST", `${job(id)}/webhooks/${seg(deliveryId)}/redeliver`),
    },
    fingerprints: {
      /** The tenant's earlier inputs with the same content as this job's (its fingerprint output). */
      matches: (params: FingerprintMatchQuery) =>
        call<FingerprintMatches>("GET", `/v1/fingerprints/matches${q(params)}`),
    },
    uploads: {
      /** Asks where to PUT a file (send `size_bytes`: S3 signs the URL for it). */
      create: (body: UploadRequest) => call<UploadTarget>("POST", "/v1/uploads", body),
      /** One request for small files on the local store: the body is the file. */
      send: async (body: UploadBody, contentType = "application/octet-stream") => {
        const headers = { ...keyHeader(), "content-type": contentType };
        return settle<Upload>(await doFetch(`${base}/v1/uploads`, { method: "POST", headers, body }));
      },
      /**
       * PUTs the bytes where `target` says (see uploadDestination). A stream body needs its
       * `contentLength`; presigned S3 answers with no JSON, so `data` is null then.
       */
      put: async (target: UploadTarget, body: UploadBody, put: { contentLength?: number } = {}) => {
        const dest = uploadDestination(base, target);
        const init: RequestInit & { duplex?: "half" } = {
          method: target.method,
          headers: {
            ...(dest.withKey ? keyHeader() : {}),
            ...target.headers,
            ...(put.contentLength !== undefined ? { "content-length": String(put.contentLength) } : {}),
          },
          body,
          // Node's fetch streams a request body only in half-duplex mode.
          ...(body instanceof ReadableStream ? { duplex: "half" as const } : {}),
        };
        return settle<Upload | null>(await doFetch(dest.url, init));
      },
      get: (id: string) => call<Upload>("GET", `/v1/uploads/${seg(id)}`),
    },
    templates: {
      create: (body: TemplateCreate) => call<Template>("POST", "/v1/templates", body),
      list: (params: { cursor?: string; limit?: number } = {}) =>
        call<TemplatePage>("GET", `/v1/templates${q(params)}`),
      /** By name or id, optionally `@version` (the latest without). */
      get: (ref: string) => call<Template>("GET", `/v1/templates/${seg(ref)}`),
      versions: (ref: string) => call<{ data: Template[] }>("GET", `/v1/templates/${seg(ref)}/versions`),
      /** Stores a new version (the earlier ones stay, for jobs that name them). */
      update: (ref: string, body: TemplateBodyInput) =>
        call<Template>("PUT", `/v1/templates/${seg(ref)}`, body),
      delete: (ref: string) => call<null>("DELETE", `/v1/templates/${seg(ref)}`),
    },
    batches: {
      /** Answers at once (202); the jobs are made in the background. */
      create: (body: BatchCreate, opts: { idempotencyKey?: string } = {}) =>
        call<Batch>(
          "POST",
          "/v1/batches",
          body,
          opts.idempotencyKey ? { "idempotency-key": opts.idempotencyKey } : {},
        ),
      list: (params: { cursor?: string; limit?: number } = {}) =>
        call<BatchPage>("GET", `/v1/batches${q(params)}`),
      /** Counts, progress and a page of its jobs (`status`, `cursor`, `limit`). */
      get: (id: string, params: BatchJobsQuery = {}) =>
        call<Batch>("GET", `/v1/batches/${seg(id)}${q(params)}`),
      cancel: (id: string) => call<Batch>("POST", `/v1/batches/${seg(id)}/cancel`),
      retryFailed: (id: string) => call<Batch>("POST", `/v1/batches/${seg(id)}/retry-failed`),
      webhooks: (id: string, params: { cursor?: string; limit?: number } = {}) =>
        call<{ data: WebhookDelivery[]; next_cursor: string | null }>(
          "GET",
          `/v1/batches/${seg(id)}/webhooks${q(params)}`,
        ),
    },
    watches: {
      create: (body: WatchCreate) => call<Watch>("POST", "/v1/watches", body),
      list: (params: { cursor?: string; limit?: number } = {}) =>
        call<WatchPage>("GET", `/v1/watches${q(params)}`),
      get: (id: string) => call<Watch>("GET", `/v1/watches/${seg(id)}`),
      update: (id: string, body: WatchUpdate) => call<Watch>("PATCH", `/v1/watches/${seg(id)}`, body),
      delete: (id: string) => call<null>("DELETE", `/v1/watches/${seg(id)}`),
      /** Looks now rather than at the next scheduled time. */
      poll: (id: string) => call<Watch>("POST", `/v1/watches/${seg(id)}/poll`),
      /** What it has seen (key, ETag) and the job each made, oldest first. */
      objects: (id: string, params: { cursor?: number; limit?: number } = {}) =>
        call<WatchObjectPage>("GET", `/v1/watches/${seg(id)}/objects${q(params)}`),
    },
    usage: (params: UsageQuery) => call<Usage>("GET", `/v1/usage${q(params)}`),
    quotas: () => call<Quotas>("GET", "/v1/quotas"),
    webhook: {
      get: () => call<TenantWebhook>("GET", "/v1/webhook"),
      /** The first call creates the signing secret and returns it (`secret`) this once. */
      set: (body: TenantWebhookRequest) => call<TenantWebhook>("PUT", "/v1/webhook", body),
      rotateSecret: (body: SecretRotate = {}) =>
        call<TenantWebhook>("POST", "/v1/webhook/rotate-secret", body),
    },
    admin: {
      createTenant: (name: string) => call<Tenant>("POST", "/v1/admin/tenants", { name }),
      listTenants: () => call<{ data: Tenant[] }>("GET", "/v1/admin/tenants"),
      createKey: (tenantId: string, body: KeyCreate) =>
        call<IssuedApiKey>("POST", `/v1/admin/tenants/${seg(tenantId)}/keys`, body),
      listKeys: (tenantId?: string) =>
        call<{ data: ApiKey[] }>("GET", `/v1/admin/keys${q({ tenant_id: tenantId })}`),
      getKey: (keyId: string) => call<ApiKey>("GET", `/v1/admin/keys/${seg(keyId)}`),
      /** The jobs a key submitted, newest first (a leaked key: what did it do?). */
      keyJobs: (keyId: string, params: JobListQuery = {}) =>
        call<JobPage>("GET", `/v1/admin/keys/${seg(keyId)}/jobs${q(params)}`),
      revokeKey: (keyId: string) => call<ApiKey>("POST", `/v1/admin/keys/${seg(keyId)}/revoke`),
      rotateKey: (keyId: string, body: KeyRotate = {}) =>
        call<RotatedApiKey>("POST", `/v1/admin/keys/${seg(keyId)}/rotate`, body),
      maintenance: () => call<MaintenanceState>("GET", "/v1/admin/maintenance"),
      setMaintenance: (body: MaintenanceRequest) =>
        call<MaintenanceState>("PUT", "/v1/admin/maintenance", body),
      nodes: () => call<NodeList>("GET", "/v1/admin/nodes"),
      deadLetters: (limit?: number) => call<DeadLetterList>("GET", `/v1/admin/dead-letters${q({ limit })}`),
      requeueDeadLetter: (jobId: string) =>
        call<{ job_id: string; status: Job["status"]; generation: number }>(
          "POST",
          `/v1/admin/dead-letters/${seg(jobId)}/requeue`,
        ),
      dropDeadLetter: (jobId: string) => call<null>("DELETE", `/v1/admin/dead-letters/${seg(jobId)}`),
      quotas: (tenantId: string) => call<Quotas>("GET", `/v1/admin/tenants/${seg(tenantId)}/quotas`),
      setQuotas: (tenantId: string, body: QuotaSettings) =>
        call<Quotas>("PUT", `/v1/admin/tenants/${seg(tenantId)}/quotas`, body),
      /** Every tenant's usage as CSV (one figure per line); `data` is null, read `text`. */
      usageCsv: async (params: UsageQuery) => {
        const res = await doFetch(`${base}/v1/admin/usage.csv${q(params)}`, {
          method: "GET",
          headers: keyHeader(),
        });
        return { status: res.status, text: await res.text(), contentType: res.headers.get("content-type") };
      },
    },
  };
}

export type FramewireClient = ReturnType<typeof createFramewireClient>;

/** A readable sentence for a failed call, with the field errors of a validation problem. */
export function describeProblem(problem: Problem | null | undefined, status: number): string {
  if (!problem || typeof problem !== "object") return `The request failed (HTTP ${status}).`;
  const fields = (problem.errors ?? []).map((e) => `${e.field || "request"}: ${e.message}`).join("; ");
  const base = problem.detail || problem.title || `HTTP ${status}`;
  return fields && !base.includes(fields) ? `${base} (${fields})` : base;
}
