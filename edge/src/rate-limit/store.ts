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
      setRecent(buckets, bucket, state, maxBuckets);
      return decision;
    },
  };
}

/**
 * Sets `key` as the most recently used entry of `map` (delete then set: a Map's order is then least
 * recently used first), dropping the least recently used while it holds `max` or more.
 */
export function setRecent<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  while (map.size >= max) {
    const oldest = map.keys().next().value;
    if (oldest === undefined) break;
    map.delete(oldest);
  }
  map.set(key, value);
}
