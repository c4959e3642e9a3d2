import { type UploadRow, uploads } from "@framewire/shared/db";
import { and, eq, isNotNull, isNull } from "drizzle-orm";
import type { Db } from "../db";

export async function insertUpload(
  db: Db,
  row: {
    id: string;
    tenantId: string;
    storageKey: string;
    contentType: string | null;
    /** Declared size (S3 uploads are signed for it); replaced by the measured size on completion. */
    sizeBytes?: number | null;
    now: number;
  },
) {
  await db.insert(uploads).values({
    id: row.id,
    tenantId: row.tenantId,
    storageKey: row.storageKey,
    contentType: row.contentType,
    sizeBytes: row.sizeBytes ?? null,
    createdAt: row.now,
  });
}

export async function findUpload(db: Db, tenantId: string, id: string): Promise<UploadRow | null> {
  const [row] = await db
    .select()
    .from(uploads)
    .where(and(eq(uploads.id, id), eq(uploads.tenantId, tenantId)))
    .limit(1);
  return row ?? null;
}

export async function findCompletedUpload(db: Db, tenantId: string, id: string): Promise<UploadRow | null> {
  const [row] = await db
    .select()
    .from(uploads)
    .where(and(eq(uploads.id, id), eq(uploads.tenantId, tenantId), isNotNull(uploads.completedAt)))
    .limit(1);
  return row ?? null;
}

export async function completeUpload(db: Db, id: string, sizeBytes: number, now: number): Promise<void> {
  await db
    .update(uploads)
    .set({ sizeBytes, completedAt: now })
    .where(and(eq(uploads.id, id), isNull(uploads.completedAt)));
}
