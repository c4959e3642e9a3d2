import "./storage/workers-xml";
import * as schema from "@framewire/shared/db";
import { createClient } from "@libsql/client/web";
import { type NatsConnection, wsconnect } from "@nats-io/nats-core";
import { drizzle } from "drizzle-orm/libsql/web";
import { createApp } from "./app";
import { createKeyCache } from "./auth/key-cache";
import { createUsageRecorder } from "./auth/usage";
import { createBackgroundTasks } from "./background";
import type { EdgeConfig } from "./config";
import { assembleDeps, headerIp } from "./deps";
import type { Dispatcher } from "./dispatch/dispatcher";
import { createNatsDispatcher } from "./dispatch/nats-dispatcher";
import { createDurableObjectNats } from "./dispatch/nats-object";
import { createNodesCache } from "./fleet/coverage";
import type { FleetView } from "./fleet/fleet-view";
import { createNatsFleetView } from "./fleet/nats-fleet-view";
import { recoverAfterRestore } from "./jobs/restore";
import { noteWaitingJobs } from "./jobs/waiting";
import { createConsoleLogger } from "./logger";
import { sweepOutbox } from "./outbox";
import { type DurableObjectNamespaceLike, settleAtObject } from "./rate-limit/durable-object";
import { createLeaseBook, createLeasedRateLimitStore } from "./rate-limit/leased-store";
import { createMemoryRateLimitStore } from "./rate-limit/store";
import { sweepRetention } from "./retention";
import { runScheduledSweeps } from "./scheduler";
import { createMaintenanceSwitch } from "./settings";
import type { ObjectStore } from "./storage/object-store";
import { createS3ObjectStore } from "./storage/s3-object-store";
import { type BucketLister, createS3BucketLister } from "./watches/lister";
import { sweepWebhooks } from "./webhooks/deliver";
import { type EdgeWorkersSettings, parseEdgeWorkersSettings } from "./workers-settings";

export { NatsObject } from "./dispatch/nats-object";
export { RateLimiterObject } from "./rate-limit/durable-object";

/** Bindings named in wrangler.toml (vars, secrets, the rate limiter Durable Object): see workers-settings.ts. */
export type WorkerEnv = Record<string, unknown>;

interface ExecutionContext {
  waitUntil(promise: Promise<unknown>): void;
}

/**
 * NATS on first use. Inside a Worker a NATS connection made in one request cannot be reused by the
 * next, so each request that needs NATS connects (~5 ms) and reads that don't, never do.
 */
function lazyNats(url: string) {
  let nc: Promise<NatsConnection> | null = null;
  let dispatcher: Promise<Dispatcher> | null = null;
  let fleet: Promise<FleetView> | null = null;
  const conn = () => {
    nc ??= wsconnect({ servers: url });
    return nc;
  };
  const d = () => {
    dispatcher ??= conn().then((c) => createNatsDispatcher(c, { provision: false }));
    return dispatcher;
  };
  const f = () => {
    fleet ??= conn().then((c) => createNatsFleetView(c));
    return fleet;
  };
  const lazyDispatcher: Dispatcher = {
    dispatch: async (m, meta) => (await d()).dispatch(m, meta),
    announce: async (s) => (await d()).announce(s),
    cancel: async (id) => (await d()).cancel(id),
    health: async () => (await d()).health(),
    close: async () => {},
  };
  const lazyFleet: FleetView = {
    nodes: async () => (await f()).nodes(),
    deadLetterCount: async () => (await f()).deadLetterCount(),
    deadLetters: async (limit) => (await f()).deadLetters(limit),
    deadLetter: async (id) => (await f()).deadLetter(id),
    dropDeadLetter: async (id) => (await f()).dropDeadLetter(id),
  };
  const dispose = async () => {
    if (nc) await (await nc).close().catch(() => {});
  };
  return { dispatcher: lazyDispatcher, fleet: lazyFleet, dispose };
}

/**
 * Per-isolate state, kept across requests of one isolate: the key cache and maintenance cache (each
 * isolate trusts its copy for at most the TTL), and the usage counts (written every few seconds).
 */
let isolate: {
  settings: EdgeWorkersSettings;
  config: EdgeConfig;
  /** S3 when configured; Workers have no local folder store. */
  storage: ObjectStore | null;
  /** Lists watched buckets (FW_S3_* credentials), when any bucket may be watched. */
  bucketLister: BucketLister | null;
  keyCache: ReturnType<typeof createKeyCache>;
  maintenance: ReturnType<typeof createMaintenanceSwitch>;
  usage: ReturnType<typeof createUsageRecorder>;
  memoryLimits: ReturnType<typeof createMemoryRateLimitStore>;
  /** This isolate's view of the rate-limit objects' buckets (see leased-store.ts). */
  leases: ReturnType<typeof createLeaseBook>;
  nodesCache: ReturnType<typeof createNodesCache>;
} | null = null;

const usageFlushMs = 5_000;
let lastUsageFlush = 0;

function leasedLimits(
  namespace: DurableObjectNamespaceLike,
  leases: ReturnType<typeof createLeaseBook>,
  ctx: ExecutionContext,
) {
  return createLeasedRateLimitStore(
    leases,
    (bucket, request) => settleAtObject(namespace, bucket, request),
    (task) => ctx.waitUntil(task),
  );
}

function buildDeps(env: WorkerEnv, ctx: ExecutionContext) {
  isolate ??= (() => {
    const { settings, config, storage, s3 } = parseEdgeWorkersSettings(env);
    return {
      settings,
      config,
      storage: storage.kind === "s3" ? createS3ObjectStore(storage.s3) : null,
      bucketLister: config.s3InputBuckets.length > 0 ? createS3BucketLister(s3) : null,
      keyCache: createKeyCache({ ttlMs: config.keyCacheTtlMs }),
      maintenance: createMaintenanceSwitch({ ttlMs: config.settingsCacheMs }),
      usage: createUsageRecorder(),
      memoryLimits: createMemoryRateLimitStore({ maxBuckets: 10_000 }),
      leases: createLeaseBook(),
      nodesCache: createNodesCache(),
    };
  })();
  const { settings, config } = isolate;
  const client = createClient({
    url: settings.FW_DB_URL,
    ...(settings.FW_DB_AUTH_TOKEN ? { authToken: settings.FW_DB_AUTH_TOKEN } : {}),
  });
  // One held connection in the NATS Durable Object when it is bound; a connection per request if not.
  const nats = settings.FW_NATS
    ? { ...createDurableObjectNats(settings.FW_NATS), dispose: async () => {} }
    : lazyNats(settings.FW_NATS_WS_URL);
  const logger = createConsoleLogger({ service: "edge", runtime: "workers" });
  const deps = assembleDeps({
    db: drizzle(client, { schema }),
    dispatcher: nats.dispatcher,
    fleet: nats.fleet,
    storage: isolate.storage,
    config,
    logger,
    // A webhook's first attempt runs after the response; waitUntil keeps the isolate for it.
    background: createBackgroundTasks(logger, (task) => ctx.waitUntil(task)),
    keyCache: isolate.keyCache,
    maintenance: isolate.maintenance,
    usage: isolate.usage,
    nodesCache: isolate.nodesCache,
    bucketLister: isolate.bucketLister,
    // Without the Durable Object binding, limits are per isolate (approximate): bind it in production.
    rateLimits: settings.FW_RATE_LIMITER
      ? leasedLimits(settings.FW_RATE_LIMITER, isolate.leases, ctx)
      : isolate.memoryLimits,
    clientIp: (c) =>
      headerIp(c, config.clientIpHeader ?? "cf-connecting-ip", config.clientIpHops) ?? "unknown",
  });
  const dispose = async (options: { flushUsage?: boolean } = {}) => {
    // Background work (webhook attempts) still needs the database: let it finish first.
    await deps.background.settled();
    // Key usage is counted per isolate and written every few seconds, not after every response: a
    // write per request would be a second libSQL round trip for every read. An isolate that goes
    // away loses at most that interval's counts.
    const now = Date.now();
    if (options.flushUsage || now - lastUsageFlush >= usageFlushMs) {
      lastUsageFlush = now;
      await deps.usage.flush(deps.db, deps.logger);
    }
    await nats.dispose();
    client.close();
  };
  return { deps, dispose };
}

export default {
  async fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response> {
    const { deps, dispose } = buildDeps(env, ctx);
    try {
      return await createApp(deps).fetch(request);
    } finally {
      // After the response: usage counts are written and the NATS connection closed.
      ctx.waitUntil(dispose());
    }
  },

  /**
   * Cron trigger: after a restore, dispatch again what the snapshot held as queued or running;
   * re-publish jobs that were accepted while NATS was unreachable, note jobs waiting with no node
   * that can run them, retry webhook deliveries that are due (so on Workers retries run at the
   * Cron's granularity, one minute), delete inputs and outputs past their retention, and run the
   * workflow sweeps: release held jobs a lost trigger left waiting, make the jobs of batches whose
   * `waitUntil` ran out, record batches that ended, and look at watches that are due.
   */
  async scheduled(_event: unknown, env: WorkerEnv, ctx: ExecutionContext): Promise<void> {
    const { deps, dispose } = buildDeps(env, ctx);
    const log = (what: string) => (error: unknown) =>
      deps.logger.warn({ err: error }, `${what}:sweep:failed`);
    ctx.waitUntil(
      Promise.all([
        recoverAfterRestore(deps)
          .catch(log("restore"))
          .then(() => sweepOutbox(deps, { graceMs: 30_000, batch: 200 }))
          .catch(log("outbox")),
        noteWaitingJobs(deps, { batch: 100 }).catch(log("waiting")),
        sweepWebhooks(deps, { batch: 200 }).catch(log("webhook")),
        sweepRetention(deps, { batch: 100 }).catch(log("retention")),
        // Held jobs, batches still to make or to complete, watches that are due.
        runScheduledSweeps(deps),
      ]).finally(() => dispose({ flushUsage: true })),
    );
  },
};
