/**
 * Test-side readers of written media, through Debian's ffprobe/ffmpeg CLI (independent of both
 * engines; the product never runs them): stream facts, loudness and true peak, and a picture's
 * grey levels for comparing orientation.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface Probed {
  durationSec: number | null;
  video: { codec: string; pixFmt: string; width: number; height: number; sar: string | null } | null;
  audio: { codec: string; channels: number } | null;
}

export async function probeFile(path: string): Promise<Probed> {
  const { stdout } = await run("ffprobe", [
    ...["-v", "error", "-print_format", "json", "-show_format", "-show_streams", path],
  ]);
  const json = JSON.parse(stdout) as {
    format: { duration?: string };
    streams: Array<Record<string, unknown>>;
  };
  const video = json.streams.find((s) => s.codec_type === "video");
  const audio = json.streams.find((s) => s.codec_type === "audio");
  const duration = Number(json.format.duration);
  return {
    durationSec: Number.isFinite(duration) ? duration : null,
    video: video
      ? {
          codec: String(video.codec_name),
          pixFmt: String(video.pix_fmt),
          width: Number(video.width),
          height: Number(video.height),
          sar: typeof video.sample_aspect_ratio === "string" ? video.sample_aspect_ratio : null,
        }
      : null,
    audio: audio ? { codec: String(audio.codec_name), channels: Number(audio.channels) } : null,
  };
}

/** Integrated loudness (LUFS) and true peak (dBTP) as the CLI's ebur128 filter measures them. */
export async function loudnessOf(path: string): Promise<{ lufs: number; truePeakDbtp: number }> {
  const { stderr } = await run("ffmpeg", [
    ...["-hide_banner", "-nostats", "-i", path, "-af", "ebur128=peak=true", "-f", "null", "-"],
  ]);
  const summary = stderr.slice(stderr.lastIndexOf("Summary:"));
  const lufs = /I:\s+(-?[\d.]+) LUFS/.exec(summary)?.[1];
  const peak = /Peak:\s+(-?[\d.]+|-inf) dBFS/.exec(summary)?.[1];
  if (!lufs || !peak) throw new Error(`no loudness summary for ${path}: ${stderr.slice(-300)}`);
  return { lufs: Number(lufs), truePeakDbtp: peak === "-inf" ? -120 : Number(peak) };
}

/** The picture's grey levels at a fixed size, as stored (no orientation applied). */
export async function greyPixels(path: string, width: number, height: number): Promise<Uint8Array> {
  const { stdout } = await run(
    "ffmpeg",
    [
      ...["-hide_banner", "-loglevel", "error", "-noautorotate", "-i", path, "-frames:v", "1", "-vf"],
      ...[`scale=${width}:${height},format=gray`, "-f", "rawvideo", "-"],
    ],
    { encoding: "buffer", maxBuffer: 16 << 20 },
  );
  return new Uint8Array(stdout);
}

/** Mean absolute difference of two grey pictures of the same size (0–255). */
export function pictureDistance(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length || a.length === 0) return 255;
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs((a[i] ?? 0) - (b[i] ?? 0));
  return sum / a.length;
}
