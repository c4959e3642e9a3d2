import type { EngineProgress } from "@framewire/native";
import { type ProgressMessage, subjects } from "@framewire/shared";
import type { KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/nats-core";

const encoder = new TextEncoder();

export interface ProgressPublisher {
  tick(jobId: string, attempt: number, output: string, progress: EngineProgress): void;
  publish(message: ProgressMessage): Promise<void>;
}

/**
 * Ticks go to fw.progress.<jobId> for live listeners and to KV fw_progress so a listener that
 * connects late starts from the latest state. Both are latest-state messages: losing one is harmless.
 */
export function createProgressPublisher(nc: NatsConnection, kv: KV): ProgressPublisher {
  const lastPercent = new Map<string, number>();
  const publish = async (message: ProgressMessage) => {
    const data = encoder.encode(JSON.stringify(message));
    nc.publish(subjects.progress(message.job_id), data);
    await kv.put(message.job_id, data);
  };
  return {
    tick(jobId, attempt, output, p) {
      // Never backwards within an attempt, even if an engine reports a smaller value.
      const key = `${jobId}/${attempt}/${output}`;
      const percent = p.percent === null ? null : Math.max(lastPercent.get(key) ?? 0, p.percent);
      if (percent !== null) lastPercent.set(key, percent);
      void publish({
        type: "job:progress",
        job_id: jobId,
        attempt,
        output,
        percent: percent === null ? null : Math.round(percent * 10) / 10,
        frames: p.frames,
        fps: Math.round(p.fps * 10) / 10,
        speed: Math.round(p.speed * 100) / 100,
        out_time_sec: Math.round(p.outTimeSec * 100) / 100,
        eta_sec: p.etaSec === null ? null : Math.round(p.etaSec),
        at: new Date().toISOString(),
      }).catch(() => {});
    },
    async publish(message) {
      if (message.type === "job:state") {
        for (const key of lastPercent.keys())
          if (key.startsWith(`${message.job_id}/`)) lastPercent.delete(key);
      }
      await publish(message);
    },
  };
}
