import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Engine, EngineError, type Plan } from "../lib/engine";
import { loadNativeAddon } from "../lib/native-addon";
import { createNativeEngine } from "../lib/native-engine";
import { engineContract } from "./engine-contract";
import { makeClip } from "./media-fixtures";

engineContract("native", createNativeEngine);

describe("native engine specifics", () => {
  let engine: Engine;
  let dir: string;
  let clip: string;

  beforeAll(async () => {
    engine = await createNativeEngine();
    dir = await mkdtemp(join(tmpdir(), "fw-native-"));
    clip = await makeClip(join(dir, "clip.mp4"), { seconds: 1, width: 320, height: 240 });
  }, 60_000);

  afterAll(async () => {
    await engine?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("loads the addon, or explains why not", () => {
    const loaded = loadNativeAddon();
    expect("error" in loaded ? loaded.error : "").toBe("");
  });

  it("keeps the event loop responsive while a 10 s 720p transcode runs", async () => {
    const input = await makeClip(join(dir, "hd.mp4"), { seconds: 10, width: 1280, height: 720 });
    let maxLagMs = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      maxLagMs = Math.max(maxLagMs, now - last - 10);
      last = now;
    }, 10);
    let ticks = 0;
    try {
      const { outputs } = await engine.run(
        {
          inputPath: input,
          outputs: [
            {
              name: "sd",
              path: join(dir, "sd.mp4"),
              container: "mp4",
              video: { codec: "h264", height: 480, crf: 23, preset: "veryfast" },
              audio: { codec: "aac", bitrateKbps: 128 },
            },
          ],
        },
        { onProgress: () => ticks++ },
      );
      expect(outputs[0]?.video).toMatchObject({ width: 854, height: 480 });
      expect(outputs[0]?.durationSec).toBeGreaterThan(9.5);
    } finally {
      clearInterval(timer);
    }
    expect(ticks).toBeGreaterThan(2);
    // Functional bound: the encode runs on a pool thread, so timers keep firing on time.
    expect(maxLagMs).toBeLessThan(100);
  }, 120_000);

  it("refuses to probe a truncated file cleanly, without crashing", async () => {
    // ffmpeg writes the moov atom last unless asked for faststart: the first half has no index.
    const whole = await readFile(clip);
    const truncated = join(dir, "truncated.mp4");
    await writeFile(truncated, whole.subarray(0, Math.floor(whole.length / 2)));
    const error = await engine.probe(truncated).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).code).toBe("INPUT_UNREADABLE");
    expect((error as EngineError).detail).toBeTruthy();
  });

  it("finishes or fails cleanly on a file cut off mid-stream", async () => {
    const output = join(dir, "faststart.mp4");
    await engine.run(plan(clip, output, 120));
    const whole = await readFile(output);
    const cut = join(dir, "cut.mp4");
    await writeFile(cut, whole.subarray(0, Math.floor(whole.length * 0.6)));
    const result = await engine.run(plan(cut, join(dir, "from-cut.mp4"), 120)).catch((e: unknown) => e);
    if (result instanceof Error) expect(result).toBeInstanceOf(EngineError);
    else expect((result as { outputs: unknown[] }).outputs).toHaveLength(1);
  }, 60_000);

  it("reports a missing input as INPUT_UNREADABLE with FFmpeg's reason", async () => {
    const error = await engine.probe(join(dir, "nope.mp4")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).code).toBe("INPUT_UNREADABLE");
    expect((error as EngineError).message).toContain("No such file or directory");
  });

  it("rejects at once when the signal is already aborted, writing nothing", async () => {
    const target = join(dir, "pre-aborted.mp4");
    const error = await engine
      .run(plan(clip, target, 120), { signal: AbortSignal.abort() })
      .catch((e: unknown) => e);
    expect((error as EngineError).code).toBe("CANCELED");
    expect(existsSync(target)).toBe(false);
  });

  it("removes the partial output of a canceled run", async () => {
    const input = await makeClip(join(dir, "ten.mp4"), {
      seconds: 10,
      width: 640,
      height: 360,
      audio: false,
    });
    const target = join(dir, "partial.mp4");
    const controller = new AbortController();
    const error = await engine
      .run(plan(input, target, 360, "slow"), {
        signal: controller.signal,
        onProgress: () => controller.abort(),
      })
      .catch((e: unknown) => e);
    expect((error as EngineError).code).toBe("CANCELED");
    expect(existsSync(target)).toBe(false);
  }, 60_000);

  it("fails with OUTPUT_WRITE_FAILED when the output cannot be created", async () => {
    const error = await engine
      .run(plan(clip, join(dir, "no-such-dir", "out.mp4"), 120))
      .catch((e: unknown) => e);
    expect((error as EngineError).code).toBe("OUTPUT_WRITE_FAILED");
  });

  it("refuses plans with more than one output for now", async () => {
    const [first] = plan(clip, join(dir, "a.mp4"), 120).outputs;
    if (!first) throw new Error("plan() made no output");
    const two: Plan = {
      inputPath: clip,
      outputs: [first, { ...first, name: "b", path: join(dir, "b.mp4") }],
    };
    const error = await engine.run(two).catch((e: unknown) => e);
    expect((error as EngineError).code).toBe("UNSUPPORTED");
  });
});

function plan(
  inputPath: string,
  path: string,
  height: number,
  preset: "ultrafast" | "slow" = "ultrafast",
): Plan {
  return {
    inputPath,
    outputs: [
      {
        name: "out",
        path,
        container: "mp4",
        video: { codec: "h264", height, crf: 30, preset },
        audio: { codec: "aac", bitrateKbps: 64 },
      },
    ],
  };
}
