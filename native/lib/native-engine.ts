import { mkdir, stat } from "node:fs/promises";
import { analysisKinds, presets } from "@framewire/shared/media";
import { analysisDocument, analysisFacts } from "./analysis";
import { animationFacts } from "./animation";
import type { CompositionGraph } from "./composition-graph";
import { type EditEngine, isEdit, type RenderTarget, runEdit } from "./edits";
import {
  type AudioEncodeOptions,
  type Capabilities,
  type Engine,
  EngineError,
  type EngineErrorCode,
  type EngineProgress,
  engineErrorCodes,
  type HlsPlanOutput,
  type MediaFacts,
  type OutputFacts,
  type Plan,
  type RunOptions,
  type RunResult,
  type StreamFacts,
} from "./engine";
import { addSubtitleRenditions } from "./hls-subtitles";
import { finishDash, finishHls, type TrackCache } from "./ladder";
import { isCmaf } from "./ladder-layout";
import {
  loadNativeAddon,
  type NativeAddon,
  type NativeProgressTick,
  type NativeTranscodeJob,
  type NativeTranscodeResult,
} from "./native-addon";
import { type CompiledOutput, compileNativePlan, fpsRational, type TrackResolver } from "./native-plan";
import {
  contentFlags,
  outputFactsFromProbe,
  outputMismatch,
  type ProbeFn,
  probeFacts,
  removeOutputs,
  subtitleTrackFacts,
  thumbnailFacts,
} from "./output-facts";
import { checkPlan } from "./plan-check";
import { type OutputMeasure, RunProgress } from "./run-progress";
import {
  extractedSubtitleFacts,
  type LoadedSubtitle,
  loadSubtitles,
  removeFiles,
  subtitleStreamFor,
  usedSubtitles,
  writeBurnFiles,
} from "./subtitle-plan";
import { audioStreamsFor, choosesTrack, videoStreamFor } from "./tracks";
import { writeWaveform } from "./waveform";

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

const ENGINE_ERROR_CODES: ReadonlySet<string> = new Set<EngineErrorCode>(engineErrorCodes);

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
      .then(
        (caps): Capabilities => ({
          engine: "native" as const,
          ...caps,
          outputKinds: [
            "video",
            "audio",
            "thumbnails",
            "hls",
            "dash",
            "probe",
            "analysis",
            "animation",
            "waveform",
            "composition",
            "highlight_reel",
            "subtitles",
          ],
          analysisKinds: [...analysisKinds],
          sharedDecode: true,
        }),
      )
      .catch((error: unknown) => {
        this.#capabilities = undefined;
        throw toEngineError(error, new Error("capabilities() called here"));
      });
    return this.#capabilities;
  }

  probe(path: string, options: { signal?: AbortSignal } = {}): Promise<MediaFacts> {
    return this.#probe(path, false, options.signal);
  }

  /**
   * `deep` also reads the first video packets (a probe analysis: variable frame rate, animated
   * images); a plain probe reads only headers.
   */
  async #probe(path: string, deep: boolean, signal: AbortSignal | undefined): Promise<MediaFacts> {
    this.#assertOpen();
    const callSite = new Error("probe() called here");
    throwIfAborted(signal);
    // A probe is short, so abort just stops waiting for it.
    const facts = await raceAbort(this.addon.probe(path, deep), signal).catch((error: unknown) => {
      throw toEngineError(error, callSite);
    });
    const sizeBytes = facts.sizeBytes >= 0 ? facts.sizeBytes : (await stat(path)).size;
    return { ...facts, sizeBytes };
  }

  /**
   * Edits (composition, highlight_reel) render apart, each in its own pass over its inputs; every
   * other output shares the one decode of the plan's input.
   */
  async run(plan: Plan, options: RunOptions = {}): Promise<RunResult> {
    this.#assertOpen();
    const edits = plan.outputs.filter(isEdit);
    if (edits.length === 0) return this.#runShared(plan, options);
    const rest = plan.outputs.filter((o) => !isEdit(o));
    const shared = rest.length > 0 ? await this.#runShared({ ...plan, outputs: rest }, options) : null;
    const done = new Map<string, OutputFacts>(shared?.outputs.map((f) => [f.name, f]) ?? []);
    const callSite = new Error("run() called here");
    const caps = await this.capabilities();
    this.addon.takeLog();
    const engine: EditEngine = {
      probe: (path) => this.probe(path),
      encoders: caps.encoders,
      render: (graph, target, onTick, signal) =>
        this.#render(graph, target, onTick, signal, options.stallTimeoutMs),
      highlights: async (inputPath, o, signal) => {
        const result = await this.#runShared(
          {
            inputPath,
            outputs: [
              {
                kind: "analysis",
                name: "highlights",
                path: `${edits[0]?.path ?? inputPath}.highlights.json`,
                analysis: { kind: "highlights", ...o },
              },
            ],
          },
          { signal, ...(options.stallTimeoutMs ? { stallTimeoutMs: options.stallTimeoutMs } : {}) },
        );
        const facts = result.outputs[0]?.analysis;
        if (facts?.kind !== "highlights")
          throw new EngineError("ENGINE_FAILURE", "the highlights analysis reported nothing");
        return facts;
      },
    };
    for (const output of edits) {
      const progress = new RunProgress([output.name], options.onProgress);
      try {
        done.set(
          output.name,
          await runEdit(plan, output, engine, (m) => progress.update(output.name, m), options.signal),
        );
      } catch (error) {
        await removeOutputs([output]);
        const engineError = error instanceof EngineError ? error : toEngineError(error, callSite);
        engineError.log = this.addon.takeLog();
        throw engineError;
      }
      progress.finish();
    }
    const log = this.addon.takeLog();
    return {
      outputs: plan.outputs.map((o) => done.get(o.name) as OutputFacts),
      log: shared?.log
        ? { lines: [...shared.log.lines, ...log.lines], dropped: shared.log.dropped + log.dropped }
        : log,
    };
  }

  /** One composition graph rendered by the addon, cancelable through the signal. */
  async #render(
    graph: CompositionGraph,
    target: RenderTarget,
    onTick: (measure: OutputMeasure) => void,
    signal: AbortSignal | undefined,
    stallTimeoutMs: number | undefined,
  ): Promise<void> {
    throwIfAborted(signal);
    const callSite = new Error("compose() called here");
    const fps = fpsRational(target.fps);
    const job = this.addon.compose(
      {
        instances: graph.instances.map((d) => ({
          path: d.path,
          video: d.video,
          audio: d.audio,
          seekSec: d.seekSec,
          endSec: d.endSec ?? -1,
        })),
        nodes: graph.nodes,
        videoOut: graph.videoOut,
        audioOut: graph.audioOut,
        path: target.path,
        container: target.muxer,
        video: {
          encoder: target.videoEncoder,
          crf: target.video.crf ?? -1,
          bitrateKbps: target.video.bitrateKbps ?? 0,
          preset: target.video.preset,
          speed: presets.indexOf(target.video.preset),
        },
        audio: target.audioEncoder
          ? { encoder: target.audioEncoder, bitrateKbps: target.audio?.bitrateKbps ?? 0 }
          : null,
        channels: graph.channels,
        sampleRate: graph.sampleRate,
        fpsNum: fps.num,
        fpsDen: fps.den,
        durationSec: graph.durationSec,
        stallTimeoutMs: stallTimeoutMs ?? 0,
      },
      (tick) => {
        const entry = tick.outputs[0];
        if (entry)
          onTick({
            frames: entry.frames,
            outTimeSec: entry.outTimeSec,
            durationSec: entry.durationSec,
            elapsedSec: tick.elapsedSec,
          });
      },
    );
    const cancel = () => job.cancel();
    signal?.addEventListener("abort", cancel, { once: true });
    const entry = { job: job as unknown as NativeTranscodeJob, settled: job.promise.catch(() => undefined) };
    this.#running.add(entry);
    try {
      await job.promise;
    } catch (error) {
      throw toEngineError(error, callSite);
    } finally {
      signal?.removeEventListener("abort", cancel);
      this.#running.delete(entry);
    }
  }

  async #runShared(plan: Plan, options: RunOptions = {}): Promise<RunResult> {
    this.#assertOpen();
    const callSite = new Error("run() called here");
    const { signal, onProgress, stallTimeoutMs } = options;
    checkPlan(plan);
    if (stallTimeoutMs !== undefined && !(Number.isInteger(stallTimeoutMs) && stallTimeoutMs > 0)) {
      throw new EngineError(
        "UNSUPPORTED",
        `stallTimeoutMs must be a positive integer, got ${stallTimeoutMs}`,
      );
    }
    throwIfAborted(signal);
    // What needs the input's facts before anything runs, read in one probe: an output that chooses
    // an audio or video track (resolved against the tracks), an animation (a still has nothing to
    // move; the deep probe tells a still from an animated image), a CMAF ladder (its audio is a
    // track of its own, written only where the input has audio) and a subtitles extraction.
    let tracks: TrackResolver | undefined;
    let inputHasAudio = true;
    // Subtitle files the outputs use are read and checked first: a malformed one fails the job
    // (INPUT_UNREADABLE, naming its line) before anything is decoded.
    const loaded: Map<string, LoadedSubtitle> =
      usedSubtitles(plan).length > 0 ? await loadSubtitles(plan) : new Map();
    // The input's subtitle track each subtitles output takes.
    const extracted = new Map<string, StreamFacts>();
    const animates = plan.outputs.some((o) => o.kind === "animation");
    const cmaf = plan.outputs.some((o) => (o.kind === "hls" || o.kind === "dash") && isCmaf(o));
    const extracts = plan.outputs.some((o) => o.kind === "subtitles");
    if (choosesTrack(plan.outputs) || animates || cmaf || extracts) {
      const facts = await this.#probe(plan.inputPath, animates, signal);
      tracks = {
        audio: (choice) => audioStreamsFor(choice, facts),
        video: (choice) => videoStreamFor(choice, facts),
      };
      inputHasAudio = facts.streams.some((s) => s.type === "audio");
      for (const output of plan.outputs)
        if (output.kind === "subtitles") extracted.set(output.name, subtitleStreamFor(output.track, facts));
      if (animates && contentFlags(facts).media_kind === "image") {
        throw new EngineError(
          "INPUT_NO_STREAMS",
          "an animation needs moving pictures, and the input is a still image (ask for thumbnails instead)",
        );
      }
    }
    const compiled = compileNativePlan(
      plan,
      await this.capabilities(),
      stallTimeoutMs,
      tracks,
      inputHasAudio,
      {
        loaded,
        streamOf: (output) => extracted.get(output.name)?.index ?? -1,
      },
    );
    const { options: nativeOptions, compiledOutputs, dirs } = compiled;
    let burnFiles: string[] = [];

    const progress = nativeProgress(compiledOutputs, onProgress);
    let written: NativeTranscodeResult = { outputs: [], thumbnails: [], analyses: [] };
    // The log is per process: what was logged before this run (capabilities(), an earlier run)
    // is not this run's. See fw::av::TakeLogBatch for why that makes it the run's in a slot.
    this.addon.takeLog();
    try {
      for (const dir of dirs) await mkdir(dir, { recursive: true });
      burnFiles = await writeBurnFiles(plan, loaded);
      const native =
        nativeOptions.outputs.length +
        nativeOptions.thumbnails.length +
        (nativeOptions.analyses?.length ?? 0) +
        (nativeOptions.subtitles?.length ?? 0);
      if (native > 0) {
        throwIfAborted(signal);
        const job = this.addon.transcode(nativeOptions, (tick) => progress.tick(tick));
        const cancel = () => job.cancel();
        signal?.addEventListener("abort", cancel, { once: true });
        const entry = { job, settled: job.promise.catch(() => undefined) };
        this.#running.add(entry);
        try {
          written = await job.promise;
        } catch (error) {
          throw toEngineError(error, callSite);
        } finally {
          signal?.removeEventListener("abort", cancel);
          this.#running.delete(entry);
        }
      }
      await removeFiles(burnFiles);
      const probe = (path: string) => this.probe(path);
      const outputs: OutputFacts[] = [];
      const trackCache: TrackCache = new Map();
      const context = { loaded, extracted };
      for (const compiled of compiledOutputs)
        outputs.push(await this.#facts(plan, compiled, written, probe, trackCache, context));
      progress.done();
      return { outputs, log: this.addon.takeLog() };
    } catch (error) {
      // No partial output survives a failed run: single files and whole output folders go.
      await removeOutputs(plan.outputs);
      await removeFiles(burnFiles);
      const engineError = error instanceof EngineError ? error : toEngineError(error, callSite);
      engineError.log = this.addon.takeLog();
      throw engineError;
    }
  }

  async #facts(
    plan: Plan,
    compiled: CompiledOutput,
    written: NativeTranscodeResult,
    probe: ProbeFn,
    tracks: TrackCache,
    subtitles: { loaded: Map<string, LoadedSubtitle>; extracted: Map<string, StreamFacts> },
  ): Promise<OutputFacts> {
    const { output } = compiled;
    const encoding = compiled.encoding ? { encoding: compiled.encoding } : {};
    switch (output.kind) {
      case "video":
      case "audio": {
        const report = written.outputs[compiled.nativeOutputs[0] ?? -1];
        const loudness =
          output.kind === "audio" || (output.audio !== null && output.audio !== "copy")
            ? (output.kind === "audio" ? output.audio : (output.audio as AudioEncodeOptions))
                .loudnessTargetLufs
            : null;
        const extra: Partial<OutputFacts> = { ...encoding };
        if (loudness !== null && report?.loudnessInputLufs !== undefined) {
          extra.loudness = {
            target_lufs: loudness,
            input_lufs: report.loudnessInputLufs,
            gain_db: report.gainDb ?? 0,
            output_lufs: report.loudnessOutputLufs ?? report.loudnessInputLufs,
            true_peak_dbtp: report.truePeakDbtp ?? 0,
            limited: report.limited ?? false,
          };
        }
        const facts = await probe(output.path);
        const tracks =
          output.kind === "video" ? (output.subtitles ?? []).filter((u) => u.mode === "track") : [];
        if (tracks.length > 0) {
          extra.subtitleTracks = subtitleTrackFacts(facts);
          if (extra.subtitleTracks.length !== tracks.length)
            throw new EngineError(
              "OUTPUT_INVALID",
              `output ${output.name} failed its check: it has ${extra.subtitleTracks.length} subtitle tracks, ${tracks.length} were asked for`,
            );
        }
        return verified(outputFactsFromProbe(output, facts, extra), report);
      }
      case "thumbnails":
        return thumbnailFacts(
          output,
          written.thumbnails[compiled.thumbnails ?? -1] ?? { files: [], timesSec: [] },
          probe,
          // The storyboard's last cue runs to the end of the input.
          output.sprite ? (await probe(plan.inputPath)).durationSec : null,
        );
      case "hls":
        return verifiedLadder(
          await addSubtitleRenditions(
            output,
            await finishHls(output, probe, compiled.encoding, tracks),
            subtitles.loaded,
          ),
          compiled.nativeOutputs.map((i) => written.outputs[i]),
        );
      case "dash": {
        const hls = output.shares?.hls;
        const shared = plan.outputs.find((o): o is HlsPlanOutput => o.kind === "hls" && o.name === hls);
        if (output.shares && !shared)
          throw new EngineError("ENGINE_FAILURE", `output ${output.name}: ${hls} is not in the plan`);
        return verifiedLadder(
          await finishDash(output, shared?.dir ?? output.dir, probe, compiled.encoding, tracks),
          compiled.nativeOutputs.map((i) => written.outputs[i]),
        );
      }
      case "subtitles": {
        const report = written.subtitles?.[compiled.subtitles ?? -1];
        const source = subtitles.extracted.get(output.name);
        if (!report || !source)
          throw new EngineError("ENGINE_FAILURE", `output ${output.name}: the addon reported nothing for it`);
        return extractedSubtitleFacts(output, source);
      }
      case "waveform": {
        const report = written.analyses?.[compiled.analysis ?? -1];
        if (!report?.bucketMin || !report.bucketMax)
          throw new EngineError(
            "ENGINE_FAILURE",
            `output ${output.name}: the addon reported no waveform for it`,
          );
        return writeWaveform(output, {
          bucketSec: report.bucketSec ?? 0,
          startSec: report.startSec ?? 0,
          sampleRate: report.sampleRate ?? 0,
          min: report.bucketMin,
          max: report.bucketMax,
          durationSec: report.durationSec,
        });
      }
      case "animation": {
        const report = written.outputs[compiled.nativeOutputs[0] ?? -1];
        return verified(await animationFacts(output, probe, report?.videoFrames ?? null), report);
      }
      case "probe":
        return probeFacts(output, await this.#probe(plan.inputPath, true, undefined));
      case "analysis": {
        const report = written.analyses?.[compiled.analysis ?? -1];
        if (!report)
          throw new EngineError("ENGINE_FAILURE", `output ${output.name}: the addon reported nothing for it`);
        return analysisFacts(output, analysisDocument(output.analysis, report));
      }
      case "composition":
      case "highlight_reel":
        throw new EngineError("ENGINE_FAILURE", `output ${output.name}: edits are rendered apart`);
    }
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

/**
 * Maps the addon's ticks (one entry per native output and thumbnail set) onto the plan's outputs:
 * a video or audio output is one native output, an HLS ladder is as far as its slowest rendition,
 * a thumbnail set and an analysis are their decode position; a probe output only finishes.
 */
function nativeProgress(
  compiledOutputs: CompiledOutput[],
  listener: ((progress: EngineProgress) => void) | undefined,
): { tick(tick: NativeProgressTick): void; done(): void } {
  const progress = new RunProgress(
    compiledOutputs.map((compiled) => compiled.output.name),
    listener,
  );
  return {
    tick({ elapsedSec, outputs, thumbnails, analyses, subtitles }) {
      for (const compiled of compiledOutputs) {
        const entries =
          compiled.thumbnails !== undefined
            ? [thumbnails[compiled.thumbnails]]
            : compiled.analysis !== undefined
              ? [analyses?.[compiled.analysis]]
              : compiled.subtitles !== undefined
                ? [subtitles?.[compiled.subtitles]]
                : compiled.nativeOutputs.map((index) => outputs[index]);
        const known = entries.filter((e) => e !== undefined);
        if (known.length === 0) continue;
        const slowest = known.reduce((a, b) => (b.outTimeSec < a.outTimeSec ? b : a));
        progress.update(compiled.output.name, {
          frames: Math.min(...known.map((e) => e.frames)),
          outTimeSec: slowest.outTimeSec,
          durationSec: slowest.durationSec,
          elapsedSec,
        });
      }
    },
    done: () => progress.finish(),
  };
}

/**
 * The post-write check: the probed output against what the addon placed on its repaired timelines
 * (the trim window of the media actually decoded, the streams it took). A mismatch fails the run
 * with OUTPUT_INVALID; nothing is reported as succeeded that a user would see is wrong.
 */
function verified(
  facts: OutputFacts,
  report: NativeTranscodeResult["outputs"][number] | undefined,
): OutputFacts {
  if (!report)
    throw new EngineError("ENGINE_FAILURE", `output ${facts.name}: the addon reported nothing for it`);
  const reason = outputMismatch(facts, {
    durationSec: report.expectedDurationSec ?? null,
    video: report.expectsVideo ?? false,
    audio: report.expectsAudio ?? false,
  });
  if (reason) throw new EngineError("OUTPUT_INVALID", `output ${facts.name} failed its check: ${reason}`);
  return facts;
}

/**
 * The post-write check of a ladder: its native outputs together (a CMAF ladder's renditions are
 * video alone and its audio a track apart) must hold what the input gave them, as long as the
 * first rendition's media.
 */
function verifiedLadder(
  facts: OutputFacts,
  reports: (NativeTranscodeResult["outputs"][number] | undefined)[],
): OutputFacts {
  const known = reports.filter((r) => r !== undefined);
  const first = known[0];
  if (!first || known.length !== reports.length)
    throw new EngineError("ENGINE_FAILURE", `output ${facts.name}: the addon reported nothing for it`);
  return verified(facts, {
    ...first,
    expectsVideo: known.some((r) => r.expectsVideo),
    expectsAudio: known.some((r) => r.expectsAudio),
  });
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
