import { type JobStatus, jobStatuses } from "@framewire/shared";
import { Gauge, Histogram, Registry } from "prom-client";
import { countJobsByStatus } from "../jobs/repository";
import type { EdgeMetrics, MetricSources } from "../metrics";

/**
 * Prometheus metrics on Node (prom-client). Jobs by state and queue depth are read when scraped,
 * at most once per `cacheMs` (one GROUP BY and one stream-info call), so frequent scrapes or
 * several scrapers cost the database nothing extra.
 */
export function createPromMetrics(options: { cacheMs?: number } = {}): EdgeMetrics {
  const cacheMs = options.cacheMs ?? 5_000;
  const registry = new Registry();
  const duration = new Histogram({
    name: "fw_http_request_duration_seconds",
    help: "HTTP request duration by method, route pattern and status",
    labelNames: ["method", "route", "status"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const jobs = new Gauge({
    name: "fw_jobs",
    help: "Jobs by state (from the database)",
    labelNames: ["state"] as const,
    registers: [registry],
  });
  const depth = new Gauge({
    name: "fw_queue_depth",
    help: "Messages waiting in FW_JOBS per pool and priority",
    labelNames: ["pool", "priority"] as const,
    registers: [registry],
  });
  let refreshedAt = 0;

  async function refresh(deps: MetricSources) {
    const now = deps.clock();
    if (now - refreshedAt < cacheMs) return;
    refreshedAt = now;
    const [counts, health] = await Promise.all([
      countJobsByStatus(deps.db).catch(() => null),
      deps.dispatcher.health().catch(() => null),
    ]);
    if (counts) for (const state of jobStatuses) jobs.set({ state }, counts[state as JobStatus] ?? 0);
    for (const [key, n] of Object.entries(health?.queueDepth ?? {})) {
      const [pool = "", priority = ""] = key.split(".");
      depth.set({ pool, priority }, n);
    }
  }

  return {
    observeRequest(method, route, status, seconds) {
      duration.observe({ method, route, status: String(status) }, seconds);
    },
    async render(deps) {
      await refresh(deps);
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
