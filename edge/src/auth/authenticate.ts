import type { MiddlewareHandler } from "hono";
import type { EdgeEnv } from "../env";
import { problemResponse } from "../problem";
import { checkApiKey, type Scope } from "./api-keys";

export interface AuthContext {
  keyId: string;
  tenantId: string;
  scopes: Scope[];
}

const reasons = {
  malformed: "The Authorization header must be 'Bearer fw_<prefix>_<secret>'.",
  unknown: "The API key is not valid.",
  revoked: "The API key has been revoked.",
  expired: "The API key has expired.",
} as const;

/** Requires `Authorization: Bearer <api key>` and puts the tenant on the context. */
export function requireApiKey(): MiddlewareHandler<EdgeEnv> {
  return async function requireApiKey(c, next) {
    const header = c.req.header("authorization") ?? "";
    const token = header.startsWith("Bearer ") ? header.slice(7).trim() : "";
    if (!token) {
      return problemResponse(
        c,
        "unauthorized",
        "Send an API key as 'Authorization: Bearer <key>'.",
        {},
        {
          "www-authenticate": 'Bearer realm="framewire"',
        },
      );
    }
    const { db, clock } = c.get("deps");
    const check = await checkApiKey(db, token, clock());
    if (!check.ok) {
      return problemResponse(
        c,
        "unauthorized",
        reasons[check.reason],
        {},
        {
          "www-authenticate": 'Bearer realm="framewire", error="invalid_token"',
        },
      );
    }
    c.set("auth", { keyId: check.keyId, tenantId: check.tenantId, scopes: check.scopes });
    c.set("logger", c.get("logger").child({ tenant: check.tenantId, key: check.keyId }));
    await next();
  };
}

export function requireScope(scope: Scope): MiddlewareHandler<EdgeEnv> {
  return async function requireScope(c, next) {
    const { scopes } = c.get("auth");
    if (!scopes.includes(scope) && !scopes.includes("admin")) {
      return problemResponse(c, "forbidden", `This needs the '${scope}' scope.`);
    }
    await next();
  };
}
