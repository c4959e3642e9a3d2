import { type Engine, EngineError } from "@framewire/native";
import { pino } from "pino";
import { parseSlotSettings } from "../config";
import { loadEngine } from "../engine-loader";
import type { FromSlot, ToSlot } from "./protocol";

/**
 * A slot process: one engine, one run at a time, driven over IPC by the node. A crash or a hang in
 * FFmpeg ends only this process; the node notices and replaces it.
 */
const send = (message: FromSlot) => process.send?.(message);
// The node validated these already (its own settings include them); a bad value ends the slot,
// which the node reports as a slot that failed to start.
const settings = parseSlotSettings(process.env);
const logger = pino({ level: settings.FW_LOG_LEVEL, base: { service: "slot", pid: process.pid } });
const faultsEnabled = settings.FW_TEST_FAULTS === "1";

const { engine, fallbackReason } = await loadEngine(settings.FW_ENGINE, logger);
const runs = new Map<number, AbortController>();

async function handle(message: ToSlot, slotEngine: Engine): Promise<void> {
  if (message.type === "cancel") {
    runs.get(message.id)?.abort();
    return;
  }
  try {
    if (message.type === "probe") {
      send({ type: "result", id: message.id, result: await slotEngine.probe(message.path) });
      return;
    }
    if (faultsEnabled && message.fault === "crash") process.abort();
    if (faultsEnabled && message.fault === "stall") return; // never answers, never progresses
    const controller = new AbortController();
    runs.set(message.id, controller);
    const result = await slotEngine.run(message.plan, {
      signal: controller.signal,
      stallTimeoutMs: message.stallTimeoutMs,
      onProgress: (progress) => send({ type: "progress", id: message.id, progress }),
    });
    send({ type: "result", id: message.id, result });
  } catch (error) {
    const e = error instanceof EngineError ? error : new EngineError("ENGINE_FAILURE", String(error));
    send({
      type: "error",
      id: message.id,
      code: e.code,
      message: e.message,
      ...(e.detail ? { detail: e.detail } : {}),
      ...(e.log ? { log: e.log } : {}),
    });
  } finally {
    runs.delete(message.id);
  }
}

process.on("message", (message: ToSlot) => void handle(message, engine));
// The node going away (crash, SIGKILL) closes the IPC channel: don't outlive it.
process.on("disconnect", () => process.exit(0));
send({ type: "ready", engine: engine.name, capabilities: await engine.capabilities(), fallbackReason });
