const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"; // Crockford base32, lower case

// Random bytes are drawn 256 at a time: a getRandomValues call for each id cost more than the rest
// of making it (1.5% of POST /v1/jobs's CPU, --cpu-prof). Each byte is used once. Filled on first
// use, not at load: Workers refuses random values in the global scope.
const pool = new Uint8Array(256);
let poolAt = pool.length;

function randomChars(count: number): string {
  let out = "";
  for (let i = 0; i < count; i++) {
    if (poolAt === pool.length) {
      crypto.getRandomValues(pool);
      poolAt = 0;
    }
    out += alphabet[(pool[poolAt++] ?? 0) & 31];
  }
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
export type IdPrefix = "job" | "upl" | "key" | "ten" | "node" | "whd" | "tpl" | "bat" | "wat";

export function newId(prefix: IdPrefix, now = Date.now()): string {
  return `${prefix}_${timeChars(now)}${randomChars(16)}`;
}

/**
 * `count` ids that sort in the order given (a batch's jobs, created together): one time part and one
 * random part, then a 5-character counter (32^5 ≈ 33 million per call).
 */
export function newSequentialIds(prefix: IdPrefix, count: number, now = Date.now()): string[] {
  const head = `${prefix}_${timeChars(now)}${randomChars(11)}`;
  return Array.from({ length: count }, (_, i) => head + timeChars(i).slice(-5));
}

/** The creation time an id carries (ms since the epoch), or null for text that isn't one of our ids. */
export function idTime(id: string): number | null {
  const time = /^[a-z]+_([0-9a-hjkmnp-tv-z]{10})/.exec(id)?.[1];
  if (!time) return null;
  let ms = 0;
  for (const ch of time) ms = ms * 32 + alphabet.indexOf(ch);
  return ms;
}

/** Random secret text (for API key secrets), ~5 bits per char. */
export function randomSecret(length: number): string {
  return randomChars(length);
}
