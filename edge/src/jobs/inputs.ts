import { FramewireError, type JobInput, type JobSpec } from "@framewire/shared";
import type { UploadRow } from "@framewire/shared/db";
import type { EdgeDeps } from "../deps";
import { confirmUpload } from "../uploads/confirm";
import { findUpload } from "../uploads/repository";

/**
 * Every input a job reads, with where it sits in the spec (the job input or its named inputs, its
 * subtitle files, and watermark images). Named uploads reach the node by their upload id
 * (storageKeys.upload), like subtitle files and watermark images; only the single `input`'s key
 * travels in the job message.
 */
export function inputsOf(spec: JobSpec): { field: string; input: JobInput }[] {
  const found: { field: string; input: JobInput }[] = spec.input
    ? [{ field: "input", input: spec.input }]
    : [];
  for (const [name, input] of Object.entries(spec.inputs ?? {}))
    found.push({ field: `inputs.${name}`, input });
  for (const [name, subtitle] of Object.entries(spec.subtitles ?? {}))
    found.push({ field: `subtitles.${name}.input`, input: subtitle.input });
  spec.outputs.forEach((output, i) => {
    const image = output.type === "video" ? output.video.watermark?.image : undefined;
    if (image) found.push({ field: `outputs.${i}.video.watermark.image`, input: image });
  });
  return found;
}

/**
 * Checks a job's inputs at submit time and returns the storage key of an uploaded job input (null
 * for other inputs). `s3` inputs must name a bucket the operator allows (the nodes check again);
 * every upload (the input, subtitle files, watermark images) must be this tenant's, received (S3: its size
 * checked) and not expired.
 */
export async function resolveInputs(
  deps: EdgeDeps,
  tenantId: string,
  spec: JobSpec,
  /** The uploads already read (by readSubmission); others are read here. */
  known?: ReadonlyMap<string, UploadRow | null>,
): Promise<string | null> {
  let inputKey: string | null = null;
  for (const { field, input } of inputsOf(spec)) {
    if (input.type === "s3" && !deps.config.s3InputBuckets.includes(input.bucket)) {
      throw new FramewireError(
        "input_not_allowed",
        `${field}.bucket: s3 inputs may not read from ${input.bucket}`,
        {
          errors: [{ field: `${field}.bucket`, message: "not a bucket this service reads inputs from" }],
        },
      );
    }
    if (input.type !== "upload") continue;
    const found = known?.has(input.upload_id)
      ? (known.get(input.upload_id) ?? null)
      : await findUpload(deps.db, tenantId, input.upload_id);
    const key = await receivedUpload(deps, found, `${field}.upload_id`);
    if (field === "input") inputKey = key;
  }
  return inputKey;
}

async function receivedUpload(deps: EdgeDeps, found: UploadRow | null, field: string): Promise<string> {
  if (found?.expiredAt != null) {
    throw new FramewireError("upload_expired", `${field}: this upload has expired and was deleted`, {
      errors: [{ field, message: "expired" }],
    });
  }
  const upload = found ? await confirmUpload(deps, found) : null;
  if (!upload || upload.completedAt === null) {
    throw new FramewireError("validation_failed", `${field}: no finished upload with this id`, {
      errors: [{ field, message: "no finished upload with this id" }],
    });
  }
  return upload.storageKey;
}
