import {
  apiKeyListSchema,
  apiKeySchema,
  batchCreateSchema,
  batchJobsQuerySchema,
  batchListQuerySchema,
  batchPageSchema,
  batchSchema,
  batchWebhookDataSchema,
  deadLetterListQuerySchema,
  deadLetterListSchema,
  deliveryPageQuerySchema,
  fingerprintMatchesSchema,
  fingerprintMatchQuerySchema,
  healthDetailedSchema,
  healthSchema,
  issuedApiKeySchema,
  jobEventListSchema,
  jobListQuerySchema,
  jobLogsSchema,
  jobPageSchema,
  jobRequestSchema,
  jobSpecSchema,
  jobViewSchema,
  jobWebhookDataSchema,
  keyCreateSchema,
  keyRotateSchema,
  maintenanceRequestSchema,
  maintenanceStateSchema,
  meSchema,
  nodeListSchema,
  problemSchema,
  progressWebhookDataSchema,
  quotaSettingsSchema,
  quotasSchema,
  requeuedSchema,
  rotatedApiKeySchema,
  secretRotateSchema,
  templateBodySchema,
  templateCreateSchema,
  templateListQuerySchema,
  templatePageSchema,
  templateSchema,
  templateVersionsSchema,
  tenantCreateSchema,
  tenantListSchema,
  tenantSchema,
  tenantWebhookRequestSchema,
  tenantWebhookSchema,
  uploadRequestSchema,
  uploadSchema,
  uploadTargetSchema,
  usageQuerySchema,
  usageSchema,
  watchCreateSchema,
  watchListQuerySchema,
  watchObjectPageSchema,
  watchObjectsQuerySchema,
  watchPageSchema,
  watchSchema,
  watchUpdateSchema,
  webhookDeliveryPageSchema,
  webhookDeliverySchema,
  webhookEvents,
  webhookPayloadSchema,
} from "@framewire/shared";
import { z } from "zod";
import { edgeVersion } from "./routes/health";

/**
 * OpenAPI 3.1, generated from the contract's zod schemas (shared/src/api.ts): the request bodies
 * the edge validates with and the response bodies its presenters are typed by. z.toJSONSchema
 * emits JSON Schema 2020-12, which is what 3.1 uses; responses are generated in zod's "output" view
 * (defaults applied, every field declared, no others allowed). Only prose lives here.
 */

type Registry = Record<string, z.ZodType>;

const requestSchemas = {
  JobSpec: jobSpecSchema,
  JobRequest: jobRequestSchema,
  TemplateCreate: templateCreateSchema,
  TemplateUpdate: templateBodySchema,
  BatchCreate: batchCreateSchema,
  WatchCreate: watchCreateSchema,
  WatchUpdate: watchUpdateSchema,
  QuotaSettings: quotaSettingsSchema,
  UploadRequest: uploadRequestSchema,
  TenantCreate: tenantCreateSchema,
  KeyCreate: keyCreateSchema,
  KeyRotate: keyRotateSchema,
  Maintenance: maintenanceRequestSchema,
  TenantWebhookSettings: tenantWebhookRequestSchema,
  SecretRotate: secretRotateSchema,
} satisfies Registry;

const responseSchemas = {
  Job: jobViewSchema,
  /** The spec as stored: what the client sent with every default filled in. */
  JobSpecResolved: jobSpecSchema,
  JobPage: jobPageSchema,
  JobEvents: jobEventListSchema,
  JobLogs: jobLogsSchema,
  Upload: uploadSchema,
  UploadTarget: uploadTargetSchema,
  Health: healthSchema,
  HealthDetailed: healthDetailedSchema,
  Me: meSchema,
  Tenant: tenantSchema,
  Tenants: tenantListSchema,
  ApiKey: apiKeySchema,
  ApiKeys: apiKeyListSchema,
  IssuedApiKey: issuedApiKeySchema,
  RotatedApiKey: rotatedApiKeySchema,
  MaintenanceState: maintenanceStateSchema,
  Nodes: nodeListSchema,
  DeadLetters: deadLetterListSchema,
  Requeued: requeuedSchema,
  TenantWebhook: tenantWebhookSchema,
  WebhookDelivery: webhookDeliverySchema,
  WebhookDeliveries: webhookDeliveryPageSchema,
  FingerprintMatches: fingerprintMatchesSchema,
  Problem: problemSchema,
  Template: templateSchema,
  Templates: templatePageSchema,
  TemplateVersions: templateVersionsSchema,
  Batch: batchSchema,
  Batches: batchPageSchema,
  Watch: watchSchema,
  Watches: watchPageSchema,
  WatchObjects: watchObjectPageSchema,
  Usage: usageSchema,
  Quotas: quotasSchema,
} satisfies Registry;

type RequestName = keyof typeof requestSchemas;
type ResponseName = keyof typeof responseSchemas;

const componentUri = (id: string) => `#/components/schemas/${id}`;

/** Every schema of a registry as JSON Schema, referring to each other by component name. */
function components(schemas: Registry, io: "input" | "output"): Record<string, object> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(schemas)) registry.add(schema, { id });
  const { schemas: out } = z.toJSONSchema(registry, {
    io,
    uri: componentUri,
    unrepresentable: "any",
    target: "draft-2020-12",
  });
  // Each component is a schema inside the document, not a document of its own.
  return Object.fromEntries(
    Object.entries(out).map(([id, { $id: _id, $schema: _schema, ...rest }]) => [id, rest]),
  );
}

/** Query strings as OpenAPI parameters, from the schema the route parses them with. */
function queryParameters(schema: z.ZodObject) {
  const json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as {
    properties: Record<string, object>;
  };
  return Object.entries(json.properties).map(([name, s]) => ({
    name,
    in: "query",
    required: false,
    schema: s,
  }));
}

const ref = (name: RequestName | ResponseName) => ({ $ref: componentUri(name) });
const json = (s: object) => ({ "application/json": { schema: s } });
const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: ref("Problem") } },
});
const ok = (description: string, name: ResponseName) => ({ description, content: json(ref(name)) });
const body = (name: RequestName, required = true) => ({ required, content: json(ref(name)) });
const pathParam = (name: string, description: string) => ({
  name,
  in: "path",
  required: true,
  schema: { type: "string" },
  description,
});
/** What every keyed route may answer. */
const common = {
  "401": problem("Missing, unknown, revoked or expired API key"),
  "429": problem("Rate limited (RateLimit-* and Retry-After headers)"),
};
const writes = { ...common, "503": problem("Maintenance mode (Retry-After)") };
const admin = { ...common, "403": problem("The key lacks the admin scope") };

const signatureDoc =
  "Framewire-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, `<t>.<raw body>`)> (one v1 per valid secret during a rotation). " +
  "Verify against the raw body, refuse timestamps more than 5 minutes away (replay window), and deduplicate on Framewire-Webhook-Id. " +
  "`verifyWebhook` in the typed client does the first two. Retried with exponential backoff and jitter until a 2xx or the deadline (24 h by default); redirects are not followed.";

/** OpenAPI 3.1 `webhooks`: what receivers get, per event. */
function webhookEventsDoc() {
  return Object.fromEntries(
    webhookEvents.map((event) => {
      const data =
        event === "job.progress"
          ? progressWebhookDataSchema
          : event === "batch.completed"
            ? batchWebhookDataSchema
            : jobWebhookDataSchema;
      const payload = z.toJSONSchema(webhookPayloadSchema(z.literal(event), data), {
        io: "output",
        unrepresentable: "any",
        target: "draft-2020-12",
        // The job in a body is the Job component, not a copy of it.
        override: (ctx) => {
          if (ctx.zodSchema === jobViewSchema) {
            for (const key of Object.keys(ctx.jsonSchema))
              delete (ctx.jsonSchema as Record<string, unknown>)[key];
            Object.assign(ctx.jsonSchema, ref("Job"));
          }
        },
      });
      const { $schema: _schema, ...schema } = payload;
      return [
        event,
        {
          post: {
            summary: `${event}: ${signatureDoc}`,
            parameters: [
              { name: "Framewire-Signature", in: "header", required: true, schema: { type: "string" } },
              { name: "Framewire-Webhook-Id", in: "header", required: true, schema: { type: "string" } },
              { name: "Framewire-Event", in: "header", required: true, schema: { const: event } },
            ],
            requestBody: { required: true, content: json(schema) },
            responses: { "200": { description: "Any 2xx ends the delivery; anything else is retried" } },
          },
        },
      ];
    }),
  );
}

function paths() {
  const job = [pathParam("id", "job id")];
  return {
    "/v1/health": {
      get: { summary: "Liveness (no key)", security: [], responses: { "200": ok("Up", "Health") } },
    },
    "/v1/me": {
      get: {
        summary: "The calling key (id, prefix, name, scopes, expiry) and its tenant",
        responses: { "200": ok("This key", "Me"), ...common },
      },
    },
    "/v1/health/detailed": {
      get: {
        summary:
          "Database, object store (a probe object written, read and deleted), NATS, queue depth and the oldest " +
          "queued job's age, outbox, nodes (engines, encoders, FFmpeg versions, disk, memory, clock skew, storage), " +
          "dead letters, versions (admin key)",
        responses: {
          "200": ok("All reachable", "HealthDetailed"),
          "503": ok("Degraded", "HealthDetailed"),
          ...admin,
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
        description:
          "A job spec: one `input` (or named `inputs` for composition and highlight_reel outputs), optional `subtitles` " +
          "(SRT or WebVTT files by name, for burned subtitles, subtitle tracks and HLS subtitle renditions) and up to 16 " +
          "outputs (video, audio, thumbnails, hls, analysis, animation, waveform, subtitles, composition, highlight_reel). " +
          'Or `template: "<name or id>[@version]"` with overrides (the template\'s outputs and ' +
          "defaults first, the request's fields over them). Refused with 429 `quota_exceeded` (naming the limit) " +
          "past the tenant's max_queued_jobs or media_minutes_per_month; max_running_jobs holds jobs queued instead.",
        requestBody: { required: true, content: json({ oneOf: [ref("JobSpec"), ref("JobRequest")] }) },
        responses: {
          "202": ok("Accepted (or replayed for the same Idempotency-Key and body)", "Job"),
          "403": problem("A destination bucket the operator does not allow (bucket_not_allowed)"),
          "409": problem("Idempotency-Key reused with another body"),
          "410": problem("The input names an upload that retention deleted (upload_expired)"),
          "422": problem(
            "Validation failed (`errors` point at each field), template_not_found, or destination_path_invalid",
          ),
          "413": problem("Body too large"),
          ...writes,
          "429": problem("Rate limited, or quota_exceeded (`limit` names it)"),
          "503": problem(
            "Maintenance mode (Retry-After), or no_capable_node: no live node can run the job and the operator " +
              "set FW_UNSERVED_POOL=refuse (otherwise it is accepted with `warnings`)",
          ),
        },
      },
      get: {
        summary: "List this tenant's jobs, newest first (`api_key`: only one of its keys' jobs)",
        parameters: queryParameters(jobListQuerySchema),
        responses: { "200": ok("A page", "JobPage"), ...common },
      },
    },
    "/v1/jobs/{id}": {
      parameters: job,
      get: {
        summary: "Read a job",
        description:
          "Answers with a weak `ETag` and `Cache-Control: private, no-cache`; a poller that sends the tag back " +
          "in `If-None-Match` gets 304 and no body while the job is unchanged (the tag also moves once a " +
          "minute, with the signed links in the view).",
        parameters: [{ name: "If-None-Match", in: "header", required: false, schema: { type: "string" } }],
        responses: {
          "200": {
            ...ok("The job", "Job"),
            headers: {
              ETag: { description: "The job's version and signing window", schema: { type: "string" } },
            },
          },
          "304": {
            description: "Unchanged since the ETag sent in If-None-Match",
            headers: { ETag: { description: "The same tag", schema: { type: "string" } } },
          },
          "404": problem("No such job for this tenant"),
          ...common,
        },
      },
      delete: {
        summary: "Cancel a job",
        responses: {
          "200": ok("Canceled", "Job"),
          "409": problem("Already final"),
          "404": problem("No such job"),
          ...writes,
        },
      },
    },
    "/v1/jobs/{id}/events": {
      parameters: job,
      get: {
        summary: "The job's state transitions, oldest first",
        responses: { "200": ok("Events", "JobEvents"), "404": problem("No such job"), ...common },
      },
    },
    "/v1/jobs/{id}/logs": {
      parameters: job,
      get: {
        summary:
          "Each attempt's log: FFmpeg's warnings and errors and the node's own words, with the node and " +
          "timings (bounded; deleted with the job's outputs)",
        responses: { "200": ok("Logs", "JobLogs"), "404": problem("No such job for this tenant"), ...common },
      },
    },
    "/v1/jobs/{id}/retry": {
      parameters: job,
      post: {
        summary: "Retry a failed job",
        responses: {
          "202": ok("Queued again", "Job"),
          "409": problem("Not failed"),
          "404": problem("No such job"),
          "410": problem("Its upload has expired (upload_expired)"),
          ...writes,
        },
      },
    },
    "/v1/jobs/{id}/webhooks": {
      parameters: job,
      get: {
        summary: "The job's webhook deliveries with every attempt (time, status code, latency, error)",
        parameters: queryParameters(deliveryPageQuerySchema),
        responses: {
          "200": ok("Deliveries", "WebhookDeliveries"),
          "404": problem("No such job for this tenant"),
          ...common,
        },
      },
    },
    "/v1/jobs/{id}/webhooks/{deliveryId}/redeliver": {
      parameters: [...job, pathParam("deliveryId", "delivery id")],
      post: {
        summary: "Send a delivery again now (same body and id), with a fresh deadline",
        responses: {
          "202": ok("Due again", "WebhookDelivery"),
          "404": problem("No such job or delivery"),
          "409": problem("An attempt is in flight"),
          ...common,
        },
      },
    },
    "/v1/fingerprints/matches": {
      get: {
        summary: "Near-duplicates: the tenant's earlier inputs with the same content as a job's input",
        description:
          "Compares the job's `fingerprint` analysis output (Chromaprint by bit error rate at the best " +
          "alignment; frame pHashes by Hamming distance) with the tenant's 5,000 most recent fingerprinted " +
          "inputs. Fingerprints are indexed when a job succeeds; another tenant's are never read.",
        parameters: queryParameters(fingerprintMatchQuerySchema),
        responses: {
          "200": ok("Matches, best first", "FingerprintMatches"),
          "404": problem("No such job for this tenant, or it has no fingerprint output"),
          "409": problem("The job has not succeeded yet"),
          "422": problem("Bad query"),
          ...common,
        },
      },
    },
    "/v1/uploads": {
      post: {
        summary: "Upload an input (raw body, local store), or ask where to PUT it (JSON body)",
        description:
          "With S3 storage the answer is a presigned PUT URL signed for `size_bytes` (required); " +
          "the stored size is checked before a job may use the upload. A raw body then answers 409.",
        requestBody: body("UploadRequest", false),
        responses: {
          "201": {
            description: "Upload target (JSON request) or the stored upload (raw body)",
            content: json({ oneOf: [ref("UploadTarget"), ref("Upload")] }),
          },
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
          "200": ok("Upload", "Upload"),
          "404": problem("No such upload"),
          "413": problem("The stored object exceeds the limit (it was deleted)"),
          "422": problem("The stored object is empty or not the size signed for (it was deleted)"),
          ...common,
        },
      },
      put: {
        summary: "PUT the file of an upload created with a JSON body",
        responses: { "200": ok("Stored", "Upload"), "409": problem("Already received"), ...writes },
      },
    },
    "/v1/webhook": {
      get: {
        summary: "The tenant's default webhook and a hint of its signing secret",
        responses: { "200": ok("Settings", "TenantWebhook"), "404": problem("None yet"), ...common },
      },
      put: {
        summary: "Set the default webhook (url null: none); the first call creates the signing secret",
        requestBody: body("TenantWebhookSettings"),
        responses: {
          "201": ok("Created: `secret` is in this answer only", "TenantWebhook"),
          "200": ok("Updated", "TenantWebhook"),
          "422": problem(
            "Invalid, or `webhook_url_refused` (a private or local address, or http when not allowed)",
          ),
          ...common,
        },
      },
    },
    "/v1/webhook/rotate-secret": {
      post: {
        summary: "New signing secret; the old one also signs for grace_period_sec (default 24 h)",
        requestBody: body("SecretRotate", false),
        responses: {
          "200": ok("`secret` is in this answer only", "TenantWebhook"),
          "404": problem("None yet"),
          ...common,
        },
      },
    },
    "/v1/templates": {
      post: {
        summary: "Store a named template (version 1): a job's outputs and defaults, without an input",
        requestBody: body("TemplateCreate"),
        responses: {
          "201": ok("Created", "Template"),
          "403": problem("A destination bucket the operator does not allow (bucket_not_allowed)"),
          "409": problem("A template of this name exists (update it instead)"),
          "422": problem("Validation failed, or destination_path_invalid"),
          ...writes,
        },
      },
      get: {
        summary: "This tenant's templates (latest versions), newest first",
        parameters: queryParameters(templateListQuerySchema),
        responses: { "200": ok("A page", "Templates"), ...common },
      },
    },
    "/v1/templates/{ref}": {
      parameters: [pathParam("ref", "template name or id, optionally @version")],
      get: {
        summary: "Read a template (its latest version, or the one named)",
        responses: { "200": ok("Template", "Template"), "404": problem("No such template"), ...common },
      },
      put: {
        summary: "Update: store the body as a new version (jobs naming an older version keep it)",
        requestBody: body("TemplateUpdate"),
        responses: {
          "200": ok("The new version", "Template"),
          "404": problem("No such template"),
          "422": problem("Validation failed, or destination_path_invalid"),
          ...writes,
        },
      },
      delete: {
        summary: "Delete a template with all its versions (jobs keep the spec they were made with)",
        responses: { "204": { description: "Deleted" }, "404": problem("No such template"), ...writes },
      },
    },
    "/v1/templates/{ref}/versions": {
      parameters: [pathParam("ref", "template name or id")],
      get: {
        summary: "Every version of a template, newest first",
        responses: {
          "200": ok("Versions", "TemplateVersions"),
          "404": problem("No such template"),
          ...common,
        },
      },
    },
    "/v1/batches": {
      post: {
        summary:
          "One job per input (up to 10,000), from a template or outputs; answers at once, jobs are made in the background",
        parameters: [
          {
            name: "Idempotency-Key",
            in: "header",
            required: false,
            schema: { type: "string", maxLength: 255 },
          },
        ],
        requestBody: body("BatchCreate"),
        responses: {
          "202": ok("Accepted (or replayed for the same Idempotency-Key and body)", "Batch"),
          "403": problem("A destination or input bucket the operator does not allow"),
          "409": problem("Idempotency-Key reused with another body"),
          "413": problem("Body too large (FW_MAX_BATCH_BYTES)"),
          "422": problem(
            "Validation failed, batch_too_large, template_not_found or destination_path_invalid",
          ),
          ...writes,
        },
      },
      get: {
        summary: "This tenant's batches, newest first",
        parameters: queryParameters(batchListQuerySchema),
        responses: { "200": ok("A page", "Batches"), ...common },
      },
    },
    "/v1/batches/{id}": {
      parameters: [pathParam("id", "batch id")],
      get: {
        summary: "A batch: counts by state, progress, and a page of its jobs",
        parameters: queryParameters(batchJobsQuerySchema),
        responses: { "200": ok("Batch", "Batch"), "404": problem("No such batch"), ...common },
      },
    },
    "/v1/batches/{id}/cancel": {
      parameters: [pathParam("id", "batch id")],
      post: {
        summary:
          "Cancel the batch: its queued and running jobs are canceled, inputs not yet made into jobs dropped",
        responses: { "202": ok("Canceling", "Batch"), "404": problem("No such batch"), ...writes },
      },
    },
    "/v1/batches/{id}/retry-failed": {
      parameters: [pathParam("id", "batch id")],
      post: {
        summary: "Retry every failed job of the batch (batch.completed is sent again when they end)",
        responses: {
          "202": ok("Retrying", "Batch"),
          "404": problem("No such batch"),
          "409": problem("Canceled"),
          ...writes,
        },
      },
    },
    "/v1/batches/{id}/webhooks": {
      parameters: [pathParam("id", "batch id")],
      get: {
        summary: "The batch's own webhook deliveries (batch.completed) with every attempt",
        parameters: queryParameters(deliveryPageQuerySchema),
        responses: {
          "200": ok("Deliveries", "WebhookDeliveries"),
          "404": problem("No such batch"),
          ...common,
        },
      },
    },
    "/v1/watches": {
      post: {
        summary:
          "Watch an S3 bucket prefix: each new or changed object (key, ETag) becomes one job from the template",
        requestBody: body("WatchCreate"),
        responses: {
          "201": ok("Created", "Watch"),
          "403": problem("A bucket the operator does not allow (bucket_not_allowed)"),
          "422": problem(
            "Validation failed, template_not_found, or a schedule below FW_WATCH_MIN_INTERVAL_SEC",
          ),
          ...writes,
        },
      },
      get: {
        summary: "This tenant's watches, newest first",
        parameters: queryParameters(watchListQuerySchema),
        responses: { "200": ok("A page", "Watches"), ...common },
      },
    },
    "/v1/watches/{id}": {
      parameters: [pathParam("id", "watch id")],
      get: {
        summary: "A watch, with the error of its last look if it failed",
        responses: { "200": ok("Watch", "Watch"), "404": problem("No such watch"), ...common },
      },
      patch: {
        summary: "Change a watch's template, schedule, or pause it",
        requestBody: body("WatchUpdate"),
        responses: { "200": ok("Updated", "Watch"), "404": problem("No such watch"), ...writes },
      },
      delete: {
        summary: "Delete a watch and its history (its jobs stay)",
        responses: { "204": { description: "Deleted" }, "404": problem("No such watch"), ...writes },
      },
    },
    "/v1/watches/{id}/poll": {
      parameters: [pathParam("id", "watch id")],
      post: {
        summary: "Look at the bucket now rather than at the next scheduled time",
        responses: {
          "202": ok("Looked (or another look is under way)", "Watch"),
          "404": problem("No such watch"),
          ...writes,
        },
      },
    },
    "/v1/watches/{id}/objects": {
      parameters: [pathParam("id", "watch id")],
      get: {
        summary: "The watch's history: each object (key, ETag) it saw and the job it made, oldest first",
        parameters: queryParameters(watchObjectsQuerySchema),
        responses: { "200": ok("A page", "WatchObjects"), "404": problem("No such watch"), ...common },
      },
    },
    "/v1/usage": {
      get: {
        summary:
          "This tenant's usage over [from, to] (UTC days): jobs by outcome, input and output media minutes " +
          "(by output type, codec and accel), compute seconds, bytes stored and served",
        parameters: queryParameters(usageQuerySchema),
        responses: { "200": ok("Usage", "Usage"), "422": problem("Bad period"), ...common },
      },
    },
    "/v1/quotas": {
      get: {
        summary: "This tenant's quotas (set by an admin) and what is used of them",
        responses: { "200": ok("Quotas", "Quotas"), ...common },
      },
    },
    "/v1/admin/usage.csv": {
      get: {
        summary: "Every tenant's usage over [from, to] as CSV, one figure per line (admin)",
        parameters: queryParameters(usageQuerySchema),
        responses: {
          "200": {
            description: "tenant_id,tenant_name,group,metric,output_type,codec,accel,value",
            content: { "text/csv": { schema: { type: "string" } } },
          },
          ...admin,
        },
      },
    },
    "/v1/admin/tenants/{tenantId}/quotas": {
      parameters: [pathParam("tenantId", "tenant id")],
      get: {
        summary: "A tenant's quotas and usage of them (admin)",
        responses: { "200": ok("Quotas", "Quotas"), "404": problem("No such tenant"), ...admin },
      },
      put: {
        summary: "Set a tenant's quotas (admin); null: no limit",
        requestBody: body("QuotaSettings"),
        responses: { "200": ok("Quotas", "Quotas"), "404": problem("No such tenant"), ...admin },
      },
    },
    "/v1/admin/tenants": {
      post: {
        summary: "Create a tenant (admin)",
        requestBody: body("TenantCreate"),
        responses: { "201": ok("Created", "Tenant"), ...admin },
      },
      get: { summary: "List tenants (admin)", responses: { "200": ok("Tenants", "Tenants"), ...admin } },
    },
    "/v1/admin/tenants/{tenantId}/keys": {
      parameters: [pathParam("tenantId", "tenant id")],
      post: {
        summary: "Issue an API key (admin); the response is the only time the secret is shown",
        requestBody: body("KeyCreate"),
        responses: { "201": ok("Issued", "IssuedApiKey"), "404": problem("No such tenant"), ...admin },
      },
    },
    "/v1/admin/keys": {
      get: {
        summary: "List keys (admin); never the hash or the secret",
        parameters: [{ name: "tenant_id", in: "query", required: false, schema: { type: "string" } }],
        responses: { "200": ok("Keys", "ApiKeys"), ...admin },
      },
    },
    "/v1/admin/keys/{keyId}": {
      parameters: [pathParam("keyId", "key id")],
      get: { summary: "Read a key (admin)", responses: { "200": ok("Key", "ApiKey"), ...admin } },
    },
    "/v1/admin/keys/{keyId}/jobs": {
      parameters: [pathParam("keyId", "key id")],
      get: {
        summary: "The jobs a key submitted, newest first (admin): what a leaked key did",
        parameters: queryParameters(jobListQuerySchema),
        responses: { "200": ok("A page", "JobPage"), "404": problem("No such key"), ...admin },
      },
    },
    "/v1/admin/keys/{keyId}/revoke": {
      parameters: [pathParam("keyId", "key id")],
      post: { summary: "Revoke a key now (admin)", responses: { "200": ok("Revoked", "ApiKey"), ...admin } },
    },
    "/v1/admin/keys/{keyId}/rotate": {
      parameters: [pathParam("keyId", "key id")],
      post: {
        summary: "Rotate: issue a replacement; the old key works for grace_period_sec more (admin)",
        requestBody: body("KeyRotate", false),
        responses: {
          "201": ok("New key (secret shown once) and the old one's revoked_at", "RotatedApiKey"),
          ...admin,
        },
      },
    },
    "/v1/admin/maintenance": {
      get: {
        summary: "Maintenance mode (admin)",
        responses: { "200": ok("State", "MaintenanceState"), ...admin },
      },
      put: {
        summary: "Switch maintenance mode (admin)",
        requestBody: body("Maintenance"),
        responses: { "200": ok("State", "MaintenanceState"), ...admin },
      },
    },
    "/v1/admin/nodes": {
      get: {
        summary: "Processing nodes from their heartbeats (admin)",
        responses: { "200": ok("Nodes", "Nodes"), ...admin },
      },
    },
    "/v1/admin/dead-letters": {
      get: {
        summary: "Jobs that exhausted their deliveries (admin)",
        parameters: queryParameters(deadLetterListQuerySchema),
        responses: { "200": ok("Dead letters", "DeadLetters"), ...admin },
      },
    },
    "/v1/admin/dead-letters/{jobId}": {
      parameters: [pathParam("jobId", "job id")],
      delete: {
        summary: "Drop a dead letter; the job stays failed (admin)",
        responses: { "204": { description: "Dropped" }, "404": problem("None"), ...admin },
      },
    },
    "/v1/admin/dead-letters/{jobId}/requeue": {
      parameters: [pathParam("jobId", "job id")],
      post: {
        summary: "Requeue a dead letter as a new dispatch (admin)",
        responses: { "202": ok("Requeued", "Requeued"), "404": problem("None"), ...admin },
      },
    },
  };
}

let cached: { serverUrl: string; doc: object } | null = null;

export function openApiDocument(serverUrl: string) {
  // The document is a pure function of the schemas and the URL: build it once.
  if (cached?.serverUrl === serverUrl) return cached.doc;
  const doc = {
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
      schemas: { ...components(requestSchemas, "input"), ...components(responseSchemas, "output") },
    },
    paths: paths(),
    webhooks: webhookEventsDoc(),
  };
  cached = { serverUrl, doc };
  return doc;
}
