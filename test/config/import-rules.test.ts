import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The dependency rules from the README, checked mechanically (biome's noImportCycles checks cycles
 * too, on every lint). Every form of import counts: `import … from`, `export … from`, side-effect
 * `import "x"` and dynamic `import("x")`, type-only imports included.
 */
const root = resolve(import.meta.dirname, "../..");

/** Where product code lives: what ships, as opposed to tests, benches, scripts and fixtures. */
const productDirs = [
  "shared/src",
  "edge/src",
  "edge/web/src",
  "native/lib",
  "node-worker/src",
  "node-worker/gateway/src",
  "node-worker/cli/src",
];

function sources(dir: string): string[] {
  if (!existsSync(join(root, dir))) return [];
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|tsx|mts|mjs)$/.test(e.name) && !e.parentPath.includes("node_modules"))
    .map((e) => relative(root, join(e.parentPath, e.name)));
}

const isTest = (file: string) => /\.test\.tsx?$/.test(file);

function imports(file: string): string[] {
  const text = readFileSync(join(root, file), "utf8");
  const found = [
    ...text.matchAll(
      /(?:^|[;\s])(?:import|export)\s[^'"`;]*?from\s*["']([^"']+)["']|(?:^|[;\s])import\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/gm,
    ),
  ];
  return found.map((m) => m[1] ?? m[2] ?? m[3] ?? "");
}

/** A relative import as a repository path ("edge/src/deps"), or null for a package import. */
function target(file: string, spec: string): string | null {
  return spec.startsWith(".") ? relative(root, resolve(root, dirname(file), spec)) : null;
}

/** The top-level folder a relative import lands in. */
const landsIn = (file: string, spec: string) => target(file, spec)?.split("/")[0] ?? spec;

/** The source file a relative import resolves to, if it is one of ours. */
function resolveFile(file: string, spec: string, known: Set<string>): string | null {
  const base = target(file, spec);
  if (base === null) return null;
  for (const candidate of [base, `${base}.ts`, `${base}.tsx`, `${base}/index.ts`]) {
    if (known.has(candidate)) return candidate;
  }
  return null;
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

  it("the contract entry (@framewire/shared) reaches no NATS or database code, even indirectly", () => {
    const known = new Set(sources("shared/src"));
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const spec of imports(file)) {
        expect(/^(@nats-io\/|drizzle-orm)/.test(spec), `${file} imports ${spec}`).toBe(false);
        const next = resolveFile(file, spec, known);
        if (next) visit(next);
      }
    };
    visit("shared/src/index.ts");
    visit("shared/src/client.ts");
    expect(seen.size).toBeGreaterThan(5);
  });

  it("edge/ and node-worker/ never import each other", () => {
    for (const [from, forbidden] of [
      ["edge", "node-worker"],
      ["node-worker", "edge"],
    ] as const) {
      for (const file of sources(from)) {
        for (const spec of imports(file)) {
          expect(
            spec.startsWith(`@framewire/${forbidden}`) || landsIn(file, spec) === forbidden,
            `${file} imports ${spec}`,
          ).toBe(false);
        }
      }
    }
  });

  it("the processing node, the gateway and the CLI are separate packages: none imports another's source", () => {
    const packages = ["node-worker/src", "node-worker/gateway/src", "node-worker/cli/src"];
    for (const from of packages) {
      for (const file of sources(from)) {
        for (const spec of imports(file)) {
          const to = target(file, spec);
          if (to === null) continue;
          for (const other of packages.filter((p) => p !== from)) {
            expect(to.startsWith(`${other}/`), `${file} imports ${spec}`).toBe(false);
          }
        }
      }
    }
  });

  it("node-worker/ reaches native/ only through @framewire/native", () => {
    for (const file of sources("node-worker")) {
      for (const spec of imports(file)) {
        expect(
          landsIn(file, spec) === "native" || spec.startsWith("@framewire/native/"),
          `${file} imports ${spec}`,
        ).toBe(false);
      }
    }
  });

  it("edge/ never imports native/", () => {
    for (const file of sources("edge")) {
      for (const spec of imports(file)) {
        expect(
          spec.startsWith("@framewire/native") || landsIn(file, spec) === "native",
          `${file} imports ${spec}`,
        ).toBe(false);
      }
    }
  });

  it("native/ takes only the media vocabulary from shared/ (the engine stays independent of the API)", () => {
    for (const file of sources("native/lib")) {
      for (const spec of imports(file)) {
        if (spec.startsWith("@framewire/"))
          expect(spec, `${file} imports ${spec}`).toBe("@framewire/shared/media");
        expect(
          ["shared", "edge", "node-worker"].includes(landsIn(file, spec)),
          `${file} imports ${spec}`,
        ).toBe(false);
      }
    }
  });

  it("product code never imports scripts/ or test/; tests beside it may use test/support only", () => {
    for (const dir of productDirs) {
      for (const file of sources(dir)) {
        for (const spec of imports(file)) {
          const to = target(file, spec) ?? "";
          expect(to.startsWith("scripts/"), `${file} imports ${spec}`).toBe(false);
          if (isTest(file)) {
            if (to.startsWith("test/"))
              expect(to.startsWith("test/support/"), `${file} imports ${spec}`).toBe(true);
          } else {
            expect(to.startsWith("test/"), `${file} imports ${spec}`).toBe(false);
          }
        }
      }
    }
  });

  it("has no import cycles (type-only imports count)", () => {
    const files = productDirs.flatMap(sources).filter((f) => !isTest(f));
    const known = new Set(files);
    const edges = new Map(
      files.map((f) => [
        f,
        imports(f)
          .map((spec) => resolveFile(f, spec, known))
          .filter((t): t is string => t !== null),
      ]),
    );
    const cycles: string[] = [];
    const done = new Set<string>();
    const path: string[] = [];
    const walk = (file: string) => {
      if (done.has(file)) return;
      if (path.includes(file)) {
        cycles.push([...path.slice(path.indexOf(file)), file].join(" → "));
        return;
      }
      path.push(file);
      for (const next of edges.get(file) ?? []) walk(next);
      path.pop();
      done.add(file);
    };
    for (const file of files) walk(file);
    expect(files.length).toBeGreaterThan(100);
    expect(cycles).toEqual([]);
  });

  it("the web console (edge/web/src) runs in a browser: no Node modules, values only from bundle-safe modules", () => {
    const files = sources("edge/web/src");
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      const text = readFileSync(join(root, file), "utf8");
      for (const spec of imports(file)) {
        expect(spec.startsWith("node:"), `${file} imports ${spec}`).toBe(false);
        expect(["node-worker", "native"].includes(landsIn(file, spec)), `${file} imports ${spec}`).toBe(
          false,
        );
      }
      // Beyond its own folder, preact and hls.js, the page takes values only from the typed client
      // and the job states, which bundle no zod, NATS or database code; types cost nothing.
      for (const m of text.matchAll(/^import\s+(?!type\b)[^;]*?from\s+"([^"]+)"/gm)) {
        const spec = m[1] ?? "";
        const own = (target(file, spec) ?? "").startsWith("edge/web/src");
        const bundleSafe = /^(preact|hls\.js)(\/|$)|^@framewire\/shared\/(client|job-state)$/.test(spec);
        expect(own || bundleSafe, `${file} imports values from ${spec}`).toBe(true);
      }
    }
  });
});
