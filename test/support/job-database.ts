import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type JobSpec, newId } from "@framewire/shared";
import { afterAll, beforeAll } from "vitest";
import type { Db } from "../../edge/src/db";
import type { NewJob } from "../../edge/src/jobs/lifecycle";
import { openDatabase } from "../../edge/src/nodejs/database";

/** A small valid job: one URL input, one audio output. */
export const audioJobSpec: JobSpec = {
  input: { type: "url", url: "https://media.example/in.mp4" },
  outputs: [{ name: "a", type: "audio", codec: "mp3", bitrate_kbps: 128 }],
  priority: "default",
  accel: "auto",
};

/**
 * A migrated libSQL file for the suite (made before its tests, removed after), opened as the edge
 * opens it. Read `.db` inside tests and hooks.
 */
export function useJobDatabase(prefix: string): { readonly db: Db } {
  let dir = "";
  let opened: { db: Db; close: () => void } | null = null;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
    opened = await openDatabase(`file:${join(dir, "edge.db")}`);
  });
  afterAll(async () => {
    opened?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return {
    get db() {
      if (!opened) throw new Error("the job database opens in beforeAll");
      return opened.db;
    },
  };
}

/** What createJob takes for a new job of `tenantId`, with `overrides` on top. */
export function newJobInput(tenantId: string, overrides: Partial<NewJob> = {}): NewJob {
  return {
    id: newId("job"),
    tenantId,
    spec: audioJobSpec,
    requestId: "req_test",
    idempotencyKey: null,
    now: Date.now(),
    ...overrides,
  };
}
