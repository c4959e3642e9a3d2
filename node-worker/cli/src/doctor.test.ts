import type { HealthDetailed } from "@framewire/shared";
import { describe, expect, it } from "vitest";
import { diagnoseHealth, formatFindings } from "./doctor";

/** What `framewire doctor` says about one answer of /v1/health/detailed (the real thing: test/e2e/doctor). */

const now = Date.parse("2024-05-01T12:00:00.000Z");
type NodeEntry = Extract<HealthDetailed["nodes"], { list: unknown }>["list"][number];

const node = (overrides: Partial<NodeEntry> = {}): NodeEntry => ({
  id: "node-1",
  pools: ["cpu"],
  engine: "native",
  encoders: ["libx264", "aac"],
  hardware: [],
  hardware_encoders: [],
  hardware_errors: {},
  slots: { total: 2, busy: 0 },
  version: "0.1.0",
  versions: { ffmpeg: "5.1.6" },
  disk: { free_bytes: 50 * 1024 ** 3, size_bytes: 100 * 1024 ** 3 },
  memory: { total_bytes: 8e9, available_bytes: 4e9, rss_bytes: 3e8 },
  clock_skew_ms: 12,
  storage: { ok: true, at: new Date(now).toISOString() },
  accepting: true,
  refusing_reason: null,
  at: new Date(now - 2_000).toISOString(),
  ...overrides,
});

const healthy = (overrides: Partial<HealthDetailed> = {}, nodes = [node()]): HealthDetailed => ({
  status: "ok",
  version: "0.1.0",
  time: new Date(now).toISOString(),
  database: { ok: true, latency_ms: 1 },
  storage: { ok: true, kind: "local", latency_ms: 2 },
  nats: { ok: true, detail: "rtt 1 ms, 0 queued", latency_ms: 1 },
  queue_depth: { "cpu.default": 0 },
  queue_oldest_age_sec: {},
  outbox_backlog: 0,
  queue_store: { bytes: 0, max_bytes: 1024 ** 3 },
  nodes: { active: nodes.length, busy: 0, idle: nodes.length, slots: { total: 2, busy: 0 }, list: nodes },
  dead_letters: { ok: true, count: 0 },
  versions: { edge: "0.1.0", nodes: ["0.1.0"] },
  ...overrides,
});

const problems = (health: HealthDetailed) =>
  diagnoseHealth(health, now).filter((f) => f.severity === "problem");

describe("framewire doctor's diagnosis", () => {
  it("finds nothing wrong with a healthy deployment, and says what it saw", () => {
    const findings = diagnoseHealth(healthy(), now);
    expect(findings.filter((f) => f.severity !== "ok")).toEqual([]);
    expect(findings.find((f) => f.check === "node node-1")?.what).toMatch(/native engine \(FFmpeg 5\.1\.6\)/);
  });

  it("names each broken part with its fix", () => {
    const broken = healthy(
      {
        database: { ok: false, detail: "SQLITE_CANTOPEN" },
        nats: { ok: false, detail: "no answer within 5000 ms" },
        storage: {
          ok: false,
          kind: "s3",
          detail: "NoSuchBucket: HTTP 404: The specified bucket does not exist",
        },
        queue_oldest_age_sec: { "cpu.default": 900, "gpu.high": 30 },
        queue_store: { bytes: 900, max_bytes: 1000 },
      },
      [
        node({ id: "gpu-1", pools: ["gpu", "cpu"], hardware_errors: { cuda: "Cannot load libcuda.so.1" } }),
        node({
          id: "full-1",
          accepting: false,
          refusing_reason: "the temp disk has 3 MiB free, below FW_MIN_FREE_DISK_MB=1024",
          disk: { free_bytes: 3 * 1024 ** 2, size_bytes: 8 * 1024 ** 2 },
        }),
        node({ id: "s3-1", storage: { ok: false, detail: "InvalidAccessKeyId: HTTP 403", at: "x" } }),
        node({ id: "late-1", clock_skew_ms: -7_400, at: new Date(now - 40_000).toISOString() }),
      ],
    );
    const found = problems(broken);
    const by = (check: string) => found.filter((f) => f.check === check);
    expect(by("database")[0]?.fix).toMatch(/framewire restore/);
    expect(by("nats")[0]?.fix).toMatch(/start nats-server/);
    expect(by("storage")[0]?.fix).toMatch(/create the bucket or correct FW_S3_BUCKET/);
    expect(by("queue store")).toHaveLength(1);
    expect(by("queue cpu.default")[0]?.what).toMatch(/900 s/);
    expect(by("queue gpu.high")).toEqual([]);
    expect(by("node gpu-1")[0]).toMatchObject({
      what: expect.stringContaining("cuda: Cannot load libcuda.so.1"),
      fix: expect.stringContaining("FW_POOLS"),
    });
    expect(by("node full-1")[0]?.what).toMatch(/takes no new jobs: the temp disk has 3 MiB free/);
    expect(by("node s3-1")[0]?.fix).toMatch(/FW_S3_ACCESS_KEY_ID/);
    expect(by("node late-1").map((f) => f.what)).toEqual([
      expect.stringMatching(/last heartbeat is 40 s old/),
      expect.stringMatching(/clock is -7\.4 s off/),
    ]);
    for (const f of found) expect(f.fix, f.check).toMatch(/\w/);
  });

  it("says when no node runs, or none serves a pool jobs wait in", () => {
    expect(problems(healthy({ queue_oldest_age_sec: { "cpu.default": 5 } }, []))[0]).toMatchObject({
      check: "nodes",
      what: expect.stringContaining("no processing node is running, and jobs are waiting (cpu.default)"),
    });
    expect(problems(healthy({ queue_oldest_age_sec: { "gpu.default": 5 } }))[0]).toMatchObject({
      check: "queue gpu.default",
      fix: expect.stringContaining("FW_POOLS=gpu,cpu"),
    });
  });

  it("prints one line per finding and the fix under each problem", () => {
    const text = formatFindings(diagnoseHealth(healthy({ database: { ok: false, detail: "gone" } }), now));
    expect(text).toMatch(/^FAIL {2}database: the edge cannot use its database: gone\n {6}fix: /m);
    expect(text.trim().split("\n").at(-1)).toMatch(/^1 problem\(s\)/);
  });
});
