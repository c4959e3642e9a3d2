import type { Engine } from "@framewire/native";
import { createNativeEngine, createWasmEngine } from "@framewire/native";
import type { Logger } from "pino";

/**
 * Picks the engine: native when the addon loads (the production path), else ffmpeg.wasm. The
 * reason for a fallback is logged and travels in the heartbeat.
 */
export async function loadEngine(
  preference: "auto" | "native" | "wasm",
  logger: Logger,
): Promise<{ engine: Engine; fallbackReason: string | null }> {
  if (preference === "wasm") return { engine: await createWasmEngine(), fallbackReason: null };
  try {
    return { engine: await createNativeEngine(), fallbackReason: null };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (preference === "native")
      throw new Error(`FW_ENGINE=native but the native engine did not load: ${reason}`);
    logger.warn({ reason }, "engine:native:unavailable, using wasm");
    return { engine: await createWasmEngine(), fallbackReason: reason };
  }
}
