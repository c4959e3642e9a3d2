import { type HealthDetailed, healthDetailedSchema, type Me } from "@framewire/shared";
import { createFramewireClient } from "@framewire/shared/client";
import { kvBuckets, streams } from "@framewire/shared/nats";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";

/**
 * `framewire doctor`: a deployment checked from the outside in, the way an operator would walk it
 * (the CLI's settings, the edge, the key, then everything the edge sees: the database, NATS and its
 * streams, the object store through a probe object, each node's engine, encoders, disk, store and
 * clock, the queues, the dead letters), printing for each problem what is wrong and the fix. It
 * needs only the API URL and an admin key; given NATS's URL it also checks NATS directly (from
 * where the doctor runs, which is not always where the edge runs).
 */

export type Severity = "ok" | "warning" | "problem";

export interface Finding {
  /** What was checked: "edge", "database", "node node-1", … */
  check: string;
  severity: Severity;
  what: string;
  /** For a warning or a problem: what to do, in one sentence. */
  fix?: string;
}

const ok = (check: string, what: string): Finding => ({ check, severity: "ok", what });
const problem = (check: string, what: string, fix: string): Finding => ({
  check,
  severity: "problem",
  what,
  fix,
});
const warning = (check: string, what: string, fix: string): Finding => ({
  check,
  severity: "warning",
  what,
  fix,
});

/** How far a clock may be off before tokens, webhook signatures and heartbeat ages suffer. */
export const maxClockSkewMs = 2_000;
/** A queued job older than this means the fleet does not keep up (or can't run it). */
export const maxQueueAgeSec = 600;

/** The fix for an object store that refused the probe, from the store's own words. */
function storageFix(detail: string): string {
  if (/NoSuchBucket|bucket does not exist/i.test(detail))
    return "create the bucket or correct FW_S3_BUCKET (edge and nodes must name the same one)";
  if (/AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch|Forbidden|HTTP 403|HTTP 401/i.test(detail))
    return "correct FW_S3_ACCESS_KEY_ID and FW_S3_SECRET_ACCESS_KEY (or the role's permissions on the bucket)";
  if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|fetch failed|socket|no answer within/i.test(detail))
    return "start the object store or correct FW_S3_ENDPOINT (as this process reaches it)";
  if (/EACCES|EROFS|ENOSPC/i.test(detail)) return "give the process write access and space in FW_STORAGE_DIR";
  return "check the object store's settings (FW_STORAGE, FW_S3_*) and its health";
}

const mib = (bytes: number) => `${Math.round(bytes / 1024 ** 2)} MiB`;

/** The findings for one answer of GET /v1/health/detailed (pure: unit-tested in doctor.test.ts). */
export function diagnoseHealth(health: HealthDetailed, now: number): Finding[] {
  const findings: Finding[] = [];
  findings.push(
    health.database.ok
      ? ok("database", `reachable (${health.database.latency_ms} ms)`)
      : problem(
          "database",
          `the edge cannot use its database: ${health.database.detail}`,
          "check FW_DB_URL and the libSQL server; if the database is lost, `framewire restore` the last backup",
        ),
  );
  findings.push(
    health.nats.ok
      ? ok("nats", `reachable from the edge (${health.nats.detail ?? "ok"})`)
      : problem(
          "nats",
          `the edge cannot reach NATS: ${health.nats.detail ?? "no answer"}`,
          "start nats-server (with JetStream) or correct the edge's FW_NATS_URL; accepted jobs wait in the outbox meanwhile",
        ),
  );
  if (health.storage === null) {
    findings.push(warning("storage", "the edge has no object store", "set FW_STORAGE (local or s3)"));
  } else if (health.storage.ok) {
    findings.push(ok("storage", `${health.storage.kind}: a probe object was written, read and deleted`));
  } else {
    findings.push(
      problem(
        "storage",
        `the ${health.storage.kind} store refused the edge's probe object: ${health.storage.detail}`,
        storageFix(health.storage.detail),
      ),
    );
  }
  if (health.queue_store && health.queue_store.max_bytes > 0) {
    const share = health.queue_store.bytes / health.queue_store.max_bytes;
    if (share > 0.8) {
      findings.push(
        problem(
          "queue store",
          `FW_JOBS holds ${Math.round(share * 100)}% of its limit; past it NATS refuses new jobs`,
          "add nodes to drain the queue, or raise the stream's max_bytes where the disk allows",
        ),
      );
    }
  }
  if ((health.outbox_backlog ?? 0) > 0) {
    findings.push(
      warning(
        "outbox",
        `${health.outbox_backlog} accepted jobs are not in JetStream yet`,
        "they are published as soon as NATS accepts them; if this stays, see the NATS and queue store checks",
      ),
    );
  }
  findings.push(...diagnoseNodes(health, now));
  if (health.dead_letters.ok && health.dead_letters.count > 0) {
    findings.push(
      warning(
        "dead letters",
        `${health.dead_letters.count} jobs exhausted their deliveries`,
        "read their last errors (GET /v1/admin/dead-letters and each job's logs), fix the cause, then requeue or drop them",
      ),
    );
  } else if (!health.dead_letters.ok) {
    findings.push(
      warning("dead letters", `could not be read: ${health.dead_letters.detail}`, "see the NATS check"),
    );
  }
  return findings;
}

function diagnoseNodes(health: HealthDetailed, now: number): Finding[] {
  const findings: Finding[] = [];
  if (!("list" in health.nodes)) {
    findings.push(warning("nodes", `could not be read: ${health.nodes.detail}`, "see the NATS check"));
    return findings;
  }
  const nodes = health.nodes.list;
  const ages = health.queue_oldest_age_sec ?? {};
  const waiting = Object.entries(ages).filter(([, age]) => age > 0);
  if (nodes.length === 0) {
    findings.push(
      problem(
        "nodes",
        `no processing node is running${waiting.length ? `, and jobs are waiting (${waiting.map(([q]) => q).join(", ")})` : ""}`,
        "start a node (node dist/node.mjs with FW_EDGE_URL, FW_NATS_URL, FW_NODE_TOKEN, FW_WORK_DIR; `npm start` locally)",
      ),
    );
  }
  for (const [queue, age] of waiting) {
    const pool = queue.split(".")[0] ?? "";
    if (nodes.length > 0 && !nodes.some((n) => n.pools.includes(pool as "cpu" | "gpu"))) {
      findings.push(
        problem(
          `queue ${queue}`,
          `jobs wait (the oldest ${Math.round(age)} s) and no node serves the ${pool} pool`,
          `start a node with ${pool} in FW_POOLS${pool === "gpu" ? " (FW_POOLS=gpu,cpu on a GPU machine)" : ""}`,
        ),
      );
    } else if (age > maxQueueAgeSec) {
      findings.push(
        problem(
          `queue ${queue}`,
          `the oldest job has waited ${Math.round(age)} s`,
          "add nodes (or slots) for the pool, or free the nodes that hold back new jobs (see each node below)",
        ),
      );
    }
  }
  const edgeVersion = health.version;
  for (const node of nodes) {
    const check = `node ${node.id}`;
    const before = findings.length;
    const age = now - Date.parse(node.at);
    if (age > 15_000) {
      findings.push(
        problem(
          check,
          `its last heartbeat is ${Math.round(age / 1000)} s old by the edge's clock`,
          "the node is gone or its clock is behind: restart it, or run NTP on it",
        ),
      );
    }
    if (node.engine !== "native") {
      findings.push(
        warning(
          check,
          `runs the ${node.engine} engine (the native addon did not load): slower, fewer encoders`,
          "build the addon on that machine (npm run build:native) or use the image, and restart the node",
        ),
      );
    }
    if (node.pools.includes("gpu") && node.hardware_encoders.length === 0) {
      const why = Object.entries(node.hardware_errors)
        .map(([device, reason]) => `${device}: ${reason}`)
        .join("; ");
      findings.push(
        problem(
          check,
          `serves the gpu pool but no hardware encoder opened (${why || "no device found"})`,
          "give it the GPU (NVIDIA driver and container toolkit, NVIDIA_DRIVER_CAPABILITIES=compute,video,utility) or take gpu out of its FW_POOLS",
        ),
      );
    }
    if (node.storage && !node.storage.ok) {
      const detail = node.storage.detail ?? "no detail";
      findings.push(problem(check, `cannot use the object store: ${detail}`, storageFix(detail)));
    }
    if (!node.accepting && node.refusing_reason && !/object store/.test(node.refusing_reason)) {
      findings.push(
        problem(
          check,
          `takes no new jobs: ${node.refusing_reason}`,
          "free space in its FW_WORK_DIR (or give it a bigger volume), or lower FW_MIN_FREE_DISK_MB if the threshold is too high",
        ),
      );
    } else if (node.disk && node.disk.size_bytes > 0 && node.disk.free_bytes / node.disk.size_bytes < 0.1) {
      findings.push(
        warning(
          check,
          `its temp disk has ${mib(node.disk.free_bytes)} free of ${mib(node.disk.size_bytes)}`,
          "give FW_WORK_DIR more space before it fills (then the node stops taking jobs)",
        ),
      );
    }
    if (node.clock_skew_ms !== null && Math.abs(node.clock_skew_ms) > maxClockSkewMs) {
      findings.push(
        problem(
          check,
          `its clock is ${(node.clock_skew_ms / 1000).toFixed(1)} s off the edge's`,
          "run NTP (chrony or systemd-timesyncd) on the node and the edge",
        ),
      );
    }
    if (node.version !== edgeVersion) {
      findings.push(
        warning(
          check,
          `runs version ${node.version}, the edge ${edgeVersion}`,
          "upgrade the fleet to one version",
        ),
      );
    }
    if (findings.length === before) {
      const ffmpeg = node.versions.ffmpeg ?? node.versions.libavcodec ?? "?";
      findings.push(
        ok(
          check,
          `${node.engine} engine (FFmpeg ${ffmpeg}), ${node.encoders.length} encoders${
            node.hardware_encoders.length ? ` + ${node.hardware_encoders.join(", ")}` : ""
          }, slots ${node.slots.busy}/${node.slots.total}${node.disk ? `, temp disk ${mib(node.disk.free_bytes)} free` : ""}`,
        ),
      );
    }
  }
  return findings;
}

/** NATS seen from where the doctor runs: reachable, with the streams and buckets the fleet needs. */
export async function checkNats(url: string): Promise<Finding[]> {
  const nc = await connect({ servers: url.split(","), timeout: 2_000, maxReconnectAttempts: 0 }).catch(
    (error: unknown) => error as Error,
  );
  if (nc instanceof Error) {
    return [
      problem(
        "nats (direct)",
        `${url} does not answer: ${nc.message}`,
        "start nats-server with JetStream (-js) or correct FW_NATS_URL",
      ),
    ];
  }
  try {
    const jsm = await jetstreamManager(nc, { timeout: 2_000 }).catch((error: unknown) => error as Error);
    if (jsm instanceof Error) {
      return [
        problem("nats (direct)", `JetStream is not available: ${jsm.message}`, "run nats-server with -js"),
      ];
    }
    const missing: string[] = [];
    for (const name of [
      streams.jobs,
      streams.deadLetters,
      `KV_${kvBuckets.nodes}`,
      `KV_${kvBuckets.progress}`,
    ]) {
      await jsm.streams.info(name).catch(() => missing.push(name));
    }
    return missing.length
      ? [
          problem(
            "nats (direct)",
            `missing ${missing.join(", ")}`,
            "start the edge and a node once: they create the streams and buckets (or restore them with `framewire restore`)",
          ),
        ]
      : [
          ok(
            "nats (direct)",
            `${url}: streams ${streams.jobs}, ${streams.deadLetters} and the KV buckets exist`,
          ),
        ];
  } finally {
    await nc.close().catch(() => {});
  }
}

/** Runs every check; a finding per check, problems with their fix. */
export async function runDoctor(options: {
  apiUrl: string;
  apiKey: string;
  natsUrl?: string;
}): Promise<Finding[]> {
  const findings: Finding[] = [
    ok("config", `API ${options.apiUrl}${options.natsUrl ? `, NATS ${options.natsUrl}` : ""}`),
  ];
  const apiUrl = options.apiUrl.replace(/\/+$/, "");
  const client = createFramewireClient({ baseUrl: apiUrl, apiKey: options.apiKey });
  const sent = Date.now();
  const health = await client.health().catch((error: unknown) => error as Error);
  const received = Date.now();
  if (health instanceof Error || !health.ok) {
    findings.push(
      problem(
        "edge",
        `${options.apiUrl} does not answer: ${health instanceof Error ? (health.cause ?? health.message) : `HTTP ${health.status}`}`,
        "start the edge or correct the API URL (--api, FRAMEWIRE_API_URL)",
      ),
    );
  } else {
    findings.push(ok("edge", `reachable, version ${health.data.version}`));
    const skew = (sent + received) / 2 - Date.parse(health.data.time);
    if (received - sent < 1_000 && Math.abs(skew) > maxClockSkewMs) {
      findings.push(
        warning(
          "clock",
          `this machine's clock is ${(skew / 1000).toFixed(1)} s off the edge's`,
          "run NTP here and on the edge",
        ),
      );
    }
    findings.push(...(await checkEdge(client, { apiUrl, apiKey: options.apiKey }, Date.now())));
  }
  if (options.natsUrl) findings.push(...(await checkNats(options.natsUrl)));
  return findings;
}

async function checkEdge(
  client: ReturnType<typeof createFramewireClient>,
  options: { apiUrl: string; apiKey: string },
  now: number,
): Promise<Finding[]> {
  const me = await client.me();
  if (!me.ok) {
    return [
      problem(
        "key",
        `the API refused the key: ${me.problem.code}`,
        "pass an admin key (--key, FRAMEWIRE_API_KEY); `framewire keys create --scope admin` makes one",
      ),
    ];
  }
  const scopes = (me.data as Me).key.scopes;
  if (!scopes.includes("admin")) {
    return [
      problem(
        "key",
        `the key has ${scopes.join(", ")}, not admin: the edge shows the fleet to admins only`,
        "pass an admin key (--key, FRAMEWIRE_API_KEY)",
      ),
    ];
  }
  // Read directly: a degraded edge answers 503 with the same body, and explaining that is the point.
  const response = await fetch(`${options.apiUrl}/v1/health/detailed`, {
    headers: { authorization: `Bearer ${options.apiKey}` },
    signal: AbortSignal.timeout(30_000),
  });
  const parsed = healthDetailedSchema.safeParse(await response.json().catch(() => null));
  if (!parsed.success) {
    return [
      problem("edge", `GET /v1/health/detailed answered HTTP ${response.status}`, "see the edge's log"),
    ];
  }
  return [ok("key", "admin"), ...diagnoseHealth(parsed.data, now)];
}

/** Findings as an operator reads them: one line each, the fix under every problem. */
export function formatFindings(findings: Finding[]): string {
  const mark: Record<Severity, string> = { ok: "ok  ", warning: "warn", problem: "FAIL" };
  const lines: string[] = [];
  for (const f of findings) {
    lines.push(`${mark[f.severity]}  ${f.check}: ${f.what}`);
    if (f.fix) lines.push(`      fix: ${f.fix}`);
  }
  const problems = findings.filter((f) => f.severity === "problem").length;
  const warnings = findings.filter((f) => f.severity === "warning").length;
  lines.push(
    problems ? `${problems} problem(s), ${warnings} warning(s)` : `no problems (${warnings} warning(s))`,
  );
  return lines.join("\n");
}
