import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchToFile, InputFetchError, isPublicAddress } from "./safe-fetch";

let server: Server;
let port: number;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "fw-fetch-"));
  // A real server on loopback holding something an attacker would like the node to read.
  server = createServer((_req, res) => res.end("secret"));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  server?.close();
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
    for (const url of ["file:///etc/passwd", "concat:/etc/passwd|/etc/hosts", "ftp://example.com/a"]) {
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
