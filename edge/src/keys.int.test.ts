import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EdgeHarness, startEdgeHarness } from "../../test/support/edge-harness";

/** Tenants and API keys through the admin API; the cached verification and its revocation bound. */

let h: EdgeHarness;
let admin: ReturnType<EdgeHarness["client"]>;

beforeAll(async () => {
  h = await startEdgeHarness({ config: { FW_KEY_CACHE_TTL_MS: 5_000 } });
  admin = h.client(await h.key(await h.tenant("operator"), ["admin"]));
});
afterAll(() => h?.close());

async function newTenantKey(scopes: ("jobs:read" | "jobs:write" | "admin")[] = ["jobs:read"]) {
  const tenant = await admin.admin.createTenant(`t-${Math.random()}`);
  if (!tenant.ok) throw new Error("tenant");
  const key = await admin.admin.createKey(tenant.data.id, { name: "ci", scopes });
  if (!key.ok) throw new Error(JSON.stringify(key.problem));
  return { tenantId: tenant.data.id, ...key.data };
}

describe("admin: tenants and keys", () => {
  it("needs the admin scope", async () => {
    const { key } = await newTenantKey(["jobs:read", "jobs:write"]);
    const res = await h.client(key).admin.listKeys();
    expect(res.status).toBe(403);
    expect(res.ok ? null : res.problem.code).toBe("forbidden");
  });

  it("shows the secret once and lists keys without hash or secret", async () => {
    const issued = await newTenantKey();
    expect(issued.key).toMatch(new RegExp(`^fw_${issued.prefix}_[0-9a-z]{40}$`));
    const list = await admin.admin.listKeys(issued.tenantId);
    if (!list.ok) throw new Error("list");
    expect(list.data.data).toHaveLength(1);
    const [listed] = list.data.data;
    expect(listed).toMatchObject({
      id: issued.id,
      prefix: issued.prefix,
      scopes: ["jobs:read"],
      revoked_at: null,
    });
    const text = JSON.stringify(list.data);
    expect(text).not.toContain(issued.key.split("_")[2]);
    expect(text).not.toMatch(/"hash"|[0-9a-f]{64}/);
    expect(await h.client(issued.key).jobs.list()).toMatchObject({ status: 200 });
  });

  it("validates key creation and points at the field", async () => {
    const tenant = await admin.admin.createTenant("v");
    if (!tenant.ok) throw new Error("tenant");
    const res = await admin.admin.createKey(tenant.data.id, {
      name: "x",
      scopes: ["jobs:delete" as "admin"],
    });
    expect(res.status).toBe(422);
    expect(res.ok ? null : res.problem).toMatchObject({
      code: "validation_failed",
      errors: [{ field: "scopes.0" }],
    });
  });

  it("refuses a revoked key at once on the revoking instance, and within the cache TTL elsewhere", async () => {
    const issued = await newTenantKey();
    const other = h.instance();
    const viaOther = () =>
      other.app.request("/v1/jobs", { headers: { authorization: `Bearer ${issued.key}` } });
    expect((await viaOther()).status).toBe(200); // now cached on the other instance
    expect((await h.client(issued.key).jobs.list()).status).toBe(200);

    expect((await admin.admin.revokeKey(issued.id)).ok).toBe(true);
    const here = await h.client(issued.key).jobs.list();
    expect(here.status).toBe(401);
    expect(here.ok ? null : here.problem.detail).toMatch(/revoked/);
    // The other instance still trusts its cached record until the TTL passes (the documented bound)…
    expect((await viaOther()).status).toBe(200);
    h.advance(5_001); // …and once the entry expires it re-reads the row and refuses it.
    expect((await viaOther()).status).toBe(401);
  });

  it("refuses a key after its expiry even while cached", async () => {
    const tenant = await admin.admin.createTenant("exp");
    if (!tenant.ok) throw new Error("tenant");
    const soon = new Date(h.deps.clock() + 60_000).toISOString();
    const key = await admin.admin.createKey(tenant.data.id, {
      name: "short",
      scopes: ["jobs:read"],
      expires_at: soon,
    });
    if (!key.ok) throw new Error("key");
    expect(key.data.expires_at).toBe(soon);
    const client = h.client(key.data.key);
    expect((await client.jobs.list()).status).toBe(200);
    h.advance(61_000);
    const res = await client.jobs.list();
    expect(res.status).toBe(401);
    expect(res.ok ? null : res.problem.detail).toMatch(/expired/);
  });

  it("tells a key who it is (GET /v1/me) and nothing about other keys", async () => {
    const issued = await newTenantKey(["jobs:read"]);
    const me = await h.client(issued.key).me();
    expect(me).toMatchObject({
      status: 200,
      data: {
        key: { id: issued.id, scopes: ["jobs:read"], expires_at: null, revoked_at: null },
        tenant: { id: issued.tenantId },
      },
    });
    expect(JSON.stringify(me)).not.toContain("hash");
    expect(await admin.me()).toMatchObject({ status: 200, data: { key: { scopes: ["admin"] } } });
    expect((await h.client().me()).status).toBe(401);
  });

  it("refuses to issue a key that has already expired, pointing at the field", async () => {
    const tenant = await admin.admin.createTenant("past");
    if (!tenant.ok) throw new Error("tenant");
    const res = await admin.admin.createKey(tenant.data.id, {
      name: "typo",
      scopes: ["jobs:read"],
      expires_at: new Date(h.deps.clock() - 1_000).toISOString(),
    });
    expect(res.status).toBe(422);
    expect(res.ok ? null : res.problem).toMatchObject({
      code: "validation_failed",
      errors: [{ field: "expires_at" }],
    });
    const keys = await admin.admin.listKeys();
    expect(keys.ok && keys.data.data.filter((k) => k.tenant_id === tenant.data.id)).toEqual([]);
  });

  it("rotates: the new key works, the old one works for the grace period, then is refused", async () => {
    const issued = await newTenantKey(["jobs:read", "jobs:write"]);
    const rotated = await admin.admin.rotateKey(issued.id, { grace_period_sec: 120 });
    if (!rotated.ok) throw new Error(JSON.stringify(rotated.problem));
    expect(rotated.status).toBe(201);
    expect(rotated.data.key).not.toBe(issued.key);
    expect(rotated.data).toMatchObject({ tenant_id: issued.tenantId, scopes: ["jobs:read", "jobs:write"] });
    expect(Date.parse(rotated.data.replaces?.revoked_at ?? "")).toBeGreaterThan(h.deps.clock() + 100_000);

    expect((await h.client(rotated.data.key).jobs.list()).status).toBe(200);
    expect((await h.client(issued.key).jobs.list()).status).toBe(200);
    h.advance(121_000);
    expect((await h.client(issued.key).jobs.list()).status).toBe(401);
    expect((await h.client(rotated.data.key).jobs.list()).status).toBe(200);
    // A rotated-away key can't be rotated again.
    expect((await admin.admin.rotateKey(issued.id)).status).toBe(409);
  });

  it("counts usage in memory and writes last_used_at and request_count on flush", async () => {
    const issued = await newTenantKey();
    const client = h.client(issued.key);
    for (let i = 0; i < 3; i++) await client.jobs.list();
    const before = await admin.admin.getKey(issued.id);
    expect(before.ok && before.data.request_count).toBe(0);
    await h.deps.usage.flush(h.deps.db, h.deps.logger);
    const after = await admin.admin.getKey(issued.id);
    if (!after.ok) throw new Error("key");
    expect(after.data.request_count).toBe(3);
    expect(after.data.last_used_at).not.toBeNull();
  });
});
