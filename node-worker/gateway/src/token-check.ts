import { createHmac, timingSafeEqual } from "node:crypto";
import { base64UrlDecode, type ProgressTokenClaims, type TokenCheck } from "@framewire/shared";

/**
 * Synchronous check of a progress token (same format as shared/src/token.ts, which must stay
 * async for Web Crypto on Workers). The gateway needs it synchronous so it can upgrade inside
 * uWS's upgrade handler: upgrading after an await dropped about 1 in 1,000 connections right after
 * the handshake with the uWebSockets.js build we ship.
 */
export function checkProgressToken(secret: string, token: string, nowSec = Math.floor(Date.now() / 1000)) {
  const [payload, mac, extra] = token.split(".");
  if (!payload || !mac || extra !== undefined) return { ok: false, reason: "malformed" } as const;
  const expected = createHmac("sha256", secret).update(`progress.${payload}`).digest();
  let given: Buffer;
  let claims: ProgressTokenClaims;
  try {
    given = Buffer.from(base64UrlDecode(mac));
    claims = JSON.parse(Buffer.from(base64UrlDecode(payload)).toString("utf8")) as ProgressTokenClaims;
  } catch {
    return { ok: false, reason: "malformed" } as const;
  }
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: "bad_signature" } as const;
  }
  if (typeof claims.exp !== "number" || claims.exp <= nowSec)
    return { ok: false, reason: "expired" } as const;
  return { ok: true, claims } as TokenCheck<ProgressTokenClaims>;
}
