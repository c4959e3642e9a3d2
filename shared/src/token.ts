/**
 * Signed, expiring tokens (HMAC-SHA256 over a small JSON payload), used for progress WebSocket URLs
 * and download links. Synchronous, so the same code runs on Workers and on Node: Node's Web Crypto
 * spends tens of microseconds per call on argument checking, which showed up as ~9% of the edge's
 * CPU on `GET /v1/jobs/:id` (it signs the progress token).
 *
 * Format: base64url(JSON payload) "." base64url(HMAC(secret, purpose "." payload)). The purpose is
 * mixed into the MAC so a download token can never be replayed as a progress token.
 */

import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";

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

/** The part of Node's crypto module used here (shared/ has no Node types). */
interface RuntimeCrypto {
  createHmac(algorithm: "sha256", key: string): { update(data: string): { digest(): Uint8Array } };
}

/**
 * The runtime's own HMAC where it lends one synchronously (Node 20.16+, through
 * process.getBuiltinModule, without an import a browser bundle would trip on): about a third of the
 * pure-JS time per token, and a GET or a submit signs one or more. Elsewhere @noble/hashes, with
 * each secret's keyed state computed once.
 */
const builtin = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
  ?.getBuiltinModule;
const runtimeCrypto = builtin?.("node:crypto") as RuntimeCrypto | undefined;

const keyedHmacs = new Map<string, ReturnType<typeof hmac.create>>();

function mac(secret: string, purpose: TokenPurpose, payload: string): Uint8Array {
  const message = `${purpose}.${payload}`;
  if (runtimeCrypto) return runtimeCrypto.createHmac("sha256", secret).update(message).digest();
  let keyed = keyedHmacs.get(secret);
  if (!keyed) {
    if (keyedHmacs.size >= 8) keyedHmacs.clear(); // a handful of secrets: the current and the previous
    keyed = hmac.create(sha256, encoder.encode(secret));
    keyedHmacs.set(secret, keyed);
  }
  return keyed.clone().update(encoder.encode(message)).digest();
}

/** Node's Buffer where the runtime lends it (as with crypto above): native base64url, a third of the loop's time below. */
const runtimeBuffer = (
  builtin?.("node:buffer") as
    | { Buffer: { from(bytes: Uint8Array): { toString(encoding: "base64url"): string } } }
    | undefined
)?.Buffer;

export function base64UrlEncode(bytes: Uint8Array): string {
  if (runtimeBuffer) return runtimeBuffer.from(bytes).toString("base64url");
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
  return `${payload}.${base64UrlEncode(mac(secret, purpose, payload))}`;
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
  const [payload, sent, extra] = token.split(".");
  if (!payload || !sent || extra !== undefined) return { ok: false, reason: "malformed" };
  let sentMac: Uint8Array<ArrayBuffer>;
  let claims: T;
  try {
    sentMac = base64UrlDecode(sent);
    claims = JSON.parse(new TextDecoder().decode(base64UrlDecode(payload))) as T;
  } catch {
    return { ok: false, reason: "malformed" };
  }
  if (!equalBytes(sentMac, mac(secret, purpose, payload))) return { ok: false, reason: "bad_signature" };
  if (typeof claims.exp !== "number" || claims.exp <= nowSec) return { ok: false, reason: "expired" };
  return { ok: true, claims };
}

/** SHA-256 hex digest; API keys are stored as this (they are long random secrets, so no slow KDF is needed). */
export async function sha256Hex(text: string): Promise<string> {
  return bytesToHex(sha256(encoder.encode(text)));
}

/** Constant-time string comparison for equal-length secrets. */
export function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** Constant-time byte comparison (the MAC check must not leak how many leading bytes matched). */
function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}
