import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { natsServers, subjects } from "@framewire/shared/nats";
import { serve } from "@hono/node-server";
import { getConnInfo } from "@hono/node-server/conninfo";
import { connect } from "@nats-io/transport-node";
import pino from "pino";
import { createApp } from "../app";
import { createCommitGroup } from "../commit-group";
import type { EdgeConfig } from "../config";
import { assembleDeps, type EdgeDeps, headerIp } from "../deps";
import { createNatsDispatcher } from "../dispatch/nats-dispatcher";
import { createNatsFleetView } from "../fleet/nats-fleet-view";
import { recoverAfterRestore } from "../jobs/restore";
import { localJobViewCache } from "../jobs/view-cache";
import { noteWaitingJobs } from "../jobs/waiting";
import type { Logger } from "../logger";
import { sweepOutbox } from "../outbox";
import { sweepRetention } from "../retention";
import { runScheduledSweeps } from "../scheduler";
import { createLocalObjectStore } from "../storage/local-object-store";
import type { ObjectStore } from "../storage/object-store";
import { createS3ObjectStore } from "../storage/s3-object-store";
import type { StorageSettings } from "../storage/storage-config";
import { createS3BucketLister } from "../watches/lister";
import { sweepWebhooks } from "../webhooks/deliver";
import { createClusterRateLimitStore } from "./cluster-ipc";
import { openDatabase } from "./database";
import { createLocalFileStore } from "./local-file-store";
import { createPromMetrics } from "./metrics";
import { parseEdgeNodeSettings } from "./settings";
import { createNodeWebhookSender } from "./webhook-sender";

export interface EdgeServer {
  url: string;
  port: number;
  deps: EdgeDeps;
  close(): Promise<void>;
}

/**
 * The edge on Node: libSQL file or server, NATS over TCP, the local folder store. In cluster mode
 * (one of FW_EDGE_PROCESSES processes sharing the port) rate limits and metrics are held by the
 * primary process, and only the first process runs the sweepers and the restore recovery.
 */
export async function startEdgeServer(
  env: NodeJS.ProcessEnv = process.env,
  options: { cluster?: { index: number } } = {},
): Promise<EdgeServer> {
  const leader = (options.cluster?.index ?? 0) === 0;
  const { settings, config, storage: storageSettings, s3 } = parseEdgeNodeSettings(env);
  // Asynchronous, buffered stdout: a synchronous write per access-log line cost ~40 µs of the event
  // loop per request under load. pino flushes the buffer on a normal exit, and close() flushes too;
  // a crash can lose the last few kilobytes of log lines.
  const logStream = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  // A quiet edge still shows its lines within a second, not only once 4 KiB have piled up.
  const logFlush = setInterval(() => logStream.flush(), 1000);
  logFlush.unref();
  const logger = pino(
    // pid: which of the cluster's processes (FW_EDGE_PROCESSES) wrote the line.
    { level: settings.FW_LOG_LEVEL, base: { service: "edge", pid: process.pid } },
    logStream,
  ) as unknown as Logger;

  const database = await openDatabase(settings.FW_DB_URL, settings.FW_DB_AUTH_TOKEN, {
    checkpointInBackground: true,
    logger,
  });
  const metrics = createPromMetrics({
    token: settings.FW_METRICS_TOKEN,
    ...(options.cluster ? { cluster: { keepsSharedFigures: leader } } : {}),
  });
  const nc = await connect({
    servers: natsServers(settings.FW_NATS_URL),
    name: "framewire-edge",
    maxReconnectAttempts: -1,
    // Otherwise every publish builds an Error up front, for a stack it shows only if the publish
    // times out: 4% of a submission's CPU (--cpu-prof). A failed dispatch is logged by its message
    // and the job's id, and the outbox publishes it again.
    noAsyncTraces: true,
  });
  const dispatcher = await createNatsDispatcher(nc, { provision: true, replicas: settings.FW_NATS_REPLICAS });
  const deps: EdgeDeps = assembleDeps({
    db: database.db,
    dispatcher,
    fleet: await createNatsFleetView(nc),
    storage: openStore(storageSettings, settings.FW_STORAGE_DIR, config),
    config,
    logger,
    metrics,
    ...(options.cluster ? { rateLimits: createClusterRateLimitStore() } : {}),
    webhookSender: createNodeWebhookSender(config.webhooks),
    // Behind a proxy that sets FW_CLIENT_IP_HEADER, that header; otherwise the socket's peer.
    clientIp: (c) =>
      headerIp(c, config.clientIpHeader, config.clientIpHops) ?? getConnInfo(c).remote.address ?? "unknown",
    // Watches list the buckets `s3` inputs may read, with the same credentials.
    bucketLister: config.s3InputBuckets.length > 0 ? createS3BucketLister(s3) : null,
    // Reading a job's version from a local file costs little, and knowing it unchanged (the change
    // mark, and the jobs updated since it moved) nothing per request; from a remote server, a round trip.
    jobViews: settings.FW_DB_URL.startsWith("file:") ? localJobViewCache(database, logger) : null,
    commitGroup: createCommitGroup(database.db),
  });
  metrics.attach(deps);
  // A key revoked through any edge process or instance leaves this one's cache at once.
  nc.subscribe(subjects.keyRevoked, { callback: (_error, msg) => deps.keyCache.forget(msg.string()) });
  const app = createApp(deps);
  // After `framewire restore`: dispatch again what the snapshot holds as queued or running.
  if (leader)
    await recoverAfterRestore(deps).catch((error: unknown) =>
      logger.error({ err: error }, "restore:recover:failed"),
    );

  const server = serve({ fetch: app.fetch, hostname: settings.FW_API_HOST, port: settings.FW_API_PORT });
  // Node ends any request still going after 300 s (requestTimeout): an upload of
  // FW_MAX_UPLOAD_BYTES (2 GiB by default) would have needed 7 MB/s. Instead a request takes as long
  // as its data keeps moving, and a connection with nothing sent either way for 2 minutes is closed
  // (the headers still have to arrive within Node's 60 s).
  const http = server as Server;
  http.requestTimeout = 0;
  http.setTimeout(socketIdleMs);
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  const port = (server.address() as AddressInfo).port;

  // Sweepers run in one process of a cluster: the others would only race it for the same rows.
  const outboxSweeper = startTimerTask(
    leader,
    settings.FW_OUTBOX_SWEEP_MS,
    () => sweepOutbox(deps, { graceMs: settings.FW_OUTBOX_SWEEP_MS, batch: 100 }),
    (error) => logger.warn({ err: error }, "outbox:sweep:failed"),
  );
  const waitingSweeper = startTimerTask(
    leader,
    settings.FW_OUTBOX_SWEEP_MS,
    () => noteWaitingJobs(deps, { batch: 100 }),
    (error) => logger.warn({ err: error }, "waiting:sweep:failed"),
  );
  const webhookSweeper = startTimerTask(
    leader,
    settings.FW_WEBHOOK_SWEEP_MS,
    () => sweepWebhooks(deps, { batch: 100 }),
    (error) => logger.warn({ err: error }, "webhook:sweep:failed"),
  );
  const retentionSweeper = startTimerTask(
    leader,
    settings.FW_RETENTION_SWEEP_MS,
    () => sweepRetention(deps, { batch: 200 }),
    (error) => logger.warn({ err: error }, "retention:sweep:failed"),
  );
  const workflowSweeper = startTimerTask(
    leader,
    settings.FW_SCHEDULER_SWEEP_MS,
    () => runScheduledSweeps(deps),
    (error) => logger.warn({ err: error }, "scheduler:sweep:failed"),
  );
  // Key usage (last_used_at, request_count) is counted in memory and written here, off the request path.
  const usageFlusher = setInterval(() => void deps.usage.flush(deps.db, logger), settings.FW_USAGE_FLUSH_MS);
  usageFlusher.unref();

  logger.info({ port }, "edge:listening");
  return {
    url: `http://${settings.FW_API_HOST}:${port}`,
    port,
    deps,
    async close() {
      for (const task of [outboxSweeper, waitingSweeper, webhookSweeper, retentionSweeper, workflowSweeper])
        task.stop();
      clearInterval(usageFlusher);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await deps.background.settled();
      await deps.usage.flush(deps.db, logger);
      await dispatcher.close();
      await database.close();
      clearInterval(logFlush);
      logStream.flushSync();
    },
  };
}

/** How long a connection may send and receive nothing, mid-request, before it is closed. */
const socketIdleMs = 120_000;

function openStore(settings: StorageSettings, dir: string, config: EdgeConfig): ObjectStore {
  if (settings.kind === "s3") return createS3ObjectStore(settings.s3);
  return createLocalObjectStore(createLocalFileStore(dir), {
    publicUrl: config.publicUrl,
    tokenSecret: config.tokenSecret,
    downloadTtlSec: config.downloadTtlSec,
  });
}

/**
 * Runs `task` every `ms`, never two at once (a slow sweep delays the next instead of overlapping);
 * not at all in a process that doesn't sweep (`runs` false).
 */
function startTimerTask(
  runs: boolean,
  ms: number,
  task: () => Promise<unknown>,
  onError: (error: unknown) => void,
) {
  if (!runs) return { stop() {} };
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    task()
      .catch(onError)
      .finally(() => {
        running = false;
      });
  }, ms);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
