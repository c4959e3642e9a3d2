import {
  type ApiKey,
  type DeadLetterList,
  deadLetterListQuerySchema,
  FramewireError,
  jobListQuerySchema,
  keyCreateSchema,
  keyRotateSchema,
  maintenanceRequestSchema,
  type NodeList,
  type Scope,
  type Tenant,
  tenantCreateSchema,
} from "@framewire/shared";

import { type ApiKeyRow, tenants } from "@framewire/shared/db";
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { createTenant, findKey, issueApiKey, listKeys, revokeKey } from "../auth/api-keys";
import type { EdgeDeps } from "../deps";
import type { EdgeEnv } from "../env";
import { summariseNodes } from "../fleet/live-nodes";
import { releaseAndDispatch } from "../jobs/admission";
import { announceQueued } from "../jobs/dispatch";
import { failJob, redispatchJob } from "../jobs/lifecycle";
import { presentJob } from "../jobs/present";
import { findJobById, listJobsOfKey } from "../jobs/repository";
import { requestText } from "../request-body";
import { parseOrThrow, readJson } from "../validation";

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A key as listings show it: never the hash, never the secret. */
export function presentKey(row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    tenant_id: row.tenantId,
    prefix: row.prefix,
    name: row.name,
    scopes: row.scopes as Scope[],
    created_at: iso(row.createdAt),
    expires_at: iso(row.expiresAt),
    revoked_at: iso(row.revokedAt),
    last_used_at: iso(row.lastUsedAt),
    request_count: row.requestCount,
  };
}

function keyNotFound(id: string) {
  return new FramewireError("not_found", `No API key ${id}.`);
}

/** Operator endpoints (admin scope): tenants, keys, maintenance, nodes and dead letters. */
/**
 * The revocation is in the database already; the broadcast only shortens how long other edge
 * processes trust their cached entry, so a NATS hiccup is logged, not turned into a failed revoke.
 */
async function announceRevocation(deps: EdgeDeps, keyId: string, logger: EdgeDeps["logger"]): Promise<void> {
  try {
    await deps.dispatcher.announceKeyRevoked?.(keyId);
  } catch (error) {
    logger.warn({ key_id: keyId, err: error }, "key:revocation-broadcast-failed");
  }
}

export function adminRoutes() {
  const app = new Hono<EdgeEnv>();

  app.post("/tenants", async (c) => {
    const { db } = c.get("deps");
    const body = parseOrThrow(tenantCreateSchema, await readJson(c), "tenant");
    const id = await createTenant(db, body.name);
    const [row] = await db.select().from(tenants).where(eq(tenants.id, id));
    const tenant: Tenant = { id, name: body.name, created_at: iso(row?.createdAt ?? null) };
    return c.json(tenant, 201);
  });

  app.get("/tenants", async (c) => {
    const rows = await c.get("deps").db.select().from(tenants).orderBy(tenants.id);
    const data: Tenant[] = rows.map((t) => ({ id: t.id, name: t.name, created_at: iso(t.createdAt) }));
    return c.json({ data });
  });

  app.post("/tenants/:tenantId/keys", async (c) => {
    const deps = c.get("deps");
    const body = parseOrThrow(keyCreateSchema, await readJson(c), "key");
    const [tenant] = await deps.db
      .select()
      .from(tenants)
      .where(eq(tenants.id, c.req.param("tenantId")));
    if (!tenant) throw new FramewireError("not_found", `No tenant ${c.req.param("tenantId")}.`);
    const expiresAt = body.expires_at ? Date.parse(body.expires_at) : null;
    if (expiresAt !== null && expiresAt <= deps.clock()) {
      // A key that is dead on arrival is a typo (a year, a time zone), not a request.
      const message = "must be in the future";
      throw new FramewireError("validation_failed", `key: expires_at: ${message}`, {
        errors: [{ field: "expires_at", message }],
      });
    }
    const issued = await issueApiKey(deps.db, {
      tenantId: tenant.id,
      name: body.name,
      scopes: body.scopes,
      expiresAt,
    });
    c.get("logger").info({ key_id: issued.id, tenant_id: tenant.id }, "key:created");
    // The only response that ever contains the secret.
    return c.json({ ...presentKey(issued.row), key: issued.key }, 201);
  });

  app.get("/keys", async (c) => {
    const tenantId = c.req.query("tenant_id");
    const rows = await listKeys(c.get("deps").db, tenantId);
    return c.json({ data: rows.map(presentKey) });
  });

  app.get("/keys/:keyId", async (c) => {
    const row = await findKey(c.get("deps").db, c.req.param("keyId"));
    if (!row) throw keyNotFound(c.req.param("keyId"));
    return c.json(presentKey(row));
  });

  /**
   * The jobs a key submitted, newest first (for a key that leaked: what did it do?). Jobs from
   * before keys were recorded on jobs are not listed.
   */
  app.get("/keys/:keyId/jobs", async (c) => {
    const deps = c.get("deps");
    const row = await findKey(deps.db, c.req.param("keyId"));
    if (!row) throw keyNotFound(c.req.param("keyId"));
    const query = parseOrThrow(jobListQuerySchema, c.req.query(), "query");
    const rows = await listJobsOfKey(deps.db, row.id, query);
    const now = deps.clock();
    const data = await Promise.all(rows.map((job) => presentJob(deps, job, now)));
    const last = rows.at(-1);
    return c.json({ data, next_cursor: rows.length === query.limit && last ? last.id : null });
  });

  app.post("/keys/:keyId/revoke", async (c) => {
    const deps = c.get("deps");
    const row = await revokeKey(deps.db, c.req.param("keyId"), deps.clock());
    if (!row) throw keyNotFound(c.req.param("keyId"));
    deps.keyCache.forget(row.id);
    await announceRevocation(deps, row.id, c.get("logger"));
    c.get("logger").info({ key_id: row.id }, "key:revoked");
    return c.json(presentKey(row));
  });

  /**
   * Rotation: a new key with the same tenant, name and scopes (and expiry), shown once; the old key
   * keeps working for the grace period (its revoked_at is set in the future), then is refused.
   */
  app.post("/keys/:keyId/rotate", async (c) => {
    const deps = c.get("deps");
    const text = await requestText(c);
    const body = parseOrThrow(keyRotateSchema, text ? safeJson(text) : {}, "rotation");
    const old = await findKey(deps.db, c.req.param("keyId"));
    if (!old) throw keyNotFound(c.req.param("keyId"));
    const now = deps.clock();
    if (old.revokedAt !== null && old.revokedAt <= now)
      throw new FramewireError("conflict", `Key ${old.id} is revoked; issue a new key instead.`);
    const grace = body.grace_period_sec ?? deps.config.rotationGraceSec;
    const issued = await issueApiKey(deps.db, {
      tenantId: old.tenantId,
      name: old.name,
      scopes: old.scopes as Scope[],
      expiresAt: old.expiresAt,
    });
    const retired = await revokeKey(deps.db, old.id, now + grace * 1000);
    deps.keyCache.forget(old.id);
    await announceRevocation(deps, old.id, c.get("logger"));
    c.get("logger").info({ key_id: old.id, new_key_id: issued.id, grace_sec: grace }, "key:rotated");
    return c.json(
      { ...presentKey(issued.row), key: issued.key, replaces: retired ? presentKey(retired) : null },
      201,
    );
  });

  app.get("/maintenance", async (c) => {
    const { maintenance, db, clock } = c.get("deps");
    return c.json(await maintenance.get(db, clock()));
  });

  app.put("/maintenance", async (c) => {
    const { maintenance, db, clock } = c.get("deps");
    const body = parseOrThrow(maintenanceRequestSchema, await readJson(c), "maintenance");
    const state = await maintenance.set(db, body, clock());
    c.get("logger").warn({ ...state }, "maintenance:set");
    return c.json(state);
  });

  app.get("/nodes", async (c) => {
    const deps = c.get("deps");
    const nodes = await deps.fleet.nodes();
    const list: NodeList = { ...summariseNodes(nodes, deps.clock()), data: nodes };
    return c.json(list);
  });

  app.get("/dead-letters", async (c) => {
    const { limit } = parseOrThrow(deadLetterListQuerySchema, c.req.query(), "query");
    const list: DeadLetterList = { data: await c.get("deps").fleet.deadLetters(limit) };
    return c.json(list);
  });

  /**
   * Requeue: the job goes back on its queue as a new dispatch generation (fresh Nats-Msg-Id), the
   * dead letter is purged, the job row is queued again with an event. It is released by fair
   * dispatch at once when its tenant has room; if the publish fails, the outbox finishes it.
   */
  app.post("/dead-letters/:jobId/requeue", async (c) => {
    const deps = c.get("deps");
    const jobId = c.req.param("jobId");
    const letter = await deps.fleet.deadLetter(jobId);
    const job = letter ? await findJobById(deps.db, jobId) : null;
    if (!letter || !job) throw new FramewireError("not_found", `No dead letter for job ${jobId}.`);
    const requeued = await redispatchJob(deps, job, {
      from: ["failed", "queued", "running"],
      event: "job:requeued",
      data: { request_id: c.get("requestId"), from: "dead_letter" },
    });
    if (!requeued)
      throw new FramewireError("conflict", `Job ${jobId} is ${job.status} and cannot be requeued.`);
    // A new dispatch on the job's pool and priority (those of the subject it was queued on),
    // released by fair dispatch like any other.
    await releaseAndDispatch(deps, requeued, { requestId: c.get("requestId"), logger: c.get("logger") });
    await deps.fleet.dropDeadLetter(jobId);
    await announceQueued(deps, jobId, c.get("logger"));
    c.get("logger").info({ job: jobId, generation: requeued.generation }, "dlq:requeued");
    return c.json({ job_id: jobId, status: requeued.status, generation: requeued.generation }, 202);
  });

  /** Drop: the dead letter goes; the job stays failed (and is marked failed if it never was). */
  app.delete("/dead-letters/:jobId", async (c) => {
    const deps = c.get("deps");
    const jobId = c.req.param("jobId");
    const letter = await deps.fleet.deadLetter(jobId);
    if (!letter) throw new FramewireError("not_found", `No dead letter for job ${jobId}.`);
    const job = await findJobById(deps.db, jobId);
    if (job)
      await failJob(
        deps,
        job,
        letter.last_error ?? { code: "engine_failure", message: "The job exhausted its deliveries." },
      );
    await deps.fleet.dropDeadLetter(jobId);
    c.get("logger").info({ job: jobId }, "dlq:dropped");
    return c.body(null, 204);
  });

  return app;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new FramewireError("malformed_json", "The body is not valid JSON.");
  }
}
