/**
 * Coarse progress for `job.progress` webhooks, sent to the edge only when the job asks for it
 * (JobMessage.progress_report_sec). The engine ticks many times a second; this passes on at most
 * one report per interval, in whole percent, and only when the percent moved. The edge bounds the
 * webhooks again on its side, so a misbehaving node can't flood a receiver.
 */
export function createProgressReportThrottle(options: {
  intervalMs: number;
  send: (percent: number | null) => void;
  now?: () => number;
}): (percent: number | null) => void {
  const now = options.now ?? Date.now;
  let lastAt = Number.NEGATIVE_INFINITY;
  let lastPercent: number | null | undefined;
  return (percent) => {
    const at = now();
    if (at - lastAt < options.intervalMs) return;
    const whole = percent === null ? null : Math.floor(percent);
    if (whole === lastPercent) return;
    lastAt = at;
    lastPercent = whole;
    options.send(whole);
  };
}
