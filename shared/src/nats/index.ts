/**
 * `@framewire/shared/nats`: NATS names (streams, subjects, KV buckets and keys, headers) and the
 * JetStream set-up every part runs at start. Kept apart from the contract entry so runtime-neutral
 * code that only needs the message schemas pulls in no NATS client code.
 */
export * from "./names";
export * from "./setup";
