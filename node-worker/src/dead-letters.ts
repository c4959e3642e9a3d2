import {
  type DeadLetterMessage,
  decodeMessage,
  type JobError,
  type JobMessage,
  jobMessageSchema,
  maxDeliveriesAdvisorySchema,
} from "@framewire/shared";
import { streams, subjects } from "@framewire/shared/nats";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import type { Logger } from "pino";
import type { Reporter } from "./reporter";

const encoder = new TextEncoder();

/** Stores a job that exhausted its deliveries in FW_DLQ (one entry per job; a newer one replaces it). */
export async function writeDeadLetter(
  js: JetStreamClient,
  entry: { job: JobMessage; subject: string; attempts: number; lastError: JobError | null },
): Promise<void> {
  const message: DeadLetterMessage = {
    job_id: entry.job.job_id,
    tenant_id: entry.job.tenant_id,
    subject: entry.subject,
    attempts: entry.attempts,
    last_error: entry.lastError,
    dead_at: new Date().toISOString(),
    job: entry.job,
  };
  await js.publish(subjects.deadLetter(entry.job.job_id), encoder.encode(JSON.stringify(message)));
}

/**
 * When the node holding a job's last delivery dies, nobody acks or reports it: JetStream only
 * emits a MAX_DELIVERIES advisory, and on nats-server 2.9 the message then sits in the work-queue
 * stream until max_age. Every node listens (as one queue group, so one handles each advisory) and
 * moves such a message to FW_DLQ, deletes it from FW_JOBS and reports the job failed.
 */
export function startDeadLetterMover(options: {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  reporter: Reporter;
  nodeId: string;
  logger: Logger;
}) {
  const { nc, js, jsm, reporter, logger } = options;
  const subject = `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${streams.jobs}.*`;
  const sub = nc.subscribe(subject, {
    queue: "fw_dead_letter_movers",
    callback: (_err, msg) => {
      void move(msg.data).catch((error: unknown) =>
        logger.error({ err: error, subject: msg.subject }, "dlq:move:failed"),
      );
    },
  });

  async function move(data: Uint8Array): Promise<void> {
    const advisory = decodeMessage(maxDeliveriesAdvisorySchema, data);
    const stored = await jsm.streams.getMessage(streams.jobs, { seq: advisory.stream_seq }).catch(() => null);
    if (!stored) return; // already acked or moved
    const job = decodeMessage(jobMessageSchema, stored.data);
    const lastError: JobError = {
      code: "deliveries_exhausted",
      message: `All ${advisory.deliveries} delivery attempts ended without a result; the node running the last one stopped responding.`,
    };
    await writeDeadLetter(js, { job, subject: stored.subject, attempts: advisory.deliveries, lastError });
    await jsm.streams.deleteMessage(streams.jobs, advisory.stream_seq);
    await reporter.report(job.job_id, {
      type: "failed",
      attempt: advisory.deliveries,
      attempt_base: job.attempt_base ?? 0,
      node_id: options.nodeId,
      error: lastError,
      retryable: false,
    });
    logger.warn({ job: job.job_id, attempts: advisory.deliveries }, "job:dead-lettered");
  }

  return { stop: () => sub.unsubscribe() };
}
