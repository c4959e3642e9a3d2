import { FramewireError } from "@framewire/shared";
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit as honoBodyLimit } from "hono/body-limit";
import type { EdgeEnv } from "./env";
import { problemResponse } from "./problem";
import { requestHeader } from "./request-header";

/**
 * Request bodies within a size limit, read cheaply on Node.
 *
 * Why not hono's bodyLimit and `c.req.text()` on Node: both go through `c.req.raw`, for which
 * @hono/node-server builds a WHATWG Request over the IncomingMessage (undici's Request, a web
 * ReadableStream, an AbortSignal), and bodyLimit wraps that stream in another to count bytes. On
 * `POST /v1/jobs` that was about 15% of the edge's CPU (--cpu-prof under autocannon), for a body
 * of a few hundred bytes. On Node the body is read from the IncomingMessage itself, counted as it
 * arrives; elsewhere (Workers) hono's own middleware and reader do the same job.
 *
 * The limit holds for declared and chunked bodies alike: a declared Content-Length over it is
 * refused before anything is read, and a body that grows past it while read is refused then.
 */

interface NodeIncoming {
  on(event: "data", listener: (chunk: Buffer) => void): unknown;
  on(event: "end" | "close", listener: () => void): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
  readableEnded?: boolean;
  rawHeaders?: unknown;
}

/** The limit a route set, for the reader (Node only). */
interface Limit {
  maxBytes: number;
  message: string;
}

const limits = new WeakMap<object, Limit>();
const texts = new WeakMap<object, Promise<string>>();

function nodeIncoming(c: Context): NodeIncoming | null {
  const incoming = (c.env as { incoming?: NodeIncoming } | undefined)?.incoming;
  return incoming && typeof incoming.on === "function" && incoming.rawHeaders !== undefined ? incoming : null;
}

/** Refuses bodies over `maxBytes` with a `payload_too_large` problem that says `message`. */
export function bodyLimit(maxBytes: number, message: string): MiddlewareHandler<EdgeEnv> {
  const viaHono = honoBodyLimit({
    maxSize: maxBytes,
    onError: (c) => problemResponse(c, "payload_too_large", message),
  });
  return async (c, next) => {
    const incoming = nodeIncoming(c);
    if (!incoming) return viaHono(c, next);
    const declared = requestHeader(c, "content-length");
    if (declared !== undefined && Number(declared) > maxBytes) {
      return problemResponse(c, "payload_too_large", message);
    }
    limits.set(incoming, { maxBytes, message });
    await next();
  };
}

/** The request body as UTF-8 text (read once; later calls get the same text). */
export function requestText(c: Context): Promise<string> {
  const incoming = nodeIncoming(c);
  if (!incoming) return c.req.text();
  let text = texts.get(incoming);
  if (!text) {
    text = readIncoming(incoming, limits.get(incoming) ?? null);
    texts.set(incoming, text);
  }
  return text;
}

function readIncoming(incoming: NodeIncoming, limit: Limit | null): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    if (incoming.readableEnded) {
      // Already read by something else: there is nothing left to give.
      reject(new FramewireError("malformed_json", "The request body was already read."));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (error: FramewireError | null) => {
      if (done) return;
      done = true;
      if (error) reject(error);
      else resolve(Buffer.concat(chunks, size).toString("utf8"));
    };
    incoming.on("data", (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (limit && size > limit.maxBytes) {
        chunks.length = 0;
        finish(new FramewireError("payload_too_large", limit.message));
        return;
      }
      chunks.push(chunk);
    });
    // 'close' also follows every complete body: the error is made only when it ends one that isn't.
    const cutOff = () => {
      if (!done) finish(new FramewireError("malformed_json", "The request body was cut off."));
    };
    incoming.on("end", () => finish(null));
    incoming.on("error", cutOff);
    incoming.on("close", cutOff);
  });
}
