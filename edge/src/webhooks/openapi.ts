import { webhookEvents, webhookSpecSchema } from "@framewire/shared";
import { common, json, ok, pathParam, problem, ref, schema } from "../openapi-parts";
import { secretRotateSchema, tenantWebhookSchema } from "../routes/webhooks";

/** The webhook parts of the OpenAPI document (paths, schemas, and the 3.1 `webhooks` section). */

const time = { type: ["string", "null"], format: "date-time" };

const deliverySchema = {
  type: "object",
  properties: {
    id: { type: "string", description: "Also the Framewire-Webhook-Id header: the same on every retry" },
    event: { enum: [...webhookEvents] },
    url: { type: "string" },
    status: { enum: ["pending", "succeeded", "failed"] },
    attempt_count: { type: "integer" },
    next_attempt_at: time,
    deadline_at: time,
    delivered_at: time,
    last_status_code: { type: ["integer", "null"] },
    last_error: { type: ["string", "null"] },
    created_at: time,
    attempts: {
      type: "array",
      items: {
        type: "object",
        properties: {
          attempt: { type: "integer" },
          at: { type: "string", format: "date-time" },
          status_code: { type: ["integer", "null"], description: "null when no HTTP answer came" },
          latency_ms: { type: "integer" },
          error: { type: ["string", "null"] },
        },
      },
    },
  },
};

const tenantWebhookSchemaOut = {
  type: "object",
  properties: {
    url: { type: ["string", "null"] },
    events: { type: "array", items: { enum: [...webhookEvents] } },
    secret_hint: { type: "string" },
    secret: { type: "string", description: "Only in the answer that creates or rotates it" },
    previous_secret_expires_at: time,
    created_at: time,
    updated_at: time,
  },
};

export const webhookSchemas = {
  WebhookSpec: schema(webhookSpecSchema),
  TenantWebhookSettings: schema(tenantWebhookSchema),
  TenantWebhook: tenantWebhookSchemaOut,
  SecretRotate: schema(secretRotateSchema),
  WebhookDelivery: deliverySchema,
};

export const webhookPaths = {
  "/v1/webhook": {
    get: {
      summary: "The tenant's default webhook and a hint of its signing secret",
      responses: { "200": ok("Settings", ref("TenantWebhook")), "404": problem("None yet"), ...common },
    },
    put: {
      summary: "Set the default webhook (url null: none); the first call creates the signing secret",
      requestBody: { required: true, content: json(ref("TenantWebhookSettings")) },
      responses: {
        "201": ok("Created: `secret` is in this answer only", ref("TenantWebhook")),
        "200": ok("Updated", ref("TenantWebhook")),
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
      requestBody: { required: false, content: json(ref("SecretRotate")) },
      responses: {
        "200": ok("`secret` is in this answer only", ref("TenantWebhook")),
        "404": problem("None yet"),
        ...common,
      },
    },
  },
  "/v1/jobs/{id}/webhooks": {
    parameters: [pathParam("id", "job id")],
    get: {
      summary: "The job's webhook deliveries with every attempt (time, status code, latency, error)",
      responses: {
        "200": ok("Deliveries", {
          type: "object",
          properties: { data: { type: "array", items: ref("WebhookDelivery") } },
        }),
        "404": problem("No such job for this tenant"),
        ...common,
      },
    },
  },
  "/v1/jobs/{id}/webhooks/{deliveryId}/redeliver": {
    parameters: [pathParam("id", "job id"), pathParam("deliveryId", "delivery id")],
    post: {
      summary: "Send a delivery again now (same body and id), with a fresh deadline",
      responses: {
        "202": ok("Due again", ref("WebhookDelivery")),
        "404": problem("No such job or delivery"),
        "409": problem("An attempt is in flight"),
        ...common,
      },
    },
  },
};

const signatureDoc =
  "Framewire-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, `<t>.<raw body>`)> (one v1 per valid secret during a rotation). " +
  "Verify against the raw body, refuse timestamps more than 5 minutes away (replay window), and deduplicate on Framewire-Webhook-Id. " +
  "`verifyWebhook` in the typed client does the first two. Retried with exponential backoff and jitter until a 2xx or the deadline (24 h by default); redirects are not followed.";

/** OpenAPI 3.1 `webhooks`: what receivers get. */
export const webhookEventsDoc = Object.fromEntries(
  webhookEvents.map((event) => [
    event,
    {
      post: {
        summary: `${event}: ${signatureDoc}`,
        parameters: [
          { name: "Framewire-Signature", in: "header", required: true, schema: { type: "string" } },
          { name: "Framewire-Webhook-Id", in: "header", required: true, schema: { type: "string" } },
          { name: "Framewire-Event", in: "header", required: true, schema: { const: event } },
        ],
        requestBody: {
          required: true,
          content: json({
            type: "object",
            required: ["id", "type", "created_at", "data"],
            properties: {
              id: { type: "string" },
              type: { const: event },
              created_at: { type: "string", format: "date-time" },
              data:
                event === "job.progress"
                  ? {
                      type: "object",
                      properties: {
                        job: {
                          type: "object",
                          properties: { id: { type: "string" }, status: { type: "string" } },
                        },
                        percent: { type: ["number", "null"] },
                      },
                    }
                  : { type: "object", properties: { job: ref("Job") } },
            },
          }),
        },
        responses: { "200": { description: "Any 2xx ends the delivery; anything else is retried" } },
      },
    },
  ]),
);
