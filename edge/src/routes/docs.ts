import { Hono } from "hono";
import type { EdgeEnv } from "../env";
import { openApiDocument } from "../openapi";

/**
 * A self-contained docs page (no CDN: it must work offline): it fetches /openapi.json and renders
 * each operation with its parameters, request schema and responses.
 */
const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Framewire API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem;color:#222}
h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2rem}
.op{margin:1rem 0;padding:.5rem 1rem;border:1px solid #e3e3e3;border-radius:6px}
.m{display:inline-block;min-width:4.5rem;font-weight:700;text-transform:uppercase}
.get{color:#0a7}.post{color:#06c}.put{color:#a60}.delete{color:#c33}
pre{background:#f6f6f6;padding:.5rem;overflow:auto;font-size:12px;max-height:24rem}
details summary{cursor:pointer;color:#555}
</style></head><body>
<h1>Framewire API</h1>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1). Authenticate with
<code>Authorization: Bearer fw_&lt;prefix&gt;_&lt;secret&gt;</code>. Errors are problem details with a stable <code>code</code>.</p>
<div id="ops">Loading…</div>
<script>
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"})[c]);
fetch("/openapi.json").then((r) => r.json()).then((doc) => {
  const resolve = (s) => s && s.$ref ? doc.components.schemas[s.$ref.split("/").pop()] : s;
  let html = "";
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (method === "parameters") continue;
      const params = [...(item.parameters || []), ...(op.parameters || [])];
      html += '<div class="op"><div><span class="m ' + method + '">' + method + "</span> <code>" + esc(path) + "</code></div>";
      html += "<p>" + esc(op.summary || "") + "</p>";
      if (params.length) html += "<p>Parameters: " + params.map((p) => "<code>" + esc(p.name) + "</code> (" + p.in + ")").join(", ") + "</p>";
      const body = op.requestBody && op.requestBody.content["application/json"];
      if (body) html += "<details><summary>Request body</summary><pre>" + esc(JSON.stringify(resolve(body.schema), null, 2)) + "</pre></details>";
      html += "<p>Responses: " + Object.entries(op.responses).map(([s, r]) => "<b>" + s + "</b> " + esc(r.description)).join("; ") + "</p></div>";
    }
  }
  document.getElementById("ops").innerHTML = html;
});
</script></body></html>`;

export function docsRoutes() {
  const app = new Hono<EdgeEnv>();
  app.get("/openapi.json", (c) => c.json(openApiDocument(c.get("deps").config.publicUrl)));
  app.get("/docs", (c) => c.html(page));
  return app;
}
