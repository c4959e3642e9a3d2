import { FramewireError } from "@framewire/shared";
import type { Context } from "hono";
import type { z } from "zod";
import { requestText } from "./request-body";
import { requestHeader } from "./request-header";

export interface FieldError {
  /** Dotted path to the field, e.g. `outputs.0.video.height`. */
  field: string;
  message: string;
}

export function fieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => ({
    field: issue.path.map(String).join(".") || "(body)",
    message: issue.message,
  }));
}

/** Parses with a zod schema, throwing a validation problem that points at each bad field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const errors = fieldErrors(result.error);
    const first = errors[0];
    // A composition's own problems (shared/src/composition.ts) carry their code on the issue.
    const composition = result.error.issues.every(
      (issue) => issue.code === "custom" && issue.params?.code === "composition_invalid",
    );
    throw new FramewireError(
      composition ? "composition_invalid" : "validation_failed",
      first ? `${what}: ${first.field}: ${first.message}` : `${what} is not valid`,
      { errors },
    );
  }
  return result.data;
}

/** Whether the body is declared JSON: the media type itself, not a substring of the header. */
export function isJsonBody(c: Context): boolean {
  const mediaType = (requestHeader(c, "content-type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  return mediaType === "application/json" || /^application\/[\w.+-]+\+json$/.test(mediaType);
}

export async function readJson(c: Context): Promise<unknown> {
  if (!isJsonBody(c)) {
    throw new FramewireError(
      "malformed_json",
      "Send the body as JSON with 'Content-Type: application/json'.",
    );
  }
  const text = await requestText(c);
  try {
    return JSON.parse(text);
  } catch {
    throw new FramewireError("malformed_json", "The body is not valid JSON.");
  }
}

/**
 * A JSON body that must be an object (a spec, a request): `null`, an array or a bare value is a
 * validation problem on `(body)`, not something for later code to read fields of.
 */
export async function readJsonObject(c: Context, what: string): Promise<Record<string, unknown>> {
  const value = await readJson(c);
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    const got = value === null ? "null" : Array.isArray(value) ? "an array" : `a ${typeof value}`;
    throw new FramewireError("validation_failed", `${what}: (body): expected a JSON object, got ${got}`, {
      errors: [{ field: "(body)", message: `expected a JSON object, got ${got}` }],
    });
  }
  return value as Record<string, unknown>;
}
