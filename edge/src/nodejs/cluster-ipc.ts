import cluster from "node:cluster";
import { AggregatorRegistry } from "prom-client";
import { z } from "zod";
import {
  createGrantedRateLimitStore,
  createGrantLedger,
  type GrantAnswer,
  type GrantRequest,
  grantTtlMs,
} from "../rate-limit/granted-store";
import type { RateLimitStore } from "../rate-limit/store";

/**
 * What the edge's processes share in cluster mode (FW_EDGE_PROCESSES > 1), held by the primary
 * process and asked for over the cluster's IPC channel:
 * - rate-limit buckets: a key's or an address's bucket is one bucket whichever process answers
 *   (per-process buckets would multiply every limit by the number of processes); a process spends
 *   tokens the primary granted it ahead, and asks again when they run out (granted-store.ts);
 * - metrics: prom-client's cluster aggregator asks every worker for its registry and sums (or, for
 *   figures read from the database and NATS, takes the one worker that keeps them).
 * The key cache stays per process: a revocation reaches every process within FW_KEY_CACHE_TTL_MS,
 * as it reaches several edge instances.
 */

const requestSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("fw:grant"),
    id: z.int(),
    bucket: z.string(),
    policy: z.object({ capacity: z.number(), refillPerSec: z.number() }),
    now: z.number(),
    returned: z.number().min(0),
    take: z.boolean(),
  }),
  z.object({ type: z.literal("fw:metrics"), id: z.int() }),
]);
type Request = z.infer<typeof requestSchema>;
type Question = ({ type: "fw:grant" } & GrantRequest) | { type: "fw:metrics" };

interface Reply {
  type: "fw:reply";
  id: number;
  grant?: GrantAnswer;
  metrics?: string;
  error?: string;
}

/** Tokens granted past the request's own, at most (see grantTokens). */
const maxExtraTokens = 100;

/** In the primary: answers every worker's questions. */
export function serveClusterRequests(): void {
  const ledger = createGrantLedger({ maxExtra: maxExtraTokens });
  const aggregator = new AggregatorRegistry();
  cluster.on("message", (worker, raw) => {
    const parsed = requestSchema.safeParse(raw);
    if (!parsed.success) return; // prom-client's own messages, and anything else
    const request: Request = parsed.data;
    const answer = async (): Promise<Reply> => {
      if (request.type === "fw:grant") {
        const holders = Object.keys(cluster.workers ?? {}).length;
        return { type: "fw:reply", id: request.id, grant: ledger.answer(worker.id, request, holders) };
      }
      return { type: "fw:reply", id: request.id, metrics: await aggregator.clusterMetrics() };
    };
    void answer()
      .catch((error: unknown): Reply => ({ type: "fw:reply", id: request.id, error: String(error) }))
      .then((reply) => {
        if (worker.isConnected()) worker.send(reply);
      });
  });
}

/** In a worker: questions to the primary, matched to their answers by id. */
function createAsker() {
  let next = 0;
  const waiting = new Map<number, (reply: Reply) => void>();
  process.on("message", (raw: unknown) => {
    const reply = raw as Partial<Reply>;
    if (reply?.type !== "fw:reply" || typeof reply.id !== "number") return;
    waiting.get(reply.id)?.(reply as Reply);
    waiting.delete(reply.id);
  });
  return (request: Question): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const id = next++;
      waiting.set(id, resolve);
      process.send?.({ ...request, id }, undefined, {}, (error) => {
        if (error) {
          waiting.delete(id);
          reject(error);
        }
      });
    });
}

let asker: ReturnType<typeof createAsker> | null = null;
const ask = (question: Question) => {
  asker ??= createAsker();
  return asker(question);
};

/**
 * Rate-limit buckets held by the primary, spent from grants in this process (granted-store.ts);
 * what expired grants left unspent goes back every second.
 */
export function createClusterRateLimitStore(): RateLimitStore {
  const store = createGrantedRateLimitStore(async (request) => {
    const reply = await ask({ type: "fw:grant", ...request });
    if (!reply.grant) throw new Error(`rate limiter: ${reply.error ?? "no answer"}`);
    return reply.grant;
  });
  setInterval(() => void store.returnExpired(Date.now()), grantTtlMs).unref();
  return store;
}

/** Every worker's metrics, aggregated by the primary. */
export async function clusterMetricsText(): Promise<string> {
  const reply = await ask({ type: "fw:metrics" });
  if (reply.metrics === undefined) throw new Error(`metrics: ${reply.error ?? "no answer"}`);
  return reply.metrics;
}
