// Nodes on NATS (cluster.ts): this test process is one node, and the other
// nodes are separate OS processes (tests/fixtures/cluster_node.ts, run by the
// runtime under test) talking to a nats-server the test starts on a free
// loopback port. Every test stops every server, node and process it starts.
//
// These tests wait on real I/O (a NATS server, child processes): their
// waits are bounded by events (a line on stdout, a reply, a DOWN), and the
// node-loss ones by the lease (1.5 s here), never by a fixed sleep.
import { describe, test } from "./_harness.ts";
import assert from "node:assert/strict";
import { spawn as spawnOs } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { connect as natsConnect } from "@nats-io/transport-node";
import { type ClusterNode, connect } from "../cluster.ts";
import * as genServer from "../gen_server.ts";
import {
  demonitor,
  exit,
  link,
  monitor,
  type Pid,
  receive,
  self,
  send,
  spawn,
  unlink,
} from "../process.ts";
import { newRef } from "../_runtime.ts";
import { CallError, ClusterError, WireDecodeError } from "../errors.ts";
import { captureReports } from "../logger.ts";
import { connectedNode, MAX_UNHEARD_PEERS } from "../_node.ts";
import { NatsServer, startNatsCluster } from "./_nats.ts";
import { flush } from "./_helpers.ts";

const IS_DENO = (globalThis as { Deno?: unknown }).Deno !== undefined;
const FIXTURE = fileURLToPath(
  new URL(
    `./fixtures/cluster_node.${import.meta.url.endsWith(".ts") ? "ts" : "js"}`,
    import.meta.url,
  ),
);
/** The bound on every wait for a child (a hang fails, never hangs). */
const WAIT_MS = 20_000;
// A lease long enough that a loaded CI machine (test files of other
// runtimes in parallel, GC pauses) does not take a slow node for a dead one.
const LEASE_MS = 1500;
const HEARTBEAT_MS = 150;

/** A fixture node: a child OS process of this very runtime. */
class NodeProgram {
  stdout = "";
  stderr = "";
  readonly #child;
  readonly #exited: Promise<void>;
  #onOutput: (() => void) | null = null;

  constructor(servers: string, readonly name: string, cluster: string) {
    const rest = [servers, name, cluster, `${HEARTBEAT_MS}`, `${LEASE_MS}`];
    const args = IS_DENO ? ["run", "-A", FIXTURE, ...rest] : [FIXTURE, ...rest];
    this.#child = spawnOs(process.execPath, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
    });
    this.#child.stdout!.setEncoding("utf8");
    this.#child.stderr!.setEncoding("utf8");
    this.#child.stdout!.on("data", (s: string) => {
      this.stdout += s;
      this.#onOutput?.();
    });
    this.#child.stderr!.on("data", (s: string) => {
      this.stderr += s;
      this.#onOutput?.();
    });
    this.#exited = new Promise((resolve) =>
      this.#child.once("exit", () => {
        resolve();
        this.#onOutput?.();
      })
    );
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** Waits until the output contains `text`. */
  async waitFor(text: string, where: "stdout" | "stderr" = "stdout") {
    const deadline = Date.now() + WAIT_MS;
    while (!this[where].includes(text)) {
      if (!this.running && !this[where].includes(text)) {
        throw new Error(
          `node ${this.name} exited before saying ${
            JSON.stringify(text)
          }:\n${this.stdout}\n${this.stderr}`,
        );
      }
      if (Date.now() > deadline) {
        throw new Error(
          `node ${this.name} did not say ${
            JSON.stringify(text)
          }:\n${this.stdout}\n${this.stderr}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.#onOutput = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#onOutput = null;
    }
  }

  /**
   * Sends it a signal (SIGSTOP, SIGCONT), without waiting. (Through
   * `process.kill`: a ChildProcess's own `kill` may take it for exited.)
   */
  signal(signal: "SIGSTOP" | "SIGCONT"): void {
    if (this.running) process.kill(this.#child.pid!, signal);
  }

  /** Whether it has exited. */
  get exited(): boolean {
    return !this.running;
  }

  /** Kills it (SIGKILL unless said) and waits for it to exit. */
  async kill(signal: "SIGKILL" | "SIGTERM" = "SIGKILL"): Promise<void> {
    if (this.running) this.#child.kill(signal);
    await this.#exited;
    this.#child.stdout!.destroy();
    this.#child.stderr!.destroy();
  }
}

interface World {
  server: NatsServer;
  node: ClusterNode;
  a: NodeProgram;
  echo: Pid;
}

/**
 * A NATS server, this process as node "t", and a fixture node "a" with its
 * "echo" server; all stopped after `fn`.
 */
async function withWorld(
  fn: (w: World) => Promise<void>,
  cluster = "c1",
): Promise<void> {
  const server = await NatsServer.start();
  let node: ClusterNode | undefined;
  let a: NodeProgram | undefined;
  let ok = false;
  try {
    node = await connect({
      servers: server.url,
      node: "t",
      cluster,
      heartbeatMs: HEARTBEAT_MS,
      leaseMs: LEASE_MS,
    });
    a = new NodeProgram(server.url, "a", cluster);
    await a.waitFor("ready a");
    const echo = await node.whereis("a", "echo");
    assert.ok(echo !== undefined, "node a has a registered echo server");
    await fn({ server, node, a, echo });
    ok = true;
  } finally {
    await a?.kill();
    await node?.close();
    await server.stop();
  }
  // The test left nothing behind in the test process's mailbox (a monitor
  // not consumed would get its DOWN "noconnection" at close).
  if (ok) assert.deepEqual(await flush(), []);
}

const isForwarded = (m: unknown) => Array.isArray(m) && m[0] === "forwarded";
const downOf = (ref: unknown) => (m: unknown) =>
  Array.isArray(m) && m[0] === "DOWN" && m[1] === ref;
const exitOf = (pid: Pid) => (m: unknown) =>
  Array.isArray(m) && m[0] === "EXIT" && m[1] === pid;

/** Polls `check` until it holds (bounded by WAIT_MS). */
async function until(
  check: () => boolean | Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!await check()) {
    assert.ok(Date.now() < deadline, "the condition never held");
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The reason of the DOWN for `ref`. */
async function down(ref: unknown): Promise<unknown> {
  const m = await receive(downOf(ref), { timeout: WAIT_MS }) as unknown[];
  return m[4];
}

async function callError(p: Promise<unknown>): Promise<CallError> {
  const e = await p.then(
    () => assert.fail("the call succeeded"),
    (e) => e,
  );
  assert.ok(e instanceof CallError, `a CallError, got ${e}`);
  return e;
}

describe("cluster.connect()", () => {
  test("connect() refuses unknown options, malformed names and timings, before any I/O", async () => {
    const url = "nats://127.0.0.1:1";
    const cases: [unknown, RegExp, ErrorConstructor][] = [
      [
        { servers: url, node: "a", port: 1 },
        /unknown option "port"/,
        TypeError,
      ],
      [{ servers: url, node: "a.b" }, /'node' must be/, TypeError],
      [
        { servers: url, node: "a", cluster: "x>" },
        /'cluster' must be/,
        TypeError,
      ],
      [{ servers: [], node: "a" }, /'servers' must be/, TypeError],
      [
        { servers: url, node: "a", leaseMs: -1 },
        /'leaseMs' must be/,
        RangeError,
      ],
      [
        { servers: url, node: "a", leaseMs: 100, heartbeatMs: 100 },
        /'leaseMs' \(100\) must be more than 'heartbeatMs'/,
        RangeError,
      ],
      [{ servers: url, node: "a", signal: "no" }, /'signal'/, TypeError],
      [
        { servers: url, node: "a", noRandomize: "yes" },
        /'noRandomize' must be a boolean, got "yes"/,
        TypeError,
      ],
      [null, /'options' must be an object/, TypeError],
    ];
    for (const [options, message, type] of cases) {
      await assert.rejects(
        connect(options as never),
        (e: unknown) => e instanceof type && message.test((e as Error).message),
        String(message),
      );
    }
  });
});

describe("cluster: remote processes (nodes as OS processes)", () => {
  test("send, call, cast and reply reach a server on another node; values, pids and refs cross; String(pid) shows the node", async () => {
    await withWorld(async ({ node, echo }) => {
      // With a's incarnation (the one that answers now).
      assert.match(String(echo), /^<a~[A-Za-z0-9_-]+\.\d+\.0>$/);
      assert.equal(node.nodeOf(echo), "a");
      assert.equal(node.nodeOf(self()), "t");
      assert.ok(node.nodes().includes("a") || true);
      assert.equal(await genServer.call(echo, "ping"), "pong");
      // The same pid object for the same remote process.
      assert.equal(await node.whereis("a", "echo"), echo);
      assert.equal(await node.whereis("a", "nobody"), undefined);

      const ref = newRef();
      const value = {
        big: 2n ** 80n,
        none: undefined,
        bytes: new Uint8Array([1, 2, 3]),
        map: new Map<unknown, unknown>([["k", [1, "two"]]]),
        set: new Set(["x"]),
        when: new Date(5),
        tuple: ["ok", -0, NaN],
        me: self(),
        ref,
        constructor: { prototype: { polluted: true } },
      };
      const back = await genServer.call(echo, ["echo", value]) as typeof value;
      assert.deepEqual(back, value);
      assert.equal(back.me, self(), "our own pid comes back as itself");
      assert.equal(back.ref, ref, "our own ref comes back as itself");
      assert.equal(({} as { polluted?: boolean }).polluted, undefined);

      // from.caller on the other node is our pid.
      assert.equal(await genServer.call(echo, "whoami"), self());
      // reply() from another process there.
      assert.equal(await genServer.call(echo, ["later", 42]), 42);
      // A cast that makes the server send to us.
      genServer.cast(echo, ["send", self(), "hi"]);
      assert.equal(
        await receive((m) => m === "hi", { timeout: WAIT_MS }),
        "hi",
      );

      // A pid made there, sent here, stays usable: it forwards what we send
      // it, naming itself (the same Pid object here).
      const forwarder = await genServer.call(echo, ["spawn", self()]) as Pid;
      assert.match(String(forwarder), /^<a~[A-Za-z0-9_-]+\.\d+\.0>$/);
      send(forwarder, { n: 1 });
      send(forwarder, { n: 2 });
      assert.deepEqual(await receive(isForwarded, { timeout: WAIT_MS }), [
        "forwarded",
        forwarder,
        { n: 1 },
      ]);
      assert.deepEqual(await receive(isForwarded, { timeout: WAIT_MS }), [
        "forwarded",
        forwarder,
        { n: 2 },
      ]);
    });
  });

  test("what cannot cross is refused at the sender with a TypeError naming the path; a reply that cannot cross fails the call", async () => {
    await withWorld(async ({ echo }) => {
      assert.throws(
        () => send(echo, { user: { onClick() {} } }),
        (e: unknown) =>
          e instanceof TypeError &&
          /^Cannot send message\.user\.onClick: a function/.test(e.message),
      );
      await assert.rejects(
        genServer.call(echo, ["echo", Symbol("s")]),
        (e: unknown) =>
          e instanceof TypeError &&
          /^Cannot send request\[1\]: a symbol/.test(e.message),
      );
      assert.throws(
        () => genServer.cast(echo, new (class Point {})()),
        /an instance of Point cannot cross/,
      );
      const e = await callError(genServer.call(echo, "unsendable"));
      assert.ok(Array.isArray(e.reason) && e.reason[0] === "bad_reply");
      // The server is fine.
      assert.equal(await genServer.call(echo, "ping"), "pong");
    });
  });

  test("a bare call a remote supervisor does not know fails (its SupervisorError, by name and message, is the reason) and the supervisor lives on", async () => {
    await withWorld(async ({ echo }) => {
      const sup = await genServer.call(echo, "supervisor") as Pid;
      for (let i = 0; i < 2; i++) {
        const e = await callError(genServer.call(sup, "bogus"));
        assert.ok(e.reason instanceof Error, String(e.reason));
        assert.equal(e.reason.name, "SupervisorError");
        assert.match(
          e.reason.message,
          /^Cannot call supervisor <[^>]+>: unknown request "bogus"/,
        );
      }
      assert.equal(await genServer.call(echo, "ping"), "pong");
    });
  });

  test("a call whose remote server dies fails with its reason; a call to a dead remote process fails with noproc; a send to it is dropped", async () => {
    await withWorld(async ({ echo }) => {
      const e = await callError(genServer.call(echo, ["crash", "boom"]));
      assert.equal(e.reason, "boom");
      const noproc = await callError(genServer.call(echo, "ping"));
      assert.equal(noproc.reason, "noproc");
      assert.equal(noproc.code, "noproc");
      send(echo, "into the void"); // dropped, no error
      const timeout = await callError(
        genServer.call(echo, "ping", { timeout: 50 }),
      );
      assert.equal(timeout.reason, "noproc");
      const stopped = await callError(genServer.stop(echo));
      assert.equal(stopped.reason, "noproc");
    });
  });

  test("GenServer.stop() of a remote server waits until it has exited with the reason", async () => {
    await withWorld(async ({ node, echo }) => {
      const ref = monitor(echo);
      await genServer.stop(echo, "shutdown");
      assert.equal(await down(ref), "shutdown");
      assert.equal(await node.whereis("a", "echo"), undefined);
      assert.equal(
        (await callError(genServer.call(echo, "ping"))).reason,
        "noproc",
      );
    });
  });

  test("monitor() and link() across nodes: DOWN and EXIT carry the remote reason, both ways; noproc for a dead one; unlink() stops it", async () => {
    await withWorld(async ({ echo }) => {
      const spawnThere = async () =>
        await genServer.call(echo, ["spawn", self()]) as Pid;
      // A monitor sees the remote exit reason (exit() crosses too).
      const f1 = await spawnThere();
      const ref = monitor(f1);
      exit(f1, "bye");
      assert.equal(await down(ref), "bye");
      // A monitor on a dead remote process: noproc.
      assert.equal(await down(monitor(f1)), "noproc");
      // A link: the test process traps exits, so EXIT is a message.
      const f2 = await spawnThere();
      link(f2);
      exit(f2, "kill");
      const m = await receive(exitOf(f2), { timeout: WAIT_MS }) as unknown[];
      assert.equal(m[2], "killed");
      // A link to a dead remote process: EXIT noproc.
      link(f2);
      const m2 = await receive(exitOf(f2), { timeout: WAIT_MS }) as unknown[];
      assert.equal(m2[2], "noproc");
      // A local process that does not trap exits dies with the remote's
      // reason.
      const f3 = await spawnThere();
      const local = spawn(async () => {
        link(f3);
        send(f3, "linked");
        await receive((x) => x === "never");
      });
      const localRef = monitor(local);
      await receive(isForwarded, { timeout: WAIT_MS }); // f3 got "linked"
      exit(f3, "remote_failure");
      assert.equal(await down(localRef), "remote_failure");
      // The other way: a remote process linked to a local one that dies
      // gets its reason.
      const f4 = await spawnThere();
      const f4Ref = monitor(f4);
      const dying = spawn(async () => {
        link(f4);
        send(f4, "linked");
        await receive((x) => x === "go");
        throw "local_failure";
      });
      await receive(isForwarded, { timeout: WAIT_MS });
      send(dying, "go");
      assert.equal(await down(f4Ref), "local_failure");
      // unlink(): its death no longer reaches us.
      const f5 = await spawnThere();
      link(f5);
      unlink(f5);
      const f5Ref = monitor(f5);
      exit(f5, "quiet");
      assert.equal(await down(f5Ref), "quiet");
      await assert.rejects(
        receive(exitOf(f5), { timeout: 200 }),
        /timeout|Timeout/,
      );
    });
  });

  test("a node that is SIGKILLed is down within the lease: pending and later calls fail with noconnection", async () => {
    await withWorld(async ({ node, a, echo }) => {
      const ref = monitor(echo);
      link(echo);
      node.monitorNode("a");
      const pending = genServer.call(echo, "hang", { timeout: WAIT_MS });
      await new Promise((r) => setTimeout(r, 50)); // let it reach a
      const killed = Date.now();
      await a.kill("SIGKILL");
      const e = await callError(pending);
      const took = Date.now() - killed;
      assert.equal(e.reason, "noconnection");
      assert.ok(
        took <= 2 * LEASE_MS + 1000,
        `detected in ${took} ms, lease ${LEASE_MS} ms`,
      );
      const later = await callError(genServer.call(echo, "ping"));
      assert.equal(later.reason, "noconnection");
      assert.equal(await down(ref), "noconnection");
      const m = await receive(exitOf(echo), { timeout: WAIT_MS }) as unknown[];
      assert.equal(m[2], "noconnection");
      assert.deepEqual(
        await receive((x) => Array.isArray(x) && x[0] === "nodedown", {
          timeout: WAIT_MS,
        }),
        ["nodedown", "a"],
      );
      // Monitors and links made now: at once.
      assert.equal(await down(monitor(echo)), "noconnection");
      node.monitorNode("a");
      assert.deepEqual(
        await receive((x) => Array.isArray(x) && x[0] === "nodedown", {
          timeout: WAIT_MS,
        }),
        ["nodedown", "a"],
      );
      assert.ok(!node.nodes().includes("a"));
      send(echo, "dropped"); // no error
    });
  });

  test("a node that leaves is down at once for the others; calls to it fail with noconnection", async () => {
    await withWorld(async ({ node, a, echo }) => {
      const captured = captureReports("notice");
      try {
        genServer.cast(echo, "leave");
        await a.waitFor("left");
        // Its goodbye may still be on its way: wait for the DOWN side.
        const deadline = Date.now() + LEASE_MS;
        while (node.nodes().includes("a") && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 10));
        }
        assert.ok(!node.nodes().includes("a"));
        const e = await callError(genServer.call(echo, "ping"));
        assert.equal(e.reason, "noconnection");
        assert.ok(
          captured.reports.some((r) =>
            r.kind === "node_down" && r.name === "a" && r.node === "t"
          ),
        );
      } finally {
        captured.restore();
      }
    });
  });

  test("hostile frames are dropped and reported, and the node lives on; two clusters on one server cannot talk", async () => {
    await withWorld(async ({ server, node, a, echo }) => {
      const captured = captureReports("warning");
      const raw = await natsConnect({ servers: server.url });
      try {
        const enc = (s: string) => new TextEncoder().encode(s);
        for (
          const frame of [
            '["o","__proto__",["o","polluted",true]]',
            '["call", 0, ["p","t","x",1], 1]',
            "not json",
            '["x"]',
          ]
        ) {
          raw.publish("steward.c1.n.a", enc(frame));
          raw.publish("steward.c1.n.t", enc(frame));
        }
        raw.publish("steward.c1.n.t", new Uint8Array([0xff, 0xfe]));
        await raw.flush();
        await a.waitFor("dropped a frame", "stderr");
        assert.equal(await genServer.call(echo, "ping"), "pong");
        const deadline = Date.now() + WAIT_MS;
        while (
          captured.reports.filter((r) => r.kind === "bad_frame").length < 5
        ) {
          assert.ok(Date.now() < deadline, "five bad_frame reports here");
          await new Promise((r) => setTimeout(r, 10));
        }
        assert.equal(({} as { polluted?: boolean }).polluted, undefined);
      } finally {
        captured.restore();
        await raw.close();
      }
      // The same node name in another cluster on the same server: nothing
      // answers.
      await node.close();
      const other = await connect({
        servers: server.url,
        node: "t",
        cluster: "c2",
      });
      try {
        await assert.rejects(
          other.whereis("a", "echo", { timeout: 500 }),
          (e: unknown) =>
            e instanceof ClusterError && e.code === "noconnection",
        );
      } finally {
        await other.close();
      }
    });
  });

  test("only nodes that heartbeat are up: a frame naming a thousand made-up nodes adds none to nodes(), and a pid of one goes down within the lease", async () => {
    await withWorld(async ({ server, node, echo }) => {
      // The test process is addressable from the wire once its pid crossed.
      assert.equal(await genServer.call(echo, "ping"), "pong");
      const main = Number(/^<0\.(\d+)\.0>$/.exec(String(self()))![1]);
      const raw = await natsConnect({ servers: server.url });
      try {
        const ghosts = Array.from(
          { length: 1000 },
          (_, i) => ["p", `ghost${i}`, "x", 1],
        );
        raw.publish(
          `steward.c1.n.t.${connectedNode()!.incarnation}`,
          new TextEncoder().encode(
            JSON.stringify(["a", "msg", main, ["a", "ghosts", ...ghosts]]),
          ),
        );
        await raw.flush();
      } finally {
        await raw.close();
      }
      const got = await receive(
        (m) => Array.isArray(m) && m[0] === "ghosts",
        { timeout: WAIT_MS },
      ) as [string, ...Pid[]];
      assert.equal(got.length, 1001);
      assert.equal(String(got[1]), "<ghost0~x.1.0>");
      assert.deepEqual(node.nodes(), ["a"]);
      // A pid of a node that never heartbeats: down within the lease.
      const ref = monitor(got[1]);
      const down = await receive(downOf(ref), {
        timeout: WAIT_MS,
      }) as unknown[];
      assert.equal(down[4], "noconnection");
      assert.deepEqual(node.nodes(), ["a"]);
    });
  });

  test("frames go to one incarnation: a frame for another incarnation of this node, or without one, is dropped", async () => {
    await withWorld(async ({ server, node, echo }) => {
      assert.equal(await genServer.call(echo, "ping"), "pong");
      const main = Number(/^<0\.(\d+)\.0>$/.exec(String(self()))![1]);
      assert.equal(connectedNode()?.name, node.name);
      const inc = connectedNode()!.incarnation;
      const frame = (tag: string) =>
        new TextEncoder().encode(JSON.stringify(["a", "msg", main, tag]));
      const raw = await natsConnect({ servers: server.url });
      const captured = captureReports("warning");
      try {
        raw.publish("steward.c1.n.t.0ld1nc00", frame("to an old incarnation"));
        raw.publish("steward.c1.n.t", frame("to no incarnation"));
        raw.publish(`steward.c1.n.t.${inc}`, frame("to this incarnation"));
        await raw.flush();
        assert.equal(
          await receive((m) => typeof m === "string" && m.startsWith("to "), {
            timeout: WAIT_MS,
          }),
          "to this incarnation",
        );
        const deadline = Date.now() + WAIT_MS;
        while (
          !captured.reports.some((r) =>
            r.kind === "bad_frame" && r.message === "steward.c1.n.t"
          )
        ) {
          assert.ok(Date.now() < deadline, "the frame to no incarnation");
          await new Promise((r) => setTimeout(r, 10));
        }
      } finally {
        captured.restore();
        await raw.close();
      }
      // Nothing else arrived.
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(await flush(), []);
    });
  });

  test("registerGlobal(): one holder at a time across nodes, whereisGlobal() from any node, released on the holder's death and by unregisterGlobal()", async () => {
    await withWorld(async ({ node, echo }) => {
      const p = spawn(() => receive((m) => m === "stop"));
      assert.equal(await node.registerGlobal("svc", p), true);
      assert.equal(
        await genServer.call(echo, ["register_global", "svc"]),
        false,
      );
      assert.equal(await genServer.call(echo, ["whereis_global", "svc"]), p);
      assert.equal(await node.registerGlobal("svc", self()), false);
      assert.equal(await node.whereisGlobal("svc"), p);
      // The holder dies: the name is free.
      exit(p, "kill");
      await until(async () => await node.whereisGlobal("svc") === undefined);
      assert.equal(
        await genServer.call(echo, ["register_global", "svc"]),
        true,
      );
      assert.equal(await node.whereisGlobal("svc"), echo);
      assert.equal(await node.registerGlobal("svc", self()), false);
      // unregisterGlobal() on another node than the holder's does nothing.
      await node.unregisterGlobal("svc");
      assert.equal(await node.whereisGlobal("svc"), echo);
      assert.equal(
        await genServer.call(echo, ["unregister_global", "svc"]),
        "ok",
      );
      assert.equal(await node.whereisGlobal("svc"), undefined);
      // Names are any strings (keys are encoded).
      assert.equal(await node.registerGlobal("ünï côdé/*>.", self()), true);
      assert.equal(await node.whereisGlobal("ünï côdé/*>."), self());
      await node.unregisterGlobal("ünï côdé/*>.");
      await assert.rejects(node.registerGlobal("x", echo), TypeError);
      await assert.rejects(node.registerGlobal("", self()), TypeError);
      await assert.rejects(node.whereisGlobal(1 as never), TypeError);
    });
  });

  test("the names of a SIGKILLed node lapse with its lease; then another node can take them", async () => {
    await withWorld(async ({ node, a, echo }) => {
      assert.equal(
        await genServer.call(echo, ["register_global", "lease"]),
        true,
      );
      assert.equal(await node.whereisGlobal("lease"), echo);
      const killed = Date.now();
      await a.kill("SIGKILL");
      await until(async () => await node.whereisGlobal("lease") === undefined);
      const took = Date.now() - killed;
      assert.ok(took >= LEASE_MS - 2 * HEARTBEAT_MS, `lapsed after ${took} ms`);
      assert.equal(await node.registerGlobal("lease", self()), true);
      assert.equal(await node.whereisGlobal("lease"), self());
    });
  });

  test("nodes on different servers of a three-server NATS cluster talk; the fixture's server dies and it goes on through another", async () => {
    const servers = await startNatsCluster();
    let node: ClusterNode | undefined;
    let a: NodeProgram | undefined;
    try {
      node = await connect({
        servers: servers[0].url,
        node: "t",
        heartbeatMs: HEARTBEAT_MS,
        leaseMs: LEASE_MS,
      });
      // a is given server 2 only: it learns the others from the cluster.
      a = new NodeProgram(servers[2].url, "a", "steward");
      await a.waitFor("ready a");
      // Route interest propagates asynchronously between servers.
      let echo: Pid | undefined;
      await until(async () => {
        echo = await node!.whereis("a", "echo", { timeout: 500 })
          .catch(() => undefined);
        return echo !== undefined;
      });
      assert.equal(await genServer.call(echo!, "ping"), "pong");
      const ref = monitor(echo!);
      // Its server dies: it reconnects to one it learned of.
      await servers[2].stop();
      await until(async () =>
        await genServer.call(echo!, "ping", { timeout: 500 }).then(
          (r) => r === "pong",
          () => false,
        )
      );
      // Nothing was taken for dead on the way (unless the reconnect took
      // longer than the lease: then DOWN says noconnection, not a crash).
      const early = await receive(downOf(ref), { timeout: 0 }).catch(() =>
        undefined
      ) as unknown[] | undefined;
      assert.ok(early === undefined || early[4] === "noconnection");
      demonitor(ref, { flush: true });
    } finally {
      await a?.kill();
      await node?.close();
      await Promise.all(servers.map((s) => s.stop()));
    }
  });

  test("a second connect() in one runtime fails with already_connected; close() is idempotent; signal closes the node", async () => {
    const server = await NatsServer.start();
    try {
      const node = await connect({ servers: server.url, node: "t" });
      try {
        await assert.rejects(
          connect({ servers: server.url, node: "u" }),
          (e: unknown) =>
            e instanceof ClusterError && e.code === "already_connected",
        );
      } finally {
        await node.close();
        await node.close();
      }
      await assert.rejects(
        node.whereis("a", "echo"),
        (e: unknown) => e instanceof ClusterError && e.code === "closed",
      );
      await assert.rejects(
        node.registerGlobal("x", self()),
        (e: unknown) => e instanceof ClusterError && e.code === "closed",
      );
      // Two connects at once: one wins.
      const both = await Promise.allSettled([
        connect({ servers: server.url, node: "t1" }),
        connect({ servers: server.url, node: "t2" }),
      ]);
      assert.equal(both[0].status, "fulfilled");
      assert.ok(
        both[1].status === "rejected" &&
          (both[1].reason as ClusterError).code === "already_connected",
      );
      await (both[0] as PromiseFulfilledResult<ClusterNode>).value.close();
      // A signal: aborted before, the connect fails with its reason; aborted
      // later, the node closes.
      const early = new AbortController();
      early.abort("not now");
      await assert.rejects(
        connect({ servers: server.url, node: "t", signal: early.signal }),
        (e: unknown) => e === "not now",
      );
      const later = new AbortController();
      const third = await connect({
        servers: server.url,
        node: "t",
        signal: later.signal,
      });
      later.abort();
      await assert.rejects(
        third.whereis("a", "echo"),
        (e: unknown) => e instanceof ClusterError && e.code === "closed",
      );
      await third.close();
    } finally {
      await server.stop();
    }
  });
});

/** Whether `e` is the ClusterError name_in_use for node `name` of `cluster`. */
function isNameInUse(e: unknown, name: string, cluster: string): boolean {
  return e instanceof ClusterError && e.code === "name_in_use" &&
    e.message.startsWith(
      `Cannot connect: node "${name}" of cluster "${cluster}" is running already`,
    );
}

describe("cluster: one live node per name", () => {
  test("connect() under the name of a live node rejects with name_in_use naming the node and the cluster, and leaves the live node alone; the name is free once that node closes", async () => {
    await withWorld(async ({ server, node, a, echo }) => {
      const ref = monitor(echo);
      node.monitorNode("a");
      // Another OS process under the name "a": refused, and it never
      // heartbeats (which would make the others take a for gone).
      const twin = new NodeProgram(server.url, "a", "c1");
      try {
        await twin.waitFor(
          'node "a" of cluster "c1" is running already',
          "stderr",
        );
      } finally {
        await twin.kill();
      }
      assert.equal(await genServer.call(echo, "ping"), "pong");
      assert.deepEqual(node.nodes(), ["a"]);
      // A few heartbeats later a is still up here: no DOWN, no nodedown.
      await new Promise((r) => setTimeout(r, 3 * HEARTBEAT_MS));
      assert.equal(await genServer.call(echo, "ping"), "pong");
      assert.deepEqual(await flush(), []);
      demonitor(ref);
      node.monitorNode("a", false);

      // In this runtime too (after leaving as "t": one node per runtime).
      await node.close();
      const refused = await connect({
        servers: server.url,
        node: "a",
        cluster: "c1",
      }).then(() => assert.fail("connected"), (e) => e);
      assert.ok(isNameInUse(refused, "a", "c1"), String(refused));
      assert.equal(connectedNode(), null, "a refused connect leaves no node");
      // "a" of another cluster is another name.
      const other = await connect({
        servers: server.url,
        node: "a",
        cluster: "c2",
      });
      await other.close();
      // "t" closed and deleted its key: free at once.
      const t = await connect({
        servers: server.url,
        node: "t",
        cluster: "c1",
        heartbeatMs: HEARTBEAT_MS,
        leaseMs: LEASE_MS,
      });
      try {
        const echo2 = await t.whereis("a", "echo");
        genServer.cast(echo2!, "leave");
        await a.waitFor("left");
      } finally {
        await t.close();
      }
      // a said goodbye: its name is free at once.
      const again = await connect({
        servers: server.url,
        node: "a",
        cluster: "c1",
      });
      assert.equal(again.name, "a");
      await again.close();
    });
  });

  test("the name of a SIGKILLed node is refused until its lease lapses, then connect() succeeds", async () => {
    await withWorld(async ({ server, node, a }) => {
      await node.close();
      const killed = Date.now();
      await a.kill("SIGKILL");
      const first = await connect({
        servers: server.url,
        node: "a",
        cluster: "c1",
      }).then(() => assert.fail("connected at once"), (e) => e);
      assert.ok(isNameInUse(first, "a", "c1"), String(first));
      let taken: ClusterNode | undefined;
      await until(async () => {
        taken = await connect({
          servers: server.url,
          node: "a",
          cluster: "c1",
        }).catch((e) => {
          assert.ok(isNameInUse(e, "a", "c1"), String(e));
          return undefined;
        });
        return taken !== undefined;
      });
      const took = Date.now() - killed;
      await taken!.close();
      assert.ok(took >= LEASE_MS - 2 * HEARTBEAT_MS, `free after ${took} ms`);
    });
  });

  test("two nodes started at once under one name: the store gives it to one, the other is refused", async () => {
    await withWorld(async ({ server, node }) => {
      const twins = [
        new NodeProgram(server.url, "d", "c1"),
        new NodeProgram(server.url, "d", "c1"),
      ];
      try {
        await until(() =>
          twins.every((p) =>
            p.stdout.includes("ready d") ||
            p.stderr.includes("is running already") || p.exited
          )
        );
        const ready = twins.filter((p) => p.stdout.includes("ready d"));
        const refused = twins.filter((p) =>
          p.stderr.includes('node "d" of cluster "c1" is running already')
        );
        assert.equal(ready.length, 1, twins.map((p) => p.stderr).join("\n"));
        assert.equal(refused.length, 1);
        await until(() => node.nodes().includes("d"));
        const echo = await node.whereis("d", "echo");
        assert.equal(await genServer.call(echo!, "ping"), "pong");
      } finally {
        await Promise.all(twins.map((p) => p.kill()));
      }
    });
  });

  test("a node paused past its lease whose name was taken meanwhile closes itself when it comes back (node_name_lost); the new node is not disturbed", async () => {
    await withWorld(async ({ server, node, a, echo }) => {
      const old = await genServer.call(echo, "whoami");
      assert.equal(old, self());
      a.signal("SIGSTOP");
      let b: NodeProgram | undefined;
      try {
        // Down here once its lease lapses; then the name is free.
        await until(() => !node.nodes().includes("a"));
        b = new NodeProgram(server.url, "a", "c1");
        let started = false;
        await until(async () => {
          if (b!.stdout.includes("ready a")) return started = true;
          if (b!.exited) {
            // Its key lapses a little after the lease seen here: again.
            assert.match(b!.stderr, /is running already/);
            await b!.kill();
            b = new NodeProgram(server.url, "a", "c1");
          }
          return false;
        });
        assert.ok(started);
        const echo2 = await node.whereis("a", "echo");
        assert.notEqual(echo2, echo);
        // The same process id on two incarnations of a: printed apart.
        const ids = (pid: unknown) => String(pid).replace(/~[^.]+/, "");
        assert.equal(ids(echo2), ids(echo));
        assert.notEqual(String(echo2), String(echo));
        const ref = monitor(echo2!);
        a.signal("SIGCONT");
        await a.waitFor("took its name", "stderr");
        // The new a was never taken for gone here.
        for (let i = 0; i < 5; i++) {
          assert.equal(await genServer.call(echo2!, "ping"), "pong");
          await new Promise((r) => setTimeout(r, HEARTBEAT_MS));
        }
        assert.deepEqual(node.nodes(), ["a"]);
        assert.deepEqual(await flush(), []);
        demonitor(ref);
      } finally {
        a.signal("SIGCONT");
        await b?.kill();
      }
    });
  });
});

describe("cluster: hostile frames cannot make unbounded peers", () => {
  test(`a frame naming more than ${MAX_UNHEARD_PEERS} unknown node incarnations is dropped and reported (too_many_peers); the node lives on`, async () => {
    await withWorld(async ({ server, node, echo }) => {
      assert.equal(await genServer.call(echo, "ping"), "pong");
      const main = Number(/^<0\.(\d+)\.0>$/.exec(String(self()))![1]);
      const before = connectedNode()!.peerCount;
      const captured = captureReports("warning");
      const raw = await natsConnect({ servers: server.url });
      try {
        const ghosts = (n: number, tag: string) =>
          Array.from({ length: n }, (_, i) => ["p", `${tag}${i}`, "x", 1]);
        const publish = (body: unknown[]) =>
          raw.publish(
            `steward.c1.n.t.${connectedNode()!.incarnation}`,
            new TextEncoder().encode(
              JSON.stringify(["a", "msg", main, ["a", ...body]]),
            ),
          );
        publish(["flood", ...ghosts(2 * MAX_UNHEARD_PEERS, "flood")]);
        publish(["after"]);
        await raw.flush();
        assert.deepEqual(
          await receive((m) => Array.isArray(m), { timeout: WAIT_MS }),
          ["after"],
          "the flood was dropped, what came after it was not",
        );
        const report = captured.reports.find((r) => r.kind === "bad_frame");
        assert.ok(report !== undefined, "the flood is reported");
        assert.ok(report.reason instanceof WireDecodeError);
        assert.equal(report.reason.problem, "too_many_peers");
        assert.ok(
          connectedNode()!.peerCount <= before + MAX_UNHEARD_PEERS,
          `${connectedNode()!.peerCount} peers`,
        );
        assert.deepEqual(node.nodes(), ["a"]);
        assert.equal(await genServer.call(echo, "ping"), "pong");
      } finally {
        captured.restore();
        await raw.close();
      }
    });
  });

  test("a pid of an incarnation heard and gone stays down when a frame names it again after it was forgotten (not revived for a lease)", async () => {
    await withWorld(async ({ server, node, echo }) => {
      // The test process is addressable from the wire once its pid crossed.
      assert.equal(await genServer.call(echo, "ping"), "pong");
      const main = Number(/^<0\.(\d+)\.0>$/.exec(String(self()))![1]);
      const raw = await natsConnect({ servers: server.url });
      const enc = (x: unknown) => new TextEncoder().encode(JSON.stringify(x));
      try {
        // Node z heartbeats (heard), then says goodbye; nothing here holds
        // a pid of it, so it is forgotten at the next heartbeat.
        const before = connectedNode()!.peerCount;
        raw.publish("steward.c1.hb", enc(["a", "hb", "z", "zinc1"]));
        await raw.flush();
        await until(() => node.nodes().includes("z"));
        raw.publish("steward.c1.hb", enc(["a", "bye", "z", "zinc1"]));
        await raw.flush();
        await until(() => !node.nodes().includes("z"));
        await until(() => connectedNode()!.peerCount === before);
        // A frame with a pid of z's gone incarnation, and one of an
        // incarnation never heard of.
        raw.publish(
          `steward.c1.n.t.${connectedNode()!.incarnation}`,
          enc([
            "a",
            "msg",
            main,
            [
              "a",
              "pids",
              ["p", "z", "zinc1", 5],
              ["p", "y", "yinc1", 5],
              ["r", "z", "zinc1", 7],
            ],
          ]),
        );
        await raw.flush();
      } finally {
        await raw.close();
      }
      const [, gone, unknown, ref7] = await receive(
        (m) => Array.isArray(m) && m[0] === "pids",
        { timeout: WAIT_MS },
      ) as [string, Pid, Pid, unknown];
      assert.equal(String(gone), "<z~zinc1.5.0>");
      assert.equal(String(ref7), "#Ref<z~zinc1.7>");
      // Down at once: its monitor says so now, not a lease later.
      const ref = monitor(gone);
      assert.deepEqual(await receive(downOf(ref), { timeout: 0 }), [
        "DOWN",
        ref,
        "process",
        gone,
        "noconnection",
      ]);
      // One never heard of is up until its lease lapses (it may be a node
      // whose first heartbeat is on its way).
      const ref2 = monitor(unknown);
      await assert.rejects(receive(downOf(ref2), { timeout: 0 }));
      assert.equal(await down(ref2), "noconnection");
      assert.deepEqual(node.nodes(), ["a"]);
    });
  });
});
