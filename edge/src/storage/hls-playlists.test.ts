import { describe, expect, it } from "vitest";
import { isPlaylistKey, resolvePlaylistUri, rewritePlaylist } from "./hls-playlists";

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

describe("DASH manifest links", () => {
  const manifest = "ten_a/jobs/job_b/stream/manifest.mpd";
  const mpd = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT4.000S">',
    "  <Period>",
    '    <AdaptationSet contentType="video" mimeType="video/mp4">',
    '      <Representation id="360p" bandwidth="900000">',
    '        <SegmentList timescale="12800" presentationTimeOffset="128000">',
    '          <Initialization sourceURL="../ladder/360p/init.mp4"/>',
    '          <SegmentTimeline><S t="128000" d="25600"/></SegmentTimeline>',
    '          <SegmentURL media="../ladder/360p/seg_00000.m4s"/>',
    "        </SegmentList>",
    "      </Representation>",
    "    </AdaptationSet>",
    "  </Period>",
    "</MPD>",
    "",
  ].join("\n");
  const amp = async (key: string) => `https://s3.example/${key}?X-Amz-Date=1&X-Amz-Signature=2`;

  it("is served like a playlist", () => {
    expect(isPlaylistKey(manifest)).toBe(true);
    expect(isPlaylistKey("ten_a/jobs/job_b/stream/360p/init.mp4")).toBe(false);
  });

  it("rewrites every SegmentURL and Initialization to its own link, XML-escaped, the rest untouched", async () => {
    const out = await rewritePlaylist(mpd, manifest, amp);
    expect(out).toContain(
      'sourceURL="https://s3.example/ten_a/jobs/job_b/ladder/360p/init.mp4?X-Amz-Date=1&amp;X-Amz-Signature=2"',
    );
    expect(out).toContain(
      'media="https://s3.example/ten_a/jobs/job_b/ladder/360p/seg_00000.m4s?X-Amz-Date=1&amp;X-Amz-Signature=2"',
    );
    expect(out.replace(/"https:[^"]*"/g, '""')).toBe(mpd.replace(/(media|sourceURL)="[^"]*"/g, '$1=""'));
  });

  it("may name the job's other outputs (a shared ladder), never another job's", async () => {
    expect(resolvePlaylistUri(manifest, "../ladder/360p/seg_00000.m4s")).toBe(
      "ten_a/jobs/job_b/ladder/360p/seg_00000.m4s",
    );
    expect(resolvePlaylistUri(manifest, "720p/init.mp4")).toBe("ten_a/jobs/job_b/stream/720p/init.mp4");
    for (const uri of [
      "../../job_c/ladder/a.m4s",
      "../../../ten_c/jobs/job_b/x.m4s",
      "https://evil.example/a.m4s",
    ])
      expect(resolvePlaylistUri(manifest, uri), uri).toBeNull();
    await expect(
      rewritePlaylist(mpd.replace("../ladder/360p/seg_00000.m4s", "../../job_c/x.m4s"), manifest, amp),
    ).rejects.toThrow(/outside its job/);
  });

  it("refuses what the engine never writes: BaseURL, templates", async () => {
    const based = mpd.replace("<Period>", "<Period><BaseURL>https://evil.example/</BaseURL>");
    await expect(rewritePlaylist(based, manifest, amp)).rejects.toThrow(/not one the engine wrote/);
    const templated = mpd.replace("<SegmentList", '<SegmentTemplate media="$Number$.m4s"/><SegmentList');
    await expect(rewritePlaylist(templated, manifest, amp)).rejects.toThrow(/not one the engine wrote/);
  });
});
