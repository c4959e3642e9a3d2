/**
 * DASH manifests (MPEG-DASH, ISO/IEC 23009-1) for a ladder's CMAF tracks: one static Period, the
 * video renditions in one AdaptationSet and the audio apart in another, as DASH players expect.
 * Every Representation lists its segments (SegmentList: the init segment and each media segment
 * by its own URL, relative to the manifest) on an exact SegmentTimeline read from the segments
 * themselves, so a player needs no URL template and a server can rewrite each URL on its own
 * (the edge signs them one by one, as it does a playlist's).
 */

export interface MpdSegment {
  /** Earliest presentation time, in the representation's timescale. */
  t: number;
  /** Duration up to the next segment (the last: to its end), same timescale. */
  d: number;
  /** URL relative to the manifest. */
  media: string;
}

export interface MpdRepresentation {
  id: string;
  /** bits/s: the peak segment bit rate (deliverable in time with minBufferTime of buffer). */
  bandwidth: number;
  codecs: string | null;
  width?: number;
  height?: number;
  /** "25", "30000/1001". */
  frameRate?: string | null;
  audioSamplingRate?: number;
  timescale: number;
  /** Where the Period starts on this track's timeline (its timescale). */
  presentationTimeOffset: number;
  initialization: string;
  segments: MpdSegment[];
}

export interface MpdAdaptationSet {
  contentType: "video" | "audio";
  channels?: number;
  /** BCP 47 (RFC 5646), as DASH's @lang wants it: the source track's language, when it has one. */
  lang?: string;
  representations: MpdRepresentation[];
}

export interface MpdDocument {
  durationSec: number;
  /** The longest segment, seconds: with it buffered, each representation plays at its bandwidth. */
  minBufferSec: number;
  adaptationSets: MpdAdaptationSet[];
}

const escapeXml = (text: string) =>
  text.replace(/[<>&"']/g, (c) => `&${{ "<": "lt", ">": "gt", "&": "amp", '"': "quot", "'": "apos" }[c]};`);

/** xs:duration with millisecond precision ("PT4.000S"). */
export function isoDuration(seconds: number): string {
  return `PT${(Math.ceil(Math.max(0, seconds) * 1000) / 1000).toFixed(3)}S`;
}

/**
 * S elements, one per segment: `t` on the first and wherever the timeline jumps, each duration as
 * measured. No repeat counts: with a SegmentList, dash.js (5.2) takes the n-th SegmentURL for the
 * n-th S element, not the n-th segment, and a repeated element would play the wrong segments.
 */
export function timelineElements(segments: MpdSegment[]): string[] {
  let previousEnd: number | null = null;
  return segments.map((s) => {
    const t = previousEnd === s.t ? "" : ` t="${s.t}"`;
    previousEnd = s.t + s.d;
    return `<S${t} d="${s.d}"/>`;
  });
}

function representation(r: MpdRepresentation, indent: string): string[] {
  const attrs = [`id="${escapeXml(r.id)}"`, `bandwidth="${Math.max(1, Math.round(r.bandwidth))}"`];
  if (r.codecs) attrs.push(`codecs="${escapeXml(r.codecs)}"`);
  if (r.width) attrs.push(`width="${r.width}"`);
  if (r.height) attrs.push(`height="${r.height}"`);
  if (r.frameRate) attrs.push(`frameRate="${r.frameRate}"`);
  if (r.audioSamplingRate) attrs.push(`audioSamplingRate="${r.audioSamplingRate}"`);
  const list = `timescale="${r.timescale}" presentationTimeOffset="${r.presentationTimeOffset}"`;
  return [
    `${indent}<Representation ${attrs.join(" ")}>`,
    `${indent}  <SegmentList ${list}>`,
    `${indent}    <Initialization sourceURL="${escapeXml(r.initialization)}"/>`,
    `${indent}    <SegmentTimeline>`,
    ...timelineElements(r.segments).map((s) => `${indent}      ${s}`),
    `${indent}    </SegmentTimeline>`,
    ...r.segments.map((s) => `${indent}    <SegmentURL media="${escapeXml(s.media)}"/>`),
    `${indent}  </SegmentList>`,
    `${indent}</Representation>`,
  ];
}

export function mpd(doc: MpdDocument): string {
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-main:2011" type="static"' +
      ` mediaPresentationDuration="${isoDuration(doc.durationSec)}" minBufferTime="${isoDuration(doc.minBufferSec)}">`,
    '  <Period id="0" start="PT0S">',
  ];
  doc.adaptationSets.forEach((set, id) => {
    const attrs = [`id="${id}"`, `contentType="${set.contentType}"`, `mimeType="${set.contentType}/mp4"`];
    if (set.contentType === "video") {
      const widths = set.representations.map((r) => r.width ?? 0);
      const heights = set.representations.map((r) => r.height ?? 0);
      // Keyframes are forced at the same instants in every rendition: segments line up.
      attrs.push(
        'segmentAlignment="true"',
        `maxWidth="${Math.max(...widths)}"`,
        `maxHeight="${Math.max(...heights)}"`,
      );
    } else {
      attrs.push('segmentAlignment="true"');
    }
    if (set.lang) attrs.push(`lang="${escapeXml(set.lang)}"`);
    attrs.push('startWithSAP="1"');
    lines.push(`    <AdaptationSet ${attrs.join(" ")}>`);
    if (set.channels) {
      lines.push(
        `      <AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="${set.channels}"/>`,
      );
    }
    for (const r of set.representations) lines.push(...representation(r, "      "));
    lines.push("    </AdaptationSet>");
  });
  lines.push("  </Period>", "</MPD>");
  return `${lines.join("\n")}\n`;
}
