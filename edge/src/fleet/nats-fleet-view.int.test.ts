import { ensureKv, kvBuckets } from "@framewire/shared/nats";
import { Kvm } from "@nats-io/kv";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { heartbeatFixture } from "../../../test/support/heartbeat";
import { type NatsServer, startNatsServer } from "../../../test/support/nats-server";
import { createNatsFleetView } from "./nats-fleet-view";

/**
 * The heartbeats as the edge reads them (every submission asks, through a 2 s cache), on a real
 * nats-server with the heartbeat bucket.
 */

let nats: NatsServer;
let nc: NatsConnection;
beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
  await ensureKv(nc);
});
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

const heartbeat = (id: string, busy: number) => heartbeatFixture(id, { slots: { total: 1, busy } });

describe("the fleet's heartbeats", () => {
  it("lists the nodes while they keep beating (a busy fleet), leaving out deleted and unreadable ones", async () => {
    const kv = await new Kvm(nc).open(kvBuckets.nodes);
    await kv.put("gone", JSON.stringify(heartbeat("gone", 0)));
    await kv.delete("gone");
    await kv.put("stranger", "not a heartbeat");
    // Two nodes whose heartbeats move every few milliseconds, as they do while jobs start and end.
    let beating = true;
    const beats = (async () => {
      for (let i = 0; beating; i++) {
        await kv.put("node-a", JSON.stringify(heartbeat("node-a", i % 2)));
        await kv.put("node-b", JSON.stringify(heartbeat("node-b", (i + 1) % 2)));
      }
    })();
    await new Promise((r) => setTimeout(r, 200));
    const fleet = await createNatsFleetView(nc);
    // Asked three times in a row while the beats go on: each listing ends with both nodes. (The
    // KV key iterator this replaced ran until the bucket went quiet, holding every submission.)
    for (let i = 0; i < 3; i++) {
      const listed = await Promise.race([
        fleet.nodes(),
        new Promise<"still listing">((r) => setTimeout(() => r("still listing"), 5_000)),
      ]);
      expect(listed === "still listing" ? listed : listed.map((n) => n.id)).toEqual(["node-a", "node-b"]);
    }
    beating = false;
    await beats;
  });
});
