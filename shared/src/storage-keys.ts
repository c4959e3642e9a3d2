/**
 * Storage key layout. Keys are built only from server-generated ids and validated output names, so a
 * client can never address another tenant's objects or escape its prefix.
 */
const safeSegment = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

function segment(value: string): string {
  if (!safeSegment.test(value)) throw new Error(`unsafe storage key segment: ${JSON.stringify(value)}`);
  return value;
}

const safeFileSegment = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** A relative path written by the engine inside an output's folder ("720p/seg_00001.ts"). */
function relativeFile(path: string): string {
  const parts = path.split("/");
  if (parts.length > 4 || parts.some((p) => !safeFileSegment.test(p) || p.includes(".."))) {
    throw new Error(`unsafe storage key path: ${JSON.stringify(path)}`);
  }
  return parts.join("/");
}

export const storageKeys = {
  /** The folder holding every output of a job (what retention deletes). */
  jobFolder: (tenantId: string, jobId: string) => `${segment(tenantId)}/jobs/${segment(jobId)}`,
  upload: (tenantId: string, uploadId: string) => `${segment(tenantId)}/uploads/${segment(uploadId)}`,
  output: (tenantId: string, jobId: string, outputName: string, extension: string) =>
    `${segment(tenantId)}/jobs/${segment(jobId)}/${segment(outputName)}.${segment(extension)}`,
  /** One file of a multi-file output (HLS, thumbnails), under a folder named after the output. */
  outputFile: (tenantId: string, jobId: string, outputName: string, relativePath: string) =>
    `${segment(tenantId)}/jobs/${segment(jobId)}/${segment(outputName)}/${relativeFile(relativePath)}`,
};

/** Whether a key is one this layout could have produced (checked again where keys are read). */
export function isSafeStorageKey(key: string): boolean {
  const parts = key.split("/");
  return (
    parts.length >= 3 && parts.every((p) => /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(p) && !p.includes(".."))
  );
}
