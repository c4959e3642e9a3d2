import { type ChildProcess, execFile, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { FramewireClient } from "@framewire/shared/client";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { runDoctor } from "../../node-worker/cli/src/doctor";
import { repoRoot, type Stack, startStack } from "../../scripts/lib/stack";
import { apiClient, ok, submitJob, uploadBytes, waitForJob } from "../support/api";
import { makeBadMediaSet, makeClip, makeGarbage } from "../support/media";
import { alertRules, declaredMetrics, metricNamesIn } from "../support/prometheus-rules";
import { type S3Server, startRefusingS3, startS3Server } from "../support/s3-server";

/**
 * Operating a real fleet: the edge, the gateway and processing nodes as processes on nats-server.
 * /metrics behind its token on all three, with every metric the shipped alerts read; per-job logs
 * with FFmpeg's own words; a per-job temp limit and a killed slot; and `framewire doctor` against
 * real broken setups (no node, a GPU node whose hardware encoder does not open, a node on a bucket
 * that does not exist, one whose store refuses its key, a full temp disk, NATS down).
 */

const execFileAsync = promisify(execFile);
const token = "scrape-token-0123456789";

/** `mount -t tmpfs` needs root (and a kernel that lets this container mount); checked, not assumed. */
const tmpfsWorks = (() => {
  const probe = mkdtempSync(join(tmpdir(), "fw-tmpfs-probe-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", probe], { stdio: "ignore" });
    execFileSync("umount", [probe], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
})();

let dir: string;
let stack: Stack;
let client: FramewireClient;
let s3: S3Server;
let refusing: Awaited<ReturnType<typeof startRefusingS3>>;
let tmpfsDir: string | null = null;
const metricsPorts = new Map<string, number>();

/** Starts a node and waits until it has registered (it reports its metrics port over IPC then). */
async function startNode(name: string, env: Record<string, string> = {}): Promise<ChildProcess> {
  const child = stack.startNode(name, {
    FW_METRICS_PORT: "0",
    FW_METRICS_TOKEN: token,
    FW_HEARTBEAT_MS: "1000",
    ...env,
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.on("message", (m: { type?: string; port?: number }) => {
      if (m?.type === "listening" && typeof m.port === "number") resolve(m.port);
    });
    child.once("exit", (code) =>
      reject(new Error(`node ${name} exited with ${code} (see ${dir}/data/logs/${name}.log)`)),
    );
  });
  metricsPorts.set(name, port);
  return child;
}

async function stopNode(name: string): Promise<void> {
  const child = stack.processes.get(name);
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

async function doctorCli(args: string[] = []) {
  return execFileAsync(
    process.execPath,
    ["--import", "tsx", "node-worker/cli/src/main.ts", "doctor", ...args],
    {
      cwd: repoRoot,
      env: { ...process.env, FRAMEWIRE_API_URL: stack.apiUrl, FRAMEWIRE_API_KEY: stack.apiKey },
    },
  ).then(
    (r) => ({ code: 0, stdout: r.stdout }),
    (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
  );
}

const doctor = () => runDoctor({ apiUrl: stack.apiUrl, apiKey: stack.apiKey });
const problemsOf = async (check: string) =>
  (await doctor()).filter((f) => f.severity === "problem" && f.check === check);

async function scrape(url: string, withToken = true) {
  return fetch(url, withToken ? { headers: { authorization: `Bearer ${token}` } } : {});
}

beforeAll(async () => {
  dir = await mkdtemp();
  [s3, refusing] = await Promise.all([startS3Server(), startRefusingS3()]);
  stack = await startStack({
    dataDir: join(dir, "data"),
    ports: { api: 0, gateway: 0, nats: 0 },
    output: "files",
    nodes: 0,
    extraEdgeEnv: { FW_METRICS_TOKEN: token },
    extraGatewayEnv: { FW_METRICS_TOKEN: token },
    extraNodeEnv: { FW_POLL_MS: "200", FW_ACK_WAIT_MS: "3000" },
  });
  client = apiClient(stack);
  await startNode("node-1");
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  if (tmpfsDir) execFileSync("umount", [tmpfsDir], { stdio: "ignore" });
  await Promise.all([s3?.stop(), refusing?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

function mkdtemp() {
  return mkdtempSync(join(tmpdir(), "fw-e2e-ops-"));
}

describe("a healthy fleet", () => {
  it("serves /metrics only with the token, on the edge, a node and the gateway, with every metric the alerts read", async () => {
    const gateway = stack.progressUrl.replace(/^ws/, "http");
    const targets = {
      edge: `${stack.apiUrl}/metrics`,
      node: `http://127.0.0.1:${metricsPorts.get("node-1")}/metrics`,
      gateway: `${gateway}/metrics`,
    };
    const declared = new Set<string>();
    for (const [what, url] of Object.entries(targets)) {
      expect((await scrape(url, false)).status, `${what} without the token`).toBe(401);
      const res = await scrape(url);
      expect(res.status, what).toBe(200);
      const text = await res.text();
      expect(text, what).toMatch(/^fw_build_info\{/m);
      for (const name of declaredMetrics(text)) declared.add(name);
    }
    const nodeText = await (await scrape(targets.node)).text();
    // FFmpeg's library versions and the engine, as labels of the node's build info.
    expect(nodeText).toMatch(
      /^fw_build_info\{service="node",version="0.1.0",engine="native",ffmpeg="[^"]+",libavcodec="\d+\.\d+\.\d+"/m,
    );
    for (const rule of alertRules()) {
      for (const name of metricNamesIn(rule.expr)) {
        expect(declared.has(name), `${rule.alert} reads ${name}, which no process's /metrics declares`).toBe(
          true,
        );
      }
    }
  });

  it("passes `framewire doctor` (exit 0), which says what it saw", async () => {
    const result = await doctorCli([]);
    expect(result.stdout).toMatch(/^ok {4}node node-1: native engine \(FFmpeg [^)]+\), \d+ encoders/m);
    expect(result.stdout).toMatch(/^ok {4}storage: local: a probe object was written, read and deleted$/m);
    expect(result.stdout.trim().split("\n").at(-1)).toMatch(/^no problems/);
    expect(result.code).toBe(0);
  });

  it("keeps each attempt's FFmpeg warnings and errors for the job's tenant, without the node's paths", async () => {
    const good = await makeClip(join(dir, "good.mp4"), { seconds: 2, width: 320, height: 240 });
    const goodTs = await makeClip(join(dir, "good.ts"), { seconds: 2, width: 320, height: 240 });
    const set = await makeBadMediaSet(dir, good, goodTs);
    const damaged = set.find((b) => b.label === "ts-flipped-at-0p3")?.path ?? "";
    const garbage = await makeGarbage(join(dir, "garbage.mp4"));
    const outputs = [{ name: "small", type: "video" as const, video: { height: 120 } }];

    const survived = await submitJob(client, {
      input: { type: "upload", upload_id: await uploadBytes(client, await readFile(damaged), "video/mp2t") },
      outputs,
    });
    const failed = await submitJob(client, {
      input: { type: "upload", upload_id: await uploadBytes(client, await readFile(garbage)) },
      outputs,
    });
    expect((await waitForJob(client, survived.id)).status).toBe("succeeded");
    expect((await waitForJob(client, failed.id)).status).toBe("failed");

    const kept = ok(await client.jobs.logs(survived.id)).data;
    expect(kept).toHaveLength(1);
    expect(kept[0]).toMatchObject({ attempt: 1, node_id: "node-1", engine: "native", outcome: "succeeded" });
    expect(kept[0]?.lines.some((l) => l.source === "engine" && /h264: .*decoding MB/.test(l.message))).toBe(
      true,
    );

    const lost = ok(await client.jobs.logs(failed.id)).data;
    expect(lost[0]?.outcome).toBe("failed");
    const messages = lost[0]?.lines.map((l) => l.message) ?? [];
    expect(messages.some((m) => /moov atom not found|Invalid data/.test(m))).toBe(true);
    expect(messages.some((m) => m.startsWith("input_unreadable:"))).toBe(true);
    for (const line of [...kept, ...lost].flatMap((l) => l.lines)) {
      expect(line.message).not.toContain(dir);
      expect(line.message).not.toMatch(/\/work\/|\/tmp\//);
      expect(line.elapsed_sec).toBeGreaterThanOrEqual(0);
    }
  }, 60_000);

  it("removes the temp folder of a slot killed mid-job at once, and the job is retried to the end", async () => {
    const clip = await makeClip(join(dir, "long.mp4"), { seconds: 3, width: 1280, height: 720 });
    const job = await submitJob(client, {
      input: { type: "upload", upload_id: await uploadBytes(client, await readFile(clip)) },
      outputs: [{ name: "slow", type: "video", video: { height: 720, preset: "slow" }, audio: false }],
    });
    const workDir = join(dir, "data", "work", "node-1");
    const folder = join(workDir, `${job.id}-1`);
    await waitForJob(client, job.id, { until: (j) => j.status === "running" });
    const deadline = Date.now() + 20_000;
    while (!existsSync(folder) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(folder)).toBe(true);
    // The slot: the node's child process that runs the engine.
    const nodePid = stack.processes.get("node-1")?.pid ?? 0;
    const slots: number[] = [];
    for (const pid of await readdir("/proc")) {
      const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
      if (stat && Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === nodePid)
        slots.push(Number(pid));
    }
    expect(slots.length).toBeGreaterThan(0);
    for (const pid of slots) process.kill(pid, "SIGKILL");
    const killedAt = Date.now();
    while (existsSync(folder) && Date.now() - killedAt < 60_000) await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(folder)).toBe(false);
    const done = await waitForJob(client, job.id, { timeoutMs: 90_000 });
    expect(done).toMatchObject({ status: "succeeded", attempts: 2 });
  }, 120_000);
});

describe("resource limits", () => {
  it("fails a job past FW_JOB_TEMP_MB with resource_exhausted naming it, and the node carries on", async () => {
    await stopNode("node-1");
    await startNode("node-temp", { FW_JOB_TEMP_MB: "1" });
    onTestFinished(() => stopNode("node-temp"));
    const big = await makeClip(join(dir, "big.mp4"), { seconds: 6, width: 1280, height: 720 });
    const small = await makeClip(join(dir, "small.mp4"), { seconds: 1, width: 160, height: 120 });
    const tooBig = await submitJob(client, {
      input: { type: "upload", upload_id: await uploadBytes(client, await readFile(big)) },
      outputs: [{ name: "copy", type: "video", video: { height: 720, preset: "medium", crf: 10 } }],
    });
    const failed = await waitForJob(client, tooBig.id, { timeoutMs: 60_000 });
    expect(failed).toMatchObject({ status: "failed", attempts: 1, error: { code: "resource_exhausted" } });
    expect(failed.error?.message).toMatch(/over the per-job limit of 1 MiB \(FW_JOB_TEMP_MB\)/);
    const next = await submitJob(client, {
      input: { type: "upload", upload_id: await uploadBytes(client, await readFile(small)) },
      outputs: [{ name: "voice", type: "audio", codec: "aac" }],
    });
    expect((await waitForJob(client, next.id, { timeoutMs: 60_000 })).status).toBe("succeeded");
  }, 120_000);
});

describe("framewire doctor against broken setups", () => {
  it("says no node runs (and the CLI exits 1)", async () => {
    const found = await problemsOf("nodes");
    expect(found[0]).toMatchObject({ what: expect.stringMatching(/^no processing node is running/) });
    const cli = await doctorCli([]);
    expect(cli.code).toBe(1);
    expect(cli.stdout).toMatch(/^FAIL {2}nodes: no processing node is running/m);
    expect(cli.stdout).toMatch(/^ {6}fix: start a node/m);
  });

  it("names a GPU node whose encoder did not open, nodes whose store refuses, a full temp disk; a GPU job is told why it waits", async () => {
    await s3Bucketless();
    const starts = [
      startNode("gpu-1", { FW_POOLS: "gpu,cpu" }),
      startNode("s3-missing", {
        FW_STORAGE: "s3",
        FW_S3_ENDPOINT: s3.endpoint,
        FW_S3_BUCKET: "no-such-bucket",
        FW_S3_FORCE_PATH_STYLE: "true",
        FW_S3_ACCESS_KEY_ID: s3.credentials.accessKeyId,
        FW_S3_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
      }),
      startNode("s3-denied", {
        FW_STORAGE: "s3",
        FW_S3_ENDPOINT: refusing.endpoint,
        FW_S3_BUCKET: "framewire",
        FW_S3_FORCE_PATH_STYLE: "true",
        FW_S3_ACCESS_KEY_ID: "AKIAWRONGWRONGWRONG",
        FW_S3_SECRET_ACCESS_KEY: "wrong-secret",
      }),
    ];
    if (tmpfsWorks) {
      // A 16 MiB temp disk, 12 MiB of it taken: below the node's 8 MiB threshold.
      tmpfsDir = join(dir, "tmpfs");
      mkdirSync(tmpfsDir);
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", tmpfsDir]);
      await writeFile(join(tmpfsDir, "filler"), Buffer.alloc(12 * 1024 ** 2));
      starts.push(startNode("full-1", { FW_WORK_DIR: join(tmpfsDir, "work"), FW_MIN_FREE_DISK_MB: "8" }));
    }
    await Promise.all(starts);

    const findings = await doctor();
    const problem = (check: string) => findings.find((f) => f.severity === "problem" && f.check === check);
    expect(problem("node gpu-1")).toMatchObject({
      what: expect.stringMatching(/serves the gpu pool but no hardware encoder opened \(.*cuda/),
      fix: expect.stringContaining("FW_POOLS"),
    });
    expect(problem("node s3-missing")).toMatchObject({
      what: expect.stringMatching(/cannot use the object store: NoSuchBucket/),
      fix: expect.stringMatching(/create the bucket or correct FW_S3_BUCKET/),
    });
    expect(problem("node s3-denied")).toMatchObject({
      what: expect.stringMatching(/cannot use the object store: InvalidAccessKeyId/),
      fix: expect.stringMatching(/FW_S3_ACCESS_KEY_ID and FW_S3_SECRET_ACCESS_KEY/),
    });
    if (tmpfsWorks) {
      expect(problem("node full-1")).toMatchObject({
        what: expect.stringMatching(
          /takes no new jobs: the temp disk has \d+ MiB free, below FW_MIN_FREE_DISK_MB=8/,
        ),
      });
    }

    await pastEdgeCache();
    const gpuJob = await client.jobs.create({
      input: { type: "url", url: "https://media.example/clip.mp4" },
      outputs: [{ name: "o", type: "video", video: { height: 240 } }],
      accel: "gpu",
    });
    expect(gpuJob.ok && gpuJob.data.warnings?.[0]).toMatchObject({
      code: "no_hardware_encoder",
      message: expect.stringContaining("gpu-1"),
    });
    if (gpuJob.ok) await client.jobs.cancel(gpuJob.data.id);
  }, 120_000);

  it.skipIf(!tmpfsWorks)(
    "a full temp disk holds jobs back instead of failing them; freed, the node runs them",
    async () => {
      for (const name of ["gpu-1", "s3-missing", "s3-denied"]) await stopNode(name);
      // Past the edge's 5 s cache of the heartbeats: it must see only the full node now.
      await new Promise((r) => setTimeout(r, 5_500));
      const small = await makeClip(join(dir, "tiny.mp4"), { seconds: 1, width: 160, height: 120 });
      const job = await client.jobs.create({
        input: { type: "upload", upload_id: await uploadBytes(client, await readFile(small)) },
        outputs: [{ name: "voice", type: "audio", codec: "aac" }],
      });
      expect(job.ok && job.data.warnings?.[0]).toMatchObject({ code: "no_node_accepting" });
      await new Promise((r) => setTimeout(r, 1_500));
      const id = job.ok ? job.data.id : "";
      expect(ok(await client.jobs.get(id)).status).toBe("queued");
      await writeFile(join(tmpfsDir as string, "filler"), "");
      expect((await waitForJob(client, id, { timeoutMs: 60_000 })).status).toBe("succeeded");
      await stopNode("full-1");
    },
    120_000,
  );

  it("says NATS is down, from the edge and from here", async () => {
    const nats = stack.processes.get("nats");
    const exited = new Promise((resolve) => nats?.once("exit", resolve));
    nats?.kill("SIGTERM");
    await exited;
    const findings = await runDoctor({ apiUrl: stack.apiUrl, apiKey: stack.apiKey, natsUrl: stack.natsUrl });
    const problem = (check: string) => findings.find((f) => f.severity === "problem" && f.check === check);
    expect(problem("nats")).toMatchObject({ fix: expect.stringMatching(/start nats-server/) });
    expect(problem("nats (direct)")).toMatchObject({
      what: expect.stringContaining("does not answer"),
      fix: expect.stringMatching(/start nats-server with JetStream/),
    });
  }, 60_000);
});

/** Submissions read the heartbeats through a cache of a few seconds (edge/src/fleet/coverage.ts). */
const pastEdgeCache = () => new Promise((r) => setTimeout(r, 2_500));

/** s3rver creates only the bucket it was started with: "no-such-bucket" really does not exist. */
async function s3Bucketless() {
  const res = await fetch(`${s3.endpoint}/no-such-bucket/probe`);
  expect(res.status).toBe(404);
}
