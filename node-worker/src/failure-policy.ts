import type { JobError } from "@framewire/shared";

/**
 * What a failed delivery means, decided in one place from the facts alone, so every branch has a
 * unit test (failure-policy.test.ts). The runner carries the outcome out:
 * - `hand-back`: the node is draining; report `requeued` and nak at once, so another node (or this
 *   one restarted) runs it without waiting for ack_wait.
 * - `canceled`: someone canceled the job; report `canceled` and ack.
 * - `retry`: a retryable failure with deliveries left; report `requeued` with the error and nak
 *   with a backoff, so the next delivery (maybe on another node) tries again.
 * - `fail`: report `failed` and ack; `deadLetter` when every delivery failed for a retryable reason
 *   (a poison job an operator may requeue once the cause is fixed).
 */
export type FailureOutcome =
  | { action: "hand-back"; reason: string }
  | { action: "canceled" }
  | { action: "retry"; delayMs: number; reason: string }
  | { action: "fail"; deadLetter: boolean };

export interface FailureFacts {
  error: JobError;
  retryable: boolean;
  /** A cancel request for this job arrived (fw.cancel.<jobId>). */
  canceledByRequest: boolean;
  /** The node is draining (SIGTERM past its deadline): running work is handed back, not failed. */
  draining: boolean;
  /** This delivery's count (1 on the first delivery). */
  attempt: number;
  /** The fleet's max_deliver: no delivery after this one. */
  maxDeliver: number;
}

/** Backoff before the next delivery: 1 s, 2 s, 4 s, … capped at a minute. */
export function retryDelayMs(attempt: number): number {
  return Math.min(60_000, 500 * 2 ** attempt);
}

export function decideFailure(facts: FailureFacts): FailureOutcome {
  const stopped = facts.error.code === "canceled";
  if (stopped && !facts.canceledByRequest && facts.draining) {
    return { action: "hand-back", reason: "the node running it shut down before it finished" };
  }
  if (stopped) return { action: "canceled" };
  if (facts.retryable && facts.attempt < facts.maxDeliver) {
    return {
      action: "retry",
      delayMs: retryDelayMs(facts.attempt),
      reason: "a retryable failure; it will be tried again",
    };
  }
  return { action: "fail", deadLetter: facts.retryable };
}
