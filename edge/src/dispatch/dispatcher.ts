import type { JobMessage, Pool, Priority, StateMessage } from "@framewire/shared";

export interface DispatchMeta {
  requestId: string;
  pool: Pool;
  priority: Priority;
  /**
   * Nats-Msg-Id: the job id for the first dispatch, `<id>.r<generation>` for a retry or requeue, so
   * the outbox's re-publish of the same dispatch is deduplicated but a new dispatch is not.
   */
  msgId: string;
}

export interface DispatcherHealth {
  ok: boolean;
  detail?: string;
  /** Messages waiting per `<pool>.<priority>`. */
  queueDepth?: Record<string, number>;
  /** FW_JOBS's bytes against its limit: past it, publishes are refused and jobs wait in the outbox. */
  store?: { bytes: number; maxBytes: number };
}

/** How the edge hands jobs to the fleet. NATS over TCP on Node, over WebSocket on Workers. */
export interface Dispatcher {
  /** Publishes with Nats-Msg-Id = meta.msgId, so a re-publish by the outbox sweeper is deduplicated. */
  dispatch(message: JobMessage, meta: DispatchMeta): Promise<void>;
  /** Tells progress listeners about a state the edge decided (e.g. a queued job canceled). */
  announce(state: StateMessage): Promise<void>;
  /** Asks whichever node runs the job to stop it. */
  cancel(jobId: string): Promise<void>;
  health(): Promise<DispatcherHealth>;
  /**
   * Tells every edge process listening (other Node processes and instances) that a key was revoked,
   * so they drop it from their key cache now rather than when its entry expires. Workers isolates
   * cannot listen; they keep the cache's TTL bound.
   */
  announceKeyRevoked?(keyId: string): Promise<void>;
  close(): Promise<void>;
  /**
   * Set when the dispatcher records each dispatch in the job row itself (the Workers NATS object
   * does, batched, off the request's path); otherwise the caller marks it after dispatch().
   */
  readonly recordsDispatch?: boolean;
}
