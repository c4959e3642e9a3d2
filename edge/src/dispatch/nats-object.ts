import { jobMessageSchema, pools, priorities, stateMessageSchema } from "@framewire/shared";
import * as schema from "@framewire/shared/db";
import { createClient } from "@libsql/client/web";
import { type NatsConnection, wsconnect } from "@nats-io/nats-core";
import { drizzle } from "drizzle-orm/libsql/web";
import { z } from "zod";
import type { Db } from "../db";
import type { FleetView } from "../fleet/fleet-view";
import { createNatsFleetView } from "../fleet/nats-fleet-view";
import { markManyDispatched } from "../jobs/repository";
import type { DurableObjectNamespaceLike } from "../rate-limit/durable-object";
import type { Dispatcher, DispatcherHealth } from "./dispatcher";
import { createNatsDispatcher } from "./nats-dispatcher";

/**
 * NATS for the edge on Workers, through one Durable Object. A Worker can't keep a connection from
 * one request to the next, so connecting per request costs every POST a WebSocket handshake and
 * nats-server a connection each. A Durable Object can: it holds one connection (reconnecting as
 * needed) and publishes for every request routed to it. Requests reach it with a small JSON call;
 * if it can't publish, the call fails and the job stays undispatched for the outbox sweeper, as
 * with any other failed publish.
 *
 * It also records what it published (the job row's dispatched_at), in batches after answering,
 * so a submit costs the request one read and one write to libSQL, not a third for the mark. A mark
 * that is lost (the object evicted first) leaves the job to the outbox sweeper, whose re-publish
 * JetStream drops as a duplicate (same Nats-Msg-Id).
 */

const jobId = z.string().regex(/^job_[0-9a-z]{26}$/);

/** The calls a request makes to the object: the Dispatcher and FleetView methods, as data. */
const callSchema = z.discriminatedUnion("op", [
  z.object({
    op: z.literal("dispatch"),
    message: jobMessageSchema,
    meta: z.object({
      requestId: z.string().max(200),
      pool: z.enum(pools),
      priority: z.enum(priorities),
      msgId: z.string().max(100),
    }),
  }),
  z.object({ op: z.literal("announce"), state: stateMessageSchema }),
  z.object({ op: z.literal("cancel"), jobId }),
  z.object({ op: z.literal("health") }),
  z.object({ op: z.literal("nodes") }),
  z.object({ op: z.literal("deadLetterCount") }),
  z.object({ op: z.literal("deadLetters"), limit: z.int().min(1).max(1000) }),
  z.object({ op: z.literal("deadLetter"), jobId }),
  z.object({ op: z.literal("dropDeadLetter"), jobId }),
]);
type Call = z.infer<typeof callSchema>;

/** How long published jobs wait to be marked together. */
const markDelayMs = 50;

interface Held {
  nc: NatsConnection;
  dispatcher: Dispatcher;
  fleet: FleetView;
}

export class NatsObject {
  readonly #url: string;
  readonly #db: Db;
  #held: Promise<Held> | null = null;
  #toMark: string[] = [];
  #marking: ReturnType<typeof setTimeout> | null = null;

  constructor(_state: unknown, env: Record<string, unknown>) {
    this.#url = String(env.FW_NATS_WS_URL ?? "");
    const client = createClient({
      url: String(env.FW_DB_URL ?? ""),
      ...(typeof env.FW_DB_AUTH_TOKEN === "string" ? { authToken: env.FW_DB_AUTH_TOKEN } : {}),
    });
    this.#db = drizzle(client, { schema });
  }

  #markLater(jobId: string) {
    this.#toMark.push(jobId);
    this.#marking ??= setTimeout(() => {
      const ids = this.#toMark;
      this.#toMark = [];
      this.#marking = null;
      void markManyDispatched(this.#db, ids, Date.now()).catch(() => {
        // The outbox sweeper re-publishes these; JetStream drops the duplicates.
      });
    }, markDelayMs);
  }

  /** The held connection, made again when the last one closed for good (or never opened). */
  async #connection(): Promise<Held> {
    const current = this.#held ? await this.#held.catch(() => null) : null;
    if (current && !current.nc.isClosed()) return current;
    this.#held = (async () => {
      const nc = await wsconnect({
        servers: this.#url,
        name: "framewire-edge-workers",
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
        // No Error built up front for each publish's stack (see nodejs/server.ts).
        noAsyncTraces: true,
      });
      return {
        nc,
        dispatcher: await createNatsDispatcher(nc, { provision: false }),
        fleet: await createNatsFleetView(nc),
      };
    })();
    return this.#held;
  }

  async fetch(request: Request): Promise<Response> {
    const call = callSchema.safeParse(await request.json().catch(() => null));
    if (!call.success) return Response.json({ error: "not a NATS call" }, { status: 400 });
    try {
      const result = await run(await this.#connection(), call.data);
      if (call.data.op === "dispatch") this.#markLater(call.data.message.job_id);
      return Response.json({ result: result ?? null });
    } catch (error) {
      // A failed connection is dropped, so the next call tries afresh.
      if (this.#held && (await this.#held.catch(() => null))?.nc.isClosed() !== false) this.#held = null;
      return Response.json({ error: (error as Error)?.message ?? String(error) }, { status: 502 });
    }
  }
}

function run(held: Held, call: Call): Promise<unknown> {
  switch (call.op) {
    case "dispatch":
      return held.dispatcher.dispatch(call.message, call.meta);
    case "announce":
      return held.dispatcher.announce(call.state);
    case "cancel":
      return held.dispatcher.cancel(call.jobId);
    case "health":
      return held.dispatcher.health();
    case "nodes":
      return held.fleet.nodes();
    case "deadLetterCount":
      return held.fleet.deadLetterCount();
    case "deadLetters":
      return held.fleet.deadLetters(call.limit);
    case "deadLetter":
      return held.fleet.deadLetter(call.jobId);
    case "dropDeadLetter":
      return held.fleet.dropDeadLetter(call.jobId);
  }
}

/** The Dispatcher and FleetView of a request, as calls to the NATS object. */
export function createDurableObjectNats(namespace: DurableObjectNamespaceLike): {
  dispatcher: Dispatcher;
  fleet: FleetView;
} {
  // One object holds the connection for every request that reaches this deployment's name for it.
  const stub = () => namespace.get(namespace.idFromName("nats"));
  async function call<T>(body: Call): Promise<T> {
    const res = await stub().fetch("https://nats/call", { method: "POST", body: JSON.stringify(body) });
    const answer = (await res.json()) as { result?: T; error?: string };
    if (!res.ok) throw new Error(`NATS: ${answer.error ?? `HTTP ${res.status}`}`);
    return answer.result as T;
  }
  return {
    dispatcher: {
      recordsDispatch: true,
      dispatch: (message, meta) => call({ op: "dispatch", message, meta }),
      announce: (state) => call({ op: "announce", state }),
      cancel: (id) => call({ op: "cancel", jobId: id }),
      health: () => call<DispatcherHealth>({ op: "health" }),
      close: async () => {},
    },
    fleet: {
      nodes: () => call({ op: "nodes" }),
      deadLetterCount: () => call({ op: "deadLetterCount" }),
      deadLetters: (limit) => call({ op: "deadLetters", limit }),
      deadLetter: (id) => call({ op: "deadLetter", jobId: id }),
      dropDeadLetter: (id) => call({ op: "dropDeadLetter", jobId: id }),
    },
  };
}
