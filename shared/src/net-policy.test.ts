import { describe, expect, it } from "vitest";
import { checkTargetUrl, isAllowedAddress, isLocalName, isPublicAddress, parseCidrList } from "./net-policy";

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
