import type { JobWarning, NodeHeartbeat, Pool } from "@framewire/shared";
import type { FleetView } from "./fleet-view";
import { liveNodes } from "./live-nodes";

/**
 * Whether the live fleet can run a pool's jobs, in words a client and an operator can act on: the
 * warnings a job gets when it is accepted (POST /v1/jobs), and the reason of its `job:waiting`
 * event when it has waited too long. Computed from the heartbeats (KV fw_nodes).
 */
export function coverageWarnings(nodes: NodeHeartbeat[], pool: Pool, now: number): JobWarning[] {
  const serving = liveNodes(nodes, now).filter((n) => n.pools.includes(pool));
  if (serving.length === 0) {
    return [
      {
        code: "no_node_for_pool",
        message:
          `No live processing node serves the ${pool} pool${pool === "gpu" ? ' (accel "gpu")' : ""}: ` +
          "the job waits in the queue until one starts.",
      },
    ];
  }
  if (pool === "gpu" && serving.every((n) => n.hardware_encoders.length === 0)) {
    const why = serving
      .slice(0, 3)
      .map((n) => `${n.id}: ${Object.values(n.hardware_errors).join("; ") || "no hardware encoder opened"}`)
      .join(" | ");
    return [
      {
        code: "no_hardware_encoder",
        message:
          `No node of the gpu pool has a hardware encoder that opened (${why.slice(0, 500)}): ` +
          'the job will fail with "unsupported" when it runs.',
      },
    ];
  }
  if (serving.every((n) => !n.accepting)) {
    const why = serving
      .slice(0, 3)
      .map((n) => `${n.id}: ${n.refusing_reason ?? "not accepting"}`)
      .join(" | ");
    return [
      {
        code: "no_node_accepting",
        message: `Every node of the ${pool} pool holds back new jobs (${why.slice(0, 500)}): the job waits until one takes work again.`,
      },
    ];
  }
  return [];
}

/** Warnings that mean no node will ever run the job as things stand (what FW_UNSERVED_POOL=refuse refuses). */
export function isUnserved(warnings: JobWarning[]): boolean {
  return warnings.some((w) => w.code === "no_node_for_pool" || w.code === "no_hardware_encoder");
}

/**
 * The heartbeats, read at most once per `ttlMs` (2 s) per instance: every job submission looks at
 * them, and reading the bucket costs a NATS round trip per node; a node that starts or stops is
 * seen by submissions at most that much later. Null when NATS can't be read (then no
 * warning is given: the edge does not know).
 */
export interface NodesCache {
  nodes(fleet: Pick<FleetView, "nodes">, now: number): Promise<NodeHeartbeat[] | null>;
}

export function createNodesCache(options: { ttlMs?: number } = {}): NodesCache {
  const ttlMs = options.ttlMs ?? 2_000;
  let cached: { nodes: NodeHeartbeat[]; until: number } | null = null;
  return {
    async nodes(fleet, now) {
      if (cached && cached.until > now) return cached.nodes;
      const nodes = await fleet.nodes().catch(() => null);
      if (nodes) cached = { nodes, until: now + ttlMs };
      return nodes;
    },
  };
}
