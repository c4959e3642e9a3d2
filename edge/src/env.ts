import type { AuthContext } from "./auth/authenticate";
import type { EdgeDeps } from "./deps";
import type { Logger } from "./logger";

/** Hono context variables set by middleware. */
export interface EdgeEnv {
  Variables: {
    requestId: string;
    logger: Logger;
    deps: EdgeDeps;
    auth: AuthContext;
    /** The smallest RateLimit-Remaining seen so far in this request (for the response headers). */
    rateRemaining: number | undefined;
  };
}
