import type { Db } from "./db";
import type { Dispatcher } from "./dispatch/dispatcher";

/** What a scrape reads (the job counts and the queue depth), given when rendering. */
export interface MetricSources {
  db: Db;
  dispatcher: Pick<Dispatcher, "health">;
  clock: () => number;
}

/** Prometheus metrics as the app sees them; the Node entry implements it with prom-client. */
export interface EdgeMetrics {
  /** `route` is the matched pattern (`/v1/jobs/:id`), never the raw path, to bound cardinality. */
  observeRequest(method: string, route: string, status: number, seconds: number): void;
  render(sources: MetricSources): Promise<{ contentType: string; body: string }>;
}
