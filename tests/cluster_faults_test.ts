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
import { monitor, type Pid, receive } from "../process.ts";
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
  ) {
    const rest = [servers.join(","), name, cluster, String(leaseMs)];
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

/** Polls `cond` every 25 ms until it holds; fails after WAIT_MS. */
async function until(
  cond: () => boolean,
  what: () => string,
): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!cond()) {
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

/** The connections of a server, by client name (its monitoring endpoint). */
async function clientNames(server: NatsServer): Promise<string[]> {
  const res = await fetch(`http://127.0.0.1:${server.monitorPort}/connz`);
  const body = await res.json() as { connections?: { name?: string }[] };
  return (body.connections ?? []).map((c) => c.name ?? "");
}

describe("cluster: NATS faults (nodes as OS processes)", () => {
  test("the NATS server restarted under the nodes: calls fail with noconnection while it is down, monitors get DOWN noconnection, and the same pids work again once it is back", async () => {
    const LEASE_MS = 800;
    let server = await NatsServer.start();
    const port = server.port;
    const dir = server.dir;
    let node: ClusterNode | undefined;
    let a: NodeProgram | undefined;
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
      const ref = monitor(echo);

      // The server goes away (its store kept, to come back on it).
      await server.stop({ keepStore: true });

      // A call made now pends (the frame waits in the client) until the
      // lease says node a is gone: then it fails with noconnection.
      const t0 = Date.now();
      const e = await callError(genServer.call(echo, "ping"));
      assert.equal(e.reason, "noconnection");
      assert.ok(
        Date.now() - t0 <= LEASE_MS + 4 * HEARTBEAT_MS + 500,
        `failed within the lease (took ${Date.now() - t0} ms)`,
      );
      // The monitor got its DOWN, with the same reason.
      const down = await receive(
        (m) => Array.isArray(m) && m[0] === "DOWN" && m[1] === ref,
        { timeout: WAIT_MS },
      ) as unknown[];
      assert.equal(down[4], "noconnection");
      assert.deepEqual(node.nodes(), []);
      // Later calls fail at once, with the same reason.
      const t1 = Date.now();
      assert.equal(
        (await callError(genServer.call(echo, "ping"))).reason,
        "noconnection",
      );
      assert.ok(Date.now() - t1 < LEASE_MS, "at once");
      // whereis cannot reach the node: a ClusterError, not a hang.
      await assert.rejects(
        node.whereis("a", "echo", { timeout: 300 }),
        (err: unknown) =>
          err instanceof ClusterError && err.code === "noconnection",
      );

      // The server comes back on the same port: both nodes reconnect on
      // their own, hear each other again, and the pid held here works.
      server = await NatsServer.start({ port, dir });
      await until(() => node!.nodes().includes("a"), () => "a is up again");
      assert.equal(await genServer.call(echo, "ping"), "pong");
      assert.equal(await genServer.call(echo, "node"), "a");
      assert.equal(await node.whereis("a", "echo"), echo);
      // A new monitor works (the old one ended with its DOWN).
      const ref2 = monitor(echo);
      await a.kill();
      const down2 = await receive(
        (m) => Array.isArray(m) && m[0] === "DOWN" && m[1] === ref2,
        { timeout: WAIT_MS },
      ) as unknown[];
      assert.equal(down2[4], "noconnection");
    } finally {
      await a?.kill();
      await node?.close();
      await server.stop();
    }
  });

  test("a three-server NATS cluster loses the server a node is connected to: nodes given all three URLs keep working, without a node down", async () => {
    const LEASE_MS = 3000;
    const servers = await startNatsCluster();
    const urls = servers.map((s) => s.url);
    let node: ClusterNode | undefined;
    let a: NodeProgram | undefined;
    try {
      node = await connect({
        servers: urls,
        node: "t",
        cluster: "f2",
        heartbeatMs: HEARTBEAT_MS,
        leaseMs: LEASE_MS,
        reconnectTimeWait: 100,
      });
      a = new NodeProgram(urls, "a", "f2", LEASE_MS);
      await a.waitFor("ready a");
      const echo = await node.whereis("a", "echo") as Pid;
      assert.ok(echo !== undefined);
      assert.equal(await genServer.call(echo, "count"), 1);
      await until(() => node!.nodes().includes("a"), () => "a is up");
      const ref = monitor(echo);

      // Kill the server this node is connected to (the NATS client picks
      // one of the three at random).
      let victim: NatsServer | undefined;
      for (const s of servers) {
        if ((await clientNames(s)).includes("steward f2/t")) victim = s;
      }
      assert.ok(victim !== undefined, "node t is connected to one server");
      for (const s of servers) console.error("DBG", s.port, s === victim, await clientNames(s));
      await victim.stop();

      // Calls go on, and count on (no call lost, none made twice).
      for (let i = 2; i <= 21; i++) {
        const t0 = Date.now();
        const r = await genServer.call(echo, "count", { timeout: 1000 }).catch((e) => e);
        console.error("DBG call", i, Date.now() - t0, String(r));
      }
      // Still connected, now to another server; node a never went down.
      let connectedTo = 0;
      for (const s of servers) {
        if (s === victim) continue;
        if ((await clientNames(s)).includes("steward f2/t")) connectedTo++;
      }
      assert.equal(connectedTo, 1, "node t reconnected to another server");
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
    } finally {
      await a?.kill();
      await node?.close();
      await Promise.all(servers.map((s) => s.stop()));
    }
  });
});
