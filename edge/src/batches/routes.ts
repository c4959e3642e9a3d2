import {
  batchCreateSchema,
  batchJobsQuerySchema,
  batchListQuerySchema,
  deliveryPageQuerySchema,
  FramewireError,
  idempotencyKeySchema,
  type JobInput,
  newId,
  sha256Hex,
} from "@framewire/shared";

import { type BatchRow, batches, uploads } from "@framewire/shared/db";
import { and, eq, inArray, isNull } from "drizzle-orm";
import { type Context, Hono } from "hono";
import { requireScope } from "../auth/authenticate";
import type { EdgeDeps } from "../deps";
import type { EdgeEnv } from "../env";
import { redispatchJob } from "../jobs/lifecycle";
import { presentJob } from "../jobs/present";
import { listJobs } from "../jobs/repository";
import { quotaUsageQuery, refuseOverQuota } from "../quotas/check";
import { requestText } from "../request-body";
import { requestHeader } from "../request-header";
import { specFromRequest } from "../templates/resolve";
import { confirmUpload } from "../uploads/confirm";
import { isJsonBody, parseOrThrow } from "../validation";
import { presentDelivery } from "../webhooks/present";
import { findTenantWebhook, listJobDeliveries } from "../webhooks/repository";
import { checkWebhookTarget } from "../webhooks/targets";
import { completeBatchIfDone } from "./completion";
import { cancelBatchJobs, createBatchJobs, nextTurn } from "./creator";
import { presentBatch } from "./present";
import { countBatchJobs, findBatch, findBatchByIdempotencyKey, listBatches } from "./repository";

/** The body as text (its hash makes an Idempotency-Key replay safe) and as JSON. */
async function readBody(c: Context<EdgeEnv>): Promise<{ text: string; json: unknown }> {
  if (!isJsonBody(c)) {
    throw new FramewireError(
      "malformed_json",
      "Send the body as JSON with 'Content-Type: application/json'.",
    );
  }
  const text = await requestText(c);
  try {
    return { text, json: JSON.parse(text) };
  } catch {
    throw new FramewireError("malformed_json", "The body is not valid JSON.");
  }
}

/**
 * Every input of a batch is checked when it is accepted, as a job's would be: `s3` buckets against
 * the operator's list, uploads (read 500 at a time) this tenant's, received and not expired.
 */
async function checkInputs(deps: EdgeDeps, tenantId: string, inputs: JobInput[]): Promise<void> {
  inputs.forEach((input, i) => {
    if (input.type === "s3" && !deps.config.s3InputBuckets.includes(input.bucket)) {
      throw new FramewireError(
        "input_not_allowed",
        `inputs.${i}.bucket: s3 inputs may not read from ${input.bucket}`,
        {
          errors: [{ field: `inputs.${i}.bucket`, message: "not a bucket this service reads inputs from" }],
        },
      );
    }
  });
  const ids = [...new Set(inputs.flatMap((input) => (input.type === "upload" ? [input.upload_id] : [])))];
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await deps.db
      .select()
      .from(uploads)
      .where(and(eq(uploads.tenantId, tenantId), inArray(uploads.id, ids.slice(i, i + 500))));
    const found = new Map(rows.map((row) => [row.id, row]));
    for (const id of ids.slice(i, i + 500)) {
      // The single-job checks (jobs/inputs.ts), naming the first input that has this upload.
      const index = inputs.findIndex((input) => input.type === "upload" && input.upload_id === id);
      const field = `inputs.${index}.upload_id`;
      const row = found.get(id);
      if (row?.expiredAt != null) {
        throw new FramewireError("upload_expired", `${field}: this upload has expired and was deleted`, {
          errors: [{ field, message: "expired" }],
        });
      }
      const upload = row ? await confirmUpload(deps, row) : null;
      if (!upload || upload.completedAt === null) {
        throw new FramewireError("validation_failed", `${field}: no finished upload with this id`, {
          errors: [{ field, message: "no finished upload with this id" }],
        });
      }
    }
  }
}

/** `/v1/batches`: one job per input, made in the background; counts, progress, cancel, retry. */
export function batchesRoutes() {
  const app = new Hono<EdgeEnv>();

  app.post("/", requireScope("jobs:write"), async (c) => {
    const deps = c.get("deps");
    const { tenantId, keyId } = c.get("auth");
    const body = await readBody(c);
    const raw = body.json as Record<string, unknown> | null;
    const max = deps.config.batches.maxInputs;
    if (raw && Array.isArray(raw.inputs) && raw.inputs.length > max) {
      throw new FramewireError(
        "batch_too_large",
        `inputs: a batch may have at most ${max} inputs; this one has ${raw.inputs.length}. Split it.`,
        { limit: "max_batch_inputs", limit_value: max },
      );
    }
    const request = parseOrThrow(batchCreateSchema, raw, "batch");
    const idempotencyHeader = requestHeader(c, "idempotency-key");
    const idempotencyKey =
      idempotencyHeader === undefined
        ? null
        : parseOrThrow(idempotencyKeySchema, idempotencyHeader, "Idempotency-Key");
    const requestHash = await sha256Hex(body.text);
    if (idempotencyKey) {
      const existing = await findBatchByIdempotencyKey(deps.db, tenantId, idempotencyKey);
      if (existing) return replay(c, deps, existing, requestHash);
    }

    // The spec every job shares, checked once as a whole job with the first input.
    const { inputs, webhook: batchWebhook, ...shared } = request;
    const { spec, template } = await specFromRequest(
      deps,
      tenantId,
      { ...shared, input: inputs[0] },
      "batch",
    );
    const { input: _first, ...base } = spec;
    await checkInputs(deps, tenantId, inputs);
    const now = deps.clock();
    const [quota] = await quotaUsageQuery(deps.db, tenantId, now);
    refuseOverQuota(quota, inputs.length);

    // batch.completed goes to the batch's webhook, else to the tenant's default URL.
    const tenantWebhook = await findTenantWebhook(deps.db, tenantId);
    const webhook =
      batchWebhook ??
      (tenantWebhook?.url ? { url: tenantWebhook.url, events: ["batch.completed" as const] } : null);
    if ((webhook || spec.webhook) && !tenantWebhook) {
      throw new FramewireError(
        "webhook_secret_missing",
        "Webhooks are signed with your tenant's secret: create it first with PUT /v1/webhook (the response shows it once).",
      );
    }
    if (batchWebhook) await checkWebhookTarget(deps, batchWebhook.url, "webhook.url");
    if (spec.webhook) await checkWebhookTarget(deps, spec.webhook.url, "webhook.url");

    const row: BatchRow = {
      id: newId("bat", now),
      tenantId,
      apiKeyId: keyId,
      idempotencyKey,
      requestHash,
      spec: base,
      inputs,
      total: inputs.length,
      created: 0,
      templateId: template?.id ?? null,
      templateName: template?.name ?? null,
      templateVersion: template?.version ?? null,
      webhook,
      requestId: c.get("requestId"),
      leaseUntil: null,
      canceledAt: null,
      completedAt: null,
      createdAt: now,
      updatedAt: now,
    };
    // One write: the batch and its inputs. Its jobs are made after the answer.
    const inserted = await deps.db
      .insert(batches)
      .values(row)
      .onConflictDoNothing()
      .returning({ id: batches.id });
    if (!inserted[0] && idempotencyKey) {
      // Two requests with the same Idempotency-Key raced; the unique index kept the first.
      const winner = await findBatchByIdempotencyKey(deps.db, tenantId, idempotencyKey);
      if (winner) return replay(c, deps, winner, requestHash);
    }
    // After the answer is on its way: making the jobs writes to the database in chunks (on Node's
    // libSQL file client, on this thread), which would otherwise hold the answer back.
    deps.background.run(async () => {
      await nextTurn();
      await createBatchJobs(deps, row.id);
    });
    c.get("logger").info({ batch: row.id, total: row.total }, "batch:accepted");
    return c.json(await view(deps, row), 202, { location: `${deps.config.publicUrl}/v1/batches/${row.id}` });
  });

  app.get("/", requireScope("jobs:read"), async (c) => {
    const deps = c.get("deps");
    const query = parseOrThrow(batchListQuerySchema, c.req.query(), "query");
    const rows = await listBatches(deps.db, c.get("auth").tenantId, query);
    const last = rows.at(-1);
    return c.json({
      data: await Promise.all(rows.map((row) => view(deps, row))),
      next_cursor: rows.length === query.limit && last ? last.id : null,
    });
  });

  /** The batch: counts by state, progress, and a page of its jobs (status, cursor, limit). */
  app.get("/:id", requireScope("jobs:read"), async (c) => {
    const deps = c.get("deps");
    const batch = await named(c);
    const query = parseOrThrow(batchJobsQuerySchema, c.req.query(), "query");
    const rows =
      query.limit === 0 ? [] : await listJobs(deps.db, batch.tenantId, { ...query, batchId: batch.id });
    const now = deps.clock();
    const last = rows.at(-1);
    return c.json({
      ...(await view(deps, batch)),
      jobs: {
        data: await Promise.all(rows.map((job) => presentJob(deps, job, now))),
        next_cursor: rows.length === query.limit && last ? last.id : null,
      },
    });
  });

  /** Cancels the whole batch: its jobs not yet ended, and the inputs not yet made into jobs. */
  app.post("/:id/cancel", requireScope("jobs:write"), async (c) => {
    const deps = c.get("deps");
    const batch = await named(c);
    if (batch.completedAt !== null)
      throw new FramewireError("conflict", `Batch ${batch.id} has completed; there is nothing to cancel.`);
    const now = deps.clock();
    const [canceled] = await deps.db
      .update(batches)
      .set({ canceledAt: now, updatedAt: now })
      .where(and(eq(batches.id, batch.id), isNull(batches.canceledAt), isNull(batches.completedAt)))
      .returning();
    const current = canceled ?? batch;
    deps.background.run(async () => {
      await cancelBatchJobs(deps, current);
      await completeBatchIfDone(deps, current.id, null);
    });
    return c.json(await view(deps, current), 202);
  });

  /**
   * Retries every failed job of the batch (each a new dispatch, released by fair dispatch like new
   * jobs); a completed batch is open again and sends batch.completed again when they have ended.
   */
  app.post("/:id/retry-failed", requireScope("jobs:write"), async (c) => {
    const deps = c.get("deps");
    const batch = await named(c);
    if (batch.canceledAt !== null)
      throw new FramewireError("conflict", `Batch ${batch.id} was canceled; its jobs are not retried.`);
    const counts = await countBatchJobs(deps.db, batch.id);
    const [quota] = await quotaUsageQuery(deps.db, batch.tenantId, deps.clock());
    refuseOverQuota(quota, counts.failed);
    const [reopened] = await deps.db
      .update(batches)
      .set({ completedAt: null, updatedAt: deps.clock() })
      .where(eq(batches.id, batch.id))
      .returning();
    let retried = 0;
    for (let cursor: string | undefined; ; ) {
      const failed = await listJobs(deps.db, batch.tenantId, {
        batchId: batch.id,
        status: "failed",
        cursor,
        limit: 100,
      });
      for (const job of failed) {
        if (
          await redispatchJob(deps, job, {
            from: ["failed"],
            event: "job:retried",
            data: { batch_id: batch.id },
          })
        )
          retried++;
      }
      if (failed.length < 100) break;
      cursor = failed.at(-1)?.id;
    }
    c.get("logger").info({ batch: batch.id, retried }, "batch:retry-failed");
    return c.json(await view(deps, reopened ?? batch), 202);
  });

  /** The batch's own webhook deliveries (batch.completed), with their attempts. */
  app.get("/:id/webhooks", requireScope("jobs:read"), async (c) => {
    const deps = c.get("deps");
    const batch = await named(c);
    const page = parseOrThrow(deliveryPageQuerySchema, c.req.query(), "query");
    const rows = await listJobDeliveries(deps.db, { batchId: batch.id }, page);
    const last = rows.at(-1);
    return c.json({
      data: rows.map((r) => presentDelivery(r.delivery, r.attempts)),
      next_cursor: rows.length === page.limit && last ? last.delivery.id : null,
    });
  });

  return app;
}

async function named(c: Context<EdgeEnv>): Promise<BatchRow> {
  const batch = await findBatch(c.get("deps").db, c.get("auth").tenantId, c.req.param("id") ?? "");
  if (!batch)
    throw new FramewireError("not_found", `No batch ${c.req.param("id")} exists for this API key's tenant.`);
  return batch;
}

async function view(deps: EdgeDeps, batch: BatchRow) {
  return presentBatch(deps.config, batch, await countBatchJobs(deps.db, batch.id));
}

/** The same Idempotency-Key and body: the batch it made; another body: 409. */
async function replay(c: Context<EdgeEnv>, deps: EdgeDeps, batch: BatchRow, requestHash: string) {
  if (batch.requestHash !== requestHash) {
    throw new FramewireError(
      "conflict",
      "This Idempotency-Key was already used with a different request body.",
    );
  }
  c.header("idempotent-replayed", "true");
  return c.json(await view(deps, batch), 202);
}
