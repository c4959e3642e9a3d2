import type { MiddlewareHandler } from "hono";
import type { EdgeEnv } from "../env";
import { problemResponse } from "../problem";

const reads = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * In maintenance mode, writes get 503 with Retry-After and reads keep working. Mounted on the
 * public API only: admin endpoints (to switch it off) and node reports (so running jobs can finish)
 * are not behind it.
 */
export function maintenanceGate(): MiddlewareHandler<EdgeEnv> {
  return async function maintenanceGate(c, next) {
    if (reads.has(c.req.method)) return next();
    const { maintenance, db, clock } = c.get("deps");
    const state = await maintenance.get(db, clock());
    if (!state.enabled) return next();
    return problemResponse(
      c,
      "maintenance",
      state.message ?? "Writes are paused for maintenance; reads keep working.",
      { retry_after_sec: state.retry_after_sec },
      { "retry-after": String(state.retry_after_sec) },
    );
  };
}
