export const jobStatuses = ["queued", "running", "succeeded", "failed", "canceled"] as const;
export type JobStatus = (typeof jobStatuses)[number];

export const finalStatuses: readonly JobStatus[] = ["succeeded", "failed", "canceled"];

export function isFinal(status: JobStatus): boolean {
  return finalStatuses.includes(status);
}

/**
 * Allowed transitions. `running → queued` is a redelivery (the node died or handed the job back);
 * `failed → queued` is a retry requested through the API; `queued → queued` a dead letter requeued
 * while its record still said queued (its last node died holding it). `running → running` is a
 * newer attempt taking over.
 */
const transitions: Record<JobStatus, readonly JobStatus[]> = {
  queued: ["queued", "running", "failed", "canceled"],
  running: ["running", "queued", "succeeded", "failed", "canceled"],
  succeeded: [],
  failed: ["queued"],
  canceled: [],
};

export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return transitions[from].includes(to);
}
