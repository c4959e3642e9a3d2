import type { Context } from "hono";

/**
 * The Node request under a Hono context (@hono/node-server passes it as `c.env.incoming`), for the
 * few things read from it directly; null on other runtimes.
 */
export interface NodeIncoming {
  on(event: "data", listener: (chunk: Buffer) => void): unknown;
  on(event: "end" | "close", listener: () => void): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
  readableEnded?: boolean;
  destroyed?: boolean;
  /** False until the whole body arrived. */
  complete?: boolean;
  rawHeaders?: unknown;
}

export function nodeIncoming(c: Context): NodeIncoming | null {
  const incoming = (c.env as { incoming?: NodeIncoming } | undefined)?.incoming;
  return incoming && typeof incoming.on === "function" && incoming.rawHeaders !== undefined ? incoming : null;
}

/**
 * Whether the client closed the connection before its request body was complete (Node; false
 * elsewhere): whatever failed after that is the client's doing, not the edge's.
 */
export function clientWentAway(c: Context): boolean {
  const incoming = nodeIncoming(c);
  return incoming !== null && incoming.destroyed === true && incoming.complete === false;
}
