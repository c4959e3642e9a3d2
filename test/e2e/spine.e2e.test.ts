import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FramewireClient } from "@framewire/shared/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack } from "../../scripts/lib/stack";
import { apiClient, followProgress, ok, submitJob, uploadBytes, waitForJob } from "../support/api";
import { ffprobe, makeClip, makeGarbage } from "../support/media";

/**
 * The whole path with real processes: nats-server, the edge, the gateway and a processing node,
 * on free ports with their own data folder. Run once per engine.
 */

describe.each(["native", "wasm"] as const)("a job end to end on the %s engine", (engine) => {
  let dir: string;
  let stack: Stack;
  let clip: Buffer;

  let client: FramewireClient;

  const submit = (uploadId: string, height: number) =>
    submitJob(client, {
      input: { type: "upload", upload_id: uploadId },
      outputs: [{ name: "small", type: "video", video: { height } }],
    });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), `fw-e2e-${engine}-`));
    stack = await startStack({
      dataDir: join(dir, "data"),
      ports: { api: 0, gateway: 0, nats: 0 },
      engine,
      output: "files",
      logLevel: "info",
    });
    client = apiClient(stack);
    clip = await readFile(await makeClip(join(dir, "clip.mp4"), { seconds: 4, width: 640, height: 360 }));
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("writes local.json for scripts", async () => {
    const local = JSON.parse(await readFile(join(dir, "data", "local.json"), "utf8"));
    expect(local).toEqual({
      apiUrl: stack.apiUrl,
      progressUrl: stack.progressUrl,
      apiKey: stack.apiKey,
      // For the CLI's operator commands (doctor, backup, restore).
      dbUrl: `file:${join(dir, "data", "framewire.db")}`,
      natsUrl: stack.natsUrl,
    });
  });

  it("keeps the data folder owner-only: the database, the key and every stored file", async () => {
    const uploadId = await uploadBytes(client, clip);
    const data = join(dir, "data");
    const stored = (await readdir(join(data, "storage"), { recursive: true, withFileTypes: true })).find(
      (e) => e.isFile() && e.name === uploadId,
    );
    expect(stored).toBeDefined();
    const mode = async (path: string) => (await stat(path)).mode & 0o777;
    expect(await mode(data)).toBe(0o700);
    expect(await mode(join(data, "local.json"))).toBe(0o600);
    expect(await mode(join(data, "framewire.db"))).toBe(0o600);
    expect(await mode(join(stored?.parentPath ?? "", stored?.name ?? ""))).toBe(0o600);
    expect((await mode(join(stored?.parentPath ?? ""))) & 0o077).toBe(0);
  });

  it("transcodes an upload to H.264 + AAC at the requested height, with live progress and a working download", async () => {
    const job = await submit(await uploadBytes(client, clip), 240);
    const socket = followProgress(job.progress_url);
    const seen: string[] = [job.status];
    const final = await waitForJob(client, job.id, { seen });

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

    const events = ok(await client.jobs.events(job.id));
    expect(events.data.map((e) => e.type)).toEqual(["job:created", "job:running", "job:succeeded"]);
  });

  it("ends a job with an unreadable input as failed with a readable reason", async () => {
    const garbage = await readFile(await makeGarbage(join(dir, "garbage.mp4")));
    const job = await submit(await uploadBytes(client, garbage), 240);
    const socket = followProgress(job.progress_url);
    const final = await waitForJob(client, job.id);
    expect(final.status).toBe("failed");
    expect(final.error?.code).toBe("input_unreadable");
    expect(final.error?.message.length).toBeGreaterThan(10);
    expect(final.attempts).toBe(1);
    expect((await socket.closed).code).toBe(1000);
    expect(socket.messages.at(-1)).toMatchObject({ type: "job:state", status: "failed" });
  });

  it("burns an uploaded subtitle file into one output and carries it as a tagged track in another; a malformed one fails naming its line", async () => {
    const srt = "1\n00:00:01,000 --> 00:00:02,500\nHello from an upload\n";
    const subtitle = await uploadBytes(client, Buffer.from(srt));
    const spec = (id: string) => ({
      input: { type: "upload" as const, upload_id: clipId },
      subtitles: {
        en: { input: { type: "upload" as const, upload_id: id }, language: "eng", label: "English" },
      },
      outputs: [
        {
          name: "burned",
          type: "video" as const,
          video: { height: 240 },
          subtitles: { input: "en", mode: "burn" as const },
        },
        {
          name: "tracked",
          type: "video" as const,
          container: "mkv" as const,
          video: { height: 240 },
          subtitles: [{ input: "en", mode: "track" as const, default: true }],
        },
      ],
    });
    const clipId = await uploadBytes(client, clip);
    const job = await submitJob(client, spec(subtitle));
    const final = await waitForJob(client, job.id);
    expect(final.status, JSON.stringify(final.error)).toBe("succeeded");
    const tracked = final.outputs.find((o) => o.name === "tracked");
    expect(tracked?.subtitle_tracks).toEqual([
      { codec: "subrip", language: "eng", title: "English", default: true },
    ]);
    const file = join(dir, `${engine}-tracked.mkv`);
    await writeFile(file, Buffer.from(await (await fetch(tracked?.url ?? "")).arrayBuffer()));
    const probe = await ffprobe(file);
    expect(probe.streams.find((s) => s.codec_type === "subtitle")).toMatchObject({
      codec_name: "subrip",
      tags: { language: "eng", title: "English" },
    });
    expect(final.outputs.find((o) => o.name === "burned")?.subtitle_tracks).toBeUndefined();

    const broken = await uploadBytes(client, Buffer.from(`${srt}\n2\n00:00:03,000 --> soon\nbroken\n`));
    const failed = await waitForJob(client, (await submitJob(client, spec(broken))).id);
    expect(failed.status).toBe("failed");
    expect(failed.error).toMatchObject({
      code: "input_unreadable",
      message: `subtitles 'en', line 6: expected a timing line like 00:00:01,000 --> 00:00:02,000, found "00:00:03,000 --> soon"`,
    });
  });

  it("refuses the progress socket without a valid token", async () => {
    const job = await submit(await uploadBytes(client, clip), 120);
    const forged = followProgress(job.progress_url.replace(/token=[^&]+/, "token=bogus.token"));
    expect((await forged.closed).code).toBe(4401);
    await waitForJob(client, job.id);
  });

  it("refuses API calls without a key", async () => {
    const anonymous = await apiClient({ apiUrl: stack.apiUrl, apiKey: "" }).jobs.list();
    expect(anonymous.status).toBe(401);
    expect(anonymous.ok ? null : anonymous.problem.code).toBe("unauthorized");
  });
});
