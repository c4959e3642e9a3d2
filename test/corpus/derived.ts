/**
 * Corpus files made from real corpus files, for classes no Debian package ships as such. Each
 * recipe names its source and what it changes; the transformations are pinned (fixed commands,
 * fixed offsets, a fixed seed). Byte-level recipes are exact; encoding recipes use Debian 12's
 * ffmpeg CLI (a test-side tool only: the product never runs it) with bit-exact flags.
 */
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface DerivedFile {
  name: string;
  /** Corpus names of the inputs. */
  from: string[];
  /** What was done, in words (goes into the README's corpus table). */
  how: string;
  /** Bumped whenever the recipe changes, so cached copies are remade. */
  recipe: number;
  make(inputs: string[], out: string): Promise<void>;
}

const ff = (...args: string[]) =>
  run("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-threads", "1", ...args], {
    maxBuffer: 64 << 20,
  });
const bitexact = ["-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact"];

/** Writes a clockwise rotation into the first track's display matrix (tkhd), as a phone does. */
async function setMp4Rotation(path: string, degrees: 90 | 180 | 270): Promise<void> {
  const bytes = await readFile(path);
  const at = bytes.indexOf("tkhd");
  if (at < 0) throw new Error(`no tkhd box in ${path}`);
  const version = bytes[at + 4];
  const matrix = at + 4 + 4 + (version === 1 ? 32 : 20) + 8 + 8;
  const one = 0x10000;
  const values = { 90: [0, one, 0, -one, 0, 0], 180: [-one, 0, 0, 0, -one, 0], 270: [0, -one, 0, one, 0, 0] }[
    degrees
  ];
  for (const [i, v] of values.entries()) bytes.writeInt32BE(v, matrix + i * 4);
  await writeFile(path, bytes);
}

/** Ogg's page CRC: CRC-32, polynomial 0x04c11db7, no reflection, initial value 0. */
function oggCrc(page: Buffer): number {
  let crc = 0;
  for (const byte of page) {
    crc ^= byte << 24;
    for (let bit = 0; bit < 8; bit++)
      crc = crc & 0x80000000 ? ((crc << 1) ^ 0x04c11db7) >>> 0 : (crc << 1) >>> 0;
  }
  return crc >>> 0;
}

/**
 * Shifts the granule position of every Vorbis page in the second half of an Ogg file forward by
 * `seconds` (CRCs recomputed): audio packets whose timestamps jump far past the video, as buggy
 * Ogg writers leave them.
 */
async function bogusVorbisGranules(src: string, out: string, seconds: number): Promise<void> {
  const bytes = await readFile(src);
  let vorbisSerial: number | null = null;
  let rate = 0;
  for (let at = 0; at + 27 <= bytes.length; ) {
    if (bytes.toString("latin1", at, at + 4) !== "OggS") throw new Error(`not an Ogg page at ${at}`);
    const segments = bytes[at + 26] ?? 0;
    let size = 27 + segments;
    for (let i = 0; i < segments; i++) size += bytes[at + 27 + i] ?? 0;
    const serial = bytes.readUInt32LE(at + 14);
    const body = at + 27 + segments;
    if (vorbisSerial === null && bytes.toString("latin1", body, body + 7) === "\x01vorbis") {
      vorbisSerial = serial;
      rate = bytes.readUInt32LE(body + 12);
    }
    const granule = bytes.readBigInt64LE(at + 6);
    if (serial === vorbisSerial && at > bytes.length / 2 && granule > 0n) {
      bytes.writeBigInt64LE(granule + BigInt(Math.round(seconds * rate)), at + 6);
      bytes.writeUInt32LE(0, at + 22);
      bytes.writeUInt32LE(oggCrc(bytes.subarray(at, at + size)), at + 22);
    }
    at += size;
  }
  if (vorbisSerial === null) throw new Error(`no Vorbis stream in ${src}`);
  await writeFile(out, bytes);
}

/** Flips one bit in each of `count` bytes at offsets spread over [from, to) of the file (fixed seed). */
async function flipBits(src: string, out: string, count: number, from: number, to: number): Promise<void> {
  const bytes = await readFile(src);
  let seed = 0x2545f491;
  const random = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
  for (let i = 0; i < count; i++) {
    const at = Math.floor(bytes.length * (from + (to - from) * random()));
    bytes[at] = (bytes[at] ?? 0) ^ (1 << Math.floor(random() * 8));
  }
  await writeFile(out, bytes);
}

export const derivedFiles: DerivedFile[] = [
  {
    name: "phone-vfr-rotated.mp4",
    from: ["webm-vp8-vorbis.webm"],
    how:
      "re-encoded to H.264 High + AAC in MP4 with every 5th frame dropped and timestamps kept " +
      "(variable frame rate, -fps_mode vfr), then a 90° display matrix written into tkhd as phones do",
    recipe: 1,
    async make([src], out) {
      await ff(
        ...["-i", src ?? "", "-vf", "select='not(eq(mod(n\\,5)\\,3))'", "-fps_mode", "vfr"],
        ...["-c:v", "libx264", "-preset", "ultrafast", "-profile:v", "high", "-pix_fmt", "yuv420p"],
        ...["-c:a", "aac", "-b:a", "96k", ...bitexact, out],
      );
      await setMp4Rotation(out, 90);
    },
  },
  {
    name: "dvd-anamorphic-mp2.mpg",
    from: ["mpeg2-ps-odd-height.mpg", "music-allstars.ogg"],
    how:
      "the MPEG-2 clip scaled to 720x576 with a 16:9 display aspect (SAR 64:45, anamorphic PAL DVD), " +
      "with the first 7 s of the music as MP2 audio, in an MPEG-PS (VOB) stream",
    recipe: 1,
    async make([video, audio], out) {
      await ff(
        ...["-i", video ?? "", "-i", audio ?? "", "-map", "0:v", "-map", "1:a", "-t", "7"],
        ...["-vf", "scale=720:576,setsar=64/45", "-c:v", "mpeg2video", "-q:v", "4", "-g", "12", "-bf", "2"],
        ...["-c:a", "mp2", "-b:a", "192k", "-ar", "48000", ...bitexact, "-f", "vob", out],
      );
    },
  },
  {
    name: "h264-hi444-10bit.mkv",
    from: ["webm-vp8-vorbis.webm"],
    how: "re-encoded to H.264 High 4:4:4 Predictive, 10-bit 4:4:4 (yuv444p10le), Vorbis copied, in Matroska",
    recipe: 1,
    async make([src], out) {
      await ff(
        ...["-i", src ?? "", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv444p10le"],
        ...["-c:a", "copy", ...bitexact, out],
      );
    },
  },
  {
    name: "hevc-main10.mp4",
    from: ["webm-vp8-vorbis.webm"],
    how: "the first 4 s re-encoded to HEVC Main 10 (yuv420p10le, as phones record HDR) + AAC in MP4",
    recipe: 1,
    async make([src], out) {
      await ff(
        ...["-i", src ?? "", "-t", "4", "-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p10le"],
        ...[
          "-x265-params",
          "log-level=none",
          "-tag:v",
          "hvc1",
          "-c:a",
          "aac",
          "-b:a",
          "96k",
          ...bitexact,
          out,
        ],
      );
    },
  },
  {
    name: "vp9-alpha.webm",
    from: ["webm-vp8-vorbis.webm"],
    how: "the first 3 s re-encoded to VP9 with a half-transparent alpha plane (yuva420p) + Opus",
    recipe: 1,
    async make([src], out) {
      await ff(
        ...["-i", src ?? "", "-t", "3", "-vf", "format=rgba,colorchannelmixer=aa=0.5"],
        ...["-c:v", "libvpx-vp9", "-pix_fmt", "yuva420p", "-deadline", "realtime", "-cpu-used", "8"],
        ...["-b:v", "400k", "-c:a", "libopus", "-b:a", "64k", ...bitexact, out],
      );
    },
  },
  {
    name: "mp3-in-mp4.mp4",
    from: ["webm-vp8-vorbis.webm", "music-mastered.mp3"],
    how: "the clip's picture as H.264 with the music's MP3 frames copied as they are (MP3 inside MP4), 8 s",
    recipe: 1,
    async make([video, audio], out) {
      await ff(
        ...["-i", video ?? "", "-i", audio ?? "", "-map", "0:v", "-map", "1:a", "-t", "8"],
        ...["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "copy", ...bitexact, out],
      );
    },
  },
  {
    name: "mkv-no-cues.mkv",
    from: ["webm-vp8-vorbis.webm"],
    how: "remuxed (streams copied) into Matroska written to a pipe: no Cues (seek index) and no duration",
    recipe: 1,
    async make([src], out) {
      const { stdout } = await run(
        "ffmpeg",
        [
          "-hide_banner",
          "-loglevel",
          "error",
          "-i",
          src ?? "",
          "-c",
          "copy",
          ...bitexact,
          "-f",
          "matroska",
          "pipe:1",
        ],
        { encoding: "buffer", maxBuffer: 64 << 20 },
      );
      await writeFile(out, stdout);
    },
  },
  {
    name: "ogv-bogus-audio-ts.ogv",
    from: ["ogv-theora-vorbis.ogv"],
    how: "every Vorbis page in the second half of the file has its granule position moved 60 s ahead (CRCs fixed)",
    recipe: 1,
    make: ([src], out) => bogusVorbisGranules(src ?? "", out, 60),
  },
  {
    name: "mkv-three-audio-tracks.mkv",
    from: ["webm-vp8-vorbis.webm", "music-game-loud.ogg", "speech-apollo11.wav"],
    how:
      'the clip (VP8 + its Vorbis as eng "Original", default) with the loud game music\'s first 8 s as ' +
      'deu "Deutsch" and the 4.3 s Apollo 11 speech as eng "Commentary" (44.1 kHz mono PCM, shorter), all ' +
      "streams copied, in Matroska: three real tracks of different loudness, rates, layouts and lengths",
    recipe: 1,
    async make([clip, music, speech], out) {
      await ff(
        ...["-i", clip ?? "", "-t", "8", "-i", music ?? "", "-i", speech ?? ""],
        ...["-map", "0:v", "-map", "0:a", "-map", "1:a", "-map", "2:a", "-c", "copy"],
        ...["-metadata:s:a:0", "language=eng", "-metadata:s:a:0", "title=Original"],
        ...["-metadata:s:a:1", "language=deu", "-metadata:s:a:1", "title=Deutsch"],
        ...["-metadata:s:a:2", "language=eng", "-metadata:s:a:2", "title=Commentary"],
        ...["-disposition:a:0", "default", "-disposition:a:1", "0", "-disposition:a:2", "0"],
        ...bitexact,
        out,
      );
    },
  },
  {
    name: "mkv-two-angles.mkv",
    from: ["webm-vp8-vorbis.webm", "webm-screencast.webm"],
    how:
      'two real pictures as two video tracks (angles): the clip (640x360, eng "Angle 1", default) and the ' +
      "screencast's first 8 s (1024x768, deu \"Angle 2\"), with the clip's Vorbis, all streams copied, in Matroska",
    recipe: 1,
    async make([clip, screencast], out) {
      await ff(
        ...["-i", clip ?? "", "-t", "8", "-i", screencast ?? ""],
        ...["-map", "0:v", "-map", "1:v", "-map", "0:a", "-c", "copy"],
        ...["-metadata:s:v:0", "language=eng", "-metadata:s:v:0", "title=Angle 1"],
        ...["-metadata:s:v:1", "language=deu", "-metadata:s:v:1", "title=Angle 2"],
        ...["-disposition:v:0", "default", "-disposition:v:1", "0"],
        ...bitexact,
        out,
      );
    },
  },
  {
    name: "mkv-subrip-eng.mkv",
    from: ["webm-vp8-vorbis.webm", "subtitles.srt"],
    how:
      "the clip's streams copied into Matroska with the real SRT as a SubRip track tagged eng, moved " +
      "136 s earlier so its first two cues (0.612–3.376 s, 3.482–5.609 s) fall inside the clip; first 8 s",
    recipe: 1,
    make: ([video, srt], out) => withSubtitleTrack(video ?? "", srt ?? "", out, "srt", "matroska"),
  },
  {
    name: "mp4-mov-text-eng.mp4",
    from: ["mp3-in-mp4.mp4", "subtitles.srt"],
    how:
      "the H.264 + MP3 clip's streams copied with the real SRT as a 3GPP timed text (mov_text) track " +
      "tagged eng, moved 136 s earlier so its first two cues fall inside the clip; first 8 s",
    recipe: 1,
    make: ([video, srt], out) => withSubtitleTrack(video ?? "", srt ?? "", out, "mov_text", "mp4"),
  },
  {
    name: "webm-bitflips.webm",
    from: ["webm-vp8-vorbis.webm"],
    how: "one bit flipped in each of 40 bytes spread over 10–95 % of the file (fixed seed): damaged but decodable",
    recipe: 1,
    make: ([src], out) => flipBits(src ?? "", out, 40, 0.1, 0.95),
  },
];

/**
 * A clip's streams copied with the corpus's real SRT as a subtitle track (tagged eng) in the given
 * codec and container, the SRT moved 136 s earlier so its first cues fall inside the first 8 s.
 */
async function withSubtitleTrack(
  video: string,
  srt: string,
  out: string,
  codec: "srt" | "mov_text",
  container: "matroska" | "mp4",
): Promise<void> {
  await ff(
    ...["-i", video, "-itsoffset", "-136", "-i", srt, "-map", "0:v", "-map", "0:a", "-map", "1:s"],
    ...["-t", "8", "-c:v", "copy", "-c:a", "copy", "-c:s", codec, "-metadata:s:s:0", "language=eng"],
    ...[...bitexact, "-f", container, out],
  );
}
