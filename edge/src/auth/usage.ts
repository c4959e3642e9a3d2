import { apiKeys, usageServed } from "@framewire/shared/db";
import { eq, sql } from "drizzle-orm";
import type { Db } from "../db";
import type { Logger } from "../logger";

/**
 * Per-key `last_used_at` and `request_count`, counted in memory and written in one batch by
 * `flush()`: every few seconds and on close on Node, after the response (ctx.waitUntil) on Workers.
 * No request waits for this write. A crash loses at most one flush interval of counts.
 */
export interface UsageRecorder {
  record(keyId: string, now: number): void;
  /** Bytes the edge served from the store for a tenant (downloads, playlists), by day (usage). */
  served(tenantId: string, bytes: number, now: number): void;
  flush(db: Db, logger: Logger): Promise<void>;
}

export function createUsageRecorder(): UsageRecorder {
  let pending = new Map<string, { count: number; lastUsedAt: number }>();
  /** `<tenant> <day>` → bytes and requests. */
  let served = new Map<string, { bytes: number; requests: number }>();
  const flushServed = async (db: Db, logger: Logger) => {
    if (served.size === 0) return;
    const batch = served;
    served = new Map();
    const upserts = [...batch].map(([key, s]) => {
      const [tenantId = "", day = ""] = key.split(" ");
      return db
        .insert(usageServed)
        .values({ tenantId, day, bytes: s.bytes, requests: s.requests })
        .onConflictDoUpdate({
          target: [usageServed.tenantId, usageServed.day],
          set: {
            bytes: sql`${usageServed.bytes} + ${s.bytes}`,
            requests: sql`${usageServed.requests} + ${s.requests}`,
          },
        });
    });
    try {
      const [first, ...rest] = upserts;
      if (first) await db.batch([first, ...rest]);
    } catch (error) {
      for (const [key, s] of batch) {
        const entry = served.get(key);
        if (entry) {
          entry.bytes += s.bytes;
          entry.requests += s.requests;
        } else served.set(key, s);
      }
      logger.warn({ err: error }, "usage:served:flush:failed");
    }
  };
  return {
    served(tenantId, bytes, now) {
      const key = `${tenantId} ${new Date(now).toISOString().slice(0, 10)}`;
      const entry = served.get(key);
      if (entry) {
        entry.bytes += bytes;
        entry.requests += 1;
      } else served.set(key, { bytes, requests: 1 });
    },
    record(keyId, now) {
      const entry = pending.get(keyId);
      if (entry) {
        entry.count += 1;
        entry.lastUsedAt = Math.max(entry.lastUsedAt, now);
      } else pending.set(keyId, { count: 1, lastUsedAt: now });
    },
    async flush(db, logger) {
      await flushServed(db, logger);
      if (pending.size === 0) return;
      const batch = pending;
      pending = new Map();
      const updates = [...batch].map(([id, u]) =>
        db
          .update(apiKeys)
          .set({
            requestCount: sql`${apiKeys.requestCount} + ${u.count}`,
            lastUsedAt: sql`max(coalesce(${apiKeys.lastUsedAt}, 0), ${u.lastUsedAt})`,
          })
          .where(eq(apiKeys.id, id)),
      );
      try {
        const [first, ...rest] = updates;
        if (first) await db.batch([first, ...rest]);
      } catch (error) {
        // Put the counts back so the next flush carries them.
        for (const [id, u] of batch) {
          const entry = pending.get(id);
          if (entry) {
            entry.count += u.count;
            entry.lastUsedAt = Math.max(entry.lastUsedAt, u.lastUsedAt);
          } else pending.set(id, u);
        }
        logger.warn({ err: error, keys: batch.size }, "keys:usage:flush:failed");
      }
    },
  };
}
