import { EngineError } from "@framewire/native";
import { describe, expect, it } from "vitest";
import { InputFetchError } from "./inputs/safe-fetch";
import { redactPaths, toJobFailure } from "./job-failure";

const workDir = "/var/lib/framewire/work/job_01jbcdefghjkmnpqrstvwxyz00-1";

describe("what a tenant reads about a failed run", () => {
  it("names files by their place in the job, and no other path of the node", () => {
    const detail =
      `[hls @ 0x55d] Failed to open segment 3 of playlist: ${workDir}/input\n` +
      "[hls @ 0x55d] Opening '/var/lib/framewire/storage/ten_other/uploads/upl_x' for reading refused";
    const failure = toJobFailure(
      new EngineError("INPUT_UNREADABLE", `could not read ${workDir}/input`, detail),
      workDir,
    );
    expect(failure.jobError.code).toBe("input_unreadable");
    expect(failure.jobError.message).toBe("could not read input");
    expect(failure.jobError.detail).toContain("playlist: input");
    expect(failure.jobError.detail).toContain("Opening '<path>' for reading refused");
    expect(JSON.stringify(failure.jobError)).not.toMatch(/\/var\/|framewire\/|ten_other/);
  });

  it("keeps what is the tenant's own: URLs, hosts of their inputs, ratios and times", () => {
    expect(redactPaths("https://media.example/a/b.mp4 answered HTTP 404", workDir)).toBe(
      "https://media.example/a/b.mp4 answered HTTP 404",
    );
    expect(redactPaths("frame rate 30000/1001 at 00:00:01.00", workDir)).toBe(
      "frame rate 30000/1001 at 00:00:01.00",
    );
  });

  it("keeps the code and whether retrying can help", () => {
    const timeout = toJobFailure(
      new InputFetchError("fetching media.example took too long", "timeout"),
      workDir,
    );
    expect(timeout).toMatchObject({ retryable: true, jobError: { code: "input_unavailable" } });
    const refused = toJobFailure(
      new InputFetchError("x does not resolve to public addresses only", "private_address"),
      workDir,
    );
    expect(refused.retryable).toBe(false);
  });
});
