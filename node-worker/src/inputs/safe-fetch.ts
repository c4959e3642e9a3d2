import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { createWriteStream } from "node:fs";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  type Cidr,
  checkTargetUrl,
  isAllowedAddress,
  isPublicAddress,
  TargetRefusedError,
} from "@framewire/shared";
import { Agent, fetch } from "undici";

/**
 * Fetches a user-supplied URL to a file without letting it reach private networks (SSRF):
 * only http(s); every address a name resolves to must be public unicast — checked inside the
 * socket's own DNS lookup, so a rebinding DNS answer can't slip in between check and connect;
 * redirects are followed by hand and every hop is checked again; size and time are bounded.
 */

export class InputFetchError extends Error {
  constructor(
    message: string,
    readonly reason:
      | "scheme"
      | "private_address"
      | "http_status"
      | "too_large"
      | "timeout"
      | "network"
      | "redirects"
      /** An `s3` input outside the operator's allowed buckets. */
      | "not_allowed",
  ) {
    super(message);
  }
}

/** The address policy is shared with the edge's webhook sender (`@framewire/shared` net-policy). */
export { isPublicAddress };

type Resolve = (hostname: string) => Promise<LookupAddress[]>;

const systemResolve: Resolve = (hostname) =>
  new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))),
  );

/**
 * The socket's own DNS lookup, refusing a name when any address it resolves to is not allowed
 * (an attacker's name may answer with one public and one private address).
 */
function guardedLookup(allowed: (address: string) => boolean, resolve: Resolve) {
  return (
    hostname: string,
    options: object,
    callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ) => {
    // One answer, not retried, for a name that resolves to a private address and for one that
    // doesn't resolve at all: two messages (or a retry for one) would let a tenant map which names
    // exist in the node's internal DNS. Not naming the addresses, for the same reason.
    const refuse = () =>
      callback(
        new InputFetchError(
          `${hostname} does not resolve to public addresses only`,
          "private_address",
        ) as unknown as NodeJS.ErrnoException,
        [],
      );
    resolve(hostname).then(
      (list) => {
        if (list.length === 0 || list.some((a) => !allowed(a.address))) return refuse();
        if ((options as { all?: boolean }).all) return callback(null, list);
        const first = list[0] as LookupAddress;
        callback(null, first.address, first.family);
      },
      () => refuse(),
    );
  };
}

const guardedAgent = (allowed: (address: string) => boolean, resolve: Resolve) =>
  new Agent({ connect: { lookup: guardedLookup(allowed, resolve) as never }, headersTimeout: 30_000 });

const defaultAgent = guardedAgent(isPublicAddress, systemResolve);

/**
 * Test seams, never set in production: which addresses may be connected to (tests allow one
 * loopback address for a local redirector) and the name resolver (tests stand in for DNS answers
 * no DNS server here could give).
 */
export interface FetchGuardOverrides {
  /** Private ranges to allow, as the webhook setting FW_WEBHOOK_ALLOW_PRIVATE_CIDRS takes them. */
  allow?: Cidr[];
  resolve?: Resolve;
}

function checkUrl(raw: string, allowHttp: boolean, allow: readonly Cidr[]): URL {
  try {
    return checkTargetUrl(raw, { allowHttp, allow });
  } catch (error) {
    if (!(error instanceof TargetRefusedError)) throw error;
    throw new InputFetchError(
      error.message,
      error.reason === "private_address" ? "private_address" : "scheme",
    );
  }
}

/** Passes bytes through until `maxBytes`, then fails the pipeline with `too_large`; counts what passed. */
export function byteLimit(maxBytes: number, what: string): Transform & { readonly bytes: number } {
  let bytes = 0;
  const limiter = new Transform({
    transform(chunk: Buffer, _enc, callback) {
      bytes += chunk.length;
      if (bytes > maxBytes) callback(new InputFetchError(`${what} exceeds ${maxBytes} bytes`, "too_large"));
      else callback(null, chunk);
    },
  });
  return Object.defineProperty(limiter, "bytes", { get: () => bytes }) as Transform & {
    readonly bytes: number;
  };
}

export async function fetchToFile(
  raw: string,
  destination: string,
  options: {
    maxBytes: number;
    timeoutMs: number;
    allowHttp: boolean;
    maxRedirects?: number;
    signal?: AbortSignal;
    guard?: FetchGuardOverrides;
  },
): Promise<{ sizeBytes: number; finalUrl: string }> {
  const allow = options.guard?.allow ?? [];
  const agent = options.guard
    ? guardedAgent((address) => isAllowedAddress(address, allow), options.guard.resolve ?? systemResolve)
    : defaultAgent;
  const signal = AbortSignal.any([
    AbortSignal.timeout(options.timeoutMs),
    ...(options.signal ? [options.signal] : []),
  ]);
  let url = checkUrl(raw, options.allowHttp, allow);
  for (let hop = 0; hop <= (options.maxRedirects ?? 5); hop++) {
    let response: Awaited<ReturnType<typeof fetch>>;
    try {
      response = await fetch(url, { dispatcher: agent, redirect: "manual", signal });
    } catch (error) {
      const cause = (error as { cause?: unknown }).cause;
      if (cause instanceof InputFetchError) throw cause;
      if (signal.aborted) throw new InputFetchError(`fetching ${url.host} took too long`, "timeout");
      throw new InputFetchError(
        `could not fetch ${url.host}: ${(cause as Error)?.message ?? error}`,
        "network",
      );
    }
    if (response.status >= 300 && response.status < 400 && response.headers.get("location")) {
      await response.body?.cancel();
      url = checkUrl(
        new URL(response.headers.get("location") as string, url).toString(),
        options.allowHttp,
        allow,
      );
      continue;
    }
    if (!response.ok || !response.body) {
      await response.body?.cancel();
      throw new InputFetchError(`${url.host} answered HTTP ${response.status}`, "http_status");
    }
    const declared = Number(response.headers.get("content-length") ?? "0");
    if (declared > options.maxBytes) {
      await response.body.cancel();
      throw new InputFetchError(
        `the input is ${declared} bytes; the limit is ${options.maxBytes}`,
        "too_large",
      );
    }
    const limiter = byteLimit(options.maxBytes, "the input");
    try {
      await pipeline(Readable.fromWeb(response.body as never), limiter, createWriteStream(destination));
    } catch (error) {
      if (error instanceof InputFetchError) throw error;
      if (signal.aborted) throw new InputFetchError(`fetching ${url.host} took too long`, "timeout");
      throw new InputFetchError(`download from ${url.host} failed: ${(error as Error).message}`, "network");
    }
    return { sizeBytes: limiter.bytes, finalUrl: url.toString() };
  }
  throw new InputFetchError("too many redirects", "redirects");
}
