import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseCidrList } from "@framewire/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchToFile, InputFetchError, isPublicAddress } from "./safe-fetch";

let server: Server;
let port: number;
let dir: string;
let secretHits = 0;
let redirector: Server;
let redirectorBase: string;

/**
 * The redirector: a real HTTP server on 127.0.0.2 that answers with redirects to places a node
 * must never reach. The guard is told to allow exactly that one address (a test seam), so every
 * refusal below is the guard judging the *redirect target*, hop by hop.
 */
const redirects: Record<string, string> = {
  "/to-loopback": "http://127.0.0.1:PORT/",
  "/to-ten": "http://10.1.2.3/",
  "/to-metadata": "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
  "/to-ipv6-loopback": "http://[::1]:PORT/",
  "/to-mapped": "http://[::ffff:127.0.0.1]:PORT/",
  "/to-mapped-hex": "http://[::ffff:7f00:1]:PORT/",
  "/to-decimal-ip": "http://2130706433:PORT/",
  "/to-localhost": "http://localhost:PORT/",
  "/to-file": "file:///etc/passwd",
  "/to-relative-chain": "/hop-2",
  "/hop-2": "/to-loopback",
  "/loop": "/loop",
};
// Test seam: exactly one loopback address (the redirector's) is allowed.
const allowRedirector = parseCidrList("127.0.0.2/32");

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "fw-fetch-"));
  // A real server on loopback holding something an attacker would like the node to read.
  server = createServer((_req, res) => {
    secretHits++;
    res.end("secret");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as { port: number }).port;
  redirector = createServer((req, res) => {
    const target = redirects[req.url ?? ""];
    if (target) {
      res.writeHead(302, { location: target.replace("PORT", String(port)) }).end();
    } else res.end("fine");
  });
  await new Promise<void>((resolve) => redirector.listen(0, "127.0.0.2", resolve));
  redirectorBase = `http://127.0.0.2:${(redirector.address() as { port: number }).port}`;
});

afterAll(async () => {
  server?.close();
  redirector?.close();
  await rm(dir, { recursive: true, force: true });
});

const options = { maxBytes: 1024, timeoutMs: 5_000, allowHttp: true };

async function refusal(url: string): Promise<InputFetchError> {
  const error = await fetchToFile(url, join(dir, "x"), options).catch((e: unknown) => e);
  expect(error, url).toBeInstanceOf(InputFetchError);
  return error as InputFetchError;
}

describe("URL inputs", () => {
  it("classifies addresses", () => {
    for (const a of [
      "127.0.0.1",
      "10.1.2.3",
      "172.16.0.1",
      "192.168.1.1",
      "169.254.169.254",
      "::1",
      "::ffff:127.0.0.1",
      "::ffff:10.0.0.1",
      "fe80::1",
      "fc00::1",
      "224.0.0.1",
      "0.0.0.0",
      "100.64.0.1",
    ]) {
      expect(isPublicAddress(a), a).toBe(false);
    }
    for (const a of ["93.184.216.34", "2606:4700::1111", "8.8.8.8"]) expect(isPublicAddress(a), a).toBe(true);
  });

  it("refuses loopback, private, link-local and mapped addresses before connecting", async () => {
    for (const url of [
      `http://127.0.0.1:${port}/`,
      `http://127.1:${port}/`,
      `http://0x7f000001:${port}/`,
      `http://0.0.0.0:${port}/`,
      `http://[::]:${port}/`,
      "http://10.255.0.1/",
      "http://192.168.0.1/",
      "http://[fd00::1]/",
      `http://[::1]:${port}/`,
      `http://[::ffff:127.0.0.1]:${port}/`,
      "http://10.0.0.1/",
      "http://169.254.169.254/latest/meta-data/",
    ]) {
      expect((await refusal(url)).reason, url).toBe("private_address");
    }
  });

  it("refuses a DNS name that resolves to loopback", async () => {
    expect((await refusal(`http://localhost:${port}/`)).reason).toBe("private_address");
  });

  it("refuses schemes other than http(s), and http unless allowed", async () => {
    for (const url of [
      "file:///etc/passwd",
      "concat:/etc/passwd|/etc/hosts",
      "subfile:,start,0,end,0,:/etc/passwd",
      "pipe:0",
      "data:video/mp4;base64,AAAA",
      "tcp://127.0.0.1:22",
      "udp://127.0.0.1:53",
      "rtmp://example.com/live",
      "gopher://127.0.0.1:6379/_INFO",
      "hls+http://example.com/a.m3u8",
      "async:http://example.com/a",
      "crypto+http://example.com/a",
      "ftp://example.com/a",
    ]) {
      expect((await refusal(url)).reason, url).toBe("scheme");
    }
    const error = await fetchToFile("http://example.com/", join(dir, "y"), {
      ...options,
      allowHttp: false,
    }).catch((e: unknown) => e);
    expect((error as InputFetchError).reason).toBe("scheme");
  });

  it("the loopback server was really there (the refusals above are the guard's, not a dead port)", async () => {
    const res = await fetch(`http://127.0.0.1:${port}/`);
    expect(await res.text()).toBe("secret");
    await expect(readFile(join(dir, "x"))).rejects.toThrow();
  });
});

describe("redirects", () => {
  const viaRedirector = (path: string) =>
    fetchToFile(`${redirectorBase}${path}`, join(dir, "r"), {
      ...options,
      guard: { allow: allowRedirector },
    }).catch((e: unknown) => e);

  it("follows a redirect the guard allows (the redirector works)", async () => {
    expect(await viaRedirector("/plain")).toMatchObject({ sizeBytes: 4 });
  });

  it("checks every hop: a redirect to a private, loopback or metadata address is refused", async () => {
    const hitsBefore = secretHits;
    for (const path of [
      "/to-loopback",
      "/to-ten",
      "/to-metadata",
      "/to-ipv6-loopback",
      "/to-mapped",
      "/to-mapped-hex",
      "/to-decimal-ip",
      "/to-localhost",
      "/to-relative-chain",
    ]) {
      const error = await viaRedirector(path);
      expect(error, path).toBeInstanceOf(InputFetchError);
      expect((error as InputFetchError).reason, path).toBe("private_address");
      expect((error as InputFetchError).message, path).toMatch(/not a public address|public addresses only/);
    }
    expect(secretHits).toBe(hitsBefore);
  });

  it("refuses a redirect to file: and stops a redirect loop", async () => {
    expect(((await viaRedirector("/to-file")) as InputFetchError).reason).toBe("scheme");
    expect(((await viaRedirector("/loop")) as InputFetchError).reason).toBe("redirects");
  });
});

describe("DNS answers", () => {
  // No DNS server can run here, so these names' answers come from a stand-in resolver; the guard
  // under test is the socket's own lookup, the same code the system resolver feeds.
  const answers: Record<string, { address: string; family: number }[]> = {
    "rebind.example": [{ address: "127.0.0.1", family: 4 }],
    "mixed.example": [
      { address: "93.184.216.34", family: 4 },
      { address: "10.0.0.7", family: 4 },
    ],
    "v6.example": [{ address: "::1", family: 6 }],
    "mapped.example": [{ address: "::ffff:169.254.169.254", family: 6 }],
  };
  const resolve = async (name: string) => {
    if (name === "nxdomain.example")
      throw Object.assign(new Error("getaddrinfo ENOTFOUND"), { code: "ENOTFOUND" });
    return answers[name] ?? [];
  };

  it("refuses a name when any address it resolves to is private", async () => {
    const hitsBefore = secretHits;
    for (const name of Object.keys(answers)) {
      const error = await fetchToFile(`http://${name}:${port}/`, join(dir, "d"), {
        ...options,
        guard: { resolve },
      }).catch((e: unknown) => e);
      expect(error, name).toBeInstanceOf(InputFetchError);
      expect((error as InputFetchError).reason, name).toBe("private_address");
    }
    expect(secretHits).toBe(hitsBefore);
  });

  it("answers a name that doesn't resolve exactly as one that resolves privately, and doesn't retry it", async () => {
    const refusal = async (name: string) =>
      (await fetchToFile(`http://${name}:${port}/`, join(dir, "d"), { ...options, guard: { resolve } }).catch(
        (e: unknown) => e,
      )) as InputFetchError;
    const missing = await refusal("nxdomain.example");
    const internal = await refusal("rebind.example");
    expect(missing).toBeInstanceOf(InputFetchError);
    // Not "network" (retried five times): the same permanent refusal, in the same words but the name.
    expect(missing.reason).toBe(internal.reason);
    expect(missing.message.replace("nxdomain", "rebind")).toBe(internal.message);
  });
});
