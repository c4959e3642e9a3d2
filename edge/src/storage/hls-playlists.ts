import { type DownloadTokenClaims, isSafeStorageKey, signToken } from "@framewire/shared";
import type { ObjectStore } from "./object-store";

/**
 * HLS and DASH that any player can open from one URL. The engine writes playlists and manifests
 * with relative URIs (`360p/index.m3u8`, `seg_00001.ts`, a DASH SegmentURL `720p/seg_00001.m4s`);
 * a player resolves those against the playlist's own URL, so the query string that makes a
 * download link valid (our token, or an S3 signature) is lost and every segment request is
 * refused. The edge therefore serves playlists and manifests itself, at
 * `/files/playlists/<key>?token=`, with each URI rewritten to its own link: nested playlists to
 * this endpoint again, media to the store's download URL (signed or presigned). Segments never
 * pass through the edge.
 *
 * An HLS playlist names files of its own output only. A DASH manifest may also name files of
 * another output of the same job: a dash output that shares an hls output's ladder points at the
 * segments stored once in that output's folder (`../hls/720p/seg_00001.m4s`).
 */

export const playlistPathPrefix = "/files/playlists/";
/** Playlists are small; a bigger one is not something the engine wrote. */
export const maxPlaylistBytes = 2 * 1024 * 1024;
/**
 * A DASH manifest lists every segment of every representation in one file (an HLS ladder spreads
 * them over one playlist per rendition): hours of a long ladder are megabytes.
 */
export const maxManifestBytes = 16 * 1024 * 1024;

export const isManifestKey = (key: string) => key.endsWith(".mpd");
export const isPlaylistKey = (key: string) => key.endsWith(".m3u8") || isManifestKey(key);

/** The most the edge reads of a playlist or manifest. */
export const maxPlaylistBytesFor = (key: string) =>
  isManifestKey(key) ? maxManifestBytes : maxPlaylistBytes;

export async function playlistUrl(
  options: { publicUrl: string; tokenSecret: string; downloadTtlSec: number },
  key: string,
  now: number,
): Promise<string> {
  const claims: DownloadTokenClaims = { key, exp: Math.floor(now / 1000) + options.downloadTtlSec };
  const token = await signToken(options.tokenSecret, "download", claims);
  return `${options.publicUrl}${playlistPathPrefix}${key}?token=${token}`;
}

/**
 * The folder a playlist's URIs must stay in: an HLS output's own (`<tenant>/jobs/<job>/<output>/`);
 * for a DASH manifest, its job's (`<tenant>/jobs/<job>/`), where a shared ladder's segments are.
 */
function scopeFolder(playlistKey: string): string {
  return `${playlistKey
    .split("/")
    .slice(0, isManifestKey(playlistKey) ? 3 : 4)
    .join("/")}/`;
}

/** A relative URI resolved against the playlist's key; null when it leaves the folder it may name. */
export function resolvePlaylistUri(playlistKey: string, uri: string): string | null {
  if (/^[a-z][a-z0-9+.-]*:/i.test(uri) || uri.startsWith("/")) return null;
  const base = new URL(`https://store.invalid/${playlistKey}`);
  const resolved = new URL(uri, base);
  if (resolved.host !== base.host || resolved.search || resolved.hash) return null;
  let key: string;
  try {
    key = decodeURIComponent(resolved.pathname.slice(1));
  } catch {
    return null;
  }
  return key.startsWith(scopeFolder(playlistKey)) && isSafeStorageKey(key) ? key : null;
}

/**
 * Rewrites every URI in a playlist (URI lines and `URI="…"` attributes such as EXT-X-MAP and
 * EXT-X-MEDIA) with `link`. A URI that would leave the output's folder is an error: the engine
 * never writes one, so the playlist is not ours to serve.
 */
export async function rewritePlaylist(
  text: string,
  playlistKey: string,
  link: (key: string) => Promise<string>,
): Promise<string> {
  if (isManifestKey(playlistKey)) return rewriteManifest(text, playlistKey, link);
  const rewrite = async (uri: string) => {
    const key = resolvePlaylistUri(playlistKey, uri);
    if (!key) throw new Error(`playlist ${playlistKey} names ${JSON.stringify(uri)} outside its output`);
    return link(key);
  };
  const lines = await Promise.all(
    text.split(/\r?\n/).map(async (line) => {
      const trimmed = line.trim();
      if (trimmed === "") return line;
      if (!trimmed.startsWith("#")) return rewrite(trimmed);
      const attributes = [...trimmed.matchAll(/URI="([^"]*)"/g)];
      let out = trimmed;
      for (const [whole, uri] of attributes) out = out.replace(whole, `URI="${await rewrite(uri ?? "")}"`);
      return out;
    }),
  );
  return lines.join("\n");
}

const xmlEntities: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
const unescapeXml = (text: string) =>
  text.replace(/&(amp|lt|gt|quot|apos);/g, (_, name: string) => xmlEntities[name] ?? "");
const escapeXml = (text: string) =>
  text.replace(/[<>&"']/g, (c) => `&${{ "<": "lt", ">": "gt", "&": "amp", '"': "quot", "'": "apos" }[c]};`);

/** The attributes of a DASH manifest that hold a URL: a SegmentURL's media, an Initialization's sourceURL. */
const manifestUrlAttribute = /\b(media|sourceURL)="([^"]*)"/g;

/**
 * Rewrites every URL of a DASH manifest (SegmentURL media, Initialization sourceURL) with `link`.
 * Anything the engine never writes (a BaseURL, a SegmentTemplate, a URL outside the job) is an
 * error: the manifest is not ours to serve.
 */
export async function rewriteManifest(
  text: string,
  manifestKey: string,
  link: (key: string) => Promise<string>,
): Promise<string> {
  if (/<(BaseURL|SegmentTemplate)\b/.test(text) || /\b(initialization|index)="/.test(text))
    throw new Error(`manifest ${manifestKey} is not one the engine wrote`);
  const links = await Promise.all(
    [...text.matchAll(manifestUrlAttribute)].map(async ([, , raw]) => {
      const uri = unescapeXml(raw ?? "");
      const key = resolvePlaylistUri(manifestKey, uri);
      if (!key) throw new Error(`manifest ${manifestKey} names ${JSON.stringify(uri)} outside its job`);
      return escapeXml(await link(key));
    }),
  );
  let next = 0;
  return text.replace(manifestUrlAttribute, (_, attribute: string) => `${attribute}="${links[next++]}"`);
}

/** The link for one file of an HLS or DASH output: playlists and manifests through this endpoint, media from the store. */
export function hlsLink(
  store: ObjectStore,
  options: { publicUrl: string; tokenSecret: string; downloadTtlSec: number },
  now: number,
): (key: string) => Promise<string> {
  return (key) => (isPlaylistKey(key) ? playlistUrl(options, key, now) : store.downloadUrl(key, now));
}
