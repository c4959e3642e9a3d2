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

// ---- ground truth for the analyses: signals whose tempo, key, cuts, silences and loud moments are known ----

/** Writes mono 16-bit PCM WAV from samples in −1..1 (clipped). */
export async function writeWav(path: string, samples: Float32Array, sampleRate = 44100): Promise<string> {
  const bytes = Buffer.alloc(44 + samples.length * 2);
  bytes.write("RIFF", 0, "latin1");
  bytes.writeUInt32LE(36 + samples.length * 2, 4);
  bytes.write("WAVEfmt ", 8, "latin1");
  bytes.writeUInt32LE(16, 16);
  bytes.writeUInt16LE(1, 20);
  bytes.writeUInt16LE(1, 22);
  bytes.writeUInt32LE(sampleRate, 24);
  bytes.writeUInt32LE(sampleRate * 2, 28);
  bytes.writeUInt16LE(2, 32);
  bytes.writeUInt16LE(16, 34);
  bytes.write("data", 36, "latin1");
  bytes.writeUInt32LE(samples.length * 2, 40);
  for (let i = 0; i < samples.length; i++) {
    const v = Math.max(-1, Math.min(1, samples[i] ?? 0));
    bytes.writeInt16LE(Math.round(v * 32767), 44 + i * 2);
  }
  await writeFile(path, bytes);
  return path;
}

/** A deterministic pseudo-random source (noise bursts that reproduce). */
function noise(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  };
}

export interface BeatOptions {
  bpm: number;
  seconds: number;
  /** Silence before the first beat, seconds. */
  leadSilenceSec?: number;
  sampleRate?: number;
}

/** The beat times a click track or drum loop puts its downbeats (quarter notes) on. */
export function beatTimes(o: BeatOptions): number[] {
  const lead = o.leadSilenceSec ?? 0;
  const times: number[] = [];
  for (let t = lead; t < o.seconds - 0.05; t += 60 / o.bpm) times.push(t);
  return times;
}

/** A metronome: a 20 ms 1 kHz click (decaying) on every beat, louder on the first of each bar. */
export async function makeClickTrack(path: string, o: BeatOptions): Promise<string> {
  const rate = o.sampleRate ?? 44100;
  const out = new Float32Array(Math.round(o.seconds * rate));
  beatTimes(o).forEach((t, i) => {
    const start = Math.round(t * rate);
    const gain = i % 4 === 0 ? 0.8 : 0.5;
    const freq = i % 4 === 0 ? 1500 : 1000;
    for (let n = 0; n < 0.02 * rate && start + n < out.length; n++) {
      out[start + n] = gain * Math.sin((2 * Math.PI * freq * n) / rate) * Math.exp(-n / (0.004 * rate));
    }
  });
  return writeWav(path, out, rate);
}

/**
 * A drum loop: kick on beats 1 and 3, snare on 2 and 4, closed hi-hat on every eighth (softer on
 * the off-beats); with `swing` the off-beat eighths move to two thirds of the beat.
 */
export async function makeDrumLoop(path: string, o: BeatOptions & { swing?: boolean }): Promise<string> {
  const rate = o.sampleRate ?? 44100;
  const out = new Float32Array(Math.round(o.seconds * rate));
  const random = noise(12345);
  const add = (at: number, length: number, sample: (n: number) => number) => {
    const start = Math.round(at * rate);
    for (let n = 0; n < length * rate && start + n < out.length; n++)
      out[start + n] = (out[start + n] ?? 0) + sample(n);
  };
  const beat = 60 / o.bpm;
  beatTimes(o).forEach((t, i) => {
    if (i % 2 === 0) {
      // Kick: a sine falling from 150 to 50 Hz.
      let phase = 0;
      add(t, 0.25, (n) => {
        const f = 50 + 100 * Math.exp(-n / (0.03 * rate));
        phase += (2 * Math.PI * f) / rate;
        return 0.9 * Math.sin(phase) * Math.exp(-n / (0.08 * rate));
      });
    } else {
      // Snare: noise and a 190 Hz body.
      add(
        t,
        0.18,
        (n) =>
          (0.5 * random() + 0.3 * Math.sin((2 * Math.PI * 190 * n) / rate)) * Math.exp(-n / (0.04 * rate)),
      );
    }
    const offbeat = t + (o.swing ? (2 / 3) * beat : beat / 2);
    for (const [at, gain] of [
      [t, 0.25],
      [offbeat, 0.15],
    ] as const) {
      // Closed hat: differentiated noise (bright), 30 ms.
      let last = 0;
      add(at, 0.03, (n) => {
        const v = random();
        const hp = v - last;
        last = v;
        return gain * hp * Math.exp(-n / (0.008 * rate));
      });
    }
  });
  return writeWav(path, out, rate);
}

/** MIDI note number to Hz (A4 = 69 = 440 Hz). */
const hz = (note: number) => 440 * 2 ** ((note - 69) / 12);

/** Notes as sums of sines (a fundamental and two softer harmonics), each with a short attack and release. */
export async function makeNotes(
  path: string,
  events: { notes: number[]; seconds: number }[],
  sampleRate = 22050,
): Promise<string> {
  const total = events.reduce((s, e) => s + e.seconds, 0);
  const out = new Float32Array(Math.round(total * sampleRate));
  let at = 0;
  for (const e of events) {
    const start = Math.round(at * sampleRate);
    const length = Math.round(e.seconds * sampleRate);
    for (let n = 0; n < length; n++) {
      const t = n / sampleRate;
      const envelope = Math.min(1, t / 0.02, (e.seconds - t) / 0.05);
      let v = 0;
      for (const note of e.notes) {
        const f = hz(note);
        v +=
          Math.sin(2 * Math.PI * f * t) +
          0.4 * Math.sin(4 * Math.PI * f * t) +
          0.2 * Math.sin(6 * Math.PI * f * t);
      }
      out[start + n] = (0.25 * envelope * v) / Math.max(1, e.notes.length);
    }
    at += e.seconds;
  }
  return writeWav(path, out, sampleRate);
}

/**
 * A cadence in a key: I–IV–V–I (major) or i–iv–V–i with the raised leading tone (harmonic minor),
 * twice, each chord over its root in the bass; tonic 60 = C4.
 */
export function cadence(tonic: number, minor: boolean): { notes: number[]; seconds: number }[] {
  const third = minor ? 3 : 4;
  const chord = (root: number, quality: number) => [root - 12, root, root + quality, root + 7];
  const i = chord(tonic, third);
  const iv = chord(tonic + 5, minor ? 3 : 4);
  const v = chord(tonic + 7, 4); // major dominant in both modes
  return [i, iv, v, i, i, iv, v, i].map((notes, k) => ({ notes, seconds: k === 7 ? 2 : 1 }));
}

/** A scale up and down an octave from the tonic (minor: harmonic), tonic held at both ends. */
export function scale(tonic: number, minor: boolean): { notes: number[]; seconds: number }[] {
  const steps = minor ? [0, 2, 3, 5, 7, 8, 11, 12] : [0, 2, 4, 5, 7, 9, 11, 12];
  const up = steps.map((s) => tonic + s);
  const melody = [...up, ...up.slice(0, -1).reverse()];
  return melody.map((note, k) => ({
    notes: [note, tonic - 12],
    seconds: k === 0 || k === melody.length - 1 ? 1.5 : 0.5,
  }));
}

/**
 * A video of different lavfi sources cut together at known frames (25 fps), each with its own
 * tone; the cut times are the sums of the segment lengths.
 */
export async function makeCutsClip(
  path: string,
  segments: {
    source: "testsrc2" | "smptebars" | "mandelbrot" | "rgbtestsrc" | "black" | "life";
    frames: number;
  }[],
  options: { width?: number; height?: number } = {},
): Promise<{ path: string; cutsSec: number[] }> {
  const { width = 320, height = 180 } = options;
  const filters: string[] = [];
  segments.forEach((s, i) => {
    const d = (s.frames / 25).toFixed(3);
    const size = `s=${width}x${height}`;
    const src =
      s.source === "black"
        ? `color=c=black:${size}:r=25:d=${d}`
        : s.source === "life"
          ? `life=${size}:r=25:mold=10:ratio=0.5:death_color=#203040,trim=duration=${d}`
          : s.source === "mandelbrot"
            ? `mandelbrot=${size}:r=25,trim=duration=${d}`
            : `${s.source}=${size}:r=25:d=${d}`;
    filters.push(`${src},format=yuv420p,setsar=1[v${i}]`);
  });
  filters.push(`${segments.map((_, i) => `[v${i}]`).join("")}concat=n=${segments.length}:v=1:a=0[v]`);
  await run("ffmpeg", [
    ...["-hide_banner", "-loglevel", "error", "-y", "-filter_complex", filters.join(";"), "-map", "[v]"],
    ...["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "250", path],
  ]);
  const cutsSec: number[] = [];
  let frames = 0;
  for (const s of segments.slice(0, -1)) {
    frames += s.frames;
    cutsSec.push(frames / 25);
  }
  return { path, cutsSec };
}

/**
 * A long, mostly dull video for highlights: a still picture with a quiet murmur (pink noise at
 * −45 dBFS), cut to other stills now and then, with three moments that are loud (−10 dBFS), full
 * of motion and start on a cut; plus two decoys that have only one of those (motion in silence,
 * loudness over a still). Returns the moments' [start, end] seconds.
 */
export async function makeHighlightsClip(
  path: string,
  options: { seconds?: number; moments?: number[]; momentSec?: number } = {},
): Promise<{ path: string; moments: [number, number][] }> {
  const { seconds = 180, moments = [30, 95, 150], momentSec = 6 } = options;
  const decoys = { motion: 62, loud: 122 };
  type Segment = { start: number; end: number; kind: "dull" | "moment" | "motion" | "loud" };
  const marks: Segment[] = [
    ...moments.map((m) => ({ start: m, end: m + momentSec, kind: "moment" as const })),
    { start: decoys.motion, end: decoys.motion + momentSec, kind: "motion" as const },
    { start: decoys.loud, end: decoys.loud + momentSec, kind: "loud" as const },
  ].sort((a, b) => a.start - b.start);
  const segments: Segment[] = [];
  let at = 0;
  for (const m of marks) {
    // Dull stretches are cut every 20 s, so a cut alone makes no highlight.
    while (at < m.start) {
      const end = Math.min(m.start, at + 20);
      segments.push({ start: at, end, kind: "dull" });
      at = end;
    }
    segments.push(m);
    at = m.end;
  }
  while (at < seconds) {
    const end = Math.min(seconds, at + 20);
    segments.push({ start: at, end, kind: "dull" });
    at = end;
  }
  const stills = ["smptebars", "pal75bars", "smptehdbars", "pal100bars"];
  const filters: string[] = [];
  segments.forEach((s, i) => {
    const d = (s.end - s.start).toFixed(3);
    const moving = s.kind === "moment" || s.kind === "motion";
    const picture = moving
      ? `testsrc2=s=160x90:r=25:d=${d}`
      : `${stills[i % stills.length]}=s=160x90:r=25:d=${d}`;
    const loud = s.kind === "moment" || s.kind === "loud";
    const sound = `anoisesrc=d=${d}:c=pink:r=44100:a=${loud ? 0.45 : 0.008}:seed=${i + 1}`;
    filters.push(`${picture},format=yuv420p,setsar=1[v${i}]`, `${sound}[a${i}]`);
  });
  filters.push(
    `${segments.map((_, i) => `[v${i}][a${i}]`).join("")}concat=n=${segments.length}:v=1:a=1[v][a]`,
  );
  await run("ffmpeg", [
    ...[
      "-hide_banner",
      "-loglevel",
      "error",
      "-y",
      "-filter_complex",
      filters.join(";"),
      "-map",
      "[v]",
      "-map",
      "[a]",
    ],
    ...["-c:v", "libx264", "-preset", "ultrafast", "-g", "250", "-c:a", "aac", "-b:a", "64k", path],
  ]);
  return { path, moments: moments.map((m) => [m, m + momentSec]) };
}

/** Speech from espeak-ng (Debian's `espeak-ng`): words with the pauses of spoken text. */
export async function makeSpeech(path: string, text: string): Promise<string> {
  await run("espeak-ng", ["-w", path, text]);
  return path;
}

/**
 * A clip with silences, black and frozen picture at known places (25 fps, lossless H.264 and PCM
 * in Matroska, so no encoder smears an edge): picture testsrc2 0–2, black 2–3.2, testsrc2 3.2–5,
 * still bars 5–7, testsrc2 7–8; sound a tone with silences at 1.5–2.6 and 6–6.8.
 */
export async function makeIntervalsClip(path: string): Promise<{
  path: string;
  black: [number, number][];
  freeze: [number, number][];
  silence: [number, number][];
}> {
  const video = [
    ["testsrc2=s=160x90:r=25:d=2", 2],
    ["color=c=black:s=160x90:r=25:d=1.2", 1.2],
    ["testsrc2=s=160x90:r=25:d=1.8", 1.8],
    ["smptebars=s=160x90:r=25:d=2", 2],
    ["testsrc2=s=160x90:r=25:d=1", 1],
  ] as const;
  const audio = [
    ["sine=f=440:r=48000:d=1.5", 1.5],
    ["anullsrc=r=48000:cl=mono:d=1.1", 1.1],
    ["sine=f=660:r=48000:d=3.4", 3.4],
    ["anullsrc=r=48000:cl=mono:d=0.8", 0.8],
    ["sine=f=550:r=48000:d=1.2", 1.2],
  ] as const;
  const filters = [
    ...video.map(([src], i) => `${src},format=yuv420p,setsar=1[v${i}]`),
    `${video.map((_, i) => `[v${i}]`).join("")}concat=n=${video.length}:v=1:a=0[v]`,
    ...audio.map(([src], i) => `${src},aformat=channel_layouts=mono[a${i}]`),
    `${audio.map((_, i) => `[a${i}]`).join("")}concat=n=${audio.length}:v=0:a=1[a]`,
  ];
  await run("ffmpeg", [
    ...["-hide_banner", "-loglevel", "error", "-y", "-filter_complex", filters.join(";")],
    ...["-map", "[v]", "-map", "[a]", "-c:v", "libx264", "-qp", "0", "-preset", "ultrafast"],
    ...["-c:a", "pcm_s16le", path],
  ]);
  return {
    path,
    black: [[2, 3.2]],
    // Black is a frozen picture too.
    freeze: [
      [2, 3.2],
      [5, 7],
    ],
    silence: [
      [1.5, 2.6],
      [6, 6.8],
    ],
  };
}

// ---- peer tools, run the way their users run them (test-side only) ----

/** fpcalc's fingerprint of a file (Debian's libchromaprint-tools), or null when it prints none. */
export async function fpcalc(path: string, raw = false): Promise<string | null> {
  // Debian's fpcalc 1.5.1 ends every file with "Error decoding audio frame (End of file)" and a
  // non-zero status, after printing its result.
  const stdout = await run("fpcalc", raw ? ["-raw", path] : [path]).then(
    (r) => r.stdout,
    (e: { stdout?: string }) => e.stdout ?? "",
  );
  return /FINGERPRINT=(\S+)/.exec(stdout)?.[1] ?? null;
}

/** aubio's tempo of a file (Debian's aubio-tools), beats per minute. */
export async function aubioTempo(path: string): Promise<number> {
  const { stdout } = await run("aubio", ["tempo", "-i", path]);
  const bpm = Number.parseFloat(/([\d.]+) bpm/.exec(stdout)?.[1] ?? "");
  if (!Number.isFinite(bpm)) throw new Error(`aubio tempo printed no tempo for ${path}: ${stdout}`);
  return bpm;
}

/** aubio's beat times (`aubio beat`), seconds. */
export async function aubioBeats(path: string): Promise<number[]> {
  const { stdout } = await run("aubio", ["beat", "-i", path], { maxBuffer: 16 << 20 });
  return stdout
    .split("\n")
    .map((line) => Number.parseFloat(line))
    .filter(Number.isFinite);
}

/**
 * EBU R128 as the ffmpeg CLI's ebur128 filter measures it, at full precision (the frame metadata,
 * not the rounded summary): integrated loudness, loudness range, highest true peak (dBTP).
 */
export async function ebur128Cli(
  path: string,
): Promise<{ integrated: number; range: number; truePeak: number }> {
  const { stdout } = await run(
    "ffmpeg",
    [
      ...["-hide_banner", "-nostats", "-loglevel", "error", "-i", path, "-vn", "-sn"],
      ...["-af", "ebur128=metadata=1:peak=true,ametadata=mode=print:file=-", "-f", "null", "-"],
    ],
    { maxBuffer: 256 << 20 },
  );
  let integrated = Number.NaN;
  let range = Number.NaN;
  let peak = 0;
  for (const line of stdout.split("\n")) {
    const [key, value] = line.split("=");
    const v = Number.parseFloat(value ?? "");
    if (key === "lavfi.r128.I") integrated = v;
    else if (key === "lavfi.r128.LRA") range = v;
    else if (key === "lavfi.r128.true_peak" && v > peak) peak = v;
  }
  return { integrated, range, truePeak: 20 * Math.log10(peak) };
}

/** Times the ffmpeg CLI's own filter reports (test-side peer): scdet cuts, silencedetect/blackdetect spans. */
export async function cliFilterFindings(
  path: string,
  filter: "scdet" | "silencedetect" | "blackdetect",
  options: string,
): Promise<{ cuts: number[]; spans: [number, number][] }> {
  const audio = filter === "silencedetect";
  const { stderr } = await run("ffmpeg", [
    ...["-hide_banner", "-nostats", "-loglevel", "info", "-i", path, audio ? "-vn" : "-an", "-sn"],
    ...[audio ? "-af" : "-vf", `${filter}=${options}`, "-f", "null", "-"],
  ]);
  const cuts = [...stderr.matchAll(/lavfi\.scd\.time: ([\d.]+)/g)].map((m) => Number(m[1]));
  const spans: [number, number][] = [];
  for (const m of stderr.matchAll(/black_start:([\d.]+) black_end:([\d.]+)/g))
    spans.push([Number(m[1]), Number(m[2])]);
  const starts = [...stderr.matchAll(/silence_start: (-?[\d.]+)/g)].map((m) => Number(m[1]));
  const ends = [...stderr.matchAll(/silence_end: ([\d.]+)/g)].map((m) => Number(m[1]));
  starts.forEach((s, i) => {
    spans.push([Math.max(0, s), ends[i] ?? Number.NaN]);
  });
  return { cuts, spans };
}

/** One audio track of a multi-track fixture: a sine tone at a level, tagged with a language. */
export interface ToneTrack {
  language: string;
  frequency: number;
  /** Sine amplitude 0–1. */
  amplitude: number;
  title?: string;
  channels?: 1 | 2;
  /** Default 48000. */
  sampleRate?: number;
  /** The track starts this late on the container's timeline (-itsoffset), and lasts as much less. */
  startSec?: number;
}

/**
 * A video (testsrc2) with several audio tracks, each its own tone and level, tagged with its
 * language (and title); the first track is the default one. MP4 (AAC) or Matroska by extension.
 */
export async function makeMultiTrackClip(
  path: string,
  tracks: ToneTrack[],
  options: { seconds?: number; width?: number; height?: number } = {},
): Promise<string> {
  const { seconds = 3, width = 320, height = 180 } = options;
  const args = ["-hide_banner", "-loglevel", "error", "-y"];
  args.push("-f", "lavfi", "-i", `testsrc2=size=${width}x${height}:rate=25:duration=${seconds}`);
  for (const t of tracks) {
    const tone = `${t.amplitude}*sin(2*PI*${t.frequency}*t)`;
    const layout = t.channels === 2 ? `${tone}|${tone}` : tone;
    const start = t.startSec ?? 0;
    if (start > 0) args.push("-itsoffset", String(start));
    args.push("-f", "lavfi", "-i", `aevalsrc=${layout}:s=${t.sampleRate ?? 48000}:d=${seconds - start}`);
  }
  args.push("-map", "0:v");
  for (const [i] of tracks.entries()) args.push("-map", `${i + 1}:a`);
  args.push("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k");
  for (const [i, t] of tracks.entries()) {
    args.push(`-metadata:s:a:${i}`, `language=${t.language}`);
    if (t.title) args.push(`-metadata:s:a:${i}`, `title=${t.title}`);
    args.push(`-disposition:a:${i}`, i === 0 ? "default" : "0");
  }
  args.push(path);
  await run("ffmpeg", args);
  return path;
}

/**
 * A video with several video tracks (angles), each a flat colour for the whole clip (so a picture
 * tells which angle it came from), tagged with its language, plus a cover art picture (an attached
 * picture, which is not a video track), and one audio tone.
 */
export async function makeMultiAngleClip(
  path: string,
  angles: { language: string; color: string; title?: string }[],
  options: { seconds?: number } = {},
): Promise<string> {
  const { seconds = 3 } = options;
  const args = ["-hide_banner", "-loglevel", "error", "-y"];
  for (const a of angles)
    args.push("-f", "lavfi", "-i", `color=c=${a.color}:size=320x180:rate=25:duration=${seconds}`);
  args.push("-f", "lavfi", "-i", `sine=frequency=440:sample_rate=48000:duration=${seconds}`);
  // The cover art mapped first among the video streams (MP4 files list it last when read back):
  // it must not count as an angle either way.
  const coverPath = `${path}.cover.png`;
  await run("ffmpeg", [
    "-v",
    "error",
    "-y",
    "-f",
    "lavfi",
    "-i",
    "color=c=yellow:size=64x64",
    "-frames:v",
    "1",
    coverPath,
  ]);
  args.push("-i", coverPath, "-map", `${angles.length + 1}:v`);
  for (const [i] of angles.entries()) args.push("-map", `${i}:v`);
  args.push("-map", `${angles.length}:a`);
  args.push("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:v:0", "png");
  args.push("-disposition:v:0", "attached_pic", "-c:a", "aac", "-b:a", "96k");
  for (const [i, a] of angles.entries()) {
    args.push(`-metadata:s:v:${i + 1}`, `language=${a.language}`);
    if (a.title) args.push(`-metadata:s:v:${i + 1}`, `title=${a.title}`);
    args.push(`-disposition:v:${i + 1}`, i === 0 ? "default" : "0");
  }
  args.push(path);
  await run("ffmpeg", args);
  return path;
}

/**
 * The level (dBFS RMS) of each of `frequencies` in a file's audio stream `stream` (ffmpeg's a:N),
 * first channel, from `fromSec` for `seconds`, by the Goertzel algorithm: tells the tones of a mix
 * apart where zero crossings cannot. Exact for tones with whole cycles in the window.
 */
export async function measureToneLevels(
  path: string,
  frequencies: number[],
  options: { stream?: number; fromSec?: number; seconds?: number } = {},
): Promise<number[]> {
  const { stream = 0, fromSec = 1, seconds = 1 } = options;
  const rate = 48000;
  const { stdout } = await run(
    "ffmpeg",
    [
      ...["-v", "error", "-ss", String(fromSec), "-t", String(seconds), "-i", path],
      ...["-map", `0:a:${stream}`, "-af", "pan=mono|c0=c0", "-ar", String(rate), "-f", "f32le", "-"],
    ],
    { encoding: "buffer", maxBuffer: 1 << 28 },
  );
  const samples = new Float32Array(stdout.buffer, stdout.byteOffset, Math.floor(stdout.length / 4));
  return frequencies.map((hz) => {
    const k = (2 * Math.cos((2 * Math.PI * hz) / rate)) as number;
    let s1 = 0;
    let s2 = 0;
    for (const x of samples) {
      const s0 = x + k * s1 - s2;
      s2 = s1;
      s1 = s0;
    }
    const power = s1 * s1 + s2 * s2 - k * s1 * s2;
    const amplitude = (2 * Math.sqrt(Math.max(power, 0))) / Math.max(1, samples.length);
    return 20 * Math.log10(Math.max(amplitude, 1e-9) / Math.SQRT2);
  });
}

/**
 * The dominant frequency (Hz, by zero crossings) and RMS level (dBFS) of a file's audio stream
 * `stream` (ffmpeg's a:N, default the first), from `fromSec` for `seconds`, its first channel.
 */
export async function measureTone(
  path: string,
  options: { stream?: number; fromSec?: number; seconds?: number } = {},
): Promise<{ frequencyHz: number; rmsDb: number }> {
  const { stream = 0, fromSec = 0.5, seconds = 1.5 } = options;
  const { stdout } = await run(
    "ffmpeg",
    [
      ...["-v", "error", "-ss", String(fromSec), "-t", String(seconds), "-i", path],
      ...["-map", `0:a:${stream}`, "-af", "pan=mono|c0=c0", "-ar", "48000", "-f", "f32le", "-"],
    ],
    { encoding: "buffer", maxBuffer: 1 << 28 },
  );
  const samples = new Float32Array(stdout.buffer, stdout.byteOffset, Math.floor(stdout.length / 4));
  let crossings = 0;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i] ?? 0;
    sum += s * s;
    if (i > 0 && (samples[i - 1] ?? 0) < 0 && s >= 0) crossings++;
  }
  const duration = samples.length / 48000;
  return { frequencyHz: crossings / duration, rmsDb: 10 * Math.log10(sum / Math.max(1, samples.length)) };
}

/** The raw pixels (gray or rgb24, the file's own size) of the frame shown at `sec` (test-side ffmpeg). */
export async function rawFrame(path: string, sec: number, pixFmt: "gray" | "rgb24"): Promise<Buffer> {
  const { stdout } = await run(
    "ffmpeg",
    [
      "-v",
      "error",
      "-ss",
      String(sec),
      "-i",
      path,
      "-frames:v",
      "1",
      "-f",
      "rawvideo",
      "-pix_fmt",
      pixFmt,
      "-",
    ],
    { encoding: "buffer", maxBuffer: 64 << 20 },
  );
  return stdout;
}
