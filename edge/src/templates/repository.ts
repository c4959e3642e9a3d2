import { newId, type TemplateBody } from "@framewire/shared";
import { type TemplateRow, templates } from "@framewire/shared/db";
import { and, desc, eq, gt, lt, max, sql } from "drizzle-orm";
import type { Db } from "../db";

/**
 * Templates, one row per version. Reads resolve a name or id to a version (the latest when none is
 * named); an update inserts the next version, so a job that recorded `<id>@<n>` can always be told
 * what it was made from while the template exists.
 */

export interface TemplateRef {
  /** A template id (`tpl_…`) or name. */
  nameOrId: string;
  version: number | null;
}

/** `<name or id>[@version]`, as the contract's templateRefSchema admits it. */
export function parseTemplateRef(ref: string): TemplateRef {
  const at = ref.lastIndexOf("@");
  if (at < 0) return { nameOrId: ref, version: null };
  return { nameOrId: ref.slice(0, at), version: Number(ref.slice(at + 1)) };
}

const isTemplateId = (text: string) => /^tpl_[0-9a-z]{26}$/.test(text);

/** The version a reference names (latest when it names none), or null. */
export async function findTemplate(db: Db, tenantId: string, ref: TemplateRef): Promise<TemplateRow | null> {
  const which = isTemplateId(ref.nameOrId)
    ? eq(templates.id, ref.nameOrId)
    : eq(templates.name, ref.nameOrId);
  const [row] = await db
    .select()
    .from(templates)
    .where(
      and(
        eq(templates.tenantId, tenantId),
        which,
        ...(ref.version !== null ? [eq(templates.version, ref.version)] : []),
      ),
    )
    .orderBy(desc(templates.version))
    .limit(1);
  return row ?? null;
}

/** A new template (version 1); null when the tenant already has one with this name. */
export async function insertTemplate(
  db: Db,
  tenantId: string,
  name: string,
  body: TemplateBody,
  now: number,
): Promise<TemplateRow | null> {
  const row: TemplateRow = {
    id: newId("tpl", now),
    version: 1,
    tenantId,
    name,
    body,
    firstCreatedAt: now,
    createdAt: now,
  };
  // The unique (tenant, name, version) index refuses a second version 1 of the same name.
  const inserted = await db.insert(templates).values(row).onConflictDoNothing().returning();
  return inserted[0] ?? null;
}

/**
 * The next version of a template. Two updates racing for the same version: the primary key keeps
 * one, and the loser takes the version after it.
 */
export async function addTemplateVersion(
  db: Db,
  current: TemplateRow,
  body: TemplateBody,
  now: number,
): Promise<TemplateRow> {
  for (let version = current.version + 1; ; version++) {
    const inserted = await db
      .insert(templates)
      .values({ ...current, version, body, createdAt: now })
      .onConflictDoNothing()
      .returning();
    if (inserted[0]) return inserted[0];
    const [latest] = await db
      .select({ version: max(templates.version) })
      .from(templates)
      .where(eq(templates.id, current.id));
    version = Math.max(version, latest?.version ?? version);
  }
}

/** Deletes every version; false when there was none. */
export async function deleteTemplate(db: Db, tenantId: string, id: string): Promise<boolean> {
  const deleted = await db
    .delete(templates)
    .where(and(eq(templates.tenantId, tenantId), eq(templates.id, id)))
    .returning({ id: templates.id });
  return deleted.length > 0;
}

/** The latest version of each of a tenant's templates, by id (newest first), paged. */
export async function listTemplates(
  db: Db,
  tenantId: string,
  options: { cursor?: string | undefined; limit: number },
): Promise<TemplateRow[]> {
  return db
    .select()
    .from(templates)
    .where(
      and(
        eq(templates.tenantId, tenantId),
        ...(options.cursor ? [lt(templates.id, options.cursor)] : []),
        sql`${templates.version} = (select max(v.version) from templates v where v.id = ${templates.id})`,
      ),
    )
    .orderBy(desc(templates.id))
    .limit(options.limit);
}

/** Every version of one template, newest first. */
export async function listTemplateVersions(db: Db, tenantId: string, id: string): Promise<TemplateRow[]> {
  return db
    .select()
    .from(templates)
    .where(and(eq(templates.tenantId, tenantId), eq(templates.id, id), gt(templates.version, 0)))
    .orderBy(desc(templates.version));
}
