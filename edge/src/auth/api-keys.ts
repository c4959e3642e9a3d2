import { newId, randomSecret, type Scope, sha256Hex, timingSafeEqual } from "@framewire/shared";
import { type ApiKeyRow, apiKeys, tenants } from "@framewire/shared/db";
import { and, eq, gt, isNull, or } from "drizzle-orm";
import type { Db } from "../db";

/**
 * Key format: `fw_<prefix>_<secret>`. The prefix (12 chars) is stored in clear to find the row and
 * to show in listings; the whole key is stored only as its SHA-256.
 */
const keyPattern = /^fw_([0-9a-z]{12})_([0-9a-z]{40})$/;

export interface IssuedKey {
  id: string;
  tenantId: string;
  prefix: string;
  /** The full key, shown once. */
  key: string;
  row: ApiKeyRow;
}

export async function issueApiKey(
  db: Db,
  input: { tenantId: string; name: string; scopes: Scope[]; expiresAt?: number | null; now?: number },
): Promise<IssuedKey> {
  const prefix = randomSecret(12);
  const key = `fw_${prefix}_${randomSecret(40)}`;
  const id = newId("key");
  const [row] = await db
    .insert(apiKeys)
    .values({
      id,
      tenantId: input.tenantId,
      prefix,
      hash: await sha256Hex(key),
      name: input.name,
      scopes: input.scopes,
      expiresAt: input.expiresAt ?? null,
      ...(input.now === undefined ? {} : { createdAt: input.now }),
    })
    .returning();
  if (!row) throw new Error("api key insert returned nothing");
  return { id, tenantId: input.tenantId, prefix, key, row };
}

export async function createTenant(db: Db, name: string): Promise<string> {
  const id = newId("ten");
  await db.insert(tenants).values({ id, name });
  return id;
}

/** What verification needs from a key row; cached, so it must never hold the hash's preimage. */
export interface KeyRecord {
  id: string;
  tenantId: string;
  hash: string;
  scopes: Scope[];
  expiresAt: number | null;
  revokedAt: number | null;
}

export type KeyCheck =
  | { ok: true; keyId: string; tenantId: string; scopes: Scope[] }
  | { ok: false; reason: "malformed" | "unknown" | "revoked" | "expired" };

export function parseKeyPrefix(key: string): string | null {
  return keyPattern.exec(key)?.[1] ?? null;
}

export async function loadKeyRecord(db: Db, prefix: string): Promise<KeyRecord | null> {
  const [row] = await db.select().from(apiKeys).where(eq(apiKeys.prefix, prefix)).limit(1);
  return row ? toRecord(row) : null;
}

function toRecord(row: ApiKeyRow): KeyRecord {
  return {
    id: row.id,
    tenantId: row.tenantId,
    hash: row.hash,
    scopes: row.scopes as Scope[],
    expiresAt: row.expiresAt,
    revokedAt: row.revokedAt,
  };
}

/** Judges a presented key against its record. Revocation and expiry are compared with `now` each time. */
export async function judgeKey(record: KeyRecord | null, key: string, now: number): Promise<KeyCheck> {
  if (!record || !timingSafeEqual(record.hash, await sha256Hex(key))) return { ok: false, reason: "unknown" };
  return judgeMatchedKey(record, now);
}

/** The verdict for a record whose hash is already known to match the presented key. */
export function judgeMatchedKey(record: KeyRecord, now: number): KeyCheck {
  if (record.revokedAt !== null && record.revokedAt <= now) return { ok: false, reason: "revoked" };
  if (record.expiresAt !== null && record.expiresAt <= now) return { ok: false, reason: "expired" };
  return { ok: true, keyId: record.id, tenantId: record.tenantId, scopes: record.scopes };
}

/** Uncached check, for scripts (the request path goes through the KeyCache). */
export async function checkApiKey(db: Db, key: string, now: number): Promise<KeyCheck> {
  const prefix = parseKeyPrefix(key);
  if (!prefix) return { ok: false, reason: "malformed" };
  return judgeKey(await loadKeyRecord(db, prefix), key, now);
}

export async function findKey(db: Db, id: string): Promise<ApiKeyRow | null> {
  const [row] = await db.select().from(apiKeys).where(eq(apiKeys.id, id)).limit(1);
  return row ?? null;
}

export async function listKeys(db: Db, tenantId: string | undefined): Promise<ApiKeyRow[]> {
  const query = db.select().from(apiKeys);
  return tenantId
    ? query.where(eq(apiKeys.tenantId, tenantId)).orderBy(apiKeys.id)
    : query.orderBy(apiKeys.id);
}

/**
 * Sets `revoked_at` (now, or later for a rotation's grace period) unless the key is already revoked
 * sooner. Returns the row after the change, or null when there is no such key.
 */
export async function revokeKey(db: Db, id: string, at: number): Promise<ApiKeyRow | null> {
  await db
    .update(apiKeys)
    .set({ revokedAt: at })
    .where(and(eq(apiKeys.id, id), or(isNull(apiKeys.revokedAt), gt(apiKeys.revokedAt, at))));
  return findKey(db, id);
}

/** One of a tenant's keys by its id or its visible prefix (`fw_<prefix>`); another tenant's is null. */
export async function findTenantKey(db: Db, tenantId: string, idOrPrefix: string): Promise<ApiKeyRow | null> {
  const which = idOrPrefix.startsWith("fw_")
    ? eq(apiKeys.prefix, idOrPrefix.slice(3))
    : eq(apiKeys.id, idOrPrefix);
  const [row] = await db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.tenantId, tenantId), which))
    .limit(1);
  return row ?? null;
}
