import { FramewireError, newId, storageKeys } from "@framewire/shared";
import type { UploadRow } from "@framewire/shared/db";
import { type Context, Hono } from "hono";
import { z } from "zod";
import { requireScope } from "../auth/authenticate";
import type { EdgeDeps } from "../deps";
import type { EdgeEnv } from "../env";
import { UploadTooLargeError } from "../storage/file-store";
import { completeUpload, findUpload, insertUpload } from "../uploads/repository";
import { parseOrThrow } from "../validation";

const uploadRequestSchema = z.strictObject({
  content_type: z.string().max(255).optional(),
});

/**
 * Two ways in: a JSON body asks where to PUT the file (the edge itself for the local store; a
 * presigned URL once S3 is configured), any other body *is* the file (one request for curl users).
 */
export function uploadsRoutes() {
  const app = new Hono<EdgeEnv>();

  app.post("/", requireScope("jobs:write"), async (c) => {
    const deps = c.get("deps");
    const { tenantId } = c.get("auth");
    const isJson = (c.req.header("content-type") ?? "").includes("application/json");
    const request = isJson
      ? parseOrThrow(uploadRequestSchema, await c.req.json().catch(() => null), "upload")
      : {};
    const id = newId("upl", deps.clock());
    const contentType = isJson ? (request.content_type ?? null) : (c.req.header("content-type") ?? null);
    await insertUpload(deps.db, {
      id,
      tenantId,
      storageKey: storageKeys.upload(tenantId, id),
      contentType,
      now: deps.clock(),
    });
    if (isJson) {
      return c.json(
        { id, status: "pending", upload_url: `${deps.config.publicUrl}/v1/uploads/${id}`, method: "PUT" },
        201,
      );
    }
    const upload = await findUpload(deps.db, tenantId, id);
    return c.json(await receive(c, deps, upload as UploadRow), 201);
  });

  app.put("/:id", requireScope("jobs:write"), async (c) => {
    const deps = c.get("deps");
    const upload = await findUpload(deps.db, c.get("auth").tenantId, c.req.param("id"));
    if (!upload)
      throw new FramewireError("not_found", `No upload ${c.req.param("id")} exists for this tenant.`);
    if (upload.completedAt !== null)
      throw new FramewireError("conflict", "This upload has already been received.");
    return c.json(await receive(c, deps, upload));
  });

  app.get("/:id", requireScope("jobs:read"), async (c) => {
    const deps = c.get("deps");
    const upload = await findUpload(deps.db, c.get("auth").tenantId, c.req.param("id"));
    if (!upload)
      throw new FramewireError("not_found", `No upload ${c.req.param("id")} exists for this tenant.`);
    return c.json(presentUpload(upload));
  });

  return app;
}

async function receive(c: Context<EdgeEnv>, deps: EdgeDeps, upload: UploadRow) {
  if (!deps.files) {
    throw new FramewireError(
      "conflict",
      "This edge has no local store; request an upload URL with a JSON body.",
    );
  }
  const body = c.req.raw.body;
  if (!body) throw new FramewireError("validation_failed", "The upload body is empty.");
  let sizeBytes: number;
  try {
    ({ sizeBytes } = await deps.files.put(upload.storageKey, body, deps.config.maxUploadBytes));
  } catch (error) {
    if (error instanceof UploadTooLargeError) {
      throw new FramewireError("payload_too_large", `Uploads are limited to ${error.maxBytes} bytes.`);
    }
    throw error;
  }
  if (sizeBytes === 0) throw new FramewireError("validation_failed", "The upload body is empty.");
  const now = deps.clock();
  await completeUpload(deps.db, upload.id, sizeBytes, now);
  return presentUpload({ ...upload, sizeBytes, completedAt: now });
}

function presentUpload(upload: UploadRow) {
  return {
    id: upload.id,
    status: upload.completedAt === null ? "pending" : "complete",
    size_bytes: upload.sizeBytes,
    content_type: upload.contentType,
    created_at: new Date(upload.createdAt).toISOString(),
  };
}
