// system.ts: the introspection API (issue 14): processes(), processSnapshot(),
// supervisionTrees(), tables(), events(), setLabel(). Asserts what an
// observer page sees: kinds, names, counters, relations, child states (a
// director's delayed restart on the virtual clock), table owners and heirs,
// the event stream and its bounded buffer, hostile values.
import { describe, test } from "./_harness.ts";
import assert from "node:assert/strict";
import {
  events,
  processes,
  processSnapshot,
  setLabel,
  supervisionTrees,
  type SystemEvent,
  tables,
  type TreeSnapshot,
} from "../system.ts";
import * as genServer from "../gen_server.ts";
import * as supervisor from "../supervisor.ts";
import * as director from "../director.ts";
import * as tracker from "../tracker.ts";
import * as TableManager from "../table_manager.ts";
import * as task from "../task.ts";
import * as Ets from "../ets.ts";
import {
  exit,
  link,
  monitor,
  Pid,
  receive,
  register,
  self,
  send,
  spawn,
  spawnLink,
  unlink,
} from "../process.ts";
import {
  assertNoMessages,
  downReason,
  flush,
  forever,
  settle,
  withClock,
} from "./_helpers.ts";
import { HostileError, throwingProxy } from "./_hostile.ts";
import { procOf, setTreeHook, watch } from "../_runtime.ts";

// What lived before these tests: the hygiene test at the end checks that
// nothing else is left.
const before = new Set(processes().map((p) => p.pid));
const tablesBefore = new Set(tables().map((t) => t.name));

/** The events of one type. */
type Ev<T extends SystemEvent["type"]> = SystemEvent & { type: T };

function snap(pid: Pid) {
  const s = processSnapshot(pid);
  assert.ok(s !== undefined, `${pid} should be listed`);
  return s;
}

function listed(pid: Pid): boolean {
  return processes().some((p) => p.pid === pid);
}

/** Kills `pid` and waits for its death. */
async function kill(pid: Pid): Promise<void> {
  const ref = monitor(pid);
  exit(pid, "kill");
  await downReason(ref);
}

const idleServer: genServer.GenServer<number, undefined> = {
  init: () => ["ok", 0],
  handleCall: (_r, _f, n) => ["reply", n, n],
  handleCast: (_m, n) => ["noreply", n + 1],
};

function findTree(pid: Pid): TreeSnapshot {
  const t = supervisionTrees().find((x) => x.pid === pid);
  assert.ok(t !== undefined, `a tree rooted at ${pid} expected`);
  return t;
}

/** Takes events from `stream` until `stop(e)` holds; returns them all. */
async function collect(
  stream: AsyncIterableIterator<SystemEvent>,
  stop: (e: SystemEvent) => boolean,
): Promise<SystemEvent[]> {
  const seen: SystemEvent[] = [];
  for (;;) {
    const r = await stream.next();
    assert.equal(r.done, false, "the stream ended early");
    seen.push(r.value);
    if (stop(r.value)) return seen;
  }
}

// ------------------------------------------------------------ processes --

describe("processes()", () => {
  test("processes() lists main, spawned processes and gen_servers with their kinds and names", async () => {
    const main = processes().filter((p) => p.kind === "main");
    assert.equal(main.length, 1);
    assert.equal(main[0].pid, self());
    assert.equal(main[0].trapExit, true);
    assert.equal(main[0].parent, undefined);

    const plain = spawn(forever);
    assert.equal(snap(plain).status, "runnable"); // it has not run yet
    const server = await genServer.start(idleServer, undefined, {
      name: "sys_server",
    });
    const p = snap(plain);
    assert.equal(p.kind, "process");
    assert.equal(p.name, undefined);
    assert.equal(p.parent, self());
    assert.equal(p.status, "waiting");
    const s = snap(server);
    assert.equal(s.kind, "gen_server");
    assert.equal(s.name, "sys_server");
    assert.equal(s.status, "waiting");
    assert.equal(s.parent, self());
    assert.ok(s.memory > 0 && Number.isInteger(s.memory));
    // Oldest first.
    const order = processes().map((x) => x.pid);
    assert.ok(order.indexOf(plain) < order.indexOf(server));

    await genServer.stop(server);
    await kill(plain);
    await assertNoMessages();
  });

  test("processes() counts messages received and sent, and the queue length", async () => {
    const sink = spawn(forever);
    const before = snap(self()).messagesSent;
    send(sink, "a");
    send(sink, "b");
    send(sink, "c");
    const s = snap(sink);
    assert.equal(s.messagesReceived, 3);
    assert.equal(s.messageQueueLength, 3);
    assert.equal(s.messagesSent, 0);
    assert.equal(snap(self()).messagesSent, before + 3);

    const server = await genServer.start(idleServer, undefined);
    const sentBefore = snap(self()).messagesSent;
    genServer.cast(server, "x");
    assert.equal(await genServer.call(server, "get"), 1);
    assert.equal(snap(self()).messagesSent, sentBefore + 2);
    assert.equal(snap(server).messagesReceived, 2);
    assert.equal(snap(server).messageQueueLength, 0);

    // A process's own sends count for it.
    const echo = spawn(async () => {
      const from = await receive() as Pid;
      send(from, "pong");
      send(from, "pong");
      await forever();
    });
    send(echo, self());
    await receive((m) => m === "pong");
    await receive((m) => m === "pong");
    assert.equal(snap(echo).messagesSent, 2);
    assert.equal(snap(echo).messagesReceived, 1);

    await genServer.stop(server);
    await kill(sink);
    await kill(echo);
    await assertNoMessages();
  });

  test("message counters go on past 2^30 - 1 (kept small on the record, carried over)", async () => {
    const sink = spawn(forever);
    const wrap = 0x3fffffff;
    procOf(sink).received = wrap - 2;
    for (let i = 0; i < 5; i++) send(sink, i);
    assert.equal(snap(sink).messagesReceived, wrap + 3);
    assert.ok(procOf(sink).received < wrap);
    const sender = spawn(async () => {
      await receive();
      for (let i = 0; i < 4; i++) send(sink, i);
      await forever();
    });
    procOf(sender).sent = wrap - 1;
    send(sender, "go");
    await settle();
    assert.equal(snap(sender).messagesSent, wrap + 3);
    await kill(sink);
    await kill(sender);
  });

  test("processes() shows links, monitors, monitoredBy and trapExit", async () => {
    const a = spawnLink(forever);
    const b = spawn(forever);
    const ref = monitor(b);
    const me = snap(self());
    assert.ok(me.links.includes(a));
    assert.ok(me.monitors.includes(b));
    const sa = snap(a);
    assert.deepEqual(sa.links, [self()]);
    assert.equal(sa.trapExit, false);
    const sb = snap(b);
    assert.deepEqual(sb.monitoredBy, [self()]);
    assert.deepEqual(sb.links, []);
    unlink(a);
    assert.deepEqual(snap(a).links, []);
    link(a);
    await kill(b);
    assert.ok(!snap(self()).monitors.includes(b));
    void ref;
    exit(a, "kill");
    await flush();
  });

  test("processes() gives each process the clock time it was spawned at, and keeps it", async () => {
    await withClock(async (clock) => {
      await clock.advance(1000);
      const early = spawn(forever);
      const seenBeforeFirstTurn = snap(early).startedAt;
      assert.equal(seenBeforeFirstTurn, 1000);
      const quiet = spawn(forever); // first seen after its first turn
      await settle();
      await clock.advance(250);
      const late = spawn(forever);
      await settle();
      await clock.advance(5);
      assert.equal(snap(early).startedAt, 1000);
      assert.equal(snap(quiet).startedAt, 1000);
      assert.equal(snap(late).startedAt, 1250);
      const server = await genServer.start(idleServer, undefined);
      assert.equal(snap(server).startedAt, 1255);
      await genServer.stop(server);
      for (const p of [early, quiet, late]) await kill(p);
    });
  });

  test("processes() lists a process in its first turn and ones not run yet, oldest first", async () => {
    const main = self();
    const a = spawn(() => {
      const all = processes().map((p) => p.pid);
      send(main, ["seen", all.includes(self()), all.includes(b)]);
    });
    const b = spawn(forever);
    const ids = processes().map((p) => p.pid);
    assert.ok(ids.indexOf(a) >= 0 && ids.indexOf(a) < ids.indexOf(b));
    assert.deepEqual(await receive((m) => Array.isArray(m)), [
      "seen",
      true,
      true,
    ]);
    await kill(b);
  });

  test("a dead process disappears from processes() and processSnapshot()", async () => {
    const pid = spawn(forever);
    assert.ok(listed(pid));
    await kill(pid);
    assert.equal(listed(pid), false);
    assert.equal(processSnapshot(pid), undefined);
    const quick = spawn(() => {});
    assert.ok(listed(quick));
    await settle();
    assert.equal(listed(quick), false);
  });

  test("a process whose death is under way shows as exiting, then disappears", async () => {
    const a = spawn(forever);
    const b = spawn(async () => {
      link(a);
      await forever();
    });
    await settle();
    let seen: string | undefined;
    // Heard while a dies: b, linked, is dead already, its death queued.
    watch(procOf(a), {
      owner: null,
      down() {
        seen = processSnapshot(b)?.status;
      },
    });
    exit(a, "boom");
    assert.equal(seen, "exiting");
    assert.equal(processSnapshot(b), undefined);
    assert.equal(processSnapshot(a), undefined);
  });

  test("processSnapshot() refuses a non-pid with a TypeError naming it", () => {
    assert.throws(
      () => processSnapshot("nope" as unknown as Pid),
      { name: "TypeError", message: /'pid' must be a Pid, got "nope"/ },
    );
    assert.throws(
      () => processSnapshot(throwingProxy() as unknown as Pid),
      TypeError,
    );
  });

  test("snapshots are plain data: JSON-encodable once pids are strings", async () => {
    const pid = spawn(forever);
    const json = JSON.stringify(
      processes(),
      (_k, v) => v instanceof Pid ? String(v) : v,
    );
    assert.ok(json.includes(String(pid)));
    await kill(pid);
  });
});

describe("setLabel()", () => {
  test("setLabel() labels the calling process; '' clears it", async () => {
    const pid = spawn(async () => {
      setLabel("worker 7");
      await receive((m) => m === "clear");
      setLabel("");
      await forever();
    });
    await settle();
    assert.equal(snap(pid).label, "worker 7");
    send(pid, "clear");
    await settle();
    assert.equal(snap(pid).label, undefined);
    await kill(pid);
  });

  test("gen_server.start() takes a label option; a non-string is a TypeError", async () => {
    const server = await genServer.start(idleServer, undefined, {
      label: "cache",
    });
    assert.equal(snap(server).label, "cache");
    assert.equal(snap(server).kind, "gen_server");
    await assert.rejects(
      genServer.start(idleServer, undefined, {
        label: 7 as unknown as string,
      }),
      {
        name: "TypeError",
        message: "Cannot start: 'label' must be a string, got 7",
      },
    );
    await genServer.stop(server);
  });

  test("supervisors, directors, trackers, table managers and task supervisors take a label option", async () => {
    const sup = await supervisor.start({ children: [] }, { label: "sup" });
    const dyn = await supervisor.startDynamic({}, { label: "dyn" });
    const dir = await director.start({}, { label: "dir" });
    const trk = await tracker.start("sys_label_trk", { label: "trk" });
    const mgr = await TableManager.start("sys_label_consumer", undefined, {
      label: "mgr",
    });
    const tasks = await task.startSupervisor({ label: "tasks" });
    try {
      assert.deepEqual(
        [sup, dyn, dir, trk, mgr, tasks].map((p) => snap(p).label),
        ["sup", "dyn", "dir", "trk", "mgr", "tasks"],
      );
      assert.equal(findTree(dir).label, "dir");
      const bad = 7 as unknown as string;
      const starts: [string, () => Promise<unknown>][] = [
        ["start", () => supervisor.start({ children: [] }, { label: bad })],
        ["startDynamic", () => supervisor.startDynamic({}, { label: bad })],
        ["start", () => director.start({}, { label: bad })],
        ["start tracker", () => tracker.start("sys_label_x", { label: bad })],
        [
          "start",
          () => TableManager.start("sys_label_y", undefined, { label: bad }),
        ],
        ["startSupervisor", () => task.startSupervisor({ label: bad })],
      ];
      for (const [op, start] of starts) {
        await assert.rejects(start(), {
          name: "TypeError",
          message: `Cannot ${op}: 'label' must be a string, got 7`,
        });
      }
    } finally {
      await supervisor.stop(sup);
      await supervisor.stop(dyn);
      await director.stop(dir);
      await tracker.stop(trk);
      await TableManager.stop(mgr);
      await supervisor.stop(tasks);
    }
  });

  test("setLabel() refuses a non-string with a TypeError", () => {
    assert.throws(() => setLabel(42 as unknown as string), {
      name: "TypeError",
      message: "Cannot setLabel: 'label' must be a string, got 42",
    });
  });
});

// ---------------------------------------------------------------- trees --

describe("supervisionTrees()", () => {
  test("supervisionTrees() nests a supervisor, a director, a tracker and a dynamic supervisor under one root", async () => {
    const top = await supervisor.start({
      strategy: "rest_for_one",
      children: [
        {
          id: "worker",
          start: () => genServer.startLink(idleServer, undefined),
        },
        {
          id: ["inner", 1],
          type: "supervisor",
          start: () =>
            supervisor.startLink({
              children: [{ id: "leaf", start: () => spawnLink(forever) }],
            }),
        },
        {
          id: "dir",
          type: "supervisor",
          start: () =>
            director.startLink({
              children: [{
                id: "d1",
                start: () => spawnLink(forever),
                plan: ["restart"],
              }],
            }),
        },
        {
          id: "trk",
          type: "supervisor",
          start: () => tracker.startLink("sys_trk"),
        },
        {
          id: "dyn",
          type: "supervisor",
          start: () => supervisor.startDynamicLink({}),
        },
      ],
    }, { name: "sys_top" });
    await tracker.findOrOpen("sys_trk", {
      id: "t1",
      start: () => spawnLink(forever),
    });

    const tree = findTree(top);
    assert.equal(tree.kind, "supervisor");
    assert.equal(tree.name, "sys_top");
    assert.equal(tree.strategy, "rest_for_one");
    assert.equal(tree.restarts, 0);
    assert.deepEqual(
      tree.children.map((c) => [c.id, c.state, c.type, c.tree?.kind]),
      [
        ['"worker"', "running", "worker", undefined],
        ['["inner", 1]', "running", "supervisor", "supervisor"],
        ['"dir"', "running", "supervisor", "director"],
        ['"trk"', "running", "supervisor", "tracker"],
        ['"dyn"', "running", "supervisor", "dynamic_supervisor"],
      ],
    );
    const [, inner, dir, trk, dyn] = tree.children;
    assert.equal(inner.tree!.children[0].id, '"leaf"');
    assert.equal(inner.tree!.strategy, "one_for_one");
    assert.equal(dir.tree!.strategy, undefined);
    assert.equal(dir.tree!.children[0].id, '"d1"');
    assert.equal(trk.tree!.name, "sys_trk");
    assert.equal(trk.tree!.children[0].id, '"t1"');
    assert.equal(trk.tree!.children[0].state, "running");
    assert.deepEqual(dyn.tree!.children, []);
    // The nested ones are not roots.
    const roots = supervisionTrees().map((t) => t.pid);
    for (const c of tree.children) assert.ok(!roots.includes(c.pid!));
    // Kinds in processes() too.
    assert.equal(snap(dir.pid!).kind, "director");
    assert.equal(snap(trk.pid!).kind, "tracker");
    assert.equal(snap(dyn.pid!).kind, "dynamic_supervisor");

    await supervisor.stop(top);
    assert.ok(!supervisionTrees().some((t) => t.pid === top));
    await assertNoMessages();
  });

  test("supervisionTrees() counts a supervisor's restarts in its intensity window", async () => {
    await withClock(async (clock) => {
      const sup = await supervisor.start({
        intensity: 5,
        period: 10,
        children: [{ id: "w", start: () => spawnLink(forever) }],
      });
      const first = findTree(sup).children[0].pid!;
      await kill(first);
      await settle();
      let t = findTree(sup);
      assert.equal(t.restarts, 1);
      assert.equal(t.children[0].restarts, 1);
      assert.equal(t.children[0].state, "running");
      assert.notEqual(t.children[0].pid, first);
      await clock.advance(10_001);
      t = findTree(sup);
      assert.equal(t.restarts, 0);
      await supervisor.stop(sup);
    });
    await assertNoMessages();
  });

  test("supervisionTrees() shows a tracker's restarted child with its count, and its intensity window", async () => {
    const trk = await tracker.start("sys_trk_restarts");
    const first = await tracker.findOrOpen("sys_trk_restarts", {
      id: ["stream", 1],
      restart: "permanent",
      start: () => spawnLink(forever),
    });
    await kill(first);
    for (
      let i = 0;
      i < 10 && findTree(trk).children[0]?.state !== "running";
      i++
    ) await settle();
    const t = findTree(trk);
    assert.equal(t.kind, "tracker");
    assert.equal(t.restarts, 1);
    assert.equal(t.children[0].id, '["stream", 1]');
    assert.equal(t.children[0].restarts, 1);
    assert.notEqual(t.children[0].pid, first);
    await tracker.stop("sys_trk_restarts");
    await flush();
  });

  test("supervisionTrees() shows a director's delayed restart as restarting with restartAt", async () => {
    await withClock(async (clock) => {
      const dir = await director.start({
        children: [{
          id: "slow",
          start: () => spawnLink(forever),
          plan: [["restart", 500]],
        }],
      });
      const child = findTree(dir).children[0];
      assert.equal(child.state, "running");
      await kill(child.pid!);
      await settle();
      let c = findTree(dir).children[0];
      assert.equal(c.state, "restarting");
      assert.equal(c.pid, undefined);
      assert.equal(c.restartAt, clock.now() + 500);
      assert.equal(c.restarts, 1);
      assert.equal(findTree(dir).restarts, 1);
      await clock.advance(500);
      c = findTree(dir).children[0];
      assert.equal(c.state, "running");
      assert.equal(c.restartAt, undefined);
      assert.ok(c.pid !== undefined && c.pid !== child.pid);
      await director.stop(dir);
    });
    await assertNoMessages();
  });

  test("supervisionTrees() shows a table manager with its consumer, and task supervisors", async () => {
    const manager = await TableManager.start("sys_consumer", undefined, {
      tableName: "sys_tm_table",
    });
    let t = findTree(manager);
    assert.equal(t.kind, "table_manager");
    assert.deepEqual(t.children.map((c) => [c.id, c.state, c.pid]), [
      ['"sys_consumer"', "stopped", undefined],
    ]);
    const consumer = spawn(forever);
    register("sys_consumer", consumer);
    for (
      let i = 0;
      i < 10 && findTree(manager).children[0].state !== "running";
      i++
    ) {
      await settle();
    }
    t = findTree(manager);
    assert.equal(t.children[0].state, "running");
    assert.equal(t.children[0].pid, consumer);
    assert.equal(t.children[0].tree, undefined);

    const tasks = await task.startSupervisor();
    assert.equal(findTree(tasks).kind, "task_supervisor");
    const job = await task.async(tasks, () => new Promise(() => {}));
    await settle();
    assert.equal(snap(job.pid).kind, "task");
    assert.equal(findTree(tasks).children[0].pid, job.pid);

    await supervisor.stop(tasks);
    await kill(consumer);
    await TableManager.stop(manager);
    await flush();
  });

  test("supervisionTrees() shows a tree whose hook throws as childless, and goes on", async () => {
    const pid = spawn(forever);
    setTreeHook(procOf(pid), () => {
      throw new HostileError("tree hook");
    });
    const t = findTree(pid);
    assert.deepEqual(t.children, []);
    assert.equal(t.kind, "process");
    await kill(pid);
    assert.ok(!supervisionTrees().some((x) => x.pid === pid));
  });

  test("supervisionTrees() survives hostile child ids and names", async () => {
    const sup = await supervisor.start({
      children: [{ id: throwingProxy(), start: () => spawnLink(forever) }],
    }).catch((e) => e);
    // The supervisor may refuse a hostile id; either way nothing throws.
    assert.doesNotThrow(() => supervisionTrees());
    assert.doesNotThrow(() => processes());
    if (sup instanceof Error) return;
    const t = findTree(sup);
    assert.equal(typeof t.children[0].id, "string");
    await supervisor.stop(sup);
    await flush();
  });
});

// --------------------------------------------------------------- tables --

describe("tables()", () => {
  test("tables() lists owner, heir, type, access and size", async () => {
    const heir = spawn(forever);
    const t = Ets.create("sys_table", {
      type: "ordered_set",
      access: "public",
      heir,
    });
    t.insert([1, "a"]);
    t.insert([2, "b"]);
    const info = tables().find((x) => x.name === "sys_table");
    assert.ok(info !== undefined);
    assert.equal(info.type, "ordered_set");
    assert.equal(info.access, "public");
    assert.equal(info.owner, self());
    assert.equal(info.heir, heir);
    assert.equal(info.size, 2);
    assert.ok(info.memory > 0);
    const priv = Ets.create("sys_private", { access: "private" });
    assert.equal(
      tables().find((x) => x.name === "sys_private")?.access,
      "private",
    );
    priv.destroy();
    assert.equal(tables().find((x) => x.name === "sys_private"), undefined);

    // The owner dies: the heir owns it.
    const owner = spawn(async () => {
      const mine = Ets.create("sys_inherited", { heir });
      mine.insert(["k", 1]);
      await forever();
    });
    await settle();
    assert.equal(
      tables().find((x) => x.name === "sys_inherited")?.owner,
      owner,
    );
    await kill(owner);
    const moved = tables().find((x) => x.name === "sys_inherited");
    assert.equal(moved?.owner, heir);
    // The heir setting stays, naming the new owner itself (as in OTP).
    assert.equal(moved?.heir, heir);
    t.destroy();
    await kill(heir);
    assert.equal(tables().find((x) => x.name === "sys_inherited"), undefined);
  });
});

// --------------------------------------------------------------- events --

describe("events()", () => {
  test("events() sees spawn and exit with kind and parent", async () => {
    const stream = events();
    const pid = spawn(() => {});
    const seen = await collect(
      stream,
      (e) => e.type === "exit" && e.pid === pid,
    );
    const mine = seen.filter((e) => "pid" in e && e.pid === pid);
    assert.deepEqual(mine.map((e) => e.type), ["spawn", "exit"]);
    const spawned = mine[0] as Ev<"spawn">;
    assert.equal(spawned.parent, self());
    assert.equal(spawned.kind, "process");
    const exited = mine[1] as Ev<"exit">;
    assert.equal(exited.reason, "normal");
    assert.equal(typeof exited.at, "number");
    assert.deepEqual(await stream.return!(), { value: undefined, done: true });
    assert.deepEqual(await stream.next(), { value: undefined, done: true });
  });

  test("events() reports a supervisor's spawn with its own kind, and child events", async () => {
    const stream = events();
    const sup = await supervisor.start({
      children: [{ id: "c", start: () => spawnLink(forever) }],
    });
    const seen = await collect(stream, (e) => e.type === "child_started");
    const spawnOfSup = seen.find((e) => e.type === "spawn" && e.pid === sup);
    assert.equal(
      (spawnOfSup as Ev<"spawn">).kind,
      "supervisor",
    );
    const started = seen.at(-1) as Ev<"child_started">;
    assert.equal(started.supervisor, sup);
    assert.equal(started.id, '"c"');
    exit(started.pid, "boom");
    const after = await collect(stream, (e) => e.type === "child_restarted");
    const exitedEv = after.find((e) => e.type === "child_exited") as Ev<
      "child_exited"
    >;
    assert.equal(exitedEv.pid, started.pid);
    assert.equal(exitedEv.reason, "boom");
    assert.ok(after.some((e) => e.type === "exit" && e.pid === started.pid));
    await stream.return!();
    await supervisor.stop(sup);
    await flush();
  });

  test("events() reports a supervisor giving up", async () => {
    const stream = events();
    const sup = await supervisor.start({
      intensity: 0,
      children: [{ id: "frail", start: () => spawnLink(forever) }],
    });
    const ref = monitor(sup);
    const child = findTree(sup).children[0].pid!;
    exit(child, "boom");
    const seen = await collect(stream, (e) => e.type === "give_up");
    const gave = seen.at(-1) as Ev<"give_up">;
    assert.equal(gave.supervisor, sup);
    assert.equal(gave.id, '"frail"');
    await downReason(ref);
    await stream.return!();
    await flush();
  });

  test("events() reports table transfers to the heir and by giveAway", async () => {
    const stream = events();
    const heir = spawn(forever);
    const owner = spawn(async () => {
      Ets.create("sys_moving", { heir });
      await forever();
    });
    await settle();
    exit(owner, "kill");
    const seen = await collect(stream, (e) => e.type === "table_transfer");
    const moved = seen.at(-1) as Ev<"table_transfer">;
    assert.deepEqual([moved.table, moved.from, moved.to], [
      "sys_moving",
      owner,
      heir,
    ]);
    const mine = Ets.create("sys_given");
    mine.giveAway(heir, null);
    const given = (await collect(stream, (e) => e.type === "table_transfer"))
      .at(-1) as Ev<"table_transfer">;
    assert.deepEqual([given.table, given.from, given.to], [
      "sys_given",
      self(),
      heir,
    ]);
    await stream.return!();
    await kill(heir);
  });

  test("events() drops the oldest events when its buffer is full, and says how many", async () => {
    const stream = events({ bufferSize: 3 });
    const pids = [0, 1, 2, 3, 4].map(() => spawn(forever));
    // 5 spawns into a buffer of 3: the first 2 are dropped.
    const first = await stream.next();
    assert.equal(first.value?.type, "dropped");
    assert.equal((first.value as { count: number }).count, 2);
    const rest = [];
    for (let i = 0; i < 3; i++) rest.push((await stream.next()).value);
    assert.deepEqual(
      rest.map((e) => [e?.type, (e as { pid: Pid }).pid]),
      pids.slice(2).map((p) => ["spawn", p]),
    );
    await stream.return!();
    for (const p of pids) await kill(p);
  });

  test("events() answers concurrent next() calls in order", async () => {
    const stream = events();
    const waits = [stream.next(), stream.next(), stream.next()];
    const pids = [spawn(forever), spawn(forever), spawn(forever)];
    const got = await Promise.all(waits);
    assert.deepEqual(
      got.map((r) => [r.done, r.value?.type, (r.value as { pid: Pid }).pid]),
      pids.map((p) => [false, "spawn", p]),
    );
    const late = stream.next();
    await stream.return!();
    assert.deepEqual(await late, { value: undefined, done: true });
    for (const p of pids) await kill(p);
  });

  test("events() ends on abort, also while a next() waits, and on for-await break", async () => {
    const controller = new AbortController();
    const stream = events({ signal: controller.signal });
    const waiting = stream.next();
    const waiting2 = stream.next();
    controller.abort();
    assert.deepEqual(await waiting, { value: undefined, done: true });
    assert.deepEqual(await waiting2, { value: undefined, done: true });
    assert.deepEqual(await stream.next(), { value: undefined, done: true });

    const aborted = AbortSignal.abort();
    const none = events({ signal: aborted });
    assert.deepEqual(await none.next(), { value: undefined, done: true });

    const loop = events();
    const pid = spawn(() => {});
    for await (const e of loop) {
      if (e.type === "exit" && e.pid === pid) break;
    }
    assert.deepEqual(await loop.next(), { value: undefined, done: true });
  });

  test("events() refuses bad options", () => {
    assert.throws(() => events({ bufferSize: 0 }), {
      name: "RangeError",
      message: "Cannot events: 'bufferSize' must be an integer >= 1, got 0",
    });
    assert.throws(() => events({ bufferSize: "9" as unknown as number }), {
      name: "TypeError",
    });
    assert.throws(
      () => events({ size: 3 } as unknown as { bufferSize: number }),
      { name: "TypeError", message: /unknown option "size"/ },
    );
    assert.throws(
      () => events({ signal: {} as AbortSignal }),
      { name: "TypeError", message: /'signal' must be an AbortSignal/ },
    );
  });

  test("events() carries hostile exit reasons as they are, and snapshots never throw on them", async () => {
    const stream = events();
    const hostile = throwingProxy();
    const pid = spawn(() => {
      throw hostile;
    });
    const seen = await collect(
      stream,
      (e) => e.type === "exit" && e.pid === pid,
    );
    assert.equal((seen.at(-1) as { reason: unknown }).reason, hostile);
    await stream.return!();
    // A process registered under a long name, labelled, with a hostile
    // message in its mailbox.
    const holder = spawn(forever);
    register("sys_" + "x".repeat(300), holder);
    send(holder, throwingProxy());
    assert.doesNotThrow(() =>
      JSON.stringify(
        processSnapshot(holder),
        (_k, v) => v instanceof Pid ? String(v) : v,
      )
    );
    await kill(holder);
  });
});

describe("hygiene", () => {
  test("no process and no table is left behind by the tests above", async () => {
    await settle();
    const left = processes().filter((p) => !before.has(p.pid));
    assert.deepEqual(left.map((p) => [String(p.pid), p.kind, p.name]), []);
    const leftTables = tables().filter((t) => !tablesBefore.has(t.name));
    assert.deepEqual(leftTables.map((t) => t.name), []);
    await assertNoMessages();
  });
});
