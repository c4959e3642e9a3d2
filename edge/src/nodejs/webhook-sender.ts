import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { lookup as lookupAll } from "node:dns/promises";
import http from "node:http";
import https from "node:https";
import { isAllowedAddress, TargetRefusedError, urlHost } from "@framewire/shared";
import type { WebhookConfig } from "../config";
import { checkWebhookUrl, type WebhookSender } from "../webhooks/sender";

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * The socket's own DNS lookup, refusing names that resolve to any address outside the policy.
 * The check and the connection use the same answer (the address is pinned), so a rebinding DNS
 * server can't swap in a private address between check and connect.
 */
function guardedLookup(config: WebhookConfig) {
  return (hostname: string, options: object, callback: LookupCallback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const list = addresses as LookupAddress[];
      const refused = list.find((a) => !isAllowedAddress(a.address, config.allowPrivate));
      if (refused || list.length === 0) {
        return callback(refusal(hostname) as unknown as NodeJS.ErrnoException, []);
      }
      if ((options as { all?: boolean }).all) return callback(null, list);
      const first = list[0] as LookupAddress;
      callback(null, first.address, first.family);
    });
  };
}

/**
 * One answer for "resolves to a private address", "resolves to nothing" and "does not resolve":
 * naming the addresses would let a tenant read the edge's internal DNS (which names exist, and
 * where they point) through error messages.
 */
function refusal(hostname: string): TargetRefusedError {
  return new TargetRefusedError(`${hostname} does not resolve to public addresses only`, "private_address");
}

/**
 * Webhooks from the edge on Node: the shared URL checks, then the name is resolved and every
 * address checked, at submit time (`check`) and again inside each connection (`post`). No
 * redirects are followed (a 3xx is a failed attempt), and no connection is reused.
 */
export function createNodeWebhookSender(config: WebhookConfig): WebhookSender {
  const lookup = guardedLookup(config);
  return {
    async check(raw) {
      const url = checkWebhookUrl(raw, config);
      const host = urlHost(url);
      // A literal address was already judged by checkWebhookUrl; a name is judged by what it resolves to.
      if (isAllowedAddress(host, config.allowPrivate)) return;
      const addresses = await lookupAll(host, { all: true }).catch(() => {
        throw refusal(host);
      });
      const refused = addresses.find((a) => !isAllowedAddress(a.address, config.allowPrivate));
      if (refused || addresses.length === 0) throw refusal(host);
    },
    async post(raw, request) {
      const url = checkWebhookUrl(raw, config);
      const client = url.protocol === "https:" ? https : http;
      return new Promise((resolve, reject) => {
        const req = client.request(
          url,
          {
            method: "POST",
            headers: { ...request.headers, "content-length": Buffer.byteLength(request.body) },
            lookup: lookup as never,
            agent: false,
            signal: AbortSignal.timeout(request.timeoutMs),
          },
          (res) => {
            // The status is what counts; the body is read and dropped so the socket closes cleanly.
            res.resume();
            resolve({ status: res.statusCode ?? 0, location: res.headers.location ?? null });
          },
        );
        req.on("error", (error: Error) => {
          if (error.name === "AbortError" || error.name === "TimeoutError") {
            reject(new Error(`no answer within ${request.timeoutMs} ms`));
          } else reject(error);
        });
        req.end(request.body);
      });
    },
  };
}
