// The cluster-wide tracker (cluster_tracker.ts): its lease bookkeeping
// (_cluster_lease.ts) and the history checker (examples/cluster/_history.ts)
// on synthetic input; its API with this test process as a node; and faults
// with nodes as separate OS processes (examples/cluster/media_node.ts, run by
// the runtime under test) against a nats-server the test starts: SIGKILL of
// a node, SIGSTOP of a node past its lease. The checker fails a test on any
// overlap or lost acknowledged write. Every test stops every server, node
// and process it starts.
//
// The fault tests wait on real I/O; every wait is bounded (WAIT_MS), and
// waits for a lease to lapse are on the lease (LEASE_MS), never on a fixed
// sleep standing for an event.
import { describe, test } from "./_harness.ts";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { type ClusterNode, connect } from "../cluster.ts";
import { ClusterTracker, type TrackerEvent } from "../cluster_tracker.ts";
import {
  exit,
  monitor,
  type Pid,
  receive,
  self,
  send,
  spawn,
} from "../process.ts";
import { type Clock, realClock, type TimerHandle, useClock } from "../clock.ts";
import { ClusterTrackerError } from "../errors.ts";
import { captureReports } from "../logger.ts";
import { HeldLease, LeaseSightings } from "../_cluster_lease.ts";
import {
  checkHistory,
  type HistoryEvent,
} from "../examples/cluster/_history.ts";
import { NodeProgram } from "../examples/cluster/_node_program.ts";
import { spawn as spawnOs } from "node:child_process";
import process from "node:process";
import { NatsServer } from "./_nats.ts";
import { NatsProxy } from "./_nats_proxy.ts";
import { connect as natsConnect } from "@nats-io/transport-node";
import { Kvm } from "@nats-io/kv";

const NODE_PROGRAM = fileURLToPath(
  new URL(
    `../examples/cluster/media_node.${
      import.meta.url.endsWith(".ts") ? "ts" : "js"
    }`,
    import.meta.url,
  ),
);
const WAIT_MS = 20_000;
const LEASE_MS = 1000;
/** The node program's renewal period: its heartbeat, a tenth of the lease. */
const RENEW_MS = LEASE_MS / 10;

// ------------------------------------------------------------- leases --

describe("cluster tracker leases (_cluster_lease.ts)", () => {
  test("HeldLease: the holder stops at leaseMs - safetyMs after it SENT its last renewal; a late answer cannot move the deadline back", () => {
    const lease = new HeldLease("t", 1, 1000, 50_000, 1000, 200);
    assert.equal(lease.deadline, 1800);
    assert.equal(lease.deadlineWall, 50_800);
    assert.ok(lease.valid(1799));
    assert.ok(!lease.valid(1800));
    lease.renewed(2, 1500, 50_500);
    assert.equal(lease.deadline, 2300);
    lease.renewed(3, 1400, 50_400); // an older renewal answered late
    assert.equal(lease.deadline, 2300);
    assert.equal(lease.revision, 2);
  });

  test("LeaseSightings: a lease lapses leaseMs after its revision was FIRST seen; a new revision starts the count again", () => {
    const seen = new LeaseSightings(1000);
    assert.equal(seen.remaining("t", 0), undefined);
    seen.saw("t", 5, 100);
    seen.saw("t", 5, 900); // the same revision again: the count goes on
    assert.equal(seen.remaining("t", 900), 200);
    assert.equal(seen.remaining("t", 1100), 0);
    seen.saw("t", 6, 1100); // renewed: counts again
    assert.equal(seen.remaining("t", 1100), 1000);
    assert.equal(seen.revision("t"), 6);
    seen.forget("t");
    assert.equal(seen.remaining("t", 1100), undefined);
  });

  test("the holder's deadline comes before any other node's grant, for any delays and clock drift within safetyMs", () => {
    // Holder sends a renewal at s (its clock); the store keeps it at
    // s + d1; another node first reads it at s + d1 + d2 (d1, d2 >= 0) and
    // counts leaseMs on a clock that runs (1 - rho) as fast.
    const leaseMs = 1000, safetyMs = 200;
    for (const [d1, d2, rho] of [[0, 0, 0], [5, 300, 0.1], [0, 0, 0.19]]) {
      const lease = new HeldLease("t", 1, 0, 0, leaseMs, safetyMs);
      const seen = new LeaseSightings(leaseMs);
      seen.saw("t", 1, 0);
      const grantLocal = seen.remaining("t", 0)!; // ms on the other clock
      const grantReal = d1 + d2 + grantLocal * (1 - rho);
      assert.ok(
        lease.deadline < grantReal,
        `deadline ${lease.deadline} before grant ${grantReal} (d1 ${d1}, d2 ${d2}, rho ${rho})`,
      );
    }
  });
});

// ------------------------------------------------------------ history --

describe("history checker (examples/cluster/_history.ts)", () => {
  const start = (id: string, node: string, time: number, revision = 1) =>
    ({ type: "start", id, node, time, revision }) as const;
  const stop = (id: string, node: string, time: number, fenced = false) =>
    ({ type: "stop", id, node, time, fenced }) as const;
  /** A write event of id "s", attribute "bytes". */
  const w = (
    type: "attempt" | "attr" | "refused" | "unknown",
    node: string,
    time: number,
    value: number,
    revision?: number,
  ): HistoryEvent => ({
    type,
    id: "s",
    node,
    time,
    key: "bytes",
    value,
    ...(revision === undefined ? {} : { revision }),
  });

  test("counts no overlap in a clean hand-over, and catches a planted one", () => {
    const clean: HistoryEvent[] = [
      start("s", "a", 0),
      stop("s", "a", 10),
      start("s", "b", 10, 2),
      start("t", "b", 3),
    ];
    const ok = checkHistory(clean, new Map());
    assert.equal(ok.ids, 2);
    assert.deepEqual(ok.overlaps, []);
    const planted = [...clean, start("s", "c", 15, 3)];
    const bad = checkHistory(planted, new Map());
    assert.equal(bad.overlaps.length, 1);
    assert.equal(bad.overlaps[0].id, "s");
    assert.deepEqual(
      [bad.overlaps[0].first.node, bad.overlaps[0].second.node],
      ["b", "c"],
    );
    assert.equal(bad.overlaps[0].ms, Infinity);
  });

  test("a crash (SIGKILL) ends the node's children at the kill; a fenced stop ends at its deadline; events arrive in any order", () => {
    const events: HistoryEvent[] = [
      start("s", "b", 50, 4),
      { type: "crash", node: "a", time: 40 },
      start("s", "a", 0),
      start("f", "c", 0, 2),
      stop("f", "c", 30, true),
      start("f", "d", 31, 5),
    ];
    const r = checkHistory(events, new Map());
    assert.deepEqual(r.overlaps, []);
    assert.deepEqual(
      r.intervals.map((i) => [i.id, i.node, i.end]),
      [["s", "a", "crash"], ["f", "c", "fenced"], ["f", "d", "running"], [
        "s",
        "b",
        "running",
      ]],
    );
    // Without the crash, a's child would still be live when b's starts.
    const noCrash = checkHistory(
      events.filter((e) => e.type !== "crash"),
      new Map(),
    );
    assert.equal(noCrash.overlaps.length, 1);
  });

  test("a child is live until its last attempt or refusal: one that ran after its fence deadline overlaps the next owner", () => {
    const act = (type: "attempt" | "refused", node: string, time: number) =>
      ({ type, id: "s", node, time, key: "bytes", value: time }) as const;
    // c was fenced at 30 (its stop is dated there) but its code still ran
    // at 60, after d claimed the id at 40.
    const ran: HistoryEvent[] = [
      start("s", "c", 0, 2),
      act("attempt", "c", 20),
      stop("s", "c", 30, true),
      start("s", "d", 40, 5),
      act("attempt", "c", 60),
      act("refused", "c", 65),
    ];
    const r = checkHistory(ran, new Map());
    assert.equal(r.overlaps.length, 1);
    assert.deepEqual(
      [r.overlaps[0].first.node, r.overlaps[0].first.to, r.overlaps[0].ms],
      ["c", 65, 25],
    );
    // Attempts within the interval change nothing; a later child of the
    // same node owns its own attempts.
    const clean: HistoryEvent[] = [
      start("s", "c", 0, 2),
      act("attempt", "c", 20),
      stop("s", "c", 30, true),
      start("s", "d", 40, 5),
      stop("s", "d", 50),
      start("s", "c", 55, 7),
      act("attempt", "c", 60),
    ];
    assert.deepEqual(checkHistory(clean, new Map()).overlaps, []);
  });

  test("stale writes: a write acknowledged after another node claimed the id is caught, by revision", () => {
    const events: HistoryEvent[] = [
      start("s", "a", 0, 1),
      {
        type: "attr",
        id: "s",
        node: "a",
        time: 1,
        revision: 2,
        key: "n",
        value: 1,
      },
      start("s", "b", 5, 3),
      {
        type: "attr",
        id: "s",
        node: "b",
        time: 6,
        revision: 4,
        key: "n",
        value: 2,
      },
    ];
    assert.deepEqual(checkHistory(events, new Map()).staleWrites, []);
    const planted: HistoryEvent = {
      type: "attr",
      id: "s",
      node: "a",
      time: 2,
      revision: 5,
      key: "n",
      value: 9,
    };
    assert.deepEqual(
      checkHistory([...events, planted], new Map()).staleWrites,
      [planted],
    );
  });

  test("lost writes: the store must end with the last acknowledged value, or with a write left unanswered by a dead node", () => {
    const events: HistoryEvent[] = [
      start("s", "a", 0),
      { type: "attempt", id: "s", node: "a", time: 1, key: "n", value: 1 },
      {
        type: "attr",
        id: "s",
        node: "a",
        time: 2,
        revision: 2,
        key: "n",
        value: 1,
      },
      { type: "attempt", id: "s", node: "a", time: 3, key: "n", value: 2 },
      {
        type: "attr",
        id: "s",
        node: "a",
        time: 4,
        revision: 3,
        key: "n",
        value: 2,
      },
      { type: "attempt", id: "s", node: "a", time: 5, key: "n", value: 3 },
      { type: "crash", node: "a", time: 6 },
    ];
    // The store kept the last ack, or the unanswered write: both fine.
    assert.deepEqual(
      checkHistory(events, new Map([["s", { n: 2 }]])).lostWrites,
      [],
    );
    assert.deepEqual(
      checkHistory(events, new Map([["s", { n: 3 }]])).lostWrites,
      [],
    );
    // It went back to 1: the acknowledged 2 was lost.
    const lost = checkHistory(events, new Map([["s", { n: 1 }]])).lostWrites;
    assert.deepEqual(lost, [{
      id: "s",
      key: "n",
      acknowledged: 2,
      revision: 3,
      stored: 1,
    }]);
    // A refused write is answered: the store may not end with it.
    const refused: HistoryEvent[] = [
      ...events.slice(0, 6),
      { type: "refused", id: "s", node: "a", time: 6, key: "n", value: 3 },
    ];
    assert.equal(
      checkHistory(refused, new Map([["s", { n: 3 }]])).lostWrites.length,
      1,
    );
  });

  test("lost writes: a write of unknown outcome (no answer) may or may not be in the store; a refused one may not; an acknowledged one overwritten by nothing newer must be", () => {
    // The stream's history from the failure: 7000 acknowledged, 8000 sent
    // and rejected with no answer ("timeout"): the store may have it.
    const history: HistoryEvent[] = [
      start("s", "a", 0),
      w("attempt", "a", 10, 7000),
      w("attr", "a", 12, 7000, 5),
      w("attempt", "a", 20, 8000),
      w("unknown", "a", 5020, 8000),
      stop("s", "a", 5021),
    ];
    const lost = (events: HistoryEvent[], bytes: unknown) =>
      checkHistory(events, new Map([["s", { bytes }]])).lostWrites;
    assert.deepEqual(lost(history, 8000), [], "it was stored");
    assert.deepEqual(lost(history, 7000), [], "it was not");
    // Neither the acknowledged value nor the unknown one: lost.
    assert.deepEqual(lost(history, 6000), [{
      id: "s",
      key: "bytes",
      acknowledged: 7000,
      revision: 5,
      stored: 6000,
    }]);
    // Reported refused (surely not made) but stored: the checker fails it
    // (this is what a "timeout" logged as a refusal looked like).
    const refused = history.map((e) =>
      e.type === "unknown" ? { ...e, type: "refused" as const } : e
    );
    assert.equal(lost(refused, 8000).length, 1);
    assert.deepEqual(lost(refused, 7000), []);
    // A write of unknown outcome made before the last acknowledged one
    // cannot be what the store ends with.
    const older: HistoryEvent[] = [
      start("s", "a", 0),
      w("attempt", "a", 10, 7000),
      w("unknown", "a", 15, 7000),
      w("attempt", "a", 20, 8000),
      w("attr", "a", 22, 8000, 6),
    ];
    assert.deepEqual(lost(older, 8000), []);
    assert.equal(lost(older, 7000).length, 1);
    // An acknowledged write lost by the next owner: it started from an older
    // value and wrote nothing newer (its writes all refused).
    const handedOver: HistoryEvent[] = [
      start("s", "a", 0, 1),
      w("attempt", "a", 10, 7000),
      w("attr", "a", 12, 7000, 5),
      stop("s", "a", 30),
      start("s", "b", 40, 9),
      w("attempt", "b", 50, 1000),
      w("refused", "b", 55, 1000),
    ];
    assert.deepEqual(lost(handedOver, 7000), []);
    assert.equal(lost(handedOver, 1000).length, 1);
    // Another node's write of unknown outcome excuses nothing of a value it
    // did not write.
    const elsewhere: HistoryEvent[] = [
      ...handedOver.slice(0, 5),
      w("attempt", "b", 50, 8000),
      w("unknown", "b", 55, 8000),
    ];
    assert.deepEqual(lost(elsewhere, 8000), []);
    assert.equal(lost(elsewhere, 9000).length, 1);
  });

  test("lost writes: an acknowledgement seen late (its node paused with the answer on the way) does not hide that the next owner's unanswered write came after it", () => {
    // b wrote 7000 (stored at revision 5) and was paused before the answer
    // came; a took the id over (claim 9) from 7000 and sent 8000, which
    // was never answered (a was fenced with it in flight); b resumed and
    // logged its acknowledgement of 7000 late, at 3000.
    const events: HistoryEvent[] = [
      start("s", "b", 0, 1),
      w("attempt", "b", 100, 7000),
      start("s", "a", 1200, 9),
      w("attempt", "a", 1300, 8000),
      stop("s", "a", 1400, true),
      stop("s", "b", 900, true),
      w("attr", "b", 3000, 7000, 5),
    ];
    const lost = (bytes: unknown) =>
      checkHistory(events, new Map([["s", { bytes }]])).lostWrites;
    assert.deepEqual(lost(8000), [], "a's write landed");
    assert.deepEqual(lost(7000), [], "it did not");
    assert.deepEqual(lost(9000), [{
      id: "s",
      key: "bytes",
      acknowledged: 7000,
      revision: 5,
      stored: 9000,
    }]);
    // The same write by a child of a claim older than the ack is no excuse.
    const older = events.map((e) =>
      e.type === "start" && e.node === "a" ? { ...e, revision: 3 } : e
    );
    assert.equal(
      checkHistory(older, new Map([["s", { bytes: 8000 }]])).lostWrites
        .length,
      1,
    );
  });

  test("an unknown-outcome event is code the child ran: it keeps the child live until then", () => {
    const events: HistoryEvent[] = [
      start("s", "c", 0, 2),
      stop("s", "c", 30, true),
      start("s", "d", 40, 5),
      {
        type: "unknown",
        id: "s",
        node: "c",
        time: 60,
        key: "bytes",
        value: 1,
      },
    ];
    const r = checkHistory(events, new Map());
    assert.equal(r.overlaps.length, 1);
    assert.deepEqual([r.overlaps[0].first.to, r.overlaps[0].ms], [60, 20]);
  });
});

// ---------------------------------------------------- API, one node --

interface Local {
  server: NatsServer;
  node: ClusterNode;
  tracker: ClusterTracker;
  events: TrackerEvent[];
  ended: [string, unknown, boolean][];
}

/** A NATS server, this process as node "t", and its tracker "media". */
async function withLocal(fn: (w: Local) => Promise<void>): Promise<void> {
  const server = await NatsServer.start();
  let node: ClusterNode | undefined;
  let tracker: ClusterTracker | undefined;
  try {
    node = await connect({
      servers: server.url,
      node: "t",
      cluster: "ct",
      heartbeatMs: 100,
      leaseMs: LEASE_MS,
    });
    const events: TrackerEvent[] = [];
    const ended: [string, unknown, boolean][] = [];
    tracker = await ClusterTracker.open(node, {
      name: "media",
      start: (id, { args, lost, attrs }) => {
        if (args === "fail") throw new Error("no such stream");
        return spawn(async () => {
          for (;;) {
            const m = await receive();
            if (Array.isArray(m) && m[0] === "context") {
              send(m[1] as Pid, { id, args, lost, attrs });
            }
            if (m === "crash") throw new Error("boom");
          }
        });
      },
      afterTerminate: (id, reason, { fenced }) => {
        ended.push([id, reason, fenced]);
      },
      onEvent: (e) => events.push(e),
    });
    await fn({ server, node, tracker, events, ended });
  } finally {
    await tracker?.close();
    await node?.close();
    await server.stop();
  }
}

/** Matches the context a child of `id` sends back (see withLocal). */
const contextOf = (id: string) => (m: unknown) =>
  typeof m === "object" && m !== null && (m as { id?: unknown }).id === id;

async function rejects(
  p: Promise<unknown>,
  code: string,
): Promise<ClusterTrackerError> {
  const e = await p.then(() => assert.fail("it resolved"), (e) => e);
  assert.ok(e instanceof ClusterTrackerError, `a ClusterTrackerError: ${e}`);
  assert.equal(e.code, code);
  return e;
}

describe("ClusterTracker", () => {
  test("ClusterTracker.open() refuses unknown options, bad names, bad timings and a foreign node, before any I/O", async () => {
    const fake = { name: "x" } as unknown as ClusterNode;
    const start = () => self();
    const cases: [unknown, RegExp, ErrorConstructor][] = [
      [
        { start, colour: 1 },
        /^Cannot open a cluster tracker: unknown option "colour" \(known: name, start, afterTerminate, place, leaseMs, safetyMs, renewMs, replicas, onEvent\)$/,
        TypeError,
      ],
      [{ start: 1 }, /'start' must be a function/, TypeError],
      [{ start, name: "a.b" }, /'name' must be/, TypeError],
      [{ start, leaseMs: -1 }, /'leaseMs' must be/, RangeError],
      [{ start, place: "a" }, /'place' must be a function/, TypeError],
      [{ start }, /'node' must be this runtime's open ClusterNode/, TypeError],
    ];
    for (const [options, message, type] of cases) {
      await assert.rejects(
        ClusterTracker.open(fake, options as never),
        (e: unknown) => e instanceof type && message.test((e as Error).message),
      );
    }
  });

  test("findOrOpen() starts one child per id and gives it again; find() sees it; a child that ends releases its id, then afterTerminate runs", async () => {
    await withLocal(async ({ tracker, events, ended }) => {
      const [a, b] = await Promise.all([
        tracker.findOrOpen("s1", { args: 7 }),
        tracker.findOrOpen("s1"),
      ]);
      assert.equal(a, b);
      assert.equal(await tracker.findOrOpen("s1"), a);
      assert.equal(tracker.find("s1"), a);
      assert.equal(tracker.find("nope"), undefined);
      send(a, ["context", self()]);
      assert.deepEqual(await receive(contextOf("s1"), { timeout: WAIT_MS }), {
        id: "s1",
        args: 7,
        lost: null,
        attrs: {},
      });
      send(a, "crash");
      for (let i = 0; i < 200 && ended.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal(ended.length, 1);
      assert.equal(ended[0][0], "s1");
      assert.equal((ended[0][1] as Error).message, "boom");
      assert.equal(ended[0][2], false);
      assert.deepEqual(events.map((e) => [e.type, e.id]), [
        ["start", "s1"],
        ["stop", "s1"],
      ]);
      assert.ok(events[1].revision > events[0].revision);
      // Released: a new child.
      const c = await tracker.findOrOpen("s1");
      assert.notEqual(c, a);
    });
  });

  test("setAttr() resolves once stored; getAttr() reads it; attributes outlive the child and reach the next one; only the owner writes", async () => {
    await withLocal(async ({ tracker, events }) => {
      const pid = await tracker.findOrOpen("s2");
      await tracker.setAttr("s2", "bytes", 10);
      await Promise.all([
        tracker.setAttr("s2", "bytes", 20),
        tracker.setAttr("s2", "title", { name: "cam", tags: new Set([1]) }),
      ]);
      assert.equal(await tracker.getAttr("s2", "bytes"), 20);
      assert.deepEqual(await tracker.getAttr("s2", "title"), {
        name: "cam",
        tags: new Set([1]),
      });
      assert.equal(await tracker.getAttr("s2", "none"), undefined);
      assert.equal(await tracker.getAttr("never", "bytes"), undefined);
      const acks = events.filter((e) => e.type === "attr");
      assert.deepEqual(acks.map((e) => e.value), [10, 20, {
        name: "cam",
        tags: new Set([1]),
      }]);
      assert.throws(
        () => tracker.setAttr("s2", "f", () => 1),
        /Cannot send value: a function/,
      );
      await rejects(tracker.setAttr("other", "bytes", 1), "not_owner");
      exit(pid, "kill");
      const next = await tracker.findOrOpen("s2");
      send(next, ["context", self()]);
      const context = await receive(contextOf("s2"), {
        timeout: WAIT_MS,
      }) as {
        attrs: unknown;
      };
      assert.deepEqual(context.attrs, {
        bytes: 20,
        title: { name: "cam", tags: new Set([1]) },
      });
    });
  });

  test("findOrOpen() rejects with start_failed when start throws, and the id stays free; bad ids and options are refused", async () => {
    await withLocal(async ({ tracker }) => {
      const e = await rejects(
        tracker.findOrOpen("s3", { args: "fail" }),
        "start_failed",
      );
      assert.match(e.message, /no such stream/);
      assert.ok(await tracker.findOrOpen("s3"));
      await assert.rejects(tracker.findOrOpen("", {}), /'id' must be a string/);
      await assert.rejects(
        tracker.findOrOpen("s3", { wait: 1 } as never),
        {
          name: "TypeError",
          message:
            'Cannot findOrOpen: unknown option "wait" (known: args, timeout)',
        },
      );
      await assert.rejects(
        tracker.findOrOpen("s3", { timeout: 0 }),
        RangeError,
      );
    });
  });

  test("close() stops the children (shutdown, afterTerminate runs) and releases their ids; a closed tracker refuses with closed", async () => {
    await withLocal(async ({ tracker, ended }) => {
      await tracker.findOrOpen("x1");
      await tracker.findOrOpen("x2");
      await tracker.setAttr("x1", "n", 1);
      await tracker.close();
      assert.deepEqual(
        ended.map(([id, reason]) => [id, reason]).sort(),
        [["x1", "shutdown"], ["x2", "shutdown"]],
      );
      await rejects(tracker.findOrOpen("x1"), "closed");
      await tracker.close(); // idempotent
    });
  });
});

// ------------------------------------------------------------ faults --

/** The server and three node programs a, b, c; all stopped after `fn`. */
async function withNodes(
  fn: (server: NatsServer, nodes: NodeProgram[]) => Promise<void>,
): Promise<void> {
  const server = await NatsServer.start();
  const cluster = `f${Math.random().toString(36).slice(2, 8)}`;
  const nodes: NodeProgram[] = [];
  try {
    for (const name of ["a", "b", "c"]) {
      nodes.push(
        new NodeProgram(NODE_PROGRAM, server.url, name, cluster, LEASE_MS),
      );
    }
    for (const n of nodes) {
      await n.waitFor(new RegExp(`^ready ${n.name}$`, "m"));
    }
    // Each node hears of the others before placing ids on them.
    await new Promise((r) => setTimeout(r, 3 * RENEW_MS));
    await fn(server, nodes);
  } finally {
    await Promise.all(nodes.map((n) => n.kill()));
    await server.stop();
  }
}

const IDS = Array.from({ length: 12 }, (_, i) => `stream-${i}`);

/**
 * Opens every id through `via` until each is opened (placement may pick a
 * node that is gone: it fails fast, and the next try places it again).
 * Returns where each id runs.
 */
async function openAll(
  via: NodeProgram,
  ids: readonly string[],
  avoid?: string,
): Promise<Map<string, string>> {
  const where = new Map<string, string>();
  const deadline = Date.now() + WAIT_MS;
  while (where.size < ids.length) {
    if (Date.now() > deadline) {
      throw new Error(`could not open ${ids.filter((i) => !where.has(i))}`);
    }
    const from = via.stdout.length;
    const todo = ids.filter((id) => !where.has(id));
    for (const id of todo) via.say(`open ${id}`);
    for (const id of todo) {
      const m = await via.waitFor(
        new RegExp(`^(opened|failed) ${id} (\\S+)`, "m"),
        from,
      );
      // Until its lease lapses, a dead or paused node's child is the id's.
      if (m[1] === "opened" && m[2] !== avoid) where.set(id, m[2]);
    }
    if (where.size < ids.length) {
      await new Promise((r) => setTimeout(r, RENEW_MS));
    }
  }
  return where;
}

/**
 * Quiets the live nodes, takes the history (every node's events, after
 * `before`), then reads every id's `bytes` from `via`: in that order, so
 * that every write acknowledged in the history was stored before the read,
 * and every write that can land before it was attempted in the history
 * (a quiet node attempts none; its attempts before are all printed).
 */
async function finalState(
  via: NodeProgram,
  live: NodeProgram[],
  nodes: NodeProgram[],
  before: HistoryEvent[] = [],
): Promise<{
  events: HistoryEvent[];
  final: Map<string, Record<string, unknown>>;
}> {
  for (const n of live) {
    const from = n.stdout.length;
    n.say("quiet");
    await n.waitFor(/^quiet$/m, from);
  }
  // Writes in flight when quieted are answered within a few round trips
  // (fewer of unknown outcome in the history).
  await new Promise((r) => setTimeout(r, 300));
  const events = [...before, ...nodes.flatMap((n) => n.events())];
  const final = new Map<string, Record<string, unknown>>();
  const from = via.stdout.length;
  for (const id of IDS) via.say(`get ${id}`);
  for (const id of IDS) {
    const m = await via.waitFor(new RegExp(`^attr ${id} (.*)$`, "m"), from);
    final.set(id, { bytes: JSON.parse(m[1]) });
  }
  return { events, final };
}

function assertClean(
  events: HistoryEvent[],
  final: Map<string, Record<string, unknown>>,
) {
  const report = checkHistory(events, final);
  assert.deepEqual(report.overlaps, [], "no two live children of one id");
  assert.deepEqual(report.staleWrites, [], "no write after another claim");
  assert.deepEqual(
    report.lostWrites,
    [],
    `no acknowledged write lost; their ids' writes: ${
      report.lostWrites.map((w) =>
        JSON.stringify(
          events.filter((e) => e.id === w.id && e.type !== "start")
            .sort((a, b) => a.time - b.time).slice(-12),
        )
      ).join("\n")
    }`,
  );
  return report;
}

/** The real clock, whose reading can jump ahead (a pause, as SIGSTOP). */
class JumpClock implements Clock {
  offset = 0;
  now(): number {
    return realClock.now() + this.offset;
  }
  setTimeout(callback: () => void, ms: number): TimerHandle {
    return realClock.setTimeout(callback, ms);
  }
  clearTimeout(handle: TimerHandle): void {
    realClock.clearTimeout(handle);
  }
}

interface Proxied {
  proxy: NatsProxy;
  tracker: ClusterTracker;
  events: TrackerEvent[];
  /** The id `s9`'s entry as the store has it (read past the proxy). */
  stored: () => Promise<{ bytes: unknown; revision: number }>;
  /** A piece of the frame that writes `s9`'s entry. */
  writeMarker: string;
  /** A piece of the frame that reads it. */
  readMarker: string;
}

/**
 * A NATS server, a proxy in front of it, this process as node "t" through
 * the proxy, its tracker "media" with the id `s9` open and `bytes` 1000.
 * The lease is far longer than JetStream's 5 s request timeout: a write
 * goes unanswered while the node is not paused.
 */
async function withProxied(fn: (w: Proxied) => Promise<void>): Promise<void> {
  const server = await NatsServer.start();
  const proxy = await NatsProxy.start(server.port);
  const nc = await natsConnect({ servers: server.url });
  let node: ClusterNode | undefined;
  let tracker: ClusterTracker | undefined;
  try {
    node = await connect({
      servers: proxy.url,
      node: "t",
      cluster: "lw",
      heartbeatMs: 200,
      leaseMs: 30_000,
    });
    const events: TrackerEvent[] = [];
    tracker = await ClusterTracker.open(node, {
      name: "media",
      start: () => spawn(() => receive((m) => m === "stop")),
      onEvent: (e) => events.push(e),
    });
    const bucket = "steward_lw_tracker_media";
    const key = entryKey("s9");
    const kv = await new Kvm(nc).open(bucket);
    const stored = async () => {
      const e = await kv.get(key);
      const entry = JSON.parse(new TextDecoder().decode(e!.value));
      return { bytes: entry.attrs.bytes, revision: e!.revision };
    };
    await tracker.findOrOpen("s9");
    await tracker.setAttr("s9", "bytes", 1000);
    await fn({
      proxy,
      tracker,
      events,
      stored,
      writeMarker: `PUB $KV.${bucket}.${key} `,
      // The tracker reads from the stream's leader (allow_direct off): a
      // STREAM.MSG.GET request that names the key in its body.
      readMarker: `"last_by_subj":"$KV.${bucket}.${key}"`,
    });
  } finally {
    await tracker?.close();
    await node?.close();
    await nc.close();
    await proxy.stop();
    await server.stop();
  }
}

/** The KV key of `id`'s entry (as cluster_tracker.ts names it). */
function entryKey(id: string): string {
  return "i." +
    btoa(id).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
}

describe("ClusterTracker attribute writes whose answer is lost", () => {
  test("setAttr() of a write the store kept but whose answer was lost resolves, acknowledged at the store's revision; one the store never got is made again; none is reported failed", async () => {
    await withProxied(
      async ({ proxy, tracker, events, stored, writeMarker }) => {
        // 1. The store keeps the write; its answer is lost (the connection
        // is cut before it gets back), so the request times out.
        const lost = proxy.arm(writeMarker, "lose_reply");
        const write = tracker.setAttr("s9", "bytes", 2000);
        await lost;
        const deadline = Date.now() + WAIT_MS;
        while ((await stored()).bytes !== 2000) {
          assert.ok(Date.now() < deadline, "the store got the write");
          await new Promise((r) => setTimeout(r, 20));
        }
        const kept = await stored();
        proxy.cut();
        await write; // not a rejection: the write is stored
        assert.equal(await tracker.getAttr("s9", "bytes"), 2000);
        let acks = events.filter((e) => e.type === "attr");
        assert.deepEqual(acks.map((e) => e.value), [1000, 2000]);
        assert.equal(acks[1].revision, kept.revision);

        // 2. The store never gets the write (dropped on the way): it is
        // made again at the revision read back.
        const dropped = proxy.arm(writeMarker, "drop");
        const again = tracker.setAttr("s9", "bytes", 3000);
        await dropped;
        await again;
        assert.equal(await tracker.getAttr("s9", "bytes"), 3000);

        // 3. Writes go on as usual, at the revisions the store gave.
        await tracker.setAttr("s9", "bytes", 4000);
        acks = events.filter((e) => e.type === "attr");
        assert.deepEqual(acks.map((e) => e.value), [1000, 2000, 3000, 4000]);
        assert.equal(acks[3].revision, (await stored()).revision);
        assert.equal((await stored()).bytes, 4000);
        const revisions = acks.map((e) => e.revision);
        assert.deepEqual(revisions, [...revisions].sort((a, b) => a - b));
      },
    );
  });

  test("setAttr() whose write and read-back both go unanswered rejects with timeout (it may or may not be stored), not with a code that says it was not made; the next write works", async () => {
    await withProxied(
      async ({ proxy, tracker, events, stored, writeMarker, readMarker }) => {
        const dropped = proxy.arm(writeMarker, "drop");
        const write = tracker.setAttr("s9", "bytes", 2000);
        await dropped;
        const unread = proxy.arm(readMarker, "drop");
        const e = await rejects(write, "timeout");
        await unread;
        assert.match(e.message, /may or may not have been stored/);
        assert.equal((await stored()).bytes, 1000);
        assert.deepEqual(
          events.filter((e) => e.type === "attr").map((e) => e.value),
          [1000],
        );
        await tracker.setAttr("s9", "bytes", 3000);
        assert.equal((await stored()).bytes, 3000);
      },
    );
  });
});

describe("ClusterTracker fencing inside the node", () => {
  test("start() gets the claim revision as its fencing token; a pause during start() kills what start spawned before it runs again, and findOrOpen rejects with fenced", async () => {
    const clock = new JumpClock();
    const restore = useClock(clock);
    const server = await NatsServer.start();
    let node: ClusterNode | undefined;
    let tracker: ClusterTracker | undefined;
    try {
      node = await connect({
        servers: server.url,
        node: "t",
        cluster: "ct",
        heartbeatMs: 100,
        leaseMs: LEASE_MS,
      });
      const main = self();
      const events: TrackerEvent[] = [];
      const tokens: number[] = [];
      const ran: string[] = [];
      let open!: () => void;
      const gate = new Promise<void>((r) => open = r);
      tracker = await ClusterTracker.open(node, {
        name: "media",
        start: async (id, { fencingToken }) => {
          tokens.push(fencingToken);
          if (id === "slow") {
            const helper = spawn(async () => {
              for (;;) ran.push(`helper ${await receive()}`);
            });
            send(main, ["helper", helper]);
            await gate; // start still under way
            ran.push("start resumed");
          }
          return spawn(async () => {
            for (;;) ran.push(`${id} ${await receive()}`);
          });
        },
        onEvent: (e) => events.push(e),
      });
      // The fencing token is the claim's revision, and grows.
      const first = await tracker.findOrOpen("fast");
      assert.equal(tokens[0], events[0].revision);
      exit(first, "kill");
      for (let i = 0; i < 200 && events.length < 2; i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      await tracker.findOrOpen("fast");
      assert.ok(tokens[1] > tokens[0], `tokens grow: ${tokens}`);
      // A pause while start() awaits: what it spawned never runs again.
      const opening = tracker.findOrOpen("slow").then(
        () => assert.fail("it resolved"),
        (e) => e,
      );
      const [, helper] = await receive(
        (m) => Array.isArray(m) && m[0] === "helper",
        { timeout: WAIT_MS },
      ) as [string, Pid];
      send(helper, "before");
      for (let i = 0; i < 200 && ran.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.deepEqual(ran, ["helper before"]);
      const ref = monitor(helper);
      clock.offset += 10 * LEASE_MS; // paused past the lease
      send(helper, "after");
      const down = await receive(
        (m) => Array.isArray(m) && m[0] === "DOWN" && m[1] === ref,
        { timeout: WAIT_MS },
      ) as unknown[];
      assert.equal(down[4], "killed");
      const error = await opening;
      assert.ok(error instanceof ClusterTrackerError, String(error));
      assert.equal(error.code, "fenced");
      open(); // start returns now, on a node fenced meanwhile
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(ran, ["helper before", "start resumed"]);
      assert.equal(tracker.find("slow"), undefined);
    } finally {
      await tracker?.close();
      await node?.close();
      await server.stop();
      restore();
    }
  });
});

describe("ClusterTracker and hostile callbacks", () => {
  test("a throwing place, onEvent or afterTerminate, a start that returns no pid, a cyclic attribute: errors where they belong, the tracker goes on", async () => {
    await withLocal(async ({ node }) => {
      const captured = captureReports("error");
      const hostile = await ClusterTracker.open(node, {
        name: "hostile",
        start: (id) =>
          id === "nopid"
            ? "not a pid" as never
            : spawn(async () => void await receive()),
        place: (id) => {
          if (id === "throw") throw new Error("place failed");
          return "t";
        },
        onEvent: () => {
          throw new Error("observer failed");
        },
        afterTerminate: () => {
          throw new Proxy({}, {
            get() {
              throw new Error("hostile");
            },
          });
        },
      });
      try {
        await assert.rejects(hostile.findOrOpen("throw"), /place failed/);
        await rejects(hostile.findOrOpen("nopid"), "start_failed");
        const pid = await hostile.findOrOpen("ok");
        const cycle: Record<string, unknown> = {};
        cycle.self = cycle;
        assert.throws(() => hostile.setAttr("ok", "c", cycle), TypeError);
        await hostile.setAttr("ok", "n", 1);
        exit(pid, "kill");
        for (let i = 0; i < 100 && captured.reports.length === 0; i++) {
          await new Promise((r) => setTimeout(r, 10));
        }
        assert.equal(captured.reports[0]?.kind, "after_terminate_failed");
        // Released despite it all: a new child.
        assert.notEqual(await hostile.findOrOpen("ok"), pid);
        assert.equal(await hostile.getAttr("ok", "n"), 1);
      } finally {
        captured.restore();
        await hostile.close();
      }
    });
  });
});

describe("ClusterTracker across nodes", () => {
  test("find(), findOrOpen() and getAttr() of an id whose child runs on another node; place() puts new ids there", async () => {
    await withLocal(async ({ server, node, tracker }) => {
      const a = new NodeProgram(NODE_PROGRAM, server.url, "a", "ct", LEASE_MS);
      try {
        await a.waitFor(/^ready a$/m);
        // a places by the id's hash over [a, t]: find an id it puts on a.
        const from = a.stdout.length;
        a.say("open remote-1");
        const m = await a.waitFor(/^opened remote-1 (\S+)$/m, from);
        const owner = m[1];
        const pid = await tracker.findOrOpen("remote-1");
        assert.equal(node.nodeOf(pid), owner);
        if (owner === "a") {
          // The watch brings a's entry into this node's cache.
          for (
            let i = 0;
            i < 100 && tracker.find("remote-1") === undefined;
            i++
          ) {
            await new Promise((r) => setTimeout(r, 20));
          }
          assert.equal(tracker.find("remote-1"), pid);
          await a.waitFor(/"type":"attr","id":"remote-1"/);
          assert.ok((await tracker.getAttr("remote-1", "bytes") as number) > 0);
          await rejects(tracker.setAttr("remote-1", "bytes", 0), "not_owner");
        }
      } finally {
        await a.close();
      }
    });
  });

  test("findOrOpen() placed on a node with no such tracker rejects with no_tracker; place() must name a live node", async () => {
    await withLocal(async ({ server, node }) => {
      const a = new NodeProgram(NODE_PROGRAM, server.url, "a", "ct", LEASE_MS);
      try {
        await a.waitFor(/^ready a$/m);
        for (let i = 0; i < 100 && !node.nodes().includes("a"); i++) {
          await new Promise((r) => setTimeout(r, 20));
        }
        const other = await ClusterTracker.open(node, {
          name: "other",
          start: () => self(),
          place: (id) => id === "x" ? "a" : "nowhere",
        });
        try {
          const e = await rejects(other.findOrOpen("x"), "no_tracker");
          assert.match(e.message, /node "a" has no tracker "other"/);
          await assert.rejects(
            other.findOrOpen("y"),
            /'place' returned "nowhere", not one of the live nodes \["a","t"\]/,
          );
        } finally {
          await other.close();
        }
      } finally {
        await a.close();
      }
    });
  });
});

describe("ClusterTracker faults (nodes as OS processes)", () => {
  test("SIGKILL of a node: its ids reopen on the others once its lease lapsed, with every acknowledged byte; no overlap", async () => {
    await withNodes(async (_server, [a, b, c]) => {
      const before = await openAll(a, IDS);
      const onB = IDS.filter((id) => before.get(id) === "b");
      assert.ok(onB.length > 0, `placement put ids on b: ${[...before]}`);
      await b.waitFor(/"type":"attr"/);
      await new Promise((r) => setTimeout(r, 300)); // some bytes served
      const crash: HistoryEvent = {
        type: "crash",
        node: "b",
        time: Date.now(),
      };
      await b.kill();
      const after = await openAll(a, IDS, "b");
      for (const id of onB) assert.notEqual(after.get(id), "b");
      // The new owner's "start" line may still be on its way through the
      // pipe after a has its answer.
      const startedElsewhere = (id: string) =>
        [...a.events(), ...c.events()].some((e) =>
          e.type === "start" && e.id === id
        );
      for (let i = 0; i < 100 && !onB.every(startedElsewhere); i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const events = [crash, ...a.events(), ...b.events(), ...c.events()];
      for (const id of onB) {
        const reopened = events.find((e) =>
          e.type === "start" && e.id === id && e.node !== "b"
        );
        assert.ok(reopened, `${id} reopened`);
        // b's last renewal was at most RENEW_MS before the kill, and the
        // new owner waited a whole lease after first seeing it.
        assert.ok(
          reopened.time >= crash.time + LEASE_MS - RENEW_MS - 20,
          `${id} reopened ${reopened.time - crash.time} ms after the kill`,
        );
      }
      await new Promise((r) => setTimeout(r, 300));
      const { events: history, final } = await finalState(
        a,
        [a, c],
        [a, b, c],
        [crash],
      );
      const report = assertClean(history, final);
      assert.equal(report.ids, IDS.length);
      for (const id of onB) {
        assert.ok((final.get(id)!.bytes as number) > 0, `${id} kept its bytes`);
      }
      // Nobody ran afterTerminate for b's children; their next opener was
      // told that b lost them.
      const lost = [...a.stdout.split("\n"), ...c.stdout.split("\n")]
        .filter((l) => l.startsWith("LOST ")).map((l) =>
          JSON.parse(l.slice(5))
        );
      assert.deepEqual(
        lost.map((l) => [l.id, l.lost]).sort(),
        onB.map((id) => [id, "b"]).sort(),
      );
      assert.ok(!b.stdout.includes("AFTER "));
      await a.close();
      await c.close();
    });
  });

  test("SIGSTOP of a node past its lease, then SIGCONT: it had fenced its children (their stop dated by the fence), the ids run elsewhere; no overlap", async () => {
    await withNodes(async (_server, [a, b, c]) => {
      const before = await openAll(a, IDS);
      const onB = IDS.filter((id) => before.get(id) === "b");
      assert.ok(onB.length > 0, `placement put ids on b: ${[...before]}`);
      await b.waitFor(/"type":"attr"/);
      await new Promise((r) => setTimeout(r, 200));
      b.signal("SIGSTOP");
      const pausedAt = Date.now();
      let after: Map<string, string>;
      try {
        after = await openAll(a, IDS, "b");
        // Paused longer than the lease, whatever openAll took.
        const left = pausedAt + 2 * LEASE_MS - Date.now();
        if (left > 0) await new Promise((r) => setTimeout(r, left));
      } finally {
        b.signal("SIGCONT");
      }
      for (const id of onB) assert.notEqual(after.get(id), "b");
      for (const id of onB) {
        await b.waitFor(new RegExp(`"type":"stop","id":"${id}"`));
      }
      const stops = b.events().filter((e) => e.type === "stop");
      for (const id of onB) {
        const stop = stops.find((e) => e.id === id);
        assert.equal(stop?.fenced, true, `${id} was fenced on b`);
        assert.equal(
          stop?.reason,
          "killed",
          `${id} was killed on b: ${
            JSON.stringify(b.events().filter((e) => e.id === id).slice(-4)) +
            b.stdout.split("\n").filter((l) =>
              l.startsWith("DEBUG") && (l.includes("fence") || l.includes(id))
            ).slice(-6).join("\n")
          }`,
        );
      }
      // Past its fence deadline a child of b ran none of its code: no write
      // attempt, no refusal (the scheduler checks the lease before a turn).
      for (const id of onB) {
        const stop = stops.find((e) => e.id === id)!;
        const late = b.events().filter((e) =>
          e.id === id &&
          (e.type === "attempt" || e.type === "refused" ||
            e.type === "unknown") &&
          e.time > stop.time
        );
        assert.deepEqual(
          late,
          [],
          `${id}: nothing ran past the deadline (${stop.time}, paused at ${pausedAt})`,
        );
      }
      // afterTerminate ran on b, as it resumed, with fenced: true.
      for (const id of onB) {
        await b.waitFor(new RegExp(`^AFTER \\{"id":"${id}"`, "m"));
      }
      const ran = b.stdout.split("\n").filter((l) => l.startsWith("AFTER "))
        .map((l) => JSON.parse(l.slice(6)));
      for (const id of onB) {
        assert.deepEqual(ran.find((x) => x.id === id), {
          id,
          node: "b",
          reason: "killed",
          fenced: true,
        });
      }
      const { events: history, final } = await finalState(
        a,
        [a, b, c],
        [a, b, c],
      );
      const report = assertClean(history, final);
      for (const id of onB) {
        const [first, second] = report.intervals.filter((i) => i.id === id);
        assert.equal(first.node, "b");
        assert.equal(first.end, "fenced");
        assert.ok(
          second.from >= first.to,
          "the next child started after the fence",
        );
        assert.ok(second.revision > first.revision);
      }
      await a.close();
      await b.close();
      await c.close();
    });
  });
});

describe("npm run demo:cluster (examples/cluster/media.ts)", () => {
  test("the demo kills one node, pauses another past its lease, and ends with 0 overlaps and every byte accounted for", async () => {
    const demo = fileURLToPath(
      new URL(
        `../examples/cluster/media.${
          import.meta.url.endsWith(".ts") ? "ts" : "js"
        }`,
        import.meta.url,
      ),
    );
    const isDeno = (globalThis as { Deno?: unknown }).Deno !== undefined;
    const child = spawnOs(
      process.execPath,
      isDeno ? ["run", "-A", demo] : [demo],
      {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
      },
    );
    let out = "";
    child.stdout!.setEncoding("utf8");
    child.stderr!.setEncoding("utf8");
    child.stdout!.on("data", (s: string) => out += s);
    child.stderr!.on("data", (s: string) => out += s);
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
      child.once("exit", (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
    child.stdout!.destroy();
    child.stderr!.destroy();
    const last = out.trim().split("\n").at(-1);
    assert.equal(
      last,
      "cluster: 24 ids, 0 overlaps, every byte accounted for: yes",
      out,
    );
    assert.equal(code, 0, out);
    assert.match(out, /SIGKILL b/);
    assert.match(out, /c fenced [1-9]\d* streams/);
  });
});
