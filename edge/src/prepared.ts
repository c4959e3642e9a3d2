import { getTableColumns, is, Param, Placeholder, type Query, sql, type Table } from "drizzle-orm";
import type { RunnableQuery } from "drizzle-orm/runnable-query";
import type { Db } from "./db";

/**
 * Statements built once and run with new values: drizzle turns a query builder into SQL on every
 * call, and for the statements of `POST /v1/jobs` (an insert of every job column, an update with
 * five subqueries) that building cost more CPU than SQLite running them (about 0.45 ms a request,
 * measured with --cpu-prof under autocannon). Prepared with placeholders, the SQL text is built
 * once per database and only the values change.
 *
 * What that implies for a prepared statement: a column's `$defaultFn` would run once, when it is
 * prepared (the schema has none); values of a placeholder inside a condition (`eq(col, placeholder)`,
 * raw `sql`) are bound as they are, without the column's encoder; insert and update values keep it.
 */

/** One prepared statement per database handle, made by `build` the first time it is asked for. */
export function preparedPerDb<P>(build: (db: Db) => P): (db: Db) => P {
  const byDb = new WeakMap<Db, P>();
  return (db) => {
    let prepared = byDb.get(db);
    if (!prepared) {
      prepared = build(db);
      byDb.set(db, prepared);
    }
    return prepared;
  };
}

/**
 * An insert's values as one placeholder per column, named by the column's key: the prepared insert
 * then takes a whole row (every column given, as `JobRow` has them) as its values.
 */
export function columnPlaceholders<T extends Table>(
  table: T,
): { [K in keyof T["$inferInsert"]]-?: Placeholder<K & string> } {
  return Object.fromEntries(
    Object.keys(getTableColumns(table)).map((key) => [key, sql.placeholder(key)]),
  ) as { [K in keyof T["$inferInsert"]]-?: Placeholder<K & string> };
}

interface Prepared<R> {
  execute(values?: Record<string, unknown>): Promise<R>;
}

/** The parts of drizzle's prepared query that `db.batch` uses; public in its runtime, internal in its types. */
interface PreparedInternals {
  getQuery(): Query;
  mapResult(response: unknown, isFromBatch?: boolean): unknown;
}

export type BoundQuery<R> = RunnableQuery<R, "sqlite"> & PromiseLike<R>;

/**
 * A prepared statement with its values: an item for `db.batch` (which otherwise takes only query
 * builders, and builds their SQL again), or awaited on its own.
 */
export function withValues<R>(prepared: Prepared<R>, values: Record<string, unknown>): BoundQuery<R> {
  return new BoundStatement(prepared, values) as unknown as BoundQuery<R>;
}

/**
 * What `withValues` gives, as a class: its methods are shared, not closures made for every
 * statement of every request (which tsx's keepNames also renames one by one: ~14 µs of a POST's
 * CPU in a --cpu-prof profile).
 */
class BoundStatement<R> {
  readonly #prepared: Prepared<R>;
  readonly #values: Record<string, unknown>;

  constructor(prepared: Prepared<R>, values: Record<string, unknown>) {
    this.#prepared = prepared;
    this.#values = values;
  }

  /** For `db.batch`: drizzle asks the item for its prepared query, which is this. */
  _prepare(): PreparedInternals {
    return this;
  }

  getQuery(): Query {
    const { sql, params } = (this.#prepared as unknown as PreparedInternals).getQuery();
    return { sql, params: fill(params, this.#values) };
  }

  mapResult(response: unknown, isFromBatch?: boolean): unknown {
    return (this.#prepared as unknown as PreparedInternals).mapResult(response, isFromBatch);
  }

  // biome-ignore lint/suspicious/noThenProperty: awaited like the query builders it stands for
  then<A = R, B = never>(
    onFulfilled?: ((value: R) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    // Run with the values filled here (not by drizzle's execute, which would encode a null JSON
    // value as "null"): a view of the prepared query whose parameters are already values.
    let filled: Prepared<R>;
    try {
      filled = Object.create(this.#prepared, { query: { value: this.getQuery() } });
    } catch (error) {
      return Promise.reject(error).then(onFulfilled, onRejected);
    }
    return filled.execute().then(onFulfilled, onRejected);
  }
}

/**
 * Placeholders replaced by their values, encoded by their columns (JSON columns stringify). Unlike
 * drizzle's own fillPlaceholders, a null stays SQL NULL, as it does when drizzle builds the values
 * into the query: a JSON column's encoder would store the text "null".
 */
function fill(params: unknown[], values: Record<string, unknown>): unknown[] {
  const filled = params.slice();
  for (const { at, name, encode } of slotsOf(params)) {
    if (!(name in values)) throw new Error(`No value for placeholder "${name}"`);
    const value = values[name];
    if (value === undefined) throw new Error(`Placeholder "${name}" is undefined`);
    filled[at] = value === null || !encode ? value : encode(value);
  }
  return filled;
}

/** Where a prepared query's placeholders sit among its parameters, and each one's column encoder. */
interface Slot {
  at: number;
  name: string;
  encode: ((value: unknown) => unknown) | null;
}

/**
 * Worked out once per prepared query (its parameter list never changes): drizzle's `is` walks a
 * value's prototype chain, and asking it of each of the job insert's ~40 parameters on every
 * submission showed as ~12 µs per POST in a --cpu-prof profile (its overhead included; an A/B run
 * could not separate it from POST's run-to-run noise).
 */
const slotsByParams = new WeakMap<unknown[], Slot[]>();

function slotsOf(params: unknown[]): Slot[] {
  let slots = slotsByParams.get(params);
  if (slots) return slots;
  slots = params.flatMap((p, at): Slot[] => {
    if (is(p, Placeholder)) return [{ at, name: p.name, encode: null }];
    if (is(p, Param) && is(p.value, Placeholder)) {
      const encoder = p.encoder;
      return [{ at, name: p.value.name, encode: (value: unknown) => encoder.mapToDriverValue(value) }];
    }
    return [];
  });
  slotsByParams.set(params, slots);
  return slots;
}
