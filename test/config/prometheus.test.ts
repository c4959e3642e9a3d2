import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { repoRoot } from "../../scripts/lib/stack";
import { alertRules, metricNamesIn, prometheusDir } from "../support/prometheus-rules";

/**
 * The alerts that ship (deploy/prometheus/): Prometheus' own tool accepts the rules and the scrape
 * config, and its rule unit tests (alerts.test.yml) fire and resolve every alert. promtool comes
 * from Debian's `prometheus` package (./dev installs it). The metric names the rules use are checked
 * here against what the code registers, and in test/e2e/operations.e2e.test.ts against the real
 * processes' /metrics.
 */

const dir = prometheusDir;
const promtool = (...args: string[]) =>
  execFileSync("promtool", args, { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

const rules = alertRules();

interface UnitTest {
  alert_rule_test: { eval_time: string; alertname: string; exp_alerts: unknown[] }[];
}
const unitTests = (parse(readFileSync(join(dir, "alerts.test.yml"), "utf8")) as { tests: UnitTest[] }).tests;

/** Every metric name product code gives prom-client (`name: "fw_…"`). */
function registeredMetricNames(): Set<string> {
  const names = new Set<string>();
  for (const root of ["edge/src", "node-worker/src", "node-worker/gateway/src"]) {
    for (const entry of readdirSync(join(repoRoot, root), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !entry.name.endsWith(".ts") || entry.name.endsWith(".test.ts")) continue;
      const text = readFileSync(join(entry.parentPath, entry.name), "utf8");
      for (const [, name] of text.matchAll(/name: "(fw_[a-z0-9_]+)"/g)) if (name) names.add(name);
      // gauges made through a helper: gauge("fw_…", …)
      for (const [, name] of text.matchAll(/gauge\(\s*"(fw_[a-z0-9_]+)"/g)) if (name) names.add(name);
    }
  }
  return names;
}

const minutes = (d: string) => {
  const m = /^(\d+)m$/.exec(d);
  if (!m) throw new Error(`eval_time ${d}: use minutes`);
  return Number(m[1]);
};

describe("deploy/prometheus", () => {
  const temp = mkdtempSync(join(tmpdir(), "fw-prom-"));
  afterAll(() => rmSync(temp, { recursive: true, force: true }));

  it("promtool accepts the alert rules and the scrape config", () => {
    expect(promtool("check", "rules", "alerts.yml")).toContain(`SUCCESS: ${rules.length} rules found`);
    // The config names the rules and the token where docker-compose mounts them; point them here.
    const config = parse(readFileSync(join(dir, "prometheus.yml"), "utf8")) as {
      rule_files: string[];
      scrape_configs: { authorization?: { credentials_file: string } }[];
    };
    writeFileSync(join(temp, "token"), "a-metrics-token-of-some-length");
    config.rule_files = [join(dir, "alerts.yml")];
    for (const job of config.scrape_configs) {
      if (job.authorization) job.authorization.credentials_file = join(temp, "token");
    }
    writeFileSync(join(temp, "prometheus.yml"), stringify(config));
    expect(promtool("check", "config", join(temp, "prometheus.yml"))).toContain("SUCCESS");
  });

  it("every alert fires on its symptom and resolves after it (promtool test rules)", () => {
    const out = promtool("test", "rules", "alerts.test.yml");
    expect(out).toContain("SUCCESS");
    for (const rule of rules) {
      const evals = unitTests
        .flatMap((t) => t.alert_rule_test)
        .filter((e) => e.alertname === rule.alert)
        .map((e) => ({ at: minutes(e.eval_time), firing: e.exp_alerts.length > 0 }));
      const fired = evals.filter((e) => e.firing).map((e) => e.at);
      expect(fired.length, `${rule.alert} is never fired by a test`).toBeGreaterThan(0);
      const resolvedAfter = evals.some((e) => !e.firing && e.at > Math.min(...fired));
      expect(resolvedAfter, `${rule.alert} is never seen resolving after it fired`).toBe(true);
    }
  });

  it("every alert names its fix in one sentence and reads only metrics the code exports", () => {
    const registered = registeredMetricNames();
    // A sanity check on the scan: it sees each process's metrics.
    for (const name of ["fw_http_request_duration_seconds", "fw_node_jobs_total", "fw_gateway_connections"]) {
      expect(registered, name).toContain(name);
    }
    for (const rule of rules) {
      expect(rule.annotations.summary, rule.alert).toBeTruthy();
      expect(rule.annotations.runbook, rule.alert).toMatch(/^[^\n]+\.$/);
      expect(rule.labels.severity, rule.alert).toMatch(/^(info|warning|critical)$/);
      for (const name of metricNamesIn(rule.expr)) {
        expect(registered.has(name), `${rule.alert} reads ${name}, which nothing exports`).toBe(true);
      }
    }
    expect(relative(repoRoot, dir)).toBe("deploy/prometheus");
  });
});
