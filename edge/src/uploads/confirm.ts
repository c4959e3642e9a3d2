import { FramewireError } from "@framewire/shared";
import type { UploadRow } from "@framewire/shared/db";
import type { EdgeDeps } from "../deps";
import { completeUpload } from "./repository";

/**
 * An upload PUT straight to S3 is only known to the edge once it looks: the first time anyone asks
 * (GET /v1/uploads/:id, or a job naming it), the object's real size is read with HeadObject. Too
 * large, empty or not the size that was signed: the object is deleted and the upload refused, so
 * no job ever runs on it. A local upload was measured as it streamed in, so it needs no check.
 */
export async function confirmUpload(deps: EdgeDeps, upload: UploadRow): Promise<UploadRow> {
  const { storage } = deps;
  if (upload.completedAt !== null || upload.expiredAt !== null || storage?.kind !== "s3") return upload;
  const object = await storage.head(upload.storageKey);
  if (!object) return upload;
  const max = deps.config.maxUploadBytes;
  const refusal =
    object.sizeBytes > max
      ? new FramewireError("payload_too_large", `Uploads are limited to ${max} bytes; it was deleted.`)
      : object.sizeBytes === 0
        ? new FramewireError("validation_failed", "The upload is empty; it was deleted.")
        : upload.sizeBytes !== null && object.sizeBytes !== upload.sizeBytes
          ? new FramewireError(
              "validation_failed",
              `The upload is ${object.sizeBytes} bytes, not the ${upload.sizeBytes} it was signed for; it was deleted.`,
            )
          : null;
  if (refusal) {
    await storage.deleteTree(upload.storageKey);
    throw refusal;
  }
  const now = deps.clock();
  await completeUpload(deps.db, upload.id, object.sizeBytes, now);
  return { ...upload, sizeBytes: object.sizeBytes, completedAt: now };
}
