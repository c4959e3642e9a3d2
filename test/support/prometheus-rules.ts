import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { repoRoot } from "../../scripts/lib/stack";

/** Test fixture: the alert rules that ship (deploy/prometheus/alerts.yml), read as data. */

export const prometheusDir = join(repoRoot, "deploy/prometheus");

export interface AlertRule {
  alert: string;
  expr: string;
  labels: { severity: string };
  annotations: { summary: string; runbook: string };
}

export function alertRules(): AlertRule[] {
  const doc = parse(readFileSync(join(prometheusDir, "alerts.yml"), "utf8")) as {
    groups: { rules: AlertRule[] }[];
  };
  return doc.groups.flatMap((g) => g.rules);
}

/** The `fw_` metric names an expression reads (histogram series by their family name). */
export function metricNamesIn(expr: string): string[] {
  return [
    ...new Set(
      [...expr.matchAll(/\bfw_[a-z0-9_]+/g)].map(([name]) => name.replace(/_(bucket|count|sum)$/, "")),
    ),
  ];
}

/** The metric families a /metrics text declares (its `# TYPE` lines, present even before a first value). */
export function declaredMetrics(text: string): Set<string> {
  return new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map(([, name]) => name as string));
}
