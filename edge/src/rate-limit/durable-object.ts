import type { RateLimitStore } from "./store";
import { type BucketPolicy, type BucketState, type RateDecision, takeToken } from "./token-bucket";

/** The slice of the Workers Durable Object API this module uses (no @cloudflare/workers-types here). */
export interface DurableObjectNamespaceLike {
  idFromName(name: string): unknown;
  get(id: unknown): { fetch(input: string, init?: RequestInit): Promise<Response> };
}

/**
 * One Durable Object per bucket (`idFromName(bucket)`): a DO instance runs one request at a time,
 * so the read-modify-write needs no lock. The bucket lives in the instance's memory; if the runtime
 * evicts an idle instance the bucket starts full again, which only matters for a bucket that was
 * idle long enough to refill anyway.
 */
export class RateLimiterObject {
  #bucket: BucketState | undefined;

  async fetch(request: Request): Promise<Response> {
    const policy = (await request.json()) as BucketPolicy;
    const { state, decision } = takeToken(this.#bucket, policy, Date.now());
    this.#bucket = state;
    return Response.json(decision);
  }
}

export function createDurableObjectRateLimitStore(namespace: DurableObjectNamespaceLike): RateLimitStore {
  return {
    async take(bucket, policy) {
      const stub = namespace.get(namespace.idFromName(bucket));
      const res = await stub.fetch("https://rate-limiter/take", {
        method: "POST",
        body: JSON.stringify(policy),
      });
      return (await res.json()) as RateDecision;
    },
  };
}
