import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Engine, EngineError, type EngineProgress, type Plan } from "../lib/engine";
import { makeClip, makeGarbage } from "./media-fixtures";

/**
 * One behavioural suite for every Engine implementation. Media assertions use tolerances read back
 * by probing, never byte equality.
 */
export function engineContract(label: string, createEngine: () => Promise<Engine>): void {
  describe(`Engine contract: ${label}`, () => {
    let engine: Engine;
    let dir: string;
    let clip: string;
    let silentClip: string;

    beforeAll(async () => {
      engine = await createEngine();
      dir = await mkdtemp(join(tmpdir(), "fw-engine-"));
      clip = await makeClip(join(dir, "clip.mp4"), { seconds: 2, width: 640, height: 360 });
      silentClip = await makeClip(join(dir, "silent.mp4"), { seconds: 1, audio: false });
    }, 60_000);

    afterAll(async () => {
      await engine?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it("reports its name and the H.264/AAC encoders it can open", async () => {
      const caps = await engine.capabilities();
      expect(caps.engine).toBe(engine.name);
      expect(caps.encoders).toEqual(expect.arrayContaining(["libx264", "aac"]));
      expect(Object.keys(caps.versions).length).toBeGreaterThan(0);
    });

    it("probes a clip's container, duration and streams", async () => {
      const facts = await engine.probe(clip);
      expect(facts.formatName).toContain("mp4");
      expect(facts.durationSec).toBeGreaterThan(1.8);
      expect(facts.durationSec).toBeLessThan(2.3);
      expect(facts.sizeBytes).toBeGreaterThan(1000);
      const video = facts.streams.find((s) => s.type === "video");
      const audio = facts.streams.find((s) => s.type === "audio");
      expect(video).toMatchObject({ codec: "h264", width: 640, height: 360 });
      expect(video?.fps).toBeCloseTo(25, 0);
      expect(audio).toMatchObject({ codec: "aac", sampleRate: 48000 });
    });

    it("refuses to probe something that is not media, with INPUT_UNREADABLE", async () => {
      const garbage = await makeGarbage(join(dir, "garbage.mp4"));
      const error = await engine.probe(garbage).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EngineError);
      expect((error as EngineError).code).toBe("INPUT_UNREADABLE");
      expect((error as EngineError).message.length).toBeGreaterThan(5);
    });

    it("transcodes to H.264 + AAC in MP4 at the requested height, keeping the aspect ratio", async () => {
      const ticks: EngineProgress[] = [];
      const plan: Plan = {
        inputPath: clip,
        outputs: [
          {
            name: "small",
            path: join(dir, "small.mp4"),
            container: "mp4",
            video: { codec: "h264", height: 180, crf: 28, preset: "veryfast" },
            audio: { codec: "aac", bitrateKbps: 96 },
          },
        ],
      };
      const result = await engine.run(plan, { onProgress: (p) => ticks.push(p) });
      expect(result.outputs).toHaveLength(1);
      const out = result.outputs[0];
      expect(out).toMatchObject({ name: "small", container: "mp4" });
      expect(out?.video).toMatchObject({ codec: "h264", width: 320, height: 180 });
      expect(out?.audio).toMatchObject({ codec: "aac" });
      expect(out?.durationSec).toBeGreaterThan(1.8);
      expect(out?.durationSec).toBeLessThan(2.3);
      expect(out?.sizeBytes).toBeGreaterThan(1000);

      expect(ticks.length).toBeGreaterThan(0);
      const percents = ticks.map((t) => t.percent ?? 0);
      for (let i = 1; i < percents.length; i++)
        expect(percents[i]).toBeGreaterThanOrEqual(percents[i - 1] ?? 0);
      expect(percents.at(-1)).toBeLessThanOrEqual(100);
      expect(ticks.at(-1)?.frames).toBeGreaterThan(0);
    }, 60_000);

    it("writes video only when the input has no audio", async () => {
      const plan: Plan = {
        inputPath: silentClip,
        outputs: [
          {
            name: "v",
            path: join(dir, "silent-out.mp4"),
            container: "mp4",
            video: { codec: "h264", height: 120, crf: 30, preset: "ultrafast" },
            audio: { codec: "aac", bitrateKbps: 64 },
          },
        ],
      };
      const { outputs } = await engine.run(plan);
      expect(outputs[0]?.video?.height).toBe(120);
      expect(outputs[0]?.audio).toBeNull();
    }, 60_000);

    it("fails a run on an unreadable input with INPUT_UNREADABLE and writes nothing", async () => {
      const garbage = await makeGarbage(join(dir, "garbage2.mp4"));
      const target = join(dir, "never.mp4");
      const error = await engine
        .run({
          inputPath: garbage,
          outputs: [
            {
              name: "x",
              path: target,
              container: "mp4",
              video: { codec: "h264", height: 120, crf: 30, preset: "ultrafast" },
              audio: null,
            },
          ],
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EngineError);
      expect((error as EngineError).code).toBe("INPUT_UNREADABLE");
      expect(existsSync(target)).toBe(false);
    }, 60_000);

    it("stops a run when its signal aborts, with CANCELED", async () => {
      const long = await makeClip(join(dir, "long.mp4"), {
        seconds: 30,
        width: 1280,
        height: 720,
        audio: false,
      });
      const controller = new AbortController();
      const started = Date.now();
      const promise = engine.run(
        {
          inputPath: long,
          outputs: [
            {
              name: "c",
              path: join(dir, "canceled.mp4"),
              container: "mp4",
              video: { codec: "h264", height: 720, crf: 18, preset: "slow" },
              audio: null,
            },
          ],
        },
        {
          signal: controller.signal,
          onProgress: () => {
            if (!controller.signal.aborted) controller.abort();
          },
        },
      );
      const error = await promise.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EngineError);
      expect((error as EngineError).code).toBe("CANCELED");
      // Functional bound, not a speed goal: a canceled 30 s slow-preset encode must not run to the end.
      expect(Date.now() - started).toBeLessThan(20_000);
    }, 120_000);
  });
}
