import {
  FramewireError,
  type Template,
  type TemplateBody,
  templateBodySchema,
  templateCreateSchema,
  templateListQuerySchema,
  templateRefSchema,
} from "@framewire/shared";
import type { TemplateRow } from "@framewire/shared/db";
import { Hono } from "hono";
import { requireScope } from "../auth/authenticate";
import type { EdgeConfig } from "../config";
import type { EdgeDeps } from "../deps";
import type { EdgeEnv } from "../env";
import { refuseBadDestinationPath, refuseDestinationBucket } from "../jobs/destination";
import { parseOrThrow, readJson } from "../validation";
import { checkWebhookTarget } from "../webhooks/targets";
import {
  addTemplateVersion,
  deleteTemplate,
  findTemplate,
  insertTemplate,
  listTemplates,
  listTemplateVersions,
  parseTemplateRef,
} from "./repository";

const iso = (ms: number) => new Date(ms).toISOString();

export function presentTemplate(config: Pick<EdgeConfig, "publicUrl">, row: TemplateRow): Template {
  const body = row.body;
  const self = `${config.publicUrl}/v1/templates/${row.id}`;
  return {
    id: row.id,
    name: row.name,
    version: row.version,
    description: body.description ?? null,
    outputs: body.outputs,
    priority: body.priority ?? null,
    accel: body.accel ?? null,
    webhook: body.webhook ?? null,
    metadata: body.metadata ?? null,
    destination: body.destination ?? null,
    created_at: iso(row.firstCreatedAt),
    updated_at: iso(row.createdAt),
    links: { self, versions: `${self}/versions` },
  };
}

/** A template body's checks beyond its schema: the destination and the webhook target. */
async function checkBody(deps: EdgeDeps, body: TemplateBody): Promise<void> {
  refuseDestinationBucket(deps.config, body.destination);
  if (body.webhook) await checkWebhookTarget(deps, body.webhook.url, "webhook.url");
}

/** A destination path that would leave its prefix has its own code, checked before the schema. */
function refuseBadPath(raw: unknown) {
  refuseBadDestinationPath((raw as { destination?: unknown } | null)?.destination);
}

/** `/v1/templates`: a tenant's named, versioned outputs and job defaults. */
export function templatesRoutes() {
  const app = new Hono<EdgeEnv>();

  /** The template a path names (`:ref` is `<name or id>[@version]`), this tenant's only. */
  const named = async (c: import("hono").Context<EdgeEnv>) => {
    const ref = c.req.param("ref") ?? "";
    const row = templateRefSchema.safeParse(ref).success
      ? await findTemplate(c.get("deps").db, c.get("auth").tenantId, parseTemplateRef(ref))
      : null;
    if (!row) throw new FramewireError("not_found", `No template ${ref} exists for this API key's tenant.`);
    return row;
  };

  app.post("/", requireScope("jobs:write"), async (c) => {
    const deps = c.get("deps");
    const raw = await readJson(c);
    refuseBadPath(raw);
    const { name, ...body } = parseOrThrow(templateCreateSchema, raw, "template");
    await checkBody(deps, body);
    const row = await insertTemplate(deps.db, c.get("auth").tenantId, name, body, deps.clock());
    if (!row)
      throw new FramewireError("conflict", `A template named ${name} exists already: PUT a new version.`);
    return c.json(presentTemplate(deps.config, row), 201, {
      location: `${deps.config.publicUrl}/v1/templates/${row.id}`,
    });
  });

  app.get("/", requireScope("jobs:read"), async (c) => {
    const deps = c.get("deps");
    const query = parseOrThrow(templateListQuerySchema, c.req.query(), "query");
    const rows = await listTemplates(deps.db, c.get("auth").tenantId, query);
    const last = rows.at(-1);
    return c.json({
      data: rows.map((row) => presentTemplate(deps.config, row)),
      next_cursor: rows.length === query.limit && last ? last.id : null,
    });
  });

  app.get("/:ref", requireScope("jobs:read"), async (c) =>
    c.json(presentTemplate(c.get("deps").config, await named(c))),
  );

  app.get("/:ref/versions", requireScope("jobs:read"), async (c) => {
    const deps = c.get("deps");
    const row = await named(c);
    const versions = await listTemplateVersions(deps.db, row.tenantId, row.id);
    return c.json({ data: versions.map((v) => presentTemplate(deps.config, v)) });
  });

  /** An update is a new version; jobs made from earlier versions keep the version they used. */
  app.put("/:ref", requireScope("jobs:write"), async (c) => {
    const deps = c.get("deps");
    const current = await named(c);
    const raw = await readJson(c);
    refuseBadPath(raw);
    const body = parseOrThrow(templateBodySchema, raw, "template");
    await checkBody(deps, body);
    const row = await addTemplateVersion(deps.db, current, body, deps.clock());
    return c.json(presentTemplate(deps.config, row));
  });

  app.delete("/:ref", requireScope("jobs:write"), async (c) => {
    const deps = c.get("deps");
    const row = await named(c);
    await deleteTemplate(deps.db, row.tenantId, row.id);
    return c.body(null, 204);
  });

  return app;
}
