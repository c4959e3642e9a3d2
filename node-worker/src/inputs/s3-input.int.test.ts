import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type S3Server, startS3Server } from "../../../test/support/s3-server";
import { parseNodeConfig } from "../config";
import { createS3InputFetch, type S3InputFetch } from "./s3-input";
import type { InputFetchError } from "./safe-fetch";

/** `s3` inputs read by a node from a real s3rver, and the node's own checks. */

let s3: S3Server;
let dir: string;
let fetchS3: S3InputFetch;
const object = randomBytes(2048);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "fw-s3-input-"));
  s3 = await startS3Server("media-in");
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: s3.credentials,
    requestChecksumCalculation: "WHEN_REQUIRED",
  });
  await client.send(new PutObjectCommand({ Bucket: "media-in", Key: "shows/a.mp4", Body: object }));
  client.destroy();
  fetchS3 = createS3InputFetch(
    parseNodeConfig({
      FW_EDGE_URL: "http://127.0.0.1:8080",
      FW_NODE_TOKEN: "n".repeat(40),
      FW_WORK_DIR: dir,
      FW_S3_ENDPOINT: s3.endpoint,
      FW_S3_FORCE_PATH_STYLE: "true",
      FW_S3_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      FW_S3_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
      FW_S3_INPUT_BUCKETS: "media-in",
    }),
  );
});

afterAll(async () => {
  await s3?.stop();
  await rm(dir, { recursive: true, force: true });
});

const failure = async (bucket: string, key: string, maxBytes = 1e6) =>
  (await fetchS3({ bucket, key }, join(dir, "x"), { maxBytes }).catch((e: unknown) => e)) as InputFetchError;

describe("s3 inputs on a node", () => {
  it("streams an allowed object to the job's file", async () => {
    const path = join(dir, "in");
    expect(await fetchS3({ bucket: "media-in", key: "shows/a.mp4" }, path, { maxBytes: 1e6 })).toEqual({
      sizeBytes: 2048,
    });
    expect(await readFile(path)).toEqual(object);
  });

  it("checks the bucket and the key again, whatever the edge let through", async () => {
    expect((await failure("other-bucket", "shows/a.mp4")).reason).toBe("not_allowed");
    for (const key of ["../other-bucket/a.mp4", "shows/../../x", "/shows/a.mp4"]) {
      expect((await failure("media-in", key)).reason, key).toBe("not_allowed");
    }
  });

  it("says what is missing and refuses objects over the input limit", async () => {
    const missing = await failure("media-in", "shows/none.mp4");
    expect(missing.message).toBe("s3://media-in/shows/none.mp4 does not exist");
    const big = await failure("media-in", "shows/a.mp4", 1000);
    expect(big.reason).toBe("too_large");
    expect(big.message).toContain("the limit is 1000");
  });
});
