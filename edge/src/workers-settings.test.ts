import { describe, expect, it } from "vitest";
import { parseEdgeWorkersSettings } from "./workers-settings";

const bindings = {
  FW_PUBLIC_URL: "https://api.example.com",
  FW_PROGRESS_URL: "wss://progress.example.com",
  FW_NATS_WS_URL: "wss://nats.example.com:8443",
  FW_DB_URL: "https://db.example.com",
  FW_TOKEN_SECRET: "t".repeat(40),
  FW_NODE_TOKEN: "n".repeat(40),
};

describe("the edge's settings on Workers (its bindings)", () => {
  it("take the Durable Object binding as it is", () => {
    const limiter = { idFromName: () => "id", get: () => ({ fetch: async () => new Response() }) };
    const { settings } = parseEdgeWorkersSettings({ ...bindings, FW_RATE_LIMITER: limiter });
    expect(settings.FW_RATE_LIMITER).toBe(limiter);
    expect(() => parseEdgeWorkersSettings({ ...bindings, FW_RATE_LIMITER: "limiter" })).toThrow(
      /FW_RATE_LIMITER="limiter": must be a Durable Object namespace binding/,
    );
  });

  it("refuse what cannot work in a Worker: a file database, raw NATS, S3 without bound keys", () => {
    expect(() => parseEdgeWorkersSettings({ ...bindings, FW_DB_URL: "file:fw.db" })).toThrow(
      /FW_DB_URL="file:fw.db": a file: database needs Node/,
    );
    expect(() => parseEdgeWorkersSettings({ ...bindings, FW_NATS_WS_URL: "nats://nats:4222" })).toThrow(
      /FW_NATS_WS_URL="nats:\/\/nats:4222"/,
    );
    expect(() => parseEdgeWorkersSettings({ ...bindings, FW_STORAGE: "s3", FW_S3_BUCKET: "media" })).toThrow(
      /FW_S3_ACCESS_KEY_ID=null: is required on Workers/,
    );
  });
});
