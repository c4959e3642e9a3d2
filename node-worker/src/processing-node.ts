import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import {
  jobMessageSchema,
  type NodeHeartbeatInput,
  type Pool,
  priorities,
  safeDecodeMessage,
} from "@framewire/shared";
import { consumerName, ensureConsumers, ensureJetStream, ensureKv } from "@framewire/shared/nats";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import type { Logger } from "pino";
import { createNatsJobBus } from "./bus";
import type { NodeConfig } from "./config";
import { startDeadLetterMover } from "./dead-letters";
import { pullOne } from "./delivery";
import { engineFacts } from "./heartbeat";
import { createS3InputFetch } from "./inputs/s3-input";
import { runJob } from "./job-runner";
import { createNodeMetrics, type MetricsServer, startMetricsServer } from "./metrics";
import { createProgressPublisher } from "./progress";
import { createReporter } from "./reporter";
import { createSelfChecks } from "./self-checks";
import type { IsolatedEngine } from "./slots/isolated-engine";
import { createDestinationStores } from "./storage/destinations";
import type { Storage } from "./storage/storage";

export const nodeVersion = "0.1.0";

export interface ProcessingNode {
  readonly id: string;
  /** The metrics listener's port (FW_METRICS_PORT), or null without one. */
  readonly metricsPort: number | null;
  /**
   * Drains: stops pulling, lets running jobs finish for up to `deadlineMs`, then hands back (naks)
   * whatever is still running so another node picks it up at once, and deregisters.
   */
  stop(deadlineMs: number): Promise<void>;
}

/**
 * The pull loop: while a slot is free, take the highest-priority job any of this node's pools
 * has. When every queue is empty it sleeps until a doorbell (a core-NATS copy of any job publish
 * on its pools) or the poll interval, whichever comes first.
 */
export async function startProcessingNode(options: {
  nc: NatsConnection;
  engine: IsolatedEngine;
  storage: Storage;
  config: NodeConfig;
  logger: Logger;
}): Promise<ProcessingNode> {
  const { nc, engine, storage, config, logger } = options;
  const s3Inputs = createS3InputFetch(config);
  const destinations = createDestinationStores(config);
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const bus = createNatsJobBus(nc, js);
  const pools = orderPools(config.FW_POOLS);
  const consumerSettings = {
    ackWaitMs: config.FW_ACK_WAIT_MS,
    maxDeliver: config.FW_MAX_DELIVER,
    maxAckPending: config.FW_FLEET_MAX_ACK_PENDING,
  };
  // A JetStream cluster electing a leader refuses API calls for a few seconds: ride it out.
  const kv = await retryWhileUnavailable(logger, async () => {
    await ensureJetStream(jsm, { replicas: config.FW_NATS_REPLICAS });
    for (const pool of pools) await ensureConsumers(jsm, pool, consumerSettings);
    return ensureKv(nc, { replicas: config.FW_NATS_REPLICAS });
  });
  const running = new Map<string, Promise<void>>();
  await sweepOrphanedWorkDirs(config.FW_WORK_DIR, new Set(), logger);
  // A slot killed mid-job (SIGKILL, the OOM killer) leaves its job's folder to the job's own
  // clean-up, which runs when the node sees the slot die; this sweep is the backstop for anything
  // that path misses, so a folder outlives its job by at most a minute.
  const orphanSweep = setInterval(
    () => void sweepOrphanedWorkDirs(config.FW_WORK_DIR, new Set(running.keys()), logger),
    60_000,
  );
  orphanSweep.unref();

  const capabilities = await engine.capabilities();
  const reporter = createReporter({ edgeUrl: config.FW_EDGE_URL, nodeToken: config.FW_NODE_TOKEN, logger });
  const progress = createProgressPublisher(nc, kv.progress);
  const checks = createSelfChecks({
    nodeId: config.nodeId,
    workDir: config.FW_WORK_DIR,
    minFreeBytes: config.FW_MIN_FREE_DISK_MB * 1024 ** 2,
    storage,
    edgeUrl: config.FW_EDGE_URL,
    slotsRss: async () => (await engine.stats()).reduce((sum, s) => sum + (s.rssBytes ?? 0), 0),
    logger,
  });
  let hardwareSessions = 0;
  const metrics = createNodeMetrics({
    version: nodeVersion,
    engine: engine.name,
    versions: capabilities.versions,
    pools,
    gauges: {
      slotsBusy: () => running.size,
      slotsCapacity: config.FW_SLOTS,
      slotRss: () => engine.stats(),
      slotMemoryLimitBytes: config.slotMemoryLimitBytes,
      tempDisk: () => checks.facts().disk,
      hardwareSessionsInUse: () => hardwareSessions,
      hardwareEncodersOpen: capabilities.hardwareEncoders.length,
      accepting: () => checks.facts().accepting,
      clockSkewMs: () => checks.facts().clock_skew_ms,
      storageOk: () => checks.facts().storage?.ok ?? null,
    },
  });
  const metricsServer: MetricsServer | null =
    config.FW_METRICS_PORT === undefined
      ? null
      : await startMetricsServer({
          registry: metrics.registry,
          host: config.FW_METRICS_HOST,
          port: config.FW_METRICS_PORT,
          token: config.FW_METRICS_TOKEN,
        });
  const draining = new AbortController();
  const deadLetterMover = startDeadLetterMover({ nc, js, jsm, reporter, nodeId: config.nodeId, logger });
  const startedAt = new Date().toISOString();
  let stopping = false;
  let wake: (() => void) | null = null;
  let stopRequested: () => void = () => {};
  const stopSignal = new Promise<void>((resolve) => {
    stopRequested = resolve;
  });
  // A ring that arrives while the loop is busy pulling must not be lost: remember it.
  let rung = false;
  const ring = () => {
    rung = true;
    wake?.();
  };

  const doorbells: Subscription[] = pools.map((pool) =>
    nc.subscribe(`fw.jobs.${pool}.*`, { callback: ring }),
  );
  // One heartbeat at a time (a slow disk or store check must not pile them up), plus one more when
  // asked meanwhile (a job started or ended: the fleet sees it at once). stop() waits for the one
  // in flight: a beat finishing after the deregistration would put the node back for another TTL.
  let beating: Promise<void> | null = null;
  let again = false;
  let deregistering = false;
  const heartbeat = (): Promise<void> => {
    if (beating) {
      again = true;
      return beating;
    }
    beating = beat().finally(() => {
      beating = null;
      if (again) {
        again = false;
        void heartbeat();
      }
    });
    return beating;
  };
  const beat = async () => {
    if (deregistering) return;
    const facts = await checks.refresh();
    if (deregistering) return;
    await publishHeartbeat(kv.nodes, {
      id: config.nodeId,
      host: config.host,
      pools,
      engine: engine.name,
      ...engineFacts(capabilities),
      versions: capabilities.versions,
      slots: { total: config.FW_SLOTS, busy: running.size },
      jobs: [...new Set([...running.keys()].map((key) => key.split("#")[0] ?? key))],
      version: nodeVersion,
      ...facts,
      started_at: startedAt,
      at: new Date().toISOString(),
    }).catch((error: unknown) => logger.warn({ err: error }, "node:heartbeat:failed"));
  };
  await heartbeat();
  const heartbeatTimer = setInterval(heartbeat, config.FW_HEARTBEAT_MS);

  const pullByPriority = async () => {
    for (const pool of pools) {
      for (const priority of priorities) {
        const delivery = await pullOne(nc, consumerName(pool, priority));
        if (delivery) return delivery;
      }
    }
    return null;
  };

  const loop = (async () => {
    while (!stopping) {
      if (running.size >= config.FW_SLOTS) {
        // Wake on a free slot or on stop(): a drain must not wait for a job to finish first.
        await Promise.race([...running.values(), stopSignal]);
        continue;
      }
      const afterRing = rung;
      rung = false;
      // A node whose temp disk is full or whose store is unusable leaves the queue to nodes that
      // can finish the work (its heartbeat says why); it looks again at the next poll.
      const delivery = !checks.accepting()
        ? null
        : await pullByPriority().catch((error: unknown) => {
            logger.warn({ err: error }, "node:pull:failed");
            return null;
          });
      if (delivery) {
        const decoded = safeDecodeMessage(jobMessageSchema, delivery.data);
        if (!decoded.success) {
          // Not a job this node can read (a hand-made publish, or a newer edge's format): no
          // delivery will ever read it, so stop redelivery and say what was wrong.
          logger.error({ subject: delivery.subject, issues: decoded.error.issues }, "job:message:unreadable");
          delivery.term();
          continue;
        }
        const message = decoded.data;
        const key = `${message.job_id}#${delivery.attempt}`;
        const job = runJob(
          {
            bus,
            engine,
            storage,
            s3Inputs,
            destinations,
            reporter,
            progress,
            config,
            logger,
            draining: draining.signal,
            metrics,
            hardwareSessions: {
              add: (n) => {
                hardwareSessions += n;
              },
            },
            hardwareEncodersOpen: capabilities.hardwareEncoders.length,
          },
          delivery,
          message,
        )
          .catch((error: unknown) => logger.error({ err: error }, "job:crashed"))
          .finally(() => {
            running.delete(key);
            void heartbeat();
          });
        running.set(key, job);
        void heartbeat();
        continue;
      }
      // Core subscribers can see a publish a moment before JetStream has stored it: after a ring
      // that found nothing, look again shortly rather than waiting for the next poll.
      const retryAfterRing = afterRing ? 2 : 0;
      await new Promise<void>((resolve) => {
        if (rung) return resolve();
        const timer = setTimeout(resolve, retryAfterRing || config.FW_POLL_MS);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
    }
  })();

  logger.info(
    {
      pools,
      slots: config.FW_SLOTS,
      engine: engine.name,
      encoders: capabilities.encoders,
      hardware_encoders: capabilities.hardwareEncoders,
      hardware_errors: capabilities.hardwareErrors,
    },
    "node:started",
  );

  return {
    id: config.nodeId,
    metricsPort: metricsServer?.port ?? null,
    async stop(deadlineMs) {
      stopping = true;
      stopRequested();
      ring();
      for (const sub of doorbells) sub.unsubscribe();
      deadLetterMover.stop();
      await loop;
      const finished = Promise.allSettled(running.values());
      const deadline = new Promise<"deadline">((resolve) =>
        setTimeout(() => resolve("deadline"), deadlineMs).unref(),
      );
      if ((await Promise.race([finished, deadline])) === "deadline") {
        logger.warn({ running: running.size }, "node:drain:deadline, handing back running jobs");
        draining.abort();
        await finished;
      }
      clearInterval(heartbeatTimer);
      deregistering = true;
      while (beating) await beating;
      clearInterval(orphanSweep);
      checks.stop();
      await metricsServer?.close();
      const timeout = new Promise((resolve) => setTimeout(resolve, 2_000).unref());
      await Promise.race([kv.nodes.delete(config.nodeId).catch(() => {}), timeout]);
      logger.info("node:stopped");
    },
  };
}

async function retryWhileUnavailable<T>(
  logger: Logger,
  fn: () => Promise<T>,
  deadlineMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      logger.warn({ err: error, attempt }, "node:provision:retry");
      await new Promise((resolve) => setTimeout(resolve, Math.min(2_000, 100 * 2 ** attempt)));
    }
  }
}

/** A GPU node serves its GPU queue first and CPU work when that is empty. */
function orderPools(pools: Pool[]): Pool[] {
  return [...new Set(pools)].sort((a, b) => (a === "gpu" ? -1 : b === "gpu" ? 1 : 0));
}

async function publishHeartbeat(nodes: KV, beat: NodeHeartbeatInput): Promise<void> {
  await nodes.put(beat.id, new TextEncoder().encode(JSON.stringify(beat)));
}

/**
 * Temp folders no running job owns: left by a crashed node (at start) or missed by a job's own
 * clean-up (per-job folders are removed on every exit path). `running` holds `<job>#<attempt>`
 * keys; a job's folder is `<job>-<attempt>`.
 */
async function sweepOrphanedWorkDirs(workDir: string, running: Set<string>, logger: Logger): Promise<void> {
  const entries = await readdir(workDir).catch(() => [] as string[]);
  const owned = new Set([...running].map((key) => key.replace("#", "-")));
  const orphans = entries.filter((name) => /^job_[0-9a-z]{26}-\d+$/.test(name) && !owned.has(name));
  await Promise.all(orphans.map((name) => rm(join(workDir, name), { recursive: true, force: true })));
  if (orphans.length > 0) logger.info({ count: orphans.length }, "node:orphans:removed");
}
