import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
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
  /** Display-matrix rotation to tag the file with (clockwise degrees a player applies). */
  rotate?: 90 | 180 | 270;
  /** Sine amplitude 0–1 (default: lavfi's 1/8), to make quiet or loud audio. */
  volume?: number;
  /** Container by extension; mpegts is handy for streaming (no index at the end). */
  faststart?: boolean;
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
  if (audio && options.volume !== undefined) args.push("-af", `volume=${options.volume * 8}`);
  args.push("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p");
  if (audio) args.push("-c:a", "aac", "-shortest");
  if (options.faststart) args.push("-movflags", "+faststart");
  args.push(path);
  await run("ffmpeg", args);
  if (options.rotate !== undefined) await setRotation(path, options.rotate);
  return path;
}

/**
 * Writes a rotation into the first track's display matrix (tkhd). FFmpeg 5.1's CLI no longer turns
 * a `rotate` tag into a matrix, so the fixture patches the box itself, as a phone would write it.
 */
async function setRotation(path: string, degrees: 90 | 180 | 270): Promise<void> {
  const bytes = await readFile(path);
  const at = bytes.indexOf("tkhd");
  if (at < 0) throw new Error(`no tkhd box in ${path}`);
  const version = bytes[at + 4];
  // type(4) version/flags(4) times and ids (v0: 20, v1: 32) reserved(8) layer..volume(8)
  const matrix = at + 4 + 4 + (version === 1 ? 32 : 20) + 8 + 8;
  const one = 0x10000;
  const values = {
    90: [0, one, 0, -one, 0, 0],
    180: [-one, 0, 0, 0, -one, 0],
    270: [0, -one, 0, one, 0, 0],
  }[degrees];
  for (const [i, v] of values.entries()) bytes.writeInt32BE(v, matrix + i * 4);
  await writeFile(path, bytes);
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

/** Runs ffprobe (test-side only) and returns its JSON. */
export async function ffprobe(path: string): Promise<{
  format: { duration?: string; format_name: string };
  streams: Array<Record<string, unknown> & { codec_type: string; codec_name: string }>;
}> {
  const { stdout } = await run("ffprobe", [
    ...["-v", "error", "-print_format", "json", "-show_format", "-show_streams", path],
  ]);
  return JSON.parse(stdout);
}

/** Integrated loudness (LUFS) as the ffmpeg CLI's ebur128 filter measures it (test-side only). */
export async function measureLufs(path: string): Promise<number> {
  const { stderr } = await run("ffmpeg", [
    ...["-hide_banner", "-nostats", "-i", path, "-af", "ebur128=framelog=verbose", "-f", "null", "-"],
  ]);
  const match = /Integrated loudness:\s+I:\s+(-?[\d.]+) LUFS/.exec(stderr);
  if (!match?.[1]) throw new Error(`no loudness in ffmpeg output: ${stderr.slice(-400)}`);
  return Number.parseFloat(match[1]);
}

export interface BadMedia {
  label: string;
  path: string;
}

/**
 * A corpus of damaged files made from good clips: truncated at several points, bits flipped at
 * several offsets (in the header, the index and the data), a garbage header on a good body, empty
 * and random files. Each must end in a clean error or a (possibly shortened) output — never a
 * crash or a hang.
 */
export async function makeBadMediaSet(dir: string, good: string, goodTs: string): Promise<BadMedia[]> {
  const set: BadMedia[] = [];
  const add = async (label: string, bytes: Uint8Array, ext: string) => {
    const path = join(dir, `bad-${label}.${ext}`);
    await writeFile(path, bytes);
    set.push({ label, path });
  };
  for (const [source, ext] of [
    [good, "mp4"],
    [goodTs, "ts"],
  ] as const) {
    const whole = new Uint8Array(await readFile(source));
    const tag = ext;
    for (const fraction of [0.05, 0.5, 0.9]) {
      await add(
        `${tag}-truncated-${fraction * 100}pct`,
        whole.subarray(0, Math.floor(whole.length * fraction)),
        ext,
      );
    }
    // Deterministic pseudo-random flips so a failure reproduces.
    let seed = 0x9e3779b9;
    const random = () => {
      seed = (seed * 1664525 + 1013904223) >>> 0;
      return seed / 2 ** 32;
    };
    for (const offset of [16, 40, 200, 0.3, 0.6, 0.97]) {
      const bytes = new Uint8Array(whole);
      const start = offset < 1 ? Math.floor(whole.length * offset) : offset;
      // A burst of 32 flipped bytes: enough to break a box header or a slice.
      for (let i = 0; i < 32 && start + i < bytes.length; i++) {
        const at = start + i;
        bytes[at] = (bytes[at] ?? 0) ^ (1 << Math.floor(random() * 8));
      }
      await add(`${tag}-flipped-at-${String(offset).replace(".", "p")}`, bytes, ext);
    }
    const garbageHead = new Uint8Array(whole);
    for (let i = 0; i < Math.min(4096, garbageHead.length); i++) garbageHead[i] = Math.floor(random() * 256);
    await add(`${tag}-garbage-header`, garbageHead, ext);
  }
  await add("empty", new Uint8Array(0), "mp4");
  await add(
    "random",
    Uint8Array.from({ length: 65536 }, (_, i) => (i * 2654435761) >>> 24),
    "mp4",
  );
  return set;
}
