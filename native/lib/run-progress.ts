/**
 * Per-output progress for one run, shared by both engines: each engine measures how far each of
 * its outputs has got (media time written against that output's own expected duration) and this
 * turns the measurements into EngineProgress ticks that keep the contract's promises.
 */
import type { EngineProgress } from "./engine";

/** What an engine measured for one output. */
export interface OutputMeasure {
  frames: number;
  /** Media time written, on the output's own timeline (a trimmed output starts at 0). */
  outTimeSec: number;
  /** The duration the output will have (trim window within the input); null when unknown. */
  durationSec: number | null;
  /** Wall time the output has been worked on, seconds (for fps, speed and ETA). */
  elapsedSec: number;
}

/**
 * Percent stays below 100 while the run works (an output can look complete before its encoder is
 * flushed and its file finished) and only `finish()` after a successful run gives 100.
 */
const RUNNING_CAP = 99.9;

export class RunProgress {
  readonly #percent = new Map<string, number>();
  readonly #last = new Map<string, EngineProgress>();

  constructor(
    private readonly outputs: readonly string[],
    private readonly listener: ((progress: EngineProgress) => void) | undefined,
  ) {}

  /** Records one output's measure; emits a tick when something a client would see changed. */
  update(output: string, measure: OutputMeasure): void {
    const { frames, outTimeSec, durationSec, elapsedSec } = measure;
    const known = durationSec !== null && durationSec > 0;
    let percent: number | null = null;
    if (known) {
      const reached = Math.min(RUNNING_CAP, (Math.max(0, outTimeSec) / durationSec) * 100);
      percent = round1(Math.max(this.#percent.get(output) ?? 0, reached));
      this.#percent.set(output, percent);
    }
    const elapsed = Math.max(1e-3, elapsedSec);
    const speed = Math.max(0, outTimeSec) / elapsed;
    const tick: EngineProgress = {
      output,
      frames,
      outTimeSec: Math.max(0, outTimeSec),
      durationSec: known ? durationSec : null,
      percent,
      fps: frames / elapsed,
      speed,
      etaSec: known && speed > 0 ? Math.max(0, (durationSec - outTimeSec) / speed) : null,
    };
    const last = this.#last.get(output);
    if (
      last &&
      last.percent === tick.percent &&
      last.frames === tick.frames &&
      last.outTimeSec === tick.outTimeSec
    )
      return;
    this.#emit(tick);
  }

  /** The run succeeded: every output's last tick says 100 (even one whose duration was unknown). */
  finish(): void {
    for (const output of this.outputs) {
      const last = this.#last.get(output);
      this.#emit({
        output,
        frames: last?.frames ?? 0,
        outTimeSec: last?.durationSec ?? last?.outTimeSec ?? 0,
        durationSec: last?.durationSec ?? null,
        percent: 100,
        fps: last?.fps ?? 0,
        speed: last?.speed ?? 0,
        etaSec: 0,
      });
    }
  }

  #emit(tick: EngineProgress): void {
    this.#last.set(tick.output, tick);
    try {
      this.listener?.(tick);
    } catch {
      // A failing progress listener must not fail or stop the run it is watching.
    }
  }
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
