import { describe, expect, it } from "vitest";
import { createMemoryRateLimitStore } from "./store";
import { takeToken } from "./token-bucket";

const policy = { capacity: 3, refillPerSec: 1 };

describe("token bucket", () => {
  it("allows a burst of `capacity`, then refuses with the seconds until one token", () => {
    let state: ReturnType<typeof takeToken>["state"] | undefined;
    const remaining: number[] = [];
    for (let i = 0; i < 3; i++) {
      const step = takeToken(state, policy, 1_000);
      state = step.state;
      expect(step.decision.allowed).toBe(true);
      remaining.push(step.decision.remaining);
    }
    expect(remaining).toEqual([2, 1, 0]);
    const refused = takeToken(state, policy, 1_000);
    expect(refused.decision).toMatchObject({ allowed: false, remaining: 0, retryAfterSec: 1, resetSec: 3 });
  });

  it("refills continuously and never above capacity", () => {
    const empty = { tokens: 0, updatedMs: 0 };
    expect(takeToken(empty, policy, 500).decision.allowed).toBe(false);
    expect(takeToken(empty, policy, 1_000).decision).toMatchObject({ allowed: true, remaining: 0 });
    expect(takeToken(empty, policy, 60_000).decision).toMatchObject({ allowed: true, remaining: 2 });
  });

  it("keeps buckets apart and bounds how many it keeps", async () => {
    const store = createMemoryRateLimitStore({ maxBuckets: 2 });
    const one = { capacity: 1, refillPerSec: 0.001 };
    expect((await store.take("a", one, 0)).allowed).toBe(true);
    expect((await store.take("a", one, 0)).allowed).toBe(false);
    expect((await store.take("b", one, 0)).allowed).toBe(true);
    await store.take("c", one, 0); // evicts "a", the least recently used
    expect((await store.take("a", one, 0)).allowed).toBe(true);
  });
});
