/**
 * Signed, expiring tokens (HMAC-SHA256 over a small JSON payload), used for progress WebSocket URLs
 * and download links. Web Crypto only, so the same code runs on Workers and on Node.
 *
 * Format: base64url(JSON payload) "." base64url(HMAC(secret, purpose "." payload)). The purpose is
 * mixed into the MAC so a download token can never be replayed as a progress token.
 */

export type TokenPurpose = "progress" | "download";

export interface ProgressTokenClaims {
  job: string;
  tenant: string;
  /** Expiry, seconds since the epoch. */
  exp: number;
}

export interface DownloadTokenClaims {
  key: string;
  exp: number;
}

const encoder = new TextEncoder();
const keyCache = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keyCache.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
      "verify",
    ]);
    keyCache.set(secret, key);
  }
  return key;
}

export function base64UrlEncode(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function base64UrlDecode(text: string): Uint8Array<ArrayBuffer> {
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4);
  const binary = atob(padded);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export async function signToken<T extends { exp: number }>(
  secret: string,
  purpose: TokenPurpose,
  claims: T,
): Promise<string> {
  const payload = base64UrlEncode(encoder.encode(JSON.stringify(claims)));
  const mac = await crypto.subtle.sign(
    "HMAC",
    await hmacKey(secret),
    encoder.encode(`${purpose}.${payload}`),
  );
  return `${payload}.${base64UrlEncode(new Uint8Array(mac))}`;
}

export type TokenCheck<T> =
  | { ok: true; claims: T }
  | { ok: false; reason: "malformed" | "bad_signature" | "expired" };

/** Verifies signature and expiry. `nowSec` is injectable so tests and clocks agree. */
export async function verifyToken<T extends { exp: number }>(
  secret: string,
  purpose: TokenPurpose,
  token: string,
  nowSec = Math.floor(Date.now() / 1000),
): Promise<TokenCheck<T>> {
  const [payload, mac, extra] = token.split(".");
  if (!payload || !mac || extra !== undefined) return { ok: false, reason: "malformed" };
  let macBytes: Uint8Array<ArrayBuffer>;
  let claims: T;
  try {
    macBytes = base64UrlDecode(mac);
    claims = JSON.parse(new TextDecoder().decode(base64UrlDecode(payload))) as T;
  } catch {
    return { ok: false, reason: "malformed" };
  }
  // crypto.subtle.verify compares in constant time.
  const valid = await crypto.subtle.verify(
    "HMAC",
    await hmacKey(secret),
    macBytes,
    encoder.encode(`${purpose}.${payload}`),
  );
  if (!valid) return { ok: false, reason: "bad_signature" };
  if (typeof claims.exp !== "number" || claims.exp <= nowSec) return { ok: false, reason: "expired" };
  return { ok: true, claims };
}

/** SHA-256 hex digest; API keys are stored as this (they are long random secrets, so no slow KDF is needed). */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Constant-time string comparison for equal-length secrets. */
export function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
