import {
  type ErrorCode,
  errorCatalog,
  FramewireError,
  type Problem,
  type ProblemExtensions,
} from "@framewire/shared";
import type { Context } from "hono";
import { isDatabaseBusy } from "./db";
import { clientWentAway } from "./node-incoming";

export type { Problem };

/** RFC 9457 problem details with our stable `code` (the contract's problemSchema). */
export function problemBody(
  code: ErrorCode,
  detail: string,
  extra: ProblemExtensions & Pick<Problem, "instance" | "request_id"> = {},
): Problem {
  const { status, title } = errorCatalog[code];
  return { type: `https://framewire.dev/problems/${code}`, title, status, code, detail, ...extra };
}

export function problemResponse(
  c: Context,
  code: ErrorCode,
  detail: string,
  extra: ProblemExtensions = {},
  headers: Record<string, string> = {},
): Response {
  const body = problemBody(code, detail, { instance: c.req.path, request_id: c.get("requestId"), ...extra });
  return c.body(JSON.stringify(body), body.status as 400, {
    "content-type": "application/problem+json",
    ...headers,
  });
}

/** The one place errors become HTTP responses. */
export function toProblem(c: Context, error: unknown): Response {
  if (error instanceof FramewireError) return problemResponse(c, error.code, error.message, error.extra);
  // A local database file whose write lock other processes held past the wait (5 s): nothing of
  // the request was written, and it may well succeed in a moment.
  if (isDatabaseBusy(error)) {
    c.get("logger")?.warn({ err: error }, "request:database-busy");
    return problemResponse(
      c,
      "database_busy",
      "The database's write lock was held by other writers for too long; nothing was changed.",
      {},
      { "retry-after": "1" },
    );
  }
  // An upload whose client hung up: not an error of the edge's, and not a 500 in its metrics.
  if (clientWentAway(c)) {
    c.get("logger")?.info(
      { reason: error instanceof Error ? error.message : String(error) },
      "request:aborted",
    );
    return problemResponse(c, "request_incomplete", "The connection closed before the request body ended.");
  }
  c.get("logger")?.error({ err: error }, "request:failed");
  return problemResponse(
    c,
    "internal",
    "An unexpected error occurred; the request id identifies it in the logs.",
  );
}
