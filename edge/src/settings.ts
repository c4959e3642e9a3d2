import type { MaintenanceState } from "@framewire/shared";
import { edgeSettings } from "@framewire/shared/db";
import { eq } from "drizzle-orm";
import type { Db } from "./db";

export type { MaintenanceState };

const off: MaintenanceState = { enabled: false, retry_after_sec: 300, message: null, updated_at: null };

/**
 * Maintenance mode lives in the database so every edge instance sees it; each instance caches it
 * for `ttlMs`, so a switch reaches other instances within that bound (this one at once).
 */
export interface MaintenanceSwitch {
  get(db: Db, now: number): Promise<MaintenanceState>;
  set(db: Db, state: Omit<MaintenanceState, "updated_at">, now: number): Promise<MaintenanceState>;
}

export function createMaintenanceSwitch(options: { ttlMs: number }): MaintenanceSwitch {
  let cached: { state: MaintenanceState; until: number } | null = null;
  return {
    async get(db, now) {
      if (cached && cached.until > now) return cached.state;
      const [row] = await db.select().from(edgeSettings).where(eq(edgeSettings.key, "maintenance"));
      const state = row ? ({ ...off, ...row.value } as MaintenanceState) : off;
      cached = { state, until: now + options.ttlMs };
      return state;
    },
    async set(db, input, now) {
      const state: MaintenanceState = { ...input, updated_at: new Date(now).toISOString() };
      await db
        .insert(edgeSettings)
        .values({ key: "maintenance", value: { ...state }, updatedAt: now })
        .onConflictDoUpdate({ target: edgeSettings.key, set: { value: { ...state }, updatedAt: now } });
      cached = { state, until: now + options.ttlMs };
      return state;
    },
  };
}
