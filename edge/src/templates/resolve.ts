import { FramewireError, type JobSpec, jobSpecSchema } from "@framewire/shared";
import type { TemplateRow } from "@framewire/shared/db";
import type { EdgeDeps } from "../deps";
import { refuseBadDestinationPath, refuseDestinationBucket } from "../jobs/destination";
import { parseOrThrow } from "../validation";
import { findTemplate, parseTemplateRef } from "./repository";

/** The template a reference names, or `template_not_found` pointing at `field`. */
export async function resolveTemplate(
  deps: Pick<EdgeDeps, "db">,
  tenantId: string,
  ref: string,
  field = "template",
): Promise<TemplateRow> {
  const row = await findTemplate(deps.db, tenantId, parseTemplateRef(ref));
  if (row) return row;
  throw new FramewireError("template_not_found", `${field}: no template ${ref} exists for this tenant`, {
    errors: [{ field, message: "no such template (or version)" }],
  });
}

/**
 * A request's fields over a template's: every field the request gives wins; an output with the
 * name of a template output replaces it (in its place), other outputs are added after; metadata
 * entries are merged (the request's win). `template` records the version used as `<id>@<version>`.
 */
export function mergeTemplate(
  template: TemplateRow | null,
  request: Record<string, unknown>,
): Record<string, unknown> {
  const given = Object.fromEntries(Object.entries(request).filter(([, v]) => v !== undefined));
  if (!template) return given;
  const { description: _description, outputs: templateOutputs, metadata, ...defaults } = template.body;
  const { outputs, metadata: requestMetadata, template: _ref, ...rest } = given;
  const byName = new Map<string, unknown>(templateOutputs.map((o) => [o.name, o]));
  for (const output of (outputs as { name: string }[] | undefined) ?? []) byName.set(output.name, output);
  const mergedMetadata = { ...metadata, ...(requestMetadata as Record<string, string> | undefined) };
  return {
    ...defaults,
    ...rest,
    outputs: [...byName.values()],
    ...(Object.keys(mergedMetadata).length > 0 ? { metadata: mergedMetadata } : {}),
    template: `${template.id}@${template.version}`,
  };
}

/**
 * A job spec from a request that may name a template (POST /v1/jobs, and each job of a batch or a
 * watch): template resolved and merged, then the whole spec validated once with the contract's
 * schema; its destination checked against the operator's buckets.
 */
export async function specFromRequest(
  deps: Pick<EdgeDeps, "db" | "config">,
  tenantId: string,
  request: Record<string, unknown>,
  what = "job spec",
): Promise<{ spec: JobSpec; template: TemplateRow | null }> {
  refuseBadDestinationPath(request.destination);
  const ref = request.template;
  const template = typeof ref === "string" ? await resolveTemplate(deps, tenantId, ref) : null;
  const spec = parseOrThrow(jobSpecSchema, mergeTemplate(template, request), what);
  refuseDestinationBucket(deps.config, spec.destination);
  return { spec, template };
}
