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
  return ipaddr.process(address).range() === "unicast";
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
