import type { UsageFigures, usageGroups } from "@framewire/shared";
import { type SQL, sql } from "drizzle-orm";
import type { Db } from "../db";

/**
 * Usage from the job records: jobs that ended in the period by outcome, the probed input minutes of
 * the succeeded ones (from the node's report), their outputs' minutes by output type, codec and
 * accel and bytes (from the outputs' own probed facts), compute time of every attempt, and the
 * bytes the edge served (counted as it serves them). Nothing is estimated: each figure is a sum
 * of what the jobs recorded, so it equals what the job views show.
 */

export type UsageGroup = (typeof usageGroups)[number];

export interface UsageWindow {
  /** null: every tenant (the admin export). */
  tenantId: string | null;
  /** Days, UTC, both included. */
  from: string;
  to: string;
  groupBy: UsageGroup;
}

const dayMs = 86_400_000;

/** [start, end) in ms for days `from`..`to`. */
export function windowMs(from: string, to: string): { start: number; end: number } {
  return { start: Date.parse(`${from}T00:00:00Z`), end: Date.parse(`${to}T00:00:00Z`) + dayMs };
}

const emptyFigures = (): UsageFigures => ({
  jobs: { succeeded: 0, failed: 0, canceled: 0 },
  input_media_minutes: 0,
  output_media_minutes: [],
  compute_seconds: 0,
  stored_bytes: 0,
  destination_bytes: 0,
  served_bytes: 0,
});

/** Per tenant: figures per group (sorted by group) and over the whole period. */
export type UsageReport = Map<string, { groups: Map<string, UsageFigures>; total: UsageFigures }>;

export { emptyFigures };

export async function usageReport(db: Db, window: UsageWindow): Promise<UsageReport> {
  // The total is its own query: grouped by output type, a job counts under each of its types, so
  // the groups don't add up to it.
  const [grouped, totals] = await Promise.all([
    figuresBy(db, window, window.groupBy),
    figuresBy(db, window, "all"),
  ]);
  const report: UsageReport = new Map();
  for (const [tenantId, groups] of grouped) {
    report.set(tenantId, { groups, total: totals.get(tenantId)?.get("all") ?? emptyFigures() });
  }
  return report;
}

async function figuresBy(
  db: Db,
  window: UsageWindow,
  groupBy: UsageGroup | "all",
): Promise<Map<string, Map<string, UsageFigures>>> {
  const { start, end } = windowMs(window.from, window.to);
  const tenant = window.tenantId === null ? sql`1 = 1` : sql`j.tenant_id = ${window.tenantId}`;
  const ended = sql`${tenant} and j.finished_at >= ${start} and j.finished_at < ${end}
    and j.status in ('succeeded', 'failed', 'canceled')`;
  const byDay = sql`strftime('%Y-%m-%d', j.finished_at / 1000, 'unixepoch')`;
  const byKey = sql`coalesce(j.api_key_id, 'unknown')`;
  const jobGroup: SQL =
    groupBy === "day" ? byDay : groupBy === "key" ? byKey : groupBy === "all" ? sql`'all'` : sql`t.type`;
  // Grouped by output type, a job counts once under each type its spec asked for (failed jobs have
  // no outputs, but their spec says what they were for).
  const jobSource =
    groupBy === "output_type"
      ? sql`jobs j join (select distinct s.id as id, json_extract(o.value, '$.type') as type
          from jobs s, json_each(s.spec, '$.outputs') o where s.id in (select j.id from jobs j where ${ended})) t
          on t.id = j.id`
      : sql`jobs j`;
  const jobRows = await db.all<{
    tenant: string;
    g: string;
    status: "succeeded" | "failed" | "canceled";
    n: number;
    input_sec: number;
    compute_ms: number;
  }>(sql`select j.tenant_id as tenant, ${jobGroup} as g, j.status as status, count(*) as n,
      sum(coalesce(j.input_duration_sec, 0)) as input_sec, sum(j.compute_ms) as compute_ms
    from ${jobSource} where ${ended} group by tenant, g, status`);

  const outputGroup: SQL =
    groupBy === "day"
      ? byDay
      : groupBy === "key"
        ? byKey
        : groupBy === "all"
          ? sql`'all'`
          : sql`json_extract(o.value, '$.type')`;
  const outputRows = await db.all<{
    tenant: string;
    g: string;
    type: string | null;
    codec: string | null;
    accel: "cpu" | "hardware";
    sec: number;
    n: number;
    stored: number;
    destination: number;
  }>(sql`select j.tenant_id as tenant, ${outputGroup} as g, json_extract(o.value, '$.type') as type,
      coalesce(json_extract(o.value, '$.video.codec'), json_extract(o.value, '$.audio.codec'),
        json_extract(o.value, '$.container')) as codec,
      case when coalesce(json_extract(o.value, '$.accel'), 'cpu') = 'cpu' then 'cpu' else 'hardware' end as accel,
      sum(coalesce(json_extract(o.value, '$.duration_sec'), 0)) as sec, count(*) as n,
      sum(case when json_extract(o.value, '$.destination') is null then json_extract(o.value, '$.size_bytes') else 0 end) as stored,
      sum(case when json_extract(o.value, '$.destination') is null then 0 else json_extract(o.value, '$.size_bytes') end) as destination
    from jobs j, json_each(j.outputs) o
    where ${ended} and j.status = 'succeeded'
    group by tenant, g, type, codec, accel`);

  // Downloads are counted per day, not per key or output type: those groupings show them in the total.
  const servedGroup = groupBy === "all" ? sql`'all'` : sql`s.day`;
  const servedRows = await db.all<{ tenant: string; g: string; bytes: number }>(
    sql`select s.tenant_id as tenant, ${servedGroup} as g, sum(s.bytes) as bytes from usage_served s
      where ${window.tenantId === null ? sql`1 = 1` : sql`s.tenant_id = ${window.tenantId}`}
        and s.day >= ${window.from} and s.day <= ${window.to} group by tenant, g`,
  );

  const report = new Map<string, Map<string, UsageFigures>>();
  const figures = (tenantId: string, group: string) => {
    let groups = report.get(tenantId);
    if (!groups) {
      groups = new Map();
      report.set(tenantId, groups);
    }
    let f = groups.get(group);
    if (!f) {
      f = emptyFigures();
      groups.set(group, f);
    }
    return f;
  };
  for (const row of jobRows) {
    const f = figures(row.tenant, row.g);
    f.jobs[row.status] += Number(row.n);
    if (row.status === "succeeded") f.input_media_minutes += Number(row.input_sec) / 60;
    f.compute_seconds += Number(row.compute_ms) / 1000;
  }
  for (const row of outputRows) {
    const f = figures(row.tenant, row.g);
    f.output_media_minutes.push({
      output_type: row.type ?? "unknown",
      codec: row.codec ?? "unknown",
      accel: row.accel,
      minutes: Number(row.sec) / 60,
      count: Number(row.n),
    });
    f.stored_bytes += Number(row.stored);
    f.destination_bytes += Number(row.destination);
  }
  if (groupBy === "day" || groupBy === "all")
    for (const row of servedRows) figures(row.tenant, row.g).served_bytes += Number(row.bytes);
  for (const [tenantId, groups] of report) {
    report.set(tenantId, new Map([...groups].sort(([a], [b]) => (a < b ? -1 : 1))));
  }
  return report;
}
