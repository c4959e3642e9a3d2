import type { Capabilities } from "@framewire/native";
import type { NodeHeartbeat } from "@framewire/shared";

/**
 * What a node's heartbeat says about its engine: what capabilities() found by opening encoders and
 * devices, including why each hardware device that was tried did not open, so an operator looking
 * at the fleet sees "cuda: no CUDA device" rather than a GPU node that quietly encodes on the CPU.
 */
export function engineFacts(
  capabilities: Pick<Capabilities, "encoders" | "hardware" | "hardwareEncoders" | "hardwareErrors">,
): Pick<NodeHeartbeat, "encoders" | "hardware" | "hardware_encoders" | "hardware_errors"> {
  return {
    encoders: capabilities.encoders,
    hardware: capabilities.hardware,
    hardware_encoders: capabilities.hardwareEncoders,
    hardware_errors: capabilities.hardwareErrors,
  };
}
