import { describe, expect, it } from "vitest";
import { type DurableObjectNamespaceLike, RateLimiterObject, settleAtObject } from "./durable-object";
import { createLeaseBook, createLeasedRateLimitStore } from "./leased-store";

/**
 * The Workers rate limits against the real Durable Object class, behind a namespace that keeps one
 * object per name (the namespace is the only stand-in: workerd's own is exercised by the workerd
 * e2e suite). Counts the subrequests, which is what the leased store exists to save.
 */
function namespace() {
  const objects = new Map<string, RateLimiterObject>();
  const calls = { count: 0 };
  const ns: DurableObjectNamespaceLike = {
    idFromName: (name) => name,
    get: (id) => {
      const name = String(id);
      let object = objects.get(name);
      if (!object) {
        object = new RateLimiterObject();
        objects.set(name, object);
      }
      const target = object;
      return {
        fetch: (url, init) => {
          calls.count++;
          return target.fetch(new Request(url, init));
        },
      };
    },
  };
  return { ns, calls };
}

/** An isolate: its lease book, and the settlements it deferred (as ctx.waitUntil would keep them). */
function isolate(ns: DurableObjectNamespaceLike) {
  const book = createLeaseBook();
  const deferred: Promise<unknown>[] = [];
  const store = createLeasedRateLimitStore(
    book,
    (bucket, request) => settleAtObject(ns, bucket, request),
    (task) => deferred.push(task),
  );
  return { store, settled: () => Promise.all(deferred) };
}

// A refill slow enough that a test's milliseconds add nothing.
const policy = { capacity: 20, refillPerSec: 0.0001 };

describe("rate limits on Workers (Durable Object per bucket, leased to isolates)", () => {
  it("decides at the object first, then lets requests through locally while the bucket has headroom", async () => {
    const { ns, calls } = namespace();
    const { store, settled } = isolate(ns);
    const now = Date.now();
    const first = await store.take("key:a", policy, now);
    expect(first).toMatchObject({ allowed: true, limit: 20, remaining: 19 });
    expect(calls.count).toBe(1);
    // 19 left, a reserve of 5: the next 14 need no subrequest before they are answered…
    const before = calls.count;
    const local = [];
    for (let i = 0; i < 14; i++) local.push(store.take("key:a", policy, now));
    const decisions = await Promise.all(local);
    expect(decisions.every((d) => d.allowed)).toBe(true);
    expect(decisions.at(-1)?.remaining).toBe(5);
    // …and are settled with the object afterwards, in batches, not one subrequest each.
    await settled();
    expect(calls.count - before).toBeLessThan(14);
    expect(calls.count - before).toBeGreaterThan(0);
  });

  it("never lets one isolate exceed the bucket: the object refuses once it is spent", async () => {
    const { ns } = namespace();
    const { store, settled } = isolate(ns);
    const now = Date.now();
    const allowed: boolean[] = [];
    for (let i = 0; i < 30; i++) allowed.push((await store.take("key:b", policy, now)).allowed);
    await settled();
    expect(allowed.filter(Boolean)).toHaveLength(20);
    const refused = await store.take("key:b", policy, now);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterSec).toBeGreaterThan(0);
  });

  it("charges every local admission to the object, so two isolates share one bucket", async () => {
    const { ns } = namespace();
    const a = isolate(ns);
    const b = isolate(ns);
    const now = Date.now();
    let allowed = 0;
    for (let i = 0; i < 20; i++) {
      if ((await a.store.take("key:c", policy, now)).allowed) allowed++;
      if ((await b.store.take("key:c", policy, now)).allowed) allowed++;
    }
    await Promise.all([a.settled(), b.settled()]);
    // An isolate lets through only what its last view of the object left above the reserve (15
    // here), so the other isolate can overdraw the bucket by at most that…
    expect(allowed).toBeGreaterThanOrEqual(20);
    expect(allowed).toBeLessThanOrEqual(20 + 15);
    // …every admission reached the object, the overdraft as debt…
    const probe = await settleAtObject(ns, "key:c", { ...policy, take: false });
    expect(probe.tokens).toBeCloseTo(20 - allowed, 5);
    // …and both isolates refuse from then on.
    expect((await a.store.take("key:c", policy, now)).allowed).toBe(false);
    expect((await b.store.take("key:c", policy, now)).allowed).toBe(false);
  });

  it("keeps buckets apart", async () => {
    const { ns } = namespace();
    const { store } = isolate(ns);
    const tiny = { capacity: 2, refillPerSec: 0.0001 };
    const now = Date.now();
    const a = [await store.take("key:x", tiny, now), await store.take("key:x", tiny, now)];
    const third = await store.take("key:x", tiny, now);
    expect(a.map((d) => d.allowed)).toEqual([true, true]);
    expect(third.allowed).toBe(false);
    expect((await store.take("key:y", tiny, now)).allowed).toBe(true);
  });
});
