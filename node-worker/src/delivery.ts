import { streams } from "@framewire/shared/nats";
import type { Msg, NatsConnection } from "@nats-io/nats-core";

/**
 * One JetStream delivery, acked through the JetStream ack protocol on its reply subject.
 *
 * We pull with `no_wait` through the raw consumer API rather than the simple consumer's `next()`,
 * because `next()` waits at least a second on an empty consumer: a node checking high, then
 * default, then low would stall on every empty priority. With no_wait an empty queue answers at
 * once with a 404 status, so priority order costs three round trips, not three seconds.
 */
export interface Delivery {
  subject: string;
  data: Uint8Array;
  header(name: string): string | undefined;
  /** 1 on the first delivery; JetStream counts redeliveries (after ack_wait, nak, or a dead node). */
  attempt: number;
  ack(): Promise<void>;
  /** Hands the message back for redelivery after `delayMs`. */
  nak(delayMs?: number): void;
  /** Resets ack_wait: the job is still being worked on. */
  working(): void;
  /** Stops redelivery for good. */
  term(): void;
}

/** Parses the delivery count out of `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>...` (v1 and v2 forms). */
export function attemptFromAckSubject(reply: string): number {
  const tokens = reply.split(".");
  const delivered = tokens.length === 9 ? tokens[4] : tokens[6];
  const n = Number(delivered);
  return Number.isInteger(n) && n > 0 ? n : 1;
}

function toDelivery(nc: NatsConnection, msg: Msg): Delivery {
  const reply = msg.reply ?? "";
  return {
    subject: msg.subject,
    data: msg.data,
    header: (name) => msg.headers?.get(name) || undefined,
    attempt: attemptFromAckSubject(reply),
    async ack() {
      // A request makes the server confirm the ack (double ack), so a lost ack can't cause a redelivery we think is done.
      await nc.request(reply, new TextEncoder().encode("+ACK"), { timeout: 5_000 }).catch(() => {
        nc.publish(reply, new TextEncoder().encode("+ACK"));
      });
    },
    nak(delayMs) {
      const body = delayMs ? `-NAK ${JSON.stringify({ delay: delayMs * 1_000_000 })}` : "-NAK";
      nc.publish(reply, new TextEncoder().encode(body));
    },
    working() {
      nc.publish(reply, new TextEncoder().encode("+WPI"));
    },
    term() {
      nc.publish(reply, new TextEncoder().encode("+TERM"));
    },
  };
}

/** Pulls one message from a durable consumer, or null at once when it has none. */
export async function pullOne(
  nc: NatsConnection,
  consumer: string,
  timeoutMs = 5_000,
): Promise<Delivery | null> {
  const request = new TextEncoder().encode(JSON.stringify({ batch: 1, no_wait: true }));
  const msg = await nc.request(`$JS.API.CONSUMER.MSG.NEXT.${streams.jobs}.${consumer}`, request, {
    timeout: timeoutMs,
    // JetStream delivers the message under its original subject, not the inbox's; a muxed
    // request matches replies by inbox token and would drop it. A dedicated inbox matches by sid.
    noMux: true,
  });
  // Status replies (404 no messages, 408 request expired, 409 limits) carry no data and no ack subject.
  if (!msg.reply || msg.headers?.code) return null;
  return toDelivery(nc, msg);
}
