import { attemptLogReportSchema, FramewireError, jobReportSchema, timingSafeEqual } from "@framewire/shared";
import { Hono, type MiddlewareHandler } from "hono";
import type { EdgeEnv } from "../env";
import { applyReport, jobAttempt } from "../jobs/lifecycle";
import { storeAttemptLog } from "../jobs/logs";
import { findJobById } from "../jobs/repository";
import { problemResponse } from "../problem";
import { requestHeader } from "../request-header";
import { parseOrThrow, readJson } from "../validation";
import { queueProgressWebhook } from "../webhooks/enqueue";

function requireNodeToken(): MiddlewareHandler<EdgeEnv> {
  return async function requireNodeToken(c, next) {
    const header = requestHeader(c, "authorization") ?? "";
    const token = header.startsWith("Bearer ") ? header.slice(7) : "";
    if (!timingSafeEqual(token, c.get("deps").config.nodeToken)) {
      return problemResponse(c, "unauthorized", "A valid node token is required.");
    }
    await next();
  };
}

/** Endpoints for processing nodes: the edge is the only database writer. */
export function internalRoutes() {
  const app = new Hono<EdgeEnv>();
  app.use("*", requireNodeToken());

  app.post("/jobs/:id/reports", async (c) => {
    const deps = c.get("deps");
    const report = parseOrThrow(jobReportSchema, await readJson(c), "report");
    if (report.type === "progress") {
      // Progress changes nothing in the record; it may queue a (rate-bounded) job.progress webhook.
      const job = await findJobById(deps.db, c.req.param("id"));
      if (!job) throw new FramewireError("not_found", `No job ${c.req.param("id")}.`);
      const current =
        job.status === "running" &&
        (report.attempt_base ?? job.attemptBase) === job.attemptBase &&
        jobAttempt(job, report) === job.attempts;
      if (current) await queueProgressWebhook(deps, job, report.percent, deps.clock());
      return c.json({ status: job.status, stale: !current });
    }
    const reply = await applyReport(deps, c.req.param("id"), report);
    if (!reply) throw new FramewireError("not_found", `No job ${c.req.param("id")}.`);
    c.get("logger").info(
      { job: c.req.param("id"), report: report.type, attempt: report.attempt, ...reply },
      "job:report",
    );
    return c.json(reply);
  });

  /** One attempt's log (FFmpeg's warnings and errors, the node's words), sent before its final report. */
  app.post("/jobs/:id/logs", async (c) => {
    const deps = c.get("deps");
    const log = parseOrThrow(attemptLogReportSchema, await readJson(c), "attempt log");
    const job = await findJobById(deps.db, c.req.param("id"));
    if (!job) throw new FramewireError("not_found", `No job ${c.req.param("id")}.`);
    const stored = await storeAttemptLog(deps.db, job, log, deps.clock());
    return c.json({ stored });
  });

  return app;
}
