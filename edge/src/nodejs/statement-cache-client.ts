import {
  type Client,
  type InArgs,
  type InStatement,
  type InValue,
  LibsqlBatchError,
  LibsqlError,
  type ResultSet,
  type Row,
  type Transaction,
  type TransactionMode,
  type Value,
} from "@libsql/client";
import Database from "libsql";
import { isDatabaseBusy } from "../db";

/**
 * A `@libsql/client` Client for a local database file that keeps its prepared statements.
 *
 * Why not the stock client: for every `execute` it prepares the SQL again and asks the statement for
 * its columns twice; on `GET /v1/jobs/:id` that was about 30% of the edge's CPU (measured with
 * --cpu-prof under autocannon). drizzle builds the same SQL text for the same query shape, so a
 * statement cache keyed by SQL hits on every request after the first. Remote URLs (libsql-server,
 * Turso) still use the stock client; this one only serves `file:` databases.
 *
 * One connection, as with the stock client at `concurrency: 1`: statements are short synchronous
 * calls, and an open interactive transaction holds the connection until it ends, so other calls
 * wait for it rather than running inside it.
 */
export function createStatementCacheClient(
  path: string,
  options: { maxStatements?: number; onWrite?: () => void; busyTimeoutMs?: number } = {},
): Client {
  const db = new Database(path);
  // No waiting inside SQLite (see `#untilUnlocked`).
  db.exec("PRAGMA busy_timeout = 0");
  return new StatementCacheClient(db, {
    maxStatements: options.maxStatements ?? 256,
    onWrite: options.onWrite ?? null,
    busyTimeoutMs: options.busyTimeoutMs ?? 5_000,
  });
}

interface CachedStatement {
  /** Its key in the cache: the SQL, or the SQL marked as read with get(). */
  key: string;
  statement: Database.Statement<unknown[]>;
  /** Null for statements that return no rows (INSERT/UPDATE/DELETE without RETURNING, DDL). */
  shape: RowShape | null;
}

/**
 * Rows look like the stock client's: indexable, with a `length` (drizzle reads them by position,
 * through `Array.prototype.slice.call`), and with a property per column name (drizzle's relational
 * queries read names). Each row is the array libsql hands back in raw mode, with the names added to
 * it: a real array keeps slice on V8's fast path. Index getters on a shared prototype cost a third
 * of `GET /v1/jobs/:id`'s database time in drizzle's slice (measured with --cpu-prof).
 */
interface RowShape {
  columns: string[];
  columnTypes: string[];
  make: (values: unknown[]) => Row;
}

function rowShape(columns: Database.ColumnDefinition[]): RowShape {
  const names = columns.map((c) => c.name);
  // A name that appears twice (a join) keeps its first value, as in the stock client. A name that
  // an array already has ("length") or that reads as an index can only be reached by position.
  const named = names.flatMap((name, i) =>
    names.indexOf(name) === i && !(name in []) && String(Number(name)) !== name ? [[name, i] as const] : [],
  );
  return {
    columns: names,
    columnTypes: columns.map((c) => c.type ?? ""),
    make(values) {
      for (let i = 0; i < values.length; i++) values[i] = fromSql(values[i]);
      const row = values as unknown as Record<string, unknown>;
      for (const [name, i] of named) row[name] = values[i];
      return row as unknown as Row;
    },
  };
}

/** `… limit 1` or `… limit ?` bound to 1 (drizzle's `.limit(1)`), at the end of a select. */
function isSingleRowQuery(sql: string, bound: unknown): boolean {
  const tail = sql.slice(-10).toLowerCase();
  if (tail.endsWith(" limit 1")) return true;
  if (!tail.endsWith(" limit ?") || !Array.isArray(bound)) return false;
  return bound[bound.length - 1] === 1;
}

class StatementCacheClient implements Client {
  closed = false;
  readonly protocol = "file";
  readonly #db: Database.Database;
  readonly #cache = new Map<string, CachedStatement>();
  readonly #maxStatements: number;
  /**
   * Settles when the open interactive transaction ends; null when none is open. Every method checks
   * it in a loop right before touching the connection, in the same synchronous step, so a waiter
   * woken with others cannot slip a statement into a transaction another waiter just began.
   */
  #transactionDone: Promise<void> | null = null;

  readonly #onWrite: (() => void) | null;
  readonly #busyTimeoutMs: number;

  constructor(
    db: Database.Database,
    options: { maxStatements: number; onWrite: (() => void) | null; busyTimeoutMs: number },
  ) {
    this.#db = db;
    this.#maxStatements = options.maxStatements;
    this.#onWrite = options.onWrite;
    this.#busyTimeoutMs = options.busyTimeoutMs;
  }

  /**
   * Runs `attempt` once no interactive transaction is open, and again while another connection
   * holds the database's write lock (SQLITE_BUSY), for up to `busyTimeoutMs`, with pauses that let
   * the event loop run.
   *
   * Why not SQLite's busy_timeout: its handler sleeps inside the call (1, 2, 5, 10… ms), and this
   * process answers nothing meanwhile. With FW_EDGE_PROCESSES every process's submissions take the
   * one write lock in turn, and a process that found it taken stood still for at least a
   * millisecond, while the holder needs a fraction of one.
   *
   * Where the lock is refused: only at a write transaction's BEGIN IMMEDIATE, run with `exec`. Every
   * statement that changes data runs inside one (`#within`), never on its own. A prepared statement
   * refused with SQLITE_BUSY stays half-run (libsql does not reset it), and while a writing one is,
   * SQLite commits nothing else on the connection: later writes would look done and be lost. `exec`
   * finalizes its statement whatever happens.
   *
   * Safe to repeat: a refused BEGIN began nothing, and a batch that failed later was rolled back
   * whole before the error reached here.
   */
  async #untilUnlocked<T>(attempt: () => T): Promise<T> {
    // Timed from the first refusal: the clock is read only when there is a wait.
    let refusedAt: number | undefined;
    for (let tries = 0; ; tries++) {
      while (this.#transactionDone) await this.#transactionDone;
      try {
        return attempt();
      } catch (e) {
        if (!isDatabaseBusy(e)) throw e;
        refusedAt ??= performance.now();
        if (performance.now() - refusedAt >= this.#busyTimeoutMs) throw e;
      }
      // The holder's commit usually ends within this turn's other work; then back off to 25 ms.
      await (tries < 3
        ? new Promise((resolve) => setImmediate(resolve))
        : new Promise((resolve) => setTimeout(resolve, Math.min(25, 2 ** (tries - 3)))));
    }
  }

  async execute(stmtOrSql: InStatement | string, args?: InArgs): Promise<ResultSet> {
    const stmt = typeof stmtOrSql === "string" ? { sql: stmtOrSql, args: args ?? [] } : stmtOrSql;
    if (readsOnly.test(stmt.sql)) return this.#untilUnlocked(() => this.run(stmt));
    return this.#untilUnlocked(() => this.#within(beginFor("write"), true, () => this.run(stmt)));
  }

  async batch(
    stmts: Array<InStatement | [string, InArgs?]>,
    mode: TransactionMode = "deferred",
  ): Promise<ResultSet[]> {
    const normalised = stmts.map(normalise);
    return this.#untilUnlocked(() => this.#inTransaction(mode, normalised));
  }

  async migrate(stmts: InStatement[]): Promise<ResultSet[]> {
    return this.#untilUnlocked(() => {
      this.#db.exec("PRAGMA foreign_keys=off");
      try {
        return this.#inTransaction("deferred", stmts);
      } finally {
        this.#db.exec("PRAGMA foreign_keys=on");
      }
    });
  }

  /**
   * A deferred transaction begins as a write one: taking the lock later, at its first write, could
   * leave that statement half-run (see `#untilUnlocked`).
   */
  async transaction(mode: TransactionMode = "write"): Promise<Transaction> {
    return this.#untilUnlocked(() => {
      this.#db.exec(beginFor(mode === "read" ? "read" : "write"));
      // In the same synchronous step as the BEGIN: no waiter can slip in between.
      let end = () => {};
      this.#transactionDone = new Promise<void>((resolve) => {
        end = resolve;
      });
      return new HeldTransaction(this, this.#db, () => {
        this.#transactionDone = null;
        end();
      });
    });
  }

  /**
   * Not repeated when the lock is taken: a statement before the refused one may have been applied.
   * (Nothing in the edge calls this.)
   */
  async executeMultiple(sql: string): Promise<void> {
    while (this.#transactionDone) await this.#transactionDone;
    this.exec(sql);
  }

  /** Runs statements that may write, with no result (the caller made sure no foreign transaction is open). */
  exec(sql: string): void {
    try {
      this.#db.exec(sql);
    } finally {
      this.#onWrite?.();
    }
  }

  /** `work` between `begin` and COMMIT, rolled back if it throws; then `onWrite` if it `writes`. */
  #within<T>(begin: string, writes: boolean, work: () => T): T {
    this.#db.exec(begin);
    try {
      const result = work();
      this.#db.exec("COMMIT");
      return result;
    } catch (e) {
      if (this.#db.inTransaction) this.#db.exec("ROLLBACK");
      throw e;
    } finally {
      if (writes) this.#onWrite?.();
    }
  }

  async sync(): Promise<never> {
    throw new LibsqlError("sync() is for embedded replicas; this is a local file", "SYNC_NOT_SUPPORTED");
  }

  reconnect(): void {
    throw new LibsqlError("reconnect() is not supported for a local file", "RECONNECT_NOT_SUPPORTED");
  }

  close(): void {
    this.closed = true;
    this.#cache.clear();
    this.#db.close();
  }

  /** Runs one statement now (the caller made sure no foreign transaction is open). */
  run(input: InStatement): ResultSet {
    const stmt = typeof input === "string" ? { sql: input, args: [] } : input;
    if (this.closed) throw new LibsqlError("The client is closed", "CLIENT_CLOSED");
    try {
      const bound = bindArgs(stmt.args);
      // A query that can return one row at most (`limit 1`, as the hottest reads are) is read with
      // get(): libsql's all() steps through an iterator that fetches 100 rows at a time, about three
      // times the cost of one row. Such reads get a statement of their own: libsql 0.5's get() on a
      // statement that all() has stepped through answers from that earlier run (its last row, or
      // none), not from the new arguments, so sharing one would hand out another request's row.
      const oneRow = isSingleRowQuery(stmt.sql, bound);
      const { key, statement, shape } = this.#prepare(stmt.sql, oneRow);
      try {
        if (shape) {
          const raw = oneRow ? [statement.get(bound)].filter((r) => r !== undefined) : statement.all(bound);
          const rows = raw.map((values) => shape.make(values as unknown[]));
          return resultSet(shape.columns, shape.columnTypes, rows, 0, undefined);
        }
        const info = statement.run(bound);
        return resultSet([], [], [], info.changes, BigInt(info.lastInsertRowid));
      } catch (e) {
        // Never run again: libsql does not reset a statement that failed, and one refused with
        // SQLITE_BUSY stays half-run, so its next get() would carry on the old run and answer with
        // the row of the arguments it had then (another request's, maybe another tenant's job).
        this.#cache.delete(key);
        throw e;
      }
    } catch (e) {
      throw toLibsqlError(e);
    }
  }

  #prepare(sql: string, oneRow: boolean): CachedStatement {
    const key = oneRow ? `get\u0000${sql}` : sql;
    const hit = this.#cache.get(key);
    if (hit) {
      // Re-insert so the Map's order is least-recently used first.
      this.#cache.delete(key);
      this.#cache.set(key, hit);
      return hit;
    }
    const statement = this.#db.prepare(sql);
    const shape = statement.reader ? rowShape(statement.raw(true).columns()) : null;
    const entry = { key, statement, shape };
    this.#cache.set(key, entry);
    if (this.#cache.size > this.#maxStatements) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    return entry;
  }

  /** A batch: one transaction, a write one from its BEGIN if any statement changes data. */
  #inTransaction(mode: TransactionMode, stmts: InStatement[]): ResultSet[] {
    const writes =
      mode === "write" || stmts.some((stmt) => !readsOnly.test(typeof stmt === "string" ? stmt : stmt.sql));
    return this.#within(beginFor(writes ? "write" : mode), writes, () =>
      stmts.map((stmt, i) => {
        try {
          return this.run(stmt);
        } catch (e) {
          const err = toLibsqlError(e);
          throw err instanceof LibsqlError
            ? new LibsqlBatchError(err.message, i, err.code, err.extendedCode, err.rawCode, err)
            : err;
        }
      }),
    );
  }
}

class HeldTransaction implements Transaction {
  closed = false;
  readonly #client: StatementCacheClient;
  readonly #db: Database.Database;
  readonly #release: () => void;

  constructor(client: StatementCacheClient, db: Database.Database, release: () => void) {
    this.#client = client;
    this.#db = db;
    this.#release = release;
  }

  async execute(stmt: InStatement): Promise<ResultSet> {
    this.#checkOpen();
    return this.#client.run(stmt);
  }

  async batch(stmts: InStatement[]): Promise<ResultSet[]> {
    this.#checkOpen();
    return stmts.map((stmt) => this.#client.run(stmt));
  }

  async executeMultiple(sql: string): Promise<void> {
    this.#checkOpen();
    this.#client.exec(sql);
  }

  async commit(): Promise<void> {
    this.#checkOpen();
    this.#end("COMMIT");
  }

  async rollback(): Promise<void> {
    if (this.closed) return;
    this.#end("ROLLBACK");
  }

  close(): void {
    if (!this.closed) this.#end("ROLLBACK");
  }

  #end(sql: "COMMIT" | "ROLLBACK"): void {
    try {
      // exec, not a prepared statement: see StatementCacheClient#untilUnlocked.
      if (this.#db.inTransaction) this.#client.exec(sql);
    } finally {
      this.closed = true;
      this.#release();
    }
  }

  #checkOpen(): void {
    if (this.closed) throw new LibsqlError("The transaction is closed", "TRANSACTION_CLOSED");
  }
}

function normalise(stmt: InStatement | [string, InArgs?]): InStatement {
  return Array.isArray(stmt) ? { sql: stmt[0], args: stmt[1] ?? [] } : stmt;
}

function beginFor(mode: TransactionMode): string {
  return mode === "write"
    ? "BEGIN IMMEDIATE"
    : mode === "read"
      ? "BEGIN TRANSACTION READONLY"
      : "BEGIN DEFERRED";
}

function bindArgs(args: InArgs | undefined): unknown[] | Record<string, unknown> {
  if (args === undefined) return [];
  if (Array.isArray(args)) return args.map(toSql);
  const named: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(args)) {
    // libsql takes names without their sigil.
    named[/^[@$:]/.test(name) ? name.slice(1) : name] = toSql(value);
  }
  return named;
}

function toSql(value: InValue): unknown {
  if (typeof value === "boolean") return value ? 1 : 0;
  if (value instanceof Date) return value.valueOf();
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  if (value === undefined) throw new TypeError("undefined cannot be bound to an SQL parameter");
  return value;
}

function fromSql(value: unknown): Value {
  // Blobs come back as ArrayBuffers from the stock client; keep that contract.
  if (Buffer.isBuffer(value)) {
    const copy = new ArrayBuffer(value.byteLength);
    new Uint8Array(copy).set(value);
    return copy;
  }
  return value as Value;
}

function resultSet(
  columns: string[],
  columnTypes: string[],
  rows: Row[],
  rowsAffected: number,
  lastInsertRowid: bigint | undefined,
): ResultSet {
  return new LocalResultSet(columns, columnTypes, rows, rowsAffected, lastInsertRowid);
}

/** The stock client's result shape; a class so that `toJSON` is shared, not a closure per statement run. */
class LocalResultSet implements ResultSet {
  constructor(
    readonly columns: string[],
    readonly columnTypes: string[],
    readonly rows: Row[],
    readonly rowsAffected: number,
    readonly lastInsertRowid: bigint | undefined,
  ) {}

  toJSON() {
    return {
      columns: this.columns,
      columnTypes: this.columnTypes,
      rows: this.rows.map((r) => Array.from({ length: r.length }, (_, i) => r[i])),
      rowsAffected: this.rowsAffected,
      lastInsertRowid: this.lastInsertRowid?.toString() ?? null,
    };
  }
}

/**
 * Statements that only read (and PRAGMAs, which can't run in a transaction); anything else runs in
 * a write transaction (see StatementCacheClient#untilUnlocked), `WITH … INSERT` and SQL that starts
 * with a comment included.
 */
const readsOnly = /^\s*(select|pragma|explain)\b/i;

function toLibsqlError(e: unknown): unknown {
  if (e instanceof LibsqlError || !(e instanceof Database.SqliteError)) return e;
  const raw = (e as { rawCode?: number }).rawCode;
  return new LibsqlError(e.message, e.code, e.code, raw, e);
}
