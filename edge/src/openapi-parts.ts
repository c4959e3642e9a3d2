import { z } from "zod";

/** The small builders both parts of the OpenAPI document (openapi.ts, webhooks/openapi.ts) use. */
export const schema = (s: z.ZodType, io: "input" | "output" = "input") =>
  z.toJSONSchema(s, { io, unrepresentable: "any", target: "draft-2020-12" });
export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
export const json = (s: object) => ({ "application/json": { schema: s } });
export const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: ref("Problem") } },
});
export const ok = (description: string, s: object) => ({ description, content: json(s) });
export const body = (s: object) => ({ required: true, content: json(s) });
export const pathParam = (name: string, description: string) => ({
  name,
  in: "path",
  required: true,
  schema: { type: "string" },
  description,
});
/** What every keyed route may answer. */
export const common = {
  "401": problem("Missing, unknown, revoked or expired API key"),
  "429": problem("Rate limited (RateLimit-* and Retry-After headers)"),
};
