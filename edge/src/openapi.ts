import { errorCatalog, jobSpecSchema, jobStatuses } from "@framewire/shared";
import { body, common, json, ok, pathParam, problem, ref, schema } from "./openapi-parts";
import { keyCreateSchema, keyRotateSchema, maintenanceSchema, tenantCreateSchema } from "./routes/admin";
import { edgeVersion } from "./routes/health";
import { listQuerySchema } from "./routes/jobs";
import { uploadRequestSchema } from "./routes/uploads";
import { webhookEventsDoc, webhookPaths, webhookSchemas } from "./webhooks/openapi";

/**
 * OpenAPI 3.1, built from the same zod schemas that validate requests (z.toJSONSchema emits JSON
 * Schema 2020-12, which is what 3.1 uses). Responses are described here, next to the paths.
 */
const writes = { ...common, "503": problem("Maintenance mode (Retry-After)") };

const listQuery = schema(listQuerySchema) as { properties: Record<string, object> };
const queryParams = Object.entries(listQuery.properties).map(([name, s]) => ({
  name,
  in: "query",
  required: false,
  schema: s,
}));

const jobSchema = {
  type: "object",
  required: ["id", "status", "priority", "attempts", "spec", "created_at", "progress_url", "links"],
  properties: {
    id: { type: "string", pattern: "^job_[0-9a-z]{26}$" },
    status: { enum: [...jobStatuses] },
    priority: { enum: ["high", "default", "low"] },
    attempts: { type: "integer", minimum: 0 },
    spec: ref("JobSpec"),
    error: {
      oneOf: [
        { type: "null" },
        {
          type: "object",
          properties: { code: { type: "string" }, message: { type: "string" }, detail: { type: "string" } },
        },
      ],
    },
    outputs: {
      type: "array",
      items: {
        type: "object",
        properties: {
          name: { type: "string" },
          url: {
            type: ["string", "null"],
            description:
              "signed (local store) or presigned (S3) download URL; for HLS the master playlist, served by the edge with every URI rewritten to its own link so any player can open it; null once expired",
          },
          expired: { type: "boolean", description: "deleted by retention (FW_OUTPUT_RETENTION_HOURS)" },
          expires_at: { type: ["string", "null"], format: "date-time" },
          files: {
            type: "array",
            description: "multi-file outputs (hls, thumbnails): every file with its own download URL",
            items: {
              type: "object",
              properties: {
                relative_path: { type: "string" },
                size_bytes: { type: "integer" },
                url: { type: ["string", "null"] },
              },
            },
          },
        },
      },
    },
    engine: { type: ["string", "null"] },
    created_at: { type: "string", format: "date-time" },
    updated_at: { type: "string", format: "date-time" },
    started_at: { type: ["string", "null"], format: "date-time" },
    finished_at: { type: ["string", "null"], format: "date-time" },
    progress_url: { type: "string", description: "WebSocket URL with a signed, short-lived token" },
    links: { type: "object", additionalProperties: { type: "string" } },
  },
};

const keySchema = {
  type: "object",
  properties: {
    id: { type: "string" },
    tenant_id: { type: "string" },
    prefix: { type: "string", description: "visible part of the key: fw_<prefix>_…" },
    name: { type: "string" },
    scopes: { type: "array", items: { enum: ["jobs:read", "jobs:write", "admin"] } },
    created_at: { type: "string", format: "date-time" },
    expires_at: { type: ["string", "null"], format: "date-time" },
    revoked_at: { type: ["string", "null"], format: "date-time" },
    last_used_at: { type: ["string", "null"], format: "date-time" },
    request_count: { type: "integer" },
  },
};

export function openApiDocument(serverUrl: string) {
  return {
    openapi: "3.1.0",
    info: {
      title: "Framewire API",
      version: edgeVersion,
      description:
        "Media processing jobs over FFmpeg. Errors are RFC 9457 problem details with a stable `code`.",
    },
    servers: [{ url: serverUrl }],
    security: [{ apiKey: [] }],
    components: {
      securitySchemes: { apiKey: { type: "http", scheme: "bearer", description: "fw_<prefix>_<secret>" } },
      schemas: {
        JobSpec: schema(jobSpecSchema),
        UploadRequest: schema(uploadRequestSchema),
        UploadTarget: {
          type: "object",
          properties: {
            id: { type: "string" },
            status: { const: "pending" },
            upload_url: { type: "string" },
            method: { const: "PUT" },
            headers: { type: "object", additionalProperties: { type: "string" } },
            expires_at: { type: ["string", "null"], format: "date-time" },
            max_bytes: { type: "integer" },
          },
        },
        Upload: {
          type: "object",
          properties: {
            id: { type: "string" },
            status: { enum: ["pending", "complete", "expired"] },
            size_bytes: { type: ["integer", "null"] },
            content_type: { type: ["string", "null"] },
            created_at: { type: "string", format: "date-time" },
            expires_at: { type: ["string", "null"], format: "date-time" },
          },
        },
        Job: jobSchema,
        ApiKey: keySchema,
        TenantCreate: schema(tenantCreateSchema),
        KeyCreate: schema(keyCreateSchema),
        KeyRotate: schema(keyRotateSchema),
        Maintenance: schema(maintenanceSchema),
        ...webhookSchemas,
        Problem: {
          type: "object",
          required: ["type", "title", "status", "code", "detail"],
          properties: {
            type: { type: "string" },
            title: { type: "string" },
            status: { type: "integer" },
            code: { enum: Object.keys(errorCatalog) },
            detail: { type: "string" },
            instance: { type: "string" },
            request_id: { type: "string" },
            errors: {
              type: "array",
              items: {
                type: "object",
                properties: { field: { type: "string" }, message: { type: "string" } },
              },
            },
          },
        },
      },
    },
    paths: {
      "/v1/health": {
        get: {
          summary: "Liveness (no key)",
          security: [],
          responses: { "200": ok("Up", { type: "object" }) },
        },
      },
      "/v1/me": {
        get: {
          summary: "The calling key (id, prefix, name, scopes, expiry) and its tenant",
          responses: { "200": ok("This key", { type: "object" }), ...common },
        },
      },
      "/v1/health/detailed": {
        get: {
          summary: "Database, NATS, queue depth, nodes, dead letters, versions (admin key)",
          responses: {
            "200": ok("All reachable", { type: "object" }),
            "503": ok("Degraded", { type: "object" }),
            ...common,
            "403": problem("The key lacks the admin scope"),
          },
        },
      },
      "/v1/jobs": {
        post: {
          summary: "Submit a job",
          parameters: [
            {
              name: "Idempotency-Key",
              in: "header",
              required: false,
              schema: { type: "string", maxLength: 255 },
            },
          ],
          requestBody: body(ref("JobSpec")),
          responses: {
            "202": ok("Accepted (or replayed for the same Idempotency-Key and body)", ref("Job")),
            "409": problem("Idempotency-Key reused with another body"),
            "422": problem("Validation failed; `errors` point at each field"),
            "413": problem("Body too large"),
            ...writes,
          },
        },
        get: {
          summary: "List this tenant's jobs, newest first",
          parameters: queryParams,
          responses: {
            "200": ok("A page", {
              type: "object",
              properties: {
                data: { type: "array", items: ref("Job") },
                next_cursor: { type: ["string", "null"] },
              },
            }),
            ...common,
          },
        },
      },
      "/v1/jobs/{id}": {
        parameters: [pathParam("id", "job id")],
        get: {
          summary: "Read a job",
          responses: {
            "200": ok("The job", ref("Job")),
            "404": problem("No such job for this tenant"),
            ...common,
          },
        },
        delete: {
          summary: "Cancel a job",
          responses: {
            "200": ok("Canceled", ref("Job")),
            "409": problem("Already final"),
            "404": problem("No such job"),
            ...writes,
          },
        },
      },
      "/v1/jobs/{id}/events": {
        parameters: [pathParam("id", "job id")],
        get: {
          summary: "The job's state transitions",
          responses: { "200": ok("Events", { type: "object" }), "404": problem("No such job"), ...common },
        },
      },
      "/v1/jobs/{id}/retry": {
        parameters: [pathParam("id", "job id")],
        post: {
          summary: "Retry a failed job",
          responses: {
            "202": ok("Queued again", ref("Job")),
            "409": problem("Not failed"),
            "404": problem("No such job"),
            ...writes,
          },
        },
      },
      "/v1/uploads": {
        post: {
          summary: "Upload an input (raw body, local store), or ask where to PUT it (JSON body)",
          description:
            "With S3 storage the answer is a presigned PUT URL signed for `size_bytes` (required); " +
            "the stored size is checked before a job may use the upload. A raw body then answers 409.",
          requestBody: { required: false, content: json(ref("UploadRequest")) },
          responses: {
            "201": ok("Upload target (JSON request) or the stored upload (raw body)", {
              oneOf: [ref("UploadTarget"), ref("Upload")],
            }),
            "409": problem("Raw body sent to an edge whose uploads go straight to S3"),
            "413": problem("Too large"),
            "422": problem("size_bytes missing (S3)"),
            ...writes,
          },
        },
      },
      "/v1/uploads/{id}": {
        parameters: [pathParam("id", "upload id")],
        get: {
          summary: "Read an upload's state (for S3, checks the stored object's size on first read)",
          responses: {
            "200": ok("Upload", ref("Upload")),
            "404": problem("No such upload"),
            "413": problem("The stored object exceeds the limit (it was deleted)"),
            "422": problem("The stored object is empty or not the size signed for (it was deleted)"),
            ...common,
          },
        },
        put: {
          summary: "PUT the file of an upload created with a JSON body",
          responses: { "200": ok("Stored", { type: "object" }), ...writes },
        },
      },
      "/v1/admin/tenants": {
        post: {
          summary: "Create a tenant (admin)",
          requestBody: body(ref("TenantCreate")),
          responses: { "201": ok("Created", { type: "object" }), ...common },
        },
        get: {
          summary: "List tenants (admin)",
          responses: { "200": ok("Tenants", { type: "object" }), ...common },
        },
      },
      "/v1/admin/tenants/{tenantId}/keys": {
        parameters: [pathParam("tenantId", "tenant id")],
        post: {
          summary: "Issue an API key (admin); the response is the only time the secret is shown",
          requestBody: body(ref("KeyCreate")),
          responses: {
            "201": ok("Issued", {
              allOf: [ref("ApiKey"), { type: "object", properties: { key: { type: "string" } } }],
            }),
            ...common,
          },
        },
      },
      "/v1/admin/keys": {
        get: {
          summary: "List keys (admin); never the hash or the secret",
          parameters: [{ name: "tenant_id", in: "query", required: false, schema: { type: "string" } }],
          responses: {
            "200": ok("Keys", {
              type: "object",
              properties: { data: { type: "array", items: ref("ApiKey") } },
            }),
            ...common,
          },
        },
      },
      "/v1/admin/keys/{keyId}": {
        parameters: [pathParam("keyId", "key id")],
        get: { summary: "Read a key (admin)", responses: { "200": ok("Key", ref("ApiKey")), ...common } },
      },
      "/v1/admin/keys/{keyId}/revoke": {
        parameters: [pathParam("keyId", "key id")],
        post: {
          summary: "Revoke a key now (admin)",
          responses: { "200": ok("Revoked", ref("ApiKey")), ...common },
        },
      },
      "/v1/admin/keys/{keyId}/rotate": {
        parameters: [pathParam("keyId", "key id")],
        post: {
          summary: "Rotate: issue a replacement; the old key works for grace_period_sec more (admin)",
          requestBody: { required: false, content: json(ref("KeyRotate")) },
          responses: {
            "201": ok("New key (secret shown once) and the old one's revoked_at", { type: "object" }),
            ...common,
          },
        },
      },
      "/v1/admin/maintenance": {
        get: {
          summary: "Maintenance mode (admin)",
          responses: { "200": ok("State", { type: "object" }), ...common },
        },
        put: {
          summary: "Switch maintenance mode (admin)",
          requestBody: body(ref("Maintenance")),
          responses: { "200": ok("State", { type: "object" }), ...common },
        },
      },
      "/v1/admin/nodes": {
        get: {
          summary: "Processing nodes from their heartbeats (admin)",
          responses: { "200": ok("Nodes", { type: "object" }), ...common },
        },
      },
      "/v1/admin/dead-letters": {
        get: {
          summary: "Jobs that exhausted their deliveries (admin)",
          parameters: [
            {
              name: "limit",
              in: "query",
              required: false,
              schema: { type: "integer", minimum: 1, maximum: 500 },
            },
          ],
          responses: { "200": ok("Dead letters", { type: "object" }), ...common },
        },
      },
      "/v1/admin/dead-letters/{jobId}": {
        parameters: [pathParam("jobId", "job id")],
        delete: {
          summary: "Drop a dead letter; the job stays failed (admin)",
          responses: { "204": { description: "Dropped" }, "404": problem("None"), ...common },
        },
      },
      "/v1/admin/dead-letters/{jobId}/requeue": {
        parameters: [pathParam("jobId", "job id")],
        post: {
          summary: "Requeue a dead letter as a new dispatch (admin)",
          responses: { "202": ok("Requeued", { type: "object" }), "404": problem("None"), ...common },
        },
      },
      ...webhookPaths,
    },
    webhooks: webhookEventsDoc,
  };
}
