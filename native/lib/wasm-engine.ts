/**
 * The `wasm` Engine: FFmpeg 5.1 from @ffmpeg/core (ffmpeg.wasm) in one worker thread.
 *
 * The core's `exec` blocks the thread it runs on for the whole transcode, so it lives in a worker and
 * runs one call at a time; this file queues calls, moves bytes between disk and the worker's MEMFS,
 * and maps outcomes to EngineError codes. A blocked `exec` cannot be interrupted from inside, so
 * cancelling terminates the worker; the next call starts a fresh one (about 0.2 s, reusing the
 * compiled module).
 */
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { fontFiles, fontNames, subtitleTrackCodecs } from "@framewire/shared/media";
import { analysisDocument, analysisFacts } from "./analysis";
import { animationFacts } from "./animation";
import { type EditEngine, type EditPlanOutput, isEdit, runEdit } from "./edits";
import {
  type Capabilities,
  type EncodingChoice,
  type Engine,
  EngineError,
  type MediaFacts,
  type OutputFacts,
  type Plan,
  type PlanOutput,
  type RunOptions,
  type RunResult,
  type Trim,
  type VideoPlanOutput,
} from "./engine";
import type { NativeAnalysisReport } from "./native-addon";
import {
  outputFactsFromProbe,
  outputMismatch,
  probeFacts,
  removeOutputs,
  subtitleTrackFacts,
  thumbnailFacts,
} from "./output-facts";
import { AUDIO_FORMATS, checkPlan } from "./plan-check";
import type { OutputMeasure } from "./run-progress";
import { RunProgress } from "./run-progress";
import {
  extractedSubtitleFacts,
  type LoadedSubtitle,
  loadSubtitles,
  subtitleStreamFor,
  usedSubtitles,
} from "./subtitle-plan";
import { assScript, cuesInWindow, srtDocument, unburnableCue } from "./subtitles";
import {
  loudnessFromLog,
  MEMFS_METADATA,
  silenceFromLog,
  videoFromMetadata,
  WASM_ANALYSIS_KINDS,
  wasmAnalysisArgs,
} from "./wasm-analysis";
import { renderInWasm, type WasmEditIo } from "./wasm-edits";
import {
  animationArgs,
  audioArgs,
  firstFrameArgs,
  MEMFS_PACKETS,
  MEMFS_PROBE,
  MEMFS_PROBE_INPUT,
  mediaFactsFromProbe,
  memfsInputName,
  memfsOutputName,
  packetScanArgs,
  parseEncoders,
  parseVersion,
  probeArgs,
  progressMeasure,
  stillOrientationOf,
  subtitleExtractArgs,
  thumbnailArgs,
  thumbnailTimes,
  timelineOf,
  videoArgs,
  videoPacketFacts,
  WASM_WAVEFORM_MAX_SEC,
  type WasmBurn,
  type WasmInputFacts,
  type WasmTrack,
  wasmUnsupported,
  waveformPcmArgs,
} from "./wasm-ffmpeg";
import { bucketsFromPcm, writeWaveform } from "./waveform";

export interface WasmEngineOptions {
  /**
   * Bytes of memory one call may use. MEMFS keeps the whole input (and output) in the worker's memory,
   * so a larger input is refused with UNSUPPORTED; and since wasm memory never shrinks, a worker whose
   * heap grew past this is replaced after its call. Default 1 GiB.
   */
  memoryLimitBytes?: number;
}

const DEFAULT_MEMORY_LIMIT = 1024 ** 3;
/** wasm32 addresses at most 4 GiB; the core itself stops growing at 2 GiB. */
const MAX_MEMORY_LIMIT = 4 * 1024 ** 3;

/**
 * Encoders this build really runs. `-encoders` also lists libx265 (hangs in this single-threaded
 * build) and libvpx-vp9 (realtime mode crashes), and there is no AV1 encoder; each name below was
 * checked by encoding a clip with @ffmpeg/core 0.12.10.
 */
const WORKING_ENCODERS = new Set([
  "libx264",
  "aac",
  "libopus",
  "libmp3lame",
  "libvpx",
  "libvorbis",
  "libtheora",
  "flac",
  "pcm_s16le",
  "mjpeg",
  "png",
  "libwebp",
  "libwebp_anim",
  "gif",
]);

/** A still image counts as one frame at 25 fps, as in the native engine. */
const STILL_DURATION_SEC = 0.04;

type InspectedInput = WasmInputFacts & { timeline: ReturnType<typeof timelineOf> };

const EMPTY_FACTS: MediaFacts = {
  formatName: "",
  durationSec: null,
  bitRate: null,
  sizeBytes: 0,
  streams: [],
};

function trimmedDuration(durationSec: number | null, trim: Trim | null): number | null {
  if (!trim) return durationSec;
  const end = trim.endSec !== null ? Math.min(trim.endSec, durationSec ?? trim.endSec) : durationSec;
  return end === null ? null : Math.max(0, end - trim.startSec);
}

interface CallResult {
  ret: number;
  stdout: string[];
  stderr: string[];
}

type Reply =
  | { id: number; ok: true; value: unknown; heapBytes: number }
  | { id: number; ok: false; message: string };
interface Ready {
  ready: true;
  coreVersion: string;
  /** The compiled core, handed to replacement workers so they skip compiling it again. */
  module: WebAssembly.Module;
}
type WorkerMessage = Reply | { id: number; progress: Record<string, string> } | Ready;

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  onProgress?: (block: Record<string, string>) => void;
}

/** One worker thread holding one core instance; requests are answered in order. */
class CoreWorker {
  readonly ready: Promise<Ready>;
  heapBytes = 0;
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | null = null;

  constructor(module: WebAssembly.Module | undefined) {
    this.worker = new Worker(new URL("./wasm-worker.mjs", import.meta.url), { workerData: { module } });
    // Idle workers must not keep the process alive; ref() while a request is out.
    this.worker.unref();
    this.ready = new Promise((resolve, reject) => {
      this.worker.on("message", (message: WorkerMessage) => {
        if ("ready" in message) resolve(message);
        else this.receive(message);
      });
      this.worker.on("error", (error) => {
        this.fail(error);
        reject(error);
      });
      this.worker.on("exit", (code) => {
        const error = new Error(`the ffmpeg.wasm worker exited (code ${code})`);
        this.fail(error);
        reject(error);
      });
    });
    // Rejections are observed by callers through request(); don't report them as unhandled here.
    this.ready.catch(() => {});
  }

  get alive(): boolean {
    return this.failure === null;
  }

  async request<T>(
    op: string,
    fields: Record<string, unknown> = {},
    options: { transfer?: ArrayBuffer[]; onProgress?: Pending["onProgress"] } = {},
  ): Promise<T> {
    await this.ready;
    if (this.failure) throw this.failure;
    const id = this.nextId++;
    const reply = new Promise<T>((resolve, reject) => {
      this.pending.set(id, {
        resolve: resolve as (value: unknown) => void,
        reject,
        onProgress: options.onProgress,
      });
    });
    this.worker.ref();
    this.worker.postMessage({ id, op, ...fields }, options.transfer ?? []);
    return reply;
  }

  async terminate(): Promise<void> {
    this.fail(new Error("the ffmpeg.wasm worker was stopped"));
    await this.worker.terminate();
  }

  private receive(message: Exclude<WorkerMessage, Ready>): void {
    const pending = this.pending.get(message.id);
    if (!pending) return;
    if ("progress" in message) {
      pending.onProgress?.(message.progress);
      return;
    }
    this.pending.delete(message.id);
    if (this.pending.size === 0) this.worker.unref();
    if (message.ok) {
      this.heapBytes = message.heapBytes;
      pending.resolve(message.value);
    } else {
      pending.reject(new Error(message.message));
    }
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const pending of this.pending.values()) pending.reject(this.failure);
    this.pending.clear();
  }
}

/** Where a burn's fonts go in MEMFS (libass's fontsdir: this build has no fontconfig). */
const MEMFS_FONTS = "/work/fonts";

function canceled(): EngineError {
  return new EngineError("CANCELED", "The run was canceled");
}

/** Rejects as soon as the signal aborts, even while the work is still queued behind another call. */
function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(canceled());
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

class WasmEngine implements Engine {
  readonly name = "wasm" as const;
  private core: CoreWorker | null = null;
  private module: WebAssembly.Module | undefined;
  /** Tail of the call queue: each call starts when the one before it has settled. */
  private lane: Promise<void> = Promise.resolve();
  private capabilitiesCache: Promise<Capabilities> | null = null;
  private ownCapabilities: Promise<Capabilities> | null = null;
  private closed = false;

  constructor(private readonly memoryLimitBytes: number) {}

  /** Starts the worker now, so a core that cannot load fails engine creation rather than the first job. */
  async start(): Promise<void> {
    this.core = new CoreWorker(undefined);
    try {
      this.module = (await this.core.ready).module;
    } catch (error) {
      this.core = null;
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`The ffmpeg.wasm core (@ffmpeg/core) could not be loaded in a worker: ${reason}`, {
        cause: error,
      });
    }
  }

  capabilities(): Promise<Capabilities> {
    if (!this.capabilitiesCache) {
      const reading = this.serial(undefined, () => this.readCapabilities());
      // A failed attempt (the worker could not start) is not remembered; the next call tries again.
      reading.catch(() => {
        if (this.capabilitiesCache === reading) this.capabilitiesCache = null;
      });
      this.capabilitiesCache = reading;
    }
    return this.capabilitiesCache;
  }

  probe(path: string, options: { signal?: AbortSignal } = {}): Promise<MediaFacts> {
    return this.serial(options.signal, async () => {
      const input = await this.readInput(path, options.signal);
      return this.withCore(options.signal, async (core) => {
        try {
          return await this.probeMemfs(core, input.name, input.bytes);
        } finally {
          await this.removeMemfs(core, [input.name, MEMFS_PROBE]);
        }
      });
    });
  }

  run(plan: Plan, options: RunOptions = {}): Promise<RunResult> {
    try {
      checkPlan(plan);
      const { stallTimeoutMs } = options;
      if (stallTimeoutMs !== undefined && !(Number.isInteger(stallTimeoutMs) && stallTimeoutMs > 0)) {
        throw new EngineError(
          "UNSUPPORTED",
          `stallTimeoutMs must be a positive integer, got ${stallTimeoutMs}`,
        );
      }
      if (plan.accel === "gpu") {
        throw new EngineError(
          "UNSUPPORTED",
          'accel "gpu" was asked for, but the wasm engine has no hardware encoders',
        );
      }
    } catch (error) {
      return Promise.reject(error);
    }
    return this.serial(options.signal, async () => {
      const caps = await this.readCapabilitiesOnce();
      for (const [i, output] of plan.outputs.entries()) {
        const reason = wasmUnsupported(output, caps.encoders);
        if (reason) throw new EngineError("UNSUPPORTED", `plan.outputs[${i}] (${output.kind}): ${reason}`);
      }
      try {
        const edits = plan.outputs.filter(isEdit);
        if (edits.length === 0) return await this.transcode(plan, options);
        const rest = plan.outputs.filter((o) => !isEdit(o));
        const shared = rest.length > 0 ? await this.transcode({ ...plan, outputs: rest }, options) : null;
        const done = new Map(shared?.outputs.map((f) => [f.name, f]) ?? []);
        for (const output of edits)
          done.set(output.name, await this.edit(plan, output, caps.encoders, options));
        return { outputs: plan.outputs.map((o) => done.get(o.name) as OutputFacts) };
      } catch (error) {
        // Whatever failed, no partial or stale file stays where an output was promised.
        await removeOutputs(plan.outputs);
        throw error;
      }
    });
  }

  /** One composition or highlight reel (edits.ts), its graph run by the CLI (wasm-edits.ts). */
  private async edit(
    plan: Plan,
    output: EditPlanOutput,
    encoders: string[],
    options: RunOptions,
  ): Promise<OutputFacts> {
    if (output.kind === "highlight_reel")
      throw new EngineError(
        "UNSUPPORTED",
        `output ${output.name}: highlight reels need the highlights analysis, which the wasm engine lacks; use the native engine`,
      );
    const progress = new RunProgress([output.name], options.onProgress);
    const facts = await this.withCore(options.signal, (core) => {
      const io: WasmEditIo = {
        write: (name, bytes) =>
          core.request("write", { name, bytes }, { transfer: [bytes.buffer as ArrayBuffer] }),
        remove: (names) => this.removeMemfs(core, names),
        exec: async (args, durationSec) => {
          await this.exec(
            core,
            args,
            progressMeasure(durationSec, (m) => progress.update(output.name, m)),
            options.stallTimeoutMs,
          );
        },
        keep: async (memfs, path) => {
          await this.keep(core, memfs, path, false);
        },
        filters: async () => {
          this.filterNames ??= core
            .request<CallResult>("exec", {
              args: ["-hide_banner", "-loglevel", "error", "-filters"],
              keepLines: 5000,
            })
            .then(
              (r) => new Set([...r.stdout, ...r.stderr].map((line) => line.trim().split(/\s+/)[1] ?? "")),
            );
          return this.filterNames;
        },
      };
      const editEngine: EditEngine = {
        probe: (path) => this.probeDisk(core, path),
        encoders,
        render: (graph, target) => renderInWasm(graph, target, io),
        highlights: () =>
          Promise.reject(new EngineError("UNSUPPORTED", "no highlights analysis in the wasm engine")),
      };
      return runEdit(plan, output, editEngine, () => {}, options.signal);
    });
    progress.finish();
    return facts;
  }

  private filterNames: Promise<Set<string>> | null = null;

  async close(): Promise<void> {
    this.closed = true;
    const core = this.core;
    this.core = null;
    await core?.terminate();
  }

  /** Runs calls one at a time, in order; an aborted call leaves the queue at once. */
  private serial<T>(signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new EngineError("ENGINE_FAILURE", "The wasm engine is closed"));
    if (signal?.aborted) return Promise.reject(canceled());
    const work = this.lane.then(() => {
      if (signal?.aborted) throw canceled();
      return fn();
    });
    this.lane = work.then(
      () => {},
      () => {},
    );
    return abortable(work, signal);
  }

  /**
   * Lends the worker to one call. Aborting terminates it (the only way to stop a blocked exec), and
   * any failure of the worker itself becomes CANCELED or ENGINE_FAILURE; EngineErrors pass through.
   */
  private async withCore<T>(
    signal: AbortSignal | undefined,
    fn: (core: CoreWorker) => Promise<T>,
  ): Promise<T> {
    if (this.closed) throw new EngineError("ENGINE_FAILURE", "The wasm engine is closed");
    if (!this.core?.alive) this.core = new CoreWorker(this.module);
    const core = this.core;
    const onAbort = () => {
      if (this.core === core) this.core = null;
      void core.terminate();
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const result = await fn(core);
      if (signal?.aborted) throw canceled();
      return result;
    } catch (error) {
      if (signal?.aborted) throw canceled();
      if (error instanceof EngineError) throw error;
      // A wasm trap or a dead worker: whatever state the core is in, the next call gets a fresh one.
      await this.retire(core);
      throw new EngineError("ENGINE_FAILURE", "The ffmpeg.wasm worker failed", String(error), {
        cause: error,
      });
    } finally {
      signal?.removeEventListener("abort", onAbort);
      // Wasm memory never shrinks: replace a worker that grew past the limit.
      if (core.heapBytes > this.memoryLimitBytes) await this.retire(core);
    }
  }

  /** Reads the input from disk; the bytes are then transferred (not copied) to the worker. */
  private async readInput(path: string, signal: AbortSignal | undefined) {
    let bytes: Buffer;
    try {
      const { size } = await stat(path);
      if (size > this.memoryLimitBytes) {
        throw new EngineError(
          "UNSUPPORTED",
          `The input is ${size} bytes; the wasm engine holds inputs in memory and is limited to ${this.memoryLimitBytes} (memoryLimitBytes)`,
        );
      }
      bytes = await readFile(path);
    } catch (error) {
      if (error instanceof EngineError) throw error;
      const detail = error instanceof Error ? error.message : String(error);
      throw new EngineError("INPUT_UNREADABLE", "The input file could not be read", detail, { cause: error });
    }
    if (signal?.aborted) throw canceled();
    // readFile may return a view into a shared pool; copy only then, so the transfer owns its buffer.
    const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    return { name: memfsInputName(path), bytes: own ? new Uint8Array(bytes.buffer) : new Uint8Array(bytes) };
  }

  /**
   * Moves `bytes` (when given; transferred, so unusable here afterwards) into MEMFS under `name` and
   * probes it; throws INPUT_UNREADABLE if FFmpeg cannot open it.
   */
  private async probeMemfs(core: CoreWorker, name: string, bytes?: Uint8Array): Promise<MediaFacts> {
    const size = bytes?.byteLength ?? 0;
    if (bytes) await core.request("write", { name, bytes }, { transfer: [bytes.buffer as ArrayBuffer] });
    const result = await core.request<CallResult>("ffprobe", { args: probeArgs(name) });
    let json: string | null = null;
    try {
      json = Buffer.from(await core.request<Uint8Array>("read", { name: MEMFS_PROBE })).toString("utf8");
    } catch {
      // No probe file: FFmpeg failed before writing one; probeError reports the log instead.
    }
    return mediaFactsFromProbe(json, result.stderr, size);
  }

  /**
   * Runs each output as its own FFmpeg call over the same MEMFS copy of the input (this build
   * decodes once per output: capabilities().sharedDecode is false).
   */
  private async transcode(plan: Plan, options: RunOptions): Promise<RunResult> {
    // Subtitle files are read and checked before anything runs (INPUT_UNREADABLE names the line).
    const subtitles = usedSubtitles(plan).length > 0 ? await loadSubtitles(plan) : new Map();
    const input = await this.readInput(plan.inputPath, options.signal);
    return this.withCore(options.signal, async (core) => {
      try {
        const facts = await this.inspect(
          core,
          input.name,
          await this.probeMemfs(core, input.name, input.bytes),
        );
        // One output at a time, each measured against its own duration.
        const progress = new RunProgress(
          plan.outputs.map((o) => o.name),
          options.onProgress,
        );
        const outputs: OutputFacts[] = [];
        for (const output of plan.outputs) {
          if (options.signal?.aborted) throw canceled();
          const report = (measure: OutputMeasure) => progress.update(output.name, measure);
          const exec = (args: string[], duration: number | null | undefined, keepLines?: number) =>
            this.exec(
              core,
              args,
              duration === undefined || !options.onProgress ? undefined : progressMeasure(duration, report),
              options.stallTimeoutMs,
              keepLines,
            );
          outputs.push(await this.runOutput(core, plan, output, input.name, facts, exec, report, subtitles));
        }
        progress.finish();
        return { outputs };
      } finally {
        if (core.alive) await this.removeMemfs(core, [input.name, MEMFS_PROBE]);
      }
    });
  }

  /**
   * What the probe does not say: a still's EXIF orientation (first frame's display matrix), and the
   * input's timeline from its packets: where its media really ends (Matroska from a pipe has no
   * duration) and whether its timestamps need a repair this build cannot make.
   */
  private async inspect(core: CoreWorker, input: string, facts: MediaFacts): Promise<InspectedInput> {
    const inspected: InspectedInput = {
      ...facts,
      timeline: { endSec: null, lastPictureSec: null, problem: null },
    };
    if (/(_pipe|^image2)$/.test(facts.formatName)) {
      await core.request<CallResult>("ffprobe", { args: firstFrameArgs(input) });
      const json = Buffer.from(await core.request<Uint8Array>("read", { name: MEMFS_PROBE })).toString(
        "utf8",
      );
      const orientation = stillOrientationOf(json);
      if (orientation) inspected.stillOrientation = orientation;
      inspected.durationSec ??= STILL_DURATION_SEC;
      return inspected;
    }
    if (!facts.streams.some((s) => s.type === "video" || s.type === "audio")) return inspected;
    await core.request<CallResult>("ffprobe", { args: packetScanArgs(input) });
    try {
      const csv = Buffer.from(await core.request<Uint8Array>("read", { name: MEMFS_PACKETS })).toString(
        "utf8",
      );
      inspected.timeline = timelineOf(csv, facts);
      // What the native deep probe reads: packets and frame-duration spread of each video stream.
      const packets = videoPacketFacts(csv, facts);
      inspected.streams = facts.streams.map((s) => {
        const seen = packets.get(s.index);
        return seen ? { ...s, packets: seen.packets, variableFrameRate: seen.variable } : s;
      });
    } finally {
      await this.removeMemfs(core, [MEMFS_PACKETS]);
    }
    inspected.durationSec ??= inspected.timeline.endSec;
    return inspected;
  }

  private async runOutput(
    core: CoreWorker,
    plan: Plan,
    output: PlanOutput,
    input: string,
    facts: InspectedInput,
    /** Runs one FFmpeg call; a duration (null: unknown) asks for progress against it. */
    exec: (args: string[], durationSec?: number | null, keepLines?: number) => Promise<CallResult>,
    /** Progress of an output whose FFmpeg calls report none of their own (thumbnails). */
    report: (measure: OutputMeasure) => void,
    subtitles: Map<string, LoadedSubtitle>,
  ): Promise<OutputFacts> {
    const hasVideo = facts.streams.some((s) => s.type === "video");
    const hasAudio = facts.streams.some((s) => s.type === "audio");
    const encoding: EncodingChoice = {
      encoder: "libx264",
      accel: "cpu",
      fallbackReason: (plan.accel ?? "auto") === "auto" ? "the wasm engine has no hardware encoders" : null,
    };
    // The same post-write check as the native engine's, against the media's real end; where this
    // build writes something else, the output is refused rather than delivered wrong.
    const realDuration = facts.timeline.endSec ?? facts.durationSec;
    const checked = (written: OutputFacts, video: boolean, audio: boolean, trim: Trim | null) => {
      const reason = outputMismatch(written, {
        durationSec: trimmedDuration(realDuration, trim),
        video,
        audio,
      });
      if (reason) {
        throw new EngineError(
          "UNSUPPORTED",
          `output ${output.name}: the wasm engine wrote a wrong file for this input (${reason}); ` +
            "it lacks the native engine's timestamp repair and seek fallback",
        );
      }
      return written;
    };
    const repairNeeded = () => {
      if (facts.timeline.problem) {
        throw new EngineError(
          "UNSUPPORTED",
          `output ${output.name}: the input's timestamps ${facts.timeline.problem}; the wasm engine cannot ` +
            "repair them (the native engine can)",
        );
      }
    };
    // The native engine's refusal of a window the media never reaches, from the packet scan (only
    // where it went through: it stops at the first timestamp problem). Pictures count by where the
    // last one starts; with sound, by where the media ends.
    const requireMediaIn = (startSec: number, withSound: boolean) => {
      const { endSec, lastPictureSec, problem } = facts.timeline;
      const end = problem ? null : withSound ? endSec : lastPictureSec;
      if (startSec <= 0 || end === null || (withSound ? end > startSec : end >= startSec - 1e-6)) return;
      throw new EngineError(
        "WINDOW_EMPTY",
        `the output ${output.name} starts at ${startSec.toFixed(3)} s, but the input's media ends at ` +
          `${end.toFixed(3)} s: it would be empty`,
      );
    };
    switch (output.kind) {
      case "video": {
        if (!((output.video && hasVideo) || (output.audio && hasAudio))) {
          throw new EngineError("INPUT_NO_STREAMS", `The input has no stream output ${output.name} can use`);
        }
        repairNeeded();
        requireMediaIn(output.trim?.startSec ?? 0, output.audio !== null && hasAudio);
        const out = memfsOutputName(output.container);
        const duration = trimmedDuration(facts.durationSec, output.trim);
        const files = await this.subtitleFiles(core, output, subtitles);
        try {
          await exec(videoArgs(output, input, facts, out, files), duration);
        } finally {
          await this.removeMemfs(core, files.written);
        }
        const written = await this.keep(core, out, output.path);
        const extra: Partial<OutputFacts> = output.video ? { encoding } : {};
        if (files.tracks.length > 0) {
          extra.subtitleTracks = subtitleTrackFacts(written);
          if (extra.subtitleTracks.length !== files.tracks.length)
            throw new EngineError(
              "OUTPUT_INVALID",
              `output ${output.name} failed its check: it has ${extra.subtitleTracks.length} subtitle tracks, ${files.tracks.length} were asked for`,
            );
        }
        const result = outputFactsFromProbe(output, written, extra);
        return checked(
          result,
          output.video !== null && hasVideo,
          output.audio !== null && hasAudio,
          output.trim,
        );
      }
      case "audio": {
        if (!hasAudio) throw new EngineError("INPUT_NO_STREAMS", "The input has no audio stream to encode");
        repairNeeded();
        requireMediaIn(output.trim?.startSec ?? 0, true);
        const out = memfsOutputName(AUDIO_FORMATS[output.audio.codec].extension);
        await exec(audioArgs(output, input, facts, out), trimmedDuration(facts.durationSec, output.trim));
        return checked(
          outputFactsFromProbe(output, await this.keep(core, out, output.path)),
          false,
          true,
          output.trim,
        );
      }
      case "thumbnails": {
        if (!hasVideo)
          throw new EngineError("INPUT_NO_STREAMS", "Thumbnails need a video stream and the input has none");
        // Seeking by timestamps the input gets wrong finds the wrong pictures, or none.
        repairNeeded();
        await mkdir(output.dir, { recursive: true });
        const video = facts.streams.find((s) => s.type === "video");
        const lastFrame = Math.max(0, (facts.durationSec ?? 0) - 1 / (video?.fps ?? 25));
        const times = thumbnailTimes(output, facts.durationSec);
        const files: string[] = [];
        const timesSec: number[] = [];
        const out = memfsOutputName(output.format);
        const started = performance.now();
        for (const [i, wanted] of times.entries()) {
          // An offset past the end gives the last frame, as in the native engine.
          const time = facts.durationSec !== null ? Math.min(wanted, lastFrame) : wanted;
          await exec(thumbnailArgs(output, input, time, facts, out));
          const path = join(output.dir, `thumb-${String(i + 1).padStart(4, "0")}.${output.format}`);
          await this.keep(core, out, path, false);
          files.push(path);
          timesSec.push(time);
          // One seek-and-decode per image: the share of images written is the share of work done.
          report({
            frames: files.length,
            outTimeSec: ((facts.durationSec ?? 0) * files.length) / times.length,
            durationSec: facts.durationSec,
            elapsedSec: (performance.now() - started) / 1000,
          });
        }
        return thumbnailFacts(output, { files, timesSec }, (path) => this.probeDisk(core, path));
      }
      case "probe":
        return probeFacts(output, {
          formatName: facts.formatName,
          durationSec: facts.durationSec,
          bitRate: facts.bitRate,
          sizeBytes: facts.sizeBytes,
          streams: facts.streams,
          ...(facts.image !== undefined ? { image: facts.image } : {}),
        });
      case "analysis": {
        const a = output.analysis;
        const needsVideo = a.kind === "scenes" || a.kind === "black" || a.kind === "freeze";
        if (needsVideo ? !hasVideo : !hasAudio) {
          throw new EngineError(
            "INPUT_NO_STREAMS",
            `a ${a.kind} analysis needs ${needsVideo ? "a video" : "an audio"} stream; the input has none`,
          );
        }
        // Cuts, silences and loudness on timestamps the input gets wrong would be wrong too.
        repairNeeded();
        const end = realDuration ?? 0;
        let report: NativeAnalysisReport;
        if (needsVideo) {
          await exec(wasmAnalysisArgs(a, input), facts.durationSec);
          const text = Buffer.from(
            await core.request<Uint8Array>("read", { name: MEMFS_METADATA }).catch(() => new Uint8Array()),
          ).toString("utf8");
          await this.removeMemfs(core, [MEMFS_METADATA]);
          report = videoFromMetadata(a, text, end);
        } else {
          // Every frame-log line of a long input is kept (10 a second).
          const lines = Math.ceil((facts.durationSec ?? 3600) * 12) + 1000;
          const result = await exec(wasmAnalysisArgs(a, input), facts.durationSec, lines);
          // Once a core has run `-version` or `-encoders` (capabilities), FFmpeg's help log
          // callback stays installed and log lines arrive on stdout: read both.
          const log = [...result.stderr, ...result.stdout];
          report =
            a.kind === "loudness"
              ? loudnessFromLog(log, end)
              : silenceFromLog(log, end, "minDurationSec" in a ? a.minDurationSec : 0);
        }
        return analysisFacts(output, analysisDocument(a, report));
      }
      case "composition":
      case "highlight_reel":
        throw new EngineError("ENGINE_FAILURE", `output ${output.name}: edits are rendered apart`);
      case "hls":
      case "dash":
        throw new EngineError(
          "UNSUPPORTED",
          `${output.kind === "hls" ? "HLS" : "DASH"} ladders are not available in the wasm engine`,
        );
      case "subtitles": {
        const source = subtitleStreamFor(output.track, facts);
        const out = memfsOutputName("vtt");
        await exec(subtitleExtractArgs(input, source.index, out), facts.durationSec);
        await this.keep(core, out, output.path, false);
        return extractedSubtitleFacts(output, source);
      }
      case "waveform": {
        if (!hasAudio)
          throw new EngineError("INPUT_NO_STREAMS", "A waveform needs an audio stream; the input has none");
        repairNeeded();
        if ((realDuration ?? Number.POSITIVE_INFINITY) > WASM_WAVEFORM_MAX_SEC) {
          throw new EngineError(
            "UNSUPPORTED",
            `output ${output.name}: the wasm engine draws waveforms of inputs up to ${WASM_WAVEFORM_MAX_SEC / 60} minutes ` +
              "(it holds the decoded audio in memory; the native engine streams it)",
          );
        }
        const out = memfsOutputName("pcm");
        await exec(waveformPcmArgs(input, out), facts.durationSec);
        const bytes = await core.request<Uint8Array>("read", { name: out });
        await this.removeMemfs(core, [out]);
        const pcm = new Int16Array(bytes.buffer, bytes.byteOffset, Math.floor(bytes.byteLength / 2));
        const rate = facts.streams.find((s) => s.type === "audio")?.sampleRate ?? 48_000;
        const resolution =
          output.pointsPerSec !== null
            ? { pointsPerSec: output.pointsPerSec }
            : { points: Math.max(output.points ?? 0, output.width) };
        return writeWaveform(output, bucketsFromPcm(pcm, rate, resolution));
      }
      case "animation": {
        if (!hasVideo)
          throw new EngineError(
            "INPUT_NO_STREAMS",
            "An animation needs a video stream and the input has none",
          );
        repairNeeded();
        requireMediaIn(output.startSec, false);
        const out = memfsOutputName(output.format);
        const window = { startSec: output.startSec, endSec: output.startSec + output.durationSec };
        await exec(animationArgs(output, input, facts, out), trimmedDuration(facts.durationSec, window));
        await this.keep(core, out, output.path, false);
        const written = await animationFacts(output, (path) => this.probeDisk(core, path), null);
        return checked(written, true, false, window);
      }
    }
  }

  /**
   * A video output's subtitle files in MEMFS: a burn's ASS script and the named fonts (the build
   * has no fontconfig: libass reads only this folder), and an SRT file per track, every cue cut to
   * the output's trim as in the native engine.
   */
  private async subtitleFiles(
    core: CoreWorker,
    output: VideoPlanOutput,
    loaded: Map<string, LoadedSubtitle>,
  ): Promise<{ burn: WasmBurn | null; tracks: WasmTrack[]; written: string[] }> {
    const written: string[] = [];
    const put = async (name: string, bytes: Uint8Array) => {
      await core.request("write", { name, bytes }, { transfer: [bytes.buffer as ArrayBuffer] });
      written.push(name);
    };
    const text = (value: string) => new TextEncoder().encode(value);
    const window = (name: string) => {
      const subtitle = loaded.get(name);
      if (!subtitle) throw new EngineError("UNSUPPORTED", `subtitles '${name}' were not loaded`);
      const cues = output.trim
        ? cuesInWindow(subtitle.cues, output.trim.startSec, output.trim.endSec)
        : subtitle.cues;
      return { subtitle, cues };
    };
    let burn: WasmBurn | null = null;
    const tracks: WasmTrack[] = [];
    try {
      for (const [i, use] of (output.subtitles ?? []).entries()) {
        const { subtitle, cues } = window(use.input);
        if (use.mode === "burn") {
          const refused = unburnableCue(cues);
          if (refused)
            throw new EngineError(
              "UNSUPPORTED",
              `subtitles '${use.input}', line ${refused.line}: holds ${refused.reason}; carry it as a track instead of burning it`,
            );
          for (const font of fontNames) {
            const file = fontFiles[font];
            await put(`${MEMFS_FONTS}/${file.split("/").at(-1)}`, new Uint8Array(await readFile(file)));
          }
          burn = { script: "/work/burn.ass", fontsDir: MEMFS_FONTS };
          await put(burn.script, text(assScript(cues, use.style)));
        } else {
          const file = `/work/track${i}.srt`;
          // An output window with no cues still carries the track: one empty, zero-length cue is
          // no SRT, so the file holds a blank cue of a millisecond at the start.
          await put(
            file,
            text(cues.length > 0 ? srtDocument(cues) : "1\n00:00:00,000 --> 00:00:00,001\n \n"),
          );
          tracks.push({
            file,
            codec: subtitleTrackCodecs[output.container],
            language: subtitle.language ?? "",
            title: subtitle.label ?? subtitle.name,
            isDefault: use.default,
          });
        }
      }
    } catch (error) {
      await this.removeMemfs(core, written);
      throw error;
    }
    return { burn, tracks, written };
  }

  /**
   * One FFmpeg call; a non-zero exit retires the core (its globals may be half torn down). With a
   * stall timeout, `-progress` blocks (every 0.25 s while FFmpeg advances) are the heartbeat: when
   * none arrives for that long the worker is terminated, the only way to stop a blocked exec.
   */
  private async exec(
    core: CoreWorker,
    args: string[],
    onBlock: ((block: Record<string, string>) => void) | undefined,
    stallTimeoutMs: number | undefined,
    keepLines?: number,
  ): Promise<CallResult> {
    let stalled = false;
    let watchdog: NodeJS.Timeout | undefined;
    const arm = () => {
      if (!stallTimeoutMs) return;
      clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        stalled = true;
        void this.retire(core);
      }, stallTimeoutMs);
    };
    const onProgress = (block: Record<string, string>) => {
      arm();
      try {
        onBlock?.(block);
      } catch {
        // A failing progress listener must not break the run.
      }
    };
    arm();
    let result: CallResult;
    try {
      const progress = Boolean(onBlock) || Boolean(stallTimeoutMs);
      result = await core.request<CallResult>("exec", { args, progress, keepLines }, { onProgress });
    } catch (error) {
      if (stalled) {
        throw new EngineError(
          "STALLED",
          `no progress for ${stallTimeoutMs} ms: the run was stopped`,
          undefined,
          {
            cause: error,
          },
        );
      }
      throw error;
    } finally {
      clearTimeout(watchdog);
    }
    if (result.ret !== 0) {
      await this.retire(core);
      // This build runs FFmpeg at -loglevel error: its log is the error lines, the last 100 kept.
      const at = Date.now();
      const lines = result.stderr.slice(-100).map((message) => ({
        at,
        level: "error" as const,
        message: message.slice(0, 1000),
      }));
      throw new EngineError(
        "ENGINE_FAILURE",
        `FFmpeg failed with exit code ${result.ret}`,
        result.stderr.at(-1) ?? "no log output",
        { log: { lines, dropped: Math.max(0, result.stderr.length - lines.length) } },
      );
    }
    return result;
  }

  /** Probes a MEMFS output, moves it to `path` on disk and frees it from MEMFS. */
  private async keep(core: CoreWorker, memfs: string, path: string, probe = true): Promise<MediaFacts> {
    try {
      const facts = probe
        ? await this.probeMemfs(core, memfs).catch((error: unknown) => {
            throw new EngineError(
              "ENGINE_FAILURE",
              "FFmpeg wrote an output it cannot read back",
              String(error),
              {
                cause: error,
              },
            );
          })
        : null;
      const bytes = await core.request<Uint8Array>("read", { name: memfs }).catch((error: unknown) => {
        // FFmpeg exited cleanly yet wrote nothing (a seek past the media this build sees, say).
        throw new EngineError(
          "UNSUPPORTED",
          `the wasm engine wrote nothing for ${path.split("/").at(-1)}: it cannot read this input as the native engine does`,
          String(error),
          { cause: error },
        );
      });
      try {
        await writeFile(path, bytes);
      } catch (error) {
        const detail = error instanceof Error ? error.message : String(error);
        throw new EngineError("OUTPUT_WRITE_FAILED", "The output could not be written", detail, {
          cause: error,
        });
      }
      return facts ? { ...facts, sizeBytes: bytes.byteLength } : EMPTY_FACTS;
    } finally {
      if (core.alive) await this.removeMemfs(core, [memfs, MEMFS_PROBE]);
    }
  }

  /** Probes a file on disk from inside a call that already holds the core. */
  private async probeDisk(core: CoreWorker, path: string): Promise<MediaFacts> {
    const name = memfsInputName(path, MEMFS_PROBE_INPUT);
    const bytes = new Uint8Array(await readFile(path));
    try {
      return await this.probeMemfs(core, name, bytes);
    } finally {
      await this.removeMemfs(core, [name, MEMFS_PROBE]);
    }
  }

  /** Stops a worker for good; the next call starts another. */
  private async retire(core: CoreWorker): Promise<void> {
    if (this.core === core) this.core = null;
    await core.terminate();
  }

  private async removeMemfs(core: CoreWorker, names: string[]): Promise<void> {
    await core.request("remove", { names }).catch(() => {});
  }

  /** Capabilities from inside a call that is already in the lane (capabilities() would queue behind it). */
  private async readCapabilitiesOnce(): Promise<Capabilities> {
    this.ownCapabilities ??= this.readCapabilities();
    return this.ownCapabilities;
  }

  private async readCapabilities(): Promise<Capabilities> {
    return this.withCore(undefined, async (core) => {
      const { coreVersion } = await core.ready;
      const version = await core.request<CallResult>("exec", {
        args: ["-hide_banner", "-loglevel", "error", "-version"],
      });
      const encoders = await core.request<CallResult>("exec", {
        args: ["-hide_banner", "-loglevel", "error", "-encoders"],
      });
      return {
        engine: "wasm",
        versions: { ffmpeg: parseVersion(version.stdout), core: coreVersion },
        encoders: parseEncoders(encoders.stdout).filter((name) => WORKING_ENCODERS.has(name)),
        hardware: [],
        hardwareEncoders: [],
        hardwareErrors: {},
        outputKinds: [
          "video",
          "audio",
          "thumbnails",
          "probe",
          "analysis",
          "animation",
          "waveform",
          "composition",
          "subtitles",
        ],
        analysisKinds: WASM_ANALYSIS_KINDS,
        sharedDecode: false,
      };
    });
  }
}

export async function createWasmEngine(options: WasmEngineOptions = {}): Promise<Engine> {
  const { memoryLimitBytes = DEFAULT_MEMORY_LIMIT } = options;
  if (
    !Number.isInteger(memoryLimitBytes) ||
    memoryLimitBytes < 64 * 1024 ** 2 ||
    memoryLimitBytes > MAX_MEMORY_LIMIT
  ) {
    throw new RangeError(
      `memoryLimitBytes must be an integer from 64 MiB to 4 GiB, got ${String(memoryLimitBytes)}`,
    );
  }
  const engine = new WasmEngine(memoryLimitBytes);
  await engine.start();
  return engine;
}
