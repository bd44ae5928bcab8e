// The test servers of tests/_nats.ts, and the NATS client the cluster uses,
// on this runtime: a JetStream server on a free loopback port, a KV bucket
// whose `create` refuses an existing key (what global names rely on), and a
// three-server NATS cluster whose servers route messages to each other.
import { describe, test } from "./_harness.ts";
import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { Kvm } from "@nats-io/kv";
import { NatsServer, startNatsCluster } from "./_nats.ts";

describe("test NATS servers", () => {
  test("NatsServer.start() runs a JetStream server; KV create refuses an existing key", async () => {
    const server = await NatsServer.start();
    try {
      const nc = await connect({ servers: server.url });
      try {
        const kv = await new Kvm(nc).create("steward_test", { history: 1 });
        await kv.create("name", "a");
        await assert.rejects(kv.create("name", "b"));
        assert.equal((await kv.get("name"))?.string(), "a");
      } finally {
        await nc.close();
      }
    } finally {
      await server.stop();
    }
  });

  test("startNatsCluster() runs three routed servers: a message crosses them", async () => {
    const servers = await startNatsCluster();
    try {
      const a = await connect({ servers: servers[0].url });
      const c = await connect({ servers: servers[2].url });
      try {
        const sub = c.subscribe("hello", { max: 1 });
        await c.flush();
        // Route interest propagates asynchronously: publish until it lands.
        const got = (async () => {
          for await (const m of sub) return m.string();
        })();
        let answer: string | undefined;
        got.then((s) => answer = s);
        for (let i = 0; i < 100 && answer === undefined; i++) {
          a.publish("hello", "from a");
          await new Promise((r) => setTimeout(r, 50));
        }
        assert.equal(await got, "from a");
        const kv = await new Kvm(a).create("steward_test", { replicas: 3 });
        await kv.put("k", "v");
        // Reads of a replicated bucket may be served by a replica that is
        // not caught up yet (direct get): the write shows within a moment.
        let read: string | undefined;
        for (let i = 0; i < 100 && read !== "v"; i++) {
          read = (await kv.get("k"))?.string();
          if (read !== "v") await new Promise((r) => setTimeout(r, 20));
        }
        assert.equal(read, "v");
      } finally {
        await a.close();
        await c.close();
      }
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
  });
});
