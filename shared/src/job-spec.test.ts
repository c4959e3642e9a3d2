import { describe, expect, it } from "vitest";
import { jobSpecSchema, poolFor } from "./job-spec";

const upload = { type: "upload", upload_id: "upl_01jbcdefghjkmnpqrstvwxyz00" };
const video = { name: "480p", type: "video", video: { height: 480 } };

describe("job spec", () => {
  it("fills in defaults a client may leave out", () => {
    const spec = jobSpecSchema.parse({ input: upload, outputs: [video] });
    expect(spec.priority).toBe("default");
    expect(spec.accel).toBe("auto");
    expect(spec.outputs[0]).toEqual({
      name: "480p",
      type: "video",
      container: "mp4",
      video: { codec: "h264", height: 480, crf: 23, preset: "veryfast" },
      audio: { codec: "aac", bitrate_kbps: 128 },
    });
  });

  it("points at the bad field", () => {
    const result = jobSpecSchema.safeParse({
      input: upload,
      outputs: [{ ...video, video: { height: 481 } }],
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(["outputs", 0, "video", "height"]);
    expect(result.error?.issues[0]?.message).toContain("even");
  });

  it("refuses fields it does not know, so raw FFmpeg options can't ride along", () => {
    const result = jobSpecSchema.safeParse({
      input: upload,
      outputs: [{ ...video, video: { height: 480, filter: "movie=/etc/passwd" } }],
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.code).toBe("unrecognized_keys");
  });

  it("accepts only http(s) URL inputs", () => {
    for (const url of ["file:///etc/passwd", "concat:a|b", "subfile:,start,0,end,0,:x", "ftp://host/x"]) {
      expect(jobSpecSchema.safeParse({ input: { type: "url", url }, outputs: [video] }).success, url).toBe(
        false,
      );
    }
    expect(
      jobSpecSchema.safeParse({ input: { type: "url", url: "https://example.com/a.mp4" }, outputs: [video] })
        .success,
    ).toBe(true);
  });

  it("keeps output names path-safe and unique", () => {
    for (const name of ["../x", "a/b", "", ".hidden", "a b"]) {
      expect(jobSpecSchema.safeParse({ input: upload, outputs: [{ ...video, name }] }).success, name).toBe(
        false,
      );
    }
  });

  it("bounds numbers", () => {
    expect(
      jobSpecSchema.safeParse({ input: upload, outputs: [{ ...video, video: { height: 8 } }] }).success,
    ).toBe(false);
    expect(
      jobSpecSchema.safeParse({ input: upload, outputs: [{ ...video, video: { height: 480, crf: 52 } }] })
        .success,
    ).toBe(false);
  });

  it("lets a job drop audio", () => {
    const spec = jobSpecSchema.parse({ input: upload, outputs: [{ ...video, audio: false }] });
    expect(spec.outputs[0]?.audio).toBe(false);
  });

  it("routes gpu jobs to the gpu pool and everything else to cpu", () => {
    expect(poolFor({ accel: "gpu" })).toBe("gpu");
    expect(poolFor({ accel: "auto" })).toBe("cpu");
    expect(poolFor({ accel: "cpu" })).toBe("cpu");
  });
});
