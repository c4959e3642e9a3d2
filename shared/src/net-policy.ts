import ipaddr from "ipaddr.js";

/**
 * Which network addresses a user-supplied URL may reach (SSRF policy), shared by the node's input
 * fetcher and the edge's webhook sender. Pure: resolving names and connecting is the caller's job
 * (each runtime does it its own way); this decides about schemes, literal addresses and resolved
 * addresses.
 */

export const targetRefusals = ["scheme", "private_address", "malformed"] as const;
export type TargetRefusal = (typeof targetRefusals)[number];

export class TargetRefusedError extends Error {
  override readonly name = "TargetRefusedError";
  constructor(
    message: string,
    readonly reason: TargetRefusal,
  ) {
    super(message);
  }
}

/** A CIDR range parsed once (an operator's allowlist entry). */
export type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

/**
 * Public unicast only: loopback, private (10/8, 172.16/12, 192.168/16), link-local (169.254/16,
 * where cloud metadata lives), carrier-grade NAT, multicast, unspecified, unique-local IPv6 and the
 * rest are refused. ipaddr.process turns an IPv4-mapped IPv6 address (::ffff:10.0.0.1) into the
 * IPv4 address it really is, so mapping can't smuggle a private address through.
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  const parsed = ipaddr.process(address);
  // IPv6 outside 2000::/3 is not global unicast whatever ipaddr calls it: the deprecated
  // IPv4-compatible ::a.b.c.d (::7f00:1 is 127.0.0.1 on some stacks) falls there.
  if (parsed.kind() === "ipv6" && !parsed.match(globalUnicastV6)) return false;
  return parsed.range() === "unicast";
}

const globalUnicastV6 = ipaddr.parseCIDR("2000::/3");

/**
 * The client address in a proxy-set header such as X-Forwarded-For (`client, proxy1, proxy2`): the
 * entry `hops` from the right, since each proxy appends the peer it saw and only the last `hops`
 * entries were written by proxies the operator runs; whatever a client sent sits further left (the
 * leftmost entry if there are fewer). Null unless that entry is an IP address (a port, `1.2.3.4:80`
 * or `[::1]:80`, is dropped).
 */
export function forwardedClientAddress(value: string | undefined, hops = 1): string | null {
  if (!value) return null;
  const entries = value.split(",");
  const entry = entries[Math.max(0, entries.length - Math.max(1, hops))]?.trim() ?? "";
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(entry);
  const withPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(entry);
  const address = bracketed?.[1] ?? withPort?.[1] ?? entry;
  return ipaddr.isValid(address) ? ipaddr.process(address).toString() : null;
}

/**
 * What a per-address rate limit counts by: an IPv4 address itself, an IPv6 address's /64 (one
 * subscriber usually holds a whole /64, and could otherwise take a fresh bucket per address).
 * Anything that is not an address is counted as it is.
 */
export function rateLimitSubject(address: string): string {
  // Every request asks: IPv4 (and anything else without a colon) as it is, without parsing.
  if (!address.includes(":")) return address;
  if (address.startsWith("::ffff:") && address.includes(".")) return address.slice(7);
  if (!ipaddr.isValid(address)) return address;
  const parsed = ipaddr.process(address);
  if (parsed.kind() === "ipv4") return parsed.toString();
  const parts = (parsed as ipaddr.IPv6).parts.slice(0, 4);
  return `${parts.map((p) => p.toString(16)).join(":")}::/64`;
}

/** Parses a comma-separated CIDR list (`127.0.0.1/32,::1/128`); throws naming the bad entry. */
export function parseCidrList(text: string | undefined): Cidr[] {
  if (!text?.trim()) return [];
  return text
    .split(",")
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      try {
        return ipaddr.parseCIDR(entry) as Cidr;
      } catch {
        throw new Error(`${entry} is not a CIDR range (like 127.0.0.1/32)`);
      }
    });
}

/** A public address, or one inside an operator's explicit allowlist (meant for development). */
export function isAllowedAddress(address: string, allow: readonly Cidr[] = []): boolean {
  if (isPublicAddress(address)) return true;
  if (allow.length === 0 || !ipaddr.isValid(address)) return false;
  const parsed = ipaddr.process(address);
  return allow.some(([range, bits]) => parsed.kind() === range.kind() && parsed.match(range, bits));
}

/** The host of a URL without IPv6 brackets. */
export function urlHost(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, "");
}

/**
 * Checks what can be checked without DNS: the scheme, and the host when it is a literal address.
 * Returns the parsed URL; a hostname still has to be resolved and its addresses checked with
 * `isAllowedAddress` before connecting.
 */
export function checkTargetUrl(raw: string, options: { allowHttp: boolean; allow?: readonly Cidr[] }): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TargetRefusedError(`not a URL: ${raw}`, "malformed");
  }
  const schemes = options.allowHttp ? ["https:", "http:"] : ["https:"];
  if (!schemes.includes(url.protocol)) {
    throw new TargetRefusedError(
      `only ${schemes.join(" and ")} URLs are allowed, not ${url.protocol}`,
      "scheme",
    );
  }
  const host = urlHost(url);
  if (ipaddr.isValid(host) && !isAllowedAddress(host, options.allow)) {
    throw new TargetRefusedError(`${host} is not a public address`, "private_address");
  }
  return url;
}

/**
 * Names that point into the local machine or network by convention (RFC 6761 `localhost`,
 * mDNS `.local`, cloud-internal `.internal`, single-label names). For runtimes that cannot resolve
 * names before connecting (Workers), this is the check they can make.
 */
export function isLocalName(host: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, "");
  if (ipaddr.isValid(name)) return false;
  return (
    !name.includes(".") ||
    name === "localhost" ||
    name.endsWith(".localhost") ||
    name.endsWith(".local") ||
    name.endsWith(".internal")
  );
}
