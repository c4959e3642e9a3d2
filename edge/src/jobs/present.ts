import { type Job, type JobEvent, type ProgressTokenClaims, signToken } from "@framewire/shared";
import type { JobEventRow, JobRow } from "@framewire/shared/db";
import type { EdgeConfig } from "../config";
import type { EdgeDeps } from "../deps";
import { hlsLink } from "../storage/hls-playlists";
import { progressExpiry } from "./progress-expiry";

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * Progress URLs signed within the same minute share their expiry, so a job's URL is signed once a
 * minute, not on every read of the job (the HMAC was a tenth of a GET's time). Bounded: the oldest
 * entries go first.
 */
const progressUrlCaches = new WeakMap<EdgeConfig, Map<string, { exp: number; url: string }>>();
const progressUrlCacheMax = 10_000;

export async function progressUrl(config: EdgeConfig, job: Pick<JobRow, "id" | "tenantId">, now: number) {
  const exp = progressExpiry(config, now);
  let progressUrlCache = progressUrlCaches.get(config);
  if (!progressUrlCache) {
    progressUrlCache = new Map();
    progressUrlCaches.set(config, progressUrlCache);
  }
  const cacheKey = `${job.id}:${job.tenantId}`;
  const hit = progressUrlCache.get(cacheKey);
  if (hit?.exp === exp) return hit.url;
  const claims: ProgressTokenClaims = { job: job.id, tenant: job.tenantId, exp };
  const token = await signToken(config.tokenSecret, "progress", claims);
  const url = `${config.progressUrl}/v1/jobs/${job.id}/progress?token=${token}`;
  progressUrlCache.delete(cacheKey);
  progressUrlCache.set(cacheKey, { exp, url });
  if (progressUrlCache.size > progressUrlCacheMax) {
    const oldest = progressUrlCache.keys().next().value;
    if (oldest !== undefined) progressUrlCache.delete(oldest);
  }
  return url;
}

/**
 * A job as the public API shows it. Outputs carry a download URL (signed for the local store,
 * presigned for S3; HLS playlists and DASH manifests through the edge) until retention deletes them; then
 * `expired: true` and no URL.
 */
export async function presentJob(
  deps: Pick<EdgeDeps, "config" | "storage">,
  job: JobRow,
  now: number,
): Promise<Job> {
  const { config, storage } = deps;
  const expired = job.outputsExpiredAt !== null;
  const retention = config.retention.outputMs;
  const expiresAt = job.finishedAt !== null && retention !== null ? job.finishedAt + retention : null;
  // Playlists and manifests are served by the edge with every URI rewritten to its own link, so an
  // HLS or DASH output's `url` plays in any player (see storage/hls-playlists.ts); other files link
  // to the store.
  const link = storage && !expired ? hlsLink(storage, config, now) : null;
  const outputs = job.outputs
    ? await Promise.all(
        job.outputs.map(async (o) => {
          // In the tenant's own bucket (a destination): no link from us, and retention never
          // deletes it, so it never expires here.
          if (o.destination) {
            const files = o.files?.map((f) => ({ ...f, url: null }));
            return { ...o, url: null, expired: false, expires_at: null, files };
          }
          return {
            ...o,
            url: link ? await link(o.storage_key) : null,
            expired,
            expires_at: iso(expiresAt),
            // Multi-file outputs: a link for every file (each thumbnail, the sprite, HLS playlists, a DASH manifest).
            files: o.files
              ? await Promise.all(
                  o.files.map(async (f) => ({
                    ...f,
                    url: link ? await link(f.storage_key) : null,
                  })),
                )
              : undefined,
          };
        }),
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
    created_at: new Date(job.createdAt).toISOString(),
    updated_at: new Date(job.updatedAt).toISOString(),
    started_at: iso(job.startedAt),
    finished_at: iso(job.finishedAt),
    progress_url: await progressUrl(config, job, now),
    template:
      job.templateId && job.templateName && job.templateVersion !== null
        ? { id: job.templateId, name: job.templateName, version: job.templateVersion }
        : null,
    batch_id: job.batchId,
    links: {
      self,
      events: `${self}/events`,
      cancel: self,
      retry: `${self}/retry`,
      webhooks: `${self}/webhooks`,
    },
  };
}

export function presentEvent(event: JobEventRow): JobEvent {
  return {
    id: event.id,
    type: event.type,
    status: event.status,
    attempt: event.attempt,
    data: event.data ?? {},
    at: new Date(event.createdAt).toISOString(),
  };
}
