import type { ProgressMessage } from "@framewire/shared/client";

export interface ProgressSocket {
  close(): void;
}

/** Close codes the gateway uses (see the README's "Live progress"). */
export const closeReasons: Record<number, string> = {
  4401: "the progress link is invalid",
  4403: "the progress link is for another job",
  4410: "the progress link expired",
  4429: "too many progress connections from this address",
  4420: "the connection was too slow",
};

/**
 * Opens a job's progress WebSocket: the gateway sends the last known state, every tick, then the
 * final state, then closes with 1000.
 */
export function openProgress(
  url: string,
  on: {
    open(): void;
    message(message: ProgressMessage): void;
    close(code: number): void;
  },
): ProgressSocket {
  let closedByUs = false;
  const ws = new WebSocket(url);
  ws.onopen = () => on.open();
  ws.onmessage = (event) => {
    if (typeof event.data !== "string") return;
    try {
      on.message(JSON.parse(event.data) as ProgressMessage);
    } catch {
      // Not ours: ignore rather than break the stream.
    }
  };
  ws.onclose = (event) => {
    if (!closedByUs) on.close(event.code);
  };
  return {
    close() {
      closedByUs = true;
      ws.close(1000);
    },
  };
}
