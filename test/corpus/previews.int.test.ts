import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Engine, EngineError } from "../../native/lib/engine";
import { createNativeEngine } from "../../native/lib/native-engine";
import { ensureCorpus } from "./fetch";

/**
 * Issue 18's animation and waveform over every real-world corpus file (native engine): each either
 * works — 20 frames for 2 s at 10 fps, a waveform wherever there is audio — or is refused with
 * INPUT_NO_STREAMS. Never an engine failure: that is how every JPEG's animation failed before.
 */
let corpus: Record<string, string>;
let engine: Engine;
let dir: string;

beforeAll(async () => {
  corpus = await ensureCorpus();
  engine = await createNativeEngine();
  dir = await mkdtemp(join(tmpdir(), "fw-corpus-previews-"));
}, 600_000);

afterAll(async () => {
  await engine?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The run's facts, or the refusal's code. */
async function attempt(run: Promise<{ outputs: unknown[] }>): Promise<{ facts?: unknown; code?: string }> {
  try {
    return { facts: (await run).outputs[0] };
  } catch (error) {
    if (error instanceof EngineError) return { code: error.code };
    throw error;
  }
}

describe("previews over the real-world corpus", () => {
  it("animates every moving picture and draws every audio track; refuses the rest by type", async () => {
    const table: Record<string, string>[] = [];
    for (const [name, path] of Object.entries(corpus)) {
      const facts = await engine.probe(path).catch(() => null);
      const hasAudio = facts?.streams.some((s) => s.type === "audio") ?? false;
      const gif = await attempt(
        engine.run({
          inputPath: path,
          outputs: [
            {
              kind: "animation",
              name: "a",
              path: join(dir, `${name}.gif`),
              format: "gif",
              startSec: 0,
              durationSec: 2,
              fps: 10,
              maxWidth: 160,
              maxHeight: null,
              loop: true,
            },
          ],
        }),
      );
      const wave = await attempt(
        engine.run({
          inputPath: path,
          outputs: [
            {
              kind: "waveform",
              name: "w",
              dir: join(dir, `${name}-wave`),
              image: "png",
              width: 400,
              height: 100,
              color: "#ff0000",
              background: null,
              points: null,
              pointsPerSec: null,
            },
          ],
        }),
      );
      const frames = (gif.facts as { animation?: { frames: number } } | undefined)?.animation?.frames;
      table.push({ name, gif: gif.code ?? `${frames} frames`, waveform: wave.code ?? "ok" });
      if (gif.code) expect(gif.code, name).toBe("INPUT_NO_STREAMS");
      else expect(frames, name).toBe(20);
      if (hasAudio) expect(wave.code, name).toBeUndefined();
      else expect(wave.code, name).toBe("INPUT_NO_STREAMS");
    }
    console.table(table);
    // The corpus has moving pictures, stills and audio-only files: all three paths were taken.
    expect(table.filter((r) => r.gif === "20 frames").length).toBeGreaterThan(10);
    expect(table.filter((r) => r.gif === "INPUT_NO_STREAMS").length).toBeGreaterThan(5);
  }, 600_000);
});
