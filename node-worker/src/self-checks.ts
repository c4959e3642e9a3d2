import { randomBytes } from "node:crypto";
import { readFile, rm, statfs, writeFile } from "node:fs/promises";
import { freemem, totalmem } from "node:os";
import { join } from "node:path";
import { healthSchema, type NodeHeartbeat } from "@framewire/shared";
import type { Logger } from "pino";
import type { Storage } from "./storage/storage";

/**
 * What a node checks about itself, so that an operator (the heartbeat, `framewire doctor`, the
 * metrics) sees the problem and its cause before a job fails of it:
 * - the temp disk (FW_WORK_DIR's file system), read at every heartbeat: below FW_MIN_FREE_DISK_MB
 *   the node takes no new jobs (running ones go on), so a full disk delays work instead of failing it;
 * - the object store, probed by writing, reading back and deleting a small object: while that
 *   fails the node takes no new jobs either (they could only fail storing their outputs, and burn
 *   their deliveries into the dead letters);
 * - its clock against the edge's (tokens, webhook signatures and heartbeat ages compare clocks).
 */

export type SelfCheckFacts = Pick<
  NodeHeartbeat,
  "disk" | "memory" | "clock_skew_ms" | "storage" | "accepting" | "refusing_reason"
>;

export interface SelfChecks {
  /** Re-reads the disk and memory (cheap); the storage probe and clock run on their own timer. */
  refresh(): Promise<SelfCheckFacts>;
  /** The facts as of the last refresh. */
  facts(): SelfCheckFacts;
  accepting(): boolean;
  stop(): void;
}

/** The probe object's key: a folder no tenant id can name (tenant ids are generated `ten_…`). */
export const probeKey = (nodeId: string) => `framewire-probe/nodes/${nodeId}`;

/** Available memory as the kernel estimates it (MemAvailable), else the free pages. */
async function availableMemory(): Promise<number> {
  const info = await readFile("/proc/meminfo", "utf8").catch(() => "");
  const kib = /^MemAvailable:\s+(\d+)\s+kB/m.exec(info)?.[1];
  return kib === undefined ? freemem() : Number(kib) * 1024;
}

export function createSelfChecks(options: {
  nodeId: string;
  workDir: string;
  minFreeBytes: number;
  storage: Storage;
  edgeUrl: string;
  /** Resident memory of the node's slot processes. */
  slotsRss: () => Promise<number>;
  logger: Logger;
  /** How often the storage probe and the clock measurement run. */
  intervalMs?: number;
}): SelfChecks {
  const { logger } = options;
  let disk: SelfCheckFacts["disk"] = null;
  let memory: SelfCheckFacts["memory"] = null;
  let skew: number | null = null;
  let storage: SelfCheckFacts["storage"] = null;

  async function probeStorage(): Promise<void> {
    const key = probeKey(options.nodeId);
    const local = join(options.workDir, `.probe-${randomBytes(4).toString("hex")}`);
    const back = `${local}-back`;
    const content = `framewire storage probe ${new Date().toISOString()}`;
    try {
      await writeFile(local, content);
      await options.storage.upload(local, key);
      await options.storage.download(key, back);
      if ((await readFile(back, "utf8")) !== content) throw new Error("the object read back differs");
      await options.storage.remove(key);
      if (storage && !storage.ok) logger.info("node:storage:recovered");
      storage = { ok: true, at: new Date().toISOString() };
    } catch (error) {
      const detail = describeStorageError(error);
      if (!storage || storage.ok) logger.error({ err: error }, "node:storage:unusable");
      storage = { ok: false, detail, at: new Date().toISOString() };
    } finally {
      await Promise.all([rm(local, { force: true }), rm(back, { force: true })]);
    }
  }

  /** NTP's idea over one HTTP round trip: the edge's clock is read at about the midpoint. */
  async function measureSkew(): Promise<void> {
    try {
      const sent = Date.now();
      const response = await fetch(`${options.edgeUrl}/v1/health`, { signal: AbortSignal.timeout(3_000) });
      const received = Date.now();
      const health = healthSchema.safeParse(await response.json());
      // A slow answer says little about the clocks (the midpoint could be off by half of it).
      if (!health.success || received - sent > 1_000) return;
      skew = Math.round((sent + received) / 2 - Date.parse(health.data.time));
    } catch {
      // An unreachable edge is the reporter's problem to report; the last measurement stands.
    }
  }

  const slow = () => Promise.all([probeStorage(), measureSkew()]);
  const timer = setInterval(() => void slow(), options.intervalMs ?? 30_000);
  timer.unref();
  // The first heartbeat waits for the first checks, but not for a store that hangs: its probe
  // result then arrives with a later heartbeat.
  const ready = Promise.race([slow(), new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);

  function facts(): SelfCheckFacts {
    const reasons: string[] = [];
    if (options.minFreeBytes > 0 && disk && disk.free_bytes < options.minFreeBytes) {
      reasons.push(
        `the temp disk has ${mib(disk.free_bytes)} MiB free, below FW_MIN_FREE_DISK_MB=${mib(options.minFreeBytes)}`,
      );
    }
    if (storage && !storage.ok) reasons.push(`the object store is unusable: ${storage.detail}`);
    return {
      disk,
      memory,
      clock_skew_ms: skew,
      storage,
      accepting: reasons.length === 0,
      refusing_reason: reasons.length ? reasons.join("; ") : null,
    };
  }

  let wasAccepting = true;
  return {
    async refresh() {
      await ready;
      const [fs, available, slots] = await Promise.all([
        statfs(options.workDir).catch(() => null),
        availableMemory(),
        options.slotsRss().catch(() => 0),
      ]);
      disk = fs ? { free_bytes: fs.bavail * fs.bsize, size_bytes: fs.blocks * fs.bsize } : null;
      memory = {
        total_bytes: totalmem(),
        available_bytes: available,
        rss_bytes: process.memoryUsage.rss() + slots,
      };
      const now = facts();
      if (now.accepting !== wasAccepting) {
        if (now.accepting) logger.info("node:accepting");
        else logger.warn({ reason: now.refusing_reason }, "node:refusing");
        wasAccepting = now.accepting;
      }
      return now;
    },
    facts,
    accepting: () => facts().accepting,
    stop: () => clearInterval(timer),
  };
}

const mib = (bytes: number) => Math.floor(bytes / 1024 ** 2);

/** The store's own words (an S3 error code and status, or a socket error), without a stack. */
function describeStorageError(error: unknown): string {
  const e = error as {
    name?: string;
    Code?: string;
    message?: string;
    code?: string;
    $metadata?: { httpStatusCode?: number };
    cause?: { code?: string; message?: string };
  };
  const status = e.$metadata?.httpStatusCode;
  const code = e.Code ?? (e.name && e.name !== "Error" ? e.name : undefined) ?? e.code ?? e.cause?.code;
  const parts = [code, status ? `HTTP ${status}` : undefined, e.message].filter(Boolean);
  return parts.join(": ").slice(0, 500) || String(error).slice(0, 500);
}
