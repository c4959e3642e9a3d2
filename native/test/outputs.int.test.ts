import { createNativeEngine } from "../lib/native-engine";
import { createWasmEngine } from "../lib/wasm-engine";
import { outputsContract } from "./outputs-contract";

outputsContract("native", createNativeEngine);
outputsContract("wasm", createWasmEngine);
