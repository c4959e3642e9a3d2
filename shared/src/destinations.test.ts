import { describe, expect, it } from "vitest";
import {
  destinationPathProblem,
  destinationPrefixProblem,
  expandDestinationPath,
  inputNameOf,
  isKeyInsidePrefix,
  safeToken,
} from "./destinations";

describe("destination paths", () => {
  it("accepts templates that stay inside the prefix and name each output", () => {
    for (const path of ["{job_id}/{output}", "{date}/{input}/{output}", "music/{input}-{output}"]) {
      expect(destinationPathProblem(path), path).toBeNull();
    }
  });

  it("refuses templates that could leave the prefix, collide or name unknown placeholders", () => {
    expect(destinationPathProblem("../{output}")).toMatch(/inside the prefix/);
    expect(destinationPathProblem("/{output}")).toMatch(/inside the prefix/);
    expect(destinationPathProblem("a//{output}")).toMatch(/inside the prefix/);
    expect(destinationPathProblem("a/./{output}")).toMatch(/inside the prefix/);
    expect(destinationPathProblem("{job_id}")).toMatch(/\{output\}/);
    expect(destinationPathProblem("{tenant}/{output}")).toMatch(/not a placeholder/);
    expect(destinationPrefixProblem("../x")).not.toBeNull();
    expect(destinationPrefixProblem("exports/2024/")).toBeNull();
  });

  it("reduces placeholder values to one safe segment, so no value adds a / or ..", () => {
    expect(safeToken("../../etc/passwd")).toBe("____etc_passwd");
    expect(safeToken("..")).toBe("_");
    const key = expandDestinationPath(
      { prefix: "out", path: "{input}/{output}" },
      { job_id: "job_1", output: "a", input: "../../x", date: "2026-01-01" },
    );
    expect(key).toBe("out/____x/a");
    expect(isKeyInsidePrefix("out", key)).toBe(true);
    expect(isKeyInsidePrefix("out", "other/a")).toBe(false);
  });

  it("names an input by its file name without the extension", () => {
    expect(inputNameOf({ type: "s3", key: "albums/one/track 01.flac" })).toBe("track_01");
    expect(inputNameOf({ type: "url", url: "https://m.example/a/b/clip.final.mp4?x=1" })).toBe("clip.final");
    expect(inputNameOf({ type: "upload", upload_id: "upl_1" })).toBe("upl_1");
  });
});
