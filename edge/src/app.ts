import { FramewireError } from "@framewire/shared";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { requireApiKey } from "./auth/authenticate";
import type { EdgeDeps } from "./deps";
import type { EdgeEnv } from "./env";
import { requestId } from "./middleware/request-id";
import { problemResponse, toProblem } from "./problem";
import { filesRoutes } from "./routes/files";
import { healthRoutes } from "./routes/health";
import { internalRoutes } from "./routes/internal";
import { jobsRoutes } from "./routes/jobs";
import { uploadsRoutes } from "./routes/uploads";

export type { EdgeDeps } from "./deps";

/** The edge as a Hono app over injected dependencies; the same app runs on Node and on Workers. */
export function createApp(deps: EdgeDeps): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();

  app.use("*", async function injectDeps(c, next) {
    c.set("deps", deps);
    await next();
  });
  app.use("*", requestId());
  app.use("*", async function accessLog(c, next) {
    const started = performance.now();
    await next();
    c.get("logger").info(
      {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round(performance.now() - started),
      },
      "http:request",
    );
  });

  const jsonLimit = bodyLimit({
    maxSize: deps.config.maxJsonBytes,
    onError: (c) =>
      problemResponse(
        c,
        "payload_too_large",
        `JSON bodies are limited to ${deps.config.maxJsonBytes} bytes.`,
      ),
  });

  app.route("/v1/health", healthRoutes());
  app.route("/files", filesRoutes());

  app.use("/v1/jobs/*", requireApiKey(), jsonLimit);
  app.use("/v1/jobs", requireApiKey(), jsonLimit);
  app.route("/v1/jobs", jobsRoutes());
  app.use("/v1/uploads/*", requireApiKey());
  app.use("/v1/uploads", requireApiKey());
  app.route("/v1/uploads", uploadsRoutes());

  app.use("/internal/*", jsonLimit);
  app.route("/internal", internalRoutes());

  app.notFound((c) => problemResponse(c, "not_found", `No route for ${c.req.method} ${c.req.path}.`));
  app.onError((error, c) => toProblem(c, error));
  return app;
}

export { FramewireError };
