import {
  deadLetterMessageSchema,
  decodeMessage,
  type NodeHeartbeat,
  nodeHeartbeatSchema,
  safeDecodeMessage,
} from "@framewire/shared";
import { kvBuckets, streams, subjects } from "@framewire/shared/nats";
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import type { FleetView } from "./fleet-view";

function isMissing(error: unknown): boolean {
  const text = String((error as { message?: string })?.message ?? error);
  return /not found|no message found|stream not found/i.test(text);
}

/** The stream under the heartbeat bucket, and its subjects' prefix (the KV layout). */
const nodesStream = `KV_${kvBuckets.nodes}`;
const nodesPrefix = `$KV.${kvBuckets.nodes}.`;
/** The header a KV delete or purge marker carries. */
const kvOperationHeader = "KV-Operation";

export async function createNatsFleetView(nc: NatsConnection): Promise<FleetView> {
  const jsm = await jetstreamManager(nc);

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
    /**
     * The heartbeats, from the bucket's stream: its subjects in one request, then each one's last
     * message. Not `kv.keys()`: that iterates an ordered consumer until it sees nothing pending,
     * and while nodes keep beating (every job start and end moves a heartbeat) it may not end at
     * all, holding every submission that asked (they wait on this to say whether a node serves
     * their pool).
     */
    async nodes() {
      const info = await jsm.streams
        .info(nodesStream, { subjects_filter: `${nodesPrefix}>` })
        .catch((error: unknown) => {
          if (isMissing(error)) return null;
          throw error;
        });
      const keys = Object.keys(info?.state.subjects ?? {});
      const entries = await Promise.all(
        keys.map((subject) =>
          jsm.streams.getMessage(nodesStream, { last_by_subj: subject }).catch((error: unknown) => {
            // Expired or deleted between the two requests.
            if (isMissing(error)) return null;
            throw error;
          }),
        ),
      );
      const out: NodeHeartbeat[] = [];
      for (const entry of entries) {
        const operation = entry?.header?.get(kvOperationHeader);
        if (!entry || entry.data.length === 0 || operation === "DEL" || operation === "PURGE") continue;
        // A heartbeat that doesn't parse (a node of another version, a hand-written key) is not a
        // node this edge can describe: leave it out rather than fail the whole listing.
        const beat = safeDecodeMessage(nodeHeartbeatSchema, entry.data);
        if (beat.success) out.push(beat.data);
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
