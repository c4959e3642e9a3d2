/**
 * A waveform output from the buckets an engine measured (the mono down-mix's lowest and highest
 * sample per short bucket): peaks at the resolution asked for, the picture (PNG drawn here, SVG as
 * one path) and the peaks document. Shared by both engines.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import type { OutputFacts, WaveformPlanOutput } from "./engine";

/** What an engine measured: min/max per bucket of `bucketSec`, the first from `startSec`. */
export interface WaveformBuckets {
  bucketSec: number;
  startSec: number;
  sampleRate: number;
  min: ArrayLike<number>;
  max: ArrayLike<number>;
  /** The audio's end on the input's timeline, seconds. */
  durationSec: number;
}

/**
 * `points` pairs [min, max, …], one per `step` seconds from 0 (default: evenly over 0…durationSec):
 * pair i is the lowest and highest sample of the buckets that start inside its stretch (a stretch
 * with none, past the end: 0, 0).
 */
export function peaksOf(
  buckets: WaveformBuckets,
  points: number,
  step = buckets.durationSec / points,
): Float32Array {
  const peaks = new Float32Array(points * 2);
  const count = Math.min(buckets.min.length, buckets.max.length);
  if (step <= 0 || buckets.bucketSec <= 0) return peaks;
  for (let i = 0; i < points; i++) {
    const from = Math.max(0, Math.ceil((i * step - buckets.startSec) / buckets.bucketSec - 1e-9));
    const to = Math.min(count, Math.ceil(((i + 1) * step - buckets.startSec) / buckets.bucketSec - 1e-9));
    let low = Number.POSITIVE_INFINITY;
    let high = Number.NEGATIVE_INFINITY;
    for (let b = from; b < to; b++) {
      low = Math.min(low, buckets.min[b] ?? 0);
      high = Math.max(high, buckets.max[b] ?? 0);
    }
    if (low > high) low = high = 0;
    peaks[2 * i] = Math.max(-1, Math.min(1, low));
    peaks[2 * i + 1] = Math.max(-1, Math.min(1, high));
  }
  return peaks;
}

/** Buckets of 8 to a point of the resolution asked for (as the native engine keeps them), from 16-bit PCM. */
export function bucketsFromPcm(
  pcm: Int16Array,
  sampleRate: number,
  resolution: { points: number } | { pointsPerSec: number },
): WaveformBuckets {
  const durationSec = pcm.length / sampleRate;
  const bucketSec =
    "pointsPerSec" in resolution
      ? 1 / (resolution.pointsPerSec * 8)
      : durationSec / (Math.max(1, resolution.points) * 8);
  const size = Math.max(1, Math.floor(bucketSec * sampleRate));
  const count = Math.ceil(pcm.length / size);
  const min = new Float32Array(count);
  const max = new Float32Array(count);
  for (let b = 0; b < count; b++) {
    let low = 1;
    let high = -1;
    for (let i = b * size; i < Math.min(pcm.length, (b + 1) * size); i++) {
      const v = (pcm[i] ?? 0) / 32768;
      if (v < low) low = v;
      if (v > high) high = v;
    }
    min[b] = low;
    max[b] = high;
  }
  return { bucketSec: size / sampleRate, startSec: 0, sampleRate, min, max, durationSec };
}

/** The pixel rows a column covers, top to bottom, for its peak pair (at least the centre row). */
export function columnRows(min: number, max: number, height: number): [number, number] {
  const row = (v: number) => Math.round(((1 - v) / 2) * (height - 1));
  const top = row(max);
  const bottom = row(min);
  return [Math.min(top, bottom), Math.max(top, bottom)];
}

function rgba(hex: string): [number, number, number, number] {
  const n = (at: number) => Number.parseInt(hex.slice(at, at + 2), 16);
  return [n(1), n(3), n(5), hex.length === 9 ? n(7) : 255];
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of bytes) c = (CRC_TABLE[(c ^ byte) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, "ascii");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** The waveform as an RGBA PNG: one column per peak pair, `color` from max to min on `background`. */
export function waveformPng(
  peaks: Float32Array,
  width: number,
  height: number,
  color: string,
  background: string | null,
): Buffer {
  const stride = width * 4 + 1;
  const raw = Buffer.alloc(stride * height);
  const back = background ? rgba(background) : [0, 0, 0, 0];
  const fore = rgba(color);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) raw.set(back, y * stride + 1 + x * 4);
  }
  for (let x = 0; x < width; x++) {
    const [top, bottom] = columnRows(peaks[2 * x] ?? 0, peaks[2 * x + 1] ?? 0, height);
    for (let y = top; y <= bottom; y++) raw.set(fore, y * stride + 1 + x * 4);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 6, 0, 0, 0], 8); // 8 bits, RGBA, deflate, no filter, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk("IHDR", header),
    pngChunk("IDAT", deflateSync(raw)),
    pngChunk("IEND", new Uint8Array()),
  ]);
}

function svgPaint(attribute: string, hex: string): string {
  const [, , , alpha] = rgba(hex);
  const opacity = alpha < 255 ? ` ${attribute}-opacity="${(alpha / 255).toFixed(3)}"` : "";
  return `${attribute}="${hex.slice(0, 7)}"${opacity}`;
}

/** The waveform as SVG: one closed path (the max edge left to right, the min edge back). */
export function waveformSvg(
  peaks: Float32Array,
  width: number,
  height: number,
  color: string,
  background: string | null,
): string {
  const columns = peaks.length / 2;
  const y = (v: number) => (((1 - v) / 2) * height).toFixed(2);
  const top: string[] = [];
  const bottom: string[] = [];
  for (let x = 0; x < columns; x++) {
    const min = peaks[2 * x] ?? 0;
    const max = peaks[2 * x + 1] ?? 0;
    // Silence still draws a hairline, as the PNG's centre row does.
    const spread = Math.max(max - min, 2 / height);
    const mid = (max + min) / 2;
    top.push(`${x},${y(mid + spread / 2)}`, `${x + 1},${y(mid + spread / 2)}`);
    bottom.unshift(`${x + 1},${y(mid - spread / 2)}`, `${x},${y(mid - spread / 2)}`);
  }
  const backdrop = background ? `<rect width="100%" height="100%" ${svgPaint("fill", background)}/>` : "";
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" preserveAspectRatio="none">${backdrop}` +
    `<path d="M${top.join("L")}L${bottom.join("L")}Z" ${svgPaint("fill", color)}/></svg>\n`
  );
}

/** Writes waveform.<image> and peaks.json into the output's dir and describes them. */
export async function writeWaveform(
  output: WaveformPlanOutput,
  buckets: WaveformBuckets,
): Promise<OutputFacts> {
  await mkdir(output.dir, { recursive: true });
  const duration = buckets.durationSec;
  // A rate asked for is kept exactly (the last pair may reach past the end); a count spreads evenly.
  const points =
    output.pointsPerSec !== null
      ? Math.max(1, Math.ceil(duration * output.pointsPerSec - 1e-6))
      : (output.points ?? output.width);
  const pointsPerSec = output.pointsPerSec ?? (duration > 0 ? points / duration : 0);
  const peaks = peaksOf(buckets, points, pointsPerSec > 0 ? 1 / pointsPerSec : 0);
  const columns = points === output.width ? peaks : peaksOf(buckets, output.width);
  const image = `waveform.${output.image}`;
  const picture =
    output.image === "png"
      ? waveformPng(columns, output.width, output.height, output.color, output.background)
      : waveformSvg(columns, output.width, output.height, output.color, output.background);
  const document = {
    version: 1,
    channels: 1,
    sample_rate: buckets.sampleRate,
    samples_per_pixel: pointsPerSec > 0 ? Math.round(buckets.sampleRate / pointsPerSec) : 0,
    length: points,
    duration_sec: duration,
    points_per_sec: pointsPerSec,
    peaks: Array.from(peaks, (v) => Math.round(v * 10_000) / 10_000),
  };
  const json = JSON.stringify(document);
  const imagePath = join(output.dir, image);
  const peaksPath = join(output.dir, "peaks.json");
  await writeFile(imagePath, picture);
  await writeFile(peaksPath, json);
  const files = [
    { path: imagePath, relativePath: image, sizeBytes: Buffer.byteLength(picture) },
    { path: peaksPath, relativePath: "peaks.json", sizeBytes: Buffer.byteLength(json) },
  ];
  return {
    name: output.name,
    kind: "waveform",
    path: output.dir,
    sizeBytes: files.reduce((sum, f) => sum + f.sizeBytes, 0),
    container: output.image,
    durationSec: duration,
    video: null,
    audio: null,
    files,
    waveform: {
      image,
      peaks: "peaks.json",
      width: output.width,
      height: output.height,
      points,
      points_per_sec: pointsPerSec,
      duration_sec: duration,
    },
  };
}
