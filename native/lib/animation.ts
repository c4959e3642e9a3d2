/**
 * Animations as written, read back from the file: GIF and animated WebP keep their frames in
 * records of their own (FFmpeg 5.1 cannot even decode animated WebP), so both are read here rather
 * than probed; an MP4 loop is probed like any video.
 */
import { readFile } from "node:fs/promises";
import type { AnimationFacts, AnimationPlanOutput, MediaFacts, OutputFacts } from "./engine";
import { outputFactsFromProbe } from "./output-facts";

export interface AnimationFile {
  width: number;
  height: number;
  frames: number;
  /** Sum of the frame delays, seconds. */
  durationSec: number;
  /** true: repeats forever; false: plays once (or a finite count). */
  loop: boolean;
}

function unreadable(format: string, why: string): Error {
  return new Error(`not a readable ${format}: ${why}`);
}

/** Walks a GIF's blocks: logical screen, extensions (frame delays, the NETSCAPE2.0 loop), images. */
export function readGif(bytes: Uint8Array): AnimationFile {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const signature = new TextDecoder().decode(bytes.subarray(0, 6));
  if (signature !== "GIF89a" && signature !== "GIF87a") throw unreadable("GIF", "no GIF signature");
  const width = view.getUint16(6, true);
  const height = view.getUint16(8, true);
  const screen = bytes[10] ?? 0;
  let at = 13 + (screen & 0x80 ? 3 * 2 ** ((screen & 7) + 1) : 0);
  let frames = 0;
  let centiseconds = 0;
  let loop = false;
  const skipSubBlocks = () => {
    while (at < bytes.length) {
      const size = bytes[at] ?? 0;
      at += 1 + size;
      if (size === 0) return;
    }
  };
  while (at < bytes.length) {
    const block = bytes[at];
    if (block === 0x3b) break;
    if (block === 0x21) {
      const label = bytes[at + 1];
      at += 2;
      if (label === 0xf9 && bytes[at] === 4) centiseconds += view.getUint16(at + 2, true);
      if (label === 0xff && bytes[at] === 11) {
        const app = new TextDecoder().decode(bytes.subarray(at + 1, at + 12));
        // NETSCAPE2.0's sub-block: 1, then the repeat count (0: forever).
        if (app === "NETSCAPE2.0" && bytes[at + 12] === 3 && bytes[at + 13] === 1) {
          loop = view.getUint16(at + 14, true) === 0;
        }
      }
      skipSubBlocks();
    } else if (block === 0x2c) {
      const packed = bytes[at + 9] ?? 0;
      at += 10 + (packed & 0x80 ? 3 * 2 ** ((packed & 7) + 1) : 0) + 1;
      skipSubBlocks();
      frames++;
    } else {
      throw unreadable("GIF", `unknown block 0x${(block ?? 0).toString(16)} at byte ${at}`);
    }
  }
  return { width, height, frames, durationSec: centiseconds / 100, loop };
}

const uint24 = (bytes: Uint8Array, at: number) =>
  (bytes[at] ?? 0) | ((bytes[at + 1] ?? 0) << 8) | ((bytes[at + 2] ?? 0) << 16);

/** Walks a WebP's RIFF chunks: VP8X (canvas), ANIM (loop count), ANMF (one per frame, its duration). */
export function readWebp(bytes: Uint8Array): AnimationFile {
  const ascii = (from: number, to: number) => new TextDecoder().decode(bytes.subarray(from, to));
  if (ascii(0, 4) !== "RIFF" || ascii(8, 12) !== "WEBP") throw unreadable("WebP", "no RIFF WEBP header");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 12;
  let width = 0;
  let height = 0;
  let frames = 0;
  let ms = 0;
  let loop = false;
  let still = false;
  while (at + 8 <= bytes.length) {
    const fourcc = ascii(at, at + 4);
    const size = view.getUint32(at + 4, true);
    const data = at + 8;
    if (fourcc === "VP8X") {
      width = uint24(bytes, data + 4) + 1;
      height = uint24(bytes, data + 7) + 1;
    } else if (fourcc === "ANIM") {
      loop = view.getUint16(data + 4, true) === 0;
    } else if (fourcc === "ANMF") {
      frames++;
      ms += uint24(bytes, data + 12);
    } else if (fourcc === "VP8 " || fourcc === "VP8L") {
      still = true;
    }
    at = data + size + (size % 2);
  }
  if (frames === 0 && still) frames = 1;
  return { width, height, frames, durationSec: ms / 1000, loop };
}

/** An animation output's facts: the file read back (GIF, WebP) or probed (MP4). */
export async function animationFacts(
  output: AnimationPlanOutput,
  probe: (path: string) => Promise<MediaFacts>,
  mp4Frames: number | null,
): Promise<OutputFacts> {
  if (output.format === "mp4") {
    const facts = outputFactsFromProbe(output, await probe(output.path));
    const fps = facts.video?.fps ?? 0;
    const frames = mp4Frames ?? Math.round((facts.durationSec ?? 0) * fps);
    const animation: AnimationFacts = { format: "mp4", frames, fps, loop: null };
    return { ...facts, animation };
  }
  const bytes = await readFile(output.path);
  const file = output.format === "gif" ? readGif(bytes) : readWebp(bytes);
  const fps = file.durationSec > 0 ? Math.round((file.frames / file.durationSec) * 1000) / 1000 : 0;
  return {
    name: output.name,
    kind: "animation",
    path: output.path,
    sizeBytes: bytes.byteLength,
    container: output.format,
    durationSec: file.durationSec,
    video: {
      codec: output.format,
      width: file.width,
      height: file.height,
      fps,
      pixel_format: output.format === "gif" ? "pal8" : null,
    },
    audio: null,
    animation: { format: output.format, frames: file.frames, fps, loop: file.loop },
  };
}
