import { request as httpRequest } from "node:http";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveOnNode } from "../../test/support/node-http";
import { requestHeader } from "./request-header";

const app = new Hono().get("/", (c) =>
  c.json({ auth: requestHeader(c, "authorization") ?? null, id: requestHeader(c, "x-request-id") ?? null }),
);

describe("requestHeader on Node (@hono/node-server)", () => {
  let server: Awaited<ReturnType<typeof serveOnNode>>;
  let port: number;
  beforeAll(async () => {
    server = await serveOnNode(app.fetch);
    port = server.port;
  });
  afterAll(() => server.close());

  const get = (headers: Record<string, string | string[]>) =>
    new Promise<unknown>((resolve, reject) => {
      const req = httpRequest({ host: "127.0.0.1", port, path: "/", headers }, (res) => {
        let body = "";
        res.on("data", (chunk) => {
          body += chunk;
        });
        res.on("end", () => resolve(JSON.parse(body)));
      });
      req.on("error", reject);
      req.end();
    });

  it("reads the headers Node parsed", async () => {
    expect(await get({ authorization: "Bearer one", "x-request-id": "r1" })).toEqual({
      auth: "Bearer one",
      id: "r1",
    });
  });

  it("joins a repeated Authorization as Headers does, so it matches no key (Node's `headers` keeps the first)", async () => {
    expect(await get({ authorization: ["Bearer good", "Bearer other"] })).toEqual({
      auth: "Bearer good, Bearer other",
      id: null,
    });
  });
});

describe("requestHeader elsewhere", () => {
  it("falls back to the request's Headers (Workers, tests through app.request)", async () => {
    const res = await app.request(
      "/",
      { headers: { authorization: "Bearer web", "x-request-id": "r1" } },
      {},
    );
    expect(await res.json()).toEqual({ auth: "Bearer web", id: "r1" });
  });
});
