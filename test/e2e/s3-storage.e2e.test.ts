import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { FramewireClient, Job, JobSpecInput } from "@framewire/shared/client";
import { uploadDestination } from "@framewire/shared/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot, type Stack, startStack } from "../../scripts/lib/stack";
import { apiClient, ok, waitForJob } from "../support/api";
import { ffprobe, makeClip, makeGarbage } from "../support/media";
import { type S3Server, startS3Server } from "../support/s3-server";

const execFileAsync = promisify(execFile);

/**
 * The real stack (nats-server, edge, gateway, a native processing node) with S3 storage on a real
 * s3rver: presigned upload → job → presigned download, `s3` inputs from an allowed bucket, and
 * retention expiring a job's outputs. Edge and node read the same FW_S3_* variables.
 */

let dir: string;
let s3: S3Server;
let stack: Stack;
let clip: Buffer;
const inputBucket = "media-in";
const outputRetentionSec = 12;

let api: FramewireClient;

const submit = (input: JobSpecInput["input"]) =>
  api.jobs.create({ input, outputs: [{ name: "small", type: "video", video: { height: 144 } }] });

async function run(input: JobSpecInput["input"]): Promise<Job> {
  const job = ok(await submit(input));
  return waitForJob(api, job.id);
}

async function probeHeight(bytes: ArrayBuffer, name: string): Promise<number | undefined> {
  const file = join(dir, name);
  await writeFile(file, Buffer.from(bytes));
  const { streams } = await ffprobe(file);
  return streams.find((s) => s.codec_type === "video")?.height as number | undefined;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "fw-e2e-s3-"));
  s3 = await startS3Server();
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: s3.credentials,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
  // The operator's own media bucket, which `s3` inputs may read.
  await client.send(new CreateBucketCommand({ Bucket: inputBucket }));
  await client.send(new CreateBucketCommand({ Bucket: "not-for-nodes" }));
  clip = await readFile(await makeClip(join(dir, "clip.mp4"), { seconds: 2, width: 320, height: 240 }));
  const garbage = await readFile(await makeGarbage(join(dir, "garbage.mp4")));
  await client.send(new PutObjectCommand({ Bucket: inputBucket, Key: "shows/ep 1/clip.mp4", Body: clip }));
  await client.send(new PutObjectCommand({ Bucket: inputBucket, Key: "shows/notes.mp4", Body: garbage }));
  await client.send(new PutObjectCommand({ Bucket: "not-for-nodes", Key: "clip.mp4", Body: clip }));
  client.destroy();

  const storage = {
    FW_STORAGE: "s3",
    FW_S3_ENDPOINT: s3.endpoint,
    FW_S3_BUCKET: s3.bucket,
    FW_S3_FORCE_PATH_STYLE: "true",
    FW_S3_ACCESS_KEY_ID: s3.credentials.accessKeyId,
    FW_S3_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
  };
  stack = await startStack({
    dataDir: join(dir, "data"),
    ports: { api: 0, gateway: 0, nats: 0 },
    engine: "native",
    output: "files",
    // The edge lets `not-for-nodes` through; the node doesn't: the node's own check is shown.
    extraEdgeEnv: {
      ...storage,
      FW_S3_INPUT_BUCKETS: `${inputBucket},not-for-nodes`,
      FW_OUTPUT_RETENTION_HOURS: String(outputRetentionSec / 3600),
      FW_RETENTION_SWEEP_MS: "1000",
    },
    extraNodeEnv: { ...storage, FW_S3_INPUT_BUCKETS: inputBucket },
  });
  api = apiClient(stack);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await s3?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("S3 storage on the real stack", () => {
  let firstJob: Job;

  it("presigned upload → job → presigned download", async () => {
    const created = await api.uploads.create({ content_type: "video/mp4", size_bytes: clip.length });
    expect(created.status).toBe(201);
    const target = ok(created);
    // The bytes go to S3, not through the edge (and without the API key).
    expect(target.upload_url.startsWith(`${s3.endpoint}/${s3.bucket}/`)).toBe(true);
    expect(uploadDestination(stack.apiUrl, target)).toEqual({ url: target.upload_url, withKey: false });
    const put = await api.uploads.put(target, new Uint8Array(clip));
    expect(put.status).toBe(200);

    const job = await run({ type: "upload", upload_id: target.id });
    expect(job.status, JSON.stringify(job.error)).toBe("succeeded");
    const url = job.outputs[0]?.url as string;
    expect(url.startsWith(`${s3.endpoint}/${s3.bucket}/`)).toBe(true);
    expect(url).toContain("X-Amz-Signature=");
    const download = await fetch(url);
    expect(download.status).toBe(200);
    expect(download.headers.get("content-disposition")).toContain("small.mp4");
    expect(await probeHeight(await download.arrayBuffer(), "upload-out.mp4")).toBe(144);
    firstJob = job;
  });

  it("HLS + DASH from one ladder: the manifest through the edge, every segment presigned on S3", async () => {
    const ladder = {
      segment_sec: 1,
      preset: "ultrafast" as const,
      renditions: [{ height: 144, video_bitrate_kbps: 200, audio_bitrate_kbps: 64 }],
    };
    const created = ok(
      await api.jobs.create({
        input: { type: "s3", bucket: inputBucket, key: "shows/ep 1/clip.mp4" },
        outputs: [
          { name: "apple", type: "hls", ...ladder },
          { name: "stream", type: "dash", ...ladder },
        ],
      }),
    );
    const job = await waitForJob(api, created.id);
    expect(job.status, JSON.stringify(job.error)).toBe("succeeded");
    const stream = job.outputs.find((o) => o.name === "stream");
    expect(stream).toMatchObject({ segments_from: "apple" });
    // The manifest comes through the edge (it signs what it names); the segments from S3.
    const url = stream?.url ?? "";
    expect(url.startsWith(`${stack.apiUrl}/files/playlists/`)).toBe(true);
    const served = await fetch(url);
    expect(served.headers.get("content-type")).toBe("application/dash+xml");
    const links = [...(await served.text()).matchAll(/(?:sourceURL|media)="([^"]+)"/g)].map((m) =>
      (m[1] ?? "").replaceAll("&amp;", "&"),
    );
    expect(links.length).toBeGreaterThanOrEqual(2 * 3); // video and audio: init + 2 s of 1 s segments
    for (const link of links) {
      expect(link.startsWith(`${s3.endpoint}/${s3.bucket}/`), link).toBe(true);
      expect(link).toContain("/apple/");
      expect(link).toContain("X-Amz-Signature=");
      expect((await fetch(link)).status, link).toBe(200);
    }
    // FFmpeg's DASH client reads it from that one URL. Its 5.1 dash demuxer sizes its URL buffers
    // by the manifest URL's length and cuts a longer segment URL ("invalid:truncated"); presigned
    // S3 URLs are longer than the edge's link, so here the link carries an unused padding parameter.
    const probed = await ffprobe(`${url}&pad=${"x".repeat(2048)}`);
    expect(probed.format.format_name).toBe("dash");
    expect(probed.streams.map((s) => s.codec_type).sort()).toEqual(["audio", "video"]);
    expect(probed.streams.find((s) => s.codec_type === "video")?.height).toBe(144);
  }, 60_000);

  it("the CLI uploads through the presigned URL and downloads the presigned output", async () => {
    const out = join(dir, "cli-out");
    const result = await execFileAsync(
      process.execPath,
      [
        "--import",
        "tsx",
        "node-worker/cli/src/main.ts",
        "submit",
        join(dir, "clip.mp4"),
        "--preset",
        "360p",
        "--out",
        out,
      ],
      {
        cwd: repoRoot,
        env: { ...process.env, FRAMEWIRE_API_URL: stack.apiUrl, FRAMEWIRE_API_KEY: stack.apiKey },
      },
    );
    const file = result.stdout.trim();
    expect(file.startsWith(out)).toBe(true);
    // The clip is 240 px high and outputs are never upscaled.
    expect(await probeHeight(new Uint8Array(await readFile(file)).buffer, "cli-copy.mp4")).toBe(240);
  }, 60_000);

  it("reads an s3 input from an allowed bucket", async () => {
    const job = await run({ type: "s3", bucket: inputBucket, key: "shows/ep 1/clip.mp4" });
    expect(job.status, JSON.stringify(job.error)).toBe("succeeded");
    const download = await fetch(job.outputs[0]?.url as string);
    expect(await probeHeight(await download.arrayBuffer(), "s3-out.mp4")).toBe(144);
  });

  it("fails s3 inputs clearly: missing object, not media, a bucket the node refuses", async () => {
    const missing = await run({ type: "s3", bucket: inputBucket, key: "shows/nothing.mp4" });
    expect(missing).toMatchObject({ status: "failed", error: { code: "input_unavailable" } });
    expect(missing.error?.message).toContain("s3://media-in/shows/nothing.mp4 does not exist");

    const notMedia = await run({ type: "s3", bucket: inputBucket, key: "shows/notes.mp4" });
    expect(notMedia).toMatchObject({ status: "failed", error: { code: "input_unreadable" } });

    // Allowed by this edge's list, not by the node's: the node refuses on its own.
    const refused = await run({ type: "s3", bucket: "not-for-nodes", key: "clip.mp4" });
    expect(refused).toMatchObject({ status: "failed", error: { code: "input_not_allowed" } });

    const atSubmit = await submit({ type: "s3", bucket: "framewire-test", key: "anything.mp4" });
    expect(atSubmit.status).toBe(403);
    expect(atSubmit.ok ? null : atSubmit.problem.code).toBe("input_not_allowed");
  });

  it("expires outputs after their retention: deleted from the bucket, shown expired without a URL", async () => {
    const url = firstJob.outputs[0]?.url as string;
    const deadline = Date.now() + (outputRetentionSec + 30) * 1000;
    let job: Job;
    do {
      await new Promise((r) => setTimeout(r, 1000));
      job = ok(await api.jobs.get(firstJob.id));
    } while (!job.outputs[0]?.expired && Date.now() < deadline);
    expect(job.outputs[0]).toMatchObject({ expired: true, url: null });
    // The presigned URL handed out earlier has nothing behind it any more.
    expect((await fetch(url)).status).toBe(404);
  }, 90_000);
});
