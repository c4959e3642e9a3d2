import { FramewireError } from "@framewire/shared";
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import { requireApiKey, requireScope } from "./auth/authenticate";
import { batchesRoutes } from "./batches/routes";
import type { EdgeDeps } from "./deps";
import type { EdgeEnv } from "./env";
import { requestTurnStart } from "./jobs/view-cache";
import { maintenanceGate } from "./middleware/maintenance";
import { rateLimit } from "./middleware/rate-limit";
import { requestId } from "./middleware/request-id";
import { problemResponse, toProblem } from "./problem";
import { bodyLimit } from "./request-body";
import { requestHeader } from "./request-header";
import { adminRoutes } from "./routes/admin";
import { docsRoutes } from "./routes/docs";
import { filesRoutes } from "./routes/files";
import { fingerprintRoutes } from "./routes/fingerprints";
import { healthRoutes } from "./routes/health";
import { internalRoutes } from "./routes/internal";
import { jobsRoutes } from "./routes/jobs";
import { meRoutes } from "./routes/me";
import { uploadsRoutes } from "./routes/uploads";
import { jobWebhookRoutes, tenantWebhookRoutes } from "./routes/webhooks";
import { templatesRoutes } from "./templates/routes";
import { adminWorkflowRoutes, quotaRoutes, usageRoutes } from "./usage/routes";
import { isJsonBody } from "./validation";
import { watchesRoutes } from "./watches/routes";
import { webRoutes } from "./web/routes";

export type { EdgeDeps } from "./deps";

/** The largest node report (a succeeded job's facts: the schema bounds each output's lists). */
const MAX_REPORT_BYTES = 32 * 1024 * 1024;

/** The socket a request came on, where the runtime says (Node's server); undefined elsewhere. */
function connectionOf(c: Context): object | undefined {
  return (c.env as { incoming?: { socket?: object } } | undefined)?.incoming?.socket;
}

/** The edge as a Hono app over injected dependencies; the same app runs on Node and on Workers. */
export function createApp(deps: EdgeDeps): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();

  app.use("*", async function injectDeps(c, next) {
    c.set("deps", deps);
    // First thing, before the request waits on anything (see requestTurnStart).
    if (deps.jobViews) c.set("turnStart", requestTurnStart(connectionOf(c)));
    await next();
  });
  app.use("*", requestId());
  app.use("*", async function accessLog(c, next) {
    const started = performance.now();
    await next();
    const ms = performance.now() - started;
    // The matched pattern, not the path: bounded label values for metrics and log grouping.
    const route = routePath(c, -1) || "unmatched";
    deps.metrics?.observeRequest(c.req.method, route, c.res.status, ms / 1000);
    c.get("logger").info(
      { method: c.req.method, path: c.req.path, route, status: c.res.status, ms: Math.round(ms) },
      "http:request",
    );
  });

  const limitBody = bodyLimit(
    deps.config.maxJsonBytes,
    `JSON bodies are limited to ${deps.config.maxJsonBytes} bytes.`,
  );
  // Requests without a body skip it (on Workers it reads `c.req.raw`).
  const jsonLimit: MiddlewareHandler<EdgeEnv> = (c, next) =>
    c.req.method === "GET" || c.req.method === "HEAD" ? next() : limitBody(c, next);

  app.route("/v1/health", healthRoutes());
  app.route("/", docsRoutes());
  app.route("/", webRoutes());
  // Playlists and manifests are rewritten and every URI in them signed on each request, without a
  // key (players hold the link): the per-IP limit keeps one client from spending the process on it.
  // Plain files are streamed, and a player fetches segments far faster than a client polls.
  app.use("/files/playlists/*", rateLimit("ip"));
  app.route("/files", filesRoutes());
  if (deps.metrics) {
    const metrics = deps.metrics;
    app.get("/metrics", async (c) => {
      // FW_METRICS_TOKEN: metrics name tenants, nodes and versions; only the scraper should see them.
      if (!metrics.authorize(requestHeader(c, "authorization"))) {
        return problemResponse(
          c,
          "unauthorized",
          "GET /metrics needs 'Authorization: Bearer <FW_METRICS_TOKEN>'.",
          {},
          { "www-authenticate": 'Bearer realm="metrics"' },
        );
      }
      const { contentType, body } = await metrics.render(deps);
      return c.body(body, 200, { "content-type": contentType });
    });
  }

  // A batch carries up to FW_BATCH_MAX_INPUTS inputs: its own, larger, body limit.
  const limitBatch = bodyLimit(
    deps.config.batches.maxBytes,
    `Batch bodies are limited to ${deps.config.batches.maxBytes} bytes.`,
  );
  const batchLimit: MiddlewareHandler<EdgeEnv> = (c, next) =>
    c.req.method === "GET" || c.req.method === "HEAD" ? next() : limitBatch(c, next);

  // The public API: per-IP limit before the key is checked (bounds key guessing), then per key.
  // `/x/*` also matches `/x` in Hono, so one pattern per resource.
  const workflows = ["/v1/templates/*", "/v1/batches/*", "/v1/watches/*", "/v1/usage", "/v1/quotas"];
  for (const prefix of [
    "/v1/me",
    "/v1/jobs/*",
    "/v1/uploads/*",
    "/v1/admin/*",
    "/v1/webhook/*",
    "/v1/fingerprints/*",
    ...workflows,
  ]) {
    app.use(prefix, rateLimit("ip"), requireApiKey(), rateLimit("key"));
  }
  app.use("/v1/jobs/*", maintenanceGate(), jsonLimit);
  app.use("/v1/templates/*", maintenanceGate(), jsonLimit);
  app.use("/v1/watches/*", maintenanceGate(), jsonLimit);
  app.use("/v1/batches/*", maintenanceGate(), batchLimit);
  // A JSON body here asks where to upload (small); any other body is the file itself (large).
  // The file itself: a declared length over the upload limit is refused before anything is
  // recorded for it (the store counts the bytes as they stream, too).
  const uploadLimit = bodyLimit(
    deps.config.maxUploadBytes,
    `Uploads are limited to ${deps.config.maxUploadBytes} bytes.`,
  );
  app.use("/v1/uploads/*", maintenanceGate(), (c, next) =>
    isJsonBody(c) ? jsonLimit(c, next) : c.req.method === "GET" ? next() : uploadLimit(c, next),
  );
  app.use("/v1/webhook/*", maintenanceGate(), jsonLimit);
  app.use("/v1/admin/*", requireScope("admin"), jsonLimit);
  app.route("/v1/me", meRoutes());
  app.route("/v1/jobs", jobsRoutes());
  app.route("/v1/jobs", jobWebhookRoutes());
  app.route("/v1/webhook", tenantWebhookRoutes());
  app.route("/v1/uploads", uploadsRoutes());
  app.route("/v1/fingerprints", fingerprintRoutes());
  app.route("/v1/admin", adminRoutes());
  app.route("/v1/admin", adminWorkflowRoutes());
  app.route("/v1/templates", templatesRoutes());
  app.route("/v1/batches", batchesRoutes());
  app.route("/v1/watches", watchesRoutes());
  app.route("/v1/usage", usageRoutes());
  app.route("/v1/quotas", quotaRoutes());

  // Node reports are exempt from maintenance mode: running jobs must be able to finish. They carry
  // every output's facts (HLS file lists, analysis documents: a loudness curve, beats, cuts), far
  // more than a client's JSON body; they come only from nodes holding the node token.
  const reportLimit = bodyLimit(
    Math.max(deps.config.maxJsonBytes, MAX_REPORT_BYTES),
    `Node reports are limited to ${MAX_REPORT_BYTES} bytes.`,
  );
  app.use("/internal/*", (c, next) =>
    c.req.method === "GET" || c.req.method === "HEAD" ? next() : reportLimit(c, next),
  );
  app.route("/internal", internalRoutes());

  app.notFound((c) => problemResponse(c, "not_found", `No route for ${c.req.method} ${c.req.path}.`));
  app.onError((error, c) => toProblem(c, error));
  return app;
}

export { FramewireError };
