import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import Database from "libsql";

/**
 * TEST FIXTURE — never shipped, never a product part. A minimal Hrana-over-HTTP server (protocol
 * v2, JSON) over one SQLite file through the `libsql` package, so the Worker's libSQL web client
 * can be tested without libsql-server (sqld), which can't be installed on these machines.
 *
 * Covers what @libsql/client/web sends: `execute`, `batch` (with step conditions), `sequence`,
 * `store_sql`/`close_sql`, `close`. One connection serves every stream (the tests drive one request
 * at a time); a baton only scopes stored SQL. No auth, no TLS, no cursors.
 */

type Value =
  | { type: "null" }
  | { type: "integer"; value: string }
  | { type: "float"; value: number }
  | { type: "text"; value: string }
  | { type: "blob"; base64: string };

interface Stmt {
  sql?: string;
  sql_id?: number;
  args?: Value[];
  named_args?: { name: string; value: Value }[];
  want_rows?: boolean;
}

type Cond =
  | { type: "ok"; step: number }
  | { type: "error"; step: number }
  | { type: "not"; cond: Cond }
  | { type: "and"; conds: Cond[] }
  | { type: "or"; conds: Cond[] }
  | { type: "is_autocommit" };

type HranaRequest =
  | { type: "execute"; stmt: Stmt }
  | { type: "batch"; batch: { steps: { condition?: Cond | null; stmt: Stmt }[] } }
  | { type: "sequence"; sql: string }
  | { type: "store_sql"; sql_id: number; sql: string }
  | { type: "close_sql"; sql_id: number }
  | { type: "close" }
  | { type: string };

export interface HranaServer {
  url: string;
  /** Every HTTP round trip (pipeline request) so far: the SQL of each statement it carried. */
  readonly pipelines: readonly string[][];
  close(): Promise<void>;
}

function fromValue(v: Value): unknown {
  switch (v.type) {
    case "null":
      return null;
    case "integer":
      return BigInt(v.value);
    case "float":
      return v.value;
    case "text":
      return v.value;
    case "blob":
      return Buffer.from(v.base64, "base64");
  }
}

function toValue(v: unknown): Value {
  if (v === null || v === undefined) return { type: "null" };
  if (typeof v === "bigint") return { type: "integer", value: v.toString() };
  if (typeof v === "number")
    return Number.isInteger(v) ? { type: "integer", value: String(v) } : { type: "float", value: v };
  if (typeof v === "string") return { type: "text", value: v };
  if (v instanceof Uint8Array) return { type: "blob", base64: Buffer.from(v).toString("base64") };
  return { type: "text", value: String(v) };
}

export async function startHranaServer(path: string): Promise<HranaServer> {
  const db = new Database(path);
  db.exec("PRAGMA busy_timeout = 5000");

  const sqlScope = new Map<number, string>();

  function execute(stmt: Stmt) {
    const text = stmt.sql ?? (stmt.sql_id === undefined ? undefined : sqlScope.get(stmt.sql_id));
    if (text === undefined) throw Object.assign(new Error("unknown sql_id"), { code: "SQL_NOT_FOUND" });
    const prepared = db.prepare(text);
    prepared.safeIntegers(true);
    const named = stmt.named_args ?? [];
    const args: unknown =
      named.length > 0
        ? Object.fromEntries(named.map((a) => [a.name.replace(/^[:@$]/, ""), fromValue(a.value)]))
        : (stmt.args ?? []).map(fromValue);
    if (prepared.reader) {
      prepared.raw(true);
      const cols = prepared.columns().map((c) => ({ name: c.name, decltype: c.type ?? null }));
      const rows = (prepared.all(args) as unknown[][]).map((row) => row.map(toValue));
      return { cols, rows, affected_row_count: 0, last_insert_rowid: null };
    }
    const info = prepared.run(args);
    return {
      cols: [],
      rows: [],
      affected_row_count: Number(info.changes),
      last_insert_rowid: info.lastInsertRowid === undefined ? null : String(info.lastInsertRowid),
    };
  }

  function evaluate(cond: Cond, results: unknown[], errors: unknown[]): boolean {
    switch (cond.type) {
      case "ok":
        return results[cond.step] != null;
      case "error":
        return errors[cond.step] != null;
      case "not":
        return !evaluate(cond.cond, results, errors);
      case "and":
        return cond.conds.every((c) => evaluate(c, results, errors));
      case "or":
        return cond.conds.some((c) => evaluate(c, results, errors));
      case "is_autocommit":
        return !db.inTransaction;
    }
  }

  const failure = (error: unknown) => ({
    message: String((error as Error)?.message ?? error),
    code: (error as { code?: string })?.code ?? "SQLITE_ERROR",
  });

  function handle(request: HranaRequest) {
    try {
      switch (request.type) {
        case "execute":
          return {
            type: "ok",
            response: { type: "execute", result: execute((request as { stmt: Stmt }).stmt) },
          };
        case "batch": {
          const { steps } = (request as { batch: { steps: { condition?: Cond | null; stmt: Stmt }[] } })
            .batch;
          const results: unknown[] = [];
          const errors: unknown[] = [];
          steps.forEach((step, i) => {
            results[i] = null;
            errors[i] = null;
            if (step.condition && !evaluate(step.condition, results, errors)) return;
            try {
              results[i] = execute(step.stmt);
            } catch (error) {
              errors[i] = failure(error);
            }
          });
          return {
            type: "ok",
            response: { type: "batch", result: { step_results: results, step_errors: errors } },
          };
        }
        case "sequence":
          db.exec((request as { sql: string }).sql);
          return { type: "ok", response: { type: "sequence" } };
        case "store_sql": {
          const r = request as { sql_id: number; sql: string };
          sqlScope.set(r.sql_id, r.sql);
          return { type: "ok", response: { type: "store_sql" } };
        }
        case "close_sql":
          sqlScope.delete((request as { sql_id: number }).sql_id);
          return { type: "ok", response: { type: "close_sql" } };
        case "close":
          return { type: "ok", response: { type: "close" } };
        default:
          return {
            type: "error",
            error: { message: `unsupported request ${request.type}`, code: "UNSUPPORTED" },
          };
      }
    } catch (error) {
      return { type: "error", error: failure(error) };
    }
  }

  const body = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  };

  let batons = 0;
  const pipelines: string[][] = [];
  // Stored SQL is named by its id; the text it stands for is what callers count and match.
  const textOf = (stmt: Stmt) =>
    stmt.sql ?? (stmt.sql_id === undefined ? "" : (sqlScope.get(stmt.sql_id) ?? ""));
  const sqlOf = (r: HranaRequest): string[] => {
    if (r.type === "execute") return [textOf((r as { stmt: Stmt }).stmt)];
    if (r.type === "batch")
      return (r as { batch: { steps: { stmt: Stmt }[] } }).batch.steps.map((s) => textOf(s.stmt));
    if (r.type === "sequence") return [(r as { sql: string }).sql];
    return [];
  };
  const server: Server = createServer(async (req, res) => {
    const reply = (status: number, payload: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(payload));
    };
    if (req.method === "GET" && req.url === "/v2") return reply(200, {});
    if (req.method === "POST" && req.url === "/v2/pipeline") {
      const pipeline = JSON.parse(await body(req)) as { baton: string | null; requests: HranaRequest[] };
      // Each statement's SQL as it runs (stored SQL may be closed later in the same pipeline).
      const texts: string[] = [];
      const results = pipeline.requests.map((r) => {
        texts.push(...sqlOf(r));
        return handle(r);
      });
      pipelines.push(texts);
      const closed = pipeline.requests.some((r) => r.type === "close");
      return reply(200, {
        baton: closed ? null : (pipeline.baton ?? `b${++batons}`),
        base_url: null,
        results,
      });
    }
    // Anything else (the client probes /v3-protobuf first) is "not supported here".
    return reply(404, { error: "not found" });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    pipelines,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      db.close();
    },
  };
}
