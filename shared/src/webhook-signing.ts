/**
 * The signature every webhook delivery carries: the contract receivers code against, so it lives
 * here once; `verifyWebhook` is what the typed client ships. Web Crypto only, and no zod: the web
 * console and receivers' code can import it without the schemas.
 *
 * Signature header: `Framewire-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
 * During a secret rotation's grace period there is one `v1=` per valid secret. The timestamp is
 * inside the MAC, so a receiver that refuses old timestamps (the replay window) refuses replays.
 */

export const webhookSignatureHeader = "Framewire-Signature";
/** The delivery's id: the same on every retry and redelivery, for receivers to deduplicate. */
export const webhookIdHeader = "Framewire-Webhook-Id";
export const webhookEventHeader = "Framewire-Event";
/** Receivers refuse signatures older (or further in the future) than this, by default. */
export const webhookToleranceSec = 300;

const encoder = new TextEncoder();

function toBytes(body: string | Uint8Array | ArrayBuffer): Uint8Array {
  if (typeof body === "string") return encoder.encode(body);
  return body instanceof Uint8Array ? body : new Uint8Array(body);
}

function signedBytes(timestamp: number, body: string | Uint8Array | ArrayBuffer): Uint8Array<ArrayBuffer> {
  const head = encoder.encode(`${timestamp}.`);
  const rest = toBytes(body);
  const out = new Uint8Array(head.length + rest.length);
  out.set(head);
  out.set(rest, head.length);
  return out;
}

function hmacKey(secret: string, usage: "sign" | "verify"): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    usage,
  ]);
}

const hex = (bytes: ArrayBuffer) =>
  Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");

function fromHex(text: string): Uint8Array<ArrayBuffer> | null {
  if (text.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(text)) return null;
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** The Framewire-Signature header value for a body, signed with every given secret. */
export async function signWebhook(
  secrets: readonly string[],
  body: string,
  timestampSec: number,
): Promise<string> {
  const data = signedBytes(timestampSec, body);
  const macs = await Promise.all(
    secrets.map(async (s) => `v1=${hex(await crypto.subtle.sign("HMAC", await hmacKey(s, "sign"), data))}`),
  );
  return [`t=${timestampSec}`, ...macs].join(",");
}

export type WebhookCheck =
  | { ok: true; timestamp: number }
  | { ok: false; reason: "malformed" | "bad_signature" | "outside_tolerance" };

/**
 * Verifies a delivery as its receiver: `body` must be the raw request body (bytes or the exact
 * text, before any JSON parsing), `signature` the Framewire-Signature header. Checks the HMAC
 * (crypto.subtle.verify compares in constant time) and that the timestamp is within
 * `toleranceSec` of `nowSec` (default 300 s), so a captured delivery can't be replayed later.
 * Web Crypto only: works in Node 20+, browsers, Workers, Deno and Bun.
 */
export async function verifyWebhook(options: {
  body: string | Uint8Array | ArrayBuffer;
  signature: string | null | undefined;
  secret: string;
  toleranceSec?: number;
  nowSec?: number;
}): Promise<WebhookCheck> {
  const parts = (options.signature ?? "").split(",").map((p) => p.trim());
  const t = parts.find((p) => p.startsWith("t="))?.slice(2) ?? "";
  const macs = parts.filter((p) => p.startsWith("v1=")).map((p) => fromHex(p.slice(3)));
  const timestamp = /^\d{1,12}$/.test(t) ? Number(t) : Number.NaN;
  if (!Number.isFinite(timestamp) || macs.length === 0) return { ok: false, reason: "malformed" };
  const key = await hmacKey(options.secret, "verify");
  const data = signedBytes(timestamp, options.body);
  let valid = false;
  for (const mac of macs) {
    if (mac && (await crypto.subtle.verify("HMAC", key, mac, data))) valid = true;
  }
  if (!valid) return { ok: false, reason: "bad_signature" };
  const now = options.nowSec ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - timestamp) > (options.toleranceSec ?? webhookToleranceSec)) {
    return { ok: false, reason: "outside_tolerance" };
  }
  return { ok: true, timestamp };
}
