import { type DownloadTokenClaims, FramewireError, isSafeStorageKey, verifyToken } from "@framewire/shared";
import { type Context, Hono } from "hono";
import type { EdgeEnv } from "../env";
import { linkSliceMs } from "../jobs/view-cache";
import {
  hlsLink,
  isManifestKey,
  isPlaylistKey,
  maxPlaylistBytesFor,
  playlistPathPrefix,
  rewritePlaylist,
} from "../storage/hls-playlists";
import type { ObjectStore } from "../storage/object-store";
import { createPlaylistCache, type PlaylistCache } from "../storage/playlist-cache";

/** What players and image elements expect for the files the engine writes. */
const contentTypes: Record<string, string> = {
  mp4: "video/mp4",
  m4a: "audio/mp4",
  mov: "video/quicktime",
  webm: "video/webm",
  mkv: "video/x-matroska",
  mp3: "audio/mpeg",
  opus: "audio/ogg",
  flac: "audio/flac",
  wav: "audio/wav",
  m3u8: "application/vnd.apple.mpegurl",
  ts: "video/mp2t",
  mpd: "application/dash+xml",
  m4s: "video/iso.segment",
  jpg: "image/jpeg",
  png: "image/png",
  webp: "image/webp",
  vtt: "text/vtt",
  json: "application/json",
};

/** A malformed escape (`%E0%A4%A`) is a link that was never ours: 404, not a 500. */
function keyFromPath(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new FramewireError("not_found", "This download link is invalid or has expired.");
  }
}

const gone = () => new FramewireError("not_found", "The file no longer exists.");

/** The link's token must be ours, unexpired, and for exactly this key. */
async function requireDownloadToken(c: Context<EdgeEnv>, key: string): Promise<void> {
  const deps = c.get("deps");
  const check = await verifyToken<DownloadTokenClaims>(
    deps.config.tokenSecret,
    "download",
    c.req.query("token") ?? "",
    Math.floor(deps.clock() / 1000),
  );
  if (!check.ok || check.claims.key !== key || !isSafeStorageKey(key)) {
    throw new FramewireError("not_found", "This download link is invalid or has expired.");
  }
}

const playlistCaches = new WeakMap<ObjectStore, PlaylistCache>();

/** One cache per store (an edge has one; tests make several). */
function playlistCacheOf(store: ObjectStore): PlaylistCache {
  let cache = playlistCaches.get(store);
  if (!cache) {
    cache = createPlaylistCache();
    playlistCaches.set(store, cache);
  }
  return cache;
}

/**
 * Signed downloads from the local store, and HLS playlists and DASH manifests from either store
 * with their URIs rewritten to signed links: the token, not an API key, is the permission.
 */
export function filesRoutes() {
  const app = new Hono<EdgeEnv>();

  app.get("/playlists/*", async (c) => {
    const deps = c.get("deps");
    const key = keyFromPath(c.req.path.slice(playlistPathPrefix.length));
    await requireDownloadToken(c, key);
    if (!isPlaylistKey(key) || !deps.storage) throw gone();
    const storage = deps.storage;
    const now = deps.clock();
    // Signed as of the start of the slice: the same body for every request of it (playlist-cache.ts).
    const sliceMs = linkSliceMs(deps.config);
    const slice = Math.floor(now / sliceMs);
    const rewritten = await playlistCacheOf(storage).get(key, slice, async () => {
      const text = await storage.readText(key, maxPlaylistBytesFor(key));
      if (text === null) throw gone();
      return rewritePlaylist(text, key, hlsLink(storage, deps.config, slice * sliceMs));
    });
    const body = rewritten.body;
    // Keys start with the tenant's id (shared/src/storage-keys.ts): usage, served bytes.
    deps.usage.served(key.split("/")[0] ?? "", rewritten.bytes, now);
    return c.body(body, 200, {
      "content-type": (isManifestKey(key) ? contentTypes.mpd : contentTypes.m3u8) as string,
      "x-content-type-options": "nosniff",
      // The links inside expire; a player re-reading a live copy must not get stale ones.
      "cache-control": "private, max-age=60",
    });
  });

  app.get("/*", async (c) => {
    const deps = c.get("deps");
    const key = keyFromPath(c.req.path.replace(/^\/files\//, ""));
    await requireDownloadToken(c, key);
    const file = deps.storage?.bytes ? await deps.storage.bytes.get(key) : null;
    if (!file) throw gone();
    const name = key.split("/").at(-1) ?? "download";
    deps.usage.served(key.split("/")[0] ?? "", file.sizeBytes, deps.clock());
    return c.body(file.body, 200, {
      "content-type": contentTypes[name.split(".").at(-1) ?? ""] ?? "application/octet-stream",
      // Served as attachments that are never sniffed: user media can't become a page on this origin.
      "x-content-type-options": "nosniff",
      "content-length": String(file.sizeBytes),
      "content-disposition": `attachment; filename="${name}"`,
      "cache-control": "private, max-age=3600",
    });
  });

  return app;
}
