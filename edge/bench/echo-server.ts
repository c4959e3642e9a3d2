import { serve } from "@hono/node-server";
import { Hono } from "hono";

/**
 * The yardstick for the edge benchmark: a bare Hono app on @hono/node-server answering the same
 * route shape with a small JSON body and nothing else (no auth, database, logging or limits). The
 * edge's figures are reported as a share of this one's, measured in the same run.
 */
const app = new Hono();
app.get("/v1/jobs/:id", (c) => c.json({ id: c.req.param("id"), status: "queued" }));
app.post("/v1/jobs", async (c) => c.json({ received: Object.keys(await c.req.json()).length }, 202));

const server = serve(
  { fetch: app.fetch, hostname: "127.0.0.1", port: Number(process.env.PORT ?? 0) },
  (info) => {
    process.send?.({ port: info.port });
  },
);
process.once("SIGTERM", () => server.close(() => process.exit(0)));
