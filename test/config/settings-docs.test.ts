import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { repoRoot, settingDocs, withConfigTable } from "../../scripts/config-docs";

/**
 * Configuration from one place: README.md's table is what `npm run docs:config` writes from the
 * processes' settings schemas, and every FW_ variable the product names is a setting of one of them.
 */

/** Where product code and deploy files name variables (tests, benches and fixtures are not scanned). */
const scanned = [
  "edge/src",
  "edge/web/src",
  "node-worker/src",
  "node-worker/gateway/src",
  "node-worker/cli/src",
  "native/lib",
  "shared/src",
  "scripts",
  "wrangler.toml",
  "docker-compose.yml",
  "Dockerfile",
  "deploy",
];

/**
 * FW_ names that are not variables: the JetStream stream names (shared/src/nats/names.ts), which
 * comments and metric help texts mention.
 */
const notVariables = new Set(["FW_JOBS", "FW_DLQ"]);

function files(path: string): string[] {
  const full = join(repoRoot, path);
  if (!existsSync(full)) return [];
  if (statSync(full).isFile()) return [path];
  return readdirSync(full, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && !e.parentPath.includes("node_modules"))
    .map((e) => relative(repoRoot, join(e.parentPath, e.name)))
    .filter((f) => !/\.test\.tsx?$/.test(f) && !f.endsWith(".gen.ts"));
}

/** Each FW_ name found, with the first file that names it. */
function namesInProduct(): Map<string, string> {
  const found = new Map<string, string>();
  for (const file of scanned.flatMap(files)) {
    for (const [name] of readFileSync(join(repoRoot, file), "utf8").matchAll(/\bFW_[A-Z0-9_]+/g)) {
      if (!found.has(name)) found.set(name, file);
    }
  }
  return found;
}

describe("configuration", () => {
  const settings = new Set(settingDocs().map((d) => d.name));

  it("README.md's table is the one the settings schemas give (run npm run docs:config)", () => {
    const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
    expect(readme === withConfigTable(readme), "README.md is stale: run npm run docs:config").toBe(true);
  });

  it("documents every FW_ variable product code and deploy files name", () => {
    const names = namesInProduct();
    // A sanity check on the scan itself: it sees the variables of every process.
    for (const name of ["FW_PUBLIC_URL", "FW_EDGE_URL", "FW_GATEWAY_PORT", "FW_DATA_DIR", "FW_NATS_WS_URL"]) {
      expect(names.has(name), name).toBe(true);
    }
    const undocumented = [...names]
      .filter(([name]) => !notVariables.has(name))
      // "FW_S3_" as in "FW_S3_*": a family, documented when some setting belongs to it.
      .filter(([name]) =>
        name.endsWith("_") ? ![...settings].some((s) => s.startsWith(name)) : !settings.has(name),
      )
      .map(([name, file]) => `${name} (${file})`);
    expect(undocumented, "read these through a settings schema (see scripts/config-docs.ts)").toEqual([]);
  });

  it("describes every setting, defines a variable several processes read once, and gives a default or says none", () => {
    const docs = settingDocs();
    expect(docs.length).toBeGreaterThan(60);
    for (const doc of docs) {
      expect(doc.description.length, doc.name).toBeGreaterThan(10);
      expect(doc.default, doc.name).toMatch(/^(`.+`|empty|unset|required|[a-z].+)$/);
    }
    expect(docs.find((d) => d.name === "FW_S3_BUCKET")?.readBy).toEqual([
      "edge (Node)",
      "edge (Workers)",
      "node",
    ]);
    expect(docs.find((d) => d.name === "FW_SLOTS")?.default).toBe("half the cores, at least 1");
  });

  it("refuses a variable two processes define differently, and a setting without a description", () => {
    const port = (fallback: number) => z.coerce.number().default(fallback).describe("a port");
    const twice = [
      { process: "a", schema: z.object({ FW_X_PORT: port(1) }) },
      { process: "b", schema: z.object({ FW_X_PORT: port(2) }) },
    ];
    expect(() => settingDocs(twice)).toThrow(/FW_X_PORT is defined differently by a and b/);
    expect(() => settingDocs([{ process: "a", schema: z.object({ FW_X: z.string() }) }])).toThrow(
      /FW_X \(a\) has no .describe\(\) text/,
    );
  });
});
