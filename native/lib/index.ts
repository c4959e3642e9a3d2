export * from "./engine";
export { createNativeEngine } from "./native-engine";
export { outputFactsFromProbe } from "./output-facts";
export { createWasmEngine } from "./wasm-engine";
