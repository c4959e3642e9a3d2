import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type Stack, startStack } from "../../scripts/lib/stack";
import { makeClip, makeGarbage } from "../support/media";

const execFileAsync = promisify(execFile);

/**
 * The whole path with real processes: nats-server, the edge, the gateway and a processing node,
 * on free ports with their own data folder. Run once per engine.
 */

interface JobView {
  id: string;
  status: string;
  attempts: number;
  engine: string | null;
  progress_url: string;
  error: { code: string; message: string } | null;
  outputs: {
    name: string;
    url: string;
    size_bytes: number;
    duration_sec: number;
    video: { codec: string; width: number; height: number };
    audio: { codec: string } | null;
  }[];
}

interface Socket {
  messages: Record<string, unknown>[];
  closed: Promise<{ code: number; reason: string }>;
}

function follow(url: string): Socket {
  const ws = new WebSocket(url);
  const messages: Record<string, unknown>[] = [];
  ws.on("message", (data) => messages.push(JSON.parse(String(data))));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on("close", (code, reason) => resolve({ code, reason: String(reason) }));
  });
  return { messages, closed };
}

async function ffprobe(path: string) {
  const { stdout } = await execFileAsync("ffprobe", [
    "-v",
    "error",
    "-show_streams",
    "-show_format",
    "-of",
    "json",
    path,
  ]);
  return JSON.parse(stdout) as {
    format: { format_name: string; duration: string };
    streams: { codec_type: string; codec_name: string; width?: number; height?: number }[];
  };
}

describe.each(["native", "wasm"] as const)("a job end to end on the %s engine", (engine) => {
  let dir: string;
  let stack: Stack;
  let clip: Buffer;

  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${stack.apiUrl}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${stack.apiKey}`, ...(init.headers as Record<string, string>) },
    });

  async function uploadBytes(body: Buffer): Promise<string> {
    const res = await api("/v1/uploads", {
      method: "POST",
      headers: { "content-type": "video/mp4" },
      body: new Uint8Array(body),
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  }

  async function submit(uploadId: string, height: number): Promise<JobView> {
    const res = await api("/v1/jobs", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        input: { type: "upload", upload_id: uploadId },
        outputs: [{ name: "small", type: "video", video: { height } }],
      }),
    });
    expect(res.status).toBe(202);
    return (await res.json()) as JobView;
  }

  /** Polls the job, recording every status seen on the way. */
  async function untilFinal(id: string, seen: string[]): Promise<JobView> {
    const deadline = Date.now() + 90_000;
    for (;;) {
      const job = (await (await api(`/v1/jobs/${id}`)).json()) as JobView;
      if (seen.at(-1) !== job.status) seen.push(job.status);
      if (["succeeded", "failed", "canceled"].includes(job.status)) return job;
      if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), `fw-e2e-${engine}-`));
    stack = await startStack({
      dataDir: join(dir, "data"),
      ports: { api: 0, gateway: 0, nats: 0 },
      engine,
      output: "files",
      logLevel: "info",
    });
    clip = await readFile(await makeClip(join(dir, "clip.mp4"), { seconds: 4, width: 640, height: 360 }));
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("writes local.json for scripts", async () => {
    const local = JSON.parse(await readFile(join(dir, "data", "local.json"), "utf8"));
    expect(local).toEqual({ apiUrl: stack.apiUrl, progressUrl: stack.progressUrl, apiKey: stack.apiKey });
  });

  it("transcodes an upload to H.264 + AAC at the requested height, with live progress and a working download", async () => {
    const job = await submit(await uploadBytes(clip), 240);
    const socket = follow(job.progress_url);
    const seen: string[] = [job.status];
    const final = await untilFinal(job.id, seen);

    expect(final.status).toBe("succeeded");
    expect(final.engine).toBe(engine);
    expect(seen).toContain("queued");
    expect(seen.at(-1)).toBe("succeeded");

    const output = final.outputs[0];
    expect(output).toMatchObject({
      name: "small",
      video: { codec: "h264", width: 426, height: 240 },
      audio: { codec: "aac" },
    });
    expect(output?.duration_sec).toBeGreaterThan(3.5);
    expect(output?.duration_sec).toBeLessThan(4.5);

    const download = await fetch(output?.url ?? "");
    expect(download.status).toBe(200);
    const file = join(dir, `${engine}-out.mp4`);
    await writeFile(file, Buffer.from(await download.arrayBuffer()));
    const probe = await ffprobe(file);
    expect(probe.format.format_name).toContain("mp4");
    expect(probe.streams.find((s) => s.codec_type === "video")).toMatchObject({
      codec_name: "h264",
      height: 240,
    });
    expect(probe.streams.find((s) => s.codec_type === "audio")).toMatchObject({ codec_name: "aac" });

    const closed = await socket.closed;
    expect(closed.code).toBe(1000);
    const ticks = socket.messages.filter((m) => m.type === "job:progress");
    const last = socket.messages.at(-1);
    expect(last).toMatchObject({ type: "job:state", job_id: job.id, status: "succeeded" });
    // A socket opened right after submission sees live ticks, or, if the job beat it to the finish,
    // the replay of the output's last tick: either way at least one, never going backwards.
    expect(ticks.length).toBeGreaterThan(0);
    expect(ticks[0]).toEqual(
      expect.objectContaining({
        percent: expect.any(Number),
        frames: expect.any(Number),
        speed: expect.any(Number),
      }),
    );
    const percents = ticks.map((t) => t.percent as number);
    expect([...percents].sort((a, b) => a - b)).toEqual(percents);
    expect(percents.at(-1)).toBe(100);

    const events = (await (await api(`/v1/jobs/${job.id}/events`)).json()) as { data: { type: string }[] };
    expect(events.data.map((e) => e.type)).toEqual(["job:created", "job:running", "job:succeeded"]);
  });

  it("ends a job with an unreadable input as failed with a readable reason", async () => {
    const garbage = await readFile(await makeGarbage(join(dir, "garbage.mp4")));
    const job = await submit(await uploadBytes(garbage), 240);
    const socket = follow(job.progress_url);
    const final = await untilFinal(job.id, []);
    expect(final.status).toBe("failed");
    expect(final.error?.code).toBe("input_unreadable");
    expect(final.error?.message.length).toBeGreaterThan(10);
    expect(final.attempts).toBe(1);
    expect((await socket.closed).code).toBe(1000);
    expect(socket.messages.at(-1)).toMatchObject({ type: "job:state", status: "failed" });
  });

  it("refuses the progress socket without a valid token", async () => {
    const job = await submit(await uploadBytes(clip), 120);
    const forged = follow(job.progress_url.replace(/token=[^&]+/, "token=bogus.token"));
    expect((await forged.closed).code).toBe(4401);
    await untilFinal(job.id, []);
  });

  it("refuses API calls without a key", async () => {
    const res = await fetch(`${stack.apiUrl}/v1/jobs`);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: "unauthorized" });
  });
});
