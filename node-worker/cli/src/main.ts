#!/usr/bin/env -S node --import tsx
import { existsSync, readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { type Job, type JobStatus, jobStatuses } from "@framewire/shared";
import { Command, CommanderError, Option } from "commander";
import { addAdminCommands } from "./admin-commands";
import { createApiClient } from "./api-client";
import { CliError, exitCodes } from "./exit-codes";
import { followProgress } from "./follow";
import { addOpsCommands, type Deployment } from "./ops-commands";
import { presets } from "./presets";
import { type CliSettings, parseCliSettings } from "./settings";
import { readSpecFile, uploadSpecFiles } from "./spec-file";

/**
 * `framewire`: submit media and watch it happen, list and cancel jobs, manage keys (admins), check a
 * deployment (doctor), back it up and restore it. The API URL and key come from --api/--key, else
 * FRAMEWIRE_API_URL/FRAMEWIRE_API_KEY, else the local stack's .data/local.json.
 */
function deployment(options: { api?: string; key?: string }): Deployment {
  let settings: CliSettings;
  try {
    settings = parseCliSettings(process.env);
  } catch (error) {
    throw new CliError((error as Error).message, exitCodes.usage);
  }
  const localFile = resolve(settings.FW_DATA_DIR, "local.json");
  const local = existsSync(localFile)
    ? (JSON.parse(readFileSync(localFile, "utf8")) as {
        apiUrl?: string;
        apiKey?: string;
        dbUrl?: string;
        natsUrl?: string;
      })
    : {};
  return {
    apiUrl: options.api ?? settings.FRAMEWIRE_API_URL ?? local.apiUrl,
    apiKey: options.key ?? settings.FRAMEWIRE_API_KEY ?? local.apiKey,
    dbUrl: local.dbUrl,
    natsUrl: local.natsUrl,
  };
}

function connection(options: { api?: string; key?: string }) {
  const { apiUrl, apiKey } = deployment(options);
  if (!apiUrl || !apiKey) {
    throw new CliError(
      "no API URL or key: pass --api and --key, or set FRAMEWIRE_API_URL and FRAMEWIRE_API_KEY",
      exitCodes.usage,
    );
  }
  return createApiClient(apiUrl, apiKey);
}

const summary = (job: Job) =>
  `${job.id}  ${job.status.padEnd(9)}  ${job.created_at}${job.error ? `  ${job.error.code}: ${job.error.message}` : ""}`;

const program = new Command("framewire")
  .description("Framewire command-line client")
  .option("--api <url>", "API base URL")
  .option("--key <key>", "API key")
  .exitOverride();

program
  .command("submit")
  .description("submit a file or URL (or a whole job spec), follow its progress, download the outputs")
  .argument("[input]", "a local file (uploaded first) or an https:// URL")
  .option(
    "--spec <file>",
    "a JSON job spec (e.g. a composition) instead of <input> and --preset; in its input/inputs a string is a local file to upload or an https:// URL",
  )
  .addOption(
    new Option("--preset <name...>", "output presets").choices(Object.keys(presets)).default(["480p"]),
  )
  .option("--out <dir>", "where to save the outputs", ".")
  .option("--priority <priority>", "high, default or low", "default")
  .action(
    async (
      input: string | undefined,
      options: { preset: string[]; out: string; priority: string; spec?: string },
      command: Command,
    ) => {
      if ((input === undefined) === (options.spec === undefined))
        throw new CliError("give either an <input> or --spec <file>", exitCodes.usage);
      if (options.spec !== undefined && command.getOptionValueSource("preset") === "cli")
        throw new CliError("--preset does not go with --spec: the spec names its outputs", exitCodes.usage);
      // A spec file is read and checked before anything is uploaded.
      const specFile = options.spec === undefined ? null : await readSpecFile(options.spec);
      const api = connection(program.opts());
      let job: Job;
      if (specFile) {
        const spec = await uploadSpecFiles(specFile, (path) => api.upload(path));
        job = await api.createJob(
          command.getOptionValueSource("priority") === "cli"
            ? { ...spec, priority: options.priority as "high" | "default" | "low" }
            : spec,
        );
        console.error(`job ${job.id} queued (${basename(options.spec as string)})`);
      } else {
        const source = input as string;
        const isUrl = /^https?:\/\//.test(source);
        job = await api.createJob({
          input: isUrl
            ? { type: "url" as const, url: source }
            : { type: "upload" as const, upload_id: await api.upload(source) },
          outputs: options.preset.map((name) => presets[name] as NonNullable<(typeof presets)[string]>),
          priority: options.priority as "high" | "default" | "low",
        });
        console.error(`job ${job.id} queued (${isUrl ? source : basename(source)})`);
      }
      const onInterrupt = () => {
        void api.cancelJob(job.id).finally(() => process.exit(exitCodes.interrupted));
      };
      process.once("SIGINT", onInterrupt);
      await followProgress(job.progress_url);
      // The socket's final message is a convenience; the record is the truth.
      let finished = await api.getJob(job.id);
      while (["queued", "running"].includes(finished.status)) {
        await new Promise((r) => setTimeout(r, 500));
        finished = await api.getJob(job.id);
      }
      process.off("SIGINT", onInterrupt);
      if (finished.status !== "succeeded") {
        throw new CliError(
          `job ${job.id} ${finished.status}${finished.error ? `: ${finished.error.code}: ${finished.error.message}` : ""}`,
          exitCodes.jobFailed,
        );
      }
      await mkdir(options.out, { recursive: true });
      for (const output of finished.outputs) {
        const file = join(options.out, `${job.id}-${output.name}.${output.container}`);
        if (output.url === null)
          throw new CliError(`${output.name} has expired and was deleted`, exitCodes.jobFailed);
        await api.download(output.url, file);
        console.log(file);
      }
    },
  );

const jobs = program.command("jobs").description("list, show and cancel jobs");
jobs
  .command("list")
  .addOption(new Option("--status <status>", "only jobs in this state").choices(jobStatuses))
  .option("--limit <n>", "how many", "20")
  .option("--json", "print JSON")
  .action(async (options: { status?: JobStatus; limit: string; json?: boolean }) => {
    const page = await connection(program.opts()).listJobs({
      status: options.status,
      limit: Number(options.limit),
    });
    if (options.json) console.log(JSON.stringify(page, null, 2));
    else for (const job of page.data) console.log(summary(job));
  });
jobs
  .command("show")
  .argument("<id>")
  .action(async (id: string) => {
    console.log(JSON.stringify(await connection(program.opts()).getJob(id), null, 2));
  });
jobs
  .command("cancel")
  .argument("<id>")
  .action(async (id: string) => {
    console.log(summary(await connection(program.opts()).cancelJob(id)));
  });

addAdminCommands(program, () => connection(program.opts()));
addOpsCommands(program, () => deployment(program.opts()));

try {
  await program.parseAsync();
} catch (error) {
  if (error instanceof CommanderError) {
    process.exit(error.exitCode === 0 ? exitCodes.ok : exitCodes.usage);
  }
  console.error(`framewire: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(error instanceof CliError ? error.exitCode : 1);
}
