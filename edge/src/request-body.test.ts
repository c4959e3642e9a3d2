import { request as httpRequest } from "node:http";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveOnNode } from "../../test/support/node-http";
import type { EdgeEnv } from "./env";
import { toProblem } from "./problem";
import { bodyLimit, requestText } from "./request-body";

/** What the slow route's read came to (it reads only after the client may have gone). */
const slowReads: string[] = [];

/** A route limited to 100 bytes that answers with the body it read (twice: the second read is the first's). */
const app = new Hono<EdgeEnv>()
  .post("/echo", bodyLimit(100, "Bodies are limited to 100 bytes."), async (c) => {
    const text = await requestText(c);
    return c.json({ text, again: await requestText(c) });
  })
  .post("/slow", bodyLimit(100, "limited"), async (c) => {
    await new Promise((r) => setTimeout(r, 150));
    slowReads.push(await requestText(c).catch((error: Error) => `refused: ${error.message}`));
    return c.json({});
  })
  .onError((error, c) => toProblem(c, error));

interface Answer {
  status: number;
  body: { text?: string; again?: string; code?: string; detail?: string };
}

describe("request bodies on Node (@hono/node-server), read from the IncomingMessage", () => {
  let server: Awaited<ReturnType<typeof serveOnNode>>;
  let port: number;
  beforeAll(async () => {
    server = await serveOnNode(app.fetch);
    port = server.port;
  });
  afterAll(() => server.close());

  /** POSTs `parts` one write each: with `chunked`, no Content-Length is declared. */
  const post = (parts: Buffer[], options: { chunked?: boolean; declare?: number } = {}) =>
    new Promise<Answer>((resolve, reject) => {
      const size = parts.reduce((n, p) => n + p.length, 0);
      const headers: Record<string, string | number> = options.chunked
        ? { "transfer-encoding": "chunked" }
        : { "content-length": options.declare ?? size };
      const req = httpRequest({ host: "127.0.0.1", port, path: "/echo", method: "POST", headers }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(body) }));
      });
      req.on("error", reject);
      const write = async () => {
        for (const part of parts) {
          req.write(part);
          await new Promise((r) => setTimeout(r, 5));
        }
        req.end();
      };
      void write();
    });

  it("reads a body sent in pieces, a character split between two of them included", async () => {
    const bytes = Buffer.from('{"name":"crème brûlée"}');
    const at = bytes.indexOf(0xc3) + 1; // inside the two bytes of "è"
    const answer = await post([bytes.subarray(0, at), bytes.subarray(at)], { chunked: true });
    expect(answer).toEqual({
      status: 200,
      body: { text: '{"name":"crème brûlée"}', again: '{"name":"crème brûlée"}' },
    });
  });

  it("refuses a declared Content-Length over the limit before reading", async () => {
    const answer = await post([Buffer.from("x".repeat(101))]);
    expect(answer.status).toBe(413);
    expect(answer.body).toMatchObject({
      code: "payload_too_large",
      detail: "Bodies are limited to 100 bytes.",
    });
  });

  it("refuses a chunked body once it grows past the limit", async () => {
    const answer = await post([Buffer.from("x".repeat(60)), Buffer.from("y".repeat(60))], { chunked: true });
    expect(answer.status).toBe(413);
    expect(answer.body).toMatchObject({ code: "payload_too_large" });
  });

  it("drops a byte-order mark, as a web Request's text() does", async () => {
    const answer = await post([Buffer.from("\ufeff{}", "utf8")]);
    expect(answer.body.text).toBe("{}");
  });

  it("settles a read that starts after the client went away, with the body cut off", async () => {
    const req = httpRequest({
      host: "127.0.0.1",
      port,
      path: "/slow",
      method: "POST",
      headers: { "transfer-encoding": "chunked" },
    });
    req.on("error", () => {});
    req.write("{");
    await new Promise((r) => setTimeout(r, 30));
    req.destroy();
    const deadline = Date.now() + 2_000;
    while (slowReads.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(slowReads).toEqual(["refused: The request body was cut off."]);
  });

  it("takes a body of exactly the limit", async () => {
    const answer = await post([Buffer.from("z".repeat(100))], { chunked: true });
    expect(answer.status).toBe(200);
    expect(answer.body.text).toHaveLength(100);
  });
});

describe("request bodies elsewhere (Workers, tests through app.request): hono's reader and limit", () => {
  it("reads the body, and refuses one over the limit with the same problem", async () => {
    const ok = await app.request("/echo", { method: "POST", body: "hello" });
    expect(await ok.json()).toEqual({ text: "hello", again: "hello" });
    const big = await app.request("/echo", { method: "POST", body: "x".repeat(101) });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({
      code: "payload_too_large",
      detail: "Bodies are limited to 100 bytes.",
    });
  });
});
