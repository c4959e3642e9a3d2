import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { EngineError } from "@framewire/native";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engineFacts } from "../heartbeat";
import { createIsolatedEngine, type IsolatedEngine } from "./isolated-engine";

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
