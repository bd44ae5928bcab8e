// NATS faults under a cluster (issue 15, "Tests/Faults"): the NATS server
// restarted under running nodes, and a three-server NATS cluster losing the
// server a node is connected to. This test process is node "t"; node "a" is a
// separate OS process (tests/fixtures/cluster_fault_node.ts, on the runtime
// under test). Every test stops every server and process it starts.
//
// Waits are bounded by events (a line on stdout, a reply, a DOWN) or by the
// lease, polled in short steps; a hang fails the test, never hangs it.
import { describe, test } from "./_harness.ts";
import assert from "node:assert/strict";
import { spawn as spawnOs } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { type ClusterNode, connect } from "../cluster.ts";
import * as genServer from "../gen_server.ts";
import {
  demonitor,
  exit,
  monitor,
  type Pid,
  receive,
  type Ref,
  spawn,
} from "../process.ts";
import { CallError, ClusterError, TimeoutError } from "../errors.ts";
import { NatsServer, startNatsCluster } from "./_nats.ts";

const IS_DENO = (globalThis as { Deno?: unknown }).Deno !== undefined;
const FIXTURE = fileURLToPath(
  new URL(
    `./fixtures/cluster_fault_node.${
      import.meta.url.endsWith(".ts") ? "ts" : "js"
    }`,
    import.meta.url,
  ),
);
/** The bound on every wait (a hang fails, never hangs). */
const WAIT_MS = 20_000;
const HEARTBEAT_MS = 100;

/** A fixture node: a child OS process of this very runtime. */
class NodeProgram {
  stdout = "";
  stderr = "";
  readonly #child;
  readonly #exited: Promise<void>;

  constructor(
    servers: string[],
    readonly name: string,
    cluster: string,
    leaseMs: number,
    replicas = 1,
    ordered = false,
  ) {
    const rest = [
      servers.join(","),
      name,
      cluster,
      String(leaseMs),
      String(replicas),
      ...ordered ? ["ordered"] : [],
    ];
    const args = IS_DENO ? ["run", "-A", FIXTURE, ...rest] : [FIXTURE, ...rest];
    this.#child = spawnOs(process.execPath, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
    });
    this.#child.stdout!.setEncoding("utf8");
    this.#child.stderr!.setEncoding("utf8");
    this.#child.stdout!.on("data", (s: string) => this.stdout += s);
    this.#child.stderr!.on("data", (s: string) => this.stderr += s);
    this.#exited = new Promise((resolve) =>
      this.#child.once("exit", () => resolve())
    );
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** Waits until stdout contains `text`. */
  async waitFor(text: string): Promise<void> {
    await until(
      () => {
        if (!this.running && !this.stdout.includes(text)) {
          throw new Error(
            `node ${this.name} exited:\n${this.stdout}\n${this.stderr}`,
          );
        }
        return this.stdout.includes(text);
      },
      () => `node ${this.name} says ${JSON.stringify(text)}:\n${this.stderr}`,
    );
  }

  /** Kills it and waits for it to exit. */
  async kill(): Promise<void> {
    if (this.running) this.#child.kill("SIGKILL");
    await this.#exited;
    this.#child.stdout!.destroy();
    this.#child.stderr!.destroy();
  }
}

/**
 * Polls `cond` every 25 ms (after `step`, which refreshes what it reads)
 * until it holds; fails after WAIT_MS.
 */
async function until(
  cond: () => boolean,
  what: () => string,
  step?: () => Promise<void>,
): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    await step?.();
    if (cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out: ${what()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function callError(p: Promise<unknown>): Promise<CallError> {
  const e = await p.then(
    (v) => assert.fail(`the call succeeded with ${String(v)}`),
    (e) => e,
  );
  assert.ok(e instanceof CallError, `a CallError, got ${e}`);
  return e;
}

/** The clients of a server with their subscriptions, by name. */
async function clients(server: NatsServer): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${server.monitorPort}/connz`);
  const body = await res.json() as {
    connections?: { name?: string; subscriptions?: number }[];
  };
  return new Map(
    (body.connections ?? []).map((c) => [c.name ?? "", c.subscriptions ?? 0]),
  );
}

/** The server (of `servers`) node `name` of `cluster` is connected to. */
async function serverOf(
  servers: NatsServer[],
  cluster: string,
  name: string,
): Promise<NatsServer | undefined> {
  for (const s of servers) {
    const subs = await clients(s).catch(() => new Map<string, number>());
    // its frames and heartbeats subscriptions are there
    if ((subs.get(`steward ${cluster}/${name}`) ?? 0) >= 2) return s;
  }
  return undefined;
}

/** Waits until the nodes are connected (and subscribed) to one of `servers`. */
async function reconnected(
  servers: NatsServer[],
  cluster: string,
  names: string[],
): Promise<void> {
  const on = new Map<string, boolean>();
  await until(
    () => names.every((n) => on.get(n)),
    () => "nodes reconnected",
    async () => {
      for (const n of names) {
        on.set(
          n,
          await serverOf(servers, cluster, n) !== undefined,
        );
      }
    },
  );
}

/** A local process that waits to be killed. */
function idle(): Pid {
  return spawn(() => receive(() => false));
}

/** Waits `ms` of real time (for what only time shows: a lease lapsing). */
function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

describe("cluster: NATS faults (nodes as OS processes)", () => {
  test("connect() refuses a bad 'replicas'", async () => {
    for (const replicas of [0, 1.5, 6, "3"]) {
      await assert.rejects(
        connect(
          { servers: "nats://127.0.0.1:1", node: "t", replicas } as never,
        ),
        (e: unknown) =>
          e instanceof RangeError && /'replicas' must be/.test(e.message),
      );
    }
  });

  test("the NATS server restarted under the nodes: a short outage keeps nodes and global names; a long one fails calls with noconnection, gives DOWN noconnection, loses the global names cleanly; the same pids work again after", async () => {
    const LEASE_MS = 2000;
    let server = await NatsServer.start();
    const port = server.port;
    const dir = server.dir;
    let node: ClusterNode | undefined;
    let a: NodeProgram | undefined;
    const holder = idle();
    const other = idle();
    const refs: Ref[] = [];
    try {
      node = await connect({
        servers: server.url,
        node: "t",
        cluster: "f1",
        heartbeatMs: HEARTBEAT_MS,
        leaseMs: LEASE_MS,
        reconnectTimeWait: 100,
      });
      a = new NodeProgram([server.url], "a", "f1", LEASE_MS);
      await a.waitFor("ready a");
      const echo = await node.whereis("a", "echo") as Pid;
      assert.ok(echo !== undefined);
      assert.equal(await genServer.call(echo, "ping"), "pong");
      await until(() => node!.nodes().includes("a"), () => "a is up");
      assert.equal(await node.registerGlobal("here_t", holder), true);
      assert.equal(await node.whereisGlobal("echo_a"), echo);

      // --- A short outage (well within the lease): nothing is lost.
      const down0 = Date.now();
      await server.stop({ keepStore: true });
      server = await NatsServer.start({ port, dir });
      const outage = Date.now() - down0;
      assert.ok(outage < LEASE_MS / 2, `a short outage (${outage} ms)`);
      await reconnected([server], "f1", ["t", "a"]);
      assert.deepEqual(node.nodes(), ["a"], "node a was never down");
      assert.equal(await genServer.call(echo, "ping"), "pong");
      // The names survive, and their renewals go on past the lease.
      assert.equal(await node.whereisGlobal("echo_a"), echo);
      assert.equal(await node.whereisGlobal("here_t"), holder);
      await pause(LEASE_MS * 1.5);
      assert.equal(await node.whereisGlobal("echo_a"), echo);
      assert.equal(await node.whereisGlobal("here_t"), holder);
      assert.equal(await node.registerGlobal("echo_a", other), false);

      // --- A long outage (past the lease).
      const ref = monitor(echo);
      refs.push(ref);
      await server.stop({ keepStore: true });
      const t0 = Date.now();
      // A call made now fails with noconnection (at once if the client has
      // seen the connection break, else when the lease lapses); never hangs
      // until its own timeout.
      const e = await callError(
        genServer.call(echo, "ping", { timeout: 4 * LEASE_MS }),
      );
      assert.equal(e.reason, "noconnection");
      assert.ok(
        Date.now() - t0 <= LEASE_MS + 1500,
        `failed within the lease (took ${Date.now() - t0} ms)`,
      );
      const down = await receive(
        (m) => Array.isArray(m) && m[0] === "DOWN" && m[1] === ref,
        { timeout: WAIT_MS },
      ) as unknown[];
      assert.equal(down[4], "noconnection");
      await until(() => node!.nodes().length === 0, () => "a is down");
      // Later calls fail at once, with the same reason.
      const t1 = Date.now();
      assert.equal(
        (await callError(genServer.call(echo, "ping"))).reason,
        "noconnection",
      );
      assert.ok(Date.now() - t1 < LEASE_MS, "at once");
      // whereis and the global names cannot reach anyone: a ClusterError
      // saying so, not a hang and not a wrong answer.
      await assert.rejects(
        node.whereis("a", "echo", { timeout: 300 }),
        (err: unknown) =>
          err instanceof ClusterError && err.code === "noconnection",
      );
      for (
        const op of [
          () => node!.whereisGlobal("echo_a"),
          () => node!.registerGlobal("fresh", other),
        ]
      ) {
        await assert.rejects(
          op(),
          (err: unknown) =>
            err instanceof ClusterError && err.code === "noconnection",
        );
      }
      await pause(Math.max(0, t0 + LEASE_MS + 500 - Date.now()));

      // The server comes back on the same port and store: both nodes
      // reconnect on their own, hear each other again, and the pid held
      // here works.
      server = await NatsServer.start({ port, dir });
      await reconnected([server], "f1", ["t", "a"]);
      await until(() => node!.nodes().includes("a"), () => "a is up again");
      assert.equal(await genServer.call(echo, "ping"), "pong");
      assert.equal(await genServer.call(echo, "node"), "a");
      assert.equal(await node.whereis("a", "echo"), echo);
      // The global names lapsed with the lease, on both nodes: cleanly lost
      // (the store has no holder, and the old holders do not take them
      // back), so they can be registered again.
      let echoA: Pid | undefined = echo;
      await until(
        () => echoA === undefined,
        () => "echo_a lapsed",
        async () => {
          echoA = await node!.whereisGlobal("echo_a");
        },
      );
      assert.equal(await node.whereisGlobal("here_t"), undefined);
      assert.equal(await node.registerGlobal("echo_a", other), true);
      assert.equal(await node.registerGlobal("here_t", holder), true);
      await pause(4 * HEARTBEAT_MS);
      assert.equal(await node.whereisGlobal("echo_a"), other);
      assert.equal(await node.whereisGlobal("here_t"), holder);

      // A new monitor works (the old one ended with its DOWN).
      const ref2 = monitor(echo);
      refs.push(ref2);
      await a.kill();
      const down2 = await receive(
        (m) => Array.isArray(m) && m[0] === "DOWN" && m[1] === ref2,
        { timeout: WAIT_MS },
      ) as unknown[];
      assert.equal(down2[4], "noconnection");
    } finally {
      // No DOWN left in this process's mailbox for the next test file (Bun
      // runs them all in one process), even if this test failed.
      for (const r of refs) demonitor(r, { flush: true });
      exit(holder, "kill");
      exit(other, "kill");
      await a?.kill();
      await node?.close();
      await server.stop();
    }
  });

  test("a three-server NATS cluster loses the server a node is connected to: nodes given all three URLs keep working, without a node down; global names with replicas 3 are kept", async () => {
    // Longer than JetStream's failover: if the lost server led the names'
    // stream, a new leader is elected within about 5 s on nats-server 2.9,
    // longer on a loaded machine (with a 5 s lease, node a's name lapsed
    // meanwhile in 3 runs out of 8 under load).
    const LEASE_MS = 12_000;
    const servers = await startNatsCluster();
    const urls = servers.map((s) => s.url);
    let node: ClusterNode | undefined;
    let a: NodeProgram | undefined;
    const holder = idle();
    const refs: Ref[] = [];
    try {
      node = await connect({
        servers: urls,
        node: "t",
        cluster: "f2",
        heartbeatMs: HEARTBEAT_MS,
        leaseMs: LEASE_MS,
        reconnectTimeWait: 100,
        replicas: 3,
      });
      // Node a on another server than this one (the NATS client picks one
      // of the three at random; node a is given the other two first, in
      // order), so that the loss of this node's server leaves node a's
      // subscriptions in place: a frame sent while both reconnect at once
      // could find no subscriber (NATS delivers at most once), which the
      // first test covers.
      const mine = await serverOf(servers, "f2", "t");
      assert.ok(mine !== undefined, "node t is connected to one server");
      const order = [...servers.filter((s) => s !== mine), mine];
      a = new NodeProgram(
        order.map((s) => s.url),
        "a",
        "f2",
        LEASE_MS,
        3,
        true,
      );
      await a.waitFor("ready a");
      let at: NatsServer | undefined;
      await until(() => at !== undefined, () => "a connected", async () => {
        at = await serverOf(servers, "f2", "a");
      });
      assert.equal(at, order[0], "node a is on the first server it was given");
      const echo = await node.whereis("a", "echo") as Pid;
      assert.ok(echo !== undefined);
      assert.equal(await genServer.call(echo, "count"), 1);
      await until(() => node!.nodes().includes("a"), () => "a is up");
      assert.equal(await node.registerGlobal("here_t", holder), true);
      assert.equal(await node.whereisGlobal("echo_a"), echo);
      const ref = monitor(echo);
      refs.push(ref);

      await mine.stop();

      // A call made at once either gets through or, caught in the broken
      // connection, fails with noconnection; it never hangs.
      let count = 1;
      const first = await genServer.call(echo, "count", {
        timeout: 4 * LEASE_MS,
      })
        .catch((e) => e);
      if (first instanceof CallError) {
        assert.equal(first.reason, "noconnection");
      } else {
        assert.ok(first === 2, `count ${first}`);
        count = 2;
      }
      await reconnected(servers.filter((s) => s !== mine), "f2", ["t", "a"]);
      // Calls go on, each served once: the count goes up by one per call
      // (by two after the first if that one was served but its answer lost).
      const next = await genServer.call(echo, "count") as number;
      assert.ok(
        next === count + 1 ||
          (first instanceof CallError && next === count + 2),
      );
      count = next;
      for (let i = 0; i < 20; i++) {
        assert.equal(await genServer.call(echo, "count"), ++count);
      }
      // Node a never went down; no DOWN for its echo.
      assert.deepEqual(node.nodes(), ["a"]);
      await assert.rejects(
        receive(
          (m) => Array.isArray(m) && m[0] === "DOWN" && m[1] === ref,
          { timeout: 2 * HEARTBEAT_MS },
        ),
        (e: unknown) => e instanceof TimeoutError,
        "no DOWN for node a's echo",
      );
      assert.equal(await node.whereis("a", "echo"), echo);
      // The global names (KV with 3 replicas) are kept, and renewed past
      // the lease on the two servers left. (The store may take a moment to
      // answer again, while its stream elects a new leader.)
      // Polled until it names a holder: every answer meanwhile is "none
      // found" or no answer, never another holder.
      let found: unknown = undefined;
      let answer = "";
      await until(
        () => found !== undefined,
        () =>
          `the store names echo_a (last answer: ${answer}; node a:\n${
            a!.stdout
          })`,
        async () => {
          answer = "none";
          found = await node!.whereisGlobal("echo_a").catch((e) => {
            if (e instanceof ClusterError && e.code === "noconnection") {
              answer = `${e.message} (${String(e.cause)})`;
              return undefined;
            }
            throw e;
          });
        },
      );
      assert.equal(found, echo);
      assert.equal(await node.whereisGlobal("here_t"), holder);
      await pause(LEASE_MS * 1.2);
      assert.equal(await node.whereisGlobal("echo_a"), echo);
      assert.equal(await node.whereisGlobal("here_t"), holder);
      assert.equal(await node.registerGlobal("echo_a", holder), false);
      // The monitor never fired; it ends here, so that closing the node
      // leaves no DOWN in this process's mailbox.
      assert.equal(demonitor(ref, { flush: true }), true);
    } finally {
      for (const r of refs) demonitor(r, { flush: true });
      exit(holder, "kill");
      await a?.kill();
      await node?.close();
      await Promise.all(servers.map((s) => s.stop()));
    }
  });
});
