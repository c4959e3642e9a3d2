import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, copyFile, mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureJetStream, streams } from "@framewire/shared/nats";
import { type Client, createClient, type InValue } from "@libsql/client";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { CliError, exitCodes } from "./exit-codes";

/**
 * `framewire backup` and `framewire restore`.
 *
 * The job database is the source of truth; JetStream holds work in flight. A backup is a folder:
 * - `database.db`: for a `file:` database, an online, consistent copy (SQLite's VACUUM INTO, which
 *   reads one snapshot while the edge goes on writing); for a libSQL server, `database.sql`: a dump
 *   of every table read in one read transaction (one snapshot);
 * - `jetstream/<stream>.jsonl`: every message of FW_JOBS and FW_DLQ (subject, headers, data);
 * - `manifest.json`: when, what, and a checksum of the database file.
 *
 * Restore brings the database back and leaves a marker in it; the edge, when it next starts (or
 * runs its Cron on Workers), dispatches every job the snapshot holds as queued or running again as
 * a new generation, so each finishes once. Dead letters are published back into FW_DLQ; FW_JOBS is
 * emptied rather than refilled: its messages are the database's queued jobs, which the edge
 * dispatches again, and a message the database does not know (a job accepted after the snapshot)
 * would run a job nobody can see. The recovery point is the backup's time: jobs accepted after it
 * are lost, and jobs finished after it run again.
 */

/** Must match edge/src/jobs/restore.ts and edge/src/ops/queries.ts (the edge reads these keys). */
const restorePendingKey = "restore_pending";
const lastBackupKey = "last_backup";
const manifestFormat = 1;

export interface BackupManifest {
  format: number;
  created_at: string;
  database: {
    kind: "file" | "dump";
    file: string;
    sha256: string;
    bytes: number;
    jobs: Record<string, number>;
  };
  jetstream: Record<string, { file: string; messages: number }> | null;
}

interface StoredMessage {
  seq: number;
  subject: string;
  time: string;
  headers: Record<string, string[]>;
  data: string;
}

const sha256 = async (path: string) =>
  createHash("sha256")
    .update(await readFile(path))
    .digest("hex");

/** A `file:` URL's path (`file:relative/x.db`, `file:///abs/x.db`); null for a server URL. */
export function databaseFile(url: string): string | null {
  if (!url.startsWith("file:")) return null;
  return resolve(url.startsWith("file://") ? fileURLToPath(url) : url.slice("file:".length));
}

function openClient(url: string, authToken?: string): Client {
  // bigint: a dump must write integers exactly, whatever their size.
  return createClient({ url, intMode: "bigint", ...(authToken ? { authToken } : {}) });
}

async function jobCounts(client: Client): Promise<Record<string, number>> {
  const rows = await client.execute("select status, count(*) as n from jobs group by status");
  return Object.fromEntries(rows.rows.map((r) => [String(r.status), Number(r.n)]));
}

/** SQL text for a value the dump writes. */
function literal(value: unknown): string {
  if (value === null || value === undefined) return "NULL";
  if (typeof value === "bigint" || typeof value === "number") return String(value);
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
    const bytes = value instanceof ArrayBuffer ? new Uint8Array(value) : new Uint8Array(value.buffer);
    return `X'${Buffer.from(bytes).toString("hex")}'`;
  }
  return `'${String(value).replaceAll("'", "''")}'`;
}

const quoteName = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** Every table (drizzle's migration journal included) as SQL, read in one read transaction. */
async function dumpDatabase(client: Client): Promise<string> {
  const schema = await client.execute(
    "select type, name, tbl_name, sql from sqlite_master where sql is not null and name not like 'sqlite_%' order by type = 'table' desc, name",
  );
  const tables = schema.rows.filter((r) => r.type === "table").map((r) => String(r.name));
  const results = await client.batch(
    tables.map((t) => `select * from ${quoteName(t)}`),
    "read",
  );
  const lines = ["PRAGMA foreign_keys=OFF;", "BEGIN;"];
  for (const row of schema.rows) if (row.type === "table") lines.push(`${String(row.sql)};`);
  tables.forEach((table, i) => {
    const result = results[i];
    if (!result) return;
    const columns = result.columns.map(quoteName).join(", ");
    for (const row of result.rows) {
      const values = result.columns.map((_, c) => literal(row[c])).join(", ");
      lines.push(`INSERT INTO ${quoteName(table)} (${columns}) VALUES (${values});`);
    }
  });
  for (const row of schema.rows) if (row.type !== "table") lines.push(`${String(row.sql)};`);
  lines.push("COMMIT;");
  return `${lines.join("\n")}\n`;
}

async function backupDatabase(
  options: { dbUrl: string; dbAuthToken?: string },
  out: string,
): Promise<BackupManifest["database"]> {
  const file = databaseFile(options.dbUrl);
  if (file && !existsSync(file)) throw new CliError(`no database at ${file}`, exitCodes.usage);
  const client = openClient(options.dbUrl, options.dbAuthToken);
  try {
    if (file) {
      // The edge may be writing: wait for its short write locks rather than fail.
      await client.execute("PRAGMA busy_timeout = 10000");
      const target = join(out, "database.db");
      await client.execute(`VACUUM INTO ${literal(target)}`);
      // Webhook signing secrets are in it: owner-only, whatever the umask SQLite created it with.
      await chmod(target, 0o600);
      const copy = openClient(`file:${target}`);
      try {
        const check = await copy.execute("PRAGMA integrity_check");
        if (String(check.rows[0]?.[0]) !== "ok")
          throw new Error(`the copy fails its integrity check: ${check.rows[0]?.[0]}`);
        const jobs = await jobCounts(copy);
        return {
          kind: "file",
          file: "database.db",
          sha256: await sha256(target),
          bytes: (await stat(target)).size,
          jobs,
        };
      } finally {
        copy.close();
      }
    }
    const target = join(out, "database.sql");
    await writeFile(target, await dumpDatabase(client), { mode: 0o600 });
    return {
      kind: "dump",
      file: "database.sql",
      sha256: await sha256(target),
      bytes: (await stat(target)).size,
      jobs: await jobCounts(client),
    };
  } finally {
    client.close();
  }
}

async function withNats<T>(
  url: string,
  fn: (nc: Awaited<ReturnType<typeof connect>>) => Promise<T>,
): Promise<T> {
  const nc = await connect({ servers: url.split(","), timeout: 3_000, maxReconnectAttempts: 0 }).catch(
    (error: unknown) => {
      throw new CliError(`cannot reach NATS at ${url}: ${(error as Error).message}`, exitCodes.unreachable);
    },
  );
  try {
    return await fn(nc);
  } finally {
    await nc.close().catch(() => {});
  }
}

/** Every message of a stream, by sequence (work-queue streams allow no second consumer on 2.9). */
async function readStream(
  jsm: Awaited<ReturnType<typeof jetstreamManager>>,
  name: string,
): Promise<StoredMessage[]> {
  const info = await jsm.streams.info(name).catch(() => null);
  if (!info || info.state.messages === 0) return [];
  const out: StoredMessage[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const message = await jsm.streams.getMessage(name, { seq }).catch(() => null);
    if (!message) continue; // acked (work queue) or deleted meanwhile
    const headers: Record<string, string[]> = {};
    for (const [key, values] of message.header ?? []) headers[key] = values;
    out.push({
      seq,
      subject: message.subject,
      time: message.time.toISOString(),
      headers,
      data: Buffer.from(message.data).toString("base64"),
    });
  }
  return out;
}

export async function backup(options: {
  dbUrl: string;
  dbAuthToken?: string;
  natsUrl?: string;
  out: string;
  now?: () => Date;
}): Promise<BackupManifest> {
  const out = resolve(options.out);
  if (existsSync(out) && (await readdir(out)).length > 0) {
    throw new CliError(`${out} is not empty: give a new folder for each backup`, exitCodes.usage);
  }
  await mkdir(out, { recursive: true, mode: 0o700 });
  const createdAt = (options.now ?? (() => new Date()))();
  // The database first: it is the truth; JetStream's state is taken right after.
  const database = await backupDatabase(options, out);
  let jetstreamState: BackupManifest["jetstream"] = null;
  if (options.natsUrl) {
    jetstreamState = await withNats(options.natsUrl, async (nc) => {
      const jsm = await jetstreamManager(nc);
      await mkdir(join(out, "jetstream"), { mode: 0o700 });
      const state: Record<string, { file: string; messages: number }> = {};
      for (const name of [streams.jobs, streams.deadLetters]) {
        const messages = await readStream(jsm, name);
        const file = `jetstream/${name}.jsonl`;
        await writeFile(join(out, file), messages.map((m) => JSON.stringify(m)).join("\n"), { mode: 0o600 });
        state[name] = { file, messages: messages.length };
      }
      return state;
    });
  }
  const manifest: BackupManifest = {
    format: manifestFormat,
    created_at: createdAt.toISOString(),
    database,
    jetstream: jetstreamState,
  };
  await writeFile(join(out, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  // Tell the edge (its metric fw_last_backup_timestamp_seconds, the FramewireBackupStale alert).
  const client = openClient(options.dbUrl, options.dbAuthToken);
  try {
    const value = JSON.stringify({ at: manifest.created_at, kind: database.kind });
    await client.execute({
      sql: "insert into edge_settings (key, value, updated_at) values (?, ?, ?) on conflict (key) do update set value = excluded.value, updated_at = excluded.updated_at",
      args: [lastBackupKey, value, Date.now()] as InValue[],
    });
  } finally {
    client.close();
  }
  return manifest;
}

export async function readManifest(from: string): Promise<BackupManifest> {
  const text = await readFile(join(resolve(from), "manifest.json"), "utf8").catch(() => {
    throw new CliError(`${from} has no manifest.json: not a framewire backup`, exitCodes.usage);
  });
  const manifest = JSON.parse(text) as BackupManifest;
  if (manifest.format !== manifestFormat) {
    throw new CliError(`${from}: backup format ${manifest.format} is not ${manifestFormat}`, exitCodes.usage);
  }
  return manifest;
}

export async function restore(options: {
  from: string;
  dbUrl: string;
  dbAuthToken?: string;
  natsUrl?: string;
  /** Replace a database that exists (the edge must be stopped). */
  force?: boolean;
}): Promise<{ manifest: BackupManifest; deadLetters: number }> {
  const from = resolve(options.from);
  const manifest = await readManifest(from);
  const source = join(from, manifest.database.file);
  if ((await sha256(source)) !== manifest.database.sha256) {
    throw new CliError(
      `${source} does not match its checksum in manifest.json: the backup is damaged`,
      exitCodes.usage,
    );
  }
  const file = databaseFile(options.dbUrl);
  if (file) {
    if (manifest.database.kind !== "file") {
      throw new CliError(
        "this backup is a dump of a libSQL server: restore it into a server URL",
        exitCodes.usage,
      );
    }
    if (existsSync(file) && !options.force) {
      throw new CliError(
        `${file} exists: stop the edge and pass --force to replace it (or restore into a new path)`,
        exitCodes.usage,
      );
    }
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    // The copy's own WAL and shared-memory files would belong to the old database.
    await Promise.all(["", "-wal", "-shm"].map((suffix) => rm(`${file}${suffix}`, { force: true })));
    await copyFile(source, file);
    await chmod(file, 0o600);
  } else {
    if (manifest.database.kind !== "dump") {
      throw new CliError("this backup is a database file: restore it into a file: URL", exitCodes.usage);
    }
    const client = openClient(options.dbUrl, options.dbAuthToken);
    try {
      const existing = await client.execute("select count(*) as n from sqlite_master where name = 'jobs'");
      if (Number(existing.rows[0]?.n ?? 0) > 0 && !options.force) {
        throw new CliError(
          "the database server already has tables: pass --force only for an empty database",
          exitCodes.usage,
        );
      }
      await client.executeMultiple(await readFile(source, "utf8"));
    } finally {
      client.close();
    }
  }
  // The marker the edge acts on at its next start: every queued or running job is dispatched again.
  const client = openClient(options.dbUrl, options.dbAuthToken);
  try {
    const value = JSON.stringify({ backup_at: manifest.created_at, restored_at: new Date().toISOString() });
    await client.execute({
      sql: "insert into edge_settings (key, value, updated_at) values (?, ?, ?) on conflict (key) do update set value = excluded.value, updated_at = excluded.updated_at",
      args: [restorePendingKey, value, Date.now()] as InValue[],
    });
  } finally {
    client.close();
  }

  let deadLetters = 0;
  if (options.natsUrl && manifest.jetstream) {
    const letters = await readMessages(join(from, manifest.jetstream[streams.deadLetters]?.file ?? ""));
    deadLetters = await withNats(options.natsUrl, async (nc) => {
      const jsm = await jetstreamManager(nc);
      await ensureJetStream(jsm);
      // The database re-dispatches what was queued: an old job message would be a second run, or
      // one of a job the restored database does not know.
      await jsm.streams.purge(streams.jobs);
      await jsm.streams.purge(streams.deadLetters);
      const js = jetstream(nc);
      for (const letter of letters) {
        const h = natsHeaders();
        for (const [key, values] of Object.entries(letter.headers)) for (const v of values) h.append(key, v);
        await js.publish(letter.subject, Buffer.from(letter.data, "base64"), { headers: h });
      }
      return letters.length;
    });
  }
  return { manifest, deadLetters };
}

async function readMessages(path: string): Promise<StoredMessage[]> {
  const text = await readFile(path, "utf8").catch(() => "");
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as StoredMessage);
}
