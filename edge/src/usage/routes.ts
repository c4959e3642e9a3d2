import {
  FramewireError,
  pools,
  type Quotas,
  quotaSettingsSchema,
  type UsageFigures,
  usageQuerySchema,
} from "@framewire/shared";
import { tenantQuotas, tenants } from "@framewire/shared/db";
import { eq, sql } from "drizzle-orm";
import { Hono } from "hono";
import { requireScope } from "../auth/authenticate";
import type { Db } from "../db";
import type { EdgeEnv } from "../env";
import { releaseLater } from "../jobs/admission";
import { parseOrThrow, readJson } from "../validation";
import { emptyFigures, type UsageWindow, usageReport } from "./report";

/** The longest period one usage query covers (a year and a day): bounds the work of one request. */
const maxDays = 367;

function readWindow(query: Record<string, string>, tenantId: string | null): UsageWindow {
  const parsed = parseOrThrow(usageQuerySchema, query, "query");
  const days = (Date.parse(parsed.to) - Date.parse(parsed.from)) / 86_400_000;
  if (!(days >= 0 && days < maxDays)) {
    const message = `must be on or after from, and at most ${maxDays} days after it`;
    throw new FramewireError("validation_failed", `query: to: ${message}`, {
      errors: [{ field: "to", message }],
    });
  }
  return { tenantId, from: parsed.from, to: parsed.to, groupBy: parsed.group_by };
}

/** `GET /v1/usage`: this tenant's usage over a period, grouped by day, key or output type. */
export function usageRoutes() {
  const app = new Hono<EdgeEnv>();
  app.get("/", requireScope("jobs:read"), async (c) => {
    const { tenantId } = c.get("auth");
    const window = readWindow(c.req.query(), tenantId);
    const mine = (await usageReport(c.get("deps").db, window)).get(tenantId);
    return c.json({
      from: window.from,
      to: window.to,
      group_by: window.groupBy,
      data: [...(mine?.groups ?? [])].map(([group, figures]) => ({ group, ...figures })),
      total: mine?.total ?? emptyFigures(),
    });
  });
  return app;
}

/** `GET /v1/quotas`: this tenant's quotas and what is used of them. */
export function quotaRoutes() {
  const app = new Hono<EdgeEnv>();
  app.get("/", requireScope("jobs:read"), async (c) => {
    const deps = c.get("deps");
    return c.json(await presentQuotas(deps.db, c.get("auth").tenantId, deps.clock()));
  });
  return app;
}

export async function presentQuotas(db: Db, tenantId: string, now: number): Promise<Quotas> {
  const month = new Date(now).toISOString().slice(0, 7);
  const [row] = await db.select().from(tenantQuotas).where(eq(tenantQuotas.tenantId, tenantId));
  const [used] = await db.all<{ running: number; queued: number; media_sec: number }>(sql`select
      (select count(*) from jobs where tenant_id = ${tenantId} and status = 'running') as running,
      (select count(*) from jobs where tenant_id = ${tenantId} and status = 'queued') as queued,
      coalesce((select input_media_sec from tenant_usage_months where tenant_id = ${tenantId} and month = ${month}), 0)
        as media_sec`);
  return {
    tenant_id: tenantId,
    max_running_jobs: row?.maxRunningJobs ?? null,
    max_queued_jobs: row?.maxQueuedJobs ?? null,
    media_minutes_per_month: row?.mediaMinutesPerMonth ?? null,
    used: {
      running_jobs: Number(used?.running ?? 0),
      queued_jobs: Number(used?.queued ?? 0),
      media_minutes_this_month: Number(used?.media_sec ?? 0) / 60,
    },
    updated_at: row ? new Date(row.updatedAt).toISOString() : null,
  };
}

const csvField = (value: string | number) => {
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
};

/** One figure per line: easy to pivot, and new output types need no new columns. */
function csvLines(tenantId: string, tenantName: string, group: string, f: UsageFigures): string[] {
  const line = (metric: string, value: number, output: [string, string, string] = ["", "", ""]) =>
    [tenantId, tenantName, group, metric, ...output, value].map(csvField).join(",");
  return [
    line("jobs_succeeded", f.jobs.succeeded),
    line("jobs_failed", f.jobs.failed),
    line("jobs_canceled", f.jobs.canceled),
    line("input_media_minutes", f.input_media_minutes),
    ...f.output_media_minutes.map((o) =>
      line("output_media_minutes", o.minutes, [o.output_type, o.codec, o.accel]),
    ),
    line("compute_seconds", f.compute_seconds),
    line("stored_bytes", f.stored_bytes),
    line("destination_bytes", f.destination_bytes),
    line("served_bytes", f.served_bytes),
  ];
}

/** Admin: quotas per tenant, and every tenant's usage as CSV. */
export function adminWorkflowRoutes() {
  const app = new Hono<EdgeEnv>();

  app.get("/usage.csv", async (c) => {
    const deps = c.get("deps");
    const window = readWindow(c.req.query(), null);
    const report = await usageReport(deps.db, window);
    const names = new Map((await deps.db.select().from(tenants)).map((t) => [t.id, t.name]));
    const lines = ["tenant_id,tenant_name,group,metric,output_type,codec,accel,value"];
    for (const [tenantId, { groups }] of [...report].sort(([a], [b]) => (a < b ? -1 : 1))) {
      for (const [group, figures] of groups)
        lines.push(...csvLines(tenantId, names.get(tenantId) ?? "", group, figures));
    }
    return c.body(`${lines.join("\n")}\n`, 200, {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="framewire-usage-${window.from}-${window.to}.csv"`,
    });
  });

  app.get("/tenants/:tenantId/quotas", async (c) => {
    const deps = c.get("deps");
    const tenantId = c.req.param("tenantId");
    await requireTenant(deps.db, tenantId);
    return c.json(await presentQuotas(deps.db, tenantId, deps.clock()));
  });

  /** Sets every quota at once (a field left out is no limit). */
  app.put("/tenants/:tenantId/quotas", async (c) => {
    const deps = c.get("deps");
    const tenantId = c.req.param("tenantId");
    await requireTenant(deps.db, tenantId);
    const body = parseOrThrow(quotaSettingsSchema, await readJson(c), "quotas");
    const values = {
      maxRunningJobs: body.max_running_jobs,
      maxQueuedJobs: body.max_queued_jobs,
      mediaMinutesPerMonth: body.media_minutes_per_month,
      updatedAt: deps.clock(),
    };
    await deps.db
      .insert(tenantQuotas)
      .values({ tenantId, ...values })
      .onConflictDoUpdate({ target: tenantQuotas.tenantId, set: values });
    c.get("logger").info({ tenant_id: tenantId, ...body }, "quotas:set");
    // A raised running limit lets held jobs go now.
    for (const pool of pools) releaseLater(deps, { tenantId, pool });
    return c.json(await presentQuotas(deps.db, tenantId, deps.clock()));
  });

  return app;
}

async function requireTenant(db: Db, tenantId: string): Promise<void> {
  const [row] = await db.select({ id: tenants.id }).from(tenants).where(eq(tenants.id, tenantId));
  if (!row) throw new FramewireError("not_found", `No tenant ${tenantId}.`);
}
