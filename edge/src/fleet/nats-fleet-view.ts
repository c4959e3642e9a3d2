import { type DeadLetterMessage, kvBuckets, type NodeHeartbeat, streams, subjects } from "@framewire/shared";
import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/nats-core";
import type { FleetView } from "./fleet-view";

const decoder = new TextDecoder();

function isMissing(error: unknown): boolean {
  const text = String((error as { message?: string })?.message ?? error);
  return /not found|no message found|stream not found/i.test(text);
}

export async function createNatsFleetView(nc: NatsConnection): Promise<FleetView> {
  const jsm = await jetstreamManager(nc);
  const kvm = new Kvm(nc);

  async function get(jobId: string): Promise<DeadLetterMessage | null> {
    try {
      const stored = await jsm.streams.getMessage(streams.deadLetters, {
        last_by_subj: subjects.deadLetter(jobId),
      });
      return stored ? (JSON.parse(decoder.decode(stored.data)) as DeadLetterMessage) : null;
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  return {
    async nodes() {
      const kv = await kvm.open(kvBuckets.nodes);
      const out: NodeHeartbeat[] = [];
      const keys = await kv.keys().catch((error: unknown) => {
        if (isMissing(error)) return null;
        throw error;
      });
      if (!keys) return out;
      const names: string[] = [];
      for await (const key of keys) names.push(key);
      for (const name of names) {
        const entry = await kv.get(name);
        if (entry && entry.operation === "PUT" && entry.value.length > 0)
          out.push(entry.json<NodeHeartbeat>());
      }
      return out.sort((a, b) => a.id.localeCompare(b.id));
    },

    async deadLetterCount() {
      const info = await jsm.streams.info(streams.deadLetters).catch((error: unknown) => {
        if (isMissing(error)) return null;
        throw error;
      });
      return info?.state.messages ?? 0;
    },

    async deadLetters(limit) {
      const info = await jsm.streams
        .info(streams.deadLetters, { subjects_filter: subjects.deadLettersAll })
        .catch((error: unknown) => {
          if (isMissing(error)) return null;
          throw error;
        });
      const jobIds = Object.keys(info?.state.subjects ?? {}).map((s) => s.slice("fw.dlq.".length));
      const letters = await Promise.all(jobIds.map(get));
      return letters
        .filter((l): l is DeadLetterMessage => l !== null)
        .sort((a, b) => b.dead_at.localeCompare(a.dead_at))
        .slice(0, limit);
    },

    deadLetter: get,

    async dropDeadLetter(jobId) {
      const result = await jsm.streams.purge(streams.deadLetters, { filter: subjects.deadLetter(jobId) });
      return result.purged > 0;
    },
  };
}
