import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kvBuckets, streams } from "@framewire/shared/nats";
import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack } from "../../scripts/lib/stack";
import { makeClip } from "../support/media";
import { type NatsCluster, startNatsCluster } from "../support/nats-cluster";

/**
 * A three-server JetStream cluster with R3 streams loses the server leading FW_JOBS while jobs are
 * being submitted and processed: every job the edge accepted still ends `succeeded`.
 */

let dir: string;
let cluster: NatsCluster;
let stack: Stack;
let uploadId: string;

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${stack.apiUrl}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${stack.apiKey}`, ...(init.headers as Record<string, string>) },
  });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "fw-cluster-"));
  cluster = await startNatsCluster(join(dir, "nats"));
  stack = await startStack({
    dataDir: join(dir, "data"),
    ports: { api: 0, gateway: 0, nats: 0 },
    nats: { url: cluster.url, replicas: 3 },
    // The test polls its 24 jobs twice a second until they end: not what the rate limits are for.
    extraEdgeEnv: { FW_RATE_KEY_PER_SEC: "1000", FW_RATE_KEY_BURST: "1000" },
    nodes: 2,
    engine: "native",
    output: "files",
    extraNodeEnv: { FW_ACK_WAIT_MS: "3000", FW_POLL_MS: "200" },
  });
  const clip = await readFile(await makeClip(join(dir, "clip.mp4"), { seconds: 1, width: 320, height: 240 }));
  const res = await api("/v1/uploads", {
    method: "POST",
    headers: { "content-type": "video/mp4" },
    body: new Uint8Array(clip),
  });
  uploadId = ((await res.json()) as { id: string }).id;
  // Both nodes registered (heartbeats in KV) before the fault.
  const nc = await connect({ servers: cluster.url.split(",") });
  const nodesKv = await new Kvm(nc).open(kvBuckets.nodes);
  const registered = async () => {
    const keys: string[] = [];
    for await (const key of await nodesKv.keys()) keys.push(key);
    return keys.length;
  };
  for (let i = 0; i < 100 && (await registered()) < 2; i++) await new Promise((r) => setTimeout(r, 200));
  await nc.close();
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await cluster?.stop();
  if (!process.env.FW_KEEP_TEST_DIR) await rm(dir, { recursive: true, force: true });
});

describe("a NATS cluster losing a server", () => {
  it("finishes every accepted job", async () => {
    const nc = await connect({ servers: cluster.url.split(",") });
    const info = await (await jetstreamManager(nc)).streams.info(streams.jobs);
    await nc.close();
    expect(info.config.num_replicas).toBe(3);
    const leader = info.cluster?.leader ?? "n1";

    const accepted: string[] = [];
    const submitOne = async () => {
      const res = await api("/v1/jobs", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          input: { type: "upload", upload_id: uploadId },
          outputs: [{ name: "o", type: "video", video: { height: 120, preset: "ultrafast" } }],
        }),
      });
      if (res.status === 202) accepted.push(((await res.json()) as { id: string }).id);
    };
    for (let i = 0; i < 24; i++) {
      if (i === 8) await cluster.kill(leader);
      await submitOne();
      await new Promise((r) => setTimeout(r, 150));
    }
    expect(accepted.length).toBe(24);

    const deadline = Date.now() + 120_000;
    let statuses: string[] = [];
    while (Date.now() < deadline) {
      statuses = await Promise.all(
        accepted.map(
          async (id) => ((await (await api(`/v1/jobs/${id}`)).json()) as { status: string }).status,
        ),
      );
      if (statuses.every((s) => ["succeeded", "failed", "canceled"].includes(s))) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(statuses.filter((s) => s !== "succeeded")).toEqual([]);
  }, 180_000);
});
