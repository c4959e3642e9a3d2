import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jobSpecSchema } from "@framewire/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CliError, exitCodes } from "./exit-codes";
import { readSpecFile, uploadSpecFiles } from "./spec-file";

let dir: string;

const composition = {
  name: "edit",
  type: "composition",
  canvas: { width: 1280, height: 720 },
  tracks: [
    { clips: [{ asset: { type: "image", input: "logo" }, start_sec: 0, length_sec: 6, fit: "none" }] },
    {
      clips: [
        { asset: { type: "video", input: "a", trim: { start_sec: 0, end_sec: 4 } }, start_sec: 0 },
        {
          asset: { type: "video", input: "b", trim: { start_sec: 0, end_sec: 3 } },
          start_sec: 3.5,
          transition: { in: "crossfade" },
        },
      ],
    },
  ],
  soundtrack: { input: "music", duck: 12 },
};

async function specFile(name: string, spec: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, typeof spec === "string" ? spec : JSON.stringify(spec));
  return path;
}

async function refusal(promise: Promise<unknown>): Promise<CliError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CliError);
  expect((error as CliError).exitCode).toBe(exitCodes.usage);
  return error as CliError;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "fw-spec-"));
  for (const f of ["a.mp4", "b.mp4", "logo.png"]) await writeFile(join(dir, f), "x");
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("framewire submit --spec", () => {
  it("uploads the local files a composition names (relative to the spec) and keeps URLs and input objects", async () => {
    const path = await specFile("edit.json", {
      inputs: {
        a: "a.mp4",
        b: join(dir, "b.mp4"),
        logo: { type: "url", url: "https://example.com/logo.png" },
        music: "https://example.com/bed.mp3",
      },
      outputs: [composition],
    });
    const file = await readSpecFile(path);
    expect(file.files).toEqual([
      { at: "inputs.a", path: join(dir, "a.mp4") },
      { at: "inputs.b", path: join(dir, "b.mp4") },
    ]);
    const uploaded: string[] = [];
    const spec = await uploadSpecFiles(file, async (p) => {
      uploaded.push(p);
      return `upl_${String(uploaded.length).padStart(26, "0")}`;
    });
    expect(uploaded).toEqual([join(dir, "a.mp4"), join(dir, "b.mp4")]);
    expect(spec.inputs).toEqual({
      a: { type: "upload", upload_id: `upl_${"1".padStart(26, "0")}` },
      b: { type: "upload", upload_id: `upl_${"2".padStart(26, "0")}` },
      logo: { type: "url", url: "https://example.com/logo.png" },
      music: { type: "url", url: "https://example.com/bed.mp3" },
    });
    // What is sent is a valid job spec by the same schema the edge applies.
    expect(jobSpecSchema.safeParse(spec).success).toBe(true);
  });

  it("takes a single local input too", async () => {
    const path = await specFile("one.json", {
      input: "a.mp4",
      outputs: [{ name: "small", type: "video", video: { height: 360 } }],
    });
    const spec = await uploadSpecFiles(await readSpecFile(path), async () => `upl_${"7".repeat(26)}`);
    expect(spec.input).toEqual({ type: "upload", upload_id: `upl_${"7".repeat(26)}` });
  });

  it("uploads local subtitle files beside the input, keeping their language and label", async () => {
    await writeFile(join(dir, "en.srt"), "1\n00:00:01,000 --> 00:00:02,000\nhi\n");
    const path = await specFile("subs.json", {
      input: "a.mp4",
      subtitles: {
        en: { input: "en.srt", language: "eng", label: "English" },
        fr: { input: "https://example.com/fr.vtt" },
      },
      outputs: [
        {
          name: "small",
          type: "video",
          video: { height: 360 },
          subtitles: [
            { input: "en", mode: "burn" },
            { input: "fr", mode: "track" },
          ],
        },
      ],
    });
    const uploaded: string[] = [];
    const spec = await uploadSpecFiles(await readSpecFile(path), async (file) => {
      uploaded.push(file);
      return `upl_${String(uploaded.length).repeat(26)}`;
    });
    expect(uploaded).toEqual([join(dir, "a.mp4"), join(dir, "en.srt")]);
    expect(spec.subtitles).toEqual({
      en: {
        input: { type: "upload", upload_id: `upl_${"2".repeat(26)}` },
        language: "eng",
        label: "English",
      },
      fr: { input: { type: "url", url: "https://example.com/fr.vtt" } },
    });
    expect(jobSpecSchema.safeParse(spec).success).toBe(true);
  });

  it("refuses an invalid spec before uploading anything, naming each problem", async () => {
    const path = await specFile("bad.json", {
      inputs: { a: "a.mp4", b: "missing.mp4", logo: "logo.png" },
      outputs: [composition],
    });
    const error = await refusal(readSpecFile(path));
    // The soundtrack names an input the job lacks; the composition rule says so at its path.
    expect(error.message).toMatch(/input 'music' is not one of the job's inputs/);
    expect(error.message).toContain(`inputs.b: no such file: ${join(dir, "missing.mp4")}`);
  });

  it("refuses a file that is not JSON, not an object, or missing", async () => {
    expect((await refusal(readSpecFile(await specFile("broken.json", "{ nope")))).message).toMatch(
      /cannot read spec/,
    );
    expect((await refusal(readSpecFile(await specFile("list.json", [1])))).message).toMatch(
      /must be a JSON object/,
    );
    expect((await refusal(readSpecFile(join(dir, "absent.json")))).message).toMatch(/no such file/);
  });
});
