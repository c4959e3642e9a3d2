import { describe, expect, it } from "vitest";
import { type AskForGrant, createGrantedRateLimitStore, createGrantLedger } from "./granted-store";
import { type BucketState, takeToken } from "./token-bucket";

/**
 * Cluster rate limits: several stores (processes) spending grants from one ledger (the primary),
 * as nodejs/cluster-ipc.ts wires them. Only the IPC channel is replaced by a call (the e2e cluster
 * test runs the real one); each answer arrives a turn later, as a message would.
 */
function primary(processes: number) {
  const ledger = createGrantLedger({ maxExtra: 100 });
  const stats = { asks: 0 };
  const processStore = (holder: number) => {
    const ask: AskForGrant = async (request) => {
      stats.asks++;
      await new Promise((r) => setImmediate(r));
      return ledger.answer(holder, request, processes);
    };
    return createGrantedRateLimitStore(ask);
  };
  return { stores: Array.from({ length: processes }, (_, i) => processStore(i + 1)), stats };
}

/** One bucket in one process: what the cluster must never let more through than. */
function oneBucket() {
  let state: BucketState | undefined;
  return (policy: { capacity: number; refillPerSec: number }, now: number) => {
    const r = takeToken(state, policy, now);
    state = r.state;
    return r.decision.allowed;
  };
}

const slow = { capacity: 6, refillPerSec: 0.001 };

describe("cluster rate limits (grants from one holder of the buckets)", () => {
  it("lets through exactly a small bucket's worth, whichever process answers", async () => {
    const { stores } = primary(2);
    const allowed: boolean[] = [];
    for (let i = 0; i < 12; i++)
      allowed.push((await stores[i % 2]?.take("key:k", slow, 1_000))?.allowed ?? false);
    expect(allowed.filter(Boolean)).toHaveLength(6);
    // The first six, not six per process, nor refusals while tokens are stranded in a grant.
    expect(allowed.slice(0, 6).every(Boolean)).toBe(true);
  });

  it("asks the holder once per many requests when the bucket is large, and never lets through more than it holds", async () => {
    const { stores, stats } = primary(3);
    const policy = { capacity: 1_000, refillPerSec: 0.001 };
    let allowed = 0;
    for (let i = 0; i < 3_000; i++)
      if ((await stores[i % 3]?.take("ip:x", policy, 5_000))?.allowed) allowed++;
    expect(allowed).toBe(1_000);
    // A message each way per request would be 3,000 asks. Grants of a share of what is left, and
    // refusals that hold until the next token, make it a few dozen.
    expect(stats.asks).toBeLessThan(100);
  });

  it("lets through no more than one bucket would while it refills, with grants held across a second", async () => {
    for (const processes of [2, 4]) {
      const { stores } = primary(processes);
      const policy = { capacity: 120, refillPerSec: 20 };
      const reference = oneBucket();
      let cluster = 0;
      let single = 0;
      // Light traffic in every process (each keeps a grant it spends from), then a burst, then
      // steady pressure: at every step the cluster's total stays within one bucket's.
      for (let t = 0; t <= 10_000; t += 250) {
        for (const store of stores) {
          if ((await store.take("key:k", policy, t)).allowed) cluster++;
          if (reference(policy, t)) single++;
        }
      }
      for (let i = 0; i < 1_000; i++) {
        const t = 10_000 + Math.floor(i / 10);
        if ((await stores[i % processes]?.take("key:k", policy, t))?.allowed) cluster++;
        if (reference(policy, t)) single++;
        expect(cluster).toBeLessThanOrEqual(single);
      }
      // And it does not starve: within a bucket's worth of the single one.
      expect(cluster).toBeGreaterThan(single - policy.capacity);
    }
  });

  it("has requests that arrive together wait for one question instead of asking each", async () => {
    const { stores, stats } = primary(2);
    const store = stores[0];
    const policy = { capacity: 500, refillPerSec: 1 };
    const decisions = await Promise.all(Array.from({ length: 40 }, () => store?.take("key:k", policy, 0)));
    expect(decisions.every((d) => d?.allowed)).toBe(true);
    expect(stats.asks).toBe(1);
    // Remaining counts the whole bucket, grants held here included, less what was spent.
    expect(decisions.at(-1)?.remaining).toBe(460);
  });

  it("answers a flood of refused requests from one refusal until the bucket refills a token", async () => {
    const { stores, stats } = primary(2);
    const store = stores[0];
    const policy = { capacity: 1, refillPerSec: 10 };
    expect((await store?.take("ip:x", policy, 0))?.allowed).toBe(true);
    const asked = stats.asks;
    const flood = await Promise.all(Array.from({ length: 50 }, () => store?.take("ip:x", policy, 0)));
    expect(flood.every((d) => d?.allowed === false)).toBe(true);
    expect(flood[0]).toMatchObject({ remaining: 0, retryAfterSec: 1 });
    expect(stats.asks - asked).toBe(1);
    // A tenth of a second later the bucket has a token again, and the next request gets it.
    expect((await store?.take("ip:x", policy, 100))?.allowed).toBe(true);
  });

  it("gives back what an expired grant left, so another process can spend it", async () => {
    const { stores } = primary(2);
    const [a, b] = stores;
    const policy = { capacity: 100, refillPerSec: 1 };
    expect((await a?.take("key:k", policy, 0))?.allowed).toBe(true);
    // a holds a quarter of what was left (2 processes: a 1/4 share), 24 tokens.
    expect(await a?.returnExpired(500)).toBe(0); // still live
    let early = 0;
    for (let i = 0; i < 120; i++) if ((await b?.take("key:k", policy, 500))?.allowed) early++;
    expect(early).toBe(75); // a's 24 are out of reach
    expect(await a?.returnExpired(1_000)).toBe(24);
    // Once b's refusal has run its course (a token's refill: a second), a's 24 are b's to spend,
    // with about a second of refill.
    let late = 0;
    for (let i = 0; i < 50; i++) if ((await b?.take("key:k", policy, 1_600))?.allowed) late++;
    expect(late).toBe(25);
  });
});
