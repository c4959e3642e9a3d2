import { describe, expect, it } from "vitest";
import { readFragment, readInit } from "./fmp4";

/** An ISO BMFF box: 32-bit size, four-character type, payload. */
function box(type: string, ...payload: Uint8Array[]): Uint8Array {
  const size = 8 + payload.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(size);
  new DataView(out.buffer).setUint32(0, size);
  out.set(new TextEncoder().encode(type), 4);
  let at = 8;
  for (const p of payload) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Big-endian integers of the given byte widths (negative values wrap, as a signed field stores them). */
function bytes(...fields: [number, number][]): Uint8Array {
  const out: number[] = [];
  for (const [value, width] of fields) {
    for (let i = width - 1; i >= 0; i--)
      out.push(Number((BigInt.asUintN(width * 8, BigInt(value)) >> BigInt(i * 8)) & 0xffn));
  }
  return Uint8Array.from(out);
}

const zeros = (n: number) => new Uint8Array(n);
const fullBox = (type: string, version: number, flags: number, ...payload: Uint8Array[]) =>
  box(type, bytes([version, 1], [flags, 3]), ...payload);

function init(handler: string, timescale: number, entry: Uint8Array): Uint8Array {
  const mdhd = fullBox("mdhd", 0, 0, bytes([0, 4], [0, 4], [timescale, 4], [0, 4]), zeros(4));
  const hdlr = fullBox("hdlr", 0, 0, zeros(4), new TextEncoder().encode(handler), zeros(12), zeros(1));
  const stsd = fullBox("stsd", 0, 0, bytes([1, 4]), entry);
  const trak = box("trak", box("mdia", mdhd, hdlr, box("minf", box("stbl", stsd))));
  const trex = fullBox("trex", 0, 0, bytes([1, 4], [1, 4], [1024, 4], [0, 4], [0, 4]));
  return Uint8Array.from([
    ...box("ftyp", new TextEncoder().encode("iso6")),
    ...box("moov", trak, box("mvex", trex)),
  ]);
}

describe("CMAF track timing", () => {
  it("reads an H.264 track's timescale and RFC 6381 codec from its init segment", () => {
    const avcC = box("avcC", bytes([1, 1], [0x64, 1], [0x00, 1], [0x1f, 1]), zeros(4));
    const avc1 = box("avc1", zeros(78), avcC);
    expect(readInit(init("vide", 12800, avc1))).toEqual({
      timescale: 12800,
      handler: "vide",
      codecs: "avc1.64001f",
      defaultSampleDuration: 1024,
    });
  });

  it("names AAC by its object type and the AudioSpecificConfig's audio object type", () => {
    const esds = fullBox(
      "esds",
      0,
      0,
      bytes([0x03, 1], [23, 1], [1, 2], [0, 1]),
      bytes([0x04, 1], [15, 1], [0x40, 1], [0x15, 1], [0, 3], [128000, 4], [128000, 4]),
      bytes([0x05, 1], [2, 1], [0x12, 1], [0x10, 1]),
    );
    const mp4a = box("mp4a", zeros(28), esds);
    expect(readInit(init("soun", 48000, mp4a))).toMatchObject({ handler: "soun", codecs: "mp4a.40.2" });
  });

  it("finds a fragment's earliest presentation and end through signed composition offsets", () => {
    const track = { timescale: 12800, handler: "vide", codecs: null, defaultSampleDuration: 0 };
    const tfhd = fullBox("tfhd", 0, 0x020008, bytes([1, 4], [512, 4]));
    const tfdt = fullBox("tfdt", 1, 0, bytes([128000, 8]));
    // Three samples, default duration 512: an I frame, then P (shown later), then B (shown before it).
    const trun = fullBox("trun", 1, 0x000801, bytes([3, 4], [0, 4], [0, 4], [1024, 4], [-512, 4]));
    const segment = Uint8Array.from([
      ...box("styp", new TextEncoder().encode("msdh")),
      ...box("moof", fullBox("mfhd", 0, 0, bytes([1, 4])), box("traf", tfhd, tfdt, trun)),
      ...box("mdat", zeros(16)),
    ]);
    // Decode times 128000, 128512, 129024; shown at 128000, 129536, 128512.
    expect(readFragment(segment, track)).toEqual({ start: 128000, end: 130048, samples: 3 });
  });

  it("refuses a segment with no fragment", () => {
    const track = { timescale: 1000, handler: "soun", codecs: null, defaultSampleDuration: 0 };
    expect(() => readFragment(box("mdat", zeros(4)), track)).toThrow(/moof/);
  });
});
