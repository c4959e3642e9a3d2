import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ProgressMessage, ProgressTick } from "@framewire/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack } from "../../scripts/lib/stack";
import { apiClient, followProgress, ok, submitJob, uploadBytes } from "../support/api";
import { ffprobe, makeClip } from "../support/media";

/**
 * Progress as a browser sees it, per output, through the real path: processing node (native
 * engine, in its slot process) → NATS + KV fw_progress → gateway → WebSocket.
 */

const ticksOf = (messages: ProgressMessage[], output: string) =>
  messages.filter((m): m is ProgressTick => m.type === "job:progress" && m.output === output);

describe("per-output progress end to end", () => {
  let dir: string;
  let stack: Stack;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "fw-e2e-progress-"));
    stack = await startStack({
      dataDir: join(dir, "data"),
      ports: { api: 0, gateway: 0, nats: 0 },
      engine: "native",
      output: "files",
      logLevel: "info",
    });
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("ticks every output of a trimmed video + HLS ladder job on its own, monotonic, each ending at 100", async () => {
    const clip = await readFile(
      await makeClip(join(dir, "clip.mp4"), { seconds: 12, width: 640, height: 360 }),
    );
    const client = apiClient(stack);
    const uploadId = await uploadBytes(client, clip);
    const job = await submitJob(client, {
      input: { type: "upload", upload_id: uploadId },
      outputs: [
        {
          name: "cut",
          type: "video",
          video: { height: 240, preset: "slow" },
          trim: { start_sec: 2, end_sec: 5 },
        },
        {
          name: "ladder",
          type: "hls",
          segment_sec: 2,
          preset: "medium",
          renditions: [
            { height: 360, video_bitrate_kbps: 800 },
            { height: 240, video_bitrate_kbps: 400 },
          ],
        },
      ],
    });
    const live = followProgress(job.progress_url);
    expect((await live.closed).code).toBe(1000);

    expect(live.messages.at(-1)).toMatchObject({ type: "job:state", status: "succeeded" });
    for (const output of ["cut", "ladder"]) {
      const ticks = ticksOf(live.messages, output);
      expect(ticks.length, output).toBeGreaterThan(0);
      const percents = ticks.map((t) => t.percent ?? 0);
      expect(percents, output).toEqual([...percents].sort((a, b) => a - b));
      expect(ticks.at(-1), output).toMatchObject({ percent: 100, eta_sec: 0, attempt: 1 });
    }
    // Each against its own duration: the trimmed output is a 3 s window, the ladder the whole 12 s.
    const cutTicks = ticksOf(live.messages, "cut");
    expect(Math.max(...cutTicks.map((t) => t.out_time_sec))).toBeLessThanOrEqual(3.2);
    expect(Math.max(...ticksOf(live.messages, "ladder").map((t) => t.out_time_sec))).toBeGreaterThan(11);
    // The two outputs were not told the same numbers.
    const midway = live.messages.filter((m) => m.type === "job:progress" && (m.percent ?? 0) < 100);
    // The clip is long and the presets slow enough for many ticks before the end: a run that
    // finished without them couldn't show the point, so that fails too.
    expect(midway.length).toBeGreaterThan(2);
    expect(new Set(midway.map((m) => (m as ProgressTick).output)).size).toBe(2);

    // A listener that connects after the end is replayed every output's last tick, then the final state.
    const late = followProgress(job.progress_url);
    expect((await late.closed).code).toBe(1000);
    expect(
      late.messages.map((m) => (m.type === "job:progress" ? `${m.output}:${m.percent}` : m.status)),
    ).toEqual(expect.arrayContaining(["cut:100", "ladder:100"]));
    expect(late.messages).toHaveLength(3);
    expect(late.messages.at(-1)).toMatchObject({ type: "job:state", status: "succeeded" });

    // The ladder's one URL plays in an ordinary HLS client: ffprobe opens the master playlist over
    // HTTP, follows a variant and reads its segments through links the edge rewrote.
    const finished = ok(await client.jobs.get(job.id));
    const ladderUrl = finished.outputs.find((o) => o.name === "ladder")?.url ?? "";
    expect(ladderUrl).toContain("/files/playlists/");
    const probed = await ffprobe(ladderUrl);
    expect(Number(probed.format.duration)).toBeGreaterThan(11);
    expect(probed.streams.filter((s) => s.codec_type === "video").length).toBeGreaterThanOrEqual(1);
    // Every URI in every playlist answers; none leads back to an unsigned path.
    const seen = new Set<string>();
    const walk = async (url: string): Promise<void> => {
      const text = await (await fetch(url)).text();
      for (const line of text.split("\n").filter((l) => l && !l.startsWith("#"))) {
        expect(line).toMatch(/token=/);
        if (seen.has(line)) continue;
        seen.add(line);
        if (line.includes("/files/playlists/")) await walk(line);
        else expect((await fetch(line, { method: "GET" })).status, line).toBe(200);
      }
    };
    await walk(ladderUrl);
    expect([...seen].filter((u) => u.includes(".m3u8"))).toHaveLength(2);
    expect([...seen].filter((u) => !u.includes(".m3u8")).length).toBeGreaterThanOrEqual(12);
  }, 120_000);

  it("encodes HLS + DASH from one ladder once, stores its segments once, and both URLs open in their clients", async () => {
    const clip = await readFile(
      await makeClip(join(dir, "ladder.mp4"), { seconds: 6, width: 640, height: 360 }),
    );
    const client = apiClient(stack);
    const ladder = {
      segment_sec: 2,
      preset: "ultrafast" as const,
      renditions: [
        { height: 360, video_bitrate_kbps: 800, audio_bitrate_kbps: 96 },
        { height: 240, video_bitrate_kbps: 400, audio_bitrate_kbps: 64 },
      ],
    };
    const job = await submitJob(client, {
      input: { type: "upload", upload_id: await uploadBytes(client, clip) },
      outputs: [
        { name: "stream", type: "dash", ...ladder },
        { name: "apple", type: "hls", ...ladder },
      ],
    });
    const live = followProgress(job.progress_url);
    await live.closed;
    for (const output of ["stream", "apple"])
      expect(ticksOf(live.messages, output).at(-1), output).toMatchObject({ percent: 100 });
    const finished = ok(await client.jobs.get(job.id));
    expect(finished.status).toBe("succeeded");
    const stream = finished.outputs.find((o) => o.name === "stream");
    const apple = finished.outputs.find((o) => o.name === "apple");
    // The segments are the HLS output's files; the DASH output is its manifest.
    expect(stream).toMatchObject({ type: "dash", container: "dash", segments_from: "apple" });
    expect(stream?.files?.map((f) => f.relative_path)).toEqual(["manifest.mpd"]);
    expect(apple?.files?.map((f) => f.relative_path)).toEqual(
      expect.arrayContaining([
        "master.m3u8",
        "360p/init.mp4",
        "360p/seg_00002.m4s",
        "audio-64k/seg_00000.m4s",
      ]),
    );
    expect(stream?.url).toMatch(/\/files\/playlists\/.*\/stream\/manifest\.mpd\?token=/);

    // FFmpeg's DASH and HLS clients open each output's one URL over HTTP, through the signed links.
    const dash = await ffprobe(stream?.url ?? "");
    expect(dash.format.format_name).toBe("dash");
    expect(Number(dash.format.duration)).toBe(6); // the dash demuxer reads whole seconds
    expect(dash.streams.filter((s) => s.codec_type === "video").map((s) => s.height)).toEqual([360, 240]);
    expect(dash.streams.filter((s) => s.codec_type === "audio")).toHaveLength(2);
    const hls = await ffprobe(apple?.url ?? "");
    expect(Number(hls.format.duration)).toBeCloseTo(6, 0);

    // Every URL in the manifest is the HLS output's file on its own signed link, and answers.
    const manifest = await (await fetch(stream?.url ?? "")).text();
    const links = [...manifest.matchAll(/(?:sourceURL|media)="([^"]+)"/g)].map((m) =>
      (m[1] ?? "").replaceAll("&amp;", "&"),
    );
    const appleFiles = new Set(apple?.files?.map((f) => f.storage_key));
    expect(links.length).toBeGreaterThanOrEqual(4 * 4);
    for (const link of links) {
      const url = new URL(link);
      expect(url.searchParams.get("token")).toBeTruthy();
      expect(appleFiles.has(decodeURIComponent(url.pathname.replace(/^\/files\//, "")))).toBe(true);
      expect((await fetch(link)).status, link).toBe(200);
    }
  }, 120_000);
});
