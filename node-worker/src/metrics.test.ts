import { Registry } from "prom-client";
import { afterAll, describe, expect, it } from "vitest";
import { createNodeMetrics, type MetricsServer, startMetricsServer } from "./metrics";

describe("a node's /metrics", () => {
  const token = "t".repeat(20);
  let server: MetricsServer | null = null;
  afterAll(() => server?.close());

  const metrics = createNodeMetrics({
    version: "0.1.0",
    engine: "native",
    versions: { libavcodec: "59.37.100", ffmpeg: "5.1.6" },
    pools: ["gpu", "cpu"],
    gauges: {
      slotsBusy: () => 1,
      slotsCapacity: 2,
      slotRss: async () => [
        { index: 0, rssBytes: 200 * 1024 ** 2 },
        { index: 1, rssBytes: null },
      ],
      slotMemoryLimitBytes: 1024 ** 3,
      tempDisk: () => ({ free_bytes: 5e9, size_bytes: 1e10 }),
      hardwareSessionsInUse: () => 0,
      hardwareEncodersOpen: 0,
      accepting: () => false,
      clockSkewMs: () => -1500,
      storageOk: () => true,
    },
  });

  it("answers only a scraper with the token (FW_METRICS_TOKEN)", async () => {
    server = await startMetricsServer({ registry: metrics.registry, host: "127.0.0.1", port: 0, token });
    const url = `http://127.0.0.1:${server.port}/metrics`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: `Bearer ${"u".repeat(20)}` } })).status).toBe(401);
    const ok = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain("fw_node_slots_busy 1");
    expect((await fetch(`http://127.0.0.1:${server.port}/other`)).status).toBe(404);
  });

  it("speaks in base units with bounded labels: outcomes and codes, output types, slots", async () => {
    metrics.attempt("failed", "resource_exhausted", "native", 12.5);
    metrics.attempt("succeeded", null, "native", 30);
    metrics.output("video", "native", 10, 40);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(
      /^fw_build_info\{service="node",version="0.1.0",engine="native",ffmpeg="5.1.6",libavcodec="59.37.100",/m,
    );
    expect(text).toMatch(/^fw_node_jobs_total\{outcome="failed",code="resource_exhausted"\} 1$/m);
    expect(text).toMatch(/^fw_node_jobs_total\{outcome="succeeded",code=""\} 1$/m);
    expect(text).toMatch(/^fw_node_media_seconds_total\{type="video",engine="native"\} 40$/m);
    // 40 media seconds in 10 wall seconds: 4× real time.
    expect(text).toMatch(/^fw_node_encode_speed_ratio_bucket\{le="4",type="video",engine="native"\} 1$/m);
    expect(text).toMatch(/^fw_node_encode_speed_ratio_bucket\{le="2",type="video",engine="native"\} 0$/m);
    expect(text).toMatch(/^fw_node_slot_rss_bytes\{slot="0"\} 209715200$/m);
    expect(text).not.toMatch(/fw_node_slot_rss_bytes\{slot="1"\}/);
    expect(text).toMatch(/^fw_node_pools\{pool="gpu"\} 1$/m);
    expect(text).toMatch(/^fw_node_accepting_jobs 0$/m);
    expect(text).toMatch(/^fw_node_clock_skew_seconds -1.5$/m);
    expect(text).toMatch(/^fw_node_temp_disk_free_bytes 5000000000$/m);
    expect(new Registry().contentType).toBe(metrics.registry.contentType);
  });
});
