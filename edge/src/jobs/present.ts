import { type DownloadTokenClaims, type ProgressTokenClaims, signToken } from "@framewire/shared";
import type { JobEventRow, JobRow } from "@framewire/shared/db";
import type { EdgeConfig } from "../config";

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export async function progressUrl(config: EdgeConfig, job: Pick<JobRow, "id" | "tenantId">, now: number) {
  const claims: ProgressTokenClaims = {
    job: job.id,
    tenant: job.tenantId,
    exp: Math.floor(now / 1000) + config.progressTtlSec,
  };
  const token = await signToken(config.tokenSecret, "progress", claims);
  return `${config.progressUrl}/v1/jobs/${job.id}/progress?token=${token}`;
}

export async function downloadUrl(config: EdgeConfig, key: string, now: number): Promise<string> {
  const claims: DownloadTokenClaims = { key, exp: Math.floor(now / 1000) + config.downloadTtlSec };
  const token = await signToken(config.tokenSecret, "download", claims);
  return `${config.publicUrl}/files/${key}?token=${token}`;
}

/** A job as the public API shows it. */
export async function presentJob(config: EdgeConfig, job: JobRow, now: number) {
  const outputs = job.outputs
    ? await Promise.all(
        job.outputs.map(async (o) => ({ ...o, url: await downloadUrl(config, o.storage_key, now) })),
      )
    : [];
  const self = `${config.publicUrl}/v1/jobs/${job.id}`;
  return {
    id: job.id,
    status: job.status,
    priority: job.priority,
    attempts: job.attempts,
    spec: job.spec,
    error: job.error ?? null,
    outputs,
    engine: job.engine,
    created_at: iso(job.createdAt),
    updated_at: iso(job.updatedAt),
    started_at: iso(job.startedAt),
    finished_at: iso(job.finishedAt),
    progress_url: await progressUrl(config, job, now),
    links: {
      self,
      events: `${self}/events`,
      cancel: self,
      retry: `${self}/retry`,
      webhooks: `${self}/webhooks`,
    },
  };
}

export function presentEvent(event: JobEventRow) {
  return {
    id: event.id,
    type: event.type,
    status: event.status,
    attempt: event.attempt,
    data: event.data ?? {},
    at: new Date(event.createdAt).toISOString(),
  };
}
