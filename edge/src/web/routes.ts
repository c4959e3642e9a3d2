import { Hono } from "hono";
import type { EdgeConfig } from "../config";
import type { EdgeDeps } from "../deps";
import type { EdgeEnv } from "../env";
import { problemResponse } from "../problem";
import { webAssets, webEntry } from "./assets.gen";
import { faviconSvg, pageHtml } from "./page";

/**
 * The web console: one HTML page and its hashed, bundled assets (edge/web, built into
 * assets.gen.ts), served from memory so the same code works on Node and on Workers.
 */
export function webRoutes() {
  const app = new Hono<EdgeEnv>();
  const html = pageHtml(webEntry);

  app.get("/", async (c) => {
    const deps = c.get("deps");
    return c.html(html, 200, pageHeaders(deps.config, await storageOrigin(deps)));
  });

  // One route for the favicon and the hashed assets: a fixed path beside a parameter at the same
  // level is more than Hono's RegExpRouter takes, and the whole app would fall back to its slower
  // trie router (about 3 µs of every API request, measured with --cpu-prof).
  app.get("/app/:name", (c) => {
    const name = c.req.param("name");
    if (name === "favicon.svg")
      return c.body(faviconSvg, 200, {
        "content-type": "image/svg+xml",
        "cache-control": "public, max-age=86400",
        "x-content-type-options": "nosniff",
      });
    const asset = Object.hasOwn(webAssets, name) ? webAssets[name] : undefined;
    if (!asset) return problemResponse(c, "not_found", `No asset ${name}.`);
    return c.body(asset.body, 200, {
      "content-type": asset.type,
      // Names carry a content hash: a new build is a new name.
      "cache-control": "public, max-age=31536000, immutable",
      "x-content-type-options": "nosniff",
    });
  });

  return app;
}

const origin = (url: string) => new URL(url).origin;

/**
 * Where download links (and S3 upload URLs) point: this edge for the local store, the S3 endpoint
 * clients see for S3. Read off a link the store signs, so it is whatever the store really uses.
 */
async function storageOrigin(deps: Pick<EdgeDeps, "storage" | "clock">): Promise<string | null> {
  if (!deps.storage) return null;
  // Signing is local work (no request); the key only has to have the shape of a real one.
  return origin(await deps.storage.downloadUrl("csp/probe/origin", deps.clock()));
}

/**
 * The page runs only its own bundled script (no inline script or style attributes); it talks to
 * this API, to the progress gateway over WebSocket, and loads media and images from download links.
 */
export function contentSecurityPolicy(
  config: Pick<EdgeConfig, "publicUrl" | "progressUrl">,
  storage: string | null = null,
): string {
  const api = origin(config.publicUrl);
  const gateway = origin(config.progressUrl);
  const files = storage && storage !== api ? ` ${storage}` : "";
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `connect-src 'self' ${api} ${gateway}${files}`,
    `img-src 'self' ${api}${files}`,
    // hls.js plays through Media Source Extensions (blob: URLs) and transmuxes in a blob: worker.
    `media-src 'self' ${api}${files} blob:`,
    "worker-src blob:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

function pageHeaders(config: EdgeConfig, storage: string | null): Record<string, string> {
  return {
    "content-security-policy": contentSecurityPolicy(config, storage),
    "x-content-type-options": "nosniff",
    // Download links carry signed tokens: never leak them in a Referer.
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
    "cache-control": "no-cache",
  };
}
