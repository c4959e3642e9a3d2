/**
 * Choosing a video encoder from what capabilities() proved works: a pure function, so the policy
 * is unit-tested without a GPU.
 */
import {
  type AccelMode,
  type Capabilities,
  type EncodingChoice,
  EngineError,
  type VideoCodec,
} from "./engine";
import { SOFTWARE_VIDEO_ENCODERS } from "./plan-check";

/** Hardware encoders the native pipeline can feed, per codec, best first (device:encoder). */
export const HARDWARE_VIDEO_ENCODERS: Record<VideoCodec, string[]> = {
  h264: ["cuda:h264_nvenc", "qsv:h264_qsv"],
  h265: ["cuda:hevc_nvenc", "qsv:hevc_qsv"],
  vp9: ["qsv:vp9_qsv"],
  av1: ["cuda:av1_nvenc", "qsv:av1_qsv"],
};

/** Device types capabilities() tries to open. */
export const HARDWARE_DEVICES = ["cuda", "qsv", "vaapi"] as const;

type Caps = Pick<Capabilities, "encoders" | "hardwareEncoders" | "hardwareErrors">;

function whyNoHardware(codec: VideoCodec, caps: Caps): string {
  const devices = Object.entries(caps.hardwareErrors).map(([device, reason]) => `${device}: ${reason}`);
  const openedDevices = HARDWARE_DEVICES.filter((d) => !(d in caps.hardwareErrors));
  const parts = [...devices];
  if (openedDevices.length > 0) parts.push(`no ${codec} encoder opened on ${openedDevices.join(", ")}`);
  return `no working hardware encoder for ${codec}${parts.length > 0 ? ` (${parts.join("; ")})` : ""}`;
}

/**
 * cpu: the software encoder. gpu: the first hardware encoder that opened, else UNSUPPORTED with the
 * reason. auto: hardware when one opened, else software with `fallbackReason` saying why.
 */
export function selectVideoEncoder(codec: VideoCodec, accel: AccelMode, caps: Caps): EncodingChoice {
  if (accel !== "cpu") {
    const hardware = HARDWARE_VIDEO_ENCODERS[codec].find((e) => caps.hardwareEncoders.includes(e));
    if (hardware) {
      const [device, encoder] = hardware.split(":") as ["cuda" | "qsv", string];
      return { encoder, accel: device, fallbackReason: null };
    }
    if (accel === "gpu") {
      throw new EngineError("UNSUPPORTED", `accel "gpu" was asked for, but ${whyNoHardware(codec, caps)}`);
    }
  }
  const software = SOFTWARE_VIDEO_ENCODERS[codec].find((e) => caps.encoders.includes(e));
  if (!software) {
    throw new EngineError(
      "UNSUPPORTED",
      `this engine has no working ${codec} encoder (tried ${SOFTWARE_VIDEO_ENCODERS[codec].join(", ")})`,
    );
  }
  return {
    encoder: software,
    accel: "cpu",
    fallbackReason: accel === "auto" ? whyNoHardware(codec, caps) : null,
  };
}
