/**
 * Destinations: where a job's outputs land in a tenant's own bucket, named by a path template. The
 * edge checks a template when a job (or template, batch, watch) names it; the node expands it when
 * it writes and checks the key it got once more, so a key can only ever fall inside its prefix.
 *
 * A template is literal text and placeholders, e.g. `{date}/{input}/{output}` (the default is
 * `{job_id}/{output}`). It names an output's location without the extension: a single-file output
 * is written at `<prefix><path>.<ext>`, a multi-file one (hls, thumbnails) under `<prefix><path>/`.
 * Placeholder values are reduced to safe tokens (letters, digits, `.`, `_`, `-`), so no value can
 * add a `/` or a `..` segment; the literal text is checked here with the same rules.
 */

export const destinationPlaceholders = ["job_id", "output", "input", "date"] as const;
export type DestinationPlaceholder = (typeof destinationPlaceholders)[number];

export const defaultDestinationPath = "{job_id}/{output}";

/** One segment of a key below the prefix: no empty, "." or ".." segments, nothing but safe characters. */
const safeKeySegment = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$/;

const isSafeSegment = (segment: string) =>
  safeKeySegment.test(segment) && segment !== ".." && segment !== ".";

/** Why a prefix is unusable, or null. A prefix is "" or safe segments, with or without a final "/". */
export function destinationPrefixProblem(prefix: string): string | null {
  if (prefix === "") return null;
  if (prefix.length > 512) return "must be at most 512 characters";
  const segments = (prefix.endsWith("/") ? prefix.slice(0, -1) : prefix).split("/");
  if (!segments.every(isSafeSegment))
    return "must be a relative path of letters, digits, '.', '_' and '-' segments, without empty, '.' or '..' segments";
  return null;
}

/** The prefix as keys start with it: "" or ending in "/". */
export function normalizedPrefix(prefix: string): string {
  return prefix === "" || prefix.endsWith("/") ? prefix : `${prefix}/`;
}

const placeholderPattern = /\{([a-z_]+)\}/g;

/** Why a path template is unusable (would leave its prefix, names an unknown placeholder, …), or null. */
export function destinationPathProblem(template: string): string | null {
  if (template.length === 0 || template.length > 512) return "must be 1 to 512 characters";
  for (const [, name] of template.matchAll(placeholderPattern)) {
    if (!(destinationPlaceholders as readonly string[]).includes(name ?? ""))
      return `{${name}} is not a placeholder (use ${destinationPlaceholders.map((p) => `{${p}}`).join(", ")})`;
  }
  if (!template.includes("{output}"))
    return "must contain {output}, or a job's outputs would overwrite each other";
  // The literal text with every placeholder standing for a safe token: each segment must be safe.
  const sample = template.replace(placeholderPattern, "x");
  if (sample.startsWith("/") || !sample.split("/").every(isSafeSegment))
    return (
      "must stay inside the prefix: a relative path without a leading '/', empty, '.' or '..' segments, " +
      "of letters, digits, '.', '_', '-' and placeholders"
    );
  return null;
}

/** A value reduced to one safe key segment (placeholder values come from inputs the client named). */
export function safeToken(value: string): string {
  const token = value
    .replace(/[^A-Za-z0-9._-]+/g, "_")
    // No ".." anywhere (harmless inside a segment, but some tools read it as a way up).
    .replace(/\.{2,}/g, "_")
    .replace(/^[.-]+/, "")
    .slice(0, 128);
  return token === "" || token === "." || token === ".." ? "_" : token;
}

/** What an input is called in a destination path: its file name without the extension. */
export function inputNameOf(
  input: { type: "s3"; key: string } | { type: "url"; url: string } | { type: "upload"; upload_id: string },
): string {
  const base = (path: string) => {
    const last = path.split("/").filter(Boolean).at(-1) ?? "";
    const dot = last.lastIndexOf(".");
    return dot > 0 ? last.slice(0, dot) : last;
  };
  switch (input.type) {
    case "s3":
      return safeToken(base(input.key));
    case "url": {
      let path = "";
      try {
        path = decodeURIComponent(new URL(input.url).pathname);
      } catch {
        path = "";
      }
      return safeToken(base(path) || "input");
    }
    case "upload":
      return input.upload_id;
  }
}

/**
 * The key an output's entry lives at (without extension), below the prefix. Throws when the result
 * would not be a key inside the prefix, which a checked template and safe tokens never produce.
 */
export function expandDestinationPath(
  destination: { prefix: string; path: string },
  values: Record<DestinationPlaceholder, string>,
): string {
  const expanded = destination.path.replace(placeholderPattern, (_, name: DestinationPlaceholder) =>
    safeToken(values[name]),
  );
  const key = normalizedPrefix(destination.prefix) + expanded;
  if (!isKeyInsidePrefix(destination.prefix, key))
    throw new Error(`destination key ${JSON.stringify(key)} would leave its prefix`);
  return key;
}

/** Whether `key` lies below `prefix` with nothing but safe segments after it. */
export function isKeyInsidePrefix(prefix: string, key: string): boolean {
  const start = normalizedPrefix(prefix);
  if (!key.startsWith(start) || key.length > 1024) return false;
  const rest = key.slice(start.length);
  return rest.length > 0 && rest.split("/").every(isSafeSegment);
}

/** `YYYY-MM-DD` (UTC) for the {date} placeholder. */
export function destinationDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
