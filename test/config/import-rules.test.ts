import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

/** The dependency rules from the README, checked mechanically. */
const root = resolve(import.meta.dirname, "../..");

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|mts|mjs)$/.test(e.name) && !e.parentPath.includes("node_modules"))
    .map((e) => relative(root, join(e.parentPath, e.name)));
}

function imports(file: string): string[] {
  const text = readFileSync(join(root, file), "utf8");
  const found = [
    ...text.matchAll(/(?:import|export)[^'"]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g),
  ];
  return found.map((m) => m[1] ?? m[2] ?? "");
}

/** Resolves a relative import to the top-level folder it lands in. */
function landsIn(file: string, spec: string): string {
  if (!spec.startsWith(".")) return spec;
  return relative(root, resolve(root, file, "..", spec)).split("/")[0] ?? "";
}

describe("import rules", () => {
  it("shared/ imports nothing of ours and nothing Node-specific", () => {
    for (const file of sources("shared/src")) {
      for (const spec of imports(file)) {
        expect(spec.startsWith("node:"), `${file} imports ${spec}`).toBe(false);
        expect(spec.startsWith("@framewire/"), `${file} imports ${spec}`).toBe(false);
        if (spec.startsWith(".")) expect(landsIn(file, spec), `${file} imports ${spec}`).toBe("shared");
      }
    }
  });

  it("edge/ and node-worker/ never import each other", () => {
    for (const [from, forbidden] of [
      ["edge/src", "node-worker"],
      ["node-worker/src", "edge"],
    ] as const) {
      for (const file of sources(from)) {
        for (const spec of imports(file)) {
          expect(
            spec === `@framewire/${forbidden}` || landsIn(file, spec) === forbidden,
            `${file} imports ${spec}`,
          ).toBe(false);
        }
      }
    }
  });

  it("node-worker/ reaches native/ only through @framewire/native", () => {
    for (const file of sources("node-worker/src")) {
      for (const spec of imports(file)) {
        expect(
          landsIn(file, spec) === "native" || spec.startsWith("@framewire/native/"),
          `${file} imports ${spec}`,
        ).toBe(false);
      }
    }
  });

  it("edge/ never imports native/", () => {
    for (const file of sources("edge/src")) {
      for (const spec of imports(file)) {
        expect(
          spec.startsWith("@framewire/native") || landsIn(file, spec) === "native",
          `${file} imports ${spec}`,
        ).toBe(false);
      }
    }
  });

  it("the web console (edge/web/src) runs in a browser: no Node modules, shared/ for types only", () => {
    const files = readdirSync(join(root, "edge/web/src"), { withFileTypes: true, recursive: true })
      .filter((e) => e.isFile() && /\.tsx?$/.test(e.name))
      .map((e) => relative(root, join(e.parentPath, e.name)));
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      const text = readFileSync(join(root, file), "utf8");
      for (const spec of imports(file)) {
        expect(spec.startsWith("node:"), `${file} imports ${spec}`).toBe(false);
        expect(["node-worker", "native"].includes(landsIn(file, spec)), `${file} imports ${spec}`).toBe(
          false,
        );
      }
      // Beyond its own folder, preact and hls.js, the page takes types only: shared/'s index (and
      // edge/src/client.ts, which re-exports from it) carry NATS and database code a value import
      // would bundle into the page.
      for (const m of text.matchAll(/^import\s+(?!type\b)[^;]*?from\s+"([^"]+)"/gm)) {
        const spec = m[1] ?? "";
        const own =
          spec.startsWith("./") ||
          (spec.startsWith("../") &&
            landsIn(file, spec) === "edge" &&
            resolve(root, file, "..", spec).startsWith(join(root, "edge/web/src")));
        expect(own || /^(preact|hls\.js)(\/|$)/.test(spec), `${file} imports values from ${spec}`).toBe(true);
      }
    }
  });
});
