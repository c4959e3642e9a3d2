import type { Capabilities, EngineLog, EngineProgress, MediaFacts, Plan, RunResult } from "@framewire/native";

/** Messages between a node and one of its slot processes (Node IPC, structured clone). */
export type ToSlot =
  /** stallTimeoutMs arms the engine's own no-progress watchdog (the node's is the backstop). */
  | { type: "run"; id: number; plan: Plan; fault: SlotFault | null; stallTimeoutMs: number }
  | { type: "probe"; id: number; path: string }
  | { type: "cancel"; id: number };

export type FromSlot =
  | { type: "ready"; engine: "native" | "wasm"; capabilities: Capabilities; fallbackReason: string | null }
  | { type: "progress"; id: number; progress: EngineProgress }
  | { type: "result"; id: number; result: RunResult | MediaFacts }
  | { type: "error"; id: number; code: string; message: string; detail?: string; log?: EngineLog };

/**
 * Test-only fault injection. Honoured only when the node runs with FW_TEST_FAULTS=1 (an operator
 * setting, never set in production); the fault fault travels with the job so tests can pick which
 * job misbehaves. Without the env switch the field is ignored entirely.
 */
export type SlotFault = "crash" | "stall";
