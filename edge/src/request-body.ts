import { FramewireError } from "@framewire/shared";
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit as honoBodyLimit } from "hono/body-limit";
import type { EdgeEnv } from "./env";
import { type NodeIncoming, nodeIncoming } from "./node-incoming";
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

/** The limit a route set, for the reader (Node only). */
interface Limit {
  maxBytes: number;
  message: string;
}

const limits = new WeakMap<object, Limit>();
const texts = new WeakMap<object, Promise<string>>();

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
    // Nested limits: the smallest holds, as it would with one counting stream inside another.
    const outer = limits.get(incoming);
    if (!outer || maxBytes < outer.maxBytes) limits.set(incoming, { maxBytes, message });
    await next();
  };
}

/**
 * The request body as UTF-8 text, without a byte-order mark (as `Response.text()` decodes it); read
 * once, later calls get the same text. A body that can't be read (the client went away) is a
 * `malformed_json` problem on both runtimes.
 */
export function requestText(c: Context): Promise<string> {
  const incoming = nodeIncoming(c);
  if (!incoming) return c.req.text().catch(() => Promise.reject(cutOff()));
  let text = texts.get(incoming);
  if (!text) {
    // A route without a limit of its own still gets the JSON one.
    const fallback = (c.get("deps") as { config?: { maxJsonBytes?: number } } | undefined)?.config
      ?.maxJsonBytes;
    const limit =
      limits.get(incoming) ??
      (fallback ? { maxBytes: fallback, message: `JSON bodies are limited to ${fallback} bytes.` } : null);
    text = readIncoming(incoming, limit);
    texts.set(incoming, text);
  }
  return text;
}

const cutOff = () => new FramewireError("malformed_json", "The request body was cut off.");

function readIncoming(incoming: NodeIncoming, limit: Limit | null): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    if (incoming.readableEnded) {
      // Already read by something else: there is nothing left to give.
      reject(new FramewireError("malformed_json", "The request body was already read."));
      return;
    }
    if (incoming.destroyed) {
      // The client went away while the request waited (auth, limits, a read): no event will come.
      reject(cutOff());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (error: FramewireError | null) => {
      if (done) return;
      done = true;
      if (error) {
        reject(error);
        return;
      }
      const text = Buffer.concat(chunks, size).toString("utf8");
      resolve(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
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
    const ended = () => {
      if (!done) finish(cutOff());
    };
    incoming.on("end", () => finish(null));
    incoming.on("error", ended);
    incoming.on("close", ended);
  });
}
