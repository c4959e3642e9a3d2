import { describe, expect, it } from "vitest";
import { resolvePlaylistUri, rewritePlaylist } from "./hls-playlists";

const master = "ten_a/jobs/job_b/ladder/master.m3u8";
const variant = "ten_a/jobs/job_b/ladder/360p/index.m3u8";
const link = async (key: string) => `https://signed.example/${key}?sig=1`;

describe("HLS playlist links", () => {
  it("rewrites variant playlists, segments and URI attributes to their own links", async () => {
    const text = [
      "#EXTM3U",
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="en",URI="audio/index.m3u8"',
      "#EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=640x360",
      "360p/index.m3u8",
      "",
    ].join("\n");
    expect(await rewritePlaylist(text, master, link)).toBe(
      [
        "#EXTM3U",
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="en",URI="https://signed.example/ten_a/jobs/job_b/ladder/audio/index.m3u8?sig=1"',
        "#EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=640x360",
        "https://signed.example/ten_a/jobs/job_b/ladder/360p/index.m3u8?sig=1",
        "",
      ].join("\n"),
    );
    const media = '#EXTM3U\n#EXT-X-MAP:URI="init.mp4"\n#EXTINF:2.0,\nseg_00001.m4s\n#EXT-X-ENDLIST\n';
    expect(await rewritePlaylist(media, variant, link)).toContain(
      'URI="https://signed.example/ten_a/jobs/job_b/ladder/360p/init.mp4?sig=1"',
    );
    expect(await rewritePlaylist(media, variant, link)).toContain(
      "\nhttps://signed.example/ten_a/jobs/job_b/ladder/360p/seg_00001.m4s?sig=1\n",
    );
  });

  it("keeps every URI inside the output's own folder", () => {
    expect(resolvePlaylistUri(variant, "../720p/index.m3u8")).toBe("ten_a/jobs/job_b/ladder/720p/index.m3u8");
    for (const uri of [
      "../../other/master.m3u8",
      "../../../job_c/ladder/master.m3u8",
      "/ten_a/jobs/job_b/ladder/360p/a.ts",
      "https://evil.example/a.ts",
      "file:///etc/passwd",
      "//evil.example/a.ts",
      "seg.ts?x=1",
      "%2e%2e/%2e%2e/%2e%2e/x.ts",
      "seg%E0%A4%A.ts",
    ]) {
      expect(resolvePlaylistUri(variant, uri), uri).toBeNull();
    }
  });

  it("refuses to serve a playlist that points outside its output", async () => {
    await expect(rewritePlaylist("#EXTM3U\n../../secret.mp4\n", master, link)).rejects.toThrow(/outside/);
  });
});
