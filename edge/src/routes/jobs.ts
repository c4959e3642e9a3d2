import {
  FramewireError,
  idempotencyKeySchema,
  type JobSpec,
  jobListQuerySchema,
  jobRequestSchema,
  newId,
  poolFor,
} from "@framewire/shared";
import type { JobRow } from "@framewire/shared/db";
import { Hono } from "hono";
import { findTenantKey } from "../auth/api-keys";
import { requireScope } from "../auth/authenticate";
import type { EdgeDeps } from "../deps";
import type { EdgeEnv } from "../env";
import { coverageWarnings, isUnserved } from "../fleet/coverage";
import { dispatchReleased, releaseAndDispatch } from "../jobs/admission";
import { announceQueued } from "../jobs/dispatch";
import { resolveInputs } from "../jobs/inputs";
import { cancelJob, createJob, redispatchJob } from "../jobs/lifecycle";
import { listAttemptLogs, presentAttemptLog } from "../jobs/logs";
import { presentEvent, presentJob } from "../jobs/present";
import {
  findJob,
  findJobByIdempotencyKey,
  findJobVersion,
  listJobEvents,
  listJobs,
} from "../jobs/repository";
import { readSubmission } from "../jobs/submission";
import { viewWindow } from "../jobs/view-cache";
import { refuseOverQuota } from "../quotas/check";
import { requestHeader } from "../request-header";
import { specFromRequest } from "../templates/resolve";
import { parseOrThrow, readJsonObject } from "../validation";
import { resolveJobWebhook } from "../webhooks/targets";

export function jobsRoutes() {
  const app = new Hono<EdgeEnv>();

  app.post("/", requireScope("jobs:write"), async (c) => {
    const deps = c.get("deps");
    const { tenantId } = c.get("auth");
    const raw = await readJsonObject(c, "job spec");
    // With a template, the request's own fields are checked first (errors point at what was sent),
    // then merged over the template's and checked as a whole spec.
    const request = "template" in raw ? parseOrThrow(jobRequestSchema, raw, "job spec") : raw;
    const { spec, template } = await specFromRequest(deps, tenantId, request);
    const idempotencyHeader = requestHeader(c, "idempotency-key");
    const idempotencyKey =
      idempotencyHeader === undefined
        ? null
        : parseOrThrow(idempotencyKeySchema, idempotencyHeader, "Idempotency-Key");

    const submission = await readSubmission(deps.db, tenantId, spec, idempotencyKey, deps.clock());
    if (submission.existing) return replayIdempotent(c, deps, submission.existing, spec);
    refuseOverQuota(submission.quota, 1);

    await resolveInputs(deps, tenantId, spec, submission.uploads);
    const webhook = await resolveJobWebhook(deps, tenantId, spec, submission.tenantWebhook);
    const now = deps.clock();
    // Can a live node run it? Said now rather than discovered after a wait (null: NATS unreadable,
    // so the edge can't tell and says nothing).
    const nodes = await deps.nodesCache.nodes(deps.fleet, now);
    const warnings = nodes ? coverageWarnings(nodes, poolFor(spec), now) : [];
    if (deps.config.unserved.refuse && isUnserved(warnings)) {
      throw new FramewireError("no_capable_node", warnings.map((w) => w.message).join(" "));
    }
    const { row: job, released } = await createJob(deps, {
      id: newId("job", now),
      tenantId,
      apiKeyId: c.get("auth").keyId,
      spec,
      webhook,
      template: template ? { id: template.id, name: template.name, version: template.version } : null,
      requestId: c.get("requestId"),
      idempotencyKey,
      now,
    }).catch(async (error: unknown) => {
      // Two requests with the same Idempotency-Key raced; the unique index picked the winner.
      const winner = idempotencyKey ? await findJobByIdempotencyKey(deps.db, tenantId, idempotencyKey) : null;
      if (winner) return { row: winner, released: [] };
      throw error;
    });
    // The outbox: the row is written, so the job is accepted; what fair dispatch released (usually
    // this job; with a backlog of the tenant's, whatever may go now, or nothing) is published right
    // after the answer (the response doesn't wait on JetStream's acknowledgement), and the sweeper
    // publishes it again if that fails. JetStream drops a repeat of the same dispatch (Nats-Msg-Id).
    if (released.length > 0) {
      const requestId = c.get("requestId");
      const logger = c.get("logger");
      deps.background.run(() => dispatchReleased(deps, released, { requestId, logger }));
    }
    const view = await presentJob(deps, job, deps.clock());
    return c.json(warnings.length ? { ...view, warnings } : view, 202, {
      location: `${deps.config.publicUrl}/v1/jobs/${job.id}`,
    });
  });

  app.get("/", requireScope("jobs:read"), async (c) => {
    const deps = c.get("deps");
    const query = parseOrThrow(jobListQuerySchema, c.req.query(), "query");
    const { tenantId } = c.get("auth");
    // One of this tenant's keys (a leaked key: what did it submit?); another tenant's is unknown here.
    const key = query.api_key ? await findTenantKey(deps.db, tenantId, query.api_key) : null;
    if (query.api_key && !key)
      throw new FramewireError("not_found", `No API key ${query.api_key} belongs to this tenant.`);
    const rows = await listJobs(deps.db, tenantId, { ...query, apiKeyId: key?.id });
    const now = deps.clock();
    const data = await Promise.all(rows.map((row) => presentJob(deps, row, now)));
    const last = rows.at(-1);
    const nextCursor = rows.length === query.limit && last ? last.id : null;
    return c.json({ data, next_cursor: nextCursor });
  });

  app.get("/:id", requireScope("jobs:read"), async (c) => {
    const deps = c.get("deps");
    const tenantId = c.get("auth").tenantId;
    const id = c.req.param("id");
    const now = deps.clock();
    const views = deps.jobViews;
    const window = viewWindow(deps.config, now);
    const ifNoneMatch = requestHeader(c, "if-none-match");
    // Settled before anything is read: a version read after it is at least as new as it.
    const at = views ? await views.fresh(c.get("turnStart")) : null;
    if (views) {
      // A polled job that did not change: no read while the job was not updated since its version
      // was read, otherwise one one-column read; then the view rendered before.
      let version = views.versionAt(id, tenantId, at);
      if (version === undefined) {
        const read = await findJobVersion(deps.db, tenantId, id);
        if (read === null) throw notFound(id);
        version = read;
        views.noteVersion(id, tenantId, version, at);
      }
      const etag = jobEtag(version, window);
      if (matchesIfNoneMatch(ifNoneMatch, etag)) return c.body(null, 304, { etag, ...viewCaching });
      const cached = views.get(id, version, window);
      if (cached !== undefined)
        return c.body(cached, 200, { "content-type": "application/json", etag, ...viewCaching });
    }
    const job = await findJob(deps.db, tenantId, id);
    if (!job) throw notFound(id);
    const etag = jobEtag(job.version, window);
    if (matchesIfNoneMatch(ifNoneMatch, etag)) return c.body(null, 304, { etag, ...viewCaching });
    const body = JSON.stringify(await presentJob(deps, job, now));
    views?.set(job.id, tenantId, job.version, at, window, body);
    return c.body(body, 200, { "content-type": "application/json", etag, ...viewCaching });
  });

  app.get("/:id/events", requireScope("jobs:read"), async (c) => {
    const deps = c.get("deps");
    const job = await findJob(deps.db, c.get("auth").tenantId, c.req.param("id"));
    if (!job) throw notFound(c.req.param("id"));
    const events = await listJobEvents(deps.db, job.id);
    return c.json({ data: events.map(presentEvent) });
  });

  /** Each attempt's log: FFmpeg's warnings and errors and the node's words, for this tenant's job. */
  app.get("/:id/logs", requireScope("jobs:read"), async (c) => {
    const deps = c.get("deps");
    const job = await findJob(deps.db, c.get("auth").tenantId, c.req.param("id"));
    if (!job) throw notFound(c.req.param("id"));
    const logs = await listAttemptLogs(deps.db, job);
    return c.json({ data: logs.map(presentAttemptLog) });
  });

  app.delete("/:id", requireScope("jobs:write"), async (c) => {
    const deps = c.get("deps");
    const job = await findJob(deps.db, c.get("auth").tenantId, c.req.param("id"));
    if (!job) throw notFound(c.req.param("id"));
    const canceled = await cancelJob(deps, job);
    if (!canceled) {
      throw new FramewireError("conflict", `Job ${job.id} is already ${job.status} and cannot be canceled.`);
    }
    // Best effort: the record is already final; a node that runs it later reports a stale attempt.
    await Promise.allSettled([
      deps.dispatcher.cancel(job.id),
      deps.dispatcher.announce({
        type: "job:state",
        job_id: job.id,
        status: "canceled",
        at: new Date(deps.clock()).toISOString(),
      }),
    ]);
    return c.json(await presentJob(deps, canceled, deps.clock()));
  });

  /**
   * Retry of a failed job: a new dispatch generation (new Nats-Msg-Id, so JetStream's duplicate
   * window doesn't swallow it), attempts continue from where they stopped, and a dead letter the
   * job may have left is dropped, since the job is live again.
   */
  app.post("/:id/retry", requireScope("jobs:write"), async (c) => {
    const deps = c.get("deps");
    const job = await findJob(deps.db, c.get("auth").tenantId, c.req.param("id"));
    if (!job) throw notFound(c.req.param("id"));
    // Its input may have been deleted by retention since it failed: say so rather than requeue a
    // job that can only fail again on the node.
    if (job.status === "failed") await resolveInputs(deps, job.tenantId, job.spec);
    refuseOverQuota((await readSubmission(deps.db, job.tenantId, job.spec, null, deps.clock())).quota, 1);
    const retried = await redispatchJob(deps, job, {
      from: ["failed"],
      event: "job:retried",
      data: { request_id: c.get("requestId") },
    });
    if (!retried) {
      throw new FramewireError(
        "conflict",
        `Job ${job.id} is ${job.status}; only a failed job can be retried.`,
      );
    }
    await deps.fleet
      .dropDeadLetter(job.id)
      .catch((error: unknown) => c.get("logger").warn({ err: error, job: job.id }, "dlq:drop:failed"));
    // Released now when its tenant has room (fair dispatch), else when a job of the tenant starts.
    await releaseAndDispatch(deps, retried, { requestId: c.get("requestId"), logger: c.get("logger") });
    await announceQueued(deps, retried.id, c.get("logger"));
    return c.json(await presentJob(deps, retried, deps.clock()), 202);
  });

  return app;
}

function notFound(id: string): FramewireError {
  return new FramewireError("not_found", `No job ${id} exists for this API key's tenant.`);
}

async function replayIdempotent(
  c: import("hono").Context<EdgeEnv>,
  deps: EdgeDeps,
  existing: JobRow,
  spec: JobSpec,
) {
  if (JSON.stringify(existing.spec) !== JSON.stringify(spec)) {
    throw new FramewireError(
      "conflict",
      "This Idempotency-Key was already used with a different request body.",
      { job_id: existing.id },
    );
  }
  c.header("idempotent-replayed", "true");
  return c.json(await presentJob(deps, existing, deps.clock()), 202);
}

/** A job view's ETag. Weak: within one version and window, links signed at different seconds are equivalent. */
function jobEtag(version: number, window: string): string {
  return `W/"${version}.${window}"`;
}

/** A job view is per tenant (never in a shared cache), and revalidated on every use: a job changes any time. */
const viewCaching = { "cache-control": "private, no-cache" } as const;

/** If-None-Match's weak comparison (RFC 9110 13.1.2): any listed tag, W/ or not, or "*". */
function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  const wanted = opaqueTag(etag);
  return header.split(",").some((tag) => tag.trim() === "*" || opaqueTag(tag) === wanted);
}

function opaqueTag(tag: string): string {
  return tag.trim().replace(/^W\//, "");
}
