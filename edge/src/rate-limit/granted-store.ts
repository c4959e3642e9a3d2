import { type RateLimitStore, setRecent } from "./store";
import { type BucketPolicy, decide, type RateDecision } from "./token-bucket";

/**
 * Rate limits for the processes of one edge (FW_EDGE_PROCESSES > 1) without a message to the
 * process holding the buckets on every request.
 *
 * The buckets live in one process (the cluster's primary: nodejs/cluster-ipc.ts). When a process
 * asks it to decide a request, an allowed answer comes with a grant: that request's token plus a
 * share of what the bucket has left (`grantTokens`), debited there at once. The asking process
 * spends the rest of the grant on its next requests for that bucket without asking, and asks again
 * when it has none left.
 *
 * Never more requests than the bucket allows, whichever process answers them: every token is
 * debited before it is spent. The cost is the other way: tokens granted to one process are not
 * available to the others until it spends them or gives them back (`returnIdle`, for grants not
 * used for a while). The share is a part of what is left, so grants shrink to a single token as
 * the bucket empties, and close to the limit every request is decided where the bucket is.
 *
 * Before: two round trips to the primary (client address, key) on every request. With two
 * processes on two cores the edge answered fewer GETs than one process did, and the primary, one
 * core, capped the whole edge's rate.
 */
export interface GrantRequest {
  bucket: string;
  policy: BucketPolicy;
  now: number;
  /** Tokens of an earlier grant given back unspent. */
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
}

export type AskForGrant = (request: GrantRequest) => Promise<GrantAnswer>;

interface Grant {
  policy: BucketPolicy;
  /** Granted tokens not yet spent. */
  left: number;
  /** The bucket's balance (`GrantAnswer.balance`) less what was spent here since, at `updatedMs`. */
  balance: number;
  updatedMs: number;
  /** When a token of this grant was last spent (or the grant made). */
  usedMs: number;
}

export interface GrantedRateLimitStore extends RateLimitStore {
  /** Gives back the tokens of grants not used since `now - idleMs`; returns how many were. */
  returnIdle(now: number, idleMs: number): Promise<number>;
}

export function createGrantedRateLimitStore(
  ask: AskForGrant,
  options: { maxBuckets?: number } = {},
): GrantedRateLimitStore {
  const maxBuckets = options.maxBuckets ?? 100_000;
  /** Map order: least recently used first. */
  const grants = new Map<string, Grant>();
  /** A question about a bucket still on its way: the others for that bucket wait for its grant. */
  const asking = new Map<string, Promise<unknown>>();

  // A grant dropped for room goes with its tokens: a few requests refused early at worst, never one
  // too many let through.
  const remember = (bucket: string, grant: Grant) => setRecent(grants, bucket, grant, maxBuckets);

  const spend = (bucket: string, grant: Grant, policy: BucketPolicy, now: number): RateDecision => {
    grant.left -= 1;
    const refill = (Math.max(0, now - grant.updatedMs) / 1000) * policy.refillPerSec;
    grant.balance = Math.min(policy.capacity, grant.balance + refill) - 1;
    grant.updatedMs = now;
    grant.usedMs = now;
    remember(bucket, grant);
    return decide(true, grant.balance, policy);
  };

  return {
    async take(bucket, policy, now) {
      for (;;) {
        const grant = grants.get(bucket);
        if (grant && grant.left >= 1) return spend(bucket, grant, policy, now);
        const pending = asking.get(bucket);
        if (!pending) break;
        await pending;
      }
      const question = ask({ bucket, policy, now, returned: 0, take: true });
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
      if (answer.granted > 0) {
        remember(bucket, {
          policy,
          left: answer.granted - 1,
          balance: answer.balance,
          updatedMs: now,
          usedMs: now,
        });
      }
      return answer.decision;
    },

    async returnIdle(now, idleMs) {
      const idle = [...grants].filter(([, g]) => g.left >= 1 && now - g.usedMs >= idleMs);
      for (const [bucket] of idle) grants.delete(bucket);
      const answers = await Promise.allSettled(
        idle.map(([bucket, g]) => ask({ bucket, policy: g.policy, now, returned: g.left, take: false })),
      );
      return idle.reduce((sum, [, g], i) => sum + (answers[i]?.status === "fulfilled" ? g.left : 0), 0);
    },
  };
}
