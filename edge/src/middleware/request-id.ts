import type { MiddlewareHandler } from "hono";
import type { EdgeEnv } from "../env";
import { requestLogger } from "../logger";
import { requestHeader } from "../request-header";

const acceptable = /^[A-Za-z0-9._:-]{8,128}$/;

/** Takes a well-formed X-Request-Id from the client or makes one; echoes it and puts it on every log line. */
export function requestId(): MiddlewareHandler<EdgeEnv> {
  return async function requestId(c, next) {
    const incoming = requestHeader(c, "x-request-id");
    const id = incoming && acceptable.test(incoming) ? incoming : crypto.randomUUID();
    c.set("requestId", id);
    c.set("logger", requestLogger(c.get("deps").logger, { request_id: id }));
    c.header("x-request-id", id);
    await next();
  };
}
