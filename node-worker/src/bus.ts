import type { JobError, JobMessage } from "@framewire/shared";
import { subjects } from "@framewire/shared/nats";
import type { JetStreamClient } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { writeDeadLetter } from "./dead-letters";

/**
 * What a job run needs from NATS besides progress: hearing cancel requests and parking poison jobs.
 * The runner takes this instead of raw connection handles, so it reads as the job's life and can be
 * driven by a test double without a server.
 */
export interface JobBus {
  /** Calls `onCancel` when a cancel for the job arrives; returns the unsubscribe. */
  onCancel(jobId: string, onCancel: () => void): () => void;
  /** Stores a job that exhausted its deliveries in FW_DLQ. */
  deadLetter(entry: {
    job: JobMessage;
    subject: string;
    attempts: number;
    lastError: JobError;
  }): Promise<void>;
}

export function createNatsJobBus(nc: NatsConnection, js: JetStreamClient): JobBus {
  return {
    onCancel(jobId, onCancel) {
      const sub = nc.subscribe(subjects.cancel(jobId), { callback: () => onCancel() });
      return () => sub.unsubscribe();
    },
    deadLetter: (entry) => writeDeadLetter(js, entry),
  };
}
