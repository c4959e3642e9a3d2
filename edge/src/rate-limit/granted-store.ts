import { type RateLimitStore, setRecent } from "./store";
import { type BucketPolicy, type BucketState, decide, grantTokens, type RateDecision } from "./token-bucket";

/**
 * Rate limits for the processes of one edge (FW_EDGE_PROCESSES > 1) without a message to the
 * process holding the buckets on every request.
 *
 * The buckets live in one process (the cluster's primary: nodejs/cluster-ipc.ts, with the ledger
 * below). When a process asks it to decide a request, an allowed answer comes with a grant: that
 * request's token plus a share of what the bucket has left (`grantTokens`), debited there at once.
 * The asking process spends the rest of the grant on its next requests for that bucket without
 * asking, until the grant runs out or expires (a second), and then asks again, giving back what it
 * did not spend.
 *
 * Never more requests than one bucket allows, whichever process answers them: every token is
 * debited before it is spent, and while a grant may still be spent from, the bucket refills only up
 * to its size less that grant's tokens (the tokens are still the bucket's, held elsewhere). The
 * cost is the other way: tokens granted to one process are not available to the others until it
 * spends them or its grant expires. The share is a part of what is left, so grants shrink to a
 * single token as the bucket empties, and close to the limit every request is decided where the
 * bucket is. A refusal holds, in the process that got it, until the bucket has refilled one token:
 * a flood of refused requests asks once per refill instead of once per request.
 *
 * Before: two round trips to the primary (client address, key) on every request. With two
 * processes on two cores the primary spent 39 µs of CPU per GET (npm run bench -- scaling), so
 * one core of it capped the whole edge at about 25,000 requests a second.
 */
export interface GrantRequest {
  bucket: string;
  policy: BucketPolicy;
  now: number;
  /** Tokens of this process's earlier grant given back unspent. */
  returned: number;
  /** Decide one request (with a grant if allowed); false: only give tokens back. */
  take: boolean;
}

export interface GrantAnswer {
  decision: RateDecision;
  /** Tokens granted, this request's included; 0 when refused. */
  granted: number;
  /** The bucket's balance after this request, the grant's extra tokens still counted. */
  balance: number;
  /** Until when the grant's tokens may be spent (the same clock as `now`). */
  expiresAt: number;
  /** A refusal: how long it holds (the bucket refills one token meanwhile); 0 when allowed. */
  refusedForMs: number;
}

export type AskForGrant = (request: GrantRequest) => Promise<GrantAnswer>;

/** How long a grant may be spent from. */
export const grantTtlMs = 1_000;
/**
 * How long after its expiry a grant that was never given back still counts against its bucket: its
 * holder gives back an expired grant within a second (`returnExpired`), unless it died.
 */
const forgetAfterMs = 5_000;

interface Grant {
  policy: BucketPolicy;
  /** Granted tokens not yet spent. */
  left: number;
  expiresAt: number;
  /** The bucket's balance (`GrantAnswer.balance`) less what was spent here since, at `updatedMs`. */
  balance: number;
  updatedMs: number;
  /** While refused: until when (the bucket has refilled one token by then); else 0. */
  refusedUntil: number;
}

export interface GrantedRateLimitStore extends RateLimitStore {
  /** Gives back the unspent tokens of expired grants; returns how many were. */
  returnExpired(now: number): Promise<number>;
}

export function createGrantedRateLimitStore(
  ask: AskForGrant,
  options: { maxBuckets?: number } = {},
): GrantedRateLimitStore {
  const maxBuckets = options.maxBuckets ?? 100_000;
  /** Map order: least recently used first. */
  const grants = new Map<string, Grant>();
  /** A question about a bucket still on its way: the others for that bucket wait for its answer. */
  const asking = new Map<string, Promise<unknown>>();

  // A grant dropped for room goes with its tokens: a few requests refused early at worst, never one
  // too many let through (the holder counts them until they expire).
  const remember = (bucket: string, grant: Grant) => setRecent(grants, bucket, grant, maxBuckets);

  /** The bucket's balance now, as this process last heard of it. */
  const projected = (grant: Grant, policy: BucketPolicy, now: number) =>
    Math.min(
      policy.capacity,
      grant.balance + (Math.max(0, now - grant.updatedMs) / 1000) * policy.refillPerSec,
    );

  const answerHere = (bucket: string, grant: Grant, policy: BucketPolicy, now: number): RateDecision => {
    if (grant.refusedUntil > now) return decide(false, projected(grant, policy, now), policy);
    grant.left -= 1;
    grant.balance = projected(grant, policy, now) - 1;
    grant.updatedMs = now;
    remember(bucket, grant);
    return decide(true, grant.balance, policy);
  };
  const answerable = (grant: Grant | undefined, now: number): grant is Grant =>
    grant !== undefined && (grant.refusedUntil > now || (grant.left >= 1 && now < grant.expiresAt));

  return {
    async take(bucket, policy, now) {
      for (;;) {
        const grant = grants.get(bucket);
        if (answerable(grant, now)) return answerHere(bucket, grant, policy, now);
        const pending = asking.get(bucket);
        if (!pending) break;
        await pending;
      }
      // What the last grant left (none after a refusal) goes back with the question.
      const previous = grants.get(bucket);
      const returned = Math.max(0, previous?.left ?? 0);
      if (previous) previous.left = 0;
      const question = ask({ bucket, policy, now, returned, take: true });
      const settled = question.then(
        () => {},
        () => {},
      );
      asking.set(bucket, settled);
      let answer: GrantAnswer;
      try {
        answer = await question;
      } finally {
        if (asking.get(bucket) === settled) asking.delete(bucket);
      }
      const refused = answer.granted === 0;
      remember(bucket, {
        policy,
        left: refused ? 0 : answer.granted - 1,
        expiresAt: answer.expiresAt,
        balance: answer.balance,
        updatedMs: now,
        refusedUntil: refused ? now + answer.refusedForMs : 0,
      });
      return answer.decision;
    },

    async returnExpired(now) {
      const expired = [...grants].filter(([, g]) => g.left >= 1 && now >= g.expiresAt);
      for (const [bucket] of expired) grants.delete(bucket);
      const answers = await Promise.allSettled(
        expired.map(([bucket, g]) => ask({ bucket, policy: g.policy, now, returned: g.left, take: false })),
      );
      return expired.reduce((sum, [, g], i) => sum + (answers[i]?.status === "fulfilled" ? g.left : 0), 0);
    },
  };
}

/**
 * The buckets where they are held (the cluster's primary), answering the processes' questions.
 * Each process holds at most one grant per bucket: it asks again only once that grant is spent,
 * expired or given back, so a question from it ends its previous grant.
 */
export function createGrantLedger(options: { maxExtra: number; maxBuckets?: number }) {
  const maxBuckets = options.maxBuckets ?? 100_000;
  const buckets = new Map<
    string,
    { state: BucketState | undefined; held: Map<number, { tokens: number; expiresAt: number }> }
  >();
  return {
    /** `holder`: which process asks; `holders`: how many processes there are now. */
    answer(holder: number, request: GrantRequest, holders: number): GrantAnswer {
      const bucket = buckets.get(request.bucket) ?? { state: undefined, held: new Map() };
      // Back only what this holder's last grant had: a return for a grant forgotten below is lost.
      const returned = Math.min(Math.max(0, request.returned), bucket.held.get(holder)?.tokens ?? 0);
      bucket.held.delete(holder);
      let held = 0;
      for (const [other, grant] of bucket.held) {
        // An expired grant's unspent tokens come back with its holder's next question or sweep
        // (within a second): until then they still count, or they would be counted twice.
        if (grant.expiresAt + forgetAfterMs <= request.now) bucket.held.delete(other);
        else held += grant.tokens;
      }
      const { state, decision, granted, balance, refusedForMs } = grantTokens(
        bucket.state,
        request.policy,
        request.now,
        {
          returned,
          take: request.take,
          held,
          // Half of what is left spread over the processes: each may hold a part, and some stays here.
          share: 2 * Math.max(1, holders),
          maxExtra: options.maxExtra,
        },
      );
      bucket.state = state;
      const expiresAt = request.now + grantTtlMs;
      if (granted > 1) bucket.held.set(holder, { tokens: granted - 1, expiresAt });
      setRecent(buckets, request.bucket, bucket, maxBuckets);
      return { decision, granted, balance, expiresAt, refusedForMs };
    },
  };
}
