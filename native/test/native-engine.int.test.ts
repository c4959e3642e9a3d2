import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, open, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ffprobe, makeClip, measureLufs } from "../../test/support/media";
import { type Engine, EngineError, type EngineProgress, type HlsPlanOutput, type Plan } from "../lib/engine";
import { parseMediaPlaylist } from "../lib/hls";
import { loadNativeAddon } from "../lib/native-addon";
import { createNativeEngine } from "../lib/native-engine";
import { engineContract } from "./engine-contract";
import { aac, animation, audioOut, gifOnFullDisk, h264, thumbsOut, videoOut } from "./plans";

engineContract("native", createNativeEngine);

/** Whether this machine has a working hardware encoder (then software fallback can't be shown). */
const hardwareHere = (await (await createNativeEngine()).capabilities()).hardwareEncoders.length > 0;

describe("native engine specifics", () => {
  let engine: Engine;
  let dir: string;
  let clip: string;

  beforeAll(async () => {
    engine = await createNativeEngine();
    dir = await mkdtemp(join(tmpdir(), "fw-native-"));
    clip = await makeClip(join(dir, "clip.mp4"), { seconds: 1, width: 320, height: 240 });
  }, 60_000);

  afterAll(async () => {
    await engine?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("refuses an animation of a still image with a typed reason, not an encoder failure", async () => {
    // Found running animations over the real-world corpus: every JPEG failed ENGINE_FAILURE.
    const still = join(dir, "still.jpg");
    await promisify(execFile)("ffmpeg", ["-v", "error", "-y", "-i", clip, "-frames:v", "1", still]);
    const run = engine.run({
      inputPath: still,
      outputs: [
        {
          kind: "animation",
          name: "a",
          path: join(dir, "a.gif"),
          format: "gif",
          startSec: 0,
          durationSec: 2,
          fps: 10,
          maxWidth: 160,
          maxHeight: null,
          loop: true,
        },
      ],
    });
    await expect(run).rejects.toMatchObject({
      code: "INPUT_NO_STREAMS",
      message: expect.stringContaining("still image"),
    });
  });

  it("loads the addon, or explains why not", () => {
    const loaded = loadNativeAddon();
    expect("error" in loaded ? loaded.error : "").toBe("");
  });

  it("finds hardware by opening devices, and says why none opened here", async () => {
    const caps = await engine.capabilities();
    expect(caps.sharedDecode).toBe(true);
    expect(caps.outputKinds).toContain("hls");
    expect(caps.outputKinds).toContain("dash");
    expect(caps.encoders).toEqual(expect.arrayContaining(["libx265", "libvpx-vp9", "flac", "mjpeg", "png"]));
    expect(caps.encoders.some((e) => e === "libaom-av1" || e === "libsvtav1")).toBe(true);
    // Every candidate device either opened or has a reason; names alone never count.
    for (const device of ["cuda", "qsv", "vaapi"]) {
      expect(caps.hardware.includes(device) || typeof caps.hardwareErrors[device] === "string").toBe(true);
    }
    for (const encoder of caps.hardwareEncoders) expect(caps.hardware).toContain(encoder.split(":")[0]);
  });

  it.skipIf(hardwareHere)(
    "fails accel gpu clearly when no hardware encoder works, and falls back on auto",
    async () => {
      const plan: Plan = { inputPath: clip, accel: "gpu", outputs: [videoOut(dir, "gpu")] };
      const error = await engine.run(plan).catch((e: unknown) => e);
      expect((error as EngineError).code).toBe("UNSUPPORTED");
      expect((error as EngineError).message).toMatch(/gpu.*no working hardware encoder for h264/);
      const { outputs } = await engine.run({ ...plan, accel: "auto" });
      expect(outputs[0]?.encoding).toMatchObject({ encoder: "libx264", accel: "cpu" });
      expect(outputs[0]?.encoding?.fallbackReason).toMatch(/cuda/);
    },
  );

  it("keeps the event loop responsive while a 10 s 720p transcode runs", async () => {
    const input = await makeClip(join(dir, "hd.mp4"), { seconds: 10, width: 1280, height: 720 });
    // Node's own event-loop delay histogram (10 ms resolution), over the run only.
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    let ticks = 0;
    try {
      const { outputs } = await engine.run(
        {
          inputPath: input,
          outputs: [videoOut(dir, "sd", { video: h264({ maxHeight: 480, crf: 23, preset: "veryfast" }) })],
        },
        { onProgress: () => ticks++ },
      );
      expect(outputs[0]?.video).toMatchObject({ width: 854, height: 480 });
      expect(outputs[0]?.durationSec).toBeGreaterThan(9.5);
    } finally {
      lag.disable();
    }
    expect(ticks).toBeGreaterThan(2);
    // Functional bounds: the encode runs on pool threads, so timers keep firing on time. p99 rather
    // than the maximum: on a loaded 2-core CI machine the OS alone can delay one wake-up.
    const p99Ms = lag.percentile(99) / 1e6;
    expect(p99Ms, `p99 event-loop delay ${p99Ms.toFixed(1)} ms`).toBeLessThan(100);
    expect(lag.max / 1e6).toBeLessThan(1000);
  }, 120_000);

  it("encodes H.265 in MKV, VP9 + Opus in WebM and AV1 in MP4 from one decode", async () => {
    const small = await makeClip(join(dir, "codecs.mp4"), { seconds: 1, width: 320, height: 180 });
    const { outputs } = await engine.run({
      inputPath: small,
      outputs: [
        videoOut(dir, "hevc", { container: "mkv", video: h264({ codec: "h265", maxHeight: 90 }) }),
        videoOut(dir, "vp9", {
          container: "webm",
          video: h264({ codec: "vp9", maxHeight: 90, crf: 40 }),
          audio: aac({ codec: "opus" }),
        }),
        videoOut(dir, "av1", { video: h264({ codec: "av1", maxHeight: 90, crf: 45 }), audio: null }),
      ],
    });
    const expected = [
      ["hevc.mkv", "hevc", "aac"],
      ["vp9.webm", "vp9", "opus"],
      ["av1.mp4", "av1", undefined],
    ] as const;
    for (const [file, videoCodec, audioCodec] of expected) {
      const probed = await ffprobe(join(dir, file));
      expect(
        probed.streams.find((s) => s.codec_type === "video"),
        file,
      ).toMatchObject({
        codec_name: videoCodec,
        width: 160,
        height: 90,
      });
      expect(probed.streams.find((s) => s.codec_type === "audio")?.codec_name, file).toBe(audioCodec);
      expect(Number(probed.format.duration), file).toBeCloseTo(1, 0);
    }
    expect(outputs.map((o) => o.encoding?.encoder)).toEqual([
      "libx265",
      "libvpx-vp9",
      expect.stringMatching(/av1/),
    ]);
  }, 120_000);

  it("hits a bitrate target in bitrate mode", async () => {
    const input = await makeClip(join(dir, "br-src.mp4"), {
      seconds: 4,
      width: 640,
      height: 360,
      audio: false,
    });
    await engine.run({
      inputPath: input,
      outputs: [
        videoOut(dir, "br", {
          video: h264({ crf: null, bitrateKbps: 400, maxHeight: 360, preset: "veryfast" }),
          audio: null,
        }),
      ],
    });
    const probed = await ffprobe(join(dir, "br.mp4"));
    const kbps = Number(probed.streams[0]?.bit_rate) / 1000;
    expect(kbps).toBeGreaterThan(320);
    expect(kbps).toBeLessThan(480);
  }, 60_000);

  it("applies the input's rotation metadata, so the picture comes out upright", async () => {
    const rotated = await makeClip(join(dir, "rotated.mp4"), {
      seconds: 1,
      width: 320,
      height: 180,
      rotate: 90,
    });
    const facts = await engine.probe(rotated);
    const cli = await ffprobe(rotated);
    expect(JSON.stringify(cli.streams[0]?.side_data_list)).toMatch(/rotation/);
    expect([90, 270]).toContain(facts.streams[0]?.rotation);
    const { outputs } = await engine.run({
      inputPath: rotated,
      outputs: [videoOut(dir, "upright", { video: h264({ maxHeight: null }), audio: null })],
    });
    expect(outputs[0]?.video).toMatchObject({ width: 180, height: 320 });
    expect((await engine.probe(join(dir, "upright.mp4"))).streams[0]?.rotation).toBe(0);
  }, 60_000);

  it("refuses to copy AAC into WebM with UNSUPPORTED, leaving no file", async () => {
    const error = await engine
      .run({
        inputPath: clip,
        outputs: [
          videoOut(dir, "copy", { container: "webm", video: h264({ codec: "vp9", crf: 40 }), audio: "copy" }),
        ],
      })
      .catch((e: unknown) => e);
    expect((error as EngineError).code).toBe("UNSUPPORTED");
    expect(existsSync(join(dir, "copy.webm"))).toBe(false);
  });

  it("normalizes loudness in two passes to within 1 LU of the target", async () => {
    const quiet = await makeClip(join(dir, "quiet.mp4"), {
      seconds: 6,
      width: 160,
      height: 90,
      volume: 0.05,
    });
    const { outputs } = await engine.run({
      inputPath: quiet,
      outputs: [
        audioOut(dir, "loud16", { loudnessTargetLufs: -16, bitrateKbps: 128 }),
        audioOut(dir, "loud23", { codec: "flac", bitrateKbps: null, loudnessTargetLufs: -23 }),
      ],
    });
    expect(Math.abs((await measureLufs(join(dir, "loud16.m4a"))) + 16)).toBeLessThan(1);
    expect(Math.abs((await measureLufs(join(dir, "loud23.flac"))) + 23)).toBeLessThan(1);
    expect(outputs[0]?.loudness).toMatchObject({ target_lufs: -16, input_lufs: expect.any(Number) });
    expect(outputs[0]?.loudness?.gain_db).toBeGreaterThan(0);
  }, 60_000);

  it("cuts an HLS ladder from one decode, segments aligned across renditions, with a master playlist", async () => {
    const input = await makeClip(join(dir, "ladder.mp4"), { seconds: 6, width: 640, height: 360 });
    const hls: HlsPlanOutput = {
      kind: "hls",
      name: "ladder",
      dir: join(dir, "ladder"),
      segmentSec: 2,
      preset: "ultrafast",
      renditions: [
        { name: "360p", maxHeight: 360, videoBitrateKbps: 800, audioBitrateKbps: 96 },
        { name: "240p", maxHeight: 240, videoBitrateKbps: 400, audioBitrateKbps: 64 },
        { name: "144p", maxHeight: 144, videoBitrateKbps: 150, audioBitrateKbps: 48 },
      ],
    };
    const { outputs } = await engine.run({ inputPath: input, outputs: [hls] });
    const out = outputs[0];
    expect(out?.renditions?.map((r) => [r.name, r.width, r.height, r.segments])).toEqual([
      ["360p", 640, 360, 3],
      ["240p", 426, 240, 3],
      ["144p", 256, 144, 3],
    ]);
    const master = await readFile(join(dir, "ladder", "master.m3u8"), "utf8");
    expect(master.match(/#EXT-X-STREAM-INF/g)).toHaveLength(3);
    expect(master).toMatch(/RESOLUTION=426x240,.*CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2"/);
    const durations = [];
    for (const r of hls.renditions) {
      const segments = parseMediaPlaylist(await readFile(join(dir, "ladder", r.name, "index.m3u8"), "utf8"));
      durations.push(segments.map((s) => s.durationSec.toFixed(2)));
      expect(await readdir(join(dir, "ladder", r.name))).toHaveLength(1 + segments.length);
    }
    // Aligned: every rendition cuts at the same instants.
    expect(durations[1]).toEqual(durations[0]);
    expect(durations[2]).toEqual(durations[0]);
    expect(durations[0]).toEqual(["2.00", "2.00", "2.00"]);
    expect(out?.files?.some((f) => f.relativePath === "240p/seg_00002.ts")).toBe(true);
  }, 120_000);

  it("scales each rendition on from the next larger one and encodes a shared audio bitrate once, losing nothing", async () => {
    // Rotated, and the ladder listed smallest first: the cascade must order itself and take the
    // upright picture. A cropped MP4 beside it is a different picture and must not join it.
    const input = await makeClip(join(dir, "cascade.mp4"), {
      seconds: 4,
      width: 640,
      height: 360,
      rotate: 90,
    });
    const ladder: HlsPlanOutput = {
      kind: "hls",
      name: "cascade",
      dir: join(dir, "cascade"),
      segmentSec: 2,
      preset: "ultrafast",
      renditions: [
        { name: "small", maxHeight: 320, videoBitrateKbps: 1500, audioBitrateKbps: 48 },
        { name: "large", maxHeight: 640, videoBitrateKbps: 4000, audioBitrateKbps: 64 },
        { name: "mid", maxHeight: 480, videoBitrateKbps: 2500, audioBitrateKbps: 64 },
      ],
    };
    const cropped = videoOut(dir, "cropped", {
      video: h264({ maxHeight: 200, crop: { x: 0, y: 0, width: 360, height: 400 } }),
    });
    const { outputs } = await engine.run({ inputPath: input, outputs: [ladder, cropped] });
    expect(outputs[0]?.renditions?.map((r) => [r.name, r.width, r.height])).toEqual([
      ["small", 180, 320],
      ["large", 360, 640],
      ["mid", 270, 480],
    ]);
    const run = promisify(execFile);
    for (const r of outputs[0]?.renditions ?? []) {
      const playlist = join(dir, "cascade", r.name, "index.m3u8");
      // Every picture, and the right one: against the upright source scaled straight to this size.
      const { stderr } = await run("ffmpeg", [
        ...["-hide_banner", "-i", playlist, "-i", input, "-filter_complex"],
        ...[`[1:v]scale=${r.width}:${r.height}[ref];[0:v][ref]psnr`, "-f", "null", "-"],
      ]);
      const psnr = Number(/PSNR .*average:([\d.]+)/.exec(stderr)?.[1]);
      expect(psnr, r.name).toBeGreaterThan(32);
      const { stdout } = await run("ffprobe", [
        ...[
          "-v",
          "error",
          "-count_frames",
          "-select_streams",
          "v:0",
          "-show_entries",
          "stream=nb_read_frames",
        ],
        ...["-of", "csv=p=0", playlist],
      ]);
      // MPEG-TS lists the stream under its program too: the same count twice.
      expect(stdout.trim().split(/\s+/).map(Number), r.name).toContain(100);
    }
    const audio = async (name: string) =>
      (
        await run("ffmpeg", [
          "-v",
          "error",
          "-i",
          join(dir, "cascade", name, "index.m3u8"),
          "-map",
          "0:a",
          "-c",
          "copy",
          "-f",
          "md5",
          "-",
        ])
      ).stdout;
    // large and mid share 64 kb/s: one encode, the same packets; small's 48 kb/s is its own.
    expect(await audio("mid")).toBe(await audio("large"));
    expect(await audio("small")).not.toBe(await audio("large"));
    const croppedProbe = await ffprobe(join(dir, "cropped.mp4"));
    expect(croppedProbe.streams.find((s) => s.codec_type === "video")).toMatchObject({
      width: 180,
      height: 200,
    });
  }, 120_000);

  describe("DASH", () => {
    const renditions = [
      { name: "360p", maxHeight: 360, videoBitrateKbps: 800, audioBitrateKbps: 96 },
      { name: "240p", maxHeight: 240, videoBitrateKbps: 400, audioBitrateKbps: 64 },
      { name: "144p", maxHeight: 144, videoBitrateKbps: 150, audioBitrateKbps: 64 },
    ];
    const ladder = { segmentSec: 2, preset: "ultrafast" as const, renditions };
    const urls = (mpd: string, attribute: string) =>
      [...mpd.matchAll(new RegExp(`${attribute}="([^"]+)"`, "g"))].map((m) => m[1] as string);

    it("encodes a ladder once for HLS and DASH: CMAF segments stored once, both manifests naming them", async () => {
      const input = await makeClip(join(dir, "shared.mp4"), { seconds: 6, width: 640, height: 360 });
      const hls: HlsPlanOutput = {
        kind: "hls",
        name: "apple",
        dir: join(dir, "apple"),
        ...ladder,
        segments: "cmaf",
      };
      const ticks: EngineProgress[] = [];
      const { outputs } = await engine.run(
        {
          inputPath: input,
          outputs: [
            hls,
            {
              kind: "dash",
              name: "stream",
              dir: join(dir, "stream"),
              ...ladder,
              shares: { hls: "apple", url: "../apple/" },
            },
          ],
        },
        { onProgress: (p) => ticks.push(p) },
      );
      const [apple, stream] = outputs;
      // HLS: each rendition's video alone, the audio once per bit rate as EXT-X-MEDIA groups.
      expect((await readdir(join(dir, "apple"))).sort()).toEqual([
        "144p",
        "240p",
        "360p",
        "audio-64k",
        "audio-96k",
        "master.m3u8",
      ]);
      const master = await readFile(join(dir, "apple", "master.m3u8"), "utf8");
      expect(master).toContain('#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio-96k"');
      expect(master).toMatch(/RESOLUTION=426x240,.*CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2",AUDIO="audio-64k"/);
      expect(await readFile(join(dir, "apple", "360p", "index.m3u8"), "utf8")).toContain(
        '#EXT-X-MAP:URI="init.mp4"',
      );
      expect(apple?.files?.some((f) => f.relativePath === "240p/seg_00002.m4s")).toBe(true);
      // DASH: the manifest alone, pointing at the HLS output's files.
      expect(stream).toMatchObject({ kind: "dash", container: "dash", segmentsFrom: "apple" });
      expect(stream?.files?.map((f) => f.relativePath)).toEqual(["manifest.mpd"]);
      expect(await readdir(join(dir, "stream"))).toEqual(["manifest.mpd"]);
      const mpd = await readFile(join(dir, "stream", "manifest.mpd"), "utf8");
      const named = [...urls(mpd, "sourceURL"), ...urls(mpd, "media")];
      // Every track's init segment and each segment its playlist lists: 3 renditions, 2 audio bit rates.
      let listed = 0;
      for (const track of ["360p", "240p", "144p", "audio-96k", "audio-64k"]) {
        const playlist = await readFile(join(dir, "apple", track, "index.m3u8"), "utf8");
        listed += 1 + parseMediaPlaylist(playlist).length;
      }
      expect(named).toHaveLength(listed);
      for (const url of named) {
        expect(url.startsWith("../apple/")).toBe(true);
        expect(existsSync(join(dir, "stream", url)), url).toBe(true);
      }
      expect(stream?.renditions?.map((r) => [r.name, r.width, r.height, r.segments])).toEqual(
        apple?.renditions?.map((r) => [r.name, r.width, r.height, r.segments]),
      );
      // A DASH client (FFmpeg's dash demuxer) opens it: every rendition and the audio, 6 s.
      const probed = await ffprobe(join(dir, "stream", "manifest.mpd"));
      expect(Number(probed.format.duration)).toBeCloseTo(6, 1);
      expect(probed.streams.filter((s) => s.codec_type === "video").map((s) => s.height)).toEqual([
        360, 240, 144,
      ]);
      expect(probed.streams.filter((s) => s.codec_type === "audio")).toHaveLength(2);
      // One timeline: every video rendition's first frame is shown at the Period's start, the
      // audio's first samples no earlier than its encoder's priming (1024 samples) before it.
      const starts = [
        ...mpd.matchAll(
          /<SegmentList timescale="(\d+)" presentationTimeOffset="(\d+)">\s*<Initialization[^>]*>\s*<SegmentTimeline>\s*<S t="(\d+)"/g,
        ),
      ].map((m) => ({ timescale: Number(m[1]), offset: Number(m[3]) - Number(m[2]) }));
      expect(starts.map((s) => s.timescale)).toEqual([12800, 12800, 12800, 48000, 48000]);
      for (const { timescale, offset } of starts) {
        if (timescale === 12800) expect(offset).toBe(0);
        else expect(offset).toBeGreaterThanOrEqual(-1024);
        expect(offset).toBeLessThanOrEqual(0);
      }
      // Both outputs move with the one encode and finish together.
      expect(ticks.filter((t) => t.output === "stream").at(-1)).toMatchObject({ percent: 100 });
      expect(ticks.filter((t) => t.output === "apple").at(-1)).toMatchObject({ percent: 100 });
    }, 120_000);

    it("writes a DASH output alone into its own folder; an input without audio has no audio set", async () => {
      const input = await makeClip(join(dir, "mute.mp4"), {
        seconds: 4,
        width: 320,
        height: 240,
        audio: false,
      });
      const { outputs } = await engine.run({
        inputPath: input,
        outputs: [{ kind: "dash", name: "solo", dir: join(dir, "solo"), ...ladder }],
      });
      const solo = outputs[0];
      expect(solo).toMatchObject({ kind: "dash", audio: null, video: { codec: "h264" } });
      expect(solo).not.toHaveProperty("segmentsFrom");
      // No HLS playlists are left behind: the manifest and the CMAF segments only.
      const files = solo?.files?.map((f) => f.relativePath) ?? [];
      expect(files).toContain("manifest.mpd");
      expect(files).toContain("144p/init.mp4");
      expect(files.filter((f) => f.endsWith(".m3u8"))).toEqual([]);
      expect(files.filter((f) => f.startsWith("audio-"))).toEqual([]);
      const mpd = await readFile(join(dir, "solo", "manifest.mpd"), "utf8");
      expect(mpd).not.toContain('contentType="audio"');
      expect(urls(mpd, "media")[0]).toBe("360p/seg_00000.m4s");
      const probed = await ffprobe(join(dir, "solo", "manifest.mpd"));
      expect(Number(probed.format.duration)).toBeCloseTo(4, 1);
      expect(probed.streams.map((s) => s.codec_type)).toEqual(["video", "video", "video"]);
    }, 120_000);
  });

  it("holds no pictures past a short output's window: a 1 s preview of a 20 s 720p input stays small", async () => {
    // Frames pushed into a graph its trim has ended are never taken out: before the fix this run
    // held the other 19 s of decoded pictures (about 650 MB). Measured in its own process.
    const input = await makeClip(join(dir, "long720.mp4"), {
      seconds: 20,
      width: 1280,
      height: 720,
      audio: true,
    });
    const plan = join(dir, "preview-plan.json");
    await writeFile(
      plan,
      JSON.stringify({
        inputPath: input,
        outputs: [
          {
            kind: "animation",
            name: "p",
            path: join(dir, "p.webp"),
            format: "webp",
            startSec: 1,
            durationSec: 1,
            fps: 10,
            maxWidth: 160,
            maxHeight: null,
            loop: true,
          },
          // Untrimmed: the whole input is read, past the preview's window.
          audioOut(dir, "whole", { bitrateKbps: 64 }),
        ],
      }),
    );
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", join(import.meta.dirname, "../bench/run-engine.ts"), "native", plan],
      { cwd: join(import.meta.dirname, "../..") },
    );
    const measured = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as {
      maxRssKb: number;
      idleRssKb: number;
    };
    expect((measured.maxRssKb - measured.idleRssKb) / 1024).toBeLessThan(250);
  }, 120_000);

  it("reports an HLS ladder and a trimmed video beside it as two outputs with their own progress", async () => {
    const input = await makeClip(join(dir, "ladder-progress.mp4"), { seconds: 6, width: 640, height: 360 });
    const ticks: EngineProgress[] = [];
    await engine.run(
      {
        inputPath: input,
        outputs: [
          videoOut(dir, "clip-2s", { trim: { startSec: 3, endSec: 5 }, video: h264({ maxHeight: 180 }) }),
          {
            kind: "hls",
            name: "ladder-p",
            dir: join(dir, "ladder-p"),
            segmentSec: 2,
            preset: "ultrafast",
            renditions: [
              { name: "360p", maxHeight: 360, videoBitrateKbps: 800, audioBitrateKbps: 96 },
              { name: "144p", maxHeight: 144, videoBitrateKbps: 150, audioBitrateKbps: 48 },
            ],
          },
        ],
      },
      { onProgress: (p) => ticks.push(p) },
    );
    for (const name of ["clip-2s", "ladder-p"]) {
      const own = ticks.filter((t) => t.output === name);
      const percents = own.map((t) => t.percent ?? 0);
      expect(percents, name).toEqual([...percents].sort((a, b) => a - b));
      expect(own.at(-1), name).toMatchObject({ percent: 100, etaSec: 0 });
    }
    expect(ticks.find((t) => t.output === "clip-2s")?.durationSec).toBeCloseTo(2, 1);
    expect(ticks.find((t) => t.output === "ladder-p")?.durationSec).toBeCloseTo(6, 0);
  }, 120_000);

  it("composites a watermark in the requested corner, with margin and opacity", async () => {
    const input = await makeClip(join(dir, "wm-src.mp4"), {
      seconds: 1,
      width: 320,
      height: 180,
      audio: false,
    });
    // A solid red 40x20 PNG as the watermark; the clip's testsrc2 picture is never pure red.
    const logo = join(dir, "logo.png");
    await promisify(execFile)("ffmpeg", [
      ...["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "color=c=red:s=40x20:d=1"],
      ...["-frames:v", "1", logo],
    ]);
    const { outputs } = await engine.run({
      inputPath: input,
      outputs: [
        videoOut(dir, "wm", {
          video: h264({
            maxHeight: null,
            crf: 10,
            watermark: {
              imagePath: logo,
              position: "bottom-right",
              marginPx: 10,
              opacity: 1,
              widthFraction: null,
            },
          }),
          audio: null,
        }),
        videoOut(dir, "wm-faint", {
          video: h264({
            maxHeight: null,
            crf: 10,
            watermark: {
              imagePath: logo,
              position: "top-left",
              marginPx: 0,
              opacity: 0.5,
              widthFraction: 0.25,
            },
          }),
          audio: null,
        }),
      ],
    });
    expect(outputs[0]?.video).toMatchObject({ width: 320, height: 180 });
    // Read back one pixel inside the watermark and one outside it, from the first frame, as RGB.
    const pixel = async (file: string, x: number, y: number) => {
      const { stdout } = await promisify(execFile)(
        "ffmpeg",
        [
          ...["-hide_banner", "-loglevel", "error", "-i", join(dir, file), "-frames:v", "1"],
          ...["-vf", `crop=2:2:${x}:${y}`, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        ],
        { encoding: "buffer" },
      );
      return [...stdout.subarray(0, 3)];
    };
    const [r, g, b] = await pixel("wm.mp4", 320 - 10 - 20, 180 - 10 - 10);
    expect(r).toBeGreaterThan(200);
    expect(g).toBeLessThan(60);
    expect(b).toBeLessThan(60);
    // Half opacity, scaled to 80 px wide at the top-left corner: red blended with the picture.
    const [r2, g2] = await pixel("wm-faint.mp4", 70, 30);
    const [r3, g3] = await pixel("wm.mp4", 70, 30);
    expect(r2).toBeGreaterThan(r3 ?? 0);
    expect(Math.abs((g2 ?? 0) - (g3 ?? 0))).toBeGreaterThan(10);
  }, 60_000);

  it("tiles thumbnails into a sprite sheet with a WebVTT storyboard", async () => {
    const input = await makeClip(join(dir, "sprite-src.mp4"), {
      seconds: 5,
      width: 320,
      height: 180,
      audio: false,
    });
    const { outputs } = await engine.run({
      inputPath: input,
      outputs: [
        thumbsOut(dir, "sb", {
          maxHeight: 90,
          select: { mode: "every", everySec: 1 },
          sprite: { columns: 3 },
        }),
      ],
    });
    const out = outputs[0];
    expect(out?.thumbnails).toHaveLength(5);
    expect(out?.sprite).toEqual({
      relativePath: "thumb-sprite.jpg",
      storyboard: "storyboard.vtt",
      tileWidth: 160,
      tileHeight: 90,
      columns: 3,
    });
    const sheet = await ffprobe(join(dir, "sb", "thumb-sprite.jpg"));
    expect(sheet.streams[0]).toMatchObject({ codec_name: "mjpeg", width: 480, height: 180 });
    const vtt = await readFile(join(dir, "sb", "storyboard.vtt"), "utf8");
    expect(vtt.startsWith("WEBVTT\n")).toBe(true);
    expect(vtt).toContain("00:00:00.000 --> 00:00:01.000\nthumb-sprite.jpg#xywh=0,0,160,90");
    expect(vtt).toContain("00:00:04.000 --> 00:00:05.000\nthumb-sprite.jpg#xywh=160,90,160,90");
    expect(out?.files?.map((f) => f.relativePath)).toContain("storyboard.vtt");
  }, 60_000);

  it("ends the storyboard's last cue at the end of the input, not past it", async () => {
    const input = await makeClip(join(dir, "sprite-end.mp4"), {
      seconds: 5,
      width: 320,
      height: 180,
      audio: false,
    });
    await engine.run({
      inputPath: input,
      outputs: [
        thumbsOut(dir, "sb-end", {
          maxHeight: 90,
          select: { mode: "every", everySec: 1.5 },
          sprite: { columns: 2 },
        }),
      ],
    });
    const vtt = await readFile(join(dir, "sb-end", "storyboard.vtt"), "utf8");
    const ends = [...vtt.matchAll(/--> (\S+)/g)].map((m) => m[1]);
    expect(ends.at(-1)).toBe("00:00:05.000");
  }, 60_000);

  it("stops a run whose input stalls with STALLED, through the interrupt callback", async () => {
    const source = await makeClip(join(dir, "stream.ts"), { seconds: 2, width: 160, height: 90 });
    const fifo = join(dir, "stalled.fifo");
    await promisify(execFile)("mkfifo", [fifo]);
    // O_RDWR never blocks on a FIFO. The writer feeds part of the stream, then goes silent; it
    // writes less than the pipe buffer (64 KiB) so its own write never blocks.
    const writer = await open(fifo, "r+");
    try {
      const bytes = await readFile(source);
      await writer.write(bytes.subarray(0, Math.min(48_000, Math.floor(bytes.length / 2))));
      const started = Date.now();
      const error = await engine
        .run({ inputPath: fifo, outputs: [videoOut(dir, "stalled")] }, { stallTimeoutMs: 500 })
        .catch((e: unknown) => e);
      expect((error as EngineError).code).toBe("STALLED");
      expect(Date.now() - started).toBeLessThan(3000);
      expect(existsSync(join(dir, "stalled.mp4"))).toBe(false);

      // Cancel stops a run blocked on the same silent input within a second.
      const controller = new AbortController();
      const running = engine
        .run({ inputPath: fifo, outputs: [videoOut(dir, "blocked")] }, { signal: controller.signal })
        .catch((e: unknown) => e);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const abortedAt = Date.now();
      controller.abort();
      expect(((await running) as EngineError).code).toBe("CANCELED");
      expect(Date.now() - abortedAt).toBeLessThan(1000);
    } finally {
      await writer.close();
    }
  }, 60_000);

  it("refuses to probe a truncated file cleanly, without crashing", async () => {
    // ffmpeg writes the moov atom last unless asked for faststart: the first half has no index.
    const whole = await readFile(clip);
    const truncated = join(dir, "truncated.mp4");
    await writeFile(truncated, whole.subarray(0, Math.floor(whole.length / 2)));
    const error = await engine.probe(truncated).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).code).toBe("INPUT_UNREADABLE");
    expect((error as EngineError).detail).toBeTruthy();
  });

  it("reports a missing input as INPUT_UNREADABLE with FFmpeg's reason", async () => {
    const error = await engine.probe(join(dir, "nope.mp4")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).code).toBe("INPUT_UNREADABLE");
    expect((error as EngineError).message).toContain("No such file or directory");
  });

  it("rejects at once when the signal is already aborted, writing nothing", async () => {
    const error = await engine
      .run({ inputPath: clip, outputs: [videoOut(dir, "pre-aborted")] }, { signal: AbortSignal.abort() })
      .catch((e: unknown) => e);
    expect((error as EngineError).code).toBe("CANCELED");
    expect(existsSync(join(dir, "pre-aborted.mp4"))).toBe(false);
  });

  it("removes every partial output of a canceled multi-output run", async () => {
    const input = await makeClip(join(dir, "ten.mp4"), {
      seconds: 10,
      width: 640,
      height: 360,
      audio: false,
    });
    const controller = new AbortController();
    const error = await engine
      .run(
        {
          inputPath: input,
          outputs: [
            videoOut(dir, "partial", { video: h264({ maxHeight: 360, preset: "slow" }) }),
            {
              kind: "hls",
              name: "partial-hls",
              dir: join(dir, "partial-hls"),
              segmentSec: 2,
              preset: "ultrafast",
              renditions: [{ name: "a", maxHeight: 180, videoBitrateKbps: 300, audioBitrateKbps: 64 }],
            },
          ],
        },
        { signal: controller.signal, onProgress: () => controller.abort() },
      )
      .catch((e: unknown) => e);
    expect((error as EngineError).code).toBe("CANCELED");
    expect(existsSync(join(dir, "partial.mp4"))).toBe(false);
    expect(existsSync(join(dir, "partial-hls"))).toBe(false);
  }, 60_000);

  it("fails with OUTPUT_WRITE_FAILED when the output cannot be created", async () => {
    const out = videoOut(dir, "x", { path: join(dir, "no-such-dir", "out.mp4") });
    const error = await engine.run({ inputPath: clip, outputs: [out] }).catch((e: unknown) => e);
    expect((error as EngineError).code).toBe("OUTPUT_WRITE_FAILED");
  });

  describe("a silent preview on a thread of its own", () => {
    // Beside a transcode, a GIF's filters, encoder and muxer run on a worker thread (FrameWorker):
    // a failure or a cancel there must end the job as it would on the pipeline thread.
    let longer: string;
    beforeAll(async () => {
      longer = await makeClip(join(dir, "longer.mp4"), { seconds: 14, width: 960, height: 540 });
    }, 60_000);

    it("fails the whole job with OUTPUT_WRITE_FAILED as soon as the preview cannot be written, leaving no file", async () => {
      // The GIF (~1 MB) outgrows the I/O buffer, so the refusal comes while its thread writes it,
      // once its 2.5 s window has ended: the job must stop then, not at the end of the input.
      const gif = await gifOnFullDisk(dir, 2.5);
      const transcode = videoOut(dir, "beside-nospace", { video: h264({ maxHeight: 90 }) });
      let reached = 0;
      const error = await engine
        .run(
          { inputPath: longer, outputs: [transcode, gif] },
          {
            onProgress: (p) => {
              if (p.output === transcode.name) reached = Math.max(reached, p.outTimeSec);
            },
          },
        )
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EngineError);
      expect((error as EngineError).code).toBe("OUTPUT_WRITE_FAILED");
      expect((error as EngineError).message).toBe("could not write to the output: No space left on device");
      expect(reached).toBeLessThan(8);
      expect(existsSync(transcode.path)).toBe(false);
      expect(existsSync(gif.path)).toBe(false);
    });

    it("stops at once on cancel with a preview on its own thread, removing every output", async () => {
      const gif = animation("drain", dir, { format: "gif", startSec: 0, durationSec: 1, maxWidth: 320 });
      const transcode = videoOut(dir, "beside-drain", { video: h264({ preset: "medium" }) });
      const controller = new AbortController();
      let abortedAt = 0;
      const error = await engine
        .run(
          { inputPath: longer, outputs: [transcode, gif] },
          {
            signal: controller.signal,
            // Past the GIF's window: its thread is paletting and encoding the held clip, or has.
            onProgress: (p) => {
              if (p.output === transcode.name && p.outTimeSec >= 1 && abortedAt === 0) {
                abortedAt = Date.now();
                controller.abort();
              }
            },
          },
        )
        .catch((e: unknown) => e);
      expect((error as EngineError).code).toBe("CANCELED");
      expect(abortedAt).toBeGreaterThan(0);
      expect(Date.now() - abortedAt).toBeLessThan(2000);
      expect(existsSync(transcode.path)).toBe(false);
      expect(existsSync(gif.path)).toBe(false);
    });
  });

  it("rejects a crop that does not fit the picture with UNSUPPORTED", async () => {
    const out = videoOut(dir, "crop", { video: h264({ crop: { x: 200, y: 0, width: 200, height: 100 } }) });
    const error = await engine.run({ inputPath: clip, outputs: [out] }).catch((e: unknown) => e);
    expect((error as EngineError).code).toBe("UNSUPPORTED");
    expect((error as EngineError).message).toContain("crop");
  });
});
