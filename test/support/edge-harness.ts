import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Scope } from "@framewire/shared";
import { createFramewireClient } from "@framewire/shared/client";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import pino from "pino";
import { createApp } from "../../edge/src/app";
import { createTenant, issueApiKey } from "../../edge/src/auth/api-keys";
import { type EdgeConfigInput, parseEdgeConfig } from "../../edge/src/config";
import { assembleDeps, type DepsInput, type EdgeDeps } from "../../edge/src/deps";
import { createNatsDispatcher } from "../../edge/src/dispatch/nats-dispatcher";
import { createNatsFleetView } from "../../edge/src/fleet/nats-fleet-view";
import { localJobViewCache } from "../../edge/src/jobs/view-cache";
import type { Logger } from "../../edge/src/logger";
import { openDatabase } from "../../edge/src/nodejs/database";
import { createLocalFileStore } from "../../edge/src/nodejs/local-file-store";
import { createNodeWebhookSender } from "../../edge/src/nodejs/webhook-sender";
import { createLocalObjectStore } from "../../edge/src/storage/local-object-store";
import { type NatsServer, startNatsServer } from "./nats-server";

/**
 * Test fixture: the edge app over a real libSQL file and a real nats-server, driven through
 * app.request(). `clock` runs with real time plus `advance()`d milliseconds.
 */
export interface EdgeHarness {
  dir: string;
  nats: NatsServer;
  nc: NatsConnection;
  deps: EdgeDeps;
  app: ReturnType<typeof createApp>;
  nodeToken: string;
  advance(ms: number): void;
  /** A second edge instance over the same database and NATS, with its own caches. */
  instance(overrides?: Partial<DepsInput>): { deps: EdgeDeps; app: ReturnType<typeof createApp> };
  client(apiKey?: string, headers?: Record<string, string>): ReturnType<typeof createFramewireClient>;
  key(tenantId: string, scopes: Scope[], expiresAt?: number | null): Promise<string>;
  tenant(name: string): Promise<string>;
  restartNats(): Promise<void>;
  close(): Promise<void>;
}

export const testNodeToken = "n".repeat(40);

export function testConfig(overrides: Partial<EdgeConfigInput> = {}) {
  return parseEdgeConfig({
    FW_PUBLIC_URL: "http://api.test",
    FW_PROGRESS_URL: "ws://progress.test",
    FW_TOKEN_SECRET: "t".repeat(40),
    FW_NODE_TOKEN: testNodeToken,
    FW_MAX_UPLOAD_BYTES: 4096,
    FW_MAX_JSON_BYTES: 16 * 1024,
    FW_RATE_KEY_BURST: 100_000,
    FW_RATE_IP_BURST: 100_000,
    FW_CLIENT_IP_HEADER: "x-test-client-ip",
    ...overrides,
  });
}

export async function startEdgeHarness(
  options: { config?: Partial<EdgeConfigInput>; deps?: Partial<DepsInput> } = {},
): Promise<EdgeHarness> {
  const dir = await mkdtemp(join(tmpdir(), "fw-edge-"));
  let nats = await startNatsServer({ storeDir: join(dir, "nats") });
  const nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  const database = await openDatabase(`file:${join(dir, "edge.db")}`);
  let offset = 0;
  const config = testConfig(options.config);
  const base = {
    db: database.db,
    dispatcher: await createNatsDispatcher(nc, { provision: true }),
    fleet: await createNatsFleetView(nc),
    storage: createLocalObjectStore(createLocalFileStore(join(dir, "storage")), config),
    config,
    logger: pino({ level: "silent" }) as unknown as Logger,
    clock: () => Date.now() + offset,
    webhookSender: createNodeWebhookSender(config.webhooks),
  };
  // Each instance (an edge process) has its own view cache, as processes do; they share the database.
  const deps = assembleDeps({
    ...base,
    jobViews: localJobViewCache(database),
    ...options.deps,
  });
  const app = createApp(deps);
  const request = (a: ReturnType<typeof createApp>) => (url: string, init: RequestInit) =>
    a.request(url, init);

  return {
    dir,
    get nats() {
      return nats;
    },
    nc,
    deps,
    app,
    nodeToken: testNodeToken,
    advance(ms) {
      offset += ms;
    },
    instance(overrides = {}) {
      const other = assembleDeps({
        ...base,
        jobViews: localJobViewCache(database),
        ...options.deps,
        ...overrides,
      });
      return { deps: other, app: createApp(other) };
    },
    client(apiKey, headers = {}) {
      const fetch = request(app);
      return createFramewireClient({
        ...(apiKey ? { apiKey } : {}),
        fetch: (url, init) => fetch(url, { ...init, headers: { ...headers, ...(init.headers as object) } }),
      });
    },
    async tenant(name) {
      return createTenant(deps.db, name);
    },
    async key(tenantId, scopes, expiresAt = null) {
      return (await issueApiKey(deps.db, { tenantId, name: `test ${scopes.join(",")}`, scopes, expiresAt }))
        .key;
    },
    async restartNats() {
      await nats.stop();
      nats = await startNatsServer({ port: nats.port, storeDir: join(dir, "nats") });
    },
    async close() {
      await deps.background.settled();
      await nc.close().catch(() => {});
      await nats.stop();
      database.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
