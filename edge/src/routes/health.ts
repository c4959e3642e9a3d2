import { sql } from "drizzle-orm";
import { Hono } from "hono";
import type { EdgeEnv } from "../env";

export const edgeVersion = "0.1.0";

export function healthRoutes() {
  const app = new Hono<EdgeEnv>();

  /** Cheap: for load balancers. Touches nothing but the process. */
  app.get("/", (c) => c.json({ status: "ok", version: edgeVersion }));

  app.get("/detailed", async (c) => {
    const { db, dispatcher } = c.get("deps");
    const started = performance.now();
    const database = await db
      .run(sql`select 1`)
      .then(() => ({ ok: true, latency_ms: Math.round((performance.now() - started) * 10) / 10 }))
      .catch((error: unknown) => ({ ok: false, detail: String(error) }));
    const nats = await dispatcher.health().catch((error: unknown) => ({ ok: false, detail: String(error) }));
    const ok = database.ok && nats.ok;
    return c.json({ status: ok ? "ok" : "degraded", version: edgeVersion, database, nats }, ok ? 200 : 503);
  });

  return app;
}
