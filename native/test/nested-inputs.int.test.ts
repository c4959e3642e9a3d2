import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeClip } from "../../test/support/media";
import { type Engine, EngineError } from "../lib/engine";
import { createNativeEngine } from "../lib/native-engine";
import { createWasmEngine } from "../lib/wasm-engine";
import { videoOut } from "./plans";

/**
 * FFmpeg protocol tricks inside an input's *content*: an HLS playlist or concat list names other
 * resources, and a demuxer would open them itself — an internal HTTP service (SSRF past the node's
 * URL guard) or another tenant's file on the node's disk. The engines must never open a nested
 * resource: the input fails as unreadable and nothing is requested or read.
 */

let dir: string;
let server: Server;
let port: number;
const hits: string[] = [];
let secretClip: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "fw-nested-"));
  // A real server on loopback standing in for an internal service, serving real media.
  secretClip = await makeClip(join(dir, "other-tenant-output.mp4"), { seconds: 1 });
  const media = await readFile(secretClip);
  server = createServer((req, res) => {
    hits.push(req.url ?? "");
    res.end(media);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as { port: number }).port;
}, 60_000);

afterAll(async () => {
  server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const inputs = () => ({
  "hls to loopback http": `#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nhttp://127.0.0.1:${port}/seg.ts\n#EXT-X-ENDLIST\n`,
  "hls to metadata service":
    "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nhttp://169.254.169.254/latest/meta-data/x.ts\n#EXT-X-ENDLIST\n",
  "hls to a local file": `#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nfile://${secretClip}\n#EXT-X-ENDLIST\n`,
  "hls master to loopback": `#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=100000\nhttp://127.0.0.1:${port}/media.m3u8\n`,
  "concat list": `ffconcat version 1.0\nfile ${secretClip}\nfile other-tenant-output.mp4\n`,
});

describe.each([
  ["native", createNativeEngine],
  ["wasm", createWasmEngine],
] as const)("nested resources in %s engine inputs", (_name, create) => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await create();
  }, 60_000);
  afterAll(async () => {
    await engine?.close();
  });

  it("refuses every nested open: the input is unreadable, nothing is fetched or read", async () => {
    for (const [what, content] of Object.entries(inputs())) {
      const input = join(dir, `input-${what.replace(/\W/g, "-")}`);
      await writeFile(input, content);
      const probe = await engine.probe(input).catch((e: unknown) => e);
      expect(probe, what).toBeInstanceOf(EngineError);
      expect((probe as EngineError).code, what).toBe("INPUT_UNREADABLE");
      const run = await engine
        .run({ inputPath: input, outputs: [videoOut(dir, `out-${what.replace(/\W/g, "-")}`)] })
        .catch((e: unknown) => e);
      expect(run, what).toBeInstanceOf(EngineError);
    }
    expect(hits).toEqual([]);
  }, 120_000);
});

it("the loopback server answers (the refusals above are the engines', not a dead port)", async () => {
  const res = await fetch(`http://127.0.0.1:${port}/check`);
  expect(res.status).toBe(200);
  hits.length = 0;
});
