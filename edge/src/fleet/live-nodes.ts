import type { NodeHeartbeat, NodeSummary } from "@framewire/shared";
import { nodeHeartbeatTtlMs } from "@framewire/shared/nats";

/** Nodes whose heartbeat is younger than the KV TTL. */
export function liveNodes(nodes: NodeHeartbeat[], now: number): NodeHeartbeat[] {
  return nodes.filter((n) => now - Date.parse(n.at) < nodeHeartbeatTtlMs);
}

/** Active = heartbeat younger than the KV TTL; busy = at least one slot in use. */
export function summariseNodes(nodes: NodeHeartbeat[], now: number): NodeSummary {
  const active = liveNodes(nodes, now);
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
