import {
  FramewireError,
  newId,
  storageKeys,
  type Upload,
  type UploadTarget,
  uploadRequestSchema,
} from "@framewire/shared";
import type { UploadRow } from "@framewire/shared/db";
import { type Context, Hono } from "hono";
import { requireScope } from "../auth/authenticate";
import type { EdgeDeps } from "../deps";
import type { EdgeEnv } from "../env";
import { requestHeader } from "../request-header";
import type { ObjectStore } from "../storage/object-store";
import { UploadTooLargeError } from "../storage/object-store";
import { confirmUpload } from "../uploads/confirm";
import { completeUpload, findUpload, insertUpload } from "../uploads/repository";
import { isJsonBody, parseOrThrow, readJson } from "../validation";

/**
 * Two ways in: a JSON body asks where to PUT the file (this edge for the local store, a presigned
 * S3 URL for S3 storage); any other body *is* the file (one request for curl users; local store).
 */
export function uploadsRoutes() {
  const app = new Hono<EdgeEnv>();

  app.post("/", requireScope("jobs:write"), async (c) => {
    const deps = c.get("deps");
    const store = requireStore(deps);
    const { tenantId } = c.get("auth");
    const isJson = isJsonBody(c);
    const request = isJson ? parseOrThrow(uploadRequestSchema, await readJson(c), "upload") : {};
    if (!isJson && !store.bytes) throw noBytesHere();
    const sizeBytes = request.size_bytes ?? null;
    if (sizeBytes !== null && sizeBytes > deps.config.maxUploadBytes) {
      throw new FramewireError(
        "payload_too_large",
        `Uploads are limited to ${deps.config.maxUploadBytes} bytes.`,
      );
    }
    if (isJson && sizeBytes === null && store.kind === "s3") {
      throw new FramewireError("validation_failed", "size_bytes: required; the upload URL is signed for it", {
        errors: [{ field: "size_bytes", message: "required: the upload URL is signed for this size" }],
      });
    }
    const id = newId("upl", deps.clock());
    const contentType = isJson ? (request.content_type ?? null) : (requestHeader(c, "content-type") ?? null);
    const storageKey = storageKeys.upload(tenantId, id);
    await insertUpload(deps.db, { id, tenantId, storageKey, contentType, sizeBytes, now: deps.clock() });
    if (isJson) {
      const target = await store.uploadTarget({ id, key: storageKey, sizeBytes, contentType }, deps.clock());
      const answer: UploadTarget = {
        id,
        status: "pending",
        upload_url: target.url,
        method: target.method,
        headers: target.headers,
        expires_at: target.expires_at,
        max_bytes: deps.config.maxUploadBytes,
      };
      return c.json(answer, 201);
    }
    const upload = await findUpload(deps.db, tenantId, id);
    return c.json(await receive(c, deps, upload as UploadRow), 201);
  });

  app.put("/:id", requireScope("jobs:write"), async (c) => {
    const deps = c.get("deps");
    if (!requireStore(deps).bytes) throw noBytesHere();
    const upload = await findUpload(deps.db, c.get("auth").tenantId, c.req.param("id"));
    if (!upload)
      throw new FramewireError("not_found", `No upload ${c.req.param("id")} exists for this tenant.`);
    if (upload.completedAt !== null || upload.expiredAt !== null)
      throw new FramewireError("conflict", "This upload has already been received.");
    return c.json(await receive(c, deps, upload));
  });

  app.get("/:id", requireScope("jobs:read"), async (c) => {
    const deps = c.get("deps");
    const upload = await findUpload(deps.db, c.get("auth").tenantId, c.req.param("id"));
    if (!upload)
      throw new FramewireError("not_found", `No upload ${c.req.param("id")} exists for this tenant.`);
    return c.json(presentUpload(deps, await confirmUpload(deps, upload)));
  });

  return app;
}

function requireStore(deps: EdgeDeps): ObjectStore {
  if (!deps.storage) {
    throw new FramewireError(
      "conflict",
      "This edge has no object store configured for uploads (set FW_STORAGE=s3 and FW_S3_*).",
    );
  }
  return deps.storage;
}

const noBytesHere = () =>
  new FramewireError(
    "conflict",
    'Uploads go straight to object storage here: POST a JSON body ({"size_bytes": …}) for an upload URL.',
  );

async function receive(c: Context<EdgeEnv>, deps: EdgeDeps, upload: UploadRow) {
  const files = deps.storage?.bytes;
  if (!files) throw noBytesHere();
  const body = c.req.raw.body;
  if (!body) throw new FramewireError("validation_failed", "The upload body is empty.");
  let sizeBytes: number;
  try {
    ({ sizeBytes } = await files.put(upload.storageKey, body, deps.config.maxUploadBytes));
  } catch (error) {
    if (error instanceof UploadTooLargeError) {
      throw new FramewireError("payload_too_large", `Uploads are limited to ${error.maxBytes} bytes.`);
    }
    throw error;
  }
  if (sizeBytes === 0) throw new FramewireError("validation_failed", "The upload body is empty.");
  const now = deps.clock();
  await completeUpload(deps.db, upload.id, sizeBytes, now);
  return presentUpload(deps, { ...upload, sizeBytes, completedAt: now });
}

function presentUpload(deps: EdgeDeps, upload: UploadRow): Upload {
  const retention = deps.config.retention.inputMs;
  return {
    id: upload.id,
    status: upload.expiredAt !== null ? "expired" : upload.completedAt === null ? "pending" : "complete",
    size_bytes: upload.sizeBytes,
    content_type: upload.contentType,
    created_at: new Date(upload.createdAt).toISOString(),
    expires_at: retention === null ? null : new Date(upload.createdAt + retention).toISOString(),
  };
}
