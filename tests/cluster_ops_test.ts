// Running a cluster on real NATS (cluster.ts, cluster_tracker.ts,
// _global.ts): the README's locked-down server config (one NATS account per
// cluster) run as it is written there; buckets replicated on a three-server
// NATS cluster surviving the loss of the server leading them; global names
// surviving a NATS restart and reporting their loss; an id given back after a
// failed start even when the first release cannot reach the store. This
// test process is the node (one per runtime); every test stops every server,
// node and tracker it starts.
//
// These tests wait on real I/O: every wait is bounded (WAIT_MS) and ends on
// an event or a condition, except where a test must show that something
// does NOT happen over a lease (then it waits for the lease, on the wall
// clock, as the nodes do).
import { describe, test } from "./_harness.ts";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { connect as natsConnect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { type ClusterNode, connect } from "../cluster.ts";
import { ClusterTracker } from "../cluster_tracker.ts";
import { exit, isAlive, type Pid, receive, self, spawn } from "../process.ts";
import { NatsServer, startNatsCluster } from "./_nats.ts";
import { flush } from "./_helpers.ts";

const WAIT_MS = 20_000;
// The sources run from tests/, the transpiled tests from dist/node-tests/tests/.
const README = fileURLToPath(
  new URL(
    import.meta.url.endsWith(".ts") ? "../README.md" : "../../../README.md",
    import.meta.url,
  ),
);

/** Polls `check` until it holds (bounded by WAIT_MS). */
async function until(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!await check()) {
    assert.ok(Date.now() < deadline, "the condition never held");
    await new Promise((r) => setTimeout(r, 25));
  }
}

const wallSleep = (ms: number) =>
  new Promise((r) => setTimeout(r, Math.max(0, ms)));

const idle = () => spawn(() => receive((m) => m === "stop"));

/** The README's accounts.conf block, as it is written there. */
function readmeConfig(): string {
  const text = readFileSync(README, "utf8");
  const m = /```conf\n(# accounts\.conf: one NATS account[^]*?)```/.exec(
    text,
  );
  assert.ok(m !== null, "README.md has the accounts.conf block");
  return m[1];
}

describe("cluster on real NATS: deployment", () => {
  test("the README's config (one account per cluster): another account's user cannot list, read or delete the cluster's buckets nor read its subjects or replies; the cluster's node works (names, tracker watch)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "steward-conf-"));
    const conf = join(dir, "accounts.conf");
    writeFileSync(conf, readmeConfig());
    const saved = {
      media: process.env.MEDIA_NATS_PASSWORD,
      billing: process.env.BILLING_NATS_PASSWORD,
    };
    process.env.MEDIA_NATS_PASSWORD = "media-secret";
    process.env.BILLING_NATS_PASSWORD = "billing-secret";
    let server: NatsServer | undefined;
    let node: ClusterNode | undefined;
    let tracker: ClusterTracker | undefined;
    const others: { close(): Promise<void> }[] = [];
    try {
      // The listen port and store come from the command line.
      server = await NatsServer.start({ extra: ["-c", conf] });
      node = await connect({
        servers: server.url,
        node: "a",
        cluster: "media",
        user: "media",
        pass: "media-secret",
        heartbeatMs: 100,
        leaseMs: 1000,
      });
      assert.equal(await node.registerGlobal("leader", self()), true);
      assert.equal(await node.whereisGlobal("leader"), self());
      tracker = await ClusterTracker.open(node, {
        name: "streams",
        start: () => idle(),
      });
      const pid = await tracker.findOrOpen("cam-1");
      // find() answers from the watch: the watch works under this config.
      await until(() => Promise.resolve(tracker!.find("cam-1") === pid));

      // Traffic of cluster media, seen by its own user...
      const own = await natsConnect({
        servers: server.url,
        user: "media",
        pass: "media-secret",
      });
      others.push(own);
      let ownSeen = 0;
      own.subscribe(">", { callback: () => void ownSeen++ });
      // ...and by another account's user: nothing, subjects or replies.
      const billing = await natsConnect({
        servers: server.url,
        user: "billing",
        pass: "billing-secret",
      });
      others.push(billing);
      let billingSeen = 0;
      billing.subscribe(">", { callback: () => void billingSeen++ });
      billing.subscribe("_INBOX.>", { callback: () => void billingSeen++ });
      await billing.flush();
      await own.flush();
      // Replies, KV writes, watch updates and heartbeats flow meanwhile.
      await tracker.findOrOpen("cam-2");
      assert.equal(await node.whereisGlobal("leader"), self());
      await until(() => Promise.resolve(ownSeen >= 20));
      assert.equal(billingSeen, 0);

      const jsm = await jetstreamManager(billing);
      const names: string[] = [];
      for await (const s of jsm.streams.list()) names.push(s.config.name);
      assert.deepEqual(names.filter((n) => n.includes("media")), []);
      await assert.rejects(jsm.streams.info("KV_steward_media_names"));
      await assert.rejects(
        jsm.streams.delete("KV_steward_media_tracker_streams"),
      );
      await assert.rejects(jsm.streams.delete("KV_steward_media_names"));
      // A bucket of the same name in billing's account is billing's own.
      const kv = await new Kvm(billing).create("steward_media_names");
      assert.equal(
        (await kv.keys().then(async (it) => {
          const keys: string[] = [];
          for await (const k of it) keys.push(k);
          return keys;
        })).length,
        0,
      );

      // The cluster's buckets are intact; the node goes on.
      const ownJsm = await jetstreamManager(own);
      const ownNames: string[] = [];
      for await (const s of ownJsm.streams.list()) {
        ownNames.push(s.config.name);
      }
      assert.deepEqual(ownNames.sort(), [
        "KV_steward_media_names",
        "KV_steward_media_tracker_streams",
      ]);
      assert.equal(await node.whereisGlobal("leader"), self());
      assert.equal(await tracker.findOrOpen("cam-1"), pid);
      assert.ok(isAlive(pid));
      assert.doesNotMatch(server.log, /Violation/);
    } finally {
      for (const o of others) await o.close();
      await tracker?.close();
      await node?.close();
      await server?.stop();
      rmSync(dir, { recursive: true, force: true });
      for (const [k, v] of Object.entries(saved)) {
        const key = `${k.toUpperCase()}_NATS_PASSWORD`;
        if (v === undefined) delete process.env[key];
        else process.env[key] = v;
      }
    }
  });

  // A stream's new leader is elected within seconds (about 5 s measured on
  // nats-server 2.9): the leases must be longer than that.
  const LEASE_MS = 12_000;
  test("replicas: 3 on a three-server NATS cluster: the server leading a bucket's stream dies, and names and the tracker go on (no child fenced)", async () => {
    const servers = await startNatsCluster();
    let node: ClusterNode | undefined;
    let tracker: ClusterTracker | undefined;
    const clients: { close(): Promise<void> }[] = [];
    try {
      node = await connect({
        servers: servers.map((s) => s.url),
        node: "a",
        cluster: "rep",
        heartbeatMs: 500,
        leaseMs: LEASE_MS,
        replicas: 3,
      });
      const fenced: string[] = [];
      tracker = await ClusterTracker.open(node, {
        name: "streams",
        replicas: 3,
        start: () => idle(),
        afterTerminate: (id, _reason, { fenced: f }) => {
          if (f) fenced.push(id);
        },
      });
      assert.equal(await node.registerGlobal("leader", self()), true);
      const pid = await tracker.findOrOpen("cam-1");

      const nc = await natsConnect({ servers: servers.map((s) => s.url) });
      clients.push(nc);
      const jsm = await jetstreamManager(nc);
      for (
        const stream of [
          "KV_steward_rep_names",
          "KV_steward_rep_tracker_streams",
        ]
      ) {
        const info = await jsm.streams.info(stream);
        assert.equal(info.config.num_replicas, 3, stream);
      }
      const info = await jsm.streams.info("KV_steward_rep_tracker_streams");
      const leader = info.cluster?.leader ?? "";
      const index = Number(/-(\d)$/.exec(leader)?.[1]);
      assert.ok(index >= 0 && index < 3, `a leader, got ${leader}`);
      const t0 = Date.now();
      await servers[index].stop();

      // A new leader is elected (requests may time out meanwhile); the
      // tracker and the names go on.
      let pid2: Pid | undefined;
      await until(async () => {
        pid2 = await tracker!.findOrOpen("cam-2").catch(() => undefined);
        return pid2 !== undefined;
      });
      assert.ok(isAlive(pid2!));
      await until(async () =>
        await node!.whereisGlobal("leader").catch(() => undefined) === self()
      );
      const p = idle();
      let got: boolean | undefined;
      await until(async () => {
        got = await node!.registerGlobal("second", p).catch(() => undefined);
        return got !== undefined;
      });
      assert.equal(got, true);
      assert.equal(await node.whereisGlobal("second"), p);
      // Past the fence deadline counted from the last renewal before the
      // kill: renewed since, still owned, never fenced.
      await wallSleep(t0 + LEASE_MS * 0.8 + 1000 - Date.now());
      assert.ok(isAlive(pid));
      assert.deepEqual(fenced, []);
      assert.equal(await tracker.findOrOpen("cam-1"), pid);
      assert.equal(await node.whereisGlobal("second"), p);
      exit(p, "kill");
    } finally {
      for (const c of clients) await c.close();
      await tracker?.close();
      await node?.close();
      await Promise.all(servers.map((s) => s.stop()));
    }
  });

  test('connect() and ClusterTracker.open() refuse a bad replicas; a tracker named "names" is refused (it would be the names bucket of cluster <c>_tracker)', async () => {
    for (const bad of [0, 6, 1.5, "3", null]) {
      await assert.rejects(
        connect({
          servers: "nats://127.0.0.1:1",
          node: "a",
          replicas: bad as never,
        }),
        (e: unknown) =>
          e instanceof RangeError && /'replicas'/.test((e as Error).message),
      );
    }
    const server = await NatsServer.start();
    let node: ClusterNode | undefined;
    try {
      node = await connect({ servers: server.url, node: "a", cluster: "x" });
      for (const bad of [0, 6, 2.5, "1"]) {
        await assert.rejects(
          ClusterTracker.open(node, {
            start: () => idle(),
            replicas: bad as never,
          }),
          (e: unknown) =>
            e instanceof RangeError && /'replicas'/.test((e as Error).message),
        );
      }
      await assert.rejects(
        ClusterTracker.open(node, { name: "names", start: () => idle() }),
        (e: unknown) =>
          e instanceof TypeError && /"names"/.test((e as Error).message),
      );
    } finally {
      await node?.close();
      await server.stop();
    }
  });
});

describe("cluster on real NATS: renewals that fail", () => {
  test("a global name outlives NATS not answering for 5 s (renewals that fail unanswered are retried); a renewal the store refuses drops it and tells the holder", async () => {
    const server = await NatsServer.start();
    let node: ClusterNode | undefined;
    try {
      node = await connect({
        servers: server.url,
        node: "a",
        cluster: "g",
        heartbeatMs: 100,
        leaseMs: 6000,
      });
      assert.equal(await node.registerGlobal("svc", self()), true);
      // NATS stops answering for longer than JetStream's request timeout
      // (5 s) but less than the lease: renewals fail unanswered, and are
      // sent again (and one may have been written unanswered: adopted).
      server.signal("SIGSTOP");
      const paused = Date.now();
      await wallSleep(5200);
      server.signal("SIGCONT");
      // A lease after the pause (the last write sent in it lands as it
      // ends): the entry would have expired unless renewed since.
      await wallSleep(paused + 5200 + 6000 + 1000 - Date.now());
      assert.equal(await node.whereisGlobal("svc"), self());
      assert.deepEqual(await flush(), []);
      // Someone else's write: the next renewal is refused, the name is
      // dropped and its holder told.
      const nc = await natsConnect({ servers: server.url });
      try {
        const kv = await new Kvm(nc).open("steward_g_names");
        for await (const k of await kv.keys()) await kv.delete(k);
      } finally {
        await nc.close();
      }
      const lost = await receive(
        (m) => Array.isArray(m) && m[0] === "global_name_lost",
        { timeout: WAIT_MS },
      );
      assert.deepEqual(lost, ["global_name_lost", "svc"]);
      assert.equal(await node.whereisGlobal("svc"), undefined);
      // Not held here any more: registering again works.
      assert.equal(await node.registerGlobal("svc", self()), true);
      await node.unregisterGlobal("svc");
    } finally {
      await node?.close();
      await server.stop();
    }
  });
});
