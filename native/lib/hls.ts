/**
 * HLS playlists: reading the media playlists libavformat's hls muxer wrote, and writing the master
 * playlist that ties the renditions together (BANDWIDTH is the peak segment bit rate, as RFC 8216
 * defines it, measured from the segments actually written). A CMAF ladder's audio is its own
 * rendition group (EXT-X-MEDIA), one group per audio bit rate, named by each variant's AUDIO.
 */

export interface MediaPlaylistSegment {
  uri: string;
  durationSec: number;
}

export function parseMediaPlaylist(text: string): MediaPlaylistSegment[] {
  const segments: MediaPlaylistSegment[] = [];
  let pending: number | null = null;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    const extinf = /^#EXTINF:([\d.]+)/.exec(line);
    if (extinf?.[1]) pending = Number.parseFloat(extinf[1]);
    else if (line && !line.startsWith("#") && pending !== null) {
      segments.push({ uri: line, durationSec: pending });
      pending = null;
    }
  }
  return segments;
}

/** The init segment a CMAF media playlist names (EXT-X-MAP), or null. */
export function parseMediaMap(text: string): string | null {
  return /^#EXT-X-MAP:.*?URI="([^"]+)"/m.exec(text)?.[1] ?? null;
}

/** An audio rendition of a CMAF ladder (EXT-X-MEDIA TYPE=AUDIO), one group of its own. */
export interface AudioMedia {
  groupId: string;
  playlist: string;
  channels: number | null;
}

export interface MasterEntry {
  playlist: string;
  bandwidth: number;
  averageBandwidth: number;
  width: number;
  height: number;
  fps: number | null;
  codecs: string | null;
  /** The EXT-X-MEDIA group of its audio (CMAF ladders). */
  audioGroup?: string;
}

/** The master playlist; `version` 7 for CMAF ladders (their media playlists' EXT-X-MAP). */
export function masterPlaylist(
  entries: MasterEntry[],
  options: { audio?: AudioMedia[]; version?: number } = {},
): string {
  const lines = ["#EXTM3U", `#EXT-X-VERSION:${options.version ?? 3}`, "#EXT-X-INDEPENDENT-SEGMENTS"];
  for (const a of options.audio ?? []) {
    const attrs = [
      "TYPE=AUDIO",
      `GROUP-ID="${a.groupId}"`,
      'NAME="audio"',
      "DEFAULT=YES",
      "AUTOSELECT=YES",
      ...(a.channels ? [`CHANNELS="${a.channels}"`] : []),
      `URI="${a.playlist}"`,
    ];
    lines.push(`#EXT-X-MEDIA:${attrs.join(",")}`);
  }
  for (const e of entries) {
    const attrs = [
      `BANDWIDTH=${Math.round(e.bandwidth)}`,
      `AVERAGE-BANDWIDTH=${Math.round(e.averageBandwidth)}`,
      `RESOLUTION=${e.width}x${e.height}`,
    ];
    if (e.fps) attrs.push(`FRAME-RATE=${e.fps.toFixed(3)}`);
    if (e.codecs) attrs.push(`CODECS="${e.codecs}"`);
    if (e.audioGroup) attrs.push(`AUDIO="${e.audioGroup}"`);
    lines.push(`#EXT-X-STREAM-INF:${attrs.join(",")}`, e.playlist);
  }
  return `${lines.join("\n")}\n`;
}

/** H.264 profile names (as libavcodec and ffprobe spell them) → RFC 6381 profile and constraint bytes. */
const AVC_PROFILES: Record<string, string> = {
  "Constrained Baseline": "42e0",
  Baseline: "4200",
  Main: "4d40",
  High: "6400",
};

/** "avc1.64001f,mp4a.40.2" from probed facts; null when the profile is not one we can name. */
export function hlsCodecs(video: { profile?: string; level?: number }, hasAudio: boolean): string | null {
  const profile = video.profile ? AVC_PROFILES[video.profile] : undefined;
  if (!profile || !video.level) return null;
  const avc = `avc1.${profile}${video.level.toString(16).padStart(2, "0")}`;
  return hasAudio ? `${avc},mp4a.40.2` : avc;
}
