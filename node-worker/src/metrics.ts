import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { timingSafeEqual } from "@framewire/shared";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/**
 * A processing node's Prometheus metrics (GET /metrics on FW_METRICS_PORT). Names follow
 * Prometheus' conventions: base units (seconds, bytes), `_total` on counters only, and labels from
 * bounded sets (outcomes, the error catalog's codes, output types, engines, pools, slot indexes),
 * never job or tenant ids.
 */

/** What ended an attempt, as the node saw it (the job may be retried on another node). */
export type AttemptOutcome = "succeeded" | "failed" | "retrying" | "handed_back" | "canceled";

export interface NodeGauges {
  slotsBusy(): number;
  slotsCapacity: number;
  /** Per slot: its resident memory (null: unknown). */
  slotRss(): Promise<{ index: number; rssBytes: number | null }[]>;
  slotMemoryLimitBytes: number;
  tempDisk(): { free_bytes: number; size_bytes: number } | null;
  hardwareSessionsInUse(): number;
  hardwareEncodersOpen: number;
  accepting(): boolean;
  clockSkewMs(): number | null;
  storageOk(): boolean | null;
}

export interface NodeMetrics {
  readonly registry: Registry;
  attempt(outcome: AttemptOutcome, code: string | null, engine: string, seconds: number): void;
  output(type: string, engine: string, seconds: number, mediaSeconds: number | null): void;
  hardwareFallback(): void;
  storageError(op: "upload" | "download"): void;
}

const buildLabels = [
  "service",
  "version",
  "engine",
  "ffmpeg",
  "libavcodec",
  "libavformat",
  "libavfilter",
  "libavutil",
  "libswscale",
  "libswresample",
] as const;

export function createNodeMetrics(options: {
  version: string;
  engine: string;
  versions: Record<string, string>;
  pools: string[];
  gauges: NodeGauges;
}): NodeMetrics {
  const { gauges } = options;
  const registry = new Registry();
  const registers = [registry];
  // Process facts (CPU, resident memory, open files, event loop lag) for the node process itself.
  collectDefaultMetrics({ register: registry });

  const build = new Gauge({
    name: "fw_build_info",
    help: "Always 1: the node's version, engine and FFmpeg library versions as labels",
    labelNames: buildLabels,
    registers,
  });
  build.set(
    Object.fromEntries(
      buildLabels.map((label) => [
        label,
        label === "service"
          ? "node"
          : label === "version"
            ? options.version
            : label === "engine"
              ? options.engine
              : (options.versions[label] ?? ""),
      ]),
    ),
    1,
  );
  const pools = new Gauge({
    name: "fw_node_pools",
    help: "1 for each pool this node serves",
    labelNames: ["pool"] as const,
    registers,
  });
  for (const pool of options.pools) pools.set({ pool }, 1);

  const attempts = new Counter({
    name: "fw_node_jobs_total",
    help: "Job attempts this node ended, by outcome and error code (empty when it succeeded)",
    labelNames: ["outcome", "code"] as const,
    registers,
  });
  const attemptSeconds = new Histogram({
    name: "fw_node_job_duration_seconds",
    help: "Wall time of a job attempt on this node (input fetch, engine run, upload), by outcome and engine",
    labelNames: ["outcome", "engine"] as const,
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 10800],
    registers,
  });
  const outputSeconds = new Histogram({
    name: "fw_node_output_duration_seconds",
    help: "Wall time from the start of the engine run to an output's last progress, by output type and engine",
    labelNames: ["type", "engine"] as const,
    buckets: [0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
    registers,
  });
  const mediaSeconds = new Counter({
    name: "fw_node_media_seconds_total",
    help: "Media seconds written by succeeded outputs, by output type and engine",
    labelNames: ["type", "engine"] as const,
    registers,
  });
  const speed = new Histogram({
    name: "fw_node_encode_speed_ratio",
    help: "Media seconds per wall second of succeeded outputs (× real time), by output type and engine",
    labelNames: ["type", "engine"] as const,
    buckets: [0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64],
    registers,
  });
  const fallbacks = new Counter({
    name: "fw_node_hardware_fallbacks_total",
    help: "Video outputs that wanted hardware (accel auto) and were encoded in software",
    registers,
  });
  const storageErrors = new Counter({
    name: "fw_node_storage_errors_total",
    help: "Object store operations that failed, by operation",
    labelNames: ["op"] as const,
    registers,
  });

  new Gauge({
    name: "fw_node_slots_busy",
    help: "Slots running a job now",
    registers,
    collect() {
      this.set(gauges.slotsBusy());
    },
  });
  new Gauge({
    name: "fw_node_slots_capacity",
    help: "Slots this node has (FW_SLOTS)",
    registers,
    collect() {
      this.set(gauges.slotsCapacity);
    },
  });
  new Gauge({
    name: "fw_node_slot_rss_bytes",
    help: "Resident memory of each slot process",
    labelNames: ["slot"] as const,
    registers,
    async collect() {
      this.reset();
      for (const slot of await gauges.slotRss()) {
        if (slot.rssBytes !== null) this.set({ slot: String(slot.index) }, slot.rssBytes);
      }
    },
  });
  new Gauge({
    name: "fw_node_slot_memory_limit_bytes",
    help: "Memory limit of one slot (FW_SLOT_MEMORY_MB); 0: none",
    registers,
    collect() {
      this.set(gauges.slotMemoryLimitBytes);
    },
  });
  new Gauge({
    name: "fw_node_temp_disk_free_bytes",
    help: "Free space on FW_WORK_DIR's file system",
    registers,
    collect() {
      const disk = gauges.tempDisk();
      if (disk) this.set(disk.free_bytes);
    },
  });
  new Gauge({
    name: "fw_node_temp_disk_size_bytes",
    help: "Size of FW_WORK_DIR's file system",
    registers,
    collect() {
      const disk = gauges.tempDisk();
      if (disk) this.set(disk.size_bytes);
    },
  });
  new Gauge({
    name: "fw_node_hardware_sessions",
    help: "Hardware encoder sessions the running jobs hold (video outputs and HLS renditions of jobs that may use them)",
    registers,
    collect() {
      this.set(gauges.hardwareSessionsInUse());
    },
  });
  new Gauge({
    name: "fw_node_hardware_encoders_open",
    help: "Hardware encoders that opened on their device at start (0 on a GPU node: its GPU is not used)",
    registers,
    collect() {
      this.set(gauges.hardwareEncodersOpen);
    },
  });
  new Gauge({
    name: "fw_node_accepting_jobs",
    help: "1 while the node takes new jobs; 0 while a self-check (temp disk, storage) holds it back",
    registers,
    collect() {
      this.set(gauges.accepting() ? 1 : 0);
    },
  });
  new Gauge({
    name: "fw_node_clock_skew_seconds",
    help: "This node's clock minus the edge's, measured over HTTP",
    registers,
    collect() {
      const skew = gauges.clockSkewMs();
      if (skew !== null) this.set(skew / 1000);
    },
  });
  new Gauge({
    name: "fw_node_storage_up",
    help: "1 when the node's last storage probe (write, read, delete) worked, 0 when it failed",
    registers,
    collect() {
      const ok = gauges.storageOk();
      if (ok !== null) this.set(ok ? 1 : 0);
    },
  });

  return {
    registry,
    attempt(outcome, code, engine, seconds) {
      attempts.inc({ outcome, code: code ?? "" });
      attemptSeconds.observe({ outcome, engine }, seconds);
    },
    output(type, engine, seconds, media) {
      outputSeconds.observe({ type, engine }, seconds);
      if (media !== null && media > 0) {
        mediaSeconds.inc({ type, engine }, media);
        if (seconds > 0) speed.observe({ type, engine }, media / seconds);
      }
    },
    hardwareFallback: () => fallbacks.inc(),
    storageError: (op) => storageErrors.inc({ op }),
  };
}

/** A metrics registry served over HTTP, behind an optional bearer token. */
export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/** `Authorization: Bearer <token>` checked in constant time; no token configured: open. */
export function metricsAuthorized(header: string | undefined, token: string | undefined): boolean {
  if (!token) return true;
  const presented = header?.startsWith("Bearer ") ? header.slice(7).trim() : "";
  return timingSafeEqual(presented, token);
}

export async function startMetricsServer(options: {
  registry: Registry;
  host: string;
  port: number;
  token?: string | undefined;
}): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    if (req.method !== "GET" || req.url?.split("?")[0] !== "/metrics") {
      res.writeHead(404).end();
      return;
    }
    if (!metricsAuthorized(req.headers.authorization, options.token)) {
      res.writeHead(401, { "www-authenticate": 'Bearer realm="metrics"' }).end();
      return;
    }
    options.registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": options.registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
