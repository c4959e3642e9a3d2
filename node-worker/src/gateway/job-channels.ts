import { isFinal, type ProgressMessage, subjects } from "@framewire/shared";
import type { KV } from "@nats-io/kv";
import type { NatsConnection, Subscription } from "@nats-io/nats-core";

/** Something that receives a job's progress messages (a WebSocket, in the gateway). */
export interface Listener {
  deliver(message: string, final: boolean): void;
}

/**
 * One NATS subscription per job however many sockets watch it. A new listener gets the last
 * known message from KV first; the subscription is made before the KV read so nothing published
 * in between is missed (a duplicate tick is harmless: ticks are latest-state).
 */
export function createJobChannels(nc: NatsConnection, progressKv: KV) {
  const channels = new Map<string, { sub: Subscription; listeners: Set<Listener> }>();
  const decoder = new TextDecoder();

  const isFinalMessage = (text: string) => {
    const message = JSON.parse(text) as ProgressMessage;
    return message.type === "job:state" && isFinal(message.status);
  };

  function fanOut(jobId: string, text: string) {
    const channel = channels.get(jobId);
    if (!channel) return;
    const final = isFinalMessage(text);
    for (const listener of channel.listeners) listener.deliver(text, final);
  }

  return {
    async join(jobId: string, listener: Listener): Promise<void> {
      let channel = channels.get(jobId);
      if (!channel) {
        const sub = nc.subscribe(subjects.progress(jobId), {
          callback: (_err, msg) => fanOut(jobId, decoder.decode(msg.data)),
        });
        channel = { sub, listeners: new Set() };
        channels.set(jobId, channel);
      }
      channel.listeners.add(listener);
      const last = await progressKv.get(jobId).catch(() => null);
      if (last?.value && last.value.length > 0 && channel.listeners.has(listener)) {
        const text = decoder.decode(last.value);
        listener.deliver(text, isFinalMessage(text));
      }
    },

    leave(jobId: string, listener: Listener): void {
      const channel = channels.get(jobId);
      if (!channel) return;
      channel.listeners.delete(listener);
      if (channel.listeners.size === 0) {
        channel.sub.unsubscribe();
        channels.delete(jobId);
      }
    },

    get size() {
      return channels.size;
    },
  };
}
