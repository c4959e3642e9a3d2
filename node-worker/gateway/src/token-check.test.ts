import { signToken } from "@framewire/shared";
import { describe, expect, it } from "vitest";
import { checkProgressToken } from "./token-check";

const secret = "s".repeat(40);
const now = 1_800_000_000;

describe("gateway token check", () => {
  it("accepts what the edge signs, until it expires", async () => {
    const token = await signToken(secret, "progress", { job: "job_a", tenant: "ten_b", exp: now + 60 });
    expect(checkProgressToken(secret, token, now)).toEqual({
      ok: true,
      claims: { job: "job_a", tenant: "ten_b", exp: now + 60 },
    });
    expect(checkProgressToken(secret, token, now + 60)).toEqual({ ok: false, reason: "expired" });
  });

  it("refuses other secrets, other purposes, edits and garbage", async () => {
    const token = await signToken(secret, "progress", { job: "job_a", tenant: "ten_b", exp: now + 60 });
    expect(checkProgressToken("t".repeat(40), token, now).ok).toBe(false);
    const download = await signToken(secret, "download", { key: "a/b/c", exp: now + 60 });
    expect(checkProgressToken(secret, download, now)).toEqual({ ok: false, reason: "bad_signature" });
    const [, mac] = token.split(".");
    const edited = `${Buffer.from(JSON.stringify({ job: "job_z", tenant: "ten_b", exp: now + 60 })).toString("base64url")}.${mac}`;
    expect(checkProgressToken(secret, edited, now)).toEqual({ ok: false, reason: "bad_signature" });
    expect(checkProgressToken(secret, "nonsense", now)).toEqual({ ok: false, reason: "malformed" });
  });
});
