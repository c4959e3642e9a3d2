import { rateLimitSubject } from "@framewire/shared";
import type { Context, MiddlewareHandler } from "hono";
import type { EdgeEnv } from "../env";
import { problemResponse } from "../problem";
import type { BucketPolicy, RateDecision } from "../rate-limit/token-bucket";

const policyHeader = (policy: BucketPolicy) =>
  `${policy.capacity};w=${Math.ceil(policy.capacity / policy.refillPerSec)}`;

/** Draft IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers, -07 form). */
function setRateHeaders(c: Context, decision: RateDecision, policy: BucketPolicy) {
  c.header("ratelimit-limit", String(decision.limit));
  c.header("ratelimit-remaining", String(decision.remaining));
  c.header("ratelimit-reset", String(decision.resetSec));
  c.header("ratelimit-policy", policyHeader(policy));
}

/**
 * A token bucket per client IP (before authentication, so key guessing is limited too) or per API
 * key (after it). When both apply, the later one's headers win only if it is the tighter one.
 */
export function rateLimit(by: "ip" | "key"): MiddlewareHandler<EdgeEnv> {
  return async function rateLimit(c, next) {
    const deps = c.get("deps");
    const policy = by === "ip" ? deps.config.rateLimits.perIp : deps.config.rateLimits.perKey;
    const bucket = by === "ip" ? `ip:${rateLimitSubject(deps.clientIp(c))}` : `key:${c.get("auth").keyId}`;
    const decision = await deps.rateLimits.take(bucket, policy, deps.clock());
    if (!decision.allowed) {
      const headers = {
        "retry-after": String(decision.retryAfterSec),
        "ratelimit-limit": String(decision.limit),
        "ratelimit-remaining": "0",
        "ratelimit-reset": String(decision.resetSec),
        // The policy that refused, not the one an earlier limiter of this request set.
        "ratelimit-policy": policyHeader(policy),
      };
      c.get("logger").warn({ bucket: by, retry_after: decision.retryAfterSec }, "http:rate-limited");
      deps.metrics?.rateLimited(by);
      return problemResponse(
        c,
        "rate_limited",
        `Too many requests for this ${by === "ip" ? "client address" : "API key"}; retry in ${decision.retryAfterSec} s.`,
        { retry_after_sec: decision.retryAfterSec, limit_by: by },
        headers,
      );
    }
    const tighter = c.get("rateRemaining");
    if (tighter === undefined || decision.remaining <= tighter) {
      c.set("rateRemaining", decision.remaining);
      setRateHeaders(c, decision, policy);
    }
    await next();
  };
}
