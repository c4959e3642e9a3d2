import type { Context } from "hono";

interface NodeBindings {
  incoming?: { headers?: Record<string, string | string[] | undefined>; rawHeaders?: unknown };
}

/**
 * A request header, by its lower-case name. On Node (@hono/node-server) it is read from the
 * IncomingMessage that Node has already parsed: `c.req.header()` first builds a WHATWG Headers
 * object from every raw header, which was about 3% of a `GET /v1/jobs/:id` (--cpu-prof). Node
 * keeps the first of repeated singleton headers (authorization, content-type) where Headers joins
 * them; either way such a request is refused. Elsewhere (Workers), `c.req.header()`.
 */
export function requestHeader(c: Context, name: string): string | undefined {
  const incoming = (c.env as NodeBindings | undefined)?.incoming;
  if (incoming?.headers && incoming.rawHeaders !== undefined) {
    const value = incoming.headers[name];
    return Array.isArray(value) ? value.join(", ") : value;
  }
  return c.req.header(name);
}
