import type { Context } from "hono";

interface NodeBindings {
  incoming?: { headersDistinct?: Record<string, string[] | undefined>; rawHeaders?: unknown };
}

/**
 * A request header, by its lower-case name. On Node (@hono/node-server) it is read from the
 * IncomingMessage that Node has already parsed: `c.req.header()` first builds a WHATWG Headers
 * object from every raw header, which was about 3% of a `GET /v1/jobs/:id` (--cpu-prof). Repeated
 * headers are joined with ", " as Headers joins them (`headersDistinct`, not `headers`, which keeps
 * only the first Authorization): two Authorization headers are refused on both runtimes alike.
 * Elsewhere (Workers), `c.req.header()`.
 */
export function requestHeader(c: Context, name: string): string | undefined {
  const incoming = (c.env as NodeBindings | undefined)?.incoming;
  if (incoming?.headersDistinct && incoming.rawHeaders !== undefined) {
    return incoming.headersDistinct[name]?.join(", ");
  }
  return c.req.header(name);
}
