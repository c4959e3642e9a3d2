import { type JobReport, type JobReportReply, jobReportReplySchema } from "@framewire/shared";
import type { Logger } from "pino";

export interface Reporter {
  /** Sends a state change to the edge, retrying with backoff until it is recorded or `signal` aborts. */
  report(jobId: string, report: JobReport, signal?: AbortSignal): Promise<JobReportReply>;
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
  return {
    async report(jobId, report, signal) {
      for (let attempt = 0; ; attempt++) {
        signal?.throwIfAborted();
        try {
          const response = await fetch(`${options.edgeUrl}/internal/jobs/${jobId}/reports`, {
            method: "POST",
            headers: { authorization: `Bearer ${options.nodeToken}`, "content-type": "application/json" },
            body: JSON.stringify(report),
            signal: AbortSignal.timeout(10_000),
          });
          if (response.ok) return jobReportReplySchema.parse(await response.json());
          const body = await response.text();
          // 4xx other than 429 will not get better by retrying: the report itself is wrong.
          if (response.status >= 400 && response.status < 500 && response.status !== 429) {
            throw new ReportRejectedError(
              `edge rejected ${report.type} report for ${jobId}: ${response.status} ${body}`,
            );
          }
          throw new Error(`edge answered ${response.status}`);
        } catch (error) {
          if (error instanceof ReportRejectedError) throw error;
          const delay = Math.min(maxDelay, 200 * 2 ** attempt) * (0.5 + Math.random() / 2);
          options.logger.warn(
            { err: error, job: jobId, report: report.type, retry_in_ms: Math.round(delay) },
            "report:retry",
          );
          await new Promise((resolve) => setTimeout(resolve, delay));
        }
      }
    },
  };
}
