import { once } from "node:events";
import { type ProgressMessage, signToken } from "@framewire/shared";
import { ensureKv, progressKeys, subjects } from "@framewire/shared/nats";
import type { KV } from "@nats-io/kv";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type NatsServer, startNatsServer } from "../../../test/support/nats-server";
import { closeCodes, type Gateway, startGateway } from "./gateway";

/** The progress gateway with a real nats-server and real WebSocket clients. */

const secret = "g".repeat(40);
let nats: NatsServer;
let nc: NatsConnection;
let kv: KV;
let gateway: Gateway;
let jobCounter = 0;

const newJobId = () => `job_${String(++jobCounter).padStart(26, "0")}`;
const token = (job: string, expSec = 3600) =>
  signToken(secret, "progress", { job, tenant: "ten_x", exp: Math.floor(Date.now() / 1000) + expSec });
const url = (job: string, t: string) => `ws://127.0.0.1:${gateway.port}/v1/jobs/${job}/progress?token=${t}`;
const encode = (m: ProgressMessage) => new TextEncoder().encode(JSON.stringify(m));

function tick(job: string, percent: number, output = "o", attempt = 1): ProgressMessage {
  return {
    type: "job:progress",
    job_id: job,
    attempt,
    output,
    percent,
    frames: percent,
    fps: 30,
    speed: 1,
    out_time_sec: percent / 10,
    eta_sec: 1,
    at: new Date().toISOString(),
  };
}

function client(address: string) {
  const ws = new WebSocket(address);
  const messages: ProgressMessage[] = [];
  ws.on("message", (data) => messages.push(JSON.parse(String(data))));
  const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
  // Settles either way: a socket refused before it opened fails the wait with its close code.
  const opened = new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    void closed.then((code) => reject(new Error(`closed with ${code} before opening`)));
  });
  opened.catch(() => {});
  return { ws, messages, opened, closed };
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${gateway.port}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return Number(line?.split(" ").at(-1) ?? Number.NaN);
}

beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
  kv = (await ensureKv(nc)).progress;
  gateway = await startGateway({
    nc,
    progressKv: kv,
    tokenSecret: secret,
    host: "127.0.0.1",
    port: 0,
    logger: pino({ level: "silent" }),
    maxConnectionsPerIp: 20,
  });
});

afterAll(async () => {
  gateway?.close();
  await nc?.close();
  await nats?.stop();
});

describe("progress gateway", () => {
  it("refuses wrong, expired and other-job tokens with distinct close codes", async () => {
    const job = newJobId();
    expect(await client(url(job, "nope.nope")).closed).toBe(closeCodes.invalidToken);
    expect(await client(url(job, await token(job, -10))).closed).toBe(closeCodes.expiredToken);
    expect(await client(url(job, await token(newJobId()))).closed).toBe(closeCodes.wrongJob);
  });

  it("sends the last known progress first, then every tick, then the final state, then closes normally", async () => {
    const job = newJobId();
    await kv.put(progressKeys.output(job, "o"), encode(tick(job, 10)));
    const c = client(url(job, await token(job)));
    await c.opened;
    await expect.poll(() => c.messages.length).toBe(1);
    for (const p of [20, 40, 60]) nc.publish(subjects.progress(job), encode(tick(job, p)));
    nc.publish(
      subjects.progress(job),
      encode({ type: "job:state", job_id: job, status: "succeeded", at: new Date().toISOString() }),
    );
    expect(await c.closed).toBe(1000);
    expect(c.messages.map((m) => (m.type === "job:progress" ? m.percent : m.status))).toEqual([
      10,
      20,
      40,
      60,
      "succeeded",
    ]);
  });

  it("replays every output's last tick of the newest attempt on connect, then live ticks from memory", async () => {
    const job = newJobId();
    await kv.put(
      progressKeys.state(job),
      encode({ type: "job:state", job_id: job, status: "running", at: new Date().toISOString() }),
    );
    await kv.put(progressKeys.output(job, "stale"), encode(tick(job, 90, "stale", 1)));
    await kv.put(progressKeys.output(job, "video"), encode(tick(job, 40, "video", 2)));
    await kv.put(progressKeys.output(job, "ladder"), encode(tick(job, 15, "ladder", 2)));
    const label = (m: ProgressMessage) => (m.type === "job:progress" ? `${m.output}:${m.percent}` : m.status);
    const first = client(url(job, await token(job)));
    await expect.poll(() => first.messages.length).toBe(3);
    expect(first.messages.map(label)).toEqual(["running", "video:40", "ladder:15"]);

    // Live ticks update the channel's memory: a second socket starts from them, not from KV.
    nc.publish(subjects.progress(job), encode(tick(job, 55, "video", 2)));
    await expect.poll(() => first.messages.length).toBe(4);
    const second = client(url(job, await token(job)));
    await expect.poll(() => second.messages.length).toBe(3);
    expect(second.messages.map(label)).toEqual(["running", "video:55", "ladder:15"]);

    nc.publish(
      subjects.progress(job),
      encode({ type: "job:state", job_id: job, status: "succeeded", at: new Date().toISOString() }),
    );
    expect(await first.closed).toBe(1000);
    expect(await second.closed).toBe(1000);
    expect(first.messages.map(label)).toEqual(["running", "video:40", "ladder:15", "video:55", "succeeded"]);
  });

  it("answers a late listener with the final state and closes", async () => {
    const job = newJobId();
    await kv.put(
      job,
      encode({ type: "job:state", job_id: job, status: "failed", at: new Date().toISOString() }),
    );
    const c = client(url(job, await token(job)));
    expect(await c.closed).toBe(1000);
    expect(c.messages).toMatchObject([{ type: "job:state", status: "failed" }]);
  });

  it("serves many sockets on one job from one subscription", async () => {
    const job = newJobId();
    const t = await token(job);
    const clients = Array.from({ length: 10 }, () => client(url(job, t)));
    await Promise.all(clients.map((c) => c.opened));
    const health = (await (await fetch(`http://127.0.0.1:${gateway.port}/health`)).json()) as {
      jobs: number;
    };
    expect(health.jobs).toBe(1);
    nc.publish(subjects.progress(job), encode(tick(job, 50)));
    nc.publish(
      subjects.progress(job),
      encode({ type: "job:state", job_id: job, status: "succeeded", at: new Date().toISOString() }),
    );
    await Promise.all(clients.map((c) => c.closed));
    for (const c of clients) expect(c.messages.map((m) => m.type)).toEqual(["job:progress", "job:state"]);
    expect(await metric("fw_gateway_jobs_watched")).toBe(0);
  });

  it("limits sockets per client address", async () => {
    // Earlier tests' sockets may still be closing on the server side.
    await expect.poll(() => metric("fw_gateway_connections")).toBe(0);
    const job = newJobId();
    const t = await token(job);
    const held = Array.from({ length: 20 }, () => client(url(job, t)));
    await Promise.all(held.map((c) => c.opened));
    expect(await client(url(job, t)).closed).toBe(closeCodes.tooManyConnections);
    for (const c of held) c.ws.close();
    await Promise.all(held.map((c) => c.closed));
    const again = client(url(job, t));
    await again.opened;
    again.ws.close();
  });

  it("drops a client that stops reading instead of buffering for it", async () => {
    await expect.poll(() => metric("fw_gateway_connections")).toBe(0);
    const job = newJobId();
    const slow = client(url(job, await token(job)));
    await slow.opened;
    // Stop reading: the kernel buffers fill, then uWS's per-socket backpressure limit.
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const padding = "x".repeat(2000);
    for (let i = 0; i < 20_000; i++) {
      nc.publish(
        subjects.progress(job),
        new TextEncoder().encode(JSON.stringify({ ...tick(job, 1), padding })),
      );
      if (i % 1000 === 0) await nc.flush();
    }
    await expect
      .poll(() => metric("fw_gateway_messages_dropped_total"), { timeout: 15_000 })
      .toBeGreaterThan(0);
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    // Disconnected: with its buffer full, the close frame may never reach it (then it sees 1006).
    expect([closeCodes.slowConsumer, 1006]).toContain(await slow.closed);
    expect(await metric("fw_gateway_connections")).toBe(0);
  });

  it("pings quiet sockets: a client that answers stays connected, one that never answers is closed", async () => {
    const quick = await startGateway({
      nc,
      progressKv: kv,
      tokenSecret: secret,
      host: "127.0.0.1",
      port: 0,
      logger: pino({ level: "silent" }),
      idleTimeoutSec: 8,
    });
    try {
      const job = newJobId();
      const address = `ws://127.0.0.1:${quick.port}/v1/jobs/${job}/progress?token=${await token(job)}`;
      const answering = new WebSocket(address);
      const mute = new WebSocket(address, { autoPong: false });
      let pings = 0;
      answering.on("ping", () => pings++);
      const answeringClosed = new Promise<number>((resolve) => answering.once("close", resolve));
      const muteClosed = new Promise<number>((resolve) => mute.once("close", resolve));
      await Promise.all([once(answering, "open"), once(mute, "open")]);
      // No progress at all on this job: only the keep-alive decides.
      const code = await muteClosed;
      expect(code).not.toBe(1000);
      expect(pings).toBeGreaterThan(0);
      expect(answering.readyState).toBe(WebSocket.OPEN);
      answering.close();
      await answeringClosed;
    } finally {
      quick.close();
    }
  }, 60_000);
});
