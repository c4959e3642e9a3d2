/**
 * Near-duplicate detection between fingerprints (pure; runs on Node and Workers alike).
 *
 * Audio: Chromaprint's compressed strings are decompressed to their 32-bit items (one per ~0.124 s),
 * aligned where their items' top 20 bits agree most often (AcoustID's way of finding the offset),
 * and compared bit by bit over the overlap: the same recording re-encoded differs in ~5–15 % of
 * the bits, unrelated audio in ~50 %.
 * Pictures: 64-bit pHashes compared by Hamming distance (re-encoded or resized: a few bits;
 * different pictures: ~32).
 */
import type { FrameHash } from "@framewire/shared";

/** Seconds per Chromaprint item (algorithm 2: 11025 Hz, hop of 4096 / 3 samples). */
export const ITEM_SEC = 4096 / 3 / 11025;
const MAX_BER = 0.3;
const MIN_OVERLAP_SEC = 10;
const MAX_FRAME_DISTANCE = 10;
/** Places in the other print past which a key is too common to vote for an offset. */
const MAX_KEY_PLACES = 64;

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

function base64url(text: string): Uint8Array | null {
  const clean = text.replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  const out = new Uint8Array(Math.floor((clean.length * 6) / 8));
  let acc = 0;
  let bits = 0;
  let at = 0;
  for (const ch of clean) {
    const v = BASE64URL.indexOf(ch);
    if (v < 0) return null;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

/** Values of `width` bits packed least-significant bit first, from `offset` (bytes). */
function unpack(bytes: Uint8Array, offset: number, width: number, count: number): number[] {
  const values: number[] = [];
  let bit = offset * 8;
  const end = bytes.length * 8;
  while (values.length < count && bit + width <= end) {
    let v = 0;
    for (let k = 0; k < width; k++, bit++) {
      if ((bytes[bit >> 3] ?? 0) & (1 << (bit & 7))) v |= 1 << k;
    }
    values.push(v);
  }
  return values;
}

/**
 * The raw items of a compressed Chromaprint (chromaprint's FingerprintDecompressor): a header of
 * algorithm and item count, then each item as the positions of the bits that differ from the item
 * before, as 3-bit deltas ended by 0 (7 means "add a 5-bit exception"). Null when malformed.
 */
export function decodeChromaprint(fingerprint: string): Uint32Array | null {
  const bytes = base64url(fingerprint);
  if (!bytes || bytes.length < 4) return null;
  const count = ((bytes[1] ?? 0) << 16) | ((bytes[2] ?? 0) << 8) | (bytes[3] ?? 0);
  if (count === 0) return new Uint32Array(0);
  const normal = unpack(bytes, 4, 3, Math.floor(((bytes.length - 4) * 8) / 3));
  let seen = 0;
  let used = 0;
  let exceptions = 0;
  for (; used < normal.length; used++) {
    const v = normal[used] ?? 0;
    if (v === 0 && ++seen === count) {
      used++;
      break;
    }
    if (v === 7) exceptions++;
  }
  if (seen !== count) return null;
  const extra = unpack(bytes, 4 + Math.ceil((used * 3) / 8), 5, exceptions);
  if (extra.length !== exceptions) return null;
  const items = new Uint32Array(count);
  let item = 0;
  let value = 0;
  let last = 0;
  let e = 0;
  for (let i = 0; i < used; i++) {
    let v = normal[i] ?? 0;
    if (v === 0) {
      items[item] = item > 0 ? (value ^ (items[item - 1] ?? 0)) >>> 0 : value >>> 0;
      item++;
      value = 0;
      last = 0;
      continue;
    }
    if (v === 7) v += extra[e++] ?? 0;
    last += v;
    value |= 1 << (last - 1);
  }
  return items;
}

function popcount(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

export interface AudioMatch {
  similarity: number;
  bit_error_rate: number;
  offset_sec: number;
  overlap_sec: number;
}

/** Bit error rate of a and b with a[i] against b[i + offset]. */
function errorRate(a: Uint32Array, b: Uint32Array, offset: number): { ber: number; overlap: number } {
  let bits = 0;
  let n = 0;
  for (let i = Math.max(0, -offset); i < a.length && i + offset < b.length; i++) {
    bits += popcount(((a[i] ?? 0) ^ (b[i + offset] ?? 0)) >>> 0);
    n++;
  }
  return { ber: n > 0 ? bits / (32 * n) : 1, overlap: n };
}

/**
 * How well `a` (this job's) matches `b` (an earlier input's), or null when they are not the same
 * audio: best of the offsets where the items' top 20 bits agree most (and offset 0).
 */
export function compareChromaprints(a: Uint32Array, b: Uint32Array): AudioMatch | null {
  if (a.length === 0 || b.length === 0) return null;
  const positions = new Map<number, number[]>();
  b.forEach((x, j) => {
    const key = x >>> 12;
    const list = positions.get(key);
    if (list) list.push(j);
    else positions.set(key, [j]);
  });
  const votes = new Map<number, number>();
  a.forEach((x, i) => {
    const at = positions.get(x >>> 12);
    // A key that recurs all through `b` (silence, a held tone) says nothing about where `a` sits in
    // it, and voting for each of its places is quadratic in the length (285 ms a pair for a
    // constant print): such keys get no vote. Offset 0 is always compared below.
    if (!at || at.length > MAX_KEY_PLACES) return;
    for (const j of at) votes.set(j - i, (votes.get(j - i) ?? 0) + 1);
  });
  const offsets = [...votes.entries()]
    .sort((p, q) => q[1] - p[1])
    .slice(0, 5)
    .map(([offset]) => offset);
  if (!offsets.includes(0)) offsets.push(0);
  let best: { ber: number; overlap: number; offset: number } | null = null;
  for (const offset of offsets) {
    const r = errorRate(a, b, offset);
    if (r.overlap > 0 && (best === null || r.ber < best.ber)) best = { ...r, offset };
  }
  if (!best) return null;
  const needed = Math.min(MIN_OVERLAP_SEC / ITEM_SEC, a.length, b.length) * 0.9;
  if (best.ber > MAX_BER || best.overlap < needed) return null;
  const round = (v: number) => Math.round(v * 1000) / 1000;
  return {
    similarity: round(Math.max(0, 1 - 2 * best.ber)),
    bit_error_rate: round(best.ber),
    offset_sec: round(best.offset * ITEM_SEC),
    overlap_sec: round(best.overlap * ITEM_SEC),
  };
}

export interface PictureMatch {
  similarity: number;
  matched_frames: number;
  frames: number;
  mean_distance: number;
}

/**
 * A fingerprint's frame hashes as numbers, read once: two 32-bit halves per hash. Parsing the hex
 * (as BigInt) on every comparison cost ~300 ms per pair of 1,000-frame fingerprints.
 */
export function pictureHashes(frames: readonly FrameHash[]): Uint32Array {
  const halves = new Uint32Array(frames.length * 2);
  frames.forEach((frame, i) => {
    halves[2 * i] = Number.parseInt(frame.phash.slice(0, 8), 16);
    halves[2 * i + 1] = Number.parseInt(frame.phash.slice(8), 16);
  });
  return halves;
}

/** Pairs of frames compared by `compareFrameHashes(a, b)`: what a matches query spends its budget on. */
export function framePairs(a: Uint32Array, b: Uint32Array): number {
  return (a.length / 2) * (b.length / 2);
}

/** How many of `a`'s frames (from `pictureHashes`) have a near-identical frame in `b`; null under half of them. */
export function compareFrameHashes(a: Uint32Array, b: Uint32Array): PictureMatch | null {
  const frames = a.length / 2;
  if (frames === 0 || b.length === 0) return null;
  let matched = 0;
  let distance = 0;
  for (let i = 0; i < a.length; i += 2) {
    const hi = a[i] ?? 0;
    const lo = a[i + 1] ?? 0;
    let nearest = 64;
    for (let j = 0; j < b.length && nearest > 0; j += 2) {
      const d = popcount((hi ^ (b[j] ?? 0)) >>> 0) + popcount((lo ^ (b[j + 1] ?? 0)) >>> 0);
      if (d < nearest) nearest = d;
    }
    if (nearest <= MAX_FRAME_DISTANCE) {
      matched++;
      distance += nearest;
    }
  }
  if (matched * 2 < frames) return null;
  return {
    similarity: Math.round((matched / frames) * 1000) / 1000,
    matched_frames: matched,
    frames,
    mean_distance: Math.round((distance / matched) * 100) / 100,
  };
}
