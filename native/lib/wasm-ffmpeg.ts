/**
 * The FFmpeg-facing pieces of the wasm engine that need no worker: the argument list built from a
 * validated PlanOutput, ffprobe JSON read into MediaFacts, and `-progress` blocks turned into ticks.
 */
import {
  EngineError,
  type EngineProgress,
  type MediaFacts,
  type PlanOutput,
  type StreamFacts,
} from "./engine";

/** Fixed MEMFS names: user paths and strings never reach FFmpeg's argument list. */
export const MEMFS_OUTPUT = "/work/out.mp4";
export const MEMFS_PROBE = "/work/probe.json";

/** Input extensions passed through to MEMFS as a demuxer hint; anything else gets no extension. */
const INPUT_EXTENSIONS = new Set(
  "mp4 m4v m4a mov 3gp mkv webm avi ts mts m2ts flv mpg mpeg wmv mp3 aac wav flac ogg oga opus".split(" "),
);

export function memfsInputName(inputPath: string): string {
  const ext = /\.([A-Za-z0-9]{1,5})$/.exec(inputPath)?.[1]?.toLowerCase();
  return ext && INPUT_EXTENSIONS.has(ext) ? `/work/in.${ext}` : "/work/in";
}

const PRESETS = new Set([
  "ultrafast",
  "superfast",
  "veryfast",
  "faster",
  "fast",
  "medium",
  "slow",
  "slower",
  "veryslow",
]);

function unsupported(field: string, rule: string, value: unknown): EngineError {
  return new EngineError("UNSUPPORTED", `${field} must be ${rule}, got ${JSON.stringify(value)}`);
}

function checkInteger(field: string, value: unknown, min: number, max: number): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw unsupported(field, `an integer ${min}–${max}`, value);
  }
}

/**
 * Re-checks the fields that end up in FFmpeg's argument list. Plans are validated upstream; this is
 * the last line before a number becomes part of a filter string, so it trusts nothing.
 */
export function checkOutput(output: PlanOutput, field = "plan.outputs[0]"): void {
  if (output.container !== "mp4") throw unsupported(`${field}.container`, '"mp4"', output.container);
  if (output.video === null && output.audio === null) {
    throw new EngineError("UNSUPPORTED", `${field} drops both video and audio; there is nothing to write`);
  }
  const { video, audio } = output;
  if (video) {
    if (video.codec !== "h264") throw unsupported(`${field}.video.codec`, '"h264"', video.codec);
    checkInteger(`${field}.video.height`, video.height, 2, 8192);
    if (video.height % 2 !== 0) throw unsupported(`${field}.video.height`, "even", video.height);
    checkInteger(`${field}.video.crf`, video.crf, 0, 51);
    if (!PRESETS.has(video.preset))
      throw unsupported(`${field}.video.preset`, "an x264 preset", video.preset);
  }
  if (audio) {
    if (audio.codec !== "aac") throw unsupported(`${field}.audio.codec`, '"aac"', audio.codec);
    checkInteger(`${field}.audio.bitrateKbps`, audio.bitrateKbps, 8, 512);
  }
}

/** Seconds between `-progress` blocks: a few ticks per second. */
const STATS_PERIOD = "0.25";

/** Builds the argument list for one output. Every value comes from a field checkOutput accepted. */
export function transcodeArgs(output: PlanOutput, input: string): string[] {
  const args = ["-loglevel", "error", "-nostats", "-progress", "pipe:1", "-stats_period", STATS_PERIOD];
  args.push("-i", input);
  // `?` makes each map optional, so an input without audio (or video) still runs.
  if (output.video) args.push("-map", "0:v:0?");
  if (output.audio) args.push("-map", "0:a:0?");
  const { video, audio } = output;
  if (video) {
    const h = video.height;
    // Width from the display aspect ratio (`dar` includes the sample aspect ratio), rounded to even,
    // then square pixels — so anamorphic inputs come out at their displayed shape.
    args.push("-vf", `scale=w=2*round(${h}*dar/2):h=${h},setsar=1`);
    // yuv420p: high-bit-depth or 4:4:4 inputs would otherwise give H.264 profiles players reject.
    args.push("-c:v", "libx264", "-preset", video.preset, "-crf", String(video.crf), "-pix_fmt", "yuv420p");
  } else {
    args.push("-vn");
  }
  if (audio) args.push("-c:a", "aac", "-b:a", `${audio.bitrateKbps}k`);
  else args.push("-an");
  args.push("-movflags", "+faststart", "-f", "mp4", MEMFS_OUTPUT);
  return args;
}

export function probeArgs(input: string): string[] {
  const args = [
    "-loglevel",
    "error",
    "-print_format",
    "json",
    "-show_error",
    "-show_format",
    "-show_streams",
  ];
  return [...args, input, "-o", MEMFS_PROBE];
}

interface ProbeJson {
  error?: { code?: number; string?: string };
  format?: { format_name?: string; duration?: string; bit_rate?: string; size?: string };
  streams?: Array<Record<string, unknown>>;
}

function num(value: unknown): number | undefined {
  const n = typeof value === "string" ? Number.parseFloat(value) : value;
  return typeof n === "number" && Number.isFinite(n) ? n : undefined;
}

/** "30000/1001" → 29.97; "0/0" (no rate) → undefined. */
function rate(value: unknown): number | undefined {
  if (typeof value !== "string") return undefined;
  const [n, d] = value.split("/").map(Number);
  return n && d && Number.isFinite(n / d) ? n / d : undefined;
}

const STREAM_TYPES: Record<string, StreamFacts["type"]> = {
  video: "video",
  audio: "audio",
  subtitle: "subtitle",
  data: "data",
};

function streamFacts(s: Record<string, unknown>, index: number): StreamFacts {
  const facts: StreamFacts = {
    index: num(s.index) ?? index,
    type: STREAM_TYPES[String(s.codec_type)] ?? "other",
    codec: typeof s.codec_name === "string" ? s.codec_name : "unknown",
  };
  const optional: Partial<StreamFacts> = {
    width: num(s.width),
    height: num(s.height),
    fps: facts.type === "video" ? rate(s.avg_frame_rate) : undefined,
    sampleRate: num(s.sample_rate),
    channels: num(s.channels),
    bitRate: num(s.bit_rate),
    durationSec: num(s.duration),
  };
  for (const [key, value] of Object.entries(optional)) {
    if (value !== undefined) Object.assign(facts, { [key]: value });
  }
  return facts;
}

/**
 * Reads the JSON `ffprobe -show_error -show_format -show_streams` wrote (null: it wrote none) into
 * MediaFacts, or throws INPUT_UNREADABLE with FFmpeg's last log line as the detail.
 */
export function mediaFactsFromProbe(json: string | null, stderr: string[], sizeBytes: number): MediaFacts {
  const parsed = json ? (JSON.parse(json) as ProbeJson) : null;
  if (!parsed?.format || parsed.error) {
    const reason = parsed?.error?.string ?? "no probe result";
    throw new EngineError(
      "INPUT_UNREADABLE",
      `The input is not media FFmpeg can read (${reason})`,
      stderr.at(-1) ?? reason,
    );
  }
  const { format } = parsed;
  return {
    formatName: format.format_name ?? "unknown",
    durationSec: num(format.duration) ?? null,
    bitRate: num(format.bit_rate) ?? null,
    sizeBytes: num(format.size) ?? sizeBytes,
    streams: (parsed.streams ?? []).map(streamFacts),
  };
}

/**
 * Turns `-progress` blocks (frame=, out_time_us=, progress=continue|end) into EngineProgress ticks.
 * fps and speed are measured against wall time since the run started; percent never decreases.
 */
export function progressTracker(
  durationSec: number | null,
  emit: (progress: EngineProgress) => void,
  now: () => number = performance.now.bind(performance),
): (block: Record<string, string>) => void {
  const started = now();
  let percent = 0;
  return (block) => {
    const frames = Math.max(0, num(block.frame) ?? 0);
    // out_time_us is "N/A" before the first packet and can be negative with audio priming.
    const outTimeSec = Math.max(0, (num(block.out_time_us) ?? 0) / 1e6);
    const elapsed = Math.max(1e-3, (now() - started) / 1000);
    const speed = outTimeSec / elapsed;
    const known = durationSec !== null && durationSec > 0;
    if (known) {
      const reached = block.progress === "end" ? 100 : (outTimeSec / durationSec) * 100;
      percent = Math.max(percent, Math.min(100, reached));
    }
    const remaining = known ? Math.max(0, durationSec - outTimeSec) : 0;
    emit({
      frames,
      outTimeSec,
      durationSec: known ? durationSec : null,
      percent: known ? percent : null,
      fps: frames / elapsed,
      speed,
      etaSec: !known ? null : block.progress === "end" ? 0 : speed > 0 ? remaining / speed : null,
    });
  };
}

/** Encoder names from `ffmpeg -encoders` (" V....D libx264  libx264 H.264 ..."). */
export function parseEncoders(lines: string[]): string[] {
  const names: string[] = [];
  for (const line of lines) {
    const match = /^\s*[VAS][.A-Z]{5}\s+([\w-]+)\s/.exec(line);
    if (match?.[1]) names.push(match[1]);
  }
  return names;
}

/** "ffmpeg version 5.1.4 Copyright ..." → "5.1.4". */
export function parseVersion(lines: string[]): string {
  for (const line of lines) {
    const match = /^ffmpeg version (\S+)/.exec(line);
    if (match?.[1]) return match[1];
  }
  return "unknown";
}
