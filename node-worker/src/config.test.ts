import { describe, expect, it } from "vitest";
import { parseNodeConfig } from "./config";

const base = {
  FW_EDGE_URL: "http://127.0.0.1:8080",
  FW_NODE_TOKEN: "n".repeat(40),
  FW_WORK_DIR: "/tmp/fw-work",
};

describe("node configuration", () => {
  it("fills defaults", () => {
    const config = parseNodeConfig(base);
    expect(config).toMatchObject({
      FW_STORAGE: "local",
      FW_ENGINE: "auto",
      FW_POOLS: ["cpu"],
      FW_MAX_DELIVER: 5,
    });
    expect(config.FW_SLOTS).toBeGreaterThanOrEqual(1);
  });

  it("names the variable and the bad value", () => {
    expect(() => parseNodeConfig({ ...base, FW_SLOTS: "lots" })).toThrow(/FW_SLOTS="lots"/);
    expect(() => parseNodeConfig({ ...base, FW_POOLS: "cpu,tpu" })).toThrow(/FW_POOLS/);
    expect(() => parseNodeConfig({ ...base, FW_NODE_TOKEN: "short" })).toThrow(
      /FW_NODE_TOKEN="short": must be at least 32/,
    );
  });

  it("requires a bucket for S3 storage", () => {
    expect(() => parseNodeConfig({ ...base, FW_STORAGE: "s3" })).toThrow(
      /FW_S3_BUCKET=null: is required when FW_STORAGE=s3/,
    );
    expect(parseNodeConfig({ ...base, FW_STORAGE: "s3", FW_S3_BUCKET: "media" }).FW_S3_CHECKSUMS).toBe(
      "WHEN_REQUIRED",
    );
  });

  it("refuses s3 inputs from the storage bucket, where every tenant's files are", () => {
    expect(() =>
      parseNodeConfig({
        ...base,
        FW_STORAGE: "s3",
        FW_S3_BUCKET: "store-1",
        FW_S3_INPUT_BUCKETS: "media, store-1",
      }),
    ).toThrow(/FW_S3_INPUT_BUCKETS="media, store-1": must not list the storage bucket store-1/);
  });
});
