import type { EdgeDeps } from "./deps";

/** Prometheus metrics as the app sees them; the Node entry implements it with prom-client. */
export interface EdgeMetrics {
  /** `route` is the matched pattern (`/v1/jobs/:id`), never the raw path, to bound cardinality. */
  observeRequest(method: string, route: string, status: number, seconds: number): void;
  render(deps: EdgeDeps): Promise<{ contentType: string; body: string }>;
}
