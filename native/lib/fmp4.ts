/**
 * Just enough of ISO BMFF to describe the CMAF tracks a ladder writes: from an init segment the
 * track's timescale, defaults and RFC 6381 codec string; from a media segment (moof + mdat) when
 * its samples are presented. A DASH manifest's timeline is built from these exact numbers, never
 * from the rounded durations of a playlist.
 */
import { open } from "node:fs/promises";

export interface TrackInfo {
  /** The track's media timescale (ticks a second), from mdhd. */
  timescale: number;
  /** "vide", "soun", … (hdlr). */
  handler: string;
  /** e.g. "avc1.64001f", "mp4a.40.2"; null when the sample entry is not one we can name. */
  codecs: string | null;
  /** trex's default sample duration (a fragment may override it). */
  defaultSampleDuration: number;
}

export interface FragmentTiming {
  /** The fragment's earliest presentation time (tfdt + the least composition offset), in track ticks. */
  start: number;
  /** When its last-presented sample ends, in track ticks. */
  end: number;
  samples: number;
}

interface Box {
  type: string;
  /** Offset of the box's payload (after the header) and its end. */
  body: number;
  end: number;
  /** false: the box runs past the bytes at hand (a file read only in part). */
  complete: boolean;
}

function boxes(view: DataView, start: number, end: number): Box[] {
  const found: Box[] = [];
  let at = start;
  while (at + 8 <= end) {
    let size = view.getUint32(at);
    const type = String.fromCharCode(
      view.getUint8(at + 4),
      view.getUint8(at + 5),
      view.getUint8(at + 6),
      view.getUint8(at + 7),
    );
    let header = 8;
    if (size === 1) {
      if (at + 16 > end) break;
      size = Number(view.getBigUint64(at + 8));
      header = 16;
    } else if (size === 0) {
      size = end - at;
    }
    if (size < header) throw new Error(`malformed ${type} box at ${at}`);
    found.push({ type, body: at + header, end: Math.min(at + size, end), complete: at + size <= end });
    if (at + size > end) break;
    at += size;
  }
  return found;
}

function child(view: DataView, parent: Box, ...path: string[]): Box | null {
  let box: Box | null = parent;
  for (const type of path) {
    if (!box) return null;
    box = boxes(view, box.body, box.end).find((b) => b.type === type) ?? null;
  }
  return box;
}

const hex2 = (n: number) => n.toString(16).padStart(2, "0");

/** Reads a descriptor's length (ISO 14496-1: up to four bytes of 7 bits). */
function descriptorLength(view: DataView, at: number): { length: number; next: number } {
  let length = 0;
  let next = at;
  for (let i = 0; i < 4; i++) {
    const byte = view.getUint8(next++);
    length = (length << 7) | (byte & 0x7f);
    if (!(byte & 0x80)) break;
  }
  return { length, next };
}

/** "mp4a.40.2" from an esds box: the object type, then the AudioSpecificConfig's audio object type. */
function mp4aCodecs(view: DataView, esds: Box): string | null {
  let at = esds.body + 4; // version and flags
  if (view.getUint8(at) !== 0x03) return null; // ES_Descriptor
  at = descriptorLength(view, at + 1).next;
  const flags = view.getUint8(at + 2);
  at += 3;
  if (flags & 0x80) at += 2; // dependsOn_ES_ID
  if (flags & 0x40) at += 1 + view.getUint8(at); // URL
  if (flags & 0x20) at += 2; // OCR_ES_Id
  if (view.getUint8(at) !== 0x04) return null; // DecoderConfigDescriptor
  at = descriptorLength(view, at + 1).next;
  const objectType = view.getUint8(at);
  at += 13;
  if (at >= esds.end || view.getUint8(at) !== 0x05) return `mp4a.${hex2(objectType)}`;
  at = descriptorLength(view, at + 1).next;
  let audioObjectType = view.getUint8(at) >> 3;
  if (audioObjectType === 31)
    audioObjectType = 32 + (((view.getUint8(at) & 0x07) << 3) | (view.getUint8(at + 1) >> 5));
  return `mp4a.${hex2(objectType)}.${audioObjectType}`;
}

function sampleEntryCodecs(view: DataView, stsd: Box): string | null {
  const entry = boxes(view, stsd.body + 8, stsd.end)[0];
  if (!entry) return null;
  if (entry.type === "avc1" || entry.type === "avc3") {
    // VisualSampleEntry: 8 bytes of SampleEntry, 70 of picture fields, then its boxes.
    const avcC = boxes(view, entry.body + 78, entry.end).find((b) => b.type === "avcC");
    if (!avcC) return null;
    const [profile, compatibility, level] = [1, 2, 3].map((i) => view.getUint8(avcC.body + i));
    return `${entry.type}.${hex2(profile ?? 0)}${hex2(compatibility ?? 0)}${hex2(level ?? 0)}`;
  }
  if (entry.type === "mp4a") {
    // AudioSampleEntry: 8 bytes of SampleEntry, 20 of sound fields, then its boxes.
    const esds = boxes(view, entry.body + 28, entry.end).find((b) => b.type === "esds");
    return esds ? mp4aCodecs(view, esds) : "mp4a.40.2";
  }
  return null;
}

const viewOf = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** The one track of a CMAF init segment (ftyp + moov). */
export function readInit(bytes: Uint8Array): TrackInfo {
  const view = viewOf(bytes);
  const moov = boxes(view, 0, bytes.byteLength).find((b) => b.type === "moov");
  if (!moov) throw new Error("no moov box in the init segment");
  const trak = child(view, moov, "trak");
  const mdhd = trak && child(view, trak, "mdia", "mdhd");
  const hdlr = trak && child(view, trak, "mdia", "hdlr");
  if (!trak || !mdhd || !hdlr) throw new Error("the init segment has no complete track");
  const timescale = view.getUint32(mdhd.body + (view.getUint8(mdhd.body) === 1 ? 20 : 12));
  const handler = String.fromCharCode(...bytes.subarray(hdlr.body + 8, hdlr.body + 12));
  const stsd = child(view, trak, "mdia", "minf", "stbl", "stsd");
  const trex = child(view, moov, "mvex", "trex");
  return {
    timescale,
    handler,
    codecs: stsd ? sampleEntryCodecs(view, stsd) : null,
    defaultSampleDuration: trex ? view.getUint32(trex.body + 12) : 0,
  };
}

/** When a media segment's samples are presented (its first moof's one track run or runs). */
export function readFragment(bytes: Uint8Array, track: TrackInfo): FragmentTiming {
  const view = viewOf(bytes);
  const moof = boxes(view, 0, bytes.byteLength).find((b) => b.type === "moof");
  const traf = moof && child(view, moof, "traf");
  const tfhd = traf && child(view, traf, "tfhd");
  const tfdt = traf && child(view, traf, "tfdt");
  if (!traf || !tfhd || !tfdt) throw new Error("no complete moof box in the media segment");
  const tfhdFlags = view.getUint32(tfhd.body) & 0xffffff;
  let at = tfhd.body + 8;
  if (tfhdFlags & 0x01) at += 8; // base data offset
  if (tfhdFlags & 0x02) at += 4; // sample description index
  const defaultDuration = tfhdFlags & 0x08 ? view.getUint32(at) : track.defaultSampleDuration;
  const decodeTime =
    view.getUint8(tfdt.body) === 1 ? Number(view.getBigUint64(tfdt.body + 4)) : view.getUint32(tfdt.body + 4);
  let dts = decodeTime;
  let start = Number.POSITIVE_INFINITY;
  let end = Number.NEGATIVE_INFINITY;
  let samples = 0;
  for (const trun of boxes(view, traf.body, traf.end).filter((b) => b.type === "trun")) {
    const head = view.getUint32(trun.body);
    const version = head >>> 24;
    const flags = head & 0xffffff;
    const count = view.getUint32(trun.body + 4);
    let p = trun.body + 8;
    if (flags & 0x001) p += 4; // data offset
    if (flags & 0x004) p += 4; // first sample flags
    for (let i = 0; i < count; i++) {
      let duration = defaultDuration;
      let offset = 0;
      if (flags & 0x100) {
        duration = view.getUint32(p);
        p += 4;
      }
      if (flags & 0x200) p += 4; // size
      if (flags & 0x400) p += 4; // flags
      if (flags & 0x800) {
        offset = version === 0 ? view.getUint32(p) : view.getInt32(p);
        p += 4;
      }
      const pts = dts + offset;
      start = Math.min(start, pts);
      end = Math.max(end, pts + duration);
      dts += duration;
      samples++;
    }
  }
  if (samples === 0) throw new Error("the media segment holds no samples");
  return { start, end, samples };
}

/**
 * The timing of a media segment file, reading only its head: the moof comes first (after styp
 * and sidx), and a segment's media data can be megabytes that nothing here needs.
 */
export async function readFragmentFile(path: string, track: TrackInfo): Promise<FragmentTiming> {
  const file = await open(path, "r");
  try {
    const size = (await file.stat()).size;
    let length = Math.min(size, 64 * 1024);
    for (;;) {
      const bytes = new Uint8Array(length);
      const { bytesRead } = await file.read(bytes, 0, length, 0);
      const head = bytes.subarray(0, bytesRead);
      const moof = boxes(viewOf(head), 0, head.byteLength).find((b) => b.type === "moof");
      if (moof?.complete || length >= size) return readFragment(head, track);
      length = Math.min(size, length * 4);
    }
  } finally {
    await file.close();
  }
}
