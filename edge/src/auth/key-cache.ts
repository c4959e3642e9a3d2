import type { KeyRecord } from "./api-keys";

/**
 * Verified key records kept in memory so that an authenticated request doesn't read the database.
 *
 * Bound on revocation: a revoke or rotate through the admin API takes effect at once on this
 * process (the entry is dropped) and, on Node, on every other edge process and instance too (the
 * revocation is broadcast over NATS, `subjects.keyRevoked`); Worker isolates, which cannot listen,
 * and a broadcast that was missed see it at most `ttlMs` later, when the entry expires. Expiry (`expires_at`)
 * and a rotation's grace deadline are compared with the clock on every request, so they are exact.
 * Only keys whose hash matched are cached: an unknown key always reaches the database (per-IP rate
 * limits bound how often).
 *
 * Entries are indexed by the presented key itself, so a hit needs no hashing (two SHA-256 per
 * request were a measurable share of a cached GET). The key is in this process's memory for the
 * request anyway; the cache keeps it at most `ttlMs` longer and never writes it anywhere.
 */
export interface KeyCache {
  /** A record whose hash already matched `key`, still within its TTL. */
  get(key: string, now: number): KeyRecord | undefined;
  set(key: string, record: KeyRecord, now: number): void;
  /** Drops a key's entry (after a revoke or rotate on this instance). */
  forget(keyId: string): void;
  readonly ttlMs: number;
}

export function createKeyCache(options: { ttlMs: number; maxEntries?: number }): KeyCache {
  const maxEntries = options.maxEntries ?? 10_000;
  const entries = new Map<string, { record: KeyRecord; until: number }>();
  return {
    ttlMs: options.ttlMs,
    get(key, now) {
      const entry = entries.get(key);
      if (!entry) return undefined;
      if (entry.until <= now) {
        entries.delete(key);
        return undefined;
      }
      return entry.record;
    },
    set(key, record, now) {
      if (options.ttlMs <= 0) return;
      if (entries.size >= maxEntries && !entries.has(key)) {
        const oldest = entries.keys().next().value;
        if (oldest !== undefined) entries.delete(oldest);
      }
      entries.set(key, { record, until: now + options.ttlMs });
    },
    forget(keyId) {
      for (const [key, entry] of entries) if (entry.record.id === keyId) entries.delete(key);
    },
  };
}
