export { HARDWARE_VIDEO_ENCODERS, selectVideoEncoder } from "./accel";
export * from "./engine";
export { masterPlaylist, parseMediaPlaylist } from "./hls";
export { CMAF_TIMELINE_START_SEC, sameLadder } from "./ladder-layout";
export { createNativeEngine } from "./native-engine";
export { containerOf, outputFactsFromProbe } from "./output-facts";
export { AUDIO_FORMATS, checkPlan } from "./plan-check";
export { createWasmEngine } from "./wasm-engine";
