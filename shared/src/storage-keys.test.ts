import { describe, expect, it } from "vitest";
import { isSafeStorageKey, storageKeys } from "./storage-keys";

describe("storage keys", () => {
  it("namespaces objects by tenant and job", () => {
    expect(storageKeys.output("ten_a", "job_b", "480p", "mp4")).toBe("ten_a/jobs/job_b/480p.mp4");
    expect(storageKeys.upload("ten_a", "upl_c")).toBe("ten_a/uploads/upl_c");
  });

  it("refuses segments that could escape the prefix", () => {
    expect(() => storageKeys.output("ten_a", "job_b", "../../x", "mp4")).toThrow(/unsafe/);
    expect(() => storageKeys.upload("..", "upl_c")).toThrow(/unsafe/);
    for (const key of ["../etc/passwd", "a/../../b/c", "/abs/a/b", "a//b", "a/b"])
      expect(isSafeStorageKey(key), key).toBe(false);
    expect(isSafeStorageKey("ten_a/jobs/job_b/480p.mp4")).toBe(true);
  });
});
