import { type ErrorCode, errorCatalog, FramewireError, timingSafeEqual } from "@framewire/shared";
import { Hono, type MiddlewareHandler } from "hono";
import { z } from "zod";
import type { EdgeEnv } from "../env";
import { applyReport, findJobById, jobAttempt } from "../jobs/repository";
import { problemResponse } from "../problem";
import { parseOrThrow, readJson } from "../validation";
import { queueProgressWebhook, webhookOnTransition } from "../webhooks/enqueue";

const attempt = z.int().min(1);
const attemptBase = z.int().min(0).optional();
const nodeId = z.string().min(1).max(128);
const errorCode = z
  .string()
  .refine((v): v is ErrorCode => Object.hasOwn(errorCatalog, v), "unknown error code");

const outputResult = z.object({
  name: z.string(),
  storage_key: z.string(),
  size_bytes: z.number().int().nonnegative(),
  container: z.string(),
  duration_sec: z.number().nullable(),
  video: z
    .object({ codec: z.string(), width: z.int(), height: z.int(), fps: z.number().nullable() })
    .nullable(),
  audio: z.object({ codec: z.string(), sample_rate: z.int(), channels: z.int() }).nullable(),
  // What richer outputs add (shared/src/messages.ts OutputResult). A plain z.object drops keys it
  // doesn't name, so each one is listed here, or the job record loses it.
  type: z.string().max(32).optional(),
  files: z
    .array(
      z.object({
        storage_key: z.string().max(1024),
        relative_path: z.string().max(512),
        size_bytes: z.number().int().nonnegative(),
      }),
    )
    .max(20_000)
    .optional(),
  encoder: z.string().max(64).optional(),
  accel: z.string().max(16).optional(),
  fallback_reason: z.string().max(2000).nullable().optional(),
  thumbnails: z
    .array(z.object({ time_sec: z.number().nonnegative(), relative_path: z.string().max(512) }))
    .max(1000)
    .optional(),
  renditions: z
    .array(
      z.object({
        name: z.string().max(64),
        width: z.int(),
        height: z.int(),
        bandwidth: z.number().nonnegative(),
        segments: z.int().nonnegative(),
        playlist: z.string().max(512),
      }),
    )
    .max(16)
    .optional(),
  loudness: z
    .object({
      target_lufs: z.number(),
      input_lufs: z.number(),
      gain_db: z.number(),
      output_lufs: z.number(),
      true_peak_dbtp: z.number(),
      limited: z.boolean(),
    })
    .optional(),
  probe: z.unknown().optional(),
});

const jobError = z.object({
  code: errorCode as z.ZodType<ErrorCode>,
  message: z.string().max(2000),
  detail: z.string().max(4000).optional(),
});

const reportSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("running"),
    attempt,
    attempt_base: attemptBase,
    node_id: nodeId,
    engine: z.string().max(32),
  }),
  z.object({
    type: z.literal("succeeded"),
    attempt,
    attempt_base: attemptBase,
    node_id: nodeId,
    outputs: z.array(outputResult),
  }),
  z.object({
    type: z.literal("failed"),
    attempt,
    attempt_base: attemptBase,
    node_id: nodeId,
    retryable: z.boolean(),
    error: jobError,
  }),
  z.object({ type: z.literal("canceled"), attempt, attempt_base: attemptBase, node_id: nodeId }),
  z.object({
    type: z.literal("progress"),
    attempt,
    attempt_base: attemptBase,
    node_id: nodeId,
    percent: z.number().min(0).max(100).nullable(),
  }),
  z.object({
    type: z.literal("requeued"),
    attempt,
    attempt_base: attemptBase,
    node_id: nodeId,
    reason: z.string().max(500),
    error: jobError.optional(),
  }),
]);

function requireNodeToken(): MiddlewareHandler<EdgeEnv> {
  return async function requireNodeToken(c, next) {
    const header = c.req.header("authorization") ?? "";
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
    const report = parseOrThrow(reportSchema, await readJson(c), "report");
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
    const reply = await applyReport(
      deps.db,
      c.req.param("id"),
      report,
      deps.clock(),
      webhookOnTransition(deps),
    );
    if (!reply) throw new FramewireError("not_found", `No job ${c.req.param("id")}.`);
    c.get("logger").info(
      { job: c.req.param("id"), report: report.type, attempt: report.attempt, ...reply },
      "job:report",
    );
    return c.json(reply);
  });

  return app;
}
