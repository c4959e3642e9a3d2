import type { NodeHeartbeatInput } from "@framewire/shared";

/** A live CPU node's heartbeat as nodes write it to KV `fw_nodes`, with `overrides` on top. */
export function heartbeatFixture(
  id: string,
  overrides: Partial<NodeHeartbeatInput> = {},
): NodeHeartbeatInput {
  const now = new Date().toISOString();
  return {
    id,
    host: "host",
    pools: ["cpu"],
    engine: "native",
    encoders: ["libx264"],
    hardware: [],
    hardware_encoders: [],
    hardware_errors: {},
    slots: { total: 1, busy: 0 },
    jobs: [],
    version: "0.1.0",
    started_at: now,
    at: now,
    ...overrides,
  };
}
