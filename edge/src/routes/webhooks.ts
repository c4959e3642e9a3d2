import {
  deliveryPageQuerySchema,
  FramewireError,
  secretRotateSchema,
  tenantWebhookRequestSchema,
} from "@framewire/shared";
import { Hono } from "hono";
import { requireScope } from "../auth/authenticate";
import type { EdgeEnv } from "../env";
import { findJob } from "../jobs/repository";
import { requestHeader } from "../request-header";
import { parseOrThrow, readJson } from "../validation";
import { attemptDelivery } from "../webhooks/deliver";
import { presentDelivery, presentTenantWebhook } from "../webhooks/present";
import {
  findJobDelivery,
  findTenantWebhook,
  listJobDeliveries,
  rescheduleDelivery,
  rotateTenantSecret,
  upsertTenantWebhook,
} from "../webhooks/repository";
import { checkWebhookTarget } from "../webhooks/targets";

/** `/v1/webhook`: the tenant's default webhook and its signing secret. */
export function tenantWebhookRoutes() {
  const app = new Hono<EdgeEnv>();

  app.get("/", requireScope("jobs:read"), async (c) => {
    const row = await findTenantWebhook(c.get("deps").db, c.get("auth").tenantId);
    if (!row) throw new FramewireError("not_found", "No webhook settings yet: PUT /v1/webhook creates them.");
    return c.json(presentTenantWebhook(row));
  });

  app.put("/", requireScope("jobs:write"), async (c) => {
    const deps = c.get("deps");
    const body = parseOrThrow(tenantWebhookRequestSchema, await readJson(c), "webhook settings");
    if (body.url) await checkWebhookTarget(deps, body.url, "url");
    const { row, created } = await upsertTenantWebhook(deps.db, c.get("auth").tenantId, body, deps.clock());
    // The secret is shown once, when it is created; afterwards only a hint.
    return c.json(presentTenantWebhook(row, created ? row.secret : undefined), created ? 201 : 200);
  });

  app.post("/rotate-secret", requireScope("jobs:write"), async (c) => {
    const deps = c.get("deps");
    // The body is optional: no body means the default grace period.
    const raw = requestHeader(c, "content-type") ? await readJson(c) : {};
    const body = parseOrThrow(secretRotateSchema, raw, "rotation");
    const row = await findTenantWebhook(deps.db, c.get("auth").tenantId);
    if (!row) throw new FramewireError("not_found", "No webhook settings yet: PUT /v1/webhook creates them.");
    const now = deps.clock();
    const rotated = await rotateTenantSecret(deps.db, row, now + body.grace_period_sec * 1000, now);
    return c.json(presentTenantWebhook(rotated, rotated.secret));
  });

  return app;
}

/** `/v1/jobs/:id/webhooks`: a job's delivery log and manual redelivery. */
export function jobWebhookRoutes() {
  const app = new Hono<EdgeEnv>();

  app.get("/:id/webhooks", requireScope("jobs:read"), async (c) => {
    const deps = c.get("deps");
    const job = await findJob(deps.db, c.get("auth").tenantId, c.req.param("id"));
    if (!job)
      throw new FramewireError("not_found", `No job ${c.req.param("id")} exists for this API key's tenant.`);
    const page = parseOrThrow(deliveryPageQuerySchema, c.req.query(), "query");
    const log = await listJobDeliveries(deps.db, job.id, page);
    const last = log.at(-1);
    return c.json({
      data: log.map((d) => presentDelivery(d.delivery, d.attempts)),
      next_cursor: log.length === page.limit && last ? last.delivery.id : null,
    });
  });

  app.post("/:id/webhooks/:deliveryId/redeliver", requireScope("jobs:write"), async (c) => {
    const deps = c.get("deps");
    const job = await findJob(deps.db, c.get("auth").tenantId, c.req.param("id"));
    if (!job)
      throw new FramewireError("not_found", `No job ${c.req.param("id")} exists for this API key's tenant.`);
    const delivery = await findJobDelivery(deps.db, job.id, c.req.param("deliveryId"));
    if (!delivery)
      throw new FramewireError(
        "not_found",
        `Job ${job.id} has no webhook delivery ${c.req.param("deliveryId")}.`,
      );
    const now = deps.clock();
    const due = await rescheduleDelivery(deps.db, delivery.id, now, now + deps.config.webhooks.deadlineMs);
    if (!due)
      throw new FramewireError(
        "conflict",
        `Delivery ${delivery.id} has an attempt in flight; try again shortly.`,
      );
    deps.background.run(() => attemptDelivery(deps, due.id));
    return c.json(presentDelivery(due, []), 202);
  });

  return app;
}
