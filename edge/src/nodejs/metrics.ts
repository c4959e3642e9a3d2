import { type JobStatus, jobStatuses, pools, priorities, timingSafeEqual } from "@framewire/shared";
import { AggregatorRegistry, Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { liveNodes } from "../fleet/live-nodes";
import { countJobsByStatus } from "../jobs/repository";
import type { EdgeMetrics, MetricSources } from "../metrics";
import { failingWebhookTenants, lastBackupAt, oldestQueuedAges, outboxBacklog } from "../ops/queries";
import { edgeVersion } from "../routes/health";
import { clusterMetricsText } from "./cluster-ipc";

/**
 * Prometheus metrics on Node (prom-client). Counters and histograms are updated as things happen;
 * what lives in the database, NATS and the heartbeats is read when scraped, at most once per
 * `cacheMs` (a few GROUP BYs, two stream-info calls and the heartbeat bucket), so frequent scrapes
 * or several scrapers cost nothing extra. Labels come from bounded sets only: routes as patterns,
 * pools, priorities, outcomes, and at most 20 tenants (the ones whose webhooks fail most).
 */
export function createPromMetrics(
  options: {
    cacheMs?: number;
    token?: string | undefined;
    /**
     * Cluster mode (FW_EDGE_PROCESSES > 1): a scrape is answered with every process's metrics,
     * aggregated by the primary. The figures read from the database, NATS and heartbeats are kept
     * by one process only (`keepsSharedFigures`), so they are not counted once per process.
     */
    cluster?: { keepsSharedFigures: boolean };
  } = {},
): EdgeMetrics & { attach(sources: MetricSources): void } {
  const cacheMs = options.cacheMs ?? 5_000;
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });
  if (options.cluster) {
    // The primary's aggregator asks each worker for this registry; constructing one here is what
    // makes prom-client answer those asks in a worker.
    AggregatorRegistry.setRegistries([registry]);
    new AggregatorRegistry();
  }
  new Gauge({
    name: "fw_build_info",
    help: "Always 1: the edge's version and runtime as labels",
    labelNames: ["service", "version", "runtime"] as const,
    registers,
    aggregator: "first",
  }).set({ service: "edge", version: edgeVersion, runtime: "node" }, 1);
  const duration = new Histogram({
    name: "fw_http_request_duration_seconds",
    help: "HTTP request duration by method, route pattern and status",
    labelNames: ["method", "route", "status"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers,
  });
  const refusals = new Counter({
    name: "fw_rate_limit_refusals_total",
    help: "Requests refused with 429, by the bucket that ran out (client address or API key)",
    labelNames: ["by"] as const,
    registers,
  });
  const keyCache = new Counter({
    name: "fw_key_cache_lookups_total",
    help: "API key verifications, by whether the in-memory cache answered (hit) or the database (miss)",
    labelNames: ["result"] as const,
    registers,
  });
  const webhooks = new Counter({
    name: "fw_webhook_deliveries_total",
    help: "Webhook delivery attempts by outcome: succeeded, retrying (will be tried again), failed (given up)",
    labelNames: ["outcome"] as const,
    registers,
  });
  const webhookSeconds = new Histogram({
    name: "fw_webhook_delivery_duration_seconds",
    help: "Time one webhook attempt took, from connect to the receiver's answer (or the error), by outcome",
    labelNames: ["outcome"] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const keepsShared = options.cluster?.keepsSharedFigures ?? true;
  let attached: MetricSources | null = null;
  // What every process would read alike: kept (and read) by one process only. In cluster mode the
  // primary's aggregator asks that process for it, so it refreshes when collected.
  const gauge = (name: string, help: string, labelNames: string[] = []) =>
    new Gauge({ name, help, labelNames, registers: keepsShared ? registers : [] });
  const jobs = new Gauge({
    name: "fw_jobs",
    help: "Jobs by state (from the database)",
    labelNames: ["state"],
    registers: keepsShared ? registers : [],
    // Registered first of the shared figures: reading it refreshes them all (cached for cacheMs).
    async collect() {
      if (attached) await refresh(attached);
    },
  });
  const depth = gauge("fw_queue_depth", "Messages waiting in FW_JOBS per pool and priority", [
    "pool",
    "priority",
  ]);
  const oldest = gauge(
    "fw_queue_oldest_age_seconds",
    "How long the oldest queued job per pool and priority has waited (0: none waiting)",
    ["pool", "priority"],
  );
  const storeBytes = gauge("fw_queue_store_bytes", "Bytes of queued job messages in FW_JOBS");
  const storeMax = gauge(
    "fw_queue_store_max_bytes",
    "FW_JOBS's size limit: past it new jobs are refused by NATS and wait in the outbox",
  );
  const backlog = gauge("fw_outbox_backlog", "Jobs accepted but not yet confirmed by JetStream");
  const deadLetters = gauge("fw_dead_letters", "Jobs in the dead-letter stream FW_DLQ");
  const failing = gauge(
    "fw_webhook_failing_deliveries",
    "Deliveries still retried after 3 attempts or given up in the last hour, for the 20 worst tenants",
    ["tenant"],
  );
  const nodes = gauge("fw_nodes", "Live processing nodes (heartbeat younger than 15 s) serving each pool", [
    "pool",
  ]);
  const accepting = gauge(
    "fw_nodes_accepting",
    "Live nodes serving each pool that take new jobs (not held back by a full temp disk or a broken store)",
    ["pool"],
  );
  const noHardware = gauge(
    "fw_gpu_nodes_without_hardware",
    "Live nodes serving the gpu pool on which no hardware encoder opened",
  );
  const maintenance = gauge("fw_maintenance_enabled", "1 while maintenance mode refuses writes");
  // Labelled so that it is absent until a first backup (an unlabelled gauge always reads 0).
  const lastBackup = gauge(
    "fw_last_backup_timestamp_seconds",
    "When `framewire backup` last took a snapshot of this database, by kind (file copy or dump); absent: never",
    ["kind"],
  );
  const databaseUp = gauge("fw_database_up", "1 when the last scrape could read the database");
  const natsUp = gauge("fw_nats_up", "1 when the last scrape could read JetStream");
  let refreshedAt = Number.NEGATIVE_INFINITY;

  async function refresh(sources: MetricSources) {
    const now = sources.clock();
    if (now - refreshedAt < cacheMs) return;
    refreshedAt = now;
    const { db } = sources;
    const ok = <T>(p: Promise<T>) => p.catch(() => null);
    const [counts, ages, outbox, failures, backup, health, dead, fleet, settings] = await Promise.all([
      ok(countJobsByStatus(db)),
      ok(oldestQueuedAges(db, now)),
      ok(outboxBacklog(db)),
      ok(failingWebhookTenants(db, now, { minAttempts: 3, windowMs: 3_600_000, limit: 20 })),
      ok(lastBackupAt(db)),
      ok(sources.dispatcher.health()),
      ok(sources.fleet.deadLetterCount()),
      ok(sources.fleet.nodes()),
      ok(sources.maintenance.get(db, now)),
    ]);
    databaseUp.set(counts ? 1 : 0);
    natsUp.set(health?.ok ? 1 : 0);
    if (counts) for (const state of jobStatuses) jobs.set({ state }, counts[state as JobStatus] ?? 0);
    for (const pool of pools) {
      for (const priority of priorities) {
        const key = `${pool}.${priority}`;
        if (ages) oldest.set({ pool, priority }, ages[key] ?? 0);
        if (health?.queueDepth) depth.set({ pool, priority }, health.queueDepth[key] ?? 0);
      }
    }
    if (health?.store) {
      storeBytes.set(health.store.bytes);
      storeMax.set(health.store.maxBytes);
    }
    if (outbox !== null) backlog.set(outbox);
    if (dead !== null) deadLetters.set(dead);
    if (failures) {
      failing.reset();
      for (const f of failures) failing.set({ tenant: f.tenantId }, f.deliveries);
    }
    if (backup !== null) lastBackup.set({ kind: backup.kind }, backup.at / 1000);
    if (settings) maintenance.set(settings.enabled ? 1 : 0);
    if (fleet) {
      const live = liveNodes(fleet, now);
      for (const pool of pools) {
        const serving = live.filter((n) => n.pools.includes(pool));
        nodes.set({ pool }, serving.length);
        accepting.set({ pool }, serving.filter((n) => n.accepting).length);
      }
      noHardware.set(live.filter((n) => n.pools.includes("gpu") && n.hardware_encoders.length === 0).length);
    }
  }

  return {
    observeRequest(method, route, status, seconds) {
      duration.observe({ method, route, status: String(status) }, seconds);
    },
    rateLimited: (by) => refusals.inc({ by }),
    keyCacheLookup: (hit) => keyCache.inc({ result: hit ? "hit" : "miss" }),
    webhookAttempt(outcome, seconds) {
      webhooks.inc({ outcome });
      webhookSeconds.observe({ outcome }, seconds);
    },
    authorize(header) {
      if (!options.token) return true;
      const presented = header?.startsWith("Bearer ") ? header.slice(7).trim() : "";
      return timingSafeEqual(presented, options.token);
    },
    attach(sources) {
      attached = sources;
    },
    async render(sources) {
      attached ??= sources;
      if (options.cluster) return { contentType: registry.contentType, body: await clusterMetricsText() };
      await refresh(sources);
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
