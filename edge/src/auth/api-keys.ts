import { newId, randomSecret, sha256Hex, timingSafeEqual } from "@framewire/shared";
import { apiKeys, tenants } from "@framewire/shared/db";
import { and, eq } from "drizzle-orm";
import type { Db } from "../deps";

export const scopes = ["jobs:read", "jobs:write", "admin"] as const;
export type Scope = (typeof scopes)[number];

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
}

export async function issueApiKey(
  db: Db,
  input: { tenantId: string; name: string; scopes: Scope[]; expiresAt?: number | null },
): Promise<IssuedKey> {
  const prefix = randomSecret(12);
  const key = `fw_${prefix}_${randomSecret(40)}`;
  const id = newId("key");
  await db.insert(apiKeys).values({
    id,
    tenantId: input.tenantId,
    prefix,
    hash: await sha256Hex(key),
    name: input.name,
    scopes: input.scopes,
    expiresAt: input.expiresAt ?? null,
  });
  return { id, tenantId: input.tenantId, prefix, key };
}

export async function createTenant(db: Db, name: string): Promise<string> {
  const id = newId("ten");
  await db.insert(tenants).values({ id, name });
  return id;
}

export type KeyCheck =
  | { ok: true; keyId: string; tenantId: string; scopes: Scope[] }
  | { ok: false; reason: "malformed" | "unknown" | "revoked" | "expired" };

export async function checkApiKey(db: Db, key: string, now: number): Promise<KeyCheck> {
  const match = keyPattern.exec(key);
  if (!match?.[1]) return { ok: false, reason: "malformed" };
  const [row] = await db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.prefix, match[1])))
    .limit(1);
  if (!row || !timingSafeEqual(row.hash, await sha256Hex(key))) return { ok: false, reason: "unknown" };
  if (row.revokedAt !== null && row.revokedAt <= now) return { ok: false, reason: "revoked" };
  if (row.expiresAt !== null && row.expiresAt <= now) return { ok: false, reason: "expired" };
  return { ok: true, keyId: row.id, tenantId: row.tenantId, scopes: row.scopes as Scope[] };
}
