import { describe, expect, it } from "vitest";
import { isoDuration, mpd, timelineElements } from "./dash";
import { frameRateAttribute } from "./ladder";

describe("DASH manifests", () => {
  it("writes one S element per segment, t only where the timeline starts or jumps", () => {
    const segments = [
      { t: 128000, d: 25600, media: "a" },
      { t: 153600, d: 25600, media: "b" },
      { t: 179200, d: 12800, media: "c" },
      { t: 200000, d: 100, media: "d" },
    ];
    // No repeat counts: dash.js pairs the n-th S element with the n-th SegmentURL.
    expect(timelineElements(segments)).toEqual([
      '<S t="128000" d="25600"/>',
      '<S d="25600"/>',
      '<S d="12800"/>',
      '<S t="200000" d="100"/>',
    ]);
  });

  it("writes a static MPD: video and audio adaptation sets, each representation's own segment list", () => {
    const text = mpd({
      durationSec: 4.0155,
      minBufferSec: 2.02,
      adaptationSets: [
        {
          contentType: "video",
          representations: [
            {
              id: "360p",
              bandwidth: 900_000.4,
              codecs: "avc1.64001e",
              width: 640,
              height: 360,
              frameRate: "30000/1001",
              timescale: 12800,
              presentationTimeOffset: 128000,
              initialization: "../hls/360p/init.mp4",
              segments: [
                { t: 128000, d: 25600, media: "../hls/360p/seg_00000.m4s" },
                { t: 153600, d: 25600, media: "../hls/360p/seg_00001.m4s" },
              ],
            },
          ],
        },
        {
          contentType: "audio",
          channels: 2,
          lang: "de",
          representations: [
            {
              id: "audio-128k",
              bandwidth: 130_000,
              codecs: "mp4a.40.2",
              audioSamplingRate: 48000,
              timescale: 48000,
              presentationTimeOffset: 480000,
              initialization: "audio-128k/init.mp4",
              segments: [{ t: 478976, d: 193024, media: "audio-128k/seg_00000.m4s?a=1&b=2" }],
            },
          ],
        },
      ],
    });
    expect(text).toContain('type="static" mediaPresentationDuration="PT4.016S" minBufferTime="PT2.020S"');
    expect(text).toContain(
      '<AdaptationSet id="0" contentType="video" mimeType="video/mp4" segmentAlignment="true" maxWidth="640" maxHeight="360" startWithSAP="1">',
    );
    expect(text).toContain(
      '<Representation id="360p" bandwidth="900000" codecs="avc1.64001e" width="640" height="360" frameRate="30000/1001">',
    );
    expect(text).toContain('<SegmentList timescale="12800" presentationTimeOffset="128000">');
    expect(text).toContain('<Initialization sourceURL="../hls/360p/init.mp4"/>');
    expect(text).toContain('<SegmentURL media="../hls/360p/seg_00001.m4s"/>');
    expect(text).toContain('value="2"/>');
    expect(text).toContain('contentType="audio" mimeType="audio/mp4" segmentAlignment="true" lang="de"');
    expect(text).toContain('audioSamplingRate="48000"');
    // URLs are XML-escaped.
    expect(text).toContain('media="audio-128k/seg_00000.m4s?a=1&amp;b=2"');
    expect(text.match(/<SegmentURL /g)).toHaveLength(3);
  });

  it("spells durations and frame rates as DASH does", () => {
    expect(isoDuration(6)).toBe("PT6.000S");
    expect(isoDuration(0.0001)).toBe("PT0.001S");
    expect(frameRateAttribute(25)).toBe("25");
    expect(frameRateAttribute(29.97002997)).toBe("30000/1001");
    expect(frameRateAttribute(12.5)).toBe("12500/1000");
    expect(frameRateAttribute(undefined)).toBeNull();
  });
});
