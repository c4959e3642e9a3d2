import type { Logger } from "./logger";
import type { EdgeDeps } from "./deps";
import type { AuthContext } from "./auth/authenticate";

/** Hono context variables set by middleware. */
export interface EdgeEnv {
  Variables: {
    requestId: string;
    logger: Logger;
    deps: EdgeDeps;
    auth: AuthContext;
  };
}
