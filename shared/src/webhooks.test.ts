import { describe, expect, it } from "vitest";
import { jobSpecSchema } from "./job-spec";
import { signWebhook, verifyWebhook } from "./webhook-signing";

const secret = "whsec_0123456789abcdefghjkmnpqrstvwxyz0123";
const body = JSON.stringify({ id: "whd_1", type: "job.succeeded", data: { job: { id: "job_1" } } });

describe("webhook signatures", () => {
  it("verifies what it signs, as text or as raw bytes", async () => {
    const signature = await signWebhook([secret], body, 1_700_000_000);
    expect(signature).toMatch(/^t=1700000000,v1=[0-9a-f]{64}$/);
    expect(await verifyWebhook({ body, signature, secret, nowSec: 1_700_000_010 })).toEqual({
      ok: true,
      timestamp: 1_700_000_000,
    });
    const bytes = new TextEncoder().encode(body);
    expect((await verifyWebhook({ body: bytes, signature, secret, nowSec: 1_700_000_010 })).ok).toBe(true);
  });

  it("refuses a changed body, another secret, or a changed timestamp", async () => {
    const signature = await signWebhook([secret], body, 1_700_000_000);
    const now = 1_700_000_000;
    expect(await verifyWebhook({ body: `${body} `, signature, secret, nowSec: now })).toEqual({
      ok: false,
      reason: "bad_signature",
    });
    expect((await verifyWebhook({ body, signature, secret: `${secret}x`, nowSec: now })).ok).toBe(false);
    const moved = signature.replace("t=1700000000", "t=1700000001");
    expect(await verifyWebhook({ body, signature: moved, secret, nowSec: now })).toEqual({
      ok: false,
      reason: "bad_signature",
    });
  });

  it("refuses a replay outside the window (default 5 minutes), in either direction", async () => {
    const signature = await signWebhook([secret], body, 1_700_000_000);
    const at = (nowSec: number, toleranceSec?: number) =>
      verifyWebhook({ body, signature, secret, nowSec, ...(toleranceSec ? { toleranceSec } : {}) });
    expect((await at(1_700_000_300)).ok).toBe(true);
    expect(await at(1_700_000_301)).toEqual({ ok: false, reason: "outside_tolerance" });
    expect(await at(1_699_999_699)).toEqual({ ok: false, reason: "outside_tolerance" });
    expect((await at(1_700_000_301, 600)).ok).toBe(true);
  });

  it("accepts either secret while a rotation signs with both", async () => {
    const signature = await signWebhook(["whsec_new", "whsec_old"], body, 1_700_000_000);
    expect(signature.split(",")).toHaveLength(3);
    for (const s of ["whsec_new", "whsec_old"])
      expect((await verifyWebhook({ body, signature, secret: s, nowSec: 1_700_000_000 })).ok).toBe(true);
    expect((await verifyWebhook({ body, signature, secret: "whsec_other", nowSec: 1_700_000_000 })).ok).toBe(
      false,
    );
  });

  it("calls a header without a timestamp or signature malformed", async () => {
    for (const signature of [undefined, "", "v1=abcd", "t=1700000000", "t=soon,v1=00", "t=1,v1=zz"]) {
      const result = await verifyWebhook({ body, signature, secret, nowSec: 1 });
      expect(result.ok, String(signature)).toBe(false);
    }
    expect(await verifyWebhook({ body, signature: "t=1700000000", secret })).toEqual({
      ok: false,
      reason: "malformed",
    });
  });
});

describe("webhook in a job spec", () => {
  const base = {
    input: { type: "url", url: "https://example.com/a.mp4" },
    outputs: [{ name: "a", type: "analysis" }],
  };

  it("defaults its events to the final states", () => {
    const spec = jobSpecSchema.parse({ ...base, webhook: { url: "https://hooks.example.com/fw" } });
    expect(spec.webhook?.events).toEqual(["job.succeeded", "job.failed", "job.canceled"]);
  });

  it("refuses unknown events, duplicates and non-http URLs", () => {
    for (const webhook of [
      { url: "https://h.example.com/", events: ["job.exploded"] },
      { url: "https://h.example.com/", events: ["job.failed", "job.failed"] },
      { url: "file:///etc/passwd" },
      { url: "https://h.example.com/", extra: 1 },
    ]) {
      expect(jobSpecSchema.safeParse({ ...base, webhook }).success, JSON.stringify(webhook)).toBe(false);
    }
  });
});
