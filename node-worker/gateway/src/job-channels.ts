import { decodeMessage, isFinal, type ProgressMessage, progressMessageSchema } from "@framewire/shared";
import { progressKeys, subjects } from "@framewire/shared/nats";
import type { KV } from "@nats-io/kv";
import type { NatsConnection, Subscription } from "@nats-io/nats-core";

/** Something that receives a job's progress messages (a WebSocket, in the gateway). */
export interface Listener {
  /** `message` is the JSON text as UTF-8 bytes, encoded once for every listener. */
  deliver(message: Uint8Array, final: boolean): void;
  /** Called once the listener has its snapshot and takes live messages (from `broadcast`, if given). */
  live?(): void;
}

export interface JobChannelOptions {
  /**
   * Sends a live, non-final message to every live listener of a job at once (the gateway: one
   * uWS topic publish, fanned out in C++). Without it, each listener's deliver() is called.
   */
  broadcast?: (jobId: string, message: Uint8Array) => void;
}

interface Latest {
  bytes: Uint8Array;
  message: ProgressMessage;
}

/** One job's subscription, its listeners and the latest message per output (and the latest state). */
interface Channel {
  sub: Subscription;
  listeners: Set<Listener>;
  /** Joined, waiting for the snapshot: not sent live messages yet, so never one older than the snapshot. */
  waiting: Set<Listener>;
  ticks: Map<string, Latest>;
  state: Latest | null;
  /** Settles once the KV snapshot has been merged in (it never rejects). */
  loaded: Promise<void>;
}

function parse(bytes: Uint8Array): Latest | null {
  try {
    // Parsed once per message (not per socket) to read its type, output and status; the sockets
    // are sent the original bytes.
    return { bytes, message: decodeMessage(progressMessageSchema, bytes) };
  } catch {
    return null;
  }
}

const finalState = (latest: Latest | null) =>
  latest !== null && latest.message.type === "job:state" && isFinal(latest.message.status);

/**
 * One NATS subscription per job however many sockets watch it, and the job's latest state kept in
 * memory: a new listener is sent the latest tick of every output (and the latest state) from that
 * cache, then every message as it comes. The cache is filled from KV once per channel, after the
 * subscription is made, so nothing published in between is missed; a message that arrives live
 * while KV is read is newer than what KV held and wins.
 */
export function createJobChannels(nc: NatsConnection, progressKv: KV, options: JobChannelOptions = {}) {
  const { broadcast } = options;
  const channels = new Map<string, Channel>();

  function remember(channel: Channel, latest: Latest, live: boolean): void {
    const { message } = latest;
    if (message.type === "job:state") {
      if (live || channel.state === null) channel.state = latest;
    } else if (live || !channel.ticks.has(message.output)) {
      channel.ticks.set(message.output, latest);
    }
  }

  function onMessage(jobId: string, bytes: Uint8Array): void {
    const channel = channels.get(jobId);
    const latest = parse(bytes);
    if (!channel || !latest) return;
    // Kept as a copy: the message's bytes may be a view into a larger buffer of the NATS client's.
    remember(channel, { ...latest, bytes: bytes.slice() }, true);
    const final = finalState(latest);
    if (broadcast && !final) {
      if (channel.listeners.size > 0) broadcast(jobId, bytes);
      return;
    }
    for (const listener of channel.listeners) listener.deliver(bytes, final);
  }

  async function loadSnapshot(jobId: string, channel: Channel): Promise<void> {
    try {
      const state = await progressKv.get(progressKeys.state(jobId));
      const fromKv: Latest[] = [];
      if (state?.value && state.value.length > 0) {
        const latest = parse(state.value);
        if (latest) fromKv.push(latest);
      }
      const keys: string[] = [];
      for await (const key of await progressKv.keys(progressKeys.outputsOf(jobId))) keys.push(key);
      for (const key of keys) {
        const entry = await progressKv.get(key);
        const latest = entry?.value && entry.value.length > 0 ? parse(entry.value) : null;
        if (latest) fromKv.push(latest);
      }
      for (const latest of fromKv) remember(channel, latest, false);
    } catch {
      // KV unavailable: the listener still gets every live message.
    }
  }

  /** What a listener joining now is sent first: state (unless final), the newest attempt's ticks, final state. */
  function snapshot(channel: Channel): { bytes: Uint8Array; final: boolean }[] {
    const out: { bytes: Uint8Array; final: boolean }[] = [];
    const final = finalState(channel.state);
    if (channel.state && !final) out.push({ bytes: channel.state.bytes, final: false });
    const ticks = [...channel.ticks.values()];
    const attempt = Math.max(
      0,
      ...ticks.map((t) => (t.message.type === "job:progress" ? t.message.attempt : 0)),
    );
    for (const tick of ticks) {
      if (tick.message.type === "job:progress" && tick.message.attempt === attempt)
        out.push({ bytes: tick.bytes, final: false });
    }
    if (channel.state && final) out.push({ bytes: channel.state.bytes, final: true });
    return out;
  }

  return {
    async join(jobId: string, listener: Listener): Promise<void> {
      let channel = channels.get(jobId);
      if (!channel) {
        const sub = nc.subscribe(subjects.progress(jobId), {
          callback: (_err, msg) => onMessage(jobId, msg.data),
        });
        const created: Channel = {
          sub,
          listeners: new Set(),
          waiting: new Set(),
          ticks: new Map(),
          state: null,
          loaded: Promise.resolve(),
        };
        created.loaded = loadSnapshot(jobId, created);
        channels.set(jobId, created);
        channel = created;
      }
      channel.waiting.add(listener);
      await channel.loaded;
      // Left (socket closed) while the snapshot loaded: nothing to send.
      if (!channel.waiting.delete(listener)) return;
      for (const { bytes, final } of snapshot(channel)) {
        listener.deliver(bytes, final);
        if (final) return;
      }
      channel.listeners.add(listener);
      listener.live?.();
    },

    leave(jobId: string, listener: Listener): void {
      const channel = channels.get(jobId);
      if (!channel) return;
      channel.listeners.delete(listener);
      channel.waiting.delete(listener);
      if (channel.listeners.size === 0 && channel.waiting.size === 0) {
        channel.sub.unsubscribe();
        channels.delete(jobId);
      }
    },

    get size() {
      return channels.size;
    },
  };
}
