import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { describe, expect, it, vi } from "vitest";
import { base64UrlEncode, sha256Hex, signToken, timingSafeEqual, verifyToken } from "./token";

const secret = "s".repeat(32);
const now = 1_800_000_000;

describe("signed tokens", () => {
  it("carries the standard HMAC-SHA256 of purpose and payload, whichever implementation made it", async () => {
    const token = await signToken(secret, "download", { key: "a/b", exp: now });
    const [payload, sent] = token.split(".");
    const expected = hmac(
      sha256,
      new TextEncoder().encode(secret),
      new TextEncoder().encode(`download.${payload}`),
    );
    expect(sent).toBe(base64UrlEncode(expected));
    // Signed twice with the same secret (a cached keyed state): the same token.
    expect(await signToken(secret, "download", { key: "a/b", exp: now })).toBe(token);
  });

  it("signs the same where the runtime lends no crypto module or Buffer (a browser, a Worker without them)", async () => {
    const token = await signToken(secret, "progress", { job: "job_x", tenant: "ten_y", exp: now + 60 });
    vi.stubGlobal("process", { ...process, getBuiltinModule: undefined });
    vi.resetModules();
    try {
      const pure = await import("./token");
      for (let i = 0; i < 2; i++) {
        expect(
          await pure.signToken(secret, "progress", { job: "job_x", tenant: "ten_y", exp: now + 60 }),
        ).toBe(token);
      }
      expect((await pure.verifyToken(secret, "progress", token, now)).ok).toBe(true);
      // base64url without padding, from either implementation: the characters that differ from
      // base64's, and every length a remainder can leave.
      for (const bytes of [[0xfb, 0xff, 0xbf], [1], [1, 2], [1, 2, 3, 4], []]) {
        expect(pure.base64UrlEncode(new Uint8Array(bytes))).toBe(base64UrlEncode(new Uint8Array(bytes)));
      }
      expect(pure.base64UrlEncode(new Uint8Array([0xfb, 0xff, 0xbf, 1]))).toBe("-_-_AQ");
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it("round-trips claims until they expire", async () => {
    const token = await signToken(secret, "progress", { job: "job_x", tenant: "ten_y", exp: now + 60 });
    expect(await verifyToken(secret, "progress", token, now)).toEqual({
      ok: true,
      claims: { job: "job_x", tenant: "ten_y", exp: now + 60 },
    });
    expect(await verifyToken(secret, "progress", token, now + 60)).toEqual({ ok: false, reason: "expired" });
  });

  it("refuses a token signed with another secret or for another purpose", async () => {
    const token = await signToken(secret, "download", { key: "a/b/c", exp: now + 60 });
    expect((await verifyToken("t".repeat(32), "download", token, now)).ok).toBe(false);
    expect(await verifyToken(secret, "progress", token, now)).toEqual({ ok: false, reason: "bad_signature" });
  });

  it("refuses edited claims", async () => {
    const token = await signToken(secret, "download", { key: "ten_a/jobs/x/out.mp4", exp: now + 60 });
    const [, mac] = token.split(".");
    const forged = `${btoa(JSON.stringify({ key: "ten_b/jobs/x/out.mp4", exp: now + 60 })).replace(/=+$/, "")}.${mac}`;
    expect(await verifyToken(secret, "download", forged, now)).toEqual({
      ok: false,
      reason: "bad_signature",
    });
    expect(await verifyToken(secret, "download", "garbage", now)).toEqual({ ok: false, reason: "malformed" });
  });

  it("hashes and compares", async () => {
    expect(await sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(timingSafeEqual("abc", "abc")).toBe(true);
    expect(timingSafeEqual("abc", "abd")).toBe(false);
    expect(timingSafeEqual("abc", "abcd")).toBe(false);
  });
});
