import type { HealthDetailed, NodeHeartbeat, NodeSummary } from "@framewire/shared";
import { nodeHeartbeatTtlMs } from "@framewire/shared/nats";
import { sql } from "drizzle-orm";
import { Hono } from "hono";
import { requireApiKey, requireScope } from "../auth/authenticate";
import type { EdgeEnv } from "../env";
import { rateLimit } from "../middleware/rate-limit";

export const edgeVersion = "0.1.0";

/** Active = heartbeat younger than the KV TTL; busy = at least one slot in use. */
export function summariseNodes(nodes: NodeHeartbeat[], now: number): NodeSummary {
  const active = nodes.filter((n) => now - Date.parse(n.at) < nodeHeartbeatTtlMs);
  const busy = active.filter((n) => n.slots.busy > 0).length;
  return {
    active: active.length,
    busy,
    idle: active.length - busy,
    slots: {
      total: active.reduce((sum, n) => sum + n.slots.total, 0),
      busy: active.reduce((sum, n) => sum + n.slots.busy, 0),
    },
  };
}

async function timed<T>(
  work: () => Promise<T>,
): Promise<{ ok: true; value: T; ms: number } | { ok: false; detail: string }> {
  const started = performance.now();
  try {
    const value = await work();
    return { ok: true, value, ms: Math.round((performance.now() - started) * 10) / 10 };
  } catch (error) {
    return { ok: false, detail: String((error as Error)?.message ?? error) };
  }
}

export function healthRoutes() {
  const app = new Hono<EdgeEnv>();

  /** Cheap: for load balancers. Touches nothing but the process. */
  app.get("/", (c) => c.json({ status: "ok", version: edgeVersion }));

  /**
   * Everything an operator looks at first; 503 when the database or NATS is unreachable. Admin keys
   * only: it names nodes, versions and queue depths, which help an attacker more than a client.
   */
  app.get("/detailed", rateLimit("ip"), requireApiKey(), requireScope("admin"), async (c) => {
    const { db, dispatcher, fleet, clock } = c.get("deps");
    const [database, nats, nodes, deadLetters] = await Promise.all([
      timed(() => db.run(sql`select 1`)),
      timed(() => dispatcher.health()),
      timed(() => fleet.nodes()),
      timed(() => fleet.deadLetterCount()),
    ]);
    const now = clock();
    const ok = database.ok && nats.ok && nats.value.ok;
    const nodeList = nodes.ok ? nodes.value : [];
    const body: HealthDetailed = {
      status: ok ? "ok" : "degraded",
      version: edgeVersion,
      database: database.ok ? { ok: true, latency_ms: database.ms } : database,
      nats: nats.ok
        ? {
            ok: nats.value.ok,
            ...(nats.value.detail ? { detail: nats.value.detail } : {}),
            latency_ms: nats.ms,
          }
        : nats,
      queue_depth: nats.ok ? (nats.value.queueDepth ?? {}) : null,
      nodes: nodes.ok
        ? {
            ...summariseNodes(nodeList, now),
            list: nodeList.map((n) => ({
              id: n.id,
              pools: n.pools,
              engine: n.engine,
              encoders: n.encoders,
              hardware: n.hardware,
              hardware_encoders: n.hardware_encoders ?? [],
              hardware_errors: n.hardware_errors ?? {},
              slots: n.slots,
              version: n.version,
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
