import { describe, expect, it } from "vitest";
import { readGif, readWebp } from "./animation";

/** A minimal GIF: 2x1 screen, a global table of 2 colours, NETSCAPE loop, frames with delays. */
function gif(delays: number[], loop: number | null): Uint8Array {
  const bytes = [...Buffer.from("GIF89a"), 2, 0, 1, 0, 0x80, 0, 0, 0, 0, 0, 255, 255, 255];
  if (loop !== null) {
    bytes.push(0x21, 0xff, 11, ...Buffer.from("NETSCAPE2.0"), 3, 1, loop & 0xff, loop >> 8, 0);
  }
  for (const delay of delays) {
    bytes.push(0x21, 0xf9, 4, 0, delay & 0xff, delay >> 8, 0, 0);
    bytes.push(0x2c, 0, 0, 0, 0, 2, 0, 1, 0, 0, 2, 2, 0x4c, 0x01, 0);
  }
  bytes.push(0x3b);
  return Uint8Array.from(bytes);
}

function chunk(fourcc: string, data: number[]): number[] {
  const size = data.length;
  return [...Buffer.from(fourcc), size & 0xff, (size >> 8) & 0xff, 0, 0, ...data, ...(size % 2 ? [0] : [])];
}

function webp(durations: number[], loops: number): Uint8Array {
  const u24 = (n: number) => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff];
  const body = [
    ...Buffer.from("WEBP"),
    ...chunk("VP8X", [0x02, 0, 0, 0, ...u24(319), ...u24(179)]),
    ...chunk("ANIM", [0, 0, 0, 0, loops & 0xff, loops >> 8]),
    ...durations.flatMap((d) =>
      chunk("ANMF", [...u24(0), ...u24(0), ...u24(319), ...u24(179), ...u24(d), 0, 1]),
    ),
  ];
  const size = body.length;
  return Uint8Array.from([...Buffer.from("RIFF"), size & 0xff, (size >> 8) & 0xff, 0, 0, ...body]);
}

describe("animation files read back", () => {
  it("counts a GIF's frames, sums its delays and reads its loop extension", () => {
    expect(readGif(gif([7, 7, 6], 0))).toEqual({
      width: 2,
      height: 1,
      frames: 3,
      durationSec: 0.2,
      loop: true,
    });
    expect(readGif(gif([10], null))).toMatchObject({ frames: 1, loop: false });
    expect(readGif(gif([10], 2))).toMatchObject({ loop: false });
    expect(() => readGif(Uint8Array.from(Buffer.from("PNG...")))).toThrow(/GIF/);
  });

  it("counts an animated WebP's ANMF frames, sums their durations and reads ANIM's loop count", () => {
    expect(readWebp(webp([66, 67, 67], 0))).toEqual({
      width: 320,
      height: 180,
      frames: 3,
      durationSec: 0.2,
      loop: true,
    });
    expect(readWebp(webp([100], 1))).toMatchObject({ frames: 1, loop: false });
  });
});
