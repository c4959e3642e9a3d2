import type { Db } from "./db";
import type { Dispatcher } from "./dispatch/dispatcher";
import type { FleetView } from "./fleet/fleet-view";
import type { MaintenanceSwitch } from "./settings";

/** What a scrape reads (job counts, queues, the fleet, maintenance), given when rendering. */
export interface MetricSources {
  db: Db;
  dispatcher: Pick<Dispatcher, "health">;
  fleet: Pick<FleetView, "nodes" | "deadLetterCount">;
  maintenance: Pick<MaintenanceSwitch, "get">;
  clock: () => number;
}

export type WebhookOutcome = "succeeded" | "retrying" | "failed";

/** Prometheus metrics as the app sees them; the Node entry implements it with prom-client. */
export interface EdgeMetrics {
  /** `route` is the matched pattern (`/v1/jobs/:id`), never the raw path, to bound cardinality. */
  observeRequest(method: string, route: string, status: number, seconds: number): void;
  rateLimited(by: "ip" | "key"): void;
  keyCacheLookup(hit: boolean): void;
  webhookAttempt(outcome: WebhookOutcome, seconds: number): void;
  /** Whether a scrape with this Authorization header may read the metrics (FW_METRICS_TOKEN). */
  authorize(authorization: string | undefined): boolean;
  render(sources: MetricSources): Promise<{ contentType: string; body: string }>;
}
