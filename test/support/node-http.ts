import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";

/** Serves `fetch` (a Hono app's) through a real @hono/node-server on a free loopback port. */
export async function serveOnNode(fetch: Parameters<typeof serve>[0]["fetch"]) {
  const server = serve({ fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise((resolve) => server.once("listening", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
