/**
 * `@framewire/shared`: the contract. Every message that crosses a boundary (job spec, JetStream job
 * message, node→edge reports, progress ticks, public API bodies, webhook payloads, error codes) is
 * one zod schema here with its type inferred from it. Runtime-neutral: no NATS, no database code
 * (those are `@framewire/shared/nats` and `@framewire/shared/db`).
 */
export * from "./api";
export * from "./composition";
export * from "./destinations";
export * from "./errors";
export * from "./ids";
export * from "./job-spec";
export * from "./job-state";
export * from "./media";
export * from "./messages";
export * from "./net-policy";
export * from "./settings";
export * from "./storage-keys";
export * from "./token";
export * from "./webhook-signing";
export * from "./webhooks";
