import { FramewireError, type Me } from "@framewire/shared";
import { tenants } from "@framewire/shared/db";
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { findKey } from "../auth/api-keys";
import type { EdgeEnv } from "../env";

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * `GET /v1/me`: which key this is and whose. Clients (the web console, scripts) learn a key's
 * scopes from here instead of probing an admin endpoint and reading a 403.
 */
export function meRoutes() {
  const app = new Hono<EdgeEnv>();
  app.get("/", async (c) => {
    const { db } = c.get("deps");
    const { keyId, tenantId } = c.get("auth");
    const [key, [tenant]] = await Promise.all([
      findKey(db, keyId),
      db.select().from(tenants).where(eq(tenants.id, tenantId)).limit(1),
    ]);
    if (!key || !tenant) throw new FramewireError("unauthorized", "The API key is not valid.");
    const me: Me = {
      tenant: { id: tenant.id, name: tenant.name },
      key: {
        id: key.id,
        prefix: key.prefix,
        name: key.name,
        scopes: key.scopes as Me["key"]["scopes"],
        expires_at: iso(key.expiresAt),
        // Set in the future while a rotated key's grace period runs.
        revoked_at: iso(key.revokedAt),
      },
    };
    return c.json(me);
  });
  return app;
}
