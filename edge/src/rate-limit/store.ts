import { type BucketPolicy, type BucketState, type RateDecision, takeToken } from "./token-bucket";

/**
 * Where buckets live. In memory for a single Node process; a Durable Object per bucket on Workers
 * (isolates don't share memory, so a per-isolate map would multiply the limit).
 */
export interface RateLimitStore {
  take(bucket: string, policy: BucketPolicy, now: number): Promise<RateDecision>;
}

/**
 * Buckets in a Map, bounded: past `maxBuckets`, the least recently touched bucket is dropped (it
 * refills to full, which errs on the side of letting a request through).
 */
export function createMemoryRateLimitStore(options: { maxBuckets?: number } = {}): RateLimitStore {
  const maxBuckets = options.maxBuckets ?? 100_000;
  const buckets = new Map<string, BucketState>();
  return {
    async take(bucket, policy, now) {
      const { state, decision } = takeToken(buckets.get(bucket), policy, now);
      // Delete then set keeps Map order = least recently used first.
      buckets.delete(bucket);
      if (buckets.size >= maxBuckets) {
        const oldest = buckets.keys().next().value;
        if (oldest !== undefined) buckets.delete(oldest);
      }
      buckets.set(bucket, state);
      return decision;
    },
  };
}
