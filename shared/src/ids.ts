const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"; // Crockford base32, lower case

function randomChars(count: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(count));
  let out = "";
  for (const byte of bytes) out += alphabet[byte & 31];
  return out;
}

function timeChars(ms: number): string {
  let out = "";
  let rest = ms;
  for (let i = 0; i < 10; i++) {
    out = alphabet[rest % 32] + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

/**
 * Time-sortable ids (ULID-shaped: 10 time chars + 16 random chars) with a type prefix, so ids sort
 * by creation time — cursor pagination relies on that — and say what they name.
 */
export function newId(prefix: "job" | "upl" | "key" | "ten" | "node" | "whd", now = Date.now()): string {
  return `${prefix}_${timeChars(now)}${randomChars(16)}`;
}

/** Random secret text (for API key secrets), ~5 bits per char. */
export function randomSecret(length: number): string {
  return randomChars(length);
}
