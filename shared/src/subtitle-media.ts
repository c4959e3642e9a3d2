/**
 * The subtitles vocabulary: how a job's subtitle files are used (burned into the picture, carried
 * as a track, offered as HLS renditions), the style a burn may name, which track codec each
 * container carries, and every bound. Part of the media vocabulary (`@framewire/shared/media`
 * re-exports it); imports nothing.
 */
/** `burn`: drawn into the picture (libass); `track`: a subtitle stream of the file, players switch it. */
export const subtitleModes = ["burn", "track"] as const;
export type SubtitleMode = (typeof subtitleModes)[number];

/** Where burned lines sit: bottom-centre (as films do), top-centre or the middle of the picture. */
export const subtitlePositions = ["bottom", "top", "middle"] as const;
export type SubtitlePosition = (typeof subtitlePositions)[number];

/**
 * The track codec of each container: 3GPP timed text (mov_text) in MP4 and MOV, WebVTT in WebM
 * (the only text subtitles WebM allows), SubRip (S_TEXT/UTF8) in Matroska, which every player reads.
 */
export const subtitleTrackCodecs: Record<"mp4" | "mov" | "webm" | "mkv", "mov_text" | "webvtt" | "subrip"> = {
  mp4: "mov_text",
  mov: "mov_text",
  webm: "webvtt",
  mkv: "subrip",
};

/** What a subtitles output writes: WebVTT, which browsers, HLS and most players read. */
export const subtitleFormats = ["vtt"] as const;
export type SubtitleFormat = (typeof subtitleFormats)[number];

export const subtitleLimits = {
  /** Subtitle files per job (`subtitles`), and subtitle entries per output. */
  inputs: { min: 1, max: 8 },
  /** A subtitle file is text: a feature film's is under 200 KB. */
  fileBytes: 4 * 1024 * 1024,
  /** Cues in one file, and characters in one cue. */
  cues: 20_000,
  cueChars: 2_000,
  /** A track's or rendition's name as players show it. */
  labelChars: 64,
  /** Burn style: the font size and outline in pixels of a 1080-line picture (scaled with the output). */
  fontSize: { min: 8, max: 200 },
  outlinePx: { min: 0, max: 20 },
  /** Distance of the lines from the top or bottom edge, percent of the picture height. */
  marginPct: { min: 0, max: 45 },
  /** An output's subtitle track by position among the input's subtitle tracks (0: the first). */
  trackIndex: { min: 0, max: 63 },
} as const;

/** A burn's style left out: white DejaVu Sans, 48 px on 1080 lines, a 3 px black outline, 5 % up from the bottom. */
export const subtitleStyleDefaults = {
  font: "sans",
  fontSize: 48,
  color: "#ffffff",
  outlineColor: "#000000",
  outlinePx: 3,
  position: "bottom",
  marginPct: 5,
} as const;

/**
 * The subtitle codecs that are text (FFmpeg's AV_CODEC_PROP_TEXT_SUB), so a track of the input can
 * become WebVTT; picture-based ones (DVD, Blu-ray PGS, DVB) would need OCR.
 */
export const textSubtitleCodecs = [
  "subrip",
  "srt",
  "ass",
  "ssa",
  "mov_text",
  "webvtt",
  "text",
  "microdvd",
  "subviewer",
  "subviewer1",
  "sami",
  "realtext",
  "jacosub",
  "mpl2",
  "pjs",
  "vplayer",
  "stl",
  "eia_608",
] as const;

/**
 * A track or rendition label as it goes into a container tag or an HLS NAME="…" attribute:
 * printable text without double quotes or line breaks.
 */
export const subtitleLabelPattern = /^[^\p{Cc}"]{1,64}$/u;

/** ISO 639-2 (terminology) codes with an ISO 639-1 code: the form BCP 47 (HLS LANGUAGE) requires. */
const twoLetterCodes: Readonly<Record<string, string>> = Object.fromEntries(
  (
    "aaraa abkab afraf akaak amham araar argan asmas avaav aveae aymay azeaz bakba bambm belbe benbn " +
    "bihbh bisbi bodbo bosbs brebr bulbg catca cescs chach chece chucu chvcv corkw cosco crecr cymcy " +
    "danda deude divdv dzodz ellel engen epoeo estet euseu eweee faofo fasfa fijfj finfi frafr fryfy " +
    "fulff glagd glega glggl glvgv grngn gujgu hatht hauha hebhe herhz hinhi hmoho hrvhr hunhu hyehy " +
    "iboig idoio iiiii ikuiu ileie inaia indid ipkik islis itait javjv jpnja kalkl kankn kasks katka " +
    "kaukr kazkk khmkm kikki kinrw kirky komkv konkg korko kuakj kurku laolo latla lavlv limli linln " +
    "litlt ltzlb lublu luglg mahmh malml marmr mkdmk mlgmg mltmt monmn mrimi msams myamy nauna navnv " +
    "nblnr ndend ndong nepne nldnl nnonn nobnb norno nyany ocioc ojioj orior ormom ossos panpa plipi " +
    "polpl porpt pusps quequ rohrm ronro runrn rusru sagsg sansa sinsi slksk slvsl smese smosm snasn " +
    "sndsd somso sotst spaes sqisq srdsc srpsr sswss sunsu swasw swesv tahty tamta tattt telte tgktg " +
    "tgltl thath tirti tonto tsntn tsots tuktk turtr twitw uigug ukruk urdur uzbuz venve vievi volvo " +
    "wlnwa wolwo xhoxh yidyi yoryo zhaza zhozh zulzu"
  )
    .split(" ")
    .map((pair) => [pair.slice(0, 3), pair.slice(3)]),
);

/**
 * An ISO 639-2 code (bibliographic or terminology, after `aliases`) as a BCP 47 language tag: the
 * two-letter code where one exists ("deu"/"ger" → "de"), else the three-letter code ("haw").
 */
export function bcp47Language(code: string, aliases: Readonly<Record<string, string>> = {}): string {
  const lower = code.toLowerCase();
  const terminology = aliases[lower] ?? lower;
  return twoLetterCodes[terminology] ?? terminology;
}
