import { connect } from "node:net";
import { uploads } from "@framewire/shared/db";
import { serve } from "@hono/node-server";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EdgeHarness, startEdgeHarness } from "../../test/support/edge-harness";
import type { Logger } from "./logger";

/** Uploads sent to this edge (local store): what a too-large or abandoned one leaves behind. */

const lines: { level: string; msg: string | undefined }[] = [];
const logger: Logger = {
  info: (_obj, msg) => void lines.push({ level: "info", msg }),
  warn: (_obj, msg) => void lines.push({ level: "warn", msg }),
  error: (_obj, msg) => void lines.push({ level: "error", msg }),
  debug: () => {},
  child: () => logger,
  setBindings: () => {},
};

let h: EdgeHarness;
let tenantId: string;
let key: string;

beforeAll(async () => {
  h = await startEdgeHarness({ config: { FW_MAX_UPLOAD_BYTES: 1_000_000 }, deps: { logger } });
  tenantId = await h.tenant("uploader");
  key = await h.key(tenantId, ["jobs:read", "jobs:write"]);
});
afterAll(() => h?.close());

const pendingUploads = async () =>
  (await h.deps.db.select().from(uploads).where(eq(uploads.tenantId, tenantId))).length;

describe("uploads to the edge", () => {
  it("refuses a file declared larger than the limit before recording an upload for it", async () => {
    const res = await h.app.request("/v1/uploads", {
      method: "POST",
      headers: {
        authorization: `Bearer ${key}`,
        "content-type": "video/mp4",
        "content-length": "99999999999",
      },
      body: "x",
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ code: "payload_too_large" });
    expect(await pendingUploads()).toBe(0);
  });

  it("logs a client that hangs up mid-file as aborted, not as a failure of the edge", async () => {
    lines.length = 0;
    const server = serve({ fetch: h.app.fetch, hostname: "127.0.0.1", port: 0 });
    await new Promise<void>((resolve) => server.once("listening", () => resolve()));
    const { port } = server.address() as { port: number };
    try {
      const socket = connect(port, "127.0.0.1");
      await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
      socket.write(
        `POST /v1/uploads HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${key}\r\n` +
          "content-type: video/mp4\r\ncontent-length: 500000\r\n\r\n",
      );
      socket.write(Buffer.alloc(64 * 1024, 1));
      await new Promise((resolve) => setTimeout(resolve, 100));
      socket.destroy();
      // The edge notices, and ends the request.
      for (let i = 0; i < 50 && !lines.some((l) => l.msg === "http:request"); i++)
        await new Promise((resolve) => setTimeout(resolve, 20));
      expect(lines.filter((l) => l.level === "error")).toEqual([]);
      expect(lines).toContainEqual({ level: "info", msg: "request:aborted" });
      // Nothing of the file was kept as a finished upload.
      const rows = await h.deps.db.select().from(uploads).where(eq(uploads.tenantId, tenantId));
      expect(rows.filter((r) => r.completedAt !== null)).toEqual([]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
