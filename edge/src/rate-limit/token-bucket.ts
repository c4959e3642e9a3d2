/**
 * A token bucket: `capacity` tokens, refilled continuously at `refillPerSec`. A request takes one
 * token or is refused. Pure functions, shared by the in-memory store and the Durable Object.
 */
export interface BucketPolicy {
  capacity: number;
  refillPerSec: number;
}

export interface BucketState {
  tokens: number;
  updatedMs: number;
}

export interface RateDecision {
  allowed: boolean;
  limit: number;
  /** Whole tokens left after this request. */
  remaining: number;
  /** Seconds until the bucket is full again (RateLimit-Reset). */
  resetSec: number;
  /** Seconds until one token is available; 0 when allowed (Retry-After). */
  retryAfterSec: number;
}

export function takeToken(
  state: BucketState | undefined,
  policy: BucketPolicy,
  now: number,
): { state: BucketState; decision: RateDecision } {
  return settleTokens(state, policy, now, { charged: 0, take: true });
}

/**
 * `charged` requests were already let through elsewhere (an isolate's local admissions, see
 * leased-store.ts): they are debited whatever the balance, down to one bucket's worth of debt, so
 * the next requests wait for the refill. Then, when `take`, one more request is decided as usual.
 */
export function settleTokens(
  state: BucketState | undefined,
  policy: BucketPolicy,
  now: number,
  options: { charged: number; take: boolean },
): { state: BucketState; decision: RateDecision } {
  const elapsedSec = state ? Math.max(0, now - state.updatedMs) / 1000 : 0;
  const refilled = state
    ? Math.min(policy.capacity, state.tokens + elapsedSec * policy.refillPerSec)
    : policy.capacity;
  const available = Math.max(-policy.capacity, refilled - options.charged);
  const allowed = options.take && available >= 1;
  const tokens = allowed ? available - 1 : available;
  return { state: { tokens, updatedMs: now }, decision: decide(allowed, tokens, policy) };
}

/** The decision a bucket holding `tokens` (after this request) gives, with its header figures. */
export function decide(allowed: boolean, tokens: number, policy: BucketPolicy): RateDecision {
  return {
    allowed,
    limit: policy.capacity,
    remaining: Math.max(0, Math.floor(tokens)),
    resetSec: Math.ceil((policy.capacity - tokens) / policy.refillPerSec),
    retryAfterSec: allowed ? 0 : Math.max(1, Math.ceil((1 - tokens) / policy.refillPerSec)),
  };
}

/**
 * A bucket shared by the processes of a cluster, held by one of them (granted-store.ts). `held`
 * tokens are out in other processes' grants that may still be spent: they are the bucket's too, so
 * it refills only up to `capacity - held`. First the `returned` tokens of the asking process's
 * earlier grant, which it did not spend, come back (within the same bound). Then, when `take`, one
 * request is decided as usual; allowed, it comes with up to `maxExtra` more tokens, debited now and
 * spent later by the asking process without asking again, at most a `1/share` part of what is left,
 * so that the other processes still find tokens and the grants shrink to one as the bucket empties.
 *
 * `balance` is the bucket's balance after this request with every grant's unspent tokens counted:
 * what a client sees as its remaining requests. `refusedForMs`: how long a refusal holds.
 */
export function grantTokens(
  state: BucketState | undefined,
  policy: BucketPolicy,
  now: number,
  options: { returned: number; take: boolean; held: number; share: number; maxExtra: number },
): { state: BucketState; decision: RateDecision; granted: number; balance: number; refusedForMs: number } {
  const room = policy.capacity - Math.max(0, options.held);
  const elapsedSec = state ? Math.max(0, now - state.updatedMs) / 1000 : 0;
  // A bucket's debt (negative tokens) is kept; only the refill stops at the room left.
  const refilled = state
    ? Math.min(Math.max(room, state.tokens), state.tokens + elapsedSec * policy.refillPerSec)
    : room;
  const available = Math.min(Math.max(room, refilled), refilled + Math.max(0, options.returned));
  const balance = (allowedHere: number) => allowedHere + Math.max(0, options.held);
  if (!options.take || available < 1) {
    return {
      state: { tokens: available, updatedMs: now },
      decision: decide(false, balance(available), policy),
      granted: 0,
      balance: balance(available),
      // Until the bucket here has refilled one token (not counting grants that may come back).
      refusedForMs: options.take ? ((1 - available) / policy.refillPerSec) * 1000 : 0,
    };
  }
  const left = available - 1;
  const extra = Math.max(0, Math.min(options.maxExtra, Math.floor(left / Math.max(1, options.share))));
  return {
    state: { tokens: left - extra, updatedMs: now },
    decision: decide(true, balance(left), policy),
    granted: 1 + extra,
    balance: balance(left),
    refusedForMs: 0,
  };
}
