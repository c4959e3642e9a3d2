import type { EdgeConfig } from "../config";

/**
 * The progress token's expiry (seconds): it lives progressTtlSec, give or take less than a minute
 * (rounded down). It moves once a minute, which also bounds how long a rendered view lives
 * (jobs/view-cache.ts).
 */
export function progressExpiry(config: Pick<EdgeConfig, "progressTtlSec">, now: number): number {
  return Math.floor((now / 1000 + config.progressTtlSec) / 60) * 60;
}
