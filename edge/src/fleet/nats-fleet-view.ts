import {
  deadLetterMessageSchema,
  decodeMessage,
  type NodeHeartbeat,
  nodeHeartbeatSchema,
  safeDecodeMessage,
} from "@framewire/shared";
import { kvBuckets, streams, subjects } from "@framewire/shared/nats";
import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/nats-core";
import type { FleetView } from "./fleet-view";

function isMissing(error: unknown): boolean {
  const text = String((error as { message?: string })?.message ?? error);
  return /not found|no message found|stream not found/i.test(text);
}

export async function createNatsFleetView(nc: NatsConnection): Promise<FleetView> {
  const jsm = await jetstreamManager(nc);
  const kvm = new Kvm(nc);

  async function getRaw(jobId: string): Promise<Uint8Array | null> {
    try {
      const stored = await jsm.streams.getMessage(streams.deadLetters, {
        last_by_subj: subjects.deadLetter(jobId),
      });
      return stored?.data ?? null;
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
        if (entry && entry.operation === "PUT" && entry.value.length > 0) {
          // A heartbeat that doesn't parse (a node of another version, a hand-written key) is not a
          // node this edge can describe: leave it out rather than fail the whole listing.
          const beat = nodeHeartbeatSchema.safeParse(entry.json());
          if (beat.success) out.push(beat.data);
        }
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
      const raw = await Promise.all(jobIds.map(getRaw));
      // One letter this edge can't read (another version's, hand-written) must not hide the rest;
      // it still counts in deadLetterCount and can be dropped by job id.
      const letters = raw.map((data) => (data ? safeDecodeMessage(deadLetterMessageSchema, data) : null));
      return letters
        .flatMap((l) => (l?.success ? [l.data] : []))
        .sort((a, b) => b.dead_at.localeCompare(a.dead_at))
        .slice(0, limit);
    },

    async deadLetter(jobId) {
      const data = await getRaw(jobId);
      return data ? decodeMessage(deadLetterMessageSchema, data) : null;
    },

    async dropDeadLetter(jobId) {
      const result = await jsm.streams.purge(streams.deadLetters, { filter: subjects.deadLetter(jobId) });
      return result.purged > 0;
    },
  };
}
