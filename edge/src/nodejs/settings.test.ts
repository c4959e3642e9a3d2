import { describe, expect, it } from "vitest";
import { parseEdgeNodeSettings } from "./settings";

const base = {
  FW_PUBLIC_URL: "http://127.0.0.1:8080/",
  FW_PROGRESS_URL: "ws://127.0.0.1:8081",
  FW_TOKEN_SECRET: "t".repeat(40),
  FW_NODE_TOKEN: "n".repeat(40),
  FW_DB_URL: "file:/tmp/fw.db",
};

describe("the edge's settings on Node", () => {
  it("fill the defaults of the app, its store and the Node runtime from one environment", () => {
    const { settings, config, storage } = parseEdgeNodeSettings(base);
    expect(settings).toMatchObject({
      FW_API_HOST: "127.0.0.1",
      FW_API_PORT: 8080,
      FW_OUTBOX_SWEEP_MS: 5_000,
    });
    expect(config).toMatchObject({
      publicUrl: "http://127.0.0.1:8080",
      downloadTtlSec: 86400,
      s3InputBuckets: [],
    });
    expect(storage).toEqual({ kind: "local" });
  });

  it("name every bad variable and its value in one message, whichever part reads it", () => {
    let message = "";
    try {
      parseEdgeNodeSettings({
        ...base,
        FW_API_PORT: "http",
        FW_RATE_KEY_BURST: "0",
        FW_S3_ENDPOINT: "minio",
        FW_LOG_LEVEL: "loud",
      });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^invalid edge configuration:/);
    for (const line of [
      'FW_API_PORT="http"',
      'FW_RATE_KEY_BURST="0"',
      'FW_S3_ENDPOINT="minio"',
      'FW_LOG_LEVEL="loud"',
    ]) {
      expect(message).toContain(line);
    }
  });

  it("refuse S3 storage without a bucket and one S3 key without the other", () => {
    expect(() => parseEdgeNodeSettings({ ...base, FW_STORAGE: "s3" })).toThrow(
      /FW_S3_BUCKET=null: is required/,
    );
    expect(() =>
      parseEdgeNodeSettings({ ...base, FW_STORAGE: "s3", FW_S3_BUCKET: "media", FW_S3_ACCESS_KEY_ID: "k" }),
    ).toThrow(/FW_S3_SECRET_ACCESS_KEY=null: set both/);
  });
});
