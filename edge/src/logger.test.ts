import { Writable } from "node:stream";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { type Logger, requestLogger } from "./logger";

/** A real pino logger whose lines land in `lines`, parsed. */
function capturedPino(): { base: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { base: pino({ base: { service: "edge" } }, sink) as unknown as Logger, lines };
}

describe("a request's logger", () => {
  it("puts the request's bindings, then its tenant and key once known, on each line, as a pino child would", () => {
    const { base, lines } = capturedPino();
    const logger = requestLogger(base, { request_id: "req-1" });
    logger.warn({ reason: "before auth" }, "auth:refused");
    logger.setBindings({ tenant: "ten_1", key: "key_1" });
    logger.info({ status: 200 }, "http:request");
    logger.child({ job: "job_1" }).error({ err: new Error("boom") }, "job:failed");

    expect(lines.map(({ time: _t, pid: _p, hostname: _h, ...line }) => line)).toEqual([
      { level: 40, service: "edge", request_id: "req-1", reason: "before auth", msg: "auth:refused" },
      {
        level: 30,
        service: "edge",
        request_id: "req-1",
        tenant: "ten_1",
        key: "key_1",
        status: 200,
        msg: "http:request",
      },
      {
        level: 50,
        service: "edge",
        request_id: "req-1",
        tenant: "ten_1",
        key: "key_1",
        job: "job_1",
        err: expect.objectContaining({ type: "Error", message: "boom" }),
        msg: "job:failed",
      },
    ]);
    // Bindings first, in the order they were given, as in a child's lines.
    expect(Object.keys(lines[1] ?? {}).slice(3, 6)).toEqual(["request_id", "tenant", "key"]);
  });

  it("writes a field named both in its bindings and in the line once, the line's", () => {
    const { base, lines } = capturedPino();
    requestLogger(base, { request_id: "req-2" }).info({ request_id: "other" }, "x");
    expect(lines[0]?.request_id).toBe("other");
  });

  it("keeps bindings added later to itself: another request's logger is not changed", () => {
    const { base, lines } = capturedPino();
    const bindings = { request_id: "req-3" };
    const first = requestLogger(base, bindings);
    const second = requestLogger(base, bindings);
    first.setBindings({ tenant: "ten_a" });
    second.info({}, "second");
    expect(lines[0]).not.toHaveProperty("tenant");
  });
});
