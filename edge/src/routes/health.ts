import { type HealthDetailed, randomSecret } from "@framewire/shared";
import { sql } from "drizzle-orm";
import { Hono } from "hono";
import { requireApiKey, requireScope } from "../auth/authenticate";
import type { EdgeEnv } from "../env";
import { summariseNodes } from "../fleet/live-nodes";
import { rateLimit } from "../middleware/rate-limit";
import { oldestQueuedAges, outboxBacklog } from "../ops/queries";

export const edgeVersion = "0.1.0";

/**
 * How long one check may take: an unreachable NATS or store must not hang the health answer (a
 * NATS request made while the client reconnects waits for its timeout instead of failing).
 */
const checkTimeoutMs = 3_000;

async function timed<T>(
  work: () => Promise<T>,
): Promise<{ ok: true; value: T; ms: number } | { ok: false; detail: string }> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${checkTimeoutMs} ms`)), checkTimeoutMs);
  });
  try {
    const value = await Promise.race([work(), timeout]);
    return { ok: true, value, ms: Math.round((performance.now() - started) * 10) / 10 };
  } catch (error) {
    return { ok: false, detail: describeError(error) };
  } finally {
    clearTimeout(timer);
  }
}

/** A dependency's own words: an S3 error code and status, a socket error code, or the message. */
function describeError(error: unknown): string {
  const e = error as {
    name?: string;
    Code?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
    cause?: { code?: string };
  };
  const status = e?.$metadata?.httpStatusCode;
  const code = e?.Code ?? (e?.name && !["Error", "TypeError"].includes(e.name) ? e.name : undefined);
  const cause = e?.cause?.code;
  return [code, status ? `HTTP ${status}` : undefined, String(e?.message ?? error), cause]
    .filter(Boolean)
    .join(": ");
}

export function healthRoutes() {
  const app = new Hono<EdgeEnv>();

  /** Cheap: for load balancers. Touches nothing but the process. */
  app.get("/", (c) =>
    c.json({ status: "ok", version: edgeVersion, time: new Date(c.get("deps").clock()).toISOString() }),
  );

  /**
   * Everything an operator looks at first; 503 when the database, NATS or the object store is
   * unreachable. Admin keys only: it names nodes, versions and queue depths, which help an
   * attacker more than a client.
   */
  app.get("/detailed", rateLimit("ip"), requireApiKey(), requireScope("admin"), async (c) => {
    const { db, dispatcher, fleet, storage, clock } = c.get("deps");
    const now = clock();
    const [database, nats, nodes, deadLetters, store, ages, outbox] = await Promise.all([
      timed(() => db.run(sql`select 1`)),
      timed(() => dispatcher.health()),
      timed(() => fleet.nodes()),
      timed(() => fleet.deadLetterCount()),
      storage ? timed(() => storage.probe(`framewire-probe/edge/${randomSecret(16)}`)) : null,
      timed(() => oldestQueuedAges(db, now)),
      timed(() => outboxBacklog(db)),
    ]);
    const ok = database.ok && nats.ok && nats.value.ok && (store?.ok ?? true);
    // Every heartbeat in the bucket (its TTL drops silent nodes), not only those the edge's clock
    // calls live: a node whose clock runs behind must still be listed, with its skew.
    const nodeList = nodes.ok ? nodes.value : [];
    const body: HealthDetailed = {
      status: ok ? "ok" : "degraded",
      version: edgeVersion,
      time: new Date(now).toISOString(),
      database: database.ok ? { ok: true, latency_ms: database.ms } : database,
      storage:
        store === null || !storage
          ? null
          : store.ok
            ? { ok: true, kind: storage.kind, latency_ms: store.ms }
            : { ...store, kind: storage.kind },
      nats: nats.ok
        ? {
            ok: nats.value.ok,
            ...(nats.value.detail ? { detail: nats.value.detail } : {}),
            latency_ms: nats.ms,
          }
        : nats,
      queue_depth: nats.ok ? (nats.value.queueDepth ?? {}) : null,
      queue_oldest_age_sec: ages.ok ? ages.value : null,
      outbox_backlog: outbox.ok ? outbox.value : null,
      queue_store:
        nats.ok && nats.value.store
          ? { bytes: nats.value.store.bytes, max_bytes: nats.value.store.maxBytes }
          : null,
      nodes: nodes.ok
        ? {
            ...summariseNodes(nodeList, now),
            list: nodeList.map((n) => ({
              id: n.id,
              pools: n.pools,
              engine: n.engine,
              encoders: n.encoders,
              hardware: n.hardware,
              hardware_encoders: n.hardware_encoders,
              hardware_errors: n.hardware_errors,
              slots: n.slots,
              version: n.version,
              versions: n.versions,
              disk: n.disk,
              memory: n.memory,
              clock_skew_ms: n.clock_skew_ms,
              storage: n.storage,
              accepting: n.accepting,
              refusing_reason: n.refusing_reason,
              at: n.at,
            })),
          }
        : nodes,
      dead_letters: deadLetters.ok ? { ok: true, count: deadLetters.value } : deadLetters,
      versions: {
        edge: edgeVersion,
        nodes: [...new Set(nodeList.map((n) => n.version))].sort(),
      },
    };
    return c.json(body, ok ? 200 : 503);
  });

  return app;
}
