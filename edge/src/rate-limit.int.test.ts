import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EdgeHarness, startEdgeHarness } from "../../test/support/edge-harness";

/** Per-key and per-IP token buckets, through the app, with the RateLimit-* headers. */

let h: EdgeHarness;
let tenantId: string;

beforeAll(async () => {
  h = await startEdgeHarness({
    config: {
      FW_RATE_KEY_BURST: 3,
      FW_RATE_KEY_PER_SEC: 0.01,
      FW_RATE_IP_BURST: 5,
      FW_RATE_IP_PER_SEC: 0.01,
    },
  });
  tenantId = await h.tenant("limited");
});
afterAll(() => h?.close());

describe("rate limits", () => {
  it("answers 429 problem details with Retry-After once a key's bucket is empty", async () => {
    const client = h.client(await h.key(tenantId, ["jobs:read"]), { "x-test-client-ip": "198.51.100.1" });
    const seen: (string | null)[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await client.jobs.list();
      expect(res.status).toBe(200);
      expect(res.headers.get("ratelimit-limit")).toBe("3");
      seen.push(res.headers.get("ratelimit-remaining"));
    }
    expect(seen).toEqual(["2", "1", "0"]);
    const refused = await client.jobs.list();
    expect(refused.status).toBe(429);
    expect(refused.headers.get("content-type")).toBe("application/problem+json");
    expect(refused.ok ? null : refused.problem).toMatchObject({ code: "rate_limited", limit_by: "key" });
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(refused.headers.get("ratelimit-remaining")).toBe("0");
    expect(Number(refused.headers.get("ratelimit-reset"))).toBeGreaterThan(0);
    // The policy named is the key's (3 per 300 s), not the client address's that ran first (5 per 500 s).
    expect(refused.headers.get("ratelimit-policy")).toBe("3;w=300");

    // Another key of the same tenant has its own bucket…
    const other = h.client(await h.key(tenantId, ["jobs:read"]), { "x-test-client-ip": "198.51.100.2" });
    expect((await other.jobs.list()).status).toBe(200);
    // …and the bucket refills with time.
    h.advance(100_000);
    expect((await client.jobs.list()).status).toBe(200);
  });

  it("limits a client address on playlist and manifest links, which need no key", async () => {
    const ip = { "x-test-client-ip": "203.0.113.77" };
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await h.app.request("/files/playlists/jobs/x/master.m3u8?token=forged", { headers: ip });
      statuses.push(res.status);
    }
    // Five answered (a forged token finds nothing), then the address's bucket is empty.
    expect(statuses.slice(0, 5).every((s) => s !== 429)).toBe(true);
    expect(statuses[5]).toBe(429);
  });

  it("limits a client address across keys, even with bad keys (before authentication)", async () => {
    const ip = { "x-test-client-ip": "203.0.113.9" };
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      statuses.push((await h.client(`fw_${"a".repeat(12)}_${"b".repeat(40)}`, ip).jobs.list()).status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    const refused = await h.client(await h.key(tenantId, ["jobs:read"]), ip).jobs.list();
    expect(refused.status).toBe(429);
    expect(refused.ok ? null : refused.problem).toMatchObject({ code: "rate_limited", limit_by: "ip" });
    expect(refused.headers.get("retry-after")).not.toBeNull();
    // A different address is unaffected.
    const fresh = h.client(await h.key(tenantId, ["jobs:read"]), { "x-test-client-ip": "203.0.113.10" });
    expect((await fresh.jobs.list()).status).toBe(200);
  });

  it("leaves health checks unlimited", async () => {
    for (let i = 0; i < 10; i++) expect((await h.client().health()).status).toBe(200);
  });
});
