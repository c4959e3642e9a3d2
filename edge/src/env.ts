import type { Scope } from "@framewire/shared";
import type { EdgeDeps } from "./deps";
import type { Logger } from "./logger";

/** Who is calling: set by the API key middleware (auth/authenticate.ts). */
export interface AuthContext {
  keyId: string;
  tenantId: string;
  scopes: Scope[];
}

/** Hono context variables set by middleware. */
export interface EdgeEnv {
  Variables: {
    requestId: string;
    logger: Logger;
    deps: EdgeDeps;
    auth: AuthContext;
    /** The smallest RateLimit-Remaining seen so far in this request (for the response headers). */
    rateRemaining: number | undefined;
    /** Where job views are cached: when the turn of the event loop that took this request in began. */
    turnStart: number | undefined;
  };
}
