import { LibsqlError } from "@libsql/client";
import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "./db";

/**
 * Group commit: the write batches of concurrent requests (job submissions, and the marks of their
 * dispatches) run as ONE transaction.
 *
 * Why: on a local database file most of a submission's database time is the transaction, not its
 * statements: `BEGIN`/`COMMIT` and the WAL pages the commit writes (the jobs table's leaf and one
 * leaf in each of its indexes). Submissions that arrive together touch mostly the same pages, so
 * one commit for all of them writes each page once.
 *
 * How: a batch waits until the current turn of the event loop ends (`setImmediate`, no timer),
 * so a lone request is not delayed and a busy edge groups whatever arrived meanwhile (up to
 * `maxBatches`). If the group's transaction fails, nothing of it was written (it rolled back), and
 * each batch runs again alone: one request's failure (a unique Idempotency-Key race, a constraint)
 * reaches that request only, as it would have without grouping.
 *
 * On a remote database (libsql-server) the group saves round trips as well; a failed group's
 * batches then run again one after another, each a round trip, which only a failure costs.
 *
 * Only where requests may share I/O: on Node. Workers forbids resolving one request's promise from
 * another's I/O, and each isolate sees too few concurrent requests for it to pay.
 */
export interface CommitGroup {
  /** Runs `items` as `db.batch(items)` would, possibly in one transaction with other batches. */
  batch(items: readonly BatchItem<"sqlite">[]): Promise<unknown[]>;
}

interface Pending {
  items: readonly BatchItem<"sqlite">[];
  resolve: (results: unknown[]) => void;
  reject: (error: unknown) => void;
}

export function createCommitGroup(db: Db, options: { maxBatches?: number } = {}): CommitGroup {
  const maxBatches = options.maxBatches ?? 64;
  const pending: Pending[] = [];
  let scheduled = false;

  const runAlone = (entry: Pending) => batchOf(db, entry.items).then(entry.resolve, entry.reject);

  const flush = async () => {
    scheduled = false;
    const group = pending.splice(0, maxBatches);
    if (pending.length > 0) schedule();
    if (group.length === 1) return runAlone(group[0] as Pending);
    let results: unknown[];
    try {
      results = await batchOf(
        db,
        group.flatMap((entry) => entry.items),
      );
    } catch (error) {
      // A database error rolled the transaction back as a whole: each batch again, on its own.
      // Anything else (after the commit, in drizzle's mapping of the rows) may have written it all,
      // so running them again would insert twice: every batch of the group gets that error.
      if (error instanceof LibsqlError) {
        for (const entry of group) await runAlone(entry);
      } else {
        for (const entry of group) entry.reject(error);
      }
      return;
    }
    let at = 0;
    for (const entry of group) {
      entry.resolve(results.slice(at, at + entry.items.length));
      at += entry.items.length;
    }
  };

  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => void flush());
  };

  return {
    batch(items) {
      return new Promise<unknown[]>((resolve, reject) => {
        pending.push({ items, resolve, reject });
        schedule();
      });
    },
  };
}

/** `db.batch` for a list whose length the types can't know (drizzle types it as a non-empty tuple). */
function batchOf(db: Db, items: readonly BatchItem<"sqlite">[]): Promise<unknown[]> {
  return db.batch(items as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]);
}
