import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface ClipOptions {
  seconds?: number;
  width?: number;
  height?: number;
  fps?: number;
  audio?: boolean;
}

/**
 * Makes a test clip with FFmpeg's lavfi sources (testsrc2 + sine). The ffmpeg CLI is used here only
 * as a fixture generator, never by the product.
 */
export async function makeClip(path: string, options: ClipOptions = {}): Promise<string> {
  const { seconds = 2, width = 320, height = 240, fps = 25, audio = true } = options;
  const args = ["-hide_banner", "-loglevel", "error", "-y"];
  args.push("-f", "lavfi", "-i", `testsrc2=size=${width}x${height}:rate=${fps}:duration=${seconds}`);
  if (audio) args.push("-f", "lavfi", "-i", `sine=frequency=440:sample_rate=48000:duration=${seconds}`);
  args.push("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p");
  if (audio) args.push("-c:a", "aac", "-shortest");
  args.push(path);
  await run("ffmpeg", args);
  return path;
}

/** Writes bytes that are not media at all. */
export async function makeGarbage(path: string): Promise<string> {
  await writeFile(path, Buffer.from("this is not a video file\n".repeat(200)));
  return path;
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "fw-test-"));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
