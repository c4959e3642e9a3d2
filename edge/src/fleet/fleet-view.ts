import type { DeadLetterMessage, NodeHeartbeat } from "@framewire/shared";

/**
 * What the edge reads about the fleet (heartbeats, dead letters), apart from the Dispatcher, which
 * writes jobs. Over NATS on both runtimes; the entry picks the transport.
 */
export interface FleetView {
  /** Heartbeats currently in KV fw_nodes (the bucket TTL removes silent nodes). */
  nodes(): Promise<NodeHeartbeat[]>;
  deadLetterCount(): Promise<number>;
  /** Newest first. */
  deadLetters(limit: number): Promise<DeadLetterMessage[]>;
  deadLetter(jobId: string): Promise<DeadLetterMessage | null>;
  /** Removes a job's dead letter; false when there was none. */
  dropDeadLetter(jobId: string): Promise<boolean>;
}

/** For runtimes or tests without a fleet. */
export const emptyFleet: FleetView = {
  nodes: async () => [],
  deadLetterCount: async () => 0,
  deadLetters: async () => [],
  deadLetter: async () => null,
  dropDeadLetter: async () => false,
};
