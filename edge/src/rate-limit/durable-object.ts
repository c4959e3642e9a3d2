import { type BucketPolicy, type BucketState, type RateDecision, settleTokens } from "./token-bucket";

/** The slice of the Workers Durable Object API this module uses (no @cloudflare/workers-types here). */
export interface DurableObjectNamespaceLike {
  idFromName(name: string): unknown;
  get(id: unknown): { fetch(input: string, init?: RequestInit): Promise<Response> };
}

/** What an isolate asks a bucket's object: debit `charged` admissions, then decide one more if `take`. */
export interface SettleRequest extends BucketPolicy {
  charged?: number;
  take?: boolean;
}

/** The decision, and the bucket's exact balance after it (an isolate projects its refill locally). */
export interface SettleAnswer extends RateDecision {
  tokens: number;
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
    const body = (await request.json()) as SettleRequest;
    const policy = { capacity: body.capacity, refillPerSec: body.refillPerSec };
    const charged = Math.max(0, Math.floor(Number(body.charged ?? 0)) || 0);
    const { state, decision } = settleTokens(this.#bucket, policy, Date.now(), {
      charged,
      take: body.take !== false,
    });
    this.#bucket = state;
    const answer: SettleAnswer = { ...decision, tokens: state.tokens };
    return Response.json(answer);
  }
}

/** Settles a bucket at its object: one subrequest to the Durable Object. */
export async function settleAtObject(
  namespace: DurableObjectNamespaceLike,
  bucket: string,
  request: SettleRequest,
): Promise<SettleAnswer> {
  const stub = namespace.get(namespace.idFromName(bucket));
  const res = await stub.fetch("https://rate-limiter/take", {
    method: "POST",
    body: JSON.stringify(request),
  });
  return (await res.json()) as SettleAnswer;
}
