import { describe, expect, it } from "vitest";
import { createPlaylistCache } from "./playlist-cache";

describe("the playlist cache", () => {
  it("makes a body once per key and slice, however many ask at once or later", async () => {
    const cache = createPlaylistCache();
    let made = 0;
    const render = async () => {
      made++;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return `body ${made}`;
    };
    const together = await Promise.all([1, 2, 3].map(() => cache.get("a.m3u8", 7, render)));
    expect(together.map((r) => r.body)).toEqual(["body 1", "body 1", "body 1"]);
    expect((await cache.get("a.m3u8", 7, render)).body).toBe("body 1");
    expect(made).toBe(1);
    // Another key, and the next slice, are made afresh.
    expect((await cache.get("b.m3u8", 7, render)).body).toBe("body 2");
    expect((await cache.get("a.m3u8", 8, render)).body).toBe("body 3");
    expect(made).toBe(3);
  });

  it("counts bytes, keeps nothing that failed, and does not keep bodies too large for it", async () => {
    const cache = createPlaylistCache(400);
    expect((await cache.get("é.m3u8", 1, async () => "é")).bytes).toBe(2);
    await expect(cache.get("gone.m3u8", 1, () => Promise.reject(new Error("gone")))).rejects.toThrow("gone");
    expect((await cache.get("gone.m3u8", 1, async () => "back")).body).toBe("back");
    let made = 0;
    const big = async () => `${++made}`.padEnd(200, "x");
    await cache.get("big.m3u8", 1, big);
    await cache.get("big.m3u8", 1, big);
    expect(made).toBe(2);
  });
});
