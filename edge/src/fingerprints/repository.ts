import type { JobInput, OutputResult } from "@framewire/shared";
import { type FingerprintRow, fingerprints } from "@framewire/shared/db";
import { and, desc, eq, lt, ne } from "drizzle-orm";
import type { Db } from "../db";

/** How many of a tenant's most recent fingerprints a matches query compares against. */
export const MATCH_WINDOW = 5000;

export type FingerprintInsert = typeof fingerprints.$inferInsert;

/** The rows a succeeded job's fingerprint outputs add to its tenant's index. */
export function fingerprintRows(
  job: { id: string; tenantId: string; input: JobInput },
  outputs: OutputResult[],
  now: number,
): FingerprintInsert[] {
  const rows: FingerprintInsert[] = [];
  for (const output of outputs) {
    const facts = output.analysis;
    if (facts?.kind !== "fingerprint") continue;
    if (facts.chromaprint === null && facts.frame_hashes.length === 0) continue;
    rows.push({
      tenantId: job.tenantId,
      jobId: job.id,
      output: output.name,
      input: job.input,
      chromaprint: facts.chromaprint,
      chromaprintDurationSec: facts.chromaprint_duration_sec,
      frameHashes: facts.frame_hashes,
      createdAt: now,
    });
  }
  return rows;
}

export async function findFingerprint(
  db: Db,
  tenantId: string,
  jobId: string,
  output: string | undefined,
): Promise<FingerprintRow | null> {
  const [row] = await db
    .select()
    .from(fingerprints)
    .where(
      and(
        eq(fingerprints.tenantId, tenantId),
        eq(fingerprints.jobId, jobId),
        output === undefined ? undefined : eq(fingerprints.output, output),
      ),
    )
    .orderBy(fingerprints.id)
    .limit(1);
  return row ?? null;
}

/** Fingerprints read from the database at a time. */
const pageSize = 100;

/**
 * The tenant's other fingerprints, newest first, `MATCH_WINDOW` at most (never another tenant's).
 * Read a page at a time as the caller goes on: 5,000 fingerprints of 1,000 frames each are
 * hundreds of megabytes once parsed, and a caller that stops early reads no more.
 */
export async function* tenantFingerprints(
  db: Db,
  tenantId: string,
  exceptJob: string,
): AsyncGenerator<FingerprintRow> {
  let before: number | null = null;
  for (let read = 0; read < MATCH_WINDOW; ) {
    const limit = Math.min(pageSize, MATCH_WINDOW - read);
    const page = await db
      .select()
      .from(fingerprints)
      .where(
        and(
          eq(fingerprints.tenantId, tenantId),
          ne(fingerprints.jobId, exceptJob),
          before === null ? undefined : lt(fingerprints.id, before),
        ),
      )
      .orderBy(desc(fingerprints.id))
      .limit(limit);
    yield* page;
    read += page.length;
    const last = page.at(-1);
    if (page.length < limit || !last) return;
    before = last.id;
  }
}
