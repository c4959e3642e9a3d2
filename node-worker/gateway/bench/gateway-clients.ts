/**
 * One client process of the gateway benchmark (gateway.bench.ts forks several): holds its share
 * of the WebSocket clients, times every progress message from its send timestamp to its arrival
 * (both clocks are this machine's), and reports a latency histogram back over IPC.
 */
import WebSocket from "ws";

export type ToClients =
  | { type: "open"; urls: string[]; concurrency: number }
  | { type: "measure"; on: boolean }
  | { type: "close" };

export type FromClients =
  | { type: "opened"; open: number; failed: number; firstError: string | null }
  | { type: "histogram"; buckets: Uint32Array; overflow: number; maxMs: number; count: number }
  | { type: "closed"; closeCodes: Record<string, number> };

/** Latency buckets of 0.1 ms up to 10 s; merged across processes by adding counts. */
export const BUCKET_MS = 0.1;
export const BUCKETS = 100_000;

const now = () => performance.timeOrigin + performance.now();
const sockets: WebSocket[] = [];
const closeCodes: Record<string, number> = {};
let measuring = false;
let buckets = new Uint32Array(BUCKETS);
let overflow = 0;
let maxMs = 0;
let count = 0;
const marker = Buffer.from('"bench_sent_at":');
const comma = 0x2c;

function record(data: Buffer): void {
  if (!measuring) return;
  // The timestamp is read from the bytes without decoding or parsing the whole message, so the
  // clients spend their CPU on receiving (the gateway shares the machine with them).
  const at = data.indexOf(marker);
  if (at < 0) return;
  const start = at + marker.length;
  const end = data.indexOf(comma, start);
  const sent = Number.parseFloat(data.toString("latin1", start, end < 0 ? data.length - 1 : end));
  const ms = Math.max(0, now() - sent);
  count++;
  if (ms > maxMs) maxMs = ms;
  const bucket = Math.floor(ms / BUCKET_MS);
  if (bucket < BUCKETS) buckets[bucket] = (buckets[bucket] ?? 0) + 1;
  else overflow++;
}

function openOne(url: string): Promise<string | null> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true });
    ws.on("message", (data) => record(data as Buffer));
    ws.once("open", () => {
      sockets.push(ws);
      resolve(null);
    });
    ws.once("error", (error) => resolve(error.message));
    ws.once("close", (code) => {
      closeCodes[code] = (closeCodes[code] ?? 0) + 1;
      resolve(`closed ${code} before opening`);
    });
  });
}

async function open(urls: string[], concurrency: number): Promise<void> {
  let failed = 0;
  let firstError: string | null = null;
  for (let i = 0; i < urls.length; i += concurrency) {
    const results = await Promise.all(urls.slice(i, i + concurrency).map(openOne));
    for (const error of results) {
      if (error === null) continue;
      failed++;
      firstError ??= error;
    }
  }
  send({ type: "opened", open: sockets.length, failed, firstError });
}

/** Waits for the gateway to close every socket (it does after the final state), then closes stragglers. */
async function closeAll(): Promise<void> {
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve();
          ws.once("close", () => resolve());
          setTimeout(() => {
            if (ws.readyState === WebSocket.OPEN) ws.close();
            setTimeout(() => {
              ws.terminate();
              resolve();
            }, 5_000).unref();
          }, 5_000).unref();
        }),
    ),
  );
  send({ type: "closed", closeCodes });
}

function send(message: FromClients): void {
  process.send?.(message);
}

process.on("message", (message: ToClients) => {
  if (message.type === "open") void open(message.urls, message.concurrency);
  else if (message.type === "measure") {
    if (message.on) {
      buckets = new Uint32Array(BUCKETS);
      overflow = 0;
      maxMs = 0;
      count = 0;
      measuring = true;
    } else {
      measuring = false;
      send({ type: "histogram", buckets, overflow, maxMs, count });
    }
  } else void closeAll().then(() => process.exit(0));
});
process.on("disconnect", () => process.exit(0));
