import {
  checkTargetUrl,
  signWebhook,
  TargetRefusedError,
  webhookEventHeader,
  webhookIdHeader,
  webhookSignatureHeader,
} from "@framewire/shared";
import type { WebhookDeliveryRow } from "@framewire/shared/db";
import type { WebhookConfig } from "../config";
import type { EdgeDeps } from "../deps";
import { claimDelivery, dueDeliveries, findTenantWebhook, finishAttempt, signingSecrets } from "./repository";
import type { WebhookResponse } from "./sender";

/** Exponential backoff with full jitter: attempt n waits a random time up to base·2^(n-1), capped. */
export function retryDelayMs(
  attempts: number,
  config: Pick<WebhookConfig, "retryBaseMs" | "retryMaxMs">,
): number {
  const cap = Math.min(config.retryMaxMs, config.retryBaseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(Math.random() * cap);
}

/** Leases outlast an attempt's time limit by this much, so a slow attempt keeps its claim. */
const leaseMarginMs = 30_000;

interface Outcome {
  statusCode: number | null;
  error: string | null;
  /** No later attempt could do better (a refused target, no secret): fail at once. */
  permanent: boolean;
}

/**
 * One attempt at one delivery, if it is due and no other sender holds it. Signs the stored body
 * with the tenant's secret(s) and a fresh timestamp, POSTs it, logs the attempt, and schedules the
 * next one (backoff with jitter) or ends the delivery: succeeded on 2xx, failed once the deadline
 * would pass. Returns the claimed row, or null when there was nothing to do.
 */
export async function attemptDelivery(deps: EdgeDeps, id: string): Promise<WebhookDeliveryRow | null> {
  const config = deps.config.webhooks;
  const startedAt = deps.clock();
  const claimed = await claimDelivery(deps.db, id, startedAt, startedAt + config.timeoutMs + leaseMarginMs);
  if (!claimed) return null;

  const started = performance.now();
  const outcome = await send(deps, claimed, startedAt);
  const latencyMs = Math.round(performance.now() - started);
  const now = deps.clock();
  let next: Pick<WebhookDeliveryRow, "status" | "nextAttemptAt" | "deliveredAt">;
  if (outcome.error === null) next = { status: "succeeded", nextAttemptAt: null, deliveredAt: now };
  else {
    const at = now + retryDelayMs(claimed.attempts + 1, config);
    next =
      outcome.permanent || at > claimed.deadlineAt
        ? { status: "failed", nextAttemptAt: null, deliveredAt: null }
        : { status: "pending", nextAttemptAt: at, deliveredAt: null };
  }
  await finishAttempt(deps.db, claimed, { startedAt, latencyMs, ...outcome }, next, now);
  deps.metrics?.webhookAttempt(next.status === "pending" ? "retrying" : next.status, latencyMs / 1000);
  deps.logger.info(
    {
      delivery: claimed.id,
      job: claimed.jobId,
      event: claimed.event,
      attempt: claimed.attempts + 1,
      status_code: outcome.statusCode,
      error: outcome.error,
      ms: latencyMs,
      next: next.status,
    },
    "webhook:attempt",
  );
  return claimed;
}

async function send(deps: EdgeDeps, delivery: WebhookDeliveryRow, now: number): Promise<Outcome> {
  const secrets = signingSecrets(await findTenantWebhook(deps.db, delivery.tenantId), now);
  if (secrets.length === 0) {
    return { statusCode: null, error: "the tenant has no webhook signing secret", permanent: true };
  }
  const headers = {
    "content-type": "application/json",
    "user-agent": "Framewire-Webhooks/1",
    [webhookSignatureHeader]: await signWebhook(secrets, delivery.payload, Math.floor(now / 1000)),
    [webhookIdHeader]: delivery.id,
    [webhookEventHeader]: delivery.event,
  };
  let response: WebhookResponse;
  try {
    response = await deps.webhookSender.post(delivery.url, {
      headers,
      body: delivery.payload,
      timeoutMs: deps.config.webhooks.timeoutMs,
    });
  } catch (error) {
    if (error instanceof TargetRefusedError) {
      return { statusCode: null, error: `refused: ${error.message}`, permanent: true };
    }
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const detail = cause?.code ?? cause?.message ?? (error as Error).message;
    return { statusCode: null, error: `network: ${detail}`, permanent: false };
  }
  if (response.status >= 200 && response.status < 300)
    return { statusCode: response.status, error: null, permanent: false };
  return {
    statusCode: response.status,
    error: describeFailure(response, deps.config.webhooks),
    permanent: false,
  };
}

function describeFailure(response: WebhookResponse, config: WebhookConfig): string {
  if (response.status < 300 || response.status >= 400 || !response.location) return `HTTP ${response.status}`;
  // Redirects are not followed; say so, and say when the target would have been refused anyway.
  let verdict = "";
  try {
    checkTargetUrl(response.location, { allowHttp: config.allowHttp, allow: config.allowPrivate });
  } catch (error) {
    if (error instanceof TargetRefusedError) verdict = ` (refused: ${error.message})`;
  }
  return `HTTP ${response.status}: redirects are not followed; the receiver pointed to ${response.location}${verdict}`;
}

/**
 * Retries due deliveries (Node: a timer; Workers: the Cron trigger), a few at a time. Safe to run
 * on several instances at once: each attempt is claimed first.
 */
export async function sweepWebhooks(
  deps: EdgeDeps,
  options: { batch: number; concurrency?: number },
): Promise<number> {
  const due = await dueDeliveries(deps.db, deps.clock(), options.batch);
  let attempted = 0;
  const queue = [...due];
  const worker = async () => {
    for (let id = queue.shift(); id; id = queue.shift()) {
      if (
        await attemptDelivery(deps, id).catch((error: unknown) => {
          deps.logger.warn({ err: error, delivery: id }, "webhook:attempt:failed");
          return null;
        })
      )
        attempted++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 8, queue.length) }, worker));
  if (attempted > 0) deps.logger.info({ count: attempted }, "webhook:swept");
  return attempted;
}
