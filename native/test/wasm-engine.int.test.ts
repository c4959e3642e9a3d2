import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeClip } from "../../test/support/media";
import {
  type Engine,
  EngineError,
  type EngineProgress,
  type HlsPlanOutput,
  type Plan,
  type PlanOutput,
  type VideoPlanOutput,
} from "../lib/engine";
import { createWasmEngine } from "../lib/wasm-engine";
import { engineContract } from "./engine-contract";
import { aac, analysisOut, audioOut, h264, thumbsOut, videoOut } from "./plans";

engineContract("wasm", createWasmEngine);

function output(dir: string, name: string, overrides: Partial<VideoPlanOutput> = {}): VideoPlanOutput {
  return videoOut(dir, name, overrides);
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EngineError);
  return (error as EngineError).code;
}

describe("wasm engine", () => {
  let engine: Engine;
  let dir: string;
  let clip: string;

  beforeAll(async () => {
    engine = await createWasmEngine();
    dir = await mkdtemp(join(tmpdir(), "fw-wasm-"));
    clip = await makeClip(join(dir, "clip.mp4"), { seconds: 1, width: 320, height: 240 });
  }, 60_000);

  afterAll(async () => {
    await engine?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("lists only encoders that work in this build, with the FFmpeg and core versions", async () => {
    const caps = await engine.capabilities();
    expect(caps.versions).toEqual({ ffmpeg: expect.stringMatching(/^\d+\.\d+/), core: "0.12.10" });
    expect(caps.encoders).toEqual(
      expect.arrayContaining(["libx264", "aac", "libopus", "libmp3lame", "libvpx"]),
    );
    // Listed by `ffmpeg -encoders` but broken in this build (x265 hangs, VP9 crashes); no AV1 at all.
    for (const broken of ["libx265", "libvpx-vp9", "libaom-av1", "libsvtav1", "librav1e"]) {
      expect(caps.encoders).not.toContain(broken);
    }
    expect(caps.hardware).toEqual([]);
  });

  it("measures what its FFmpeg build allows and refuses the other analyses naming what it lacks", async () => {
    const caps = await engine.capabilities();
    expect(caps.analysisKinds).toEqual(["probe", "loudness", "silence", "scenes", "black", "freeze"]);
    const refused = async (planOutput: PlanOutput) => {
      const error = await engine.run({ inputPath: clip, outputs: [planOutput] }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EngineError);
      return `${(error as EngineError).code}: ${(error as EngineError).message}`;
    };
    expect(await refused(analysisOut(dir, "t", "tempo"))).toMatch(/^UNSUPPORTED: .*tempo/);
    expect(await refused(analysisOut(dir, "k", "key"))).toMatch(/^UNSUPPORTED: .*key/);
    expect(await refused(analysisOut(dir, "f", "fingerprint"))).toMatch(/^UNSUPPORTED: .*Chromaprint/);
    expect(await refused(analysisOut(dir, "h", "highlights"))).toMatch(/^UNSUPPORTED: .*highlights/);
    expect(await refused(thumbsOut(dir, "s", { select: { mode: "scenes", threshold: 10 } }))).toMatch(
      /^UNSUPPORTED: .*per scene/,
    );
  });

  it("says it decodes once per output, and lacks HLS and DASH", async () => {
    const caps = await engine.capabilities();
    expect(caps.sharedDecode).toBe(false);
    expect(caps.outputKinds).not.toContain("hls");
    expect(caps.outputKinds).not.toContain("dash");
    expect(caps.hardwareEncoders).toEqual([]);
  });

  it.each([
    ["h265", "libx265"],
    ["vp9", "libvpx-vp9"],
    ["av1", "libaom-av1"],
  ] as const)("rejects %s with UNSUPPORTED naming the missing encoder", async (codec, encoder) => {
    const bad = output(dir, codec, { container: "mkv", video: h264({ codec }) });
    const error = await engine.run({ inputPath: clip, outputs: [bad] }).catch((e: unknown) => e);
    expect((error as EngineError).code).toBe("UNSUPPORTED");
    expect((error as EngineError).message).toContain(encoder);
    expect(existsSync(bad.path)).toBe(false);
  });

  it("rejects HLS, DASH, loudness normalization and accel gpu with UNSUPPORTED", async () => {
    const hls: Plan = {
      inputPath: clip,
      outputs: [
        {
          kind: "hls",
          name: "h",
          dir: join(dir, "h"),
          segmentSec: 2,
          preset: "ultrafast",
          renditions: [{ name: "a", maxHeight: 120, videoBitrateKbps: 200, audioBitrateKbps: 64 }],
        },
      ],
    };
    expect(await codeOf(engine.run(hls))).toBe("UNSUPPORTED");
    const [ladder] = hls.outputs;
    const dash: Plan = {
      inputPath: clip,
      outputs: [{ ...(ladder as HlsPlanOutput), kind: "dash", dir: join(dir, "d") }],
    };
    const refusal = await engine.run(dash).catch((e: unknown) => e);
    expect(refusal).toMatchObject({ code: "UNSUPPORTED", message: expect.stringContaining("DASH") });
    expect(existsSync(join(dir, "d"))).toBe(false);
    const loud: Plan = { inputPath: clip, outputs: [audioOut(dir, "l", { loudnessTargetLufs: -16 })] };
    expect(await codeOf(engine.run(loud))).toBe("UNSUPPORTED");
    const gpu: Plan = { inputPath: clip, accel: "gpu", outputs: [output(dir, "g")] };
    expect(await codeOf(engine.run(gpu))).toBe("UNSUPPORTED");
  });

  it("fails with INPUT_NO_STREAMS when the input lacks every stream the plan keeps", async () => {
    const silent = await makeClip(join(dir, "silent.mp4"), { seconds: 1, audio: false });
    const plan: Plan = {
      inputPath: silent,
      outputs: [output(dir, "audio-only", { video: null, audio: aac() })],
    };
    expect(await codeOf(engine.run(plan))).toBe("INPUT_NO_STREAMS");
    expect(existsSync(join(dir, "audio-only.mp4"))).toBe(false);
  });

  it("fails with INPUT_UNREADABLE when the input file does not exist", async () => {
    expect(await codeOf(engine.probe(join(dir, "missing.mp4")))).toBe("INPUT_UNREADABLE");
  });

  it("writes audio only when the plan drops video", async () => {
    const { outputs } = await engine.run({
      inputPath: clip,
      outputs: [output(dir, "a-only", { video: null })],
    });
    expect(outputs[0]?.video).toBeNull();
    expect(outputs[0]?.audio).toMatchObject({ codec: "aac", sample_rate: 48000 });
  });

  it("sizes anamorphic input by its display aspect ratio", async () => {
    // 320x240 stored with 2:1 sample aspect ratio displays as 640x240.
    const wide = join(dir, "anamorphic.mp4");
    await promisify(execFile)("ffmpeg", [
      ...["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i"],
      "testsrc2=size=320x240:rate=25:duration=1,setsar=2",
      ...["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", wide],
    ]);
    const { outputs } = await engine.run({
      inputPath: wide,
      outputs: [output(dir, "wide", { audio: null })],
    });
    expect(outputs[0]?.video).toMatchObject({ width: 320, height: 120 });
  });

  it("runs calls one at a time, and a call aborted while queued never starts", async () => {
    const first = engine.run({ inputPath: clip, outputs: [output(dir, "q1")] });
    const controller = new AbortController();
    const second = engine.run(
      { inputPath: clip, outputs: [output(dir, "q2")] },
      { signal: controller.signal },
    );
    const third = engine.probe(clip);
    controller.abort();
    expect(await codeOf(second)).toBe("CANCELED");
    await expect(first).resolves.toMatchObject({ outputs: [{ name: "q1" }] });
    await expect(third).resolves.toMatchObject({ durationSec: expect.any(Number) });
    expect(existsSync(join(dir, "q2.mp4"))).toBe(false);
  }, 60_000);

  it("stops an exec that reports no progress within stallTimeoutMs with STALLED, then works again", async () => {
    // 1 ms: no FFmpeg call reports progress that fast, so the watchdog must fire and clean up.
    const plan: Plan = { inputPath: clip, outputs: [output(dir, "stall")] };
    expect(await codeOf(engine.run(plan, { stallTimeoutMs: 1 }))).toBe("STALLED");
    expect(existsSync(join(dir, "stall.mp4"))).toBe(false);
    await expect(engine.run(plan, { stallTimeoutMs: 10_000 })).resolves.toMatchObject({
      outputs: [{ name: "stall" }],
    });
  }, 60_000);

  it("rejects at once when the signal is already aborted", async () => {
    expect(
      await codeOf(
        engine.run({ inputPath: clip, outputs: [output(dir, "pre")] }, { signal: AbortSignal.abort() }),
      ),
    ).toBe("CANCELED");
  });

  it("works again after a cancel replaced its worker, with progress ticks ending at 100%", async () => {
    const controller = new AbortController();
    const canceled = engine.run(
      {
        inputPath: clip,
        outputs: [output(dir, "c1", { video: h264({ maxHeight: 240, crf: 18, preset: "veryslow" }) })],
      },
      { signal: controller.signal, onProgress: () => controller.abort() },
    );
    expect(await codeOf(canceled)).toBe("CANCELED");
    const ticks: EngineProgress[] = [];
    const { outputs } = await engine.run(
      { inputPath: clip, outputs: [output(dir, "after")] },
      { onProgress: (p) => ticks.push(p) },
    );
    expect(outputs[0]?.video?.height).toBe(120);
    expect(ticks.at(-1)).toMatchObject({ percent: 100, etaSec: 0, durationSec: expect.any(Number) });
    expect(ticks.at(-1)?.frames).toBe(25);
  }, 60_000);

  it("refuses an input larger than memoryLimitBytes without reading it", async () => {
    const small = await createWasmEngine({ memoryLimitBytes: 64 * 1024 ** 2 });
    try {
      const big = join(dir, "big.mp4");
      await writeFile(big, "");
      await truncate(big, 65 * 1024 ** 2); // sparse: no disk used
      expect(await codeOf(small.probe(big))).toBe("UNSUPPORTED");
    } finally {
      await small.close();
    }
  });

  it("validates memoryLimitBytes at creation", async () => {
    await expect(createWasmEngine({ memoryLimitBytes: 1000 })).rejects.toThrow(/memoryLimitBytes/);
  });
});
