import type { ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DeadLetterMessage, NodeHeartbeat, ProgressMessage, ProgressTick } from "@framewire/shared";
import { kvBuckets, streams } from "@framewire/shared/nats";
import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type Stack, startStack } from "../../scripts/lib/stack";
import { makeClip } from "../support/media";

/**
 * Fleet fault tests: real nats-server, edge and processing nodes as processes, killed for real.
 * Timings are shortened through the fleet settings (ack_wait 2 s, 3 deliveries; a 2 s stall
 * watchdog for the watchdog test); the test-only fault switch is on for these nodes only.
 */

interface JobView {
  id: string;
  status: string;
  attempts: number;
  error: { code: string; message: string } | null;
}

const fleetEnv = {
  FW_ACK_WAIT_MS: "2000",
  FW_MAX_DELIVER: "3",
  FW_STALL_TIMEOUT_MS: "15000",
  FW_POLL_MS: "200",
  FW_HEARTBEAT_MS: "1000",
  FW_TEST_FAULTS: "1",
  FW_LOG_LEVEL: "info",
};

let dir: string;
let stack: Stack;
let nc: NatsConnection;
let longClipId: string;
let shortClipId: string;
const nodes: ChildProcess[] = [];

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${stack.apiUrl}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${stack.apiKey}`, ...(init.headers as Record<string, string>) },
  });

async function upload(path: string): Promise<string> {
  const body = new Uint8Array(await readFile(path));
  const res = await api("/v1/uploads", { method: "POST", headers: { "content-type": "video/mp4" }, body });
  return ((await res.json()) as { id: string }).id;
}

async function submit(uploadId: string, options: { preset?: string; fault?: string; height?: number } = {}) {
  const res = await api("/v1/jobs", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      input: { type: "upload", upload_id: uploadId },
      outputs: [
        {
          name: "out",
          type: "video",
          video: { height: options.height ?? 360, preset: options.preset ?? "veryfast" },
          audio: false,
        },
      ],
      ...(options.fault ? { metadata: { fw_test_fault: options.fault } } : {}),
    }),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as JobView).id;
}

async function job(id: string): Promise<JobView> {
  return (await (await api(`/v1/jobs/${id}`)).json()) as JobView;
}

async function until(id: string, statuses: string[], timeoutMs = 60_000, minAttempts = 0): Promise<JobView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = await job(id);
    if (statuses.includes(view.status) && view.attempts >= minAttempts) return view;
    if (Date.now() > deadline)
      throw new Error(`job ${id} is ${view.status}, waited for ${statuses.join("|")}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function events(id: string) {
  const body = (await (await api(`/v1/jobs/${id}/events`)).json()) as {
    data: { type: string; attempt: number; data: { node_id?: string } }[];
  };
  return body.data;
}

function startNode(name: string, env: Record<string, string> = {}) {
  const child = stack.startNode(name, { ...fleetEnv, ...env });
  nodes.push(child);
  return child;
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once("exit", (code) => resolve(code));
  });

async function stopNode(child: ChildProcess) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  await exited(child);
}

async function deadLetter(jobId: string): Promise<DeadLetterMessage | null> {
  const jsm = await jetstreamManager(nc);
  const stored = await jsm.streams
    .getMessage(streams.deadLetters, { last_by_subj: `fw.dlq.${jobId}` })
    .catch(() => null);
  return stored ? (JSON.parse(new TextDecoder().decode(stored.data)) as DeadLetterMessage) : null;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "fw-fault-"));
  stack = await startStack({
    dataDir: join(dir, "data"),
    ports: { api: 0, gateway: 0, nats: 0 },
    nodes: 0,
    output: "files",
    engine: "native",
  });
  nc = await connect({ servers: stack.natsUrl });
  // Long enough to still be running when a test kills its node (~3-6 s at 'medium' on 2 cores).
  longClipId = await upload(
    await makeClip(join(dir, "long.mp4"), { seconds: 12, width: 1280, height: 720, audio: false }),
  );
  shortClipId = await upload(
    await makeClip(join(dir, "short.mp4"), { seconds: 2, width: 320, height: 240, audio: false }),
  );
}, 120_000);

afterAll(async () => {
  await Promise.all(nodes.map(stopNode));
  await nc?.close();
  await stack?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("fleet faults", () => {
  it("finishes a job on a second node after its first node is SIGKILLed mid-run", async () => {
    const nodeA = startNode("victim");
    const id = await submit(longClipId, { preset: "medium", height: 720 });
    await until(id, ["running"]);
    await new Promise((r) => setTimeout(r, 300));
    nodeA.kill("SIGKILL");
    await exited(nodeA);

    startNode("rescuer");
    const final = await until(id, ["succeeded", "failed"], 90_000);
    expect(final.status).toBe("succeeded");
    expect(final.attempts).toBe(2);
    const history = await events(id);
    expect(history.map((e) => `${e.type}@${e.attempt}:${e.data.node_id ?? ""}`)).toEqual([
      "job:created@0:",
      "job:running@1:victim",
      "job:running@2:rescuer",
      "job:succeeded@2:rescuer",
    ]);
    await Promise.all(nodes.splice(0).map(stopNode));
  }, 120_000);

  it("dead-letters a job whose node dies on its last delivery, and says so on the job", async () => {
    const id = await submit(longClipId, { preset: "medium", height: 720 });
    for (const name of ["doomed-1", "doomed-2", "doomed-3"]) {
      const node = startNode(name);
      await until(id, ["running"], 30_000, Number(name.at(-1)));
      node.kill("SIGKILL");
      await exited(node);
    }
    nodes.splice(0);
    // Nobody holds the last delivery: JetStream's MAX_DELIVERIES advisory reaches a live node.
    startNode("janitor");
    const final = await until(id, ["failed", "succeeded"], 60_000);
    expect(final).toMatchObject({ status: "failed", attempts: 3, error: { code: "deliveries_exhausted" } });
    expect(await deadLetter(id)).toMatchObject({
      job_id: id,
      attempts: 3,
      last_error: { code: "deliveries_exhausted" },
    });
    const jsm = await jetstreamManager(nc);
    expect((await jsm.streams.info(streams.jobs)).state.messages).toBe(0);
    await Promise.all(nodes.splice(0).map(stopNode));
  }, 150_000);

  it("publishes a heartbeat with what the node is and what it is doing", async () => {
    const node = startNode("beating", { FW_SLOTS: "2" });
    const id = await submit(longClipId, { preset: "veryfast", height: 360 });
    await until(id, ["running"]);
    const kv = await new Kvm(nc).open(kvBuckets.nodes);
    await expect
      .poll(
        async () => {
          const entry = await kv.get("beating");
          return entry?.value.length
            ? (JSON.parse(new TextDecoder().decode(entry.value)) as NodeHeartbeat)
            : null;
        },
        { timeout: 10_000 },
      )
      .toMatchObject({
        id: "beating",
        pools: ["cpu"],
        engine: "native",
        encoders: expect.arrayContaining(["libx264", "aac"]),
        // No GPU here: each hardware device that was tried says why it did not open.
        hardware_errors: expect.objectContaining({ cuda: expect.any(String) }),
        slots: { total: 2, busy: 1 },
        jobs: [id],
      });
    await until(id, ["succeeded"]);
    await stopNode(node);
    nodes.splice(0);
    expect(await kv.get("beating").then((e) => e?.operation)).not.toBe("PUT");
  }, 90_000);

  it("keeps a node and its other slot working when one job's engine process crashes, and dead-letters the poison job", async () => {
    const node = startNode("two-slots", { FW_SLOTS: "2" });
    const healthy = await submit(longClipId, { preset: "faster", height: 480 });
    await until(healthy, ["running"]);
    const poison = await submit(shortClipId, { fault: "crash" });

    const crashed = await until(poison, ["failed", "succeeded"], 60_000);
    expect(crashed.status).toBe("failed");
    expect(crashed.error?.code).toBe("engine_crashed");
    expect(crashed.attempts).toBe(3);
    const letter = await deadLetter(poison);
    expect(letter).toMatchObject({ job_id: poison, attempts: 3, last_error: { code: "engine_crashed" } });
    expect(letter?.subject).toBe("fw.jobs.cpu.default");

    const survivor = await until(healthy, ["succeeded", "failed"], 90_000);
    expect(survivor).toMatchObject({ status: "succeeded", attempts: 1 });

    // An operator requeues the dead letter: it runs again (and, still poison, comes back).
    const listed = (await (await api("/v1/admin/dead-letters")).json()) as { data: { job_id: string }[] };
    expect(listed.data.map((d) => d.job_id)).toContain(poison);
    const requeue = await api(`/v1/admin/dead-letters/${poison}/requeue`, { method: "POST" });
    expect(requeue.status).toBe(202);
    const again = await until(poison, ["failed"], 60_000, 6);
    expect(again).toMatchObject({ status: "failed", attempts: 6, error: { code: "engine_crashed" } });
    expect(await deadLetter(poison)).toMatchObject({ attempts: 3, last_error: { code: "engine_crashed" } });
    expect(node.exitCode).toBeNull();
    await stopNode(nodes.splice(0)[0] as ChildProcess);
  }, 150_000);

  it("ends a run that stops making progress with the watchdog, and reports it", async () => {
    startNode("watchdog", { FW_STALL_TIMEOUT_MS: "2000" });
    const started = Date.now();
    const id = await submit(shortClipId, { fault: "stall" });
    const final = await until(id, ["failed", "succeeded"], 60_000);
    expect(final.status).toBe("failed");
    expect(final.error).toMatchObject({ code: "engine_stalled" });
    expect(final.error?.message).toMatch(/no progress for 2000 ms/);
    // Three deliveries, each ended by the 2 s watchdog (plus retry backoff): not a hang.
    expect(Date.now() - started).toBeLessThan(30_000);
    await Promise.all(nodes.splice(0).map(stopNode));
  }, 90_000);

  it("after a retry, live progress speaks for the new attempt, not the failed one", async () => {
    // A node with a 1 s time limit fails the job for good (time limits are not retried)…
    const hasty = startNode("hasty", { FW_JOB_TIME_LIMIT_MS: "1000" });
    const id = await submit(longClipId, { preset: "medium", height: 720 });
    const failed = await until(id, ["failed", "succeeded"], 60_000);
    expect(failed).toMatchObject({ status: "failed", attempts: 1, error: { code: "time_limit_exceeded" } });
    await stopNode(hasty);
    nodes.splice(0);

    // …a retry runs it again on a patient node; its message starts a fresh JetStream delivery count.
    startNode("patient");
    const retried = await api(`/v1/jobs/${id}/retry`, { method: "POST" });
    expect(retried.status).toBe(202);
    const { progress_url } = (await retried.json()) as { progress_url: string };
    const follow = (url: string) => {
      const socket = new WebSocket(url);
      const messages: ProgressMessage[] = [];
      socket.on("message", (data) => messages.push(JSON.parse(String(data)) as ProgressMessage));
      return new Promise<ProgressMessage[]>((resolve) => socket.on("close", () => resolve(messages)));
    };
    const live = await follow(progress_url);
    expect(live.at(-1)).toMatchObject({ type: "job:state", status: "succeeded" });
    expect(await job(id)).toMatchObject({ status: "succeeded", attempts: 2 });
    const ticks = live.filter((m): m is ProgressTick => m.type === "job:progress");
    // The failed run's last tick may be replayed on connect; after that, every tick is attempt 2.
    const firstNew = ticks.findIndex((t) => t.attempt === 2);
    expect(firstNew).toBeGreaterThanOrEqual(0);
    expect(ticks.slice(firstNew).every((t) => t.attempt === 2)).toBe(true);
    expect(ticks.at(-1)).toMatchObject({ attempt: 2, percent: 100 });
    // A watcher arriving afterwards is replayed the new run's end, not the failed run's.
    const late = (await follow(progress_url)).filter((m): m is ProgressTick => m.type === "job:progress");
    expect(late.map((t) => `${t.output}:${t.percent}@${t.attempt}`)).toEqual(["out:100@2"]);
    await Promise.all(nodes.splice(0).map(stopNode));
  }, 150_000);

  it("finishes the running job on SIGTERM and exits 0", async () => {
    const node = startNode("graceful", { FW_DRAIN_TIMEOUT_MS: "120000" });
    const id = await submit(longClipId, { preset: "veryfast", height: 360 });
    await until(id, ["running"]);
    node.kill("SIGTERM");
    expect(await exited(node)).toBe(0);
    expect(await job(id)).toMatchObject({ status: "succeeded", attempts: 1 });
    nodes.splice(0);
  }, 120_000);

  it("hands a job back on SIGTERM when it can't finish before the drain deadline, so another node runs it at once", async () => {
    const node = startNode("impatient", { FW_DRAIN_TIMEOUT_MS: "300" });
    const id = await submit(longClipId, { preset: "medium", height: 720 });
    await until(id, ["running"]);
    node.kill("SIGTERM");
    expect(await exited(node)).toBe(0);
    nodes.splice(0);
    // The record says so: queued again, with the reason.
    expect(await job(id)).toMatchObject({ status: "queued", attempts: 1 });

    const handedBackAt = Date.now();
    startNode("taker");
    const picked = await until(id, ["running", "succeeded"], 30_000, 2);
    expect(picked.attempts).toBe(2);
    // Handed back with a nak, not abandoned: no wait for ack_wait (2 s) to expire before redelivery.
    expect(Date.now() - handedBackAt).toBeLessThan(15_000);
    expect((await until(id, ["succeeded", "failed"], 90_000)).status).toBe("succeeded");
    const history = (await events(id)).map((e) => `${e.type}@${e.attempt}`);
    expect(history).toEqual([
      "job:created@0",
      "job:running@1",
      "job:requeued@1",
      "job:running@2",
      "job:succeeded@2",
    ]);
    await Promise.all(nodes.splice(0).map(stopNode));
  }, 150_000);
});
