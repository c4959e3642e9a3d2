import { type JobMessage, priorities, type StateMessage } from "@framewire/shared";
import { ensureJetStream, ensureKv, headers, streams, subjects } from "@framewire/shared/nats";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import { type NatsConnection, headers as natsHeaders } from "@nats-io/nats-core";
import type { Dispatcher, DispatcherHealth, DispatchMeta } from "./dispatcher";

const encoder = new TextEncoder();

/**
 * Dispatch over JetStream. The connection is made by the runtime entry (TCP on Node, WebSocket on
 * Workers), so this module never picks a transport.
 */
export async function createNatsDispatcher(
  nc: NatsConnection,
  options: { provision: boolean; replicas?: number },
): Promise<Dispatcher> {
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  let progressKv: KV | null = null;
  if (options.provision) {
    await ensureJetStream(jsm, { replicas: options.replicas ?? 1 });
    progressKv = (await ensureKv(nc, { replicas: options.replicas ?? 1 })).progress;
  }

  return {
    async dispatch(message: JobMessage, meta: DispatchMeta) {
      const h = natsHeaders();
      h.set(headers.requestId, meta.requestId);
      h.set(headers.tenant, message.tenant_id);
      await js.publish(subjects.job(meta.pool, meta.priority), encoder.encode(JSON.stringify(message)), {
        msgID: meta.msgId,
        headers: h,
        timeout: 5_000,
      });
    },

    async announce(state: StateMessage) {
      const data = encoder.encode(JSON.stringify(state));
      nc.publish(subjects.progress(state.job_id), data);
      if (progressKv) await progressKv.put(state.job_id, data);
    },

    async announceKeyRevoked(keyId: string) {
      nc.publish(subjects.keyRevoked, keyId);
      await nc.flush();
    },

    async cancel(jobId: string) {
      nc.publish(subjects.cancel(jobId));
      await nc.flush();
    },

    async health(): Promise<DispatcherHealth> {
      const started = performance.now();
      const info = await jsm.streams.info(streams.jobs);
      const queueDepth: Record<string, number> = {};
      const perSubject = await jsm.streams
        .info(streams.jobs, { subjects_filter: subjects.jobsAll })
        .then((i) => i.state.subjects ?? {});
      for (const pool of ["cpu", "gpu"] as const) {
        for (const priority of priorities)
          queueDepth[`${pool}.${priority}`] = perSubject[subjects.job(pool, priority)] ?? 0;
      }
      return {
        ok: true,
        detail: `rtt ${Math.round(performance.now() - started)} ms, ${info.state.messages} queued`,
        queueDepth,
        store: { bytes: info.state.bytes, maxBytes: info.config.max_bytes },
      };
    },

    async close() {
      await nc.drain().catch(() => {});
    },
  };
}
