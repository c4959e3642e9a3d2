import { Hono } from "hono";
import type { EdgeConfig } from "../config";
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

  app.get("/", (c) => {
    const headers = pageHeaders(c.get("deps").config);
    return c.html(html, 200, headers);
  });

  app.get("/app/favicon.svg", (c) =>
    c.body(faviconSvg, 200, {
      "content-type": "image/svg+xml",
      "cache-control": "public, max-age=86400",
      "x-content-type-options": "nosniff",
    }),
  );

  app.get("/app/:name", (c) => {
    const asset = webAssets[c.req.param("name")];
    if (!asset) return problemResponse(c, "not_found", `No asset ${c.req.param("name")}.`);
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
 * The page runs only its own bundled script (no inline script or style attributes); it talks to
 * this API, to the progress gateway over WebSocket, and loads media and images from download links.
 */
export function contentSecurityPolicy(config: Pick<EdgeConfig, "publicUrl" | "progressUrl">): string {
  const api = origin(config.publicUrl);
  const gateway = origin(config.progressUrl);
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `connect-src 'self' ${api} ${gateway}`,
    `img-src 'self' ${api}`,
    // hls.js plays through Media Source Extensions (blob: URLs) and transmuxes in a blob: worker.
    `media-src 'self' ${api} blob:`,
    "worker-src blob:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

function pageHeaders(config: EdgeConfig): Record<string, string> {
  return {
    "content-security-policy": contentSecurityPolicy(config),
    "x-content-type-options": "nosniff",
    // Download links carry signed tokens: never leak them in a Referer.
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
    "cache-control": "no-cache",
  };
}
