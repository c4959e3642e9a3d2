import { describe, expect, it } from "vitest";
import { selectVideoEncoder } from "./accel";
import { EngineError } from "./engine";

const noGpu = {
  encoders: ["libx264", "libx265", "libvpx-vp9", "libaom-av1"],
  hardwareEncoders: [],
  hardwareErrors: { cuda: "Cannot load libcuda.so.1", qsv: "no device", vaapi: "no device" },
};
const nvidia = {
  ...noGpu,
  hardwareEncoders: ["cuda:h264_nvenc", "cuda:hevc_nvenc"],
  hardwareErrors: { qsv: "no device", vaapi: "no device" },
};
const intel = { ...noGpu, hardwareEncoders: ["qsv:h264_qsv", "qsv:vp9_qsv"], hardwareErrors: {} };

describe("selectVideoEncoder", () => {
  it("cpu never touches hardware, even when it works", () => {
    expect(selectVideoEncoder("h264", "cpu", nvidia)).toEqual({
      encoder: "libx264",
      accel: "cpu",
      fallbackReason: null,
    });
  });

  it("auto takes a working hardware encoder, NVENC before QSV", () => {
    expect(selectVideoEncoder("h264", "auto", nvidia)).toEqual({
      encoder: "h264_nvenc",
      accel: "cuda",
      fallbackReason: null,
    });
    expect(
      selectVideoEncoder("h264", "auto", {
        ...nvidia,
        hardwareEncoders: [...intel.hardwareEncoders, ...nvidia.hardwareEncoders],
      }).encoder,
    ).toBe("h264_nvenc");
    expect(selectVideoEncoder("vp9", "auto", intel)).toMatchObject({ encoder: "vp9_qsv", accel: "qsv" });
  });

  it("auto falls back to software and says why", () => {
    const choice = selectVideoEncoder("h264", "auto", noGpu);
    expect(choice).toMatchObject({ encoder: "libx264", accel: "cpu" });
    expect(choice.fallbackReason).toContain("cuda: Cannot load libcuda.so.1");
    // A device that opened but has no encoder for this codec is named too.
    expect(selectVideoEncoder("vp9", "auto", nvidia).fallbackReason).toContain("no vp9 encoder opened on");
  });

  it("gpu fails clearly when no hardware encoder works", () => {
    expect(() => selectVideoEncoder("h264", "gpu", noGpu)).toThrow(EngineError);
    expect(() => selectVideoEncoder("h264", "gpu", noGpu)).toThrow(
      /gpu.*no working hardware encoder for h264.*cuda/,
    );
    expect(() => selectVideoEncoder("vp9", "gpu", nvidia)).toThrow(/vp9/);
    expect(selectVideoEncoder("h265", "gpu", nvidia)).toMatchObject({ encoder: "hevc_nvenc", accel: "cuda" });
  });

  it("fails when not even a software encoder exists", () => {
    const bare = { ...noGpu, encoders: ["libx264"] };
    expect(() => selectVideoEncoder("av1", "auto", bare)).toThrow(
      /no working av1 encoder.*libaom-av1, libsvtav1/,
    );
    expect(selectVideoEncoder("av1", "cpu", { ...bare, encoders: ["libsvtav1"] }).encoder).toBe("libsvtav1");
  });
});
