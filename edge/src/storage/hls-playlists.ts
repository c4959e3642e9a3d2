import { type DownloadTokenClaims, isSafeStorageKey, signToken } from "@framewire/shared";
import type { ObjectStore } from "./object-store";

/**
 * HLS that any player can open from one URL. The engine writes playlists with relative URIs
 * (`360p/index.m3u8`, `seg_00001.ts`); a player resolves those against the playlist's own URL, so
 * the query string that makes a download link valid (our token, or an S3 signature) is lost and
 * every segment request is refused. The edge therefore serves playlists itself, at
 * `/files/playlists/<key>?token=`, with each URI rewritten to its own link: nested playlists to
 * this endpoint again, media to the store's download URL (signed or presigned). Segments never
 * pass through the edge.
 */

export const playlistPathPrefix = "/files/playlists/";
/** Playlists are small; a bigger one is not something the engine wrote. */
export const maxPlaylistBytes = 2 * 1024 * 1024;

export const isPlaylistKey = (key: string) => key.endsWith(".m3u8");

export async function playlistUrl(
  options: { publicUrl: string; tokenSecret: string; downloadTtlSec: number },
  key: string,
  now: number,
): Promise<string> {
  const claims: DownloadTokenClaims = { key, exp: Math.floor(now / 1000) + options.downloadTtlSec };
  const token = await signToken(options.tokenSecret, "download", claims);
  return `${options.publicUrl}${playlistPathPrefix}${key}?token=${token}`;
}

/** The folder every file of an HLS output lives in: `<tenant>/jobs/<job>/<output>/`. */
function outputFolder(playlistKey: string): string {
  return `${playlistKey.split("/").slice(0, 4).join("/")}/`;
}

/** A relative URI resolved against the playlist's key; null when it leaves the output's folder. */
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
  return key.startsWith(outputFolder(playlistKey)) && isSafeStorageKey(key) ? key : null;
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

/** The link for one file of an HLS output: playlists through this endpoint, media from the store. */
export function hlsLink(
  store: ObjectStore,
  options: { publicUrl: string; tokenSecret: string; downloadTtlSec: number },
  now: number,
): (key: string) => Promise<string> {
  return (key) => (isPlaylistKey(key) ? playlistUrl(options, key, now) : store.downloadUrl(key, now));
}
