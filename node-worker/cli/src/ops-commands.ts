import type { Command } from "commander";
import { backup, restore } from "./backup";
import { formatFindings, runDoctor } from "./doctor";
import { CliError, exitCodes } from "./exit-codes";

/** Where the deployment is: flags first, then the local stack's local.json. */
export interface Deployment {
  apiUrl?: string | undefined;
  apiKey?: string | undefined;
  dbUrl?: string | undefined;
  natsUrl?: string | undefined;
}

/**
 * `framewire doctor`, `framewire backup`, `framewire restore`: the operator's commands. They take
 * the database and NATS addresses as flags (an operator runs them from outside the fleet, and the
 * edge's own settings are not the CLI's); the local stack's `.data/local.json` fills them in.
 */
export function addOpsCommands(program: Command, deployment: () => Deployment): void {
  program
    .command("doctor")
    .description(
      "check a deployment from the outside in and print each problem with its fix (exit 1 on a problem)",
    )
    .option("--nats <url>", "also check NATS directly from here (its streams and buckets)")
    .option("--json", "print the findings as JSON")
    .action(async (options: { nats?: string; json?: boolean }) => {
      const where = deployment();
      if (!where.apiUrl || !where.apiKey) {
        throw new CliError("no API URL or key: pass --api and --key (an admin key)", exitCodes.usage);
      }
      const natsUrl = options.nats ?? where.natsUrl;
      const findings = await runDoctor({
        apiUrl: where.apiUrl,
        apiKey: where.apiKey,
        ...(natsUrl ? { natsUrl } : {}),
      });
      console.log(options.json ? JSON.stringify(findings, null, 2) : formatFindings(findings));
      if (findings.some((f) => f.severity === "problem")) process.exitCode = exitCodes.problemsFound;
    });

  program
    .command("backup")
    .description(
      "write a consistent snapshot of the job database and the JetStream streams into a new folder",
    )
    .requiredOption("--out <dir>", "a new (or empty) folder for this backup")
    .option("--db <url>", "the edge's FW_DB_URL (file: path or libSQL server URL)")
    .option("--db-auth-token <token>", "the libSQL server's auth token (FW_DB_AUTH_TOKEN)")
    .option("--nats <url>", "NATS, to save the streams (leave it out to back up the database alone)")
    .action(async (options: { out: string; db?: string; dbAuthToken?: string; nats?: string }) => {
      const where = deployment();
      const dbUrl = options.db ?? where.dbUrl;
      if (!dbUrl) throw new CliError("which database? pass --db", exitCodes.usage);
      const natsUrl = options.nats ?? where.natsUrl;
      const manifest = await backup({
        dbUrl,
        out: options.out,
        ...(options.dbAuthToken ? { dbAuthToken: options.dbAuthToken } : {}),
        ...(natsUrl ? { natsUrl } : {}),
      });
      const jobs = Object.entries(manifest.database.jobs)
        .map(([status, n]) => `${n} ${status}`)
        .join(", ");
      const streams = manifest.jetstream
        ? Object.entries(manifest.jetstream)
            .map(([name, s]) => `${name}: ${s.messages}`)
            .join(", ")
        : "not saved (no --nats)";
      console.error(`backup of ${manifest.created_at}: jobs ${jobs || "none"}; streams ${streams}`);
      console.log(options.out);
    });

  program
    .command("restore")
    .description(
      "bring a backup back: the database (the edge dispatches its queued and running jobs again) and the dead letters",
    )
    .requiredOption("--from <dir>", "a folder `framewire backup` wrote")
    .option("--db <url>", "where to restore the database (FW_DB_URL); the edge must be stopped")
    .option("--db-auth-token <token>", "the libSQL server's auth token (FW_DB_AUTH_TOKEN)")
    .option("--nats <url>", "NATS, to restore the dead letters and empty the job queue (it must be running)")
    .option("--force", "replace a database that exists")
    .action(
      async (options: {
        from: string;
        db?: string;
        dbAuthToken?: string;
        nats?: string;
        force?: boolean;
      }) => {
        const where = deployment();
        const dbUrl = options.db ?? where.dbUrl;
        if (!dbUrl) throw new CliError("which database? pass --db", exitCodes.usage);
        const natsUrl = options.nats ?? where.natsUrl;
        const { manifest, deadLetters } = await restore({
          from: options.from,
          dbUrl,
          ...(options.dbAuthToken ? { dbAuthToken: options.dbAuthToken } : {}),
          ...(natsUrl ? { natsUrl } : {}),
          ...(options.force ? { force: true } : {}),
        });
        const waiting = (manifest.database.jobs.queued ?? 0) + (manifest.database.jobs.running ?? 0);
        console.error(
          `restored the snapshot of ${manifest.created_at}${natsUrl ? ` and ${deadLetters} dead letters` : " (NATS left as it is: no --nats)"}; ` +
            `start the edge: it dispatches the ${waiting} queued or running jobs again. Jobs accepted after ${manifest.created_at} are not in it.`,
        );
      },
    );
}
