/**
 * One measured engine run in its own process, so peak memory (maxRSS) belongs to that run alone.
 * Usage: node --import tsx native/bench/run-engine.ts <native|wasm> <plan.json>
 * Prints one JSON line: { wallMs, maxRssKb, idleRssKb } — idleRssKb is the peak before the run
 * (Node, the loaded engine and its capability probing), so maxRssKb - idleRssKb is the run's own.
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
const started = performance.now();
await engine.run(plan);
const wallMs = performance.now() - started;
await engine.close();
console.log(JSON.stringify({ wallMs, maxRssKb: process.resourceUsage().maxRSS, idleRssKb }));
