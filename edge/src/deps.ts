import { forwardedClientAddress } from "@framewire/shared";
import type { Context } from "hono";
import type { KeyCache } from "./auth/key-cache";
import { createKeyCache } from "./auth/key-cache";
import { createUsageRecorder, type UsageRecorder } from "./auth/usage";
import { type BackgroundTasks, createBackgroundTasks } from "./background";
import type { CommitGroup } from "./commit-group";
import type { EdgeConfig } from "./config";
import type { Db } from "./db";
import type { Dispatcher } from "./dispatch/dispatcher";
import { createNodesCache, type NodesCache } from "./fleet/coverage";
import { emptyFleet, type FleetView } from "./fleet/fleet-view";
import type { JobViewCache } from "./jobs/view-cache";
import type { Logger } from "./logger";
import type { EdgeMetrics } from "./metrics";
import { createMemoryRateLimitStore, type RateLimitStore } from "./rate-limit/store";
import { requestHeader } from "./request-header";
import { createMaintenanceSwitch, type MaintenanceSwitch } from "./settings";
import type { ObjectStore } from "./storage/object-store";
import type { BucketLister } from "./watches/lister";
import { createFetchWebhookSender, type WebhookSender } from "./webhooks/sender";

/** Everything the Hono app needs, built by a runtime entry (Node or Workers) and injected. */
export interface EdgeDeps {
  db: Db;
  dispatcher: Dispatcher;
  fleet: FleetView;
  /** The heartbeats as submissions see them (cached a few seconds per instance). */
  nodesCache: NodesCache;
  /** Where uploads and outputs live: the local folder (Node) or S3; null when none is configured. */
  storage: ObjectStore | null;
  config: EdgeConfig;
  logger: Logger;
  /** Milliseconds since the epoch; injectable for tests. */
  clock: () => number;
  keyCache: KeyCache;
  usage: UsageRecorder;
  rateLimits: RateLimitStore;
  maintenance: MaintenanceSwitch;
  /** The client's address for per-IP limits; the runtime knows where to find it. */
  clientIp: (c: Context) => string;
  /** Prometheus metrics, where the runtime has them (Node). */
  metrics: EdgeMetrics | null;
  /** Sends webhooks within the SSRF policy; Node's resolves names itself (see webhooks/sender.ts). */
  webhookSender: WebhookSender;
  /** Work that continues after the response (the first attempt at a webhook, a batch's jobs). */
  background: BackgroundTasks;
  /** Lists watched buckets (FW_S3_* credentials); null when no bucket may be watched. */
  bucketLister: BucketLister | null;
  /** Rendered job views, where the database is a local file (see jobs/view-cache.ts); else null. */
  jobViews: JobViewCache | null;
  /** Submissions' writes of one moment in one transaction (Node; see commit-group.ts); else null. */
  commitGroup: CommitGroup | null;
}

export type DepsInput = Pick<EdgeDeps, "db" | "dispatcher" | "storage" | "config" | "logger"> &
  Partial<Omit<EdgeDeps, "db" | "dispatcher" | "storage" | "config" | "logger">>;

/** The in-process defaults (one Node process); a runtime entry overrides what it has better. */
export function assembleDeps(input: DepsInput): EdgeDeps {
  const { config } = input;
  return {
    fleet: emptyFleet,
    nodesCache: createNodesCache(),
    clock: Date.now,
    keyCache: createKeyCache({ ttlMs: config.keyCacheTtlMs }),
    usage: createUsageRecorder(),
    rateLimits: createMemoryRateLimitStore(),
    maintenance: createMaintenanceSwitch({ ttlMs: config.settingsCacheMs }),
    clientIp: (c) => headerIp(c, config.clientIpHeader, config.clientIpHops) ?? "unknown",
    metrics: null,
    webhookSender: createFetchWebhookSender(config.webhooks),
    background: createBackgroundTasks(input.logger),
    bucketLister: null,
    jobViews: null,
    commitGroup: null,
    ...input,
  };
}

/**
 * The client address a proxy-set header vouches for (`x-forwarded-for: client, proxy1, …`): the
 * entry `hops` from the right, and only if it is an IP address; null otherwise (the caller falls
 * back to the socket's peer). See shared/src/net-policy.ts.
 */
export function headerIp(c: Context, header: string | null, hops: number): string | null {
  if (!header) return null;
  return forwardedClientAddress(requestHeader(c, header), hops);
}
