import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { EngineError } from "@framewire/native";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeClip, makeGarbage } from "../../../test/support/media";
import { engineFacts } from "../heartbeat";
import { createIsolatedEngine, type IsolatedEngine, SlotError } from "./isolated-engine";

/** The node's engine as it really runs: native engine in a slot process of its own. */

const execFileAsync = promisify(execFile);
let engine: IsolatedEngine;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "fw-slots-"));
  // A 1 s watchdog, and a long cancel grace so the node's own backstop cannot be what stops a run.
  engine = await createIsolatedEngine({
    slots: 1,
    engine: "native",
    stallTimeoutMs: 1_000,
    timeLimitMs: 60_000,
    cancelGraceMs: 20_000,
  });
}, 60_000);

afterAll(async () => {
  await engine?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("slot engine", () => {
  it("hands the node's stall timeout to the engine's own watchdog, which stops the run and keeps the slot", async () => {
    const [pid] = engine.pids;
    // A FIFO held open by nobody writing: the engine blocks reading it, as on a hung network mount.
    const fifo = join(dir, "stalled.fifo");
    await execFileAsync("mkfifo", [fifo]);
    const writer = await open(fifo, "r+");
    try {
      const started = Date.now();
      const error = await engine
        .run({
          inputPath: fifo,
          outputs: [
            {
              kind: "video",
              name: "never",
              path: join(dir, "never.mp4"),
              container: "mp4",
              video: null,
              audio: {
                codec: "aac",
                bitrateKbps: 64,
                channels: null,
                sampleRate: null,
                loudnessTargetLufs: null,
              },
              trim: null,
            },
          ],
        })
        .catch((e: unknown) => e);
      // The engine's STALLED, not the node's SlotError: the slot process was not killed.
      expect(error).toBeInstanceOf(EngineError);
      expect((error as EngineError).code).toBe("STALLED");
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(engine.pids).toEqual([pid]);
      expect(existsSync(join(dir, "never.mp4"))).toBe(false);
    } finally {
      await writer.close();
    }
  }, 30_000);

  it("brings FFmpeg's own warnings and errors of a failed run back from the slot, with their times", async () => {
    const garbage = await makeGarbage(join(dir, "garbage.mp4"));
    const before = Date.now();
    const error = (await engine
      .run(h264Plan(garbage, join(dir, "g.mp4")))
      .catch((e: unknown) => e)) as EngineError;
    expect(error).toBeInstanceOf(EngineError);
    expect(error.log?.lines.map((l) => l.message)).toEqual(
      expect.arrayContaining([expect.stringMatching(/moov atom not found|Invalid data/)]),
    );
    for (const line of error.log?.lines ?? []) {
      expect(line.level).toMatch(/^(error|warning)$/);
      expect(line.at).toBeGreaterThanOrEqual(before - 1000);
    }
  });

  it("tells the heartbeat which hardware encoders work and why each device that was tried did not open", async () => {
    const facts = engineFacts(await engine.capabilities());
    expect(facts.encoders).toEqual(expect.arrayContaining(["libx264", "aac"]));
    for (const device of ["cuda", "qsv", "vaapi"]) {
      const opened = facts.hardware.includes(device);
      const reason = facts.hardware_errors?.[device];
      // Either the device opened, or the heartbeat carries FFmpeg's reason in words.
      expect(opened || (typeof reason === "string" && reason.length > 3), `${device}: ${reason}`).toBe(true);
    }
    for (const encoder of facts.hardware_encoders ?? [])
      expect(facts.hardware).toContain(encoder.split(":")[0]);
  });
});

function h264Plan(input: string, output: string, height: number | null = 120) {
  return {
    inputPath: input,
    outputs: [
      {
        kind: "video" as const,
        name: "v",
        path: output,
        container: "mp4" as const,
        video: {
          codec: "h264" as const,
          maxWidth: null,
          maxHeight: height,
          crf: 23,
          bitrateKbps: null,
          preset: "medium" as const,
          fps: null,
          crop: null,
        },
        audio: null,
        trim: null,
      },
    ],
  };
}

describe("slot memory limit (FW_SLOT_MEMORY_MB)", () => {
  it("fails a run whose slot passes the limit with resource_exhausted, and the next run works", async () => {
    // An idle slot of the same kind (the one this file's other tests use).
    const [idle] = await engine.stats();
    expect(idle?.rssBytes).toBeGreaterThan(10 * 1024 ** 2);
    // x264 at 1080p holds a lookahead of full frames: several hundred MiB, far above an idle slot.
    const limited = await createIsolatedEngine({
      slots: 1,
      engine: "native",
      stallTimeoutMs: 30_000,
      timeLimitMs: 60_000,
      memoryLimitBytes: (idle?.rssBytes ?? 0) + 100 * 1024 ** 2,
      memoryPollMs: 100,
    });
    try {
      const hd = await makeClip(join(dir, "hd.mp4"), { seconds: 2, width: 1920, height: 1080 });
      const [before] = limited.pids;
      const error = await limited.run(h264Plan(hd, join(dir, "hd-out.mp4"), null)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SlotError);
      expect(error).toMatchObject({ code: "resource_exhausted", retryable: false });
      expect((error as SlotError).message).toMatch(/over its limit of \d+ MiB \(FW_SLOT_MEMORY_MB\)/);
      // The node carries on: a small run gets a fresh slot and succeeds.
      const small = await makeClip(join(dir, "small.mp4"), { seconds: 1, width: 320, height: 240 });
      const result = await limited.run(h264Plan(small, join(dir, "small-out.mp4")));
      expect(result.outputs[0]?.video?.height).toBe(120);
      expect(limited.pids).not.toContain(before);
    } finally {
      await limited.close();
    }
  }, 60_000);
});
