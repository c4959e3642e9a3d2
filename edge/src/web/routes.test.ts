import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { testConfig } from "../../../test/support/edge-harness";
import type { EdgeDeps } from "../deps";
import type { EdgeEnv } from "../env";
import { contentSecurityPolicy, webRoutes } from "./routes";

/** The console page and its assets, as the edge serves them (no database needed). */
function pageApp() {
  const app = new Hono<EdgeEnv>();
  const deps = { config: testConfig(), storage: null } as unknown as EdgeDeps;
  app.use("*", async (c, next) => {
    c.set("deps", deps);
    await next();
  });
  app.route("/", webRoutes());
  return app;
}

describe("the web console", () => {
  it("serves a page that runs only its own script, under a CSP naming the API and the gateway", async () => {
    const res = await pageApp().request("/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toMatch(/connect-src 'self' http:\/\/api\.test ws:\/\/progress\.test/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    const html = await res.text();
    // No inline script or style: every <script> has a src, no style attributes or blocks.
    expect(html.match(/<script(?![^>]*\ssrc=)[^>]*>/g)).toBeNull();
    expect(html).not.toMatch(/\sstyle=|<style/);
  });

  it("lets media and uploads reach S3 when downloads are presigned there", () => {
    const csp = contentSecurityPolicy(
      { publicUrl: "https://api.example", progressUrl: "wss://progress.example" },
      "https://bucket.s3.eu-west-1.amazonaws.com",
    );
    for (const directive of ["connect-src", "img-src", "media-src"]) {
      const line = csp.split("; ").find((d) => d.startsWith(directive)) ?? "";
      expect(line, directive).toContain("https://bucket.s3.eu-west-1.amazonaws.com");
    }
  });

  it("serves every asset the page names, typed, with long-lived caching; unknown names are 404", async () => {
    const app = pageApp();
    const html = await (await app.request("/")).text();
    const names = [...html.matchAll(/(?:src|href)="\/app\/([^"]+)"/g)].map((m) => m[1]);
    expect(names).toHaveLength(3); // favicon, stylesheet, script
    for (const name of names) {
      const res = await app.request(`/app/${name}`);
      expect(res.status, name).toBe(200);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      const type = res.headers.get("content-type") ?? "";
      if (name?.endsWith(".js")) {
        expect(type).toMatch(/^text\/javascript/);
        expect(res.headers.get("cache-control")).toContain("immutable");
        expect((await res.text()).length).toBeGreaterThan(10_000); // a real bundle, not a stub
      }
      if (name?.endsWith(".css")) expect(type).toMatch(/^text\/css/);
    }
    // The page's own script stays small: hls.js and dash.js are chunks loaded only to play HLS or
    // DASH, and nothing server-side (NATS, the database schema) may leak into the bundle.
    const script = names.find((n) => n?.endsWith(".js"));
    expect((await (await app.request(`/app/${script}`)).text()).length).toBeLessThan(100_000);
    for (const name of ["nope.js", "constructor", "__proto__"])
      expect((await app.request(`/app/${name}`)).status, name).toBe(404);
    const missing = await app.request("/app/nope.js");
    expect(await missing.json()).toMatchObject({ code: "not_found" });
  });
});
