import { describe, expect, it } from "vitest";
import {
  createDurableObjectRateLimitStore,
  type DurableObjectNamespaceLike,
  RateLimiterObject,
} from "./durable-object";

/** The Workers store against the Durable Object class, with a namespace that keeps one object per name. */
function namespace(): DurableObjectNamespaceLike {
  const objects = new Map<string, RateLimiterObject>();
  return {
    idFromName: (name) => name,
    get: (id) => {
      const name = String(id);
      let object = objects.get(name);
      if (!object) {
        object = new RateLimiterObject();
        objects.set(name, object);
      }
      const target = object;
      return { fetch: (url, init) => target.fetch(new Request(url, init)) };
    },
  };
}

describe("Durable Object rate-limit store", () => {
  it("keeps one bucket per object and refuses past the burst", async () => {
    const store = createDurableObjectRateLimitStore(namespace());
    const policy = { capacity: 2, refillPerSec: 0.001 };
    const a = [
      await store.take("key:a", policy, 0),
      await store.take("key:a", policy, 0),
      await store.take("key:a", policy, 0),
    ];
    expect(a.map((d) => d.allowed)).toEqual([true, true, false]);
    expect(a[2]).toMatchObject({ limit: 2, remaining: 0 });
    expect(a[2]?.retryAfterSec).toBeGreaterThan(0);
    expect((await store.take("key:b", policy, 0)).allowed).toBe(true);
  });
});
