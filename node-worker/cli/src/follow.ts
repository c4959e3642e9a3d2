import { type ProgressMessage, progressMessageSchema } from "@framewire/shared";
import cliProgress from "cli-progress";
import WebSocket from "ws";

/**
 * Follows a job's progress socket until the gateway sends the final state and closes. Draws a bar
 * per output on a terminal; prints a line per whole percent when output is not a TTY.
 */
export async function followProgress(progressUrl: string, stream: NodeJS.WriteStream = process.stderr) {
  const bars = new cliProgress.MultiBar(
    {
      stream,
      format: " {output} |{bar}| {percentage}% · {fps} fps · {speed}x · eta {eta_text}",
      hideCursor: true,
      noTTYOutput: !stream.isTTY,
      notTTYSchedule: 1_000,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  const perOutput = new Map<string, cliProgress.SingleBar>();
  let final: ProgressMessage | null = null;

  await new Promise<void>((resolve) => {
    const socket = new WebSocket(progressUrl);
    socket.on("message", (data) => {
      const parsed = progressMessageSchema.safeParse(JSON.parse(String(data)));
      // A message this CLI doesn't understand (a newer gateway) is skipped; the job is read at the end.
      if (!parsed.success) return;
      const message = parsed.data;
      if (message.type === "job:state") {
        final = message;
        if (message.status === "succeeded") for (const bar of perOutput.values()) bar.update(100);
        return;
      }
      let bar = perOutput.get(message.output);
      if (!bar) {
        bar = bars.create(100, 0, { output: message.output, fps: 0, speed: 0, eta_text: "…" });
        perOutput.set(message.output, bar);
      }
      bar.update(Math.floor(message.percent ?? 0), {
        fps: message.fps,
        speed: message.speed,
        eta_text: message.eta_sec === null ? "?" : `${message.eta_sec}s`,
      });
    });
    // The gateway closes after the final state; an error (gateway down) also ends following, and
    // the caller falls back to reading the job.
    socket.on("close", () => resolve());
    socket.on("error", () => resolve());
  });
  bars.stop();
  return final as ProgressMessage | null;
}
