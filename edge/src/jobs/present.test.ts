import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type JobRow, jobViewColumns } from "@framewire/shared/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testConfig } from "../../../test/support/edge-harness";
import { createLocalFileStore } from "../nodejs/local-file-store";
import { createLocalObjectStore } from "../storage/local-object-store";
import { newJobRow } from "./lifecycle";
import { presentJob } from "./present";

/**
 * A job's view is made from `jobViewColumns` and nothing else: the version trigger (migration 0010)
 * moves a job's version only for those, so a column the view read without being listed would leave
 * a cached view (and its ETag) stale after it changed.
 */

const config = testConfig();
let dir: string;
let deps: Parameters<typeof presentJob>[0];
const now = Date.parse("2026-12-01T12:00:00Z");

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "fw-present-"));
  deps = { config, storage: createLocalObjectStore(createLocalFileStore(dir), config) };
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A finished job with every column set, so that a change to any of them could show. */
function fullRow(): JobRow {
  const base = newJobRow({
    id: "job_01jz0000000000000000000000",
    tenantId: "ten_01jz0000000000000000000000",
    apiKeyId: "key_01jz0000000000000000000000",
    spec: {
      input: { type: "url", url: "https://media.example/in.mp4" },
      outputs: [{ name: "small", type: "video", video: { height: 240 } }],
      priority: "default",
    } as JobRow["spec"],
    requestId: "req-1",
    idempotencyKey: "idem-1",
    webhook: { url: "https://hooks.example/fw", events: ["job.succeeded"] },
    template: { id: "tpl_01jz0000000000000000000000", name: "small", version: 2 },
    batch: { id: "bat_01jz0000000000000000000000", index: 3 },
    now: now - 60_000,
  });
  return {
    ...base,
    status: "succeeded",
    attempts: 1,
    error: { code: "input_unreadable", message: "an earlier attempt's" },
    outputs: [
      {
        name: "small",
        type: "video",
        storage_key: "jobs/job_01jz0000000000000000000000/small.mp4",
        size_bytes: 1234,
        container: "mp4",
        duration_sec: 2,
        video: null,
        audio: null,
      },
    ],
    nodeId: "node-a",
    engine: "native",
    startedAt: now - 50_000,
    finishedAt: now - 40_000,
    dispatchedAt: now - 55_000,
    generation: 1,
    attemptBase: 1,
    progressWebhookAt: now - 45_000,
    releasedAt: now - 58_000,
    inputDurationSec: 2.5,
    inputSizeBytes: 99_000,
    computeMs: 1_500,
    version: 4,
    changeSeq: 10,
  };
}

/** Another value of the same kind for `value` (a time for a column still unset). */
function changed(value: unknown): unknown {
  if (value === null) return now - 1_000;
  if (typeof value === "number") return value + 1;
  if (typeof value === "string") return `${value}-changed`;
  if (Array.isArray(value)) return [...value, ...value];
  if (value && typeof value === "object")
    return { ...value, message: "changed", url: "https://other.example/" };
  throw new Error(`no other value for ${String(value)}`);
}

describe("a job's view", () => {
  it("changes with each of jobViewColumns and with no other column", async () => {
    const row = fullRow();
    const view = JSON.stringify(await presentJob(deps, row, now));
    const shown = new Set<string>(jobViewColumns);
    for (const key of Object.keys(row) as (keyof JobRow)[]) {
      const other = JSON.stringify(await presentJob(deps, { ...row, [key]: changed(row[key]) }, now));
      expect({ column: key, changesView: other !== view }).toEqual({
        column: key,
        changesView: shown.has(key),
      });
      if (!shown.has(key) && row[key] !== null) {
        const cleared = JSON.stringify(await presentJob(deps, { ...row, [key]: null }, now));
        expect({ column: key, clearedChangesView: cleared !== view }).toEqual({
          column: key,
          clearedChangesView: false,
        });
      }
    }
  });
});
