import {
  type AttemptLogReport,
  type JobReport,
  type JobReportReply,
  jobReportReplySchema,
} from "@framewire/shared";
import type { Logger } from "pino";

export interface Reporter {
  /** Sends a state change to the edge, retrying with backoff until it is recorded or `signal` aborts. */
  report(jobId: string, report: JobReport, signal?: AbortSignal): Promise<JobReportReply>;
  /** Sends an attempt's log; retried like a report until it is stored or `signal` aborts. */
  log(jobId: string, log: AttemptLogReport, signal?: AbortSignal): Promise<void>;
}

export class ReportRejectedError extends Error {}

/**
 * The edge is the only database writer; nodes report over HTTP with their node token. Reports are
 * idempotent, so retrying after a timeout is always safe. The node keeps the JetStream message
 * alive meanwhile, so an unreachable edge delays a job's final state but never loses it.
 */
export function createReporter(options: {
  edgeUrl: string;
  nodeToken: string;
  logger: Logger;
  maxDelayMs?: number;
}): Reporter {
  const maxDelay = options.maxDelayMs ?? 10_000;

  /** POSTs `body` to an internal route until the edge answers 2xx; a 4xx (but 429) is final. */
  async function post(path: string, what: string, body: unknown, signal?: AbortSignal): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      signal?.throwIfAborted();
      try {
        const response = await fetch(`${options.edgeUrl}${path}`, {
          method: "POST",
          headers: { authorization: `Bearer ${options.nodeToken}`, "content-type": "application/json" },
          body: JSON.stringify(body),
          signal: signal
            ? AbortSignal.any([signal, AbortSignal.timeout(10_000)])
            : AbortSignal.timeout(10_000),
        });
        if (response.ok) return await response.json();
        const text = await response.text();
        // 4xx other than 429 will not get better by retrying: the report itself is wrong.
        if (response.status >= 400 && response.status < 500 && response.status !== 429) {
          throw new ReportRejectedError(`edge rejected ${what}: ${response.status} ${text}`);
        }
        throw new Error(`edge answered ${response.status}`);
      } catch (error) {
        if (error instanceof ReportRejectedError) throw error;
        signal?.throwIfAborted();
        const delay = Math.min(maxDelay, 200 * 2 ** attempt) * (0.5 + Math.random() / 2);
        options.logger.warn({ err: error, what, retry_in_ms: Math.round(delay) }, "report:retry");
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  return {
    async report(jobId, report, signal) {
      const reply = await post(
        `/internal/jobs/${jobId}/reports`,
        `${report.type} report for ${jobId}`,
        report,
        signal,
      );
      return jobReportReplySchema.parse(reply);
    },
    async log(jobId, log, signal) {
      await post(`/internal/jobs/${jobId}/logs`, `log of ${jobId} attempt ${log.attempt}`, log, signal);
    },
  };
}
