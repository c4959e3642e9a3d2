import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
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
