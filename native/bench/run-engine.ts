/**
 * One measured engine run in its own process, so peak memory (maxRSS) belongs to that run alone.
 * Usage: node --import tsx native/bench/run-engine.ts <native|wasm> <plan.json>
 * Prints one JSON line: { wallMs, cpuMs, maxRssKb, idleRssKb } — idleRssKb is the peak before the
 * run (Node, the loaded engine and its capability probing), so maxRssKb - idleRssKb is the run's
 * own; cpuMs is the process's user + system time during the run (all its threads), which other
 * work on a shared machine does not inflate the way it inflates wallMs.
 */
import { readFile } from "node:fs/promises";
import type { Engine, Plan } from "../lib/engine";
import { createNativeEngine } from "../lib/native-engine";
import { createWasmEngine } from "../lib/wasm-engine";

const [engineName, planPath] = process.argv.slice(2);
if (!planPath || (engineName !== "native" && engineName !== "wasm")) {
  console.error("usage: run-engine.ts <native|wasm> <plan.json>");
  process.exit(2);
}
const plan = JSON.parse(await readFile(planPath, "utf8")) as Plan;
const engine: Engine = engineName === "native" ? await createNativeEngine() : await createWasmEngine();
await engine.capabilities(); // start-up cost (encoder probing, wasm compile) is not the run's
const idleRssKb = process.resourceUsage().maxRSS;
const cpuBefore = process.cpuUsage();
const started = performance.now();
await engine.run(plan);
const wallMs = performance.now() - started;
const cpu = process.cpuUsage(cpuBefore);
const cpuMs = (cpu.user + cpu.system) / 1000;
await engine.close();
console.log(JSON.stringify({ wallMs, cpuMs, maxRssKb: process.resourceUsage().maxRSS, idleRssKb }));
