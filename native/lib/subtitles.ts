/**
 * Subtitle files (SRT and WebVTT): read strictly into cues, and written back out in the forms the
 * engines need (an ASS script for burning, the payload of each track codec, WebVTT). Nothing the
 * client wrote reaches a renderer or muxer as markup: cue text is parsed into runs of plain text
 * with italic/bold/underline, and every writer escapes what its format would read as markup.
 *
 * A malformed file is refused with the line that breaks it (SubtitleParseError), which the engines
 * turn into INPUT_UNREADABLE: "subtitles 'en', line 14: expected a timing line like …".
 */
import {
  type FontName,
  type SubtitlePosition,
  subtitleLimits,
  unrenderableText,
} from "@framewire/shared/media";

/** A stretch of cue text in one style. `text` may hold "\n" (a line break). */
export interface CueRun {
  text: string;
  italic: boolean;
  bold: boolean;
  underline: boolean;
}

export interface Cue {
  startSec: number;
  endSec: number;
  runs: CueRun[];
  /** The line of its timing line in the file (1-based), for messages. */
  line: number;
}

export interface ParsedSubtitles {
  format: "srt" | "vtt";
  cues: Cue[];
}

export class SubtitleParseError extends Error {
  override readonly name = "SubtitleParseError";
  constructor(
    /** 1-based line of the file; 0 when the problem is the whole file. */
    readonly line: number,
    readonly reason: string,
  ) {
    super(line > 0 ? `line ${line}: ${reason}` : reason);
  }
}

// ---- reading --------------------------------------------------------------------------------------

/** The file's text: UTF-8 (with or without a BOM) or UTF-16 with a BOM; anything else names the line. */
function decode(bytes: Uint8Array): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder("utf-16le").decode(bytes.subarray(2));
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder("utf-16be").decode(bytes.subarray(2));
  const body = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes;
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  try {
    return utf8.decode(body);
  } catch {
    // Which line holds the bytes that are not UTF-8.
    let line = 1;
    let start = 0;
    for (let i = 0; i <= body.length; i++) {
      if (i < body.length && body[i] !== 0x0a) continue;
      try {
        utf8.decode(body.subarray(start, i));
      } catch {
        throw new SubtitleParseError(line, "is not UTF-8 text; save the file as UTF-8");
      }
      line++;
      start = i + 1;
    }
    throw new SubtitleParseError(0, "the file is not UTF-8 text; save it as UTF-8");
  }
}

const TIME = String.raw`(?:(\d{1,3}):)?(\d{1,2}):(\d{1,2})[,.](\d{1,3})`;
const TIMING = new RegExp(String.raw`^\s*${TIME}\s*-->\s*${TIME}(?:[ \t]+(.*))?\s*$`);

function seconds(m: RegExpExecArray, at: number, line: number): number {
  const h = Number(m[at] ?? 0);
  const min = Number(m[at + 1]);
  const sec = Number(m[at + 2]);
  const fraction = m[at + 3] ?? "0";
  if (min > 59 || sec > 59) {
    const text = `${m[at] !== undefined ? `${m[at]}:` : ""}${m[at + 1]}:${m[at + 2]}.${fraction}`;
    throw new SubtitleParseError(line, `${text} is not a time (minutes and seconds run to 59)`);
  }
  return h * 3600 + min * 60 + sec + Number(`0.${fraction}`);
}

const clock = (sec: number, separator: "," | ".") => {
  const ms = Math.round(sec * 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${pad(Math.floor(ms / 3_600_000))}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}${separator}${pad(ms % 1000, 3)}`;
};

interface Timing {
  start: number;
  end: number;
}

function timing(text: string, line: number): Timing | null {
  const m = TIMING.exec(text);
  if (!m) return null;
  const start = seconds(m, 1, line);
  const end = seconds(m, 5, line);
  if (end < start)
    throw new SubtitleParseError(
      line,
      `the cue ends (${clock(end, ",")}) before it starts (${clock(start, ",")})`,
    );
  return { start, end };
}

const ENTITIES: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  nbsp: "\u00a0",
  lrm: "\u200e",
  rlm: "\u200f",
  quot: '"',
  apos: "'",
};

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z]{2,8});/gi, (whole, name: string) => {
    if (name.startsWith("#")) {
      const code =
        name[1] === "x" || name[1] === "X" ? Number.parseInt(name.slice(2), 16) : Number(name.slice(1));
      return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff)
        ? String.fromCodePoint(code)
        : whole;
    }
    return ENTITIES[name.toLowerCase()] ?? whole;
  });
}

/** Control characters other than line breaks and tabs are dropped; a tab is a space. */
const clean = (text: string) =>
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
  text.replace(/\t/g, " ").replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, "");

/**
 * Cue text into styled runs. Tags: <i>, <b>, <u> (both formats); SRT's <font …> and <s> and
 * WebVTT's <c…>, <v …>, <lang …>, <ruby> and timestamps are dropped with their markup only
 * (WebVTT's <rt> annotation with its text). `{\…}` override blocks in SRT (as some editors write)
 * are dropped. WebVTT's character references are decoded.
 */
function parseRuns(lines: string[], format: "srt" | "vtt"): CueRun[] {
  const runs: CueRun[] = [];
  const style = { italic: 0, bold: 0, underline: 0 };
  let inRt = 0;
  const push = (text: string) => {
    if (!text || inRt > 0) return;
    const decoded = format === "vtt" ? decodeEntities(text) : text;
    const run = { italic: style.italic > 0, bold: style.bold > 0, underline: style.underline > 0 };
    const last = runs.at(-1);
    if (last && last.italic === run.italic && last.bold === run.bold && last.underline === run.underline)
      last.text += decoded;
    else runs.push({ text: decoded, ...run });
  };
  const tag =
    format === "vtt"
      ? /<(\/?)([a-z]+|\d[\d:.]*)(?:[.\s][^>]*)?>/gi
      : /<(\/?)(i|b|u|s|font)(?:\s[^>]*)?>|\{\\[^}]*\}/gi;
  const text = clean(lines.join("\n"));
  let at = 0;
  for (const m of text.matchAll(tag)) {
    push(text.slice(at, m.index));
    at = m.index + m[0].length;
    const name = (m[2] ?? "").toLowerCase();
    const delta = m[1] === "/" ? -1 : 1;
    if (name === "i") style.italic = Math.max(0, style.italic + delta);
    else if (name === "b") style.bold = Math.max(0, style.bold + delta);
    else if (name === "u") style.underline = Math.max(0, style.underline + delta);
    else if (name === "rt") inRt = Math.max(0, inRt + delta);
  }
  push(text.slice(at));
  // Leading and trailing blank space of the cue is not text.
  const first = runs[0];
  if (first) first.text = first.text.replace(/^\s+/, "");
  const last = runs.at(-1);
  if (last) last.text = last.text.replace(/\s+$/, "");
  return runs.filter((r) => r.text !== "");
}

function addCue(cues: Cue[], time: Timing, lines: string[], format: "srt" | "vtt", line: number): void {
  const runs = parseRuns(lines, format);
  const chars = runs.reduce((n, r) => n + r.text.length, 0);
  if (chars > subtitleLimits.cueChars)
    throw new SubtitleParseError(
      line,
      `the cue holds ${chars} characters; at most ${subtitleLimits.cueChars}`,
    );
  // A cue without text or time shows nothing.
  if (runs.length === 0 || time.end <= time.start) return;
  if (cues.length >= subtitleLimits.cues)
    throw new SubtitleParseError(line, `the file holds more than ${subtitleLimits.cues} cues`);
  cues.push({ startSec: time.start, endSec: time.end, runs, line });
}

const EXAMPLE = {
  srt: "00:00:01,000 --> 00:00:02,000",
  vtt: "00:00:01.000 --> 00:00:02.000",
};

function expected(line: number, what: string, found: string | undefined): SubtitleParseError {
  const shown = (found ?? "").trim();
  return new SubtitleParseError(line, `expected ${what}${shown ? `, found "${shown.slice(0, 40)}"` : ""}`);
}

/**
 * Cue blocks (shared by both formats once WebVTT's header is read): an optional number or
 * identifier line, the timing line, then text up to a blank line. A timing line inside a cue's
 * text starts the next cue (files that lost a blank line), taking a cue number before it along.
 */
function parseBlocks(lines: string[], from: number, format: "srt" | "vtt"): Cue[] {
  const cues: Cue[] = [];
  let i = from;
  while (i < lines.length) {
    const first = lines[i] ?? "";
    if (first.trim() === "") {
      i++;
      continue;
    }
    if (format === "vtt" && /^(NOTE|STYLE|REGION)([ \t]|$)/.test(first)) {
      while (i < lines.length && (lines[i] ?? "").trim() !== "") i++;
      continue;
    }
    let timingLine = i;
    let time = timing(first, i + 1);
    if (!time) {
      // SRT: a cue number; WebVTT: an identifier. The timing line follows.
      if (format === "srt" && !/^\s*\d+\s*$/.test(first))
        throw expected(i + 1, `a cue number or a timing line like ${EXAMPLE[format]}`, first);
      const next = lines[i + 1];
      time = next !== undefined ? timing(next, i + 2) : null;
      if (!time) throw expected(Math.min(i + 2, lines.length), `a timing line like ${EXAMPLE[format]}`, next);
      timingLine = i + 1;
    }
    const text: string[] = [];
    i = timingLine + 1;
    while (i < lines.length && (lines[i] ?? "").trim() !== "") {
      const line = lines[i] ?? "";
      if (TIMING.test(line)) {
        // The next cue began without a blank line; a cue number just before it belongs to it.
        if (format === "srt" && text.length > 0 && /^\s*\d+\s*$/.test(text.at(-1) ?? "")) text.pop();
        break;
      }
      text.push(line);
      i++;
    }
    addCue(cues, time, text, format, timingLine + 1);
  }
  return cues;
}

/**
 * Reads an SRT or WebVTT file (told apart by its first line: WebVTT starts with "WEBVTT").
 * Throws SubtitleParseError naming the line that breaks it, or when the file holds no cues.
 */
export function parseSubtitles(bytes: Uint8Array): ParsedSubtitles {
  const head = bytes.subarray(0, 8192);
  const nul = head.indexOf(0);
  if (nul >= 0 && !(bytes[0] === 0xff || bytes[0] === 0xfe)) {
    let line = 1;
    for (let i = 0; i < nul; i++) if (head[i] === 0x0a) line++;
    throw new SubtitleParseError(line, "holds binary data: this is not an SRT or WebVTT file");
  }
  const lines = decode(bytes).split(/\r\n|\r|\n/);
  const vtt = /^WEBVTT([ \t]|$)/.test(lines[0] ?? "");
  let from = 0;
  if (vtt) {
    // The header runs to the first blank line.
    from = 1;
    while (from < lines.length && (lines[from] ?? "").trim() !== "") {
      if ((lines[from] ?? "").includes("-->"))
        throw new SubtitleParseError(from + 1, "a WebVTT header ends with a blank line before the first cue");
      from++;
    }
  } else if ((lines[0] ?? "").startsWith("WEBVTT")) {
    throw new SubtitleParseError(1, 'a WebVTT file starts with "WEBVTT" alone on its first line');
  }
  const format = vtt ? "vtt" : "srt";
  const cues = parseBlocks(lines, from, format);
  if (cues.length === 0) throw new SubtitleParseError(0, "the file holds no cues");
  // Players and muxers take cues in time order.
  cues.sort((a, b) => a.startSec - b.startSec || a.line - b.line);
  return { format, cues };
}

/** Characters of a cue no installed font draws (for burning), with its line; null when all can be. */
export function unburnableCue(cues: Cue[]): { line: number; reason: string } | null {
  for (const cue of cues) {
    const reason = unrenderableText(cue.runs.map((r) => r.text).join(""));
    if (reason) return { line: cue.line, reason };
  }
  return null;
}

// ---- windows ----------------------------------------------------------------------------------------

/**
 * The cues of an output's window of the input (its trim), on the output's timeline: shifted by
 * the window's start, cut at its ends; cues wholly outside it are left out.
 */
export function cuesInWindow(cues: Cue[], startSec: number, endSec: number | null): Cue[] {
  const out: Cue[] = [];
  for (const cue of cues) {
    const start = Math.max(cue.startSec, startSec);
    const end = endSec === null ? cue.endSec : Math.min(cue.endSec, endSec);
    if (end - start < 0.001) continue;
    out.push({ ...cue, startSec: start - startSec, endSec: end - startSec });
  }
  return out;
}

/**
 * Cues one after another (3GPP timed text shows one sample at a time): where cues overlap, the
 * overlap shows both texts, the earlier first, each stretch its own cue.
 */
export function sequentialCues(cues: Cue[]): Cue[] {
  const edges = [...new Set(cues.flatMap((c) => [c.startSec, c.endSec]))].sort((a, b) => a - b);
  const out: Cue[] = [];
  for (let i = 0; i + 1 < edges.length; i++) {
    const start = edges[i] as number;
    const end = edges[i + 1] as number;
    const active = cues.filter((c) => c.startSec <= start && c.endSec >= end);
    if (active.length === 0) continue;
    const runs = active.flatMap((c, j) => (j === 0 ? c.runs : [plainRun("\n"), ...c.runs]));
    const previous = out.at(-1);
    if (previous && previous.endSec === start && sameRuns(previous.runs, runs)) previous.endSec = end;
    else out.push({ startSec: start, endSec: end, runs, line: active[0]?.line ?? 0 });
  }
  return out;
}

const plainRun = (text: string): CueRun => ({ text, italic: false, bold: false, underline: false });
const sameRuns = (a: CueRun[], b: CueRun[]) =>
  a.length === b.length &&
  a.every((r, i) => {
    const o = b[i];
    return (
      o && r.text === o.text && r.italic === o.italic && r.bold === o.bold && r.underline === o.underline
    );
  });

// ---- writing ----------------------------------------------------------------------------------------

/** Plain text (3GPP timed text): the runs' text, styles left out. */
export function plainText(runs: CueRun[]): string {
  return runs.map((r) => r.text).join("");
}

function tagged(runs: CueRun[], escaped: (text: string) => string): string {
  return runs
    .map((r) => {
      let text = escaped(r.text);
      if (r.underline) text = `<u>${text}</u>`;
      if (r.bold) text = `<b>${text}</b>`;
      if (r.italic) text = `<i>${text}</i>`;
      return text;
    })
    .join("");
}

/** WebVTT cue text: "&", "<" and ">" as character references, styles as <i>, <b>, <u>. */
export function vttText(runs: CueRun[]): string {
  return tagged(runs, (t) => t.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;"));
}

/** SubRip cue text (Matroska S_TEXT/UTF8): styles as <i>, <b>, <u>. */
export function srtText(runs: CueRun[]): string {
  return tagged(runs, (t) => t);
}

/** A track codec's cue payload (what a packet of that codec carries, before any framing). */
export function trackText(codec: "mov_text" | "webvtt" | "subrip", runs: CueRun[]): string {
  return codec === "mov_text" ? plainText(runs) : codec === "webvtt" ? vttText(runs) : srtText(runs);
}

/** A WebVTT file of cues (optionally with header lines after "WEBVTT", such as X-TIMESTAMP-MAP). */
export function vttDocument(cues: Cue[], header: string[] = []): string {
  const blocks = cues.map(
    (c) => `${clock(c.startSec, ".")} --> ${clock(c.endSec, ".")}\n${vttText(c.runs)}\n`,
  );
  return `${["WEBVTT", ...header].join("\n")}\n\n${blocks.join("\n")}`;
}

/** An SRT file of cues. */
export function srtDocument(cues: Cue[]): string {
  return cues
    .map((c, i) => `${i + 1}\n${clock(c.startSec, ",")} --> ${clock(c.endSec, ",")}\n${srtText(c.runs)}\n`)
    .join("\n");
}

/** A burn's look, in the engine's words (bounds: subtitleLimits). */
export interface SubtitleBurnStyle {
  font: FontName;
  /** Pixels of a 1080-line picture. */
  fontSize: number;
  /** #rrggbb or #rrggbbaa (alpha last, 00 transparent). */
  color: string;
  outlineColor: string;
  outlinePx: number;
  /** A box behind each line in this colour; null: an outline instead. */
  background: string | null;
  position: SubtitlePosition;
  /** From the top or bottom edge, percent of the picture height. */
  marginPct: number;
}

/** The script's own coordinate space: a 1080-line picture (libass scales it to the output's size). */
const PLAY_RES = { x: 1920, y: 1080 };

/** Each named font's family and weight in the installed DejaVu files (composition-media's fontFiles). */
const FONT_FAMILIES: Record<FontName, { family: string; bold: boolean }> = {
  sans: { family: "DejaVu Sans", bold: false },
  "sans-bold": { family: "DejaVu Sans", bold: true },
  serif: { family: "DejaVu Serif", bold: false },
  "serif-bold": { family: "DejaVu Serif", bold: true },
  mono: { family: "DejaVu Sans Mono", bold: false },
  "mono-bold": { family: "DejaVu Sans Mono", bold: true },
};

/** "#rrggbb[aa]" as ASS's &HAABBGGRR (ASS alpha: 00 opaque, FF transparent). */
export function assColour(hex: string): string {
  const value = hex.replace(/^#/, "");
  const byte = (at: number) => (value.slice(at, at + 2) || "ff").toUpperCase();
  const alpha = value.length === 8 ? (255 - Number.parseInt(value.slice(6, 8), 16)).toString(16) : "0";
  return `&H${alpha.padStart(2, "0").toUpperCase()}${byte(4)}${byte(2)}${byte(0)}`;
}

/**
 * Cue text for libass: a backslash can never start an override (a word joiner follows it, as
 * FFmpeg's own WebVTT reader does), "{" is escaped, line breaks are \N; styles are our own override
 * tags around the runs.
 */
export function assText(runs: CueRun[]): string {
  return runs
    .map((r) => {
      const text = r.text
        .replace(/\\/g, "\\\u2060")
        .replace(/\{/g, "\\{")
        .replace(/\}/g, "\\}")
        .replace(/\n/g, "\\N");
      const on = (r.italic ? "\\i1" : "") + (r.bold ? "\\b1" : "") + (r.underline ? "\\u1" : "");
      const off = (r.italic ? "\\i0" : "") + (r.bold ? "\\b0" : "") + (r.underline ? "\\u0" : "");
      return on ? `{${on}}${text}{${off}}` : text;
    })
    .join("");
}

const assTime = (sec: number) => {
  const cs = Math.round(sec * 100);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${Math.floor(cs / 360_000)}:${pad(Math.floor(cs / 6000) % 60)}:${pad(Math.floor(cs / 100) % 60)}.${pad(cs % 100)}`;
};

/**
 * The ASS script a burn renders: one style made from the typed style (our numbers and names only),
 * then one Dialogue line per cue. Encoding -1 lets libass find each line's direction from its text
 * (Arabic and Hebrew lines run right to left, shaped through HarfBuzz).
 */
export function assScript(cues: Cue[], style: SubtitleBurnStyle): string {
  const font = FONT_FAMILIES[style.font];
  const alignment = { bottom: 2, middle: 5, top: 8 }[style.position];
  const marginV = Math.round((style.marginPct / 100) * PLAY_RES.y);
  const marginH = Math.round(0.05 * PLAY_RES.x);
  const box = style.background !== null;
  const fields = [
    "Default",
    font.family,
    String(style.fontSize),
    assColour(style.color),
    assColour(style.color),
    assColour(box ? (style.background as string) : style.outlineColor),
    assColour(box ? (style.background as string) : "#00000080"),
    font.bold ? "-1" : "0",
    "0",
    "0",
    "0",
    "100",
    "100",
    "0",
    "0",
    box ? "3" : "1",
    // The box's padding around the text, or the outline's width.
    String(box ? Math.max(style.outlinePx, Math.round(style.fontSize / 8)) : style.outlinePx),
    "0",
    String(alignment),
    String(marginH),
    String(marginH),
    String(marginV),
    "-1",
  ];
  const lines = [
    "[Script Info]",
    "ScriptType: v4.00+",
    `PlayResX: ${PLAY_RES.x}`,
    `PlayResY: ${PLAY_RES.y}`,
    "WrapStyle: 0",
    "ScaledBorderAndShadow: yes",
    "YCbCr Matrix: None",
    "",
    "[V4+ Styles]",
    "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, " +
      "Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, " +
      "MarginR, MarginV, Encoding",
    `Style: ${fields.join(",")}`,
    "",
    "[Events]",
    "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
    ...cues.map(
      (c) => `Dialogue: 0,${assTime(c.startSec)},${assTime(c.endSec)},Default,,0,0,0,,${assText(c.runs)}`,
    ),
  ];
  return `${lines.join("\n")}\n`;
}
