import { z } from "zod";

/**
 * Webhooks: what a job (or a tenant's default) may ask for. The signature is in webhook-signing.ts,
 * the bodies in api.ts.
 */

export const webhookEvents = [
  "job.running",
  "job.progress",
  "job.succeeded",
  "job.failed",
  "job.canceled",
  "batch.completed",
] as const;
export type WebhookEvent = (typeof webhookEvents)[number];
export const webhookEventSchema = z.enum(webhookEvents);

/** What a webhook receives when it names no events: the final states. */
export const defaultWebhookEvents: WebhookEvent[] = ["job.succeeded", "job.failed", "job.canceled"];

/** The events about one job (a batch's webhook may ask for these for each of its jobs too). */
export const jobWebhookEvents: readonly WebhookEvent[] = webhookEvents.filter((e) => e.startsWith("job."));

export const webhookUrlSchema = z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).max(2048);

export const webhookEventsSchema = z
  .array(webhookEventSchema)
  .min(1)
  .max(webhookEvents.length)
  .refine((events) => new Set(events).size === events.length, "events must be unique");

/** `webhook` in a job spec. */
export const webhookSpecSchema = z.strictObject({
  url: webhookUrlSchema,
  events: webhookEventsSchema.default(defaultWebhookEvents),
});
export type WebhookSpec = z.output<typeof webhookSpecSchema>;
