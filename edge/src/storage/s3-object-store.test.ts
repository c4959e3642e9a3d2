import { describe, expect, it } from "vitest";
import { createS3ObjectStore } from "./s3-object-store";

/** Presigning is local work (no request is sent), so this needs no S3 server. */
const store = () =>
  createS3ObjectStore({
    endpoint: "http://s3.test:9000",
    publicEndpoint: "https://media.example.com",
    region: "us-east-1",
    bucket: "fw-out",
    forcePathStyle: true,
    credentials: { accessKeyId: "AKIDTEST", secretAccessKey: "secret" },
    checksums: "WHEN_REQUIRED",
    uploadUrlTtlSec: 600,
    downloadUrlTtlSec: 4 * 3600,
  });

const amzDate = (url: string) => {
  const d = new URL(url).searchParams.get("X-Amz-Date") ?? "";
  return Date.parse(
    `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}T${d.slice(9, 11)}:${d.slice(11, 13)}:${d.slice(13, 15)}Z`,
  );
};

describe("S3 presigned URLs", () => {
  it("signs for the public endpoint, with the length of an upload signed", async () => {
    const target = await store().uploadTarget(
      { id: "upl_x", key: "ten_a/uploads/upl_x", sizeBytes: 1234, contentType: "video/mp4" },
      Date.parse("2026-01-01T00:00:00Z"),
    );
    const url = new URL(target.url);
    expect(url.origin + url.pathname).toBe("https://media.example.com/fw-out/ten_a/uploads/upl_x");
    expect(url.searchParams.get("X-Amz-SignedHeaders")?.split(";")).toEqual(["content-length", "host"]);
    expect(url.searchParams.get("X-Amz-Expires")).toBe("600");
    expect(target).toMatchObject({ method: "PUT", headers: { "content-length": "1234" } });
    expect(target.expires_at).toBe("2026-01-01T00:10:00.000Z");
  });

  it("reuses a download URL within a quarter of its life, so every link lives at least ¾ of the TTL", async () => {
    const s = store();
    const t0 = Date.parse("2026-01-01T00:00:00Z");
    const first = await s.downloadUrl("ten_a/jobs/job_1/small.mp4", t0 + 60_000);
    expect(await s.downloadUrl("ten_a/jobs/job_1/small.mp4", t0 + 3_000_000)).toBe(first);
    const later = await s.downloadUrl("ten_a/jobs/job_1/small.mp4", t0 + 3_600_000);
    expect(later).not.toBe(first);
    expect(amzDate(first)).toBe(t0);
    expect(amzDate(later)).toBe(t0 + 3_600_000);
    expect(new URL(first).searchParams.get("response-content-disposition")).toBe(
      'attachment; filename="small.mp4"',
    );
    await expect(s.downloadUrl("../other/x.mp4", t0)).rejects.toThrow(/unsafe storage key/);
  });
});
