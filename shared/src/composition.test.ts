import { describe, expect, it } from "vitest";
import { jobSpecSchema } from "./job-spec";

const upload = (n: number) => ({ type: "upload", upload_id: `upl_01jbcdefghjkmnpqrstvwxyz0${n}` });
const inputs = { a: upload(1), b: upload(2), music: upload(3) };
const video = (input: string, start: number, extra: Record<string, unknown> = {}) => ({
  asset: { type: "video", input, trim: { start_sec: 0, end_sec: 4 } },
  start_sec: start,
  ...extra,
});
const composition = (tracks: unknown[], extra: Record<string, unknown> = {}) => ({
  name: "edit",
  type: "composition",
  canvas: { width: 1280, height: 720 },
  tracks,
  ...extra,
});
const problems = (spec: unknown) => {
  const result = jobSpecSchema.safeParse(spec);
  return result.success
    ? []
    : result.error.issues.map((i) => ({
        path: i.path.join("."),
        message: i.message,
        code: (i as { params?: { code?: string } }).params?.code,
      }));
};

describe("compositions in the job spec", () => {
  it("accepts named inputs and fills in every default", () => {
    const spec = jobSpecSchema.parse({
      inputs,
      outputs: [
        composition([{ clips: [video("a", 0), video("b", 3.5, { transition: { in: "crossfade" } })] }], {
          soundtrack: { input: "music", duck: 12 },
        }),
      ],
    });
    const output = spec.outputs[0];
    expect(output?.type).toBe("composition");
    if (output?.type !== "composition") throw new Error("not a composition");
    expect(output.canvas).toEqual({ width: 1280, height: 720, fps: 30, background: "#000000" });
    expect(output.video).toEqual({ codec: "h264", preset: "veryfast" });
    expect(output.tracks[0]?.clips[1]).toMatchObject({
      fit: "contain",
      position: "center",
      offset: { x: 0, y: 0 },
      scale: 1,
      opacity: 1,
      volume: 1,
      transition: { in: "crossfade", duration_sec: 0.5 },
    });
    expect(output.soundtrack).toEqual({
      input: "music",
      volume: 1,
      fade_in_sec: 0,
      fade_out_sec: 0,
      duck: 12,
    });
  });

  it("keeps single-input jobs as they were, and lets their clips leave the input out", () => {
    expect(problems({ input: upload(1), outputs: [{ name: "v", type: "video", video: {} }] })).toEqual([]);
    expect(
      problems({
        input: upload(1),
        outputs: [composition([{ clips: [{ asset: { type: "video" }, start_sec: 0 }] }])],
      }),
    ).toEqual([]);
  });

  it("names the clip when an input does not exist", () => {
    expect(
      problems({
        inputs,
        outputs: [composition([{ clips: [video("a", 0)] }, { clips: [video("a", 0), video("c", 4)] }])],
      }),
    ).toEqual([
      {
        path: "outputs.0.tracks.1.clips.1.asset.input",
        message: "tracks[1].clips[1]: input 'c' is not one of the job's inputs (a, b, music)",
        code: "composition_invalid",
      },
    ]);
  });

  it("refuses overlaps on a track unless the later clip crossfades by exactly its duration", () => {
    expect(
      problems({ inputs, outputs: [composition([{ clips: [video("a", 0), video("b", 3)] }])] })[0]?.message,
    ).toBe(
      "tracks[0].clips[1]: starts at 3 s, before tracks[0].clips[0] ends (4 s); clips on one track overlap only to crossfade",
    );
    const crossfade = { transition: { in: "crossfade", duration_sec: 1 } };
    expect(
      problems({ inputs, outputs: [composition([{ clips: [video("a", 0), video("b", 3, crossfade)] }])] }),
    ).toEqual([]);
    expect(
      problems({
        inputs,
        outputs: [composition([{ clips: [video("a", 0), video("b", 3.5, crossfade)] }])],
      })[0]?.message,
    ).toBe(
      "tracks[0].clips[1]: a 1 s crossfade starts the clip 1 s before tracks[0].clips[0] ends, at 3 s; it starts at 3.5 s",
    );
  });

  it("needs lengths for images and text, and text the fonts can draw", () => {
    const text = (t: string) => ({ asset: { type: "text", text: t }, start_sec: 0, length_sec: 2 });
    expect(
      problems({
        inputs,
        outputs: [composition([{ clips: [{ asset: { type: "image", input: "a" }, start_sec: 0 }] }])],
      }),
    ).toEqual([
      {
        path: "outputs.0.tracks.0.clips.0.length_sec",
        message: "tracks[0].clips[0]: an image clip needs length_sec",
        code: "composition_invalid",
      },
    ]);
    expect(problems({ inputs, outputs: [composition([{ clips: [text("שלום مرحبا Привет")] }])] })).toEqual(
      [],
    );
    expect(problems({ inputs, outputs: [composition([{ clips: [text("party 🎉")] }])] })[0]?.message).toBe(
      "tracks[0].clips[0]: text holds emoji 🎉 (U+1F389): text clips render no emoji",
    );
    expect(problems({ inputs, outputs: [composition([{ clips: [text("東京")] }])] })[0]?.message).toContain(
      "no installed font covers CJK",
    );
  });

  it("bounds every field and takes no filter strings", () => {
    const bad = problems({
      inputs,
      outputs: [
        composition([{ clips: [video("a", 0, { opacity: 2, filter: "drawtext=text=x" })] }], {
          canvas: { width: 1281, height: 720 },
        }),
      ],
    });
    expect(bad.map((b) => b.path)).toEqual(
      expect.arrayContaining([
        "outputs.0.canvas.width",
        "outputs.0.tracks.0.clips.0.opacity",
        "outputs.0.tracks.0.clips.0",
      ]),
    );
    expect(
      problems({
        inputs,
        outputs: [composition(Array.from({ length: 9 }, () => ({ clips: [video("a", 0)] })))],
      })[0]?.path,
    ).toBe("outputs.0.tracks");
    expect(
      problems({
        inputs: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`i${i}`, upload(1)])),
        outputs: [],
      }).map((p) => p.message),
    ).toContain("at most 16 inputs per job");
  });

  it("takes exactly one of input and inputs; several inputs carry edits only", () => {
    expect(
      problems({ input: upload(1), inputs, outputs: [composition([{ clips: [video("a", 0)] }])] })[0]
        ?.message,
    ).toBe("give input or inputs, not both");
    expect(problems({ inputs, outputs: [{ name: "v", type: "video", video: {} }] })[0]?.path).toBe(
      "outputs.0.type",
    );
  });

  it("checks a highlight reel's input and segment bounds", () => {
    expect(
      problems({
        input: upload(1),
        outputs: [{ name: "reel", type: "highlight_reel", segments: 3, total_sec: 30 }],
      }),
    ).toEqual([]);
    expect(problems({ inputs, outputs: [{ name: "reel", type: "highlight_reel" }] })[0]?.message).toBe(
      "names no input; the job has several (a, b, music)",
    );
    expect(
      problems({
        inputs,
        outputs: [{ name: "reel", type: "highlight_reel", input: "a", container: "webm" }],
      }),
    ).toEqual([]);
  });

  it("refuses accel gpu for an edit, which is rendered on the CPU, naming the field", () => {
    const edit = composition([{ clips: [video("a", 0)] }]);
    expect(problems({ inputs, outputs: [edit], accel: "gpu" })).toEqual([
      expect.objectContaining({ path: "accel", message: expect.stringContaining("rendered on the CPU") }),
    ]);
    expect(problems({ inputs, outputs: [edit], accel: "cpu" })).toEqual([]);
    expect(problems({ inputs, outputs: [edit] })).toEqual([]);
  });
});
