import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { requestHeader } from "./request-header";

describe("requestHeader", () => {
  const app = new Hono().get("/", (c) =>
    c.json({ auth: requestHeader(c, "authorization") ?? null, id: requestHeader(c, "x-request-id") ?? null }),
  );

  it("reads Node's parsed headers where the request came through @hono/node-server", async () => {
    // What @hono/node-server passes as the env: the IncomingMessage (its parsed headers win).
    const incoming = {
      headers: { authorization: "Bearer node", "x-forwarded-for": ["a", "b"] },
      rawHeaders: [],
    };
    const res = await app.request("/", { headers: { authorization: "Bearer web" } }, { incoming });
    expect(await res.json()).toEqual({ auth: "Bearer node", id: null });
  });

  it("falls back to the request's Headers elsewhere (Workers, tests through app.request)", async () => {
    const res = await app.request(
      "/",
      { headers: { authorization: "Bearer web", "x-request-id": "r1" } },
      {},
    );
    expect(await res.json()).toEqual({ auth: "Bearer web", id: "r1" });
  });
});
