import { describe, expect, it } from "vitest";
import {
  checkTargetUrl,
  forwardedClientAddress,
  isAllowedAddress,
  isLocalName,
  isPublicAddress,
  parseCidrList,
  rateLimitSubject,
} from "./net-policy";

describe("address policy (SSRF)", () => {
  it("allows public unicast only", () => {
    for (const a of [
      "127.0.0.1",
      "10.1.2.3",
      "172.16.0.1",
      "192.168.1.1",
      "169.254.169.254",
      "100.64.0.1",
      "0.0.0.0",
      "224.0.0.1",
      "::1",
      "::",
      "::ffff:127.0.0.1",
      "::ffff:7f00:1",
      "::ffff:10.0.0.1",
      "fe80::1",
      "fc00::1",
      // IPv4-compatible (deprecated, ::/96) and anything else outside 2000::/3.
      "::7f00:1",
      "::a9fe:a9fe",
      "4000::1",
    ]) {
      expect(isPublicAddress(a), a).toBe(false);
    }
    for (const a of ["93.184.216.34", "8.8.8.8", "2606:4700::1111"]) expect(isPublicAddress(a), a).toBe(true);
    expect(isPublicAddress("example.com")).toBe(false);
  });

  it("lets an operator's allowlist open exactly the ranges it names", () => {
    const allow = parseCidrList("127.0.0.1/32, 10.8.0.0/16");
    expect(isAllowedAddress("127.0.0.1", allow)).toBe(true);
    expect(isAllowedAddress("::ffff:127.0.0.1", allow)).toBe(true);
    expect(isAllowedAddress("127.0.0.2", allow)).toBe(false);
    expect(isAllowedAddress("10.8.3.4", allow)).toBe(true);
    expect(isAllowedAddress("10.9.0.1", allow)).toBe(false);
    expect(isAllowedAddress("::1", allow)).toBe(false);
    expect(isAllowedAddress("8.8.8.8", [])).toBe(true);
    expect(() => parseCidrList("127.0.0.1")).toThrow(/127\.0\.0\.1 is not a CIDR/);
  });

  it("checks the scheme and literal addresses of a URL, however they are spelled", () => {
    const refused = (raw: string, allowHttp = true) => {
      try {
        checkTargetUrl(raw, { allowHttp });
        return null;
      } catch (error) {
        return (error as { reason: string }).reason;
      }
    };
    for (const raw of [
      "http://127.0.0.1/",
      "http://2130706433/",
      "http://0x7f.1/",
      "http://[::1]/",
      "http://[::ffff:127.0.0.1]/",
      "http://10.0.0.1/",
      "http://169.254.169.254/latest/meta-data/",
    ]) {
      expect(refused(raw), raw).toBe("private_address");
    }
    expect(refused("file:///etc/passwd")).toBe("scheme");
    expect(refused("http://example.com/", false)).toBe("scheme");
    expect(refused("not a url")).toBe("malformed");
    expect(refused("https://example.com/hook")).toBeNull();
  });

  it("knows the names that point at the local machine or network", () => {
    for (const name of [
      "localhost",
      "LOCALHOST.",
      "db.localhost",
      "printer.local",
      "metadata.google.internal",
      "intranet",
    ])
      expect(isLocalName(name), name).toBe(true);
    for (const name of ["example.com", "hooks.example.com", "93.184.216.34"])
      expect(isLocalName(name), name).toBe(false);
  });
});

describe("client addresses behind proxies", () => {
  it("takes the entry the operator's proxies wrote, not what the client put in front of it", () => {
    // The client sent "1.2.3.4"; the one proxy appended the peer it saw.
    expect(forwardedClientAddress("1.2.3.4, 203.0.113.9")).toBe("203.0.113.9");
    expect(forwardedClientAddress("1.2.3.4, 203.0.113.9, 10.0.0.2", 2)).toBe("203.0.113.9");
    expect(forwardedClientAddress("203.0.113.9")).toBe("203.0.113.9");
    // More hops than entries: the leftmost there is.
    expect(forwardedClientAddress("203.0.113.9", 3)).toBe("203.0.113.9");
  });

  it("accepts only an address (ports dropped, IPv4-mapped made plain), never arbitrary text", () => {
    expect(forwardedClientAddress("198.51.100.7:5123")).toBe("198.51.100.7");
    expect(forwardedClientAddress("[2001:db8::1]:443")).toBe("2001:db8::1");
    expect(forwardedClientAddress("::ffff:198.51.100.7")).toBe("198.51.100.7");
    for (const bad of ["x".repeat(8000), "unknown", "", "1.2.3.4, evil", "999.1.1.1"])
      expect(forwardedClientAddress(bad), bad.slice(0, 20)).toBeNull();
    expect(forwardedClientAddress(undefined)).toBeNull();
  });

  it("counts an IPv6 client by its /64 and an IPv4 client by its address", () => {
    expect(rateLimitSubject("2001:db8:1:2:aaaa::1")).toBe(rateLimitSubject("2001:db8:1:2:bbbb::7"));
    expect(rateLimitSubject("2001:db8:1:2::1")).not.toBe(rateLimitSubject("2001:db8:1:3::1"));
    expect(rateLimitSubject("198.51.100.7")).toBe("198.51.100.7");
    expect(rateLimitSubject("::ffff:198.51.100.7")).toBe("198.51.100.7");
    expect(rateLimitSubject("unknown")).toBe("unknown");
  });
});
