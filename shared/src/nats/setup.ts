import {
  AckPolicy,
  DiscardPolicy,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/nats-core";
import { type Pool, priorities } from "../job-spec";
import { consumerName, kvBuckets, streams, subjects } from "./names";

const nanos = (ms: number) => ms * 1_000_000;

/**
 * Stream limits, chosen deliberately:
 * - FW_JOBS is a work queue: a message lives until a node acks it. A job waiting a week has
 *   missed every reasonable deadline, so max_age drops it (the edge's outbox/stuck-job views
 *   still show the record). 1 GiB of job messages is ~1M queued jobs; past it new publishes are
 *   refused (discard new) and the edge's outbox retries, rather than old jobs being dropped.
 * - duplicate_window covers the outbox sweeper's re-publish of a job whose publish ack was lost.
 */
export const jobsStreamLimits = {
  maxAgeMs: 7 * 24 * 3600 * 1000,
  maxBytes: 1024 ** 3,
  duplicateWindowMs: 10 * 60 * 1000,
};

/** Consumer defaults. ack_wait is short: a node proves it is alive with working() heartbeats. */
export const consumerDefaults = {
  ackWaitMs: 30_000,
  maxDeliver: 5,
};

export interface ConsumerSettings {
  ackWaitMs: number;
  maxDeliver: number;
  /** The default (1,000) would silently stall delivery on a big fleet; derive it from the slots. */
  maxAckPending: number;
}

/** Creates (or leaves in place) the streams and KV buckets the fleet needs. Idempotent. */
export async function ensureJetStream(
  jsm: JetStreamManager,
  options: { replicas?: number } = {},
): Promise<void> {
  const replicas = options.replicas ?? 1;
  const config = {
    name: streams.jobs,
    subjects: [subjects.jobsAll],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    discard: DiscardPolicy.New,
    max_age: nanos(jobsStreamLimits.maxAgeMs),
    max_bytes: jobsStreamLimits.maxBytes,
    duplicate_window: nanos(jobsStreamLimits.duplicateWindowMs),
    num_replicas: replicas,
  };
  await jsm.streams.info(streams.jobs).then(
    () => jsm.streams.update(streams.jobs, config),
    () => jsm.streams.add(config),
  );
  // Dead letters are kept until an operator requeues or drops them, or for 30 days.
  const dlq = {
    name: streams.deadLetters,
    subjects: [subjects.deadLettersAll],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: nanos(30 * 24 * 3600 * 1000),
    max_msgs_per_subject: 1,
    num_replicas: replicas,
  };
  await jsm.streams.info(streams.deadLetters).then(
    () => jsm.streams.update(streams.deadLetters, dlq),
    () => jsm.streams.add(dlq),
  );
}

/**
 * How long a node's heartbeat entry outlives its last write. 2.9 has no per-key TTL, so this is the
 * bucket's TTL, the same for every node; nodes heartbeat at most every third of it.
 */
export const nodeHeartbeatTtlMs = 15_000;

export async function ensureKv(nc: NatsConnection, options: { replicas?: number } = {}) {
  const kvm = new Kvm(nc);
  const replicas = options.replicas ?? 1;
  const [nodes, progress] = await Promise.all([
    // A node that stops heartbeating disappears after the bucket TTL (2.9 has no per-key TTL).
    kvm.create(kvBuckets.nodes, { ttl: nodeHeartbeatTtlMs, history: 1, replicas }),
    kvm.create(kvBuckets.progress, { ttl: 7 * 24 * 3600 * 1000, history: 1, replicas }),
  ]);
  return { nodes, progress };
}

/** One durable pull consumer per pool and priority (2.9 work queues refuse overlapping filters). */
export async function ensureConsumers(
  jsm: JetStreamManager,
  pool: Pool,
  settings: ConsumerSettings,
): Promise<void> {
  for (const priority of priorities) {
    const name = consumerName(pool, priority);
    const config = {
      durable_name: name,
      filter_subject: subjects.job(pool, priority),
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(settings.ackWaitMs),
      max_deliver: settings.maxDeliver,
      max_ack_pending: Math.max(1, settings.maxAckPending),
    };
    await jsm.consumers.info(streams.jobs, name).then(
      () => jsm.consumers.update(streams.jobs, name, config),
      () => jsm.consumers.add(streams.jobs, config),
    );
  }
}
