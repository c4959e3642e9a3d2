import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";

export const gatewayVersion = "0.1.0";

/** The gateway's Prometheus metrics (GET /metrics on the gateway port). */
export function createGatewayMetrics(jobsWatched: () => number) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: "fw_build_info",
    help: "Always 1: the gateway's version as a label",
    labelNames: ["service", "version"] as const,
    registers: [registry],
  }).set({ service: "gateway", version: gatewayVersion }, 1);
  return {
    registry,
    connections: new Gauge({
      name: "fw_gateway_connections",
      help: "Open progress sockets",
      registers: [registry],
    }),
    sent: new Counter({
      name: "fw_gateway_messages_sent_total",
      help: "Progress messages sent",
      registers: [registry],
    }),
    dropped: new Counter({
      name: "fw_gateway_messages_dropped_total",
      help: "Slow clients: sockets that fell maxBackpressure behind (messages to them were dropped) and were disconnected with 4420",
      registers: [registry],
    }),
    refused: new Counter({
      name: "fw_gateway_refused_total",
      help: "Sockets refused, by close code",
      labelNames: ["code"],
      registers: [registry],
    }),
    jobsWatched: new Gauge({
      name: "fw_gateway_jobs_watched",
      help: "Jobs with at least one socket (one NATS subscription each)",
      registers: [registry],
      collect() {
        this.set(jobsWatched());
      },
    }),
  };
}
