import { checkTargetUrl, isLocalName, TargetRefusedError, urlHost } from "@framewire/shared";
import type { WebhookConfig } from "../config";

/** What a receiver answered to one POST. Redirects are never followed: `location` says where it pointed. */
export interface WebhookResponse {
  status: number;
  location: string | null;
}

/**
 * Sends webhook POSTs without letting a tenant aim them at private networks (SSRF). Each runtime
 * has its own: Node resolves names itself and pins the checked address (`node/webhook-sender.ts`);
 * Workers can't resolve names, so it checks what the URL says and relies on Cloudflare's fetch,
 * which does not reach private networks (this file).
 */
export interface WebhookSender {
  /** Throws TargetRefusedError for a URL webhooks may not go to (at submit time: a clear 422). */
  check(url: string): Promise<void>;
  /** One POST, never following redirects. TargetRefusedError when refused; other errors are the network's. */
  post(
    url: string,
    request: { headers: Record<string, string>; body: string; timeoutMs: number },
  ): Promise<WebhookResponse>;
}

/** Scheme, credentials and literal addresses: the checks every runtime makes before anything else. */
export function checkWebhookUrl(raw: string, config: Pick<WebhookConfig, "allowHttp" | "allowPrivate">): URL {
  const url = checkTargetUrl(raw, { allowHttp: config.allowHttp, allow: config.allowPrivate });
  if (url.username || url.password) {
    throw new TargetRefusedError(
      "webhook URLs may not carry credentials; the signature authenticates us",
      "malformed",
    );
  }
  return url;
}

/**
 * The runtime-neutral sender (Workers, and the default): checks the URL and refuses local names
 * (localhost, *.local, *.internal, single labels), then uses the platform's fetch. On Workers
 * Cloudflare's network does not route to private addresses, which covers a public name that
 * resolves to one; on Node use the resolving sender instead.
 */
export function createFetchWebhookSender(config: WebhookConfig): WebhookSender {
  const check = (raw: string) => {
    const url = checkWebhookUrl(raw, config);
    if (isLocalName(urlHost(url))) {
      throw new TargetRefusedError(`${url.hostname} names a local host, not a public one`, "private_address");
    }
    return url;
  };
  return {
    async check(raw) {
      check(raw);
    },
    async post(raw, request) {
      const url = check(raw);
      const response = await fetch(url, {
        method: "POST",
        headers: request.headers,
        body: request.body,
        redirect: "manual",
        signal: AbortSignal.timeout(request.timeoutMs),
      });
      await response.body?.cancel();
      return { status: response.status, location: response.headers.get("location") };
    },
  };
}
