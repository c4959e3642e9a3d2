import { describe, expect, it } from "vitest";
import { type AskForGrant, createGrantedRateLimitStore } from "./granted-store";
import { setRecent } from "./store";
import { type BucketState, grantTokens } from "./token-bucket";

/**
 * Cluster rate limits: several stores (processes) spending grants from one holder of the buckets
 * (the primary), answering as nodejs/cluster-ipc.ts does with the real `grantTokens`. Only the IPC
 * channel is replaced by a call (the e2e cluster test runs the real one); each answer arrives a turn
 * later, as a message would.
 */
function primary(options: { processes: number; maxExtra?: number }) {
  const buckets = new Map<string, BucketState>();
  const stats = { asks: 0, returned: 0 };
  const ask: AskForGrant = async (request) => {
    stats.asks++;
    stats.returned += request.returned;
    await new Promise((r) => setImmediate(r));
    const { state, ...answer } = grantTokens(buckets.get(request.bucket), request.policy, request.now, {
      returned: request.returned,
      take: request.take,
      share: 2 * options.processes,
      maxExtra: options.maxExtra ?? 100,
    });
    setRecent(buckets, request.bucket, state, 1000);
    return answer;
  };
  return { ask, stats, tokens: (bucket: string) => buckets.get(bucket)?.tokens };
}

const slow = { capacity: 6, refillPerSec: 0.001 };

describe("cluster rate limits (grants from one holder of the buckets)", () => {
  it("lets through exactly a small bucket's worth, whichever process answers", async () => {
    const p = primary({ processes: 2 });
    const a = createGrantedRateLimitStore(p.ask);
    const b = createGrantedRateLimitStore(p.ask);
    const allowed: boolean[] = [];
    for (let i = 0; i < 12; i++) allowed.push((await (i % 2 ? b : a).take("key:k", slow, 1_000)).allowed);
    expect(allowed.filter(Boolean)).toHaveLength(6);
    // The first six, not six per process, nor refusals while tokens are stranded in a grant.
    expect(allowed.slice(0, 6).every(Boolean)).toBe(true);
  });

  it("asks the holder once per many requests when the bucket is large, and never lets through more than it holds", async () => {
    const p = primary({ processes: 3 });
    const stores = [0, 1, 2].map(() => createGrantedRateLimitStore(p.ask));
    const policy = { capacity: 1_000, refillPerSec: 0.001 };
    let allowed = 0;
    for (let i = 0; i < 3_000; i++)
      if ((await stores[i % 3]?.take("ip:x", policy, 5_000))?.allowed) allowed++;
    expect(allowed).toBe(1_000);
    // Per request, a message each way would be 3,000 asks; grants of a share of what is left make
    // it a few dozen (they shrink to one token as the bucket empties, then every refusal asks).
    expect(p.stats.asks - 2_000).toBeLessThan(100);
  });

  it("has requests that arrive together wait for one question instead of asking each", async () => {
    const p = primary({ processes: 2 });
    const store = createGrantedRateLimitStore(p.ask);
    const policy = { capacity: 500, refillPerSec: 1 };
    const decisions = await Promise.all(Array.from({ length: 40 }, () => store.take("key:k", policy, 0)));
    expect(decisions.every((d) => d.allowed)).toBe(true);
    expect(p.stats.asks).toBe(1);
    // Remaining counts the whole bucket, grants held here included, less what was spent.
    expect(decisions.at(-1)?.remaining).toBe(460);
  });

  it("gives idle grants back, so another process can spend them", async () => {
    const p = primary({ processes: 2 });
    const a = createGrantedRateLimitStore(p.ask);
    const b = createGrantedRateLimitStore(p.ask);
    const policy = { capacity: 100, refillPerSec: 0.001 };
    expect((await a.take("key:k", policy, 0)).allowed).toBe(true);
    // a holds a quarter of what was left (2 processes: a 1/4 share); the holder has the rest.
    expect(p.tokens("key:k")).toBe(75);
    expect(await a.returnIdle(500, 1_000)).toBe(0); // used half a second ago: kept
    expect(await a.returnIdle(1_000, 1_000)).toBe(24);
    expect(p.tokens("key:k")).toBeCloseTo(99, 0);
    let allowed = 0;
    for (let i = 0; i < 120; i++) if ((await b.take("key:k", policy, 1_000)).allowed) allowed++;
    expect(allowed).toBe(99);
  });

  it("refuses with the holder's retry time once the bucket is empty", async () => {
    const p = primary({ processes: 2 });
    const a = createGrantedRateLimitStore(p.ask);
    const policy = { capacity: 2, refillPerSec: 0.5 };
    await a.take("key:k", policy, 0);
    await a.take("key:k", policy, 0);
    const refused = await a.take("key:k", policy, 0);
    expect(refused).toMatchObject({ allowed: false, remaining: 0, retryAfterSec: 2 });
    // Two seconds later the refill gave one token back.
    expect((await a.take("key:k", policy, 2_000)).allowed).toBe(true);
  });
});

describe("grantTokens", () => {
  const policy = { capacity: 10, refillPerSec: 1 };
  it("takes returned tokens back no higher than the bucket's size", () => {
    const { state } = grantTokens({ tokens: 8, updatedMs: 0 }, policy, 0, {
      returned: 5,
      take: false,
      share: 4,
      maxExtra: 100,
    });
    expect(state.tokens).toBe(10);
  });
  it("grants a share of what is left, and a lone token near empty", () => {
    const full = grantTokens(undefined, policy, 0, { returned: 0, take: true, share: 4, maxExtra: 100 });
    expect(full).toMatchObject({ granted: 3, balance: 9, state: { tokens: 7 } });
    const low = grantTokens({ tokens: 3, updatedMs: 0 }, policy, 0, {
      returned: 0,
      take: true,
      share: 4,
      maxExtra: 100,
    });
    expect(low).toMatchObject({ granted: 1, balance: 2 });
  });
});
