import type { EngineProgress } from "@framewire/native";
import type { ProgressMessage } from "@framewire/shared";
import { progressKeys, subjects } from "@framewire/shared/nats";
import type { KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/nats-core";

const encoder = new TextEncoder();

export interface ProgressPublisher {
  /** One output's progress (the engine reports each output of a run on its own). */
  tick(jobId: string, attempt: number, progress: EngineProgress): void;
  publish(message: ProgressMessage): Promise<void>;
}

/**
 * Ticks go to fw.progress.<jobId> for live listeners and to KV fw_progress, one key per output,
 * so a listener that connects late starts from every output's latest state. Both are
 * latest-state messages: losing one is harmless.
 */
export function createProgressPublisher(nc: NatsConnection, kv: KV): ProgressPublisher {
  const lastPercent = new Map<string, number>();
  const send = async (message: ProgressMessage, key: string) => {
    const data = encoder.encode(JSON.stringify(message));
    nc.publish(subjects.progress(message.job_id), data);
    await kv.put(key, data);
  };
  return {
    tick(jobId, attempt, p) {
      // Never backwards within an attempt, even if an engine reports a smaller value.
      const key = `${jobId}/${attempt}/${p.output}`;
      const percent = p.percent === null ? null : Math.max(lastPercent.get(key) ?? 0, p.percent);
      if (percent !== null) lastPercent.set(key, percent);
      const message: ProgressMessage = {
        type: "job:progress",
        job_id: jobId,
        attempt,
        output: p.output,
        percent: percent === null ? null : Math.round(percent * 10) / 10,
        frames: p.frames,
        fps: Math.round(p.fps * 10) / 10,
        speed: Math.round(p.speed * 100) / 100,
        out_time_sec: Math.round(p.outTimeSec * 100) / 100,
        eta_sec: p.etaSec === null ? null : Math.round(p.etaSec),
        at: new Date().toISOString(),
      };
      void send(message, progressKeys.output(jobId, p.output)).catch(() => {});
    },
    async publish(message) {
      if (message.type === "job:state") {
        for (const key of lastPercent.keys())
          if (key.startsWith(`${message.job_id}/`)) lastPercent.delete(key);
      }
      await send(message, progressKeys.state(message.job_id));
    },
  };
}
