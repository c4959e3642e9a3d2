import { describe, expect, it } from "vitest";
import { isSafeStorageKey, storageKeys } from "./storage-keys";

describe("storage keys", () => {
  it("namespaces objects by tenant and job", () => {
    expect(storageKeys.output("ten_a", "job_b", "480p", "mp4")).toBe("ten_a/jobs/job_b/480p.mp4");
    expect(storageKeys.upload("ten_a", "upl_c")).toBe("ten_a/uploads/upl_c");
  });

  it("puts the files of a multi-file output under a folder named after it", () => {
    expect(storageKeys.outputFile("ten_a", "job_b", "ladder", "720p/seg_00001.ts")).toBe(
      "ten_a/jobs/job_b/ladder/720p/seg_00001.ts",
    );
    for (const bad of ["../x", "a/../b", "/abs", "a//b", ".hidden", "a/b/c/d/e"]) {
      expect(() => storageKeys.outputFile("ten_a", "job_b", "ladder", bad), bad).toThrow(/unsafe/);
    }
    expect(isSafeStorageKey(storageKeys.outputFile("ten_a", "job_b", "t", "thumb-0001.jpg"))).toBe(true);
  });

  it("refuses segments that could escape the prefix", () => {
    expect(() => storageKeys.output("ten_a", "job_b", "../../x", "mp4")).toThrow(/unsafe/);
    expect(() => storageKeys.upload("..", "upl_c")).toThrow(/unsafe/);
    for (const key of ["../etc/passwd", "a/../../b/c", "/abs/a/b", "a//b", "a/b"])
      expect(isSafeStorageKey(key), key).toBe(false);
    expect(isSafeStorageKey("ten_a/jobs/job_b/480p.mp4")).toBe(true);
  });
});
