import { sha256Hex } from "@framewire/shared";
import type { KeyRecord } from "./api-keys";

/**
 * Verified key records kept in memory so that an authenticated request doesn't read the database.
 *
 * Bound on revocation: a revoke or rotate through the admin API on this instance takes effect at
 * once (the entry is dropped); other instances (other Node processes, other Worker isolates) see it
 * at most `ttlMs` later, when their entry expires and the row is read again. Expiry (`expires_at`)
 * and a rotation's grace deadline are compared with the clock on every request, so they are exact.
 * Only successful look-ups are cached: an unknown key always reaches the database (per-IP rate
 * limits bound how often).
 */
export interface KeyCache {
  get(key: string, now: number): Promise<KeyRecord | undefined>;
  set(key: string, record: KeyRecord, now: number): Promise<void>;
  /** Drops a key's entry (after a revoke or rotate on this instance). */
  forget(keyId: string): void;
  readonly ttlMs: number;
}

export function createKeyCache(options: { ttlMs: number; maxEntries?: number }): KeyCache {
  const maxEntries = options.maxEntries ?? 10_000;
  // Indexed by SHA-256 of the presented key, so the cache never holds a secret.
  const entries = new Map<string, { record: KeyRecord; until: number }>();
  return {
    ttlMs: options.ttlMs,
    async get(key, now) {
      if (options.ttlMs <= 0) return undefined;
      const hash = await sha256Hex(key);
      const entry = entries.get(hash);
      if (!entry) return undefined;
      if (entry.until <= now) {
        entries.delete(hash);
        return undefined;
      }
      return entry.record;
    },
    async set(key, record, now) {
      if (options.ttlMs <= 0) return;
      const hash = await sha256Hex(key);
      if (entries.size >= maxEntries && !entries.has(hash)) {
        const oldest = entries.keys().next().value;
        if (oldest !== undefined) entries.delete(oldest);
      }
      entries.set(hash, { record, until: now + options.ttlMs });
    },
    forget(keyId) {
      for (const [hash, entry] of entries) if (entry.record.id === keyId) entries.delete(hash);
    },
  };
}
