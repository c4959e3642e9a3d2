import type { Logger } from "./logger";

/**
 * Work that outlives the request that started it (sending a webhook right after a job changed
 * state). On Node it simply runs in the process; on Workers each task is also handed to
 * `ctx.waitUntil`, or the isolate could be stopped before it finishes. `settled()` waits for what
 * is in flight (shutdown, and before a Worker closes its database client). A task that is lost
 * anyway (a crash) is picked up by the sweeper: this is a fast path, never the only path.
 */
export interface BackgroundTasks {
  /** Starts `task` now; it may outlive the request. */
  run(task: () => Promise<unknown>): void;
  settled(): Promise<void>;
}

export function createBackgroundTasks(
  logger: Pick<Logger, "warn">,
  waitUntil?: (task: Promise<unknown>) => void,
): BackgroundTasks {
  const inFlight = new Set<Promise<unknown>>();
  return {
    run(task) {
      const tracked = Promise.resolve()
        .then(task)
        .catch((error: unknown) => logger.warn({ err: error }, "background:task:failed"))
        .finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      waitUntil?.(tracked);
    },
    async settled() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
}
