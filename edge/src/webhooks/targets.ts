import { FramewireError, type JobSpec, TargetRefusedError } from "@framewire/shared";
import type { JobRow, TenantWebhookRow } from "@framewire/shared/db";
import type { EdgeDeps } from "../deps";
import { findTenantWebhook } from "./repository";

/** Checks a webhook URL against the SSRF policy, as a 422 that names the field and the reason. */
export async function checkWebhookTarget(deps: EdgeDeps, url: string, field: string): Promise<void> {
  try {
    await deps.webhookSender.check(url);
  } catch (error) {
    if (!(error instanceof TargetRefusedError)) throw error;
    throw new FramewireError("webhook_url_refused", `${field}: ${error.message}`, {
      errors: [{ field, message: error.message }],
      reason: error.reason,
    });
  }
}

/**
 * Where a new job's webhooks go: its own `webhook` (checked now), else the tenant's default
 * (checked when it was set), else nowhere. Every delivery checks the target again when it connects.
 */
export async function resolveJobWebhook(
  deps: EdgeDeps,
  tenantId: string,
  spec: JobSpec,
  /** The tenant's webhook settings when already read (readSubmission); read here otherwise. */
  known?: { settings: TenantWebhookRow | null },
): Promise<JobRow["webhook"]> {
  const settings = known ? known.settings : await findTenantWebhook(deps.db, tenantId);
  const target = spec.webhook ?? (settings?.url ? { url: settings.url, events: settings.events } : null);
  if (!target) return null;
  if (!settings) {
    throw new FramewireError(
      "webhook_secret_missing",
      "Webhooks are signed with your tenant's secret: create it first with PUT /v1/webhook (the response shows it once).",
    );
  }
  if (spec.webhook) await checkWebhookTarget(deps, spec.webhook.url, "webhook.url");
  return target;
}
