import { type DownloadTokenClaims, FramewireError, isSafeStorageKey, verifyToken } from "@framewire/shared";
import { Hono } from "hono";
import type { EdgeEnv } from "../env";

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
  jpg: "image/jpeg",
  png: "image/png",
  webp: "image/webp",
  vtt: "text/vtt",
  json: "application/json",
};

/** Signed downloads from the local store: the token, not an API key, is the permission. */
export function filesRoutes() {
  const app = new Hono<EdgeEnv>();

  app.get("/*", async (c) => {
    const deps = c.get("deps");
    const key = decodeURIComponent(c.req.path.replace(/^\/files\//, ""));
    const token = c.req.query("token") ?? "";
    const check = await verifyToken<DownloadTokenClaims>(
      deps.config.tokenSecret,
      "download",
      token,
      Math.floor(deps.clock() / 1000),
    );
    if (!check.ok || check.claims.key !== key || !isSafeStorageKey(key)) {
      throw new FramewireError("not_found", "This download link is invalid or has expired.");
    }
    const file = deps.storage?.bytes ? await deps.storage.bytes.get(key) : null;
    if (!file) throw new FramewireError("not_found", "The file no longer exists.");
    const name = key.split("/").at(-1) ?? "download";
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
