import { expect, it } from "vitest";
import { hlsCodecs, masterPlaylist, parseMediaMap, parseMediaPlaylist } from "./hls";

it("reads segments and durations from a media playlist", () => {
  const text =
    "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.000000,\nseg_00000.ts\n#EXTINF:1.5,\nseg_00001.ts\n#EXT-X-ENDLIST\n";
  expect(parseMediaPlaylist(text)).toEqual([
    { uri: "seg_00000.ts", durationSec: 2 },
    { uri: "seg_00001.ts", durationSec: 1.5 },
  ]);
});

it("writes a master playlist with bandwidth, resolution and codecs", () => {
  const text = masterPlaylist([
    {
      playlist: "720p/index.m3u8",
      bandwidth: 2_500_000.4,
      averageBandwidth: 2e6,
      width: 1280,
      height: 720,
      fps: 25,
      codecs: hlsCodecs({ profile: "High", level: 31 }, true),
    },
  ]);
  expect(text).toBe(
    "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n" +
      '#EXT-X-STREAM-INF:BANDWIDTH=2500000,AVERAGE-BANDWIDTH=2000000,RESOLUTION=1280x720,FRAME-RATE=25.000,CODECS="avc1.64001f,mp4a.40.2"\n' +
      "720p/index.m3u8\n",
  );
  expect(hlsCodecs({ profile: "Constrained Baseline", level: 30 }, false)).toBe("avc1.42e01e");
  expect(hlsCodecs({ profile: "High 10", level: 30 }, false)).toBeNull();
});

it("writes a CMAF master playlist: the audio as rendition groups each variant names", () => {
  const text = masterPlaylist(
    [
      {
        playlist: "360p/index.m3u8",
        bandwidth: 1e6,
        averageBandwidth: 9e5,
        width: 640,
        height: 360,
        fps: null,
        codecs: "avc1.64001e,mp4a.40.2",
        audioGroup: "audio-96k",
      },
    ],
    { version: 7, audio: [{ groupId: "audio-96k", playlist: "audio-96k/index.m3u8", channels: 2 }] },
  );
  expect(text).toBe(
    "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n" +
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio-96k",NAME="audio",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio-96k/index.m3u8"\n' +
      '#EXT-X-STREAM-INF:BANDWIDTH=1000000,AVERAGE-BANDWIDTH=900000,RESOLUTION=640x360,CODECS="avc1.64001e,mp4a.40.2",AUDIO="audio-96k"\n' +
      "360p/index.m3u8\n",
  );
  expect(parseMediaMap('#EXTM3U\n#EXT-X-MAP:URI="init.mp4"\n#EXTINF:2,\nseg_00000.m4s\n')).toBe("init.mp4");
  expect(parseMediaMap("#EXTM3U\n#EXTINF:2,\nseg_00000.ts\n")).toBeNull();
});
