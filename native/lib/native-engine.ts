import { stat } from "node:fs/promises";
import {
  type Capabilities,
  type Engine,
  EngineError,
  type EngineErrorCode,
  type EngineProgress,
  type MediaFacts,
  type Plan,
  type PlanOutput,
  type RunOptions,
  type RunResult,
} from "./engine";
import {
  loadNativeAddon,
  type NativeAddon,
  type NativeOutputOptions,
  type NativeProgressTick,
  type NativeTranscodeJob,
} from "./native-addon";
import { outputFactsFromProbe } from "./output-facts";

/**
 * The native engine: FFmpeg's libraries in-process through our node-addon-api binding. Every
 * probe and transcode runs on the libuv thread pool, never on the JS thread.
 *
 * Throws EngineError("UNSUPPORTED") with the loader's explanation when the addon cannot load.
 */
export async function createNativeEngine(): Promise<Engine> {
  const loaded = loadNativeAddon();
  if ("error" in loaded) throw new EngineError("UNSUPPORTED", `native engine unavailable: ${loaded.error}`);
  return new NativeEngine(loaded.addon);
}

const ENGINE_ERROR_CODES: ReadonlySet<string> = new Set<EngineErrorCode>([
  "INPUT_UNREADABLE",
  "INPUT_NO_STREAMS",
  "UNSUPPORTED",
  "CANCELED",
  "ENGINE_FAILURE",
  "OUTPUT_WRITE_FAILED",
]);

class NativeEngine implements Engine {
  readonly name = "native" as const;
  #closed = false;
  #capabilities: Promise<Capabilities> | undefined;
  readonly #running = new Set<{ job: NativeTranscodeJob; settled: Promise<unknown> }>();

  constructor(private readonly addon: NativeAddon) {}

  capabilities(): Promise<Capabilities> {
    this.#assertOpen();
    // Opening every candidate encoder costs tens of ms; the answer cannot change within a process.
    this.#capabilities ??= this.addon
      .capabilities()
      .then((caps) => ({ engine: "native" as const, ...caps }))
      .catch((error: unknown) => {
        this.#capabilities = undefined;
        throw toEngineError(error, new Error("capabilities() called here"));
      });
    return this.#capabilities;
  }

  async probe(path: string, options: { signal?: AbortSignal } = {}): Promise<MediaFacts> {
    this.#assertOpen();
    const callSite = new Error("probe() called here");
    throwIfAborted(options.signal);
    // A probe is short and reads only headers, so abort just stops waiting for it.
    const facts = await raceAbort(this.addon.probe(path), options.signal).catch((error: unknown) => {
      throw toEngineError(error, callSite);
    });
    const sizeBytes = facts.sizeBytes >= 0 ? facts.sizeBytes : (await stat(path)).size;
    return { ...facts, sizeBytes };
  }

  async run(plan: Plan, options: RunOptions = {}): Promise<RunResult> {
    this.#assertOpen();
    const callSite = new Error("run() called here");
    const { signal, onProgress } = options;
    if (plan.outputs.length !== 1) {
      throw new EngineError(
        "UNSUPPORTED",
        `the native engine runs exactly one output, got ${plan.outputs.length}`,
      );
    }
    throwIfAborted(signal);

    const progress = new ProgressTracker(onProgress);
    const job = this.addon.transcode(
      { inputPath: plan.inputPath, outputs: plan.outputs.map(toNativeOutput) },
      (tick) => progress.tick(tick),
    );
    const cancel = () => job.cancel();
    signal?.addEventListener("abort", cancel, { once: true });
    const entry = { job, settled: job.promise.catch(() => undefined) };
    this.#running.add(entry);
    try {
      await job.promise;
    } catch (error) {
      throw toEngineError(error, callSite);
    } finally {
      signal?.removeEventListener("abort", cancel);
      this.#running.delete(entry);
    }

    const outputs = await Promise.all(
      plan.outputs.map(async (output) => outputFactsFromProbe(output, await this.probe(output.path))),
    );
    progress.done();
    return { outputs };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const running = [...this.#running];
    for (const { job } of running) job.cancel();
    await Promise.all(running.map(({ settled }) => settled));
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error("the native engine is closed");
  }
}

function toNativeOutput(output: PlanOutput): NativeOutputOptions {
  return {
    path: output.path,
    container: output.container,
    video: output.video && {
      codec: output.video.codec,
      height: output.video.height,
      crf: output.video.crf,
      preset: output.video.preset,
    },
    audio: output.audio && { codec: output.audio.codec, bitrateKbps: output.audio.bitrateKbps },
  };
}

/**
 * Turns the addon's ticks into EngineProgress: percent never decreases and stays below 100 until
 * the run has finished (100 then comes from done()); null when the input duration is unknown.
 */
class ProgressTracker {
  #percent = 0;
  #last: NativeProgressTick | undefined;

  constructor(private readonly listener: ((progress: EngineProgress) => void) | undefined) {}

  tick(tick: NativeProgressTick): void {
    this.#last = tick;
    const { durationSec, outTimeSec } = tick;
    const known = durationSec !== null && durationSec > 0;
    if (known) this.#percent = Math.max(this.#percent, Math.min(99.9, (outTimeSec / durationSec) * 100));
    const etaSec = known && tick.speed > 0 ? Math.max(0, (durationSec - outTimeSec) / tick.speed) : null;
    this.#emit({ ...tick, percent: known ? round1(this.#percent) : null, etaSec });
  }

  done(): void {
    const last = this.#last;
    if (!last) return;
    this.#emit({
      ...last,
      percent: last.durationSec !== null && last.durationSec > 0 ? 100 : null,
      etaSec: 0,
    });
  }

  #emit(progress: EngineProgress): void {
    try {
      this.listener?.(progress);
    } catch {
      // A failing progress listener must not fail or stop the transcode it is watching.
    }
  }
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted)
    throw new EngineError("CANCELED", "aborted before it started", undefined, { cause: signal.reason });
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new EngineError("CANCELED", "aborted", undefined, { cause: signal.reason }));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** Maps an addon rejection onto EngineError, keeping the JS call site in the stack. */
function toEngineError(error: unknown, callSite: Error): EngineError {
  if (error instanceof EngineError) return error;
  const raw = error as { code?: unknown; detail?: unknown; message?: unknown } | null;
  const code: EngineErrorCode =
    typeof raw?.code === "string" && ENGINE_ERROR_CODES.has(raw.code)
      ? (raw.code as EngineErrorCode)
      : "ENGINE_FAILURE";
  const message = typeof raw?.message === "string" ? raw.message : String(error);
  const detail = typeof raw?.detail === "string" ? raw.detail : undefined;
  const engineError = new EngineError(code, message, detail, { cause: error });
  engineError.stack = `${engineError.stack ?? ""}\n${callSite.stack?.split("\n").slice(1).join("\n") ?? ""}`;
  return engineError;
}
