export { HARDWARE_VIDEO_ENCODERS, selectVideoEncoder } from "./accel";
export * from "./engine";
export { masterPlaylist, parseMediaPlaylist } from "./hls";
export { createNativeEngine } from "./native-engine";
export { containerOf, outputFactsFromProbe } from "./output-facts";
export { AUDIO_FORMATS, CONTAINER_CODECS, checkPlan, MAX_OUTPUTS } from "./plan-check";
export { createWasmEngine } from "./wasm-engine";
