import { type ChildProcess, fork, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import {
  type Capabilities,
  type Engine,
  EngineError,
  type EngineErrorCode,
  type EngineProgress,
  type MediaFacts,
  type Plan,
  type RunOptions,
  type RunResult,
} from "@framewire/native";
import type { FromSlot, SlotFault, ToSlot } from "./protocol";

/**
 * The engine as the node uses it: every run happens in a slot process of its own, so a crash or a
 * hang inside FFmpeg takes down only that job's process. The node keeps `slots` processes; a dead
 * one is replaced on the next run.
 */

export type SlotErrorCode =
  | "engine_crashed"
  | "engine_stalled"
  | "time_limit_exceeded"
  | "resource_exhausted";

/** A run ended by the slot machinery rather than by the engine itself. */
export class SlotError extends Error {
  override readonly name = "SlotError";
  constructor(
    readonly code: SlotErrorCode,
    message: string,
  ) {
    super(message);
  }

  /**
   * A crash or a stall may not happen again elsewhere; a job that hits its time limit or its
   * memory limit will (every node of a fleet has the same limits).
   */
  get retryable(): boolean {
    return this.code !== "time_limit_exceeded" && this.code !== "resource_exhausted";
  }
}

/** A slot process as the node's metrics and heartbeat see it. */
export interface SlotStats {
  index: number;
  pid: number;
  busy: boolean;
  /** Resident memory; null where /proc can't tell (not Linux, or the process just went). */
  rssBytes: number | null;
}

/** Resident set size of a process, from /proc (Linux); null elsewhere or once it has exited. */
export async function processRssBytes(pid: number): Promise<number | null> {
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => null);
  const kib = status ? /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] : undefined;
  return kib === undefined ? null : Number(kib) * 1024;
}

export interface SlotRunOptions extends RunOptions {
  /** Test-only fault for this run; ignored unless the slot processes run with FW_TEST_FAULTS=1. */
  fault?: SlotFault | null;
}

export interface IsolatedEngine extends Engine {
  run(plan: Plan, options?: SlotRunOptions): Promise<RunResult>;
  readonly fallbackReason: string | null;
  /** Slot processes alive now (for the heartbeat and tests). */
  readonly pids: number[];
  /** Each slot's process, whether it runs something, and its resident memory now. */
  stats(): Promise<SlotStats[]>;
}

export interface IsolatedEngineOptions {
  slots: number;
  engine: "auto" | "native" | "wasm";
  /**
   * The no-progress watchdog. The engine in the slot gets it as its own watchdog (stopping the run
   * cleanly with STALLED, even inside blocked I/O); the node kills the slot process when no progress
   * has come for this long plus cancelGraceMs, as a backstop for an engine that cannot stop itself.
   */
  stallTimeoutMs: number;
  /** Hard limit on one run's wall time. */
  timeLimitMs: number;
  /** How long a canceled run may take to stop before its process is killed. */
  cancelGraceMs?: number;
  /** A CPU list (taskset syntax, e.g. "0" or "2-3") the slot processes are pinned to. */
  cpuAffinity?: string;
  /**
   * A running slot whose resident memory passes this is killed and its run fails with
   * resource_exhausted (polled from /proc every memoryPollMs: a cgroup would need one group per
   * slot, made by root; polling works unprivileged). 0 or absent: no limit.
   */
  memoryLimitBytes?: number;
  memoryPollMs?: number;
  env?: NodeJS.ProcessEnv;
}

interface WatchOptions {
  watch: boolean;
  stallTimeoutMs: number;
  timeLimitMs: number;
  memoryLimitBytes: number;
  memoryPollMs: number;
}

interface Pending {
  progress(progress: EngineProgress): void;
  settle(message: FromSlot & { type: "result" | "error" }): void;
  died(reason: string): void;
}

interface Slot {
  child: ChildProcess;
  ready: Promise<FromSlot & { type: "ready" }>;
  busy: boolean;
  dead: boolean;
  pending: Map<number, Pending>;
}

/**
 * From source (tsx, vitest) this module is a .ts file and the slot child runs through tsx too. In the
 * compiled build (scripts/build.ts) both are bundles side by side in dist/, run by plain node.
 */
const compiled = !import.meta.url.endsWith(".ts");
const childEntry = fileURLToPath(new URL(compiled ? "./slot-child.mjs" : "./slot-child.ts", import.meta.url));
const childExecArgv = compiled ? [] : ["--import", "tsx"];

/**
 * glibc's malloc arenas for a slot (unless the node's environment sets its own): the default, up
 * to 8 per core, let a 4-rendition 1080p ladder's many encoder and decoder threads keep about 20 MB
 * more resident (peak 583-587 MB against 565-570 MB with 2, six interleaved pairs on 2 cores), with
 * no CPU cost found (CPU time 0.95x on those pairs, 1.01x on a 720p transcode's eight, both within
 * noise). native/bench/engine.bench.ts runs the engine with the same setting.
 */
const SLOT_MALLOC_ARENAS = "2";

function spawnSlot(options: IsolatedEngineOptions): Slot {
  const settings = {
    env: { MALLOC_ARENA_MAX: SLOT_MALLOC_ARENAS, ...process.env, ...options.env, FW_ENGINE: options.engine },
    serialization: "advanced" as const,
    stdio: ["ignore", "inherit", "inherit", "ipc"] as ("ignore" | "inherit" | "ipc")[],
  };
  // With a CPU list, the slot runs pinned to it (taskset execs Node, which keeps the IPC channel).
  // FFmpeg and x264 size their thread pools from the process's affinity, so pinned slots don't
  // oversubscribe cores that other slots or nodes on the machine were given.
  const child = options.cpuAffinity
    ? spawn("taskset", ["-c", options.cpuAffinity, process.execPath, ...childExecArgv, childEntry], settings)
    : fork(childEntry, [], { ...settings, execArgv: childExecArgv });
  const slot: Slot = {
    child,
    busy: false,
    dead: false,
    pending: new Map(),
    ready: Promise.resolve() as never,
  };
  slot.ready = new Promise((resolve, reject) => {
    child.on("message", (message: FromSlot) => {
      if (message.type === "ready") return resolve(message);
      const pending = slot.pending.get(message.id);
      if (!pending) return;
      if (message.type === "progress") pending.progress(message.progress);
      else pending.settle(message);
    });
    child.once("exit", (code, signal) => {
      slot.dead = true;
      const reason = signal ? `killed by ${signal}` : `exited with code ${code}`;
      reject(new Error(`slot process ${reason} before it was ready`));
      for (const pending of slot.pending.values()) pending.died(reason);
    });
  });
  return slot;
}

export async function createIsolatedEngine(options: IsolatedEngineOptions): Promise<IsolatedEngine> {
  const slots: Slot[] = Array.from({ length: options.slots }, () => spawnSlot(options));
  const first = await (slots[0] as Slot).ready;
  await Promise.all(slots.map((s) => s.ready));
  const waiters: (() => void)[] = [];
  let nextId = 0;
  let closed = false;
  const cancelGraceMs = options.cancelGraceMs ?? 1_000;

  const release = (slot: Slot) => {
    slot.busy = false;
    waiters.shift()?.();
  };

  async function acquire(): Promise<Slot> {
    for (;;) {
      if (closed) throw new EngineError("ENGINE_FAILURE", "the engine is closed");
      for (let i = 0; i < slots.length; i++) {
        if (slots[i]?.dead) slots[i] = spawnSlot(options);
      }
      const idle = slots.find((s) => !s.busy);
      if (idle) {
        idle.busy = true;
        try {
          await idle.ready;
          return idle;
        } catch {
          idle.busy = false;
          continue;
        }
      }
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  }

  function call<T>(slot: Slot, message: ToSlot, options: SlotRunOptions & WatchOptions): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let stallTimer: NodeJS.Timeout | undefined;
      let settled = false;
      const timers: NodeJS.Timeout[] = [];
      const finish = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(stallTimer);
        for (const t of timers) clearTimeout(t);
        options.signal?.removeEventListener("abort", onAbort);
        slot.pending.delete(message.id);
        release(slot);
        outcome();
      };
      const kill = (error: Error) => {
        slot.dead = true;
        slot.child.kill("SIGKILL");
        finish(() => reject(error));
      };
      const armStall = () => {
        if (!options.watch) return;
        clearTimeout(stallTimer);
        stallTimer = setTimeout(
          () =>
            kill(
              new SlotError("engine_stalled", `the engine made no progress for ${options.stallTimeoutMs} ms`),
            ),
          options.stallTimeoutMs + cancelGraceMs,
        );
      };
      const onAbort = () => {
        slot.child.send({ type: "cancel", id: message.id } satisfies ToSlot);
        // If FFmpeg doesn't stop in time, the process goes: cancel is bounded either way.
        timers.push(
          setTimeout(() => kill(new EngineError("CANCELED", "the run was canceled")), cancelGraceMs),
        );
      };

      slot.pending.set(message.id, {
        progress(progress) {
          armStall();
          options.onProgress?.(progress);
        },
        settle(reply) {
          if (reply.type === "result") finish(() => resolve(reply.result as T));
          else {
            const error = new EngineError(
              reply.code as EngineErrorCode,
              reply.message,
              reply.detail,
              reply.log ? { log: reply.log } : {},
            );
            finish(() => reject(error));
          }
        },
        died(reason) {
          finish(() => reject(new SlotError("engine_crashed", `the engine process ${reason}`)));
        },
      });
      if (options.signal?.aborted)
        return finish(() => reject(new EngineError("CANCELED", "the run was canceled")));
      options.signal?.addEventListener("abort", onAbort, { once: true });
      armStall();
      if (options.watch) {
        timers.push(
          setTimeout(
            () =>
              kill(
                new SlotError("time_limit_exceeded", `the run exceeded its ${options.timeLimitMs} ms limit`),
              ),
            options.timeLimitMs,
          ),
        );
      }
      const pid = slot.child.pid;
      if (options.watch && options.memoryLimitBytes > 0 && pid !== undefined) {
        const limitMib = Math.round(options.memoryLimitBytes / 1024 ** 2);
        const poll = setInterval(() => {
          void processRssBytes(pid).then((rss) => {
            if (rss === null || rss <= options.memoryLimitBytes || settled) return;
            kill(
              new SlotError(
                "resource_exhausted",
                `the run's slot used ${Math.round(rss / 1024 ** 2)} MiB of memory, over its limit of ${limitMib} MiB ` +
                  "(FW_SLOT_MEMORY_MB)",
              ),
            );
          });
        }, options.memoryPollMs);
        timers.push(poll);
      }
      slot.child.send(message);
    });
  }

  const watchOptions = {
    stallTimeoutMs: options.stallTimeoutMs,
    timeLimitMs: options.timeLimitMs,
    memoryLimitBytes: options.memoryLimitBytes ?? 0,
    memoryPollMs: options.memoryPollMs ?? 250,
  };

  return {
    name: first.engine,
    fallbackReason: first.fallbackReason,
    get pids() {
      return slots.filter((s) => !s.dead).map((s) => s.child.pid ?? 0);
    },
    async stats() {
      return Promise.all(
        slots.map(async (slot, index) => {
          const pid = slot.child.pid ?? 0;
          return { index, pid, busy: slot.busy, rssBytes: slot.dead ? null : await processRssBytes(pid) };
        }),
      );
    },
    capabilities: async (): Promise<Capabilities> => first.capabilities,
    async probe(path, probeOptions) {
      const slot = await acquire();
      return call<MediaFacts>(
        slot,
        { type: "probe", id: ++nextId, path },
        {
          ...probeOptions,
          ...watchOptions,
          watch: false,
        },
      );
    },
    async run(plan, runOptions = {}) {
      const slot = await acquire();
      return call<RunResult>(
        slot,
        {
          type: "run",
          id: ++nextId,
          plan,
          fault: runOptions.fault ?? null,
          stallTimeoutMs: runOptions.stallTimeoutMs ?? options.stallTimeoutMs,
        },
        {
          ...runOptions,
          ...watchOptions,
          ...(runOptions.stallTimeoutMs ? { stallTimeoutMs: runOptions.stallTimeoutMs } : {}),
          watch: true,
        },
      );
    },
    async close() {
      closed = true;
      await Promise.all(
        slots.map(
          (slot) =>
            new Promise<void>((resolve) => {
              if (slot.dead || slot.child.exitCode !== null) return resolve();
              slot.child.once("exit", () => resolve());
              slot.child.disconnect();
              setTimeout(() => slot.child.kill("SIGKILL"), 2_000).unref();
            }),
        ),
      );
    },
  };
}
