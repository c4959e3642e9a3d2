import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type S3Server, startS3Server } from "../../../test/support/s3-server";
import { createLocalStorage } from "./local-storage";
import { createS3Storage } from "./s3-storage";
import { type Storage, StorageNotFoundError } from "./storage";

/** One contract for both stores: the local folder and S3 (a real s3rver). */

let dir: string;
let s3: S3Server;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "fw-storage-"));
  s3 = await startS3Server();
});

afterAll(async () => {
  await s3?.stop();
  await rm(dir, { recursive: true, force: true });
});

const stores: [string, () => Storage][] = [
  ["local", () => createLocalStorage(join(dir, "local-store"))],
  [
    "s3",
    () =>
      createS3Storage({
        endpoint: s3.endpoint,
        region: "us-east-1",
        bucket: s3.bucket,
        forcePathStyle: true,
        credentials: s3.credentials,
        checksums: "WHEN_REQUIRED",
      }),
  ],
];

async function sha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(path), hash);
  return hash.digest("hex");
}

describe.each(stores)("%s storage", (name, create) => {
  it("round-trips a file byte for byte", async () => {
    const storage = create();
    const source = join(dir, `${name}-src.bin`);
    await writeFile(source, randomBytes(300_000));
    expect(await storage.upload(source, "ten_a/jobs/job_1/out.mp4")).toEqual({ sizeBytes: 300_000 });
    const copy = join(dir, `${name}-copy.bin`);
    expect(await storage.download("ten_a/jobs/job_1/out.mp4", copy)).toEqual({ sizeBytes: 300_000 });
    expect(await readFile(copy)).toEqual(await readFile(source));
  });

  it("says clearly when an object does not exist", async () => {
    await expect(
      create().download("ten_a/jobs/job_missing/x.mp4", join(dir, "nothing")),
    ).rejects.toBeInstanceOf(StorageNotFoundError);
  });

  it("refuses keys that could escape their prefix", async () => {
    const source = join(dir, `${name}-tiny.bin`);
    await writeFile(source, "x");
    await expect(create().upload(source, "ten_a/../../etc/passwd")).rejects.toThrow(/unsafe storage key/);
    await expect(create().download("../ten_b/uploads/upl_x", join(dir, "nope"))).rejects.toThrow(
      /unsafe storage key/,
    );
  });
});

describe("s3 storage with a large output", () => {
  it("streams a 300 MB file up (multipart) and down without holding it in memory", async () => {
    const storage = stores[1]?.[1]() as Storage;
    const size = 300 * 1024 * 1024;
    const source = join(dir, "large.bin");
    const block = randomBytes(1024 * 1024);
    const out = createWriteStream(source);
    for (let i = 0; i < size / block.length; i++) {
      block[0] = i & 0xff; // every block differs a little, so a misordered part would show
      if (!out.write(Buffer.from(block))) await new Promise<void>((r) => out.once("drain", () => r()));
    }
    await new Promise<void>((resolve) => out.end(resolve));

    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 10);
    try {
      await storage.upload(source, "ten_a/jobs/job_big/out.mp4");
      const copy = join(dir, "large-copy.bin");
      await storage.download("ten_a/jobs/job_big/out.mp4", copy);
      expect(await sha256(copy)).toBe(await sha256(source));
    } finally {
      clearInterval(sampler);
    }
    const growthMb = (peak - baseline) / 1024 / 1024;
    console.info(`s3 300 MB round trip: peak RSS growth ${growthMb.toFixed(0)} MB`);
    // Functional bound: far below the file's size (the parts in flight, not the file).
    expect(growthMb).toBeLessThan(150);
  }, 180_000);
});
