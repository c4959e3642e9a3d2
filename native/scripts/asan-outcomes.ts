/**
 * How an ASan workload reports each run: an output, or an EngineError's code, is an acceptable end;
 * anything else thrown is a failure, counted and printed as FAIL. Shared by the full run
 * (asan-run.ts) and the workloads that also run alone.
 */
import { pathToFileURL } from "node:url";
import { type Engine, EngineError } from "../lib/engine";

export type Outcome = (label: string, value: string) => void;
export type Settle = (p: Promise<unknown>) => Promise<string>;

export const settle: Settle = (p) =>
  p.then(
    () => "output",
    (e: unknown) => (e instanceof EngineError ? e.code : `THREW ${String(e)}`),
  );

/** An outcome printer and the number of failures it has seen so far. */
export function outcomeCounter(): { outcome: Outcome; failures: () => number } {
  let failures = 0;
  const outcome: Outcome = (label, value) => {
    const bad = value.startsWith("THREW");
    if (bad) failures++;
    console.log(`${bad ? "FAIL" : "ok  "} ${label}: ${value}`);
  };
  return { outcome, failures: () => failures };
}

type Workload = (engine: Engine, dir: string, outcome: Outcome, settle: Settle) => Promise<void>;

/** Runs one workload on its own when its module is the entry point (exit 1 on any failure). */
export async function runWhenMain(moduleUrl: string, name: string, workload: Workload): Promise<void> {
  if (moduleUrl !== pathToFileURL(process.argv[1] ?? "").href) return;
  const { mkdtemp, rm } = await import("node:fs/promises");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const { createNativeEngine } = await import("../lib/native-engine");
  const dir = await mkdtemp(join(tmpdir(), `fw-asan-${name}-`));
  const engine = await createNativeEngine();
  const { outcome, failures } = outcomeCounter();
  try {
    await workload(engine, dir, outcome, settle);
  } finally {
    await engine.close();
    await rm(dir, { recursive: true, force: true });
  }
  if (failures() > 0) process.exit(1);
}
