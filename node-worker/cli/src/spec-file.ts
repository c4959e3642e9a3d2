import { readFile, stat } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { type JobSpecInput, jobSpecSchema } from "@framewire/shared";
import { CliError, exitCodes } from "./exit-codes";

/**
 * `framewire submit --spec job.json`: a whole job spec from a file (a composition, a highlight reel,
 * any outputs), checked by the shared schema before anything is uploaded. Where the API takes an
 * input object (`input`, each of `inputs`, each subtitle file's `input`), the file may instead give
 * a string: an https:// URL, or a local file's path (relative to the spec file) that is uploaded
 * and named by its upload id.
 */
export interface SpecFile {
  /** The spec as it will be sent, local files still to be replaced by their uploads. */
  spec: Record<string, unknown>;
  /** Each local file to upload, by where it sits in the spec ("input", "inputs.<name>", "subtitles.<name>"). */
  files: { at: string; path: string }[];
}

/** A placeholder upload id, only for checking the spec before the real uploads. */
const placeholder = `upl_${"0".repeat(26)}`;

function inputFrom(value: unknown, at: string, base: string, files: SpecFile["files"]): unknown {
  if (typeof value !== "string") return value;
  if (/^https?:\/\//.test(value)) return { type: "url", url: value };
  files.push({ at, path: isAbsolute(value) ? value : resolve(base, value) });
  return { type: "upload", upload_id: placeholder };
}

/** Reads and checks a spec file; throws a usage CliError naming every problem. */
export async function readSpecFile(path: string): Promise<SpecFile> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message;
    throw new CliError(`cannot read spec ${path}: ${reason}`, exitCodes.usage);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw new CliError(`spec ${path}: must be a JSON object (a job spec)`, exitCodes.usage);
  const base = dirname(resolve(path));
  const files: SpecFile["files"] = [];
  const spec: Record<string, unknown> = { ...(raw as Record<string, unknown>) };
  if ("input" in spec) spec.input = inputFrom(spec.input, "input", base, files);
  if (typeof spec.inputs === "object" && spec.inputs !== null && !Array.isArray(spec.inputs)) {
    spec.inputs = Object.fromEntries(
      Object.entries(spec.inputs).map(([name, value]) => [
        name,
        inputFrom(value, `inputs.${name}`, base, files),
      ]),
    );
  }
  if (typeof spec.subtitles === "object" && spec.subtitles !== null && !Array.isArray(spec.subtitles)) {
    spec.subtitles = Object.fromEntries(
      Object.entries(spec.subtitles).map(([name, value]) => [
        name,
        typeof value === "object" && value !== null && "input" in value
          ? { ...value, input: inputFrom(value.input, `subtitles.${name}`, base, files) }
          : value,
      ]),
    );
  }
  const checked = jobSpecSchema.safeParse(spec);
  const problems = checked.success
    ? []
    : checked.error.issues.map((issue) => `${issue.path.join(".") || "(spec)"}: ${issue.message}`);
  for (const file of files) {
    const found = await stat(file.path).catch(() => null);
    if (!found?.isFile()) problems.push(`${file.at}: no such file: ${file.path}`);
  }
  if (problems.length > 0)
    throw new CliError(`spec ${path} is not valid:\n  ${problems.join("\n  ")}`, exitCodes.usage);
  return { spec, files };
}

/** Uploads the spec's local files (one at a time) and returns the spec to submit. */
export async function uploadSpecFiles(
  { spec, files }: SpecFile,
  upload: (path: string) => Promise<string>,
): Promise<JobSpecInput> {
  const out: Record<string, unknown> = { ...spec };
  if (files.some((f) => f.at.startsWith("inputs."))) out.inputs = { ...(spec.inputs as object) };
  if (files.some((f) => f.at.startsWith("subtitles."))) out.subtitles = { ...(spec.subtitles as object) };
  for (const file of files) {
    const input = { type: "upload", upload_id: await upload(file.path) };
    if (file.at === "input") out.input = input;
    else if (file.at.startsWith("subtitles.")) {
      const subtitles = out.subtitles as Record<string, Record<string, unknown>>;
      const name = file.at.slice("subtitles.".length);
      subtitles[name] = { ...subtitles[name], input };
    } else (out.inputs as Record<string, unknown>)[file.at.slice("inputs.".length)] = input;
  }
  return out as JobSpecInput;
}
