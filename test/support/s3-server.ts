import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, repoRoot, waitForTcpPort } from "../../scripts/lib/stack";

/**
 * A real S3-compatible server (s3rver) on a free loopback port, with one bucket.
 * s3rver checks no signatures, so it is never a security test; it needs access key id "S3RVER",
 * and the legacy OpenSSL provider for paginated listings on Node 17+. Test fixture only.
 */
export interface S3Server {
  endpoint: string;
  bucket: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function startS3Server(bucket = "framewire-test"): Promise<S3Server> {
  const dir = await mkdtemp(join(tmpdir(), "fw-s3-"));
  const port = await freePort();
  const child = spawn(
    join(repoRoot, "node_modules/.bin/s3rver"),
    ["-d", dir, "-a", "127.0.0.1", "-p", String(port), "--silent", "--configure-bucket", bucket],
    { env: { ...process.env, NODE_OPTIONS: "--openssl-legacy-provider" }, stdio: "ignore" },
  );
  await waitForTcpPort("s3rver", port, child);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    process: child,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A stand-in S3 endpoint that refuses every request the way S3 refuses an unknown access key
 * (403, error code InvalidAccessKeyId). s3rver checks no credentials at all, so this is how tests
 * show what Framewire does with wrong credentials: it answers, honestly labelled, what S3 would.
 */
export async function startRefusingS3(): Promise<{ endpoint: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res
        .writeHead(403, { "content-type": "application/xml" })
        .end(
          '<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidAccessKeyId</Code>' +
            "<Message>The AWS Access Key Id you provided does not exist in our records.</Message></Error>",
        );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
