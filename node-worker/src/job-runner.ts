import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { EngineError, type OutputFacts, type Plan } from "@framewire/native";
import {
  type AttemptLogReport,
  destinationDate,
  expandDestinationPath,
  type InputFacts,
  idTime,
  inputNameOf,
  type JobError,
  type JobMessage,
  type JobReport,
  type OutputResult,
  storageKeys,
  subtitleLimits,
} from "@framewire/shared";
import type { Logger } from "pino";
import { type AttemptLog, createAttemptLog } from "./attempt-log";
import type { JobBus } from "./bus";
import type { NodeConfig } from "./config";
import type { Delivery } from "./delivery";
import { decideFailure } from "./failure-policy";
import { fetchInput, fetchNamedInputs } from "./inputs/job-inputs";
import type { S3InputFetch } from "./inputs/s3-input";
import { fetchToFile, InputFetchError } from "./inputs/safe-fetch";
import { JobFailure, toJobFailure } from "./job-failure";
import { createJobPercent } from "./job-percent";
import type { AttemptOutcome, NodeMetrics } from "./metrics";
import { buildPlan, subtitlePath, watermarkPath } from "./plan";
import { inputPaths } from "./plan-edits";
import type { ProgressPublisher } from "./progress";
import { createProgressReportThrottle } from "./progress-reports";
import type { Reporter } from "./reporter";
import type { IsolatedEngine } from "./slots/isolated-engine";
import type { SlotFault } from "./slots/protocol";
import { type Storage, StorageNotFoundError } from "./storage/storage";
import { watchTempSpace } from "./temp-space";

export interface JobRunnerDeps {
  bus: JobBus;
  engine: IsolatedEngine;
  storage: Storage;
  /** Reads `s3` inputs from the operator's allowed buckets. */
  s3Inputs: S3InputFetch;
  /**
   * The store for a job's `destination` bucket (FW_S3_OUTPUT_BUCKETS, FW_S3_*'s credentials), or
   * null when this node may not write there: the job then fails with output_write_failed.
   */
  destinations: (bucket: string) => Storage | null;
  reporter: Reporter;
  progress: ProgressPublisher;
  config: NodeConfig;
  logger: Logger;
  /** Aborts when the node drains: running jobs that can't finish are handed back, not failed. */
  draining: AbortSignal;
  metrics: NodeMetrics | null;
  /** Hardware encoder sessions the running jobs may hold (added at the run's start, removed at its end). */
  hardwareSessions: { add(sessions: number): void };
  /** Hardware encoders that opened at start: none means no job here can hold a hardware session. */
  hardwareEncodersOpen: number;
}

/**
 * Runs one delivery of one job: report running, fetch the input into the job's own temp folder,
 * run the engine, store the outputs, report the final state, then ack. The message stays unacked
 * (kept alive with working()) until the edge has recorded the final state.
 */
export async function runJob(deps: JobRunnerDeps, delivery: Delivery, message: JobMessage): Promise<void> {
  const { config, engine, reporter } = deps;
  const jobId = message.job_id;
  const attempt = delivery.attempt;
  const logger = deps.logger.child({ job: jobId, attempt, request_id: delivery.header("Fw-Request-Id") });
  // Every report echoes the dispatch generation's attempt base, so the edge can tell this
  // delivery's attempt apart from an earlier dispatch's (a retried or requeued job).
  const attemptBase = message.attempt_base ?? 0;
  const report = (r: JobReport) => reporter.report(jobId, { ...r, attempt_base: attemptBase });

  // Keep the message ours while we work, including while reports wait for an unreachable edge.
  const keepAlive = setInterval(() => delivery.working(), config.FW_ACK_WAIT_MS / 3);
  const canceled = new AbortController();
  const stopListening = deps.bus.onCancel(jobId, () => canceled.abort());
  // A resource limit (FW_JOB_TEMP_MB here; the slot's memory in the isolated engine) stops the run
  // like a cancel, and the failure it records says which limit it was.
  const limit = new AbortController();
  let limitFailure: JobFailure | null = null;
  const stop = AbortSignal.any([canceled.signal, deps.draining, limit.signal]);
  const workDir = join(config.FW_WORK_DIR, `${jobId}-${attempt}`);
  const startedAt = Date.now();
  const attemptLog = createAttemptLog(workDir, new Date(startedAt));
  const tempLimitBytes = config.FW_JOB_TEMP_MB * 1024 ** 2;
  const tempWatch =
    tempLimitBytes > 0
      ? watchTempSpace(workDir, tempLimitBytes, (used) => {
          limitFailure = new JobFailure(
            {
              code: "resource_exhausted",
              message:
                `The job's temporary files reached ${Math.round(used / 1024 ** 2)} MiB on its node, over the ` +
                `per-job limit of ${config.FW_JOB_TEMP_MB} MiB (FW_JOB_TEMP_MB).`,
            },
            false,
          );
          limit.abort();
        })
      : null;
  // What this attempt's end is, for the metrics and the log the edge keeps.
  const ended = (outcome: AttemptOutcome, code: string | null) =>
    deps.metrics?.attempt(outcome, code, engine.name, (Date.now() - startedAt) / 1000);
  // Slot time of this attempt, on the report that ends it (usage: compute seconds).
  const computeMs = () => Date.now() - startedAt;
  const sendLog = (outcome: AttemptOutcome) =>
    sendAttemptLog(deps, message, { attempt, attemptBase, outcome, log: attemptLog });

  try {
    if (deps.draining.aborted) {
      delivery.nak();
      return;
    }
    const started = await report({ type: "running", attempt, node_id: config.nodeId, engine: engine.name });
    if (started.stale) {
      // Canceled while queued, or already finished by another delivery: nothing to do.
      logger.info({ status: started.status }, "job:skipped");
      await delivery.ack();
      return;
    }
    logger.info("job:running");
    await mkdir(workDir, { recursive: true });
    const { outputs, input } = await process(deps, message, attempt, workDir, stop, attemptLog);
    await sendLog("succeeded");
    const final = await report({
      type: "succeeded",
      attempt,
      node_id: config.nodeId,
      outputs,
      compute_ms: computeMs(),
      ...(input ? { input } : {}),
    });
    if (!final.stale) await announce(deps, jobId, "succeeded");
    logger.info({ outputs: outputs.length }, "job:succeeded");
    ended("succeeded", null);
    await delivery.ack();
  } catch (error) {
    if (error instanceof EngineError) attemptLog.engine(error.log);
    const failure = limitFailure ?? toJobFailure(error, workDir);
    attemptLog.node("error", `${failure.jobError.code}: ${failure.jobError.message}`);
    const outcome = decideFailure({
      error: failure.jobError,
      retryable: failure.retryable,
      canceledByRequest: canceled.signal.aborted,
      draining: deps.draining.aborted,
      attempt,
      maxDeliver: config.FW_MAX_DELIVER,
    });
    switch (outcome.action) {
      case "hand-back":
        logger.info("job:handed-back");
        ended("handed_back", null);
        await sendLog("handed_back");
        await requeue(deps, jobId, attempt, attemptBase, outcome.reason, computeMs());
        delivery.nak();
        return;
      case "canceled":
        ended("canceled", null);
        await sendLog("canceled");
        await report({ type: "canceled", attempt, node_id: config.nodeId, compute_ms: computeMs() }).catch(
          () => null,
        );
        logger.info("job:canceled");
        await delivery.ack();
        return;
      case "retry":
        logger.warn({ err: error, code: failure.jobError.code }, "job:retrying");
        ended("retrying", failure.jobError.code);
        await sendLog("retrying");
        await requeue(deps, jobId, attempt, attemptBase, outcome.reason, computeMs(), failure.jobError);
        delivery.nak(outcome.delayMs);
        return;
      case "fail":
        break;
    }
    ended("failed", failure.jobError.code);
    await sendLog("failed");
    if (outcome.deadLetter) {
      // Every delivery failed: a poison job. Park it where an operator can see and requeue it.
      await deps.bus
        .deadLetter({
          job: message,
          subject: delivery.subject,
          attempts: attempt,
          lastError: failure.jobError,
        })
        .then(() => logger.warn({ code: failure.jobError.code }, "job:dead-lettered"))
        .catch((dlqError: unknown) => logger.error({ err: dlqError }, "dlq:write:failed"));
    }
    const reply = await report({
      type: "failed",
      attempt,
      node_id: config.nodeId,
      error: failure.jobError,
      retryable: failure.retryable,
      compute_ms: computeMs(),
    }).catch((reportError: unknown) => {
      logger.error({ err: reportError }, "job:report:failed");
      return null;
    });
    if (reply && !reply.stale) await announce(deps, jobId, "failed", failure.jobError);
    logger.warn({ code: failure.jobError.code, reason: failure.message }, "job:failed");
    await delivery.ack();
  } finally {
    clearInterval(keepAlive);
    tempWatch?.stop();
    stopListening();
    // The temp folder goes on every exit path; a crash leaves it for the start-up sweep.
    await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * Hands the attempt's log to the edge before the attempt's final report, so a tenant who sees the
 * failure finds its log. Best effort and bounded (a few seconds): a log never holds a job back.
 */
async function sendAttemptLog(
  deps: JobRunnerDeps,
  message: JobMessage,
  attempt: { attempt: number; attemptBase: number; outcome: AttemptOutcome; log: AttemptLog },
): Promise<void> {
  const { lines, dropped, startedAt } = attempt.log.report();
  const body: AttemptLogReport = {
    attempt: attempt.attempt,
    attempt_base: attempt.attemptBase,
    node_id: deps.config.nodeId,
    engine: deps.engine.name,
    started_at: startedAt.toISOString(),
    ended_at: new Date().toISOString(),
    outcome: attempt.outcome,
    lines,
    dropped,
  };
  await deps.reporter
    .log(message.job_id, body, AbortSignal.timeout(5_000))
    .catch((error: unknown) => deps.logger.warn({ err: error, job: message.job_id }, "job:log:unsent"));
}

/**
 * Hardware encoder sessions a plan may hold while it runs: one per video encode (each HLS or
 * DASH rendition is one) when the job may use hardware and the node has hardware encoders that opened.
 * An upper bound: the engine may still choose software for an output.
 */
function hardwareSessionsOf(plan: Plan, hardwareEncodersOpen: number): number {
  if (plan.accel === "cpu" || hardwareEncodersOpen === 0) return 0;
  let sessions = 0;
  for (const output of plan.outputs) {
    if (output.kind === "video" && output.video) sessions += 1;
    // A dash output sharing an HLS output's ladder encodes nothing of its own.
    if (output.kind === "hls" || (output.kind === "dash" && !output.shares))
      sessions += output.renditions.length;
  }
  return sessions;
}

/**
 * Tells the edge the job is waiting again, so its record says `queued` with the reason rather than
 * `running`. Best effort and bounded: the nak that follows is what really hands the job back.
 */
async function requeue(
  deps: JobRunnerDeps,
  jobId: string,
  attempt: number,
  attemptBase: number,
  reason: string,
  computeMs: number,
  error?: JobError,
) {
  const report: JobReport = {
    type: "requeued",
    attempt,
    attempt_base: attemptBase,
    node_id: deps.config.nodeId,
    compute_ms: computeMs,
    reason,
    ...(error ? { error } : {}),
  };
  await deps.reporter.report(jobId, report, AbortSignal.timeout(3_000)).catch(() => null);
}

/**
 * `progress` reports for jobs whose webhook wants job.progress: bounded in rate, best effort (a
 * short timeout, no retries beyond it — the next one carries newer news).
 */
function progressReporter(deps: JobRunnerDeps, message: JobMessage, attempt: number) {
  if (!message.progress_report_sec) return null;
  return createProgressReportThrottle({
    intervalMs: message.progress_report_sec * 1000,
    send: (percent) => {
      const report: JobReport = {
        type: "progress",
        attempt,
        attempt_base: message.attempt_base ?? 0,
        node_id: deps.config.nodeId,
        percent,
      };
      void deps.reporter.report(message.job_id, report, AbortSignal.timeout(2_000)).catch(() => null);
    },
  });
}

/** The test-only fault a job asks for, honoured only on nodes started with FW_TEST_FAULTS=1. */
function testFault(config: NodeConfig, message: JobMessage): SlotFault | null {
  if (config.FW_TEST_FAULTS !== "1") return null;
  const fault = message.spec.metadata?.fw_test_fault;
  return fault === "crash" || fault === "stall" ? fault : null;
}

async function process(
  deps: JobRunnerDeps,
  message: JobMessage,
  attempt: number,
  workDir: string,
  signal: AbortSignal,
  attemptLog: AttemptLog,
): Promise<{ outputs: OutputResult[]; input: InputFacts | null }> {
  const { config, engine, storage } = deps;
  const inputPath = join(workDir, "input");
  const fetchOptions = {
    maxBytes: config.FW_MAX_INPUT_BYTES,
    timeoutMs: config.FW_INPUT_TIMEOUT_MS,
    allowHttp: config.FW_ALLOW_HTTP_INPUTS,
    signal,
  };
  const { input } = message.spec;
  const ports = {
    storage,
    s3Inputs: deps.s3Inputs,
    onStorageError: () => deps.metrics?.storageError("download"),
  };
  const countStorageError = (error: unknown) => {
    if (!(error instanceof StorageNotFoundError)) deps.metrics?.storageError("download");
    throw error;
  };
  // Named inputs (compositions, highlight reels) land beside each other; the plan names them.
  const named = message.spec.inputs ? inputPaths(message.spec, workDir) : null;
  if (named) {
    await fetchNamedInputs(ports, message, named, fetchOptions).catch(countStorageError);
  } else if (input?.type === "upload") {
    if (!message.input_key)
      throw new JobFailure({ code: "input_unavailable", message: "The upload is missing." }, false);
    await storage.download(message.input_key, inputPath).catch(countStorageError);
  } else if (input) {
    await fetchInput(ports, message.tenant_id, input, inputPath, fetchOptions);
  }

  // Watermark images are inputs too: fetched the same way, into the job's folder.
  for (const output of message.spec.outputs) {
    const image = output.type === "video" ? output.video.watermark?.image : undefined;
    if (!image) continue;
    const path = watermarkPath(workDir, output.name);
    if (image.type === "upload")
      await storage.download(storageKeys.upload(message.tenant_id, image.upload_id), path);
    else if (image.type === "s3") await deps.s3Inputs(image, path, fetchOptions);
    else await fetchToFile(image.url, path, fetchOptions);
  }

  // Subtitle files too (SRT or WebVTT; the engine reads and checks them): small, so bounded tighter.
  for (const [name, subtitle] of Object.entries(message.spec.subtitles ?? {})) {
    const options = { ...fetchOptions, maxBytes: Math.min(fetchOptions.maxBytes, subtitleLimits.fileBytes) };
    await fetchInput(ports, message.tenant_id, subtitle.input, subtitlePath(workDir, name), options).catch(
      (error: unknown) => {
        if (error instanceof InputFetchError)
          throw new InputFetchError(`subtitles '${name}': ${error.message}`, error.reason);
        return countStorageError(error);
      },
    );
  }

  const inputFacts = await probeInput(deps, inputPath, signal);
  const plan = buildPlan(
    message.spec,
    named ? (Object.values(named)[0] ?? inputPath) : inputPath,
    workDir,
    outputFolder(message),
  );
  const progressReport = progressReporter(deps, message, attempt);
  const jobPercent = createJobPercent(plan.outputs.map((o) => o.name));
  const sessions = hardwareSessionsOf(plan, deps.hardwareEncodersOpen);
  const runStarted = performance.now();
  // When each output last moved: an output's own duration is up to its last tick, since every
  // output of a run shares one decode and they finish at different times.
  const lastTick = new Map<string, number>();
  deps.hardwareSessions.add(sessions);
  let result: Awaited<ReturnType<typeof engine.run>>;
  try {
    result = await engine.run(plan, {
      signal,
      fault: testFault(config, message),
      onProgress: (p) => {
        lastTick.set(p.output, performance.now());
        // Ticks carry the job's attempt number (as the job record counts them), not this message's
        // delivery count, which starts again at 1 after a retry or requeue: watchers keep the highest.
        deps.progress.tick(message.job_id, (message.attempt_base ?? 0) + attempt, p);
        // Webhook reports speak for the whole job: one percent over all its outputs.
        progressReport?.(jobPercent(p));
      },
    });
  } finally {
    deps.hardwareSessions.add(-sessions);
  }
  const runEnded = performance.now();
  attemptLog.engine(result.log);
  recordOutputs(deps, result.outputs, runStarted, runEnded, lastTick, attemptLog);

  const target = outputTarget(deps, message);
  const stored: OutputResult[] = [];
  for (const facts of result.outputs) {
    stored.push(await storeOutput(deps, message, facts, target));
  }
  return { outputs: stored, input: inputFacts };
}

/**
 * The input's duration and size as the engine reads them (usage: input media minutes). Only for
 * the usual single input: a composition's inputs are counted by its outputs. Best effort: a probe
 * that fails leaves the job's figures empty rather than failing a job the engine can run.
 */
async function probeInput(
  deps: JobRunnerDeps,
  path: string,
  signal: AbortSignal,
): Promise<InputFacts | null> {
  try {
    const facts = await deps.engine.probe(path, { signal });
    return { duration_sec: facts.durationSec, size_bytes: facts.sizeBytes };
  } catch (error) {
    if (signal.aborted) throw error;
    deps.logger.warn({ err: error }, "input:probe:failed");
    return null;
  }
}

/** Where outputs go: the service's store at its own keys, or the job's destination bucket. */
interface OutputTarget {
  storage: Storage;
  /** The key (without extension) an output lives at; null: the service's usual keys. */
  base: ((output: string) => string) | null;
  bucket: string | null;
}

function outputTarget(deps: JobRunnerDeps, message: JobMessage): OutputTarget {
  const destination = message.spec.destination;
  if (!destination) return { storage: deps.storage, base: null, bucket: null };
  const storage = deps.destinations(destination.bucket);
  if (!storage) {
    throw new JobFailure(
      {
        code: "output_write_failed",
        message: `This node may not write to the bucket ${destination.bucket} (FW_S3_OUTPUT_BUCKETS).`,
      },
      false,
    );
  }
  const values = destinationValues(message);
  // expandDestinationPath checks once more that every key stays inside the prefix.
  return {
    storage,
    base: (output) => expandDestinationPath(destination, { ...values, output }),
    bucket: destination.bucket,
  };
}

/** A destination path's placeholders but {output}, for this job. */
function destinationValues(message: JobMessage) {
  return {
    job_id: message.job_id,
    // A composition has named inputs: {input} is the first one's.
    input: inputNameOf(
      message.spec.input ?? Object.values(message.spec.inputs ?? {})[0] ?? { type: "url", url: "input" },
    ),
    date: destinationDate(idTime(message.job_id) ?? Date.now()),
  };
}

/**
 * The folder each output's files are stored under (the key their paths follow): a DASH manifest
 * that shares an HLS output's segments links them relative to it.
 */
function outputFolder(message: JobMessage): (output: string) => string {
  const destination = message.spec.destination;
  if (!destination)
    return (output) => `${storageKeys.jobFolder(message.tenant_id, message.job_id)}/${output}`;
  const values = destinationValues(message);
  return (output) => expandDestinationPath(destination, { ...values, output });
}

/** Per-output metrics, and a line in the log for an output that did not get the hardware it wanted. */
function recordOutputs(
  deps: JobRunnerDeps,
  outputs: OutputFacts[],
  runStarted: number,
  runEnded: number,
  lastTick: Map<string, number>,
  attemptLog: AttemptLog,
): void {
  for (const facts of outputs) {
    const type = facts.kind === "probe" ? "analysis" : facts.kind;
    const seconds = ((lastTick.get(facts.name) ?? runEnded) - runStarted) / 1000;
    deps.metrics?.output(type, deps.engine.name, seconds, facts.durationSec);
    const reason = facts.encoding?.fallbackReason;
    if (reason) {
      deps.metrics?.hardwareFallback();
      attemptLog.node(
        "warning",
        `${facts.name}: encoded in software (${facts.encoding?.encoder}): ${reason}`,
      );
    }
  }
}

/** Uploads one output (each file of a multi-file output under its own folder) and describes it. */
async function storeOutput(
  deps: JobRunnerDeps,
  message: JobMessage,
  facts: OutputFacts,
  target: OutputTarget,
): Promise<OutputResult> {
  const { storage } = target;
  const upload = async (path: string, key: string) =>
    storage.upload(path, key).catch((error: unknown) => {
      // The cause names the store (its host, a bucket, a local folder): the node's log keeps it.
      deps.logger.warn({ err: error, job: message.job_id, output: facts.name }, "output:store:failed");
      deps.metrics?.storageError("upload");
      throw new JobFailure(
        { code: "output_write_failed", message: `Storing ${facts.name} failed; it will be tried again.` },
        true,
      );
    });
  // The engine's facts are in the API's words already (shared/src/media.ts): they go on as they are.
  const {
    video,
    audio,
    thumbnails,
    renditions,
    loudness,
    probe,
    analysis,
    animation,
    waveform,
    encoding,
    segments,
    segmentsFrom,
  } = facts;
  const result: OutputResult = {
    name: facts.name,
    type: facts.kind === "probe" ? "analysis" : facts.kind,
    storage_key: "",
    size_bytes: 0,
    container: facts.container,
    duration_sec: facts.durationSec,
    video,
    audio,
    ...(encoding
      ? { encoder: encoding.encoder, accel: encoding.accel, fallback_reason: encoding.fallbackReason }
      : {}),
    ...(thumbnails ? { thumbnails } : {}),
    ...(renditions ? { renditions } : {}),
    ...(segmentsFrom ? { segments_from: segmentsFrom } : {}),
    ...(loudness ? { loudness } : {}),
    ...(probe ? { probe } : {}),
    ...(analysis ? { analysis } : {}),
    ...(segments ? { segments } : {}),
    ...(animation ? { animation } : {}),
    ...(waveform ? { waveform } : {}),
    ...(facts.subtitleTracks ? { subtitle_tracks: facts.subtitleTracks } : {}),
    ...(facts.subtitleRenditions ? { subtitle_renditions: facts.subtitleRenditions } : {}),
    ...(facts.subtitles ? { subtitles: facts.subtitles } : {}),
    ...(target.bucket ? { destination: { type: "s3" as const, bucket: target.bucket } } : {}),
  };
  const base = target.base?.(facts.name) ?? null;
  if (facts.files) {
    result.files = [];
    for (const file of facts.files) {
      const key = base
        ? `${base}/${file.relativePath}`
        : storageKeys.outputFile(message.tenant_id, message.job_id, facts.name, file.relativePath);
      const { sizeBytes } = await upload(file.path, key);
      result.files.push({ storage_key: key, relative_path: file.relativePath, size_bytes: sizeBytes });
      result.size_bytes += sizeBytes;
    }
    const entry =
      facts.kind === "hls"
        ? "master.m3u8"
        : facts.kind === "dash"
          ? "manifest.mpd"
          : facts.files[0]?.relativePath;
    result.storage_key = result.files.find((f) => f.relative_path === entry)?.storage_key ?? "";
  } else {
    result.storage_key = base
      ? `${base}.${facts.container}`
      : storageKeys.output(message.tenant_id, message.job_id, facts.name, facts.container);
    result.size_bytes = (await upload(facts.path, result.storage_key)).sizeBytes;
  }
  return result;
}

async function announce(
  deps: JobRunnerDeps,
  jobId: string,
  status: "succeeded" | "failed",
  error?: JobError,
) {
  await deps.progress
    .publish({
      type: "job:state",
      job_id: jobId,
      status,
      ...(error ? { error } : {}),
      at: new Date().toISOString(),
    })
    .catch((e: unknown) => deps.logger.warn({ err: e, job: jobId }, "progress:state:failed"));
}
