import * as schema from "@framewire/shared/db";
import { createClient } from "@libsql/client/web";
import { wsconnect } from "@nats-io/nats-core";
import { drizzle } from "drizzle-orm/libsql/web";
import { createApp } from "./app";
import { parseEdgeConfig } from "./config";
import type { EdgeDeps } from "./deps";
import type { Dispatcher } from "./dispatch/dispatcher";
import { createNatsDispatcher } from "./dispatch/nats-dispatcher";
import { createConsoleLogger } from "./logger";
import { sweepOutbox } from "./outbox";

/** Bindings named in wrangler.toml (vars and secrets). */
export interface WorkerEnv {
  FW_PUBLIC_URL: string;
  FW_PROGRESS_URL: string;
  FW_NATS_WS_URL: string;
  FW_DB_URL: string;
  FW_DB_AUTH_TOKEN?: string;
  FW_TOKEN_SECRET: string;
  FW_NODE_TOKEN: string;
  [key: string]: unknown;
}

interface ExecutionContext {
  waitUntil(promise: Promise<unknown>): void;
}

/**
 * A dispatcher that connects on first use. Inside a Worker a NATS connection made in one request
 * cannot be reused by the next, so each request that needs NATS connects (~5 ms) and reads that
 * don't, never do.
 */
function lazyDispatcher(url: string): Dispatcher & { dispose(): Promise<void> } {
  let inner: Promise<Dispatcher> | null = null;
  const get = () => {
    inner ??= wsconnect({ servers: url }).then((nc) => createNatsDispatcher(nc, { provision: false }));
    return inner;
  };
  return {
    dispatch: async (m, meta) => (await get()).dispatch(m, meta),
    announce: async (s) => (await get()).announce(s),
    cancel: async (id) => (await get()).cancel(id),
    health: async () => (await get()).health(),
    close: async () => (inner ? (await inner).close() : undefined),
    dispose: async () => {
      if (inner) await (await inner).close().catch(() => {});
    },
  };
}

function buildDeps(env: WorkerEnv) {
  const client = createClient({
    url: env.FW_DB_URL,
    ...(env.FW_DB_AUTH_TOKEN ? { authToken: env.FW_DB_AUTH_TOKEN } : {}),
  });
  const dispatcher = lazyDispatcher(env.FW_NATS_WS_URL);
  const deps: EdgeDeps = {
    db: drizzle(client, { schema }),
    dispatcher,
    files: null,
    config: parseEdgeConfig(env),
    logger: createConsoleLogger({ service: "edge", runtime: "workers" }),
    clock: Date.now,
  };
  return { deps, dispose: () => dispatcher.dispose() };
}

export default {
  async fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response> {
    const { deps, dispose } = buildDeps(env);
    try {
      return await createApp(deps).fetch(request);
    } finally {
      ctx.waitUntil(dispose());
    }
  },

  /** Cron trigger: re-publish jobs that were accepted while NATS was unreachable. */
  async scheduled(_event: unknown, env: WorkerEnv, ctx: ExecutionContext): Promise<void> {
    const { deps, dispose } = buildDeps(env);
    ctx.waitUntil(sweepOutbox(deps, { graceMs: 30_000, batch: 200 }).finally(dispose));
  },
};
