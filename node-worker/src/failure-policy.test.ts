import type { JobError } from "@framewire/shared";
import { describe, expect, it } from "vitest";
import { decideFailure, type FailureFacts, retryDelayMs } from "./failure-policy";

const engineFailure: JobError = { code: "engine_failure", message: "boom" };
const canceled: JobError = { code: "canceled", message: "stopped" };
const unreadable: JobError = { code: "input_unreadable", message: "not media" };

const facts = (over: Partial<FailureFacts>): FailureFacts => ({
  error: engineFailure,
  retryable: true,
  canceledByRequest: false,
  draining: false,
  attempt: 1,
  maxDeliver: 5,
  ...over,
});

describe("what a failed delivery means", () => {
  it("hands a run stopped by a drain back at once, without counting it as a failure", () => {
    expect(decideFailure(facts({ error: canceled, retryable: false, draining: true }))).toEqual({
      action: "hand-back",
      reason: expect.stringContaining("shut down"),
    });
  });

  it("reports a run stopped by a cancel request as canceled, even while draining", () => {
    expect(decideFailure(facts({ error: canceled, canceledByRequest: true }))).toEqual({
      action: "canceled",
    });
    expect(decideFailure(facts({ error: canceled, canceledByRequest: true, draining: true }))).toEqual({
      action: "canceled",
    });
  });

  it("retries a retryable failure while deliveries are left, with a growing delay", () => {
    const first = decideFailure(facts({ attempt: 1 }));
    const third = decideFailure(facts({ attempt: 3 }));
    expect(first).toMatchObject({ action: "retry", delayMs: 1_000 });
    expect(third).toMatchObject({ action: "retry", delayMs: 4_000 });
    expect(retryDelayMs(20)).toBe(60_000);
  });

  it("dead-letters a retryable failure on the last delivery", () => {
    expect(decideFailure(facts({ attempt: 5, maxDeliver: 5 }))).toEqual({ action: "fail", deadLetter: true });
  });

  it("fails a permanent failure at once, without a dead letter (retrying can't help)", () => {
    expect(decideFailure(facts({ error: unreadable, retryable: false, attempt: 1 }))).toEqual({
      action: "fail",
      deadLetter: false,
    });
  });

  it("fails a permanent failure even while draining (only stopped runs are handed back)", () => {
    expect(decideFailure(facts({ error: unreadable, retryable: false, draining: true }))).toEqual({
      action: "fail",
      deadLetter: false,
    });
  });
});
