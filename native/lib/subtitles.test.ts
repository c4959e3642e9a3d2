import { describe, expect, it } from "vitest";
import {
  assColour,
  assScript,
  assText,
  type Cue,
  cuesInWindow,
  parseSubtitles,
  SubtitleParseError,
  sequentialCues,
  srtDocument,
  trackText,
  unburnableCue,
  vttDocument,
} from "./subtitles";

const bytes = (text: string) => new TextEncoder().encode(text);
const parse = (text: string) => parseSubtitles(bytes(text));
const failure = (text: string | Uint8Array) => {
  try {
    parseSubtitles(typeof text === "string" ? bytes(text) : text);
  } catch (error) {
    if (error instanceof SubtitleParseError) return error.message;
    throw error;
  }
  throw new Error("parsed");
};
const texts = (cues: Cue[]) => cues.map((c) => c.runs.map((r) => r.text).join(""));

describe("SRT", () => {
  it("reads cues with their times, line breaks and styles", () => {
    const { format, cues } = parse(
      "\ufeff1\r\n00:00:01,000 --> 00:00:02,500\r\nHello\r\n<i>world</i>\r\n\r\n" +
        '2\r\n00:01:00,250 --> 00:01:02,000 X1:10 X2:20 Y1:5 Y2:9\r\n{\\an8}<font color="red">A & B</font>\r\n',
    );
    expect(format).toBe("srt");
    expect(cues.map((c) => [c.startSec, c.endSec, c.line])).toEqual([
      [1, 2.5, 2],
      [60.25, 62, 7],
    ]);
    expect(cues[0]?.runs).toEqual([
      { text: "Hello\n", italic: false, bold: false, underline: false },
      { text: "world", italic: true, bold: false, underline: false },
    ]);
    expect(texts(cues)).toEqual(["Hello\nworld", "A & B"]);
  });

  it("takes hours-less times, dots and a lost blank line", () => {
    const { cues } = parse("1\n00:01.5 --> 00:02.000\none\n2\n00:00:03,000 --> 00:00:04,000\ntwo\n");
    expect(cues.map((c) => [c.startSec, c.endSec])).toEqual([
      [1.5, 2],
      [3, 4],
    ]);
    expect(texts(cues)).toEqual(["one", "two"]);
  });

  it("sorts cues by time and drops empty ones", () => {
    const { cues } = parse(
      "1\n00:00:05,000 --> 00:00:06,000\nlate\n\n2\n00:00:01,000 --> 00:00:02,000\nearly\n\n3\n00:00:03,000 --> 00:00:04,000\n\n",
    );
    expect(texts(cues)).toEqual(["early", "late"]);
  });

  it("names the line of a broken timing line", () => {
    const text = [
      "1",
      "00:00:01,000 --> 00:00:02,000",
      "fine",
      "",
      "2",
      "00:00:03,000 -> 00:00:04,000",
      "broken",
    ].join("\n");
    expect(failure(text)).toBe(
      'line 6: expected a timing line like 00:00:01,000 --> 00:00:02,000, found "00:00:03,000 -> 00:00:04,000"',
    );
  });

  it("names the line of text where a cue should start", () => {
    expect(failure("1\n00:00:01,000 --> 00:00:02,000\nhello\n\nworld\n")).toBe(
      'line 5: expected a cue number or a timing line like 00:00:01,000 --> 00:00:02,000, found "world"',
    );
  });

  it("refuses impossible times, backwards cues, no cues and binary data", () => {
    expect(failure("1\n00:61:00,000 --> 00:62:00,000\nx\n")).toBe(
      "line 2: 00:61:00.000 is not a time (minutes and seconds run to 59)",
    );
    expect(failure("1\n00:00:03,000 --> 00:00:02,000\nx\n")).toBe(
      "line 2: the cue ends (00:00:02,000) before it starts (00:00:03,000)",
    );
    expect(failure("\n\n")).toBe("the file holds no cues");
    expect(failure(new Uint8Array([0x31, 0x0a, 0x00, 0x01]))).toBe(
      "line 2: holds binary data: this is not an SRT or WebVTT file",
    );
  });

  it("refuses text that is not UTF-8, naming the line", () => {
    const latin1 = new Uint8Array([
      ...bytes("1\n00:00:01,000 --> 00:00:02,000\n"),
      0x63,
      0x61,
      0x66,
      0xe9,
      0x0a,
    ]);
    expect(failure(latin1)).toBe("line 3: is not UTF-8 text; save the file as UTF-8");
  });

  it("reads UTF-16 with a byte order mark", () => {
    const text = "1\n00:00:01,000 --> 00:00:02,000\nשלום\n";
    const utf16 = new Uint8Array(2 + text.length * 2);
    utf16.set([0xff, 0xfe]);
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      utf16[2 + i * 2] = code & 0xff;
      utf16[3 + i * 2] = code >> 8;
    }
    expect(texts(parseSubtitles(utf16).cues)).toEqual(["שלום"]);
  });
});

describe("WebVTT", () => {
  it("reads the header, identifiers, settings, notes and markup", () => {
    const { format, cues } = parse(
      [
        "WEBVTT - a title",
        "Kind: captions",
        "",
        "NOTE a comment",
        "over two lines",
        "",
        "STYLE",
        "::cue { color: red }",
        "",
        "intro",
        "00:01.000 --> 00:02.000 align:start line:0",
        "<v Roger>Hi &amp; <b>bye</b> &lt;3</v>",
        "",
        "01:00:00.000 --> 01:00:01.000",
        "<c.yellow>a<ruby>漢<rt>kan</rt></ruby></c> <00:00:01.500>b",
      ].join("\n"),
    );
    expect(format).toBe("vtt");
    expect(cues.map((c) => [c.startSec, c.endSec, c.line])).toEqual([
      [1, 2, 11],
      [3600, 3601, 14],
    ]);
    expect(cues[0]?.runs).toEqual([
      { text: "Hi & ", italic: false, bold: false, underline: false },
      { text: "bye", italic: false, bold: true, underline: false },
      { text: " <3", italic: false, bold: false, underline: false },
    ]);
    expect(texts(cues)).toEqual(["Hi & bye <3", "a漢 b"]);
  });

  it("names the line of what breaks it", () => {
    expect(failure("WEBVTTX\n\n00:01.000 --> 00:02.000\nx\n")).toBe(
      'line 1: a WebVTT file starts with "WEBVTT" alone on its first line',
    );
    expect(failure("WEBVTT\n00:01.000 --> 00:02.000\nx\n")).toBe(
      "line 2: a WebVTT header ends with a blank line before the first cue",
    );
    expect(failure("WEBVTT\n\nid\n00:01.000 -> 00:02.000\nx\n")).toBe(
      'line 4: expected a timing line like 00:00:01.000 --> 00:00:02.000, found "00:01.000 -> 00:02.000"',
    );
  });
});

describe("cue windows", () => {
  const cues = parse(
    "1\n00:00:01,000 --> 00:00:03,000\nA\n\n2\n00:00:02,000 --> 00:00:04,000\nB\n\n3\n00:00:09,000 --> 00:00:10,000\nC\n",
  ).cues;

  it("shifts cues by a trim's start and cuts them at its ends", () => {
    expect(cuesInWindow(cues, 2.5, 5).map((c) => [c.startSec, c.endSec])).toEqual([
      [0, 0.5],
      [0, 1.5],
    ]);
    expect(cuesInWindow(cues, 0, null)).toHaveLength(3);
  });

  it("makes overlapping cues one after another for timed text", () => {
    const flat = sequentialCues(cues);
    expect(flat.map((c) => [c.startSec, c.endSec])).toEqual([
      [1, 2],
      [2, 3],
      [3, 4],
      [9, 10],
    ]);
    expect(texts(flat)).toEqual(["A", "A\nB", "B", "C"]);
  });
});

describe("writers", () => {
  const [cue] = parse("1\n00:00:01,000 --> 00:00:02,000\n<i>a < b & {c}</i> \\N\n").cues;
  const runs = cue?.runs ?? [];

  it("escapes each format's markup", () => {
    expect(trackText("webvtt", runs)).toBe("<i>a &lt; b &amp; {c}</i> \\N");
    expect(trackText("subrip", runs)).toBe("<i>a < b & {c}</i> \\N");
    expect(trackText("mov_text", runs)).toBe("a < b & {c} \\N");
    // No backslash or brace of the text can become an override for libass.
    expect(assText(runs)).toBe("{\\i1}a < b & \\{c\\}{\\i0} \\\u2060N");
    expect(assText([{ text: "one\ntwo", italic: false, bold: false, underline: false }])).toBe("one\\Ntwo");
  });

  it("writes documents that read back the same", () => {
    const again = parse(vttDocument([cue as Cue])).cues;
    expect(again[0]?.runs).toEqual(runs);
    expect(parse(srtDocument([cue as Cue])).cues[0]?.runs).toEqual(runs);
  });

  it("writes an ASS script from the typed style", () => {
    const script = assScript([cue as Cue], {
      font: "serif-bold",
      fontSize: 60,
      color: "#ffcc00",
      outlineColor: "#000000",
      outlinePx: 2,
      background: null,
      position: "top",
      marginPct: 10,
    });
    expect(script).toContain("PlayResY: 1080");
    expect(script).toContain(
      "Style: Default,DejaVu Serif,60,&H0000CCFF,&H0000CCFF,&H00000000,&H7F000000,-1,0,0,0,100,100,0,0,1,2,0,8,96,96,108,-1",
    );
    expect(script).toContain("Dialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,{\\i1}");
    expect(assColour("#11223380")).toBe("&H7F332211");
  });

  it("finds what no installed font draws", () => {
    const cues = parse(
      "1\n00:00:01,000 --> 00:00:02,000\nمرحبا\n\n2\n00:00:03,000 --> 00:00:04,000\n日本\n",
    ).cues;
    expect(unburnableCue(cues)).toEqual({
      line: 6,
      reason: "日 (U+65E5): no installed font covers CJK scripts",
    });
    expect(unburnableCue(cues.slice(0, 1))).toBeNull();
  });
});
