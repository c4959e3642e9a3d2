import type { ApiKey, Scope } from "@framewire/shared";
import { type Command, InvalidArgumentError } from "commander";
import type { ApiClient } from "./api-client";

/**
 * `framewire tenants …` and `framewire keys …`: the operator's side of API keys (an admin key is
 * needed; the API answers 403 otherwise, which exits 3). Secrets are printed once, on their own
 * line on stdout, so `framewire keys create … | tail -1` captures just the key.
 */
export function addAdminCommands(program: Command, connect: () => ApiClient): void {
  const line = (k: ApiKey) =>
    [
      k.id,
      k.prefix,
      k.name.padEnd(12),
      k.scopes.join(","),
      k.revoked_at ? `revoked ${k.revoked_at}` : k.expires_at ? `expires ${k.expires_at}` : "active",
      `used ${k.request_count}×${k.last_used_at ? ` (last ${k.last_used_at})` : ""}`,
    ].join("  ");

  const tenants = program.command("tenants").description("list and create tenants (admin)");
  tenants
    .command("list")
    .option("--json", "print JSON")
    .action(async (options: { json?: boolean }) => {
      const { data } = await connect().admin.listTenants();
      if (options.json) console.log(JSON.stringify(data, null, 2));
      else for (const t of data) console.log(`${t.id}  ${t.name}  ${t.created_at}`);
    });
  tenants
    .command("create")
    .argument("<name>")
    .action(async (name: string) => {
      console.log((await connect().admin.createTenant(name)).id);
    });

  const keys = program.command("keys").description("list, create, revoke and rotate API keys (admin)");
  keys
    .command("list")
    .option("--tenant <id>", "only this tenant's keys")
    .option("--json", "print JSON")
    .action(async (options: { tenant?: string; json?: boolean }) => {
      const { data } = await connect().admin.listKeys(options.tenant);
      if (options.json) console.log(JSON.stringify(data, null, 2));
      else for (const k of data) console.log(line(k));
    });
  keys
    .command("create")
    .requiredOption("--tenant <id>", "the tenant the key acts for")
    .requiredOption("--name <name>", "what the key is for")
    .option("--scope <scope...>", "jobs:read, jobs:write, admin", ["jobs:read", "jobs:write"])
    .option("--expires <iso-date>", "when the key stops working", isoDate)
    .action(async (options: { tenant: string; name: string; scope: string[]; expires?: string }) => {
      const key = await connect().admin.createKey(options.tenant, {
        name: options.name,
        scopes: options.scope as Scope[],
        ...(options.expires ? { expires_at: options.expires } : {}),
      });
      console.error(`created ${key.id} (${key.scopes.join(",")}); the secret is shown only now:`);
      console.log(key.key);
    });
  keys
    .command("jobs")
    .description("the jobs a key submitted, newest first (a key that leaked: what did it do?)")
    .argument("<key-id>")
    .option("--limit <n>", "how many", "20")
    .option("--json", "print JSON")
    .action(async (id: string, options: { limit: string; json?: boolean }) => {
      const page = await connect().admin.keyJobs(id, Number(options.limit));
      if (options.json) console.log(JSON.stringify(page, null, 2));
      else for (const job of page.data) console.log(`${job.id}  ${job.status.padEnd(9)}  ${job.created_at}`);
    });
  keys
    .command("revoke")
    .argument("<key-id>")
    .action(async (id: string) => {
      console.log(line(await connect().admin.revokeKey(id)));
    });
  keys
    .command("rotate")
    .argument("<key-id>")
    .option("--grace <seconds>", "how long the old key keeps working (default: the edge's setting)", seconds)
    .action(async (id: string, options: { grace?: number }) => {
      const rotated = await connect().admin.rotateKey(id, options.grace);
      console.error(
        `${id} is replaced by ${rotated.id}; the old key works until ${rotated.replaces?.revoked_at ?? "now"}. New secret:`,
      );
      console.log(rotated.key);
    });
}

function isoDate(value: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms))
    throw new InvalidArgumentError("not a date (use ISO 8601, e.g. 2027-01-31T00:00:00Z)");
  return new Date(ms).toISOString();
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("a whole number of seconds");
  return n;
}
