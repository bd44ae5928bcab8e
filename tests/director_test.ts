// Director: ports of director_SUITE 17.9.16 (tests 1-9, reference
// seeds.md §2.6), director's README transcripts (the delays on the virtual
// clock), era C's regressions fixed (terminateTimeout enforced, restarting
// children cancellable, failed starts not stored), and what is new (backoff,
// restartAt, lock-free reads, reports, debug, adoption).
import { describe, test } from "./_harness.ts";
import assert from "node:assert/strict";
import * as director from "../director.ts";
import * as supervisor from "../supervisor.ts";
import {
  type ChildSpec,
  DirectorError,
  type DirectorEvent,
  type LogEntry,
  type PlanElement,
} from "../director.ts";
import * as genServer from "../gen_server.ts";
import {
  exit,
  isAlive,
  monitor,
  type Pid,
  processInfo,
  receive,
  self,
  spawn,
  spawnLink,
  trapExit,
  whereis,
} from "../process.ts";
import {
  ChildSpecError,
  ExitError,
  NoProcError,
  StartError,
} from "../errors.ts";
import {
  assertNoMessages,
  downReason,
  forever,
  settle,
  withClock,
} from "./_helpers.ts";

const DIRECTOR = "director_name";
const CHILD = "child_name";
const MODS = ["director_child"];

/**
 * director_SUITE's child: a gen_server started linked, registered as
 * `name` unless null (director_child:start_link({local, ?CHILD}, F)).
 */
function childStart(name: string | null = CHILD) {
  return () =>
    genServer.startLink(
      { init: () => ["ok", null] as const },
      undefined,
      name === null ? {} : { name },
    );
}

/** A plain child process that runs until killed. */
const worker = () => spawnLink(forever);

/** The child registered as CHILD (it must be running). */
function child(): Pid {
  const pid = whereis(CHILD);
  assert.ok(pid !== undefined, "the child is not running");
  return pid;
}

/** Kills a pid and lets the director handle the EXIT. */
async function kill(pid: Pid, reason: unknown = "kill"): Promise<void> {
  exit(pid, reason);
  await settle();
}

/** The code of the DirectorError a promise rejects with (or a call throws). */
async function code(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    assert.ok(e instanceof DirectorError, `expected DirectorError, got ${e}`);
    return e.code;
  }
  assert.fail("expected a DirectorError");
}

/** The reason a StartError carries. */
async function startFails(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof StartError, `expected StartError, got ${e}`);
    return e.reason;
  }
  assert.fail("expected the start to fail");
}

function counts(d: Pid | string, specs = 0, active = 0, sups = 0, workers = 0) {
  assert.deepEqual(director.countChildren(d), {
    specs,
    active,
    supervisors: sups,
    workers,
  });
}

/** Collects the events of one test. */
function recordEvents(): [DirectorEvent[], () => void] {
  const seen: DirectorEvent[] = [];
  const off = director.subscribe((e) => seen.push(e));
  return [seen, off];
}

// ------------------------------------------------------ director_SUITE --

describe("director_SUITE 17.9.16", () => {
  test("1: start() rejects with init's stop reason, ignore, a bad return or what init threw; a named director stops and unregisters", async () => {
    assert.equal(
      await startFails(director.start(() => ["stop", "foo"])),
      "foo",
    );
    assert.equal(await startFails(director.start(() => "ignore")), "ignore");
    assert.deepEqual(
      await startFails(director.start(() => "bar" as never)),
      ["init_bad_return", "bar"],
    );
    assert.equal(
      await startFails(director.start(() => {
        throw new ExitError("baz");
      })),
      "baz",
    );
    const d = await director.start(() => ({ children: [] }), {
      name: DIRECTOR,
    });
    assert.equal(whereis(DIRECTOR), d);
    await director.stop(DIRECTOR);
    assert.equal(whereis(DIRECTOR), undefined);
    await assertNoMessages();
  });

  test("2: a child with plan [restart], count Infinity, terminateTimeout 0: queries, 10 kills, terminate, restart, delete", async () => {
    const id = "foo";
    const spec: ChildSpec = {
      id,
      start: childStart(),
      args: [],
      plan: ["restart"],
      count: Infinity,
      terminateTimeout: 0,
      modules: MODS,
      append: false,
      type: "worker",
    };
    assert.equal(director.checkChildspec(spec), undefined);
    await director.start(() => ({ children: [spec] }), { name: DIRECTOR });
    assert.deepEqual(director.getChildspec(DIRECTOR, id), spec);
    const pid = child();
    assert.deepEqual(director.whichChildren(DIRECTOR), [
      { id, pid, type: "worker", modules: MODS },
    ]);
    counts(DIRECTOR, 1, 1, 0, 1);
    assert.deepEqual(await director.getPlan(DIRECTOR, id), ["restart"]);
    assert.equal(director.getPid(DIRECTOR, id), pid);
    assert.deepEqual(director.getPids(DIRECTOR), [[id, pid]]);
    assert.equal(await code(director.deleteChild(DIRECTOR, id)), "running");
    assert.ok(isAlive(pid));

    const seen = new Set<Pid>();
    for (let i = 0; i < 10; i++) {
      const p = director.getPid(DIRECTOR, id);
      seen.add(p);
      await kill(p);
    }
    assert.equal(seen.size, 10);
    assert.ok(isAlive(director.getPid(DIRECTOR, id)));
    assert.equal(director.getRestartCount(DIRECTOR, id), 10);

    await director.terminateChild(DIRECTOR, id);
    assert.equal(whereis(CHILD), undefined);
    assert.deepEqual(director.whichChildren(DIRECTOR), [
      { id, pid: undefined, type: "worker", modules: MODS },
    ]);
    counts(DIRECTOR, 1, 0, 0, 1);
    assert.equal(
      await code(() => director.getPid(DIRECTOR, id)),
      "not_running",
    );
    assert.deepEqual(director.getPids(DIRECTOR), []);

    const { pid: again } = await director.restartChild(DIRECTOR, id);
    assert.equal(again, child());
    assert.deepEqual(director.whichChildren(DIRECTOR), [
      { id, pid: again, type: "worker", modules: MODS },
    ]);
    counts(DIRECTOR, 1, 1, 0, 1);
    assert.deepEqual(director.getPids(DIRECTOR), [[id, again]]);

    await director.terminateChild(DIRECTOR, child()); // by pid
    await director.deleteChild(DIRECTOR, id);
    assert.deepEqual(director.whichChildren(DIRECTOR), []);
    counts(DIRECTOR);
    assert.equal(await code(() => director.getPid(DIRECTOR, id)), "not_found");
    assert.deepEqual(director.getPids(DIRECTOR), []);
    await director.stop(DIRECTOR);
    await assertNoMessages();
  });

  test("3: plan [restart, {restart, 100}, wait, delete] on a supervisor child: restarted, restarting then running, waiting, deleted", async () => {
    await withClock(async (clock) => {
      const id = "foo";
      const plan: PlanElement[] = [
        "restart",
        ["restart", 100],
        "wait",
        "delete",
      ];
      const spec: ChildSpec = {
        id,
        start: childStart(),
        args: [],
        plan,
        count: Infinity,
        terminateTimeout: Infinity,
        modules: MODS,
        append: false,
        type: "supervisor",
      };
      assert.equal(director.checkChildspec(spec), undefined);
      await director.start(() => ({}), { name: DIRECTOR });
      const { pid } = await director.startChild(DIRECTOR, spec);
      assert.deepEqual(director.getChildspec(DIRECTOR, id), spec);
      assert.deepEqual(director.whichChildren(DIRECTOR), [
        { id, pid, type: "supervisor", modules: MODS },
      ]);
      counts(DIRECTOR, 1, 1, 1, 0);
      assert.deepEqual(await director.getPlan(DIRECTOR, id), plan);
      assert.equal(await code(director.deleteChild(DIRECTOR, id)), "running");

      // plan: restart
      await kill(child());
      counts(DIRECTOR, 1, 1, 1, 0);
      assert.deepEqual(director.getPids(DIRECTOR), [[id, child()]]);

      // plan: {restart, 100}
      await kill(child());
      assert.deepEqual(director.whichChildren(DIRECTOR), [
        {
          id,
          pid: "restarting",
          type: "supervisor",
          modules: MODS,
          restartAt: 100,
        },
      ]);
      counts(DIRECTOR, 1, 0, 1, 0);
      assert.equal(
        await code(() => director.getPid(DIRECTOR, id)),
        "restarting",
      );
      assert.deepEqual(director.getPids(DIRECTOR), []);
      await clock.advance(99);
      assert.equal(whereis(CHILD), undefined);
      await clock.advance(1);
      counts(DIRECTOR, 1, 1, 1, 0);
      assert.deepEqual(director.getPids(DIRECTOR), [[id, child()]]);

      // plan: wait
      await kill(child());
      assert.deepEqual(director.whichChildren(DIRECTOR), [
        { id, pid: undefined, type: "supervisor", modules: MODS },
      ]);
      counts(DIRECTOR, 1, 0, 1, 0);
      assert.equal(
        await code(() => director.getPid(DIRECTOR, id)),
        "not_running",
      );

      // plan: delete
      await director.restartChild(DIRECTOR, id);
      counts(DIRECTOR, 1, 1, 1, 0);
      await kill(child());
      assert.deepEqual(director.whichChildren(DIRECTOR), []);
      counts(DIRECTOR);
      assert.equal(
        await code(() => director.getPid(DIRECTOR, id)),
        "not_found",
      );
      await director.stop(DIRECTOR);
    });
    await assertNoMessages();
  });

  test("4: plan [stop]: the director exits with the child's reason (killed)", async () => {
    const d = await director.start({
      children: [{
        id: "foo",
        start: childStart(),
        plan: ["stop"],
        count: Infinity,
        terminateTimeout: 0,
      }],
    });
    const ref = monitor(d);
    exit(child(), "kill");
    assert.equal(await downReason(ref), "killed");
    await assertNoMessages();
  });

  test("5: plan [{stop: oops}]: the director exits with oops", async () => {
    const d = await director.start({
      children: [{
        id: "foo",
        start: childStart(),
        plan: [["stop", "oops"]],
        terminateTimeout: 0,
      }],
    });
    const ref = monitor(d);
    exit(child(), "oops");
    assert.equal(await downReason(ref), "oops");
    await assertNoMessages();
  });

  test("6: one plan function with count 4 drives restart, {restart, 100}, wait and delete", async () => {
    await withClock(async (clock) => {
      const id = "foo";
      const calls: unknown[] = [];
      const fun = (reason: unknown, n: number, childId: unknown) => {
        calls.push([reason, n, childId]);
        assert.equal(reason, "killed");
        assert.equal(childId, id);
        return ([
          "restart",
          ["restart", 100],
          "wait",
          "delete",
        ] as const)[n - 1];
      };
      const spec: ChildSpec = {
        id,
        start: childStart(),
        args: [],
        plan: [fun],
        count: 4,
        terminateTimeout: Infinity,
        modules: MODS,
        append: false,
        type: "supervisor",
      };
      assert.equal(director.checkChildspec(spec), undefined);
      await director.start(() => ({ children: [spec] }), { name: DIRECTOR });
      assert.deepEqual(director.getChildspec(DIRECTOR, id), spec);
      assert.deepEqual(await director.getPlan(DIRECTOR, id), [fun]);
      counts(DIRECTOR, 1, 1, 1, 0);

      await kill(child()); // 1: restart
      counts(DIRECTOR, 1, 1, 1, 0);
      await kill(child()); // 2: {restart, 100}
      assert.equal(director.whichChildren(DIRECTOR)[0].pid, "restarting");
      assert.equal(
        await code(() => director.getPid(DIRECTOR, id)),
        "restarting",
      );
      await clock.advance(100);
      counts(DIRECTOR, 1, 1, 1, 0);
      await kill(child()); // 3: wait
      assert.deepEqual(director.whichChildren(DIRECTOR), [
        { id, pid: undefined, type: "supervisor", modules: MODS },
      ]);
      await director.restartChild(DIRECTOR, id);
      await kill(child()); // 4: delete
      assert.deepEqual(director.whichChildren(DIRECTOR), []);
      assert.deepEqual(calls, [
        ["killed", 1, id],
        ["killed", 2, id],
        ["killed", 3, id],
        ["killed", 4, id],
      ]);
      await director.stop(DIRECTOR);
    });
    await assertNoMessages();
  });

  test("7: an append child is merged with the default childspec, and re-merged by changeDefaultChildspec", async () => {
    const start1 = childStart();
    const defaultChildspec = {
      start: start1,
      plan: ["restart"] as PlanElement[],
      count: 1,
      terminateTimeout: 1000,
      modules: MODS,
    };
    await director.start(() => ({ children: [], defaultChildspec }), {
      name: DIRECTOR,
    });
    assert.deepEqual(
      await director.getDefaultChildspec(DIRECTOR),
      defaultChildspec,
    );
    const id = "foo";
    await director.startChild(DIRECTOR, {
      id,
      append: true,
      plan: [["restart", 1000]],
      modules: [],
    });
    const spec2 = director.getChildspec(DIRECTOR, id);
    assert.equal(spec2.start, start1);
    assert.deepEqual(spec2.plan, ["restart", ["restart", 1000]]);
    assert.equal(spec2.count, 3 + 1);
    assert.equal(spec2.terminateTimeout, 2000);
    assert.deepEqual(spec2.modules, MODS);

    const start2 = childStart();
    await director.changeDefaultChildspec(DIRECTOR, {
      start: start2,
      plan: ["restart", "wait"],
      modules: MODS,
    });
    const spec3 = director.getChildspec(DIRECTOR, id);
    assert.equal(spec3.start, start2);
    assert.deepEqual(spec3.plan, ["restart", "wait", ["restart", 1000]]);
    assert.equal(spec3.count, 3);
    assert.equal(spec3.terminateTimeout, 1000);
    assert.deepEqual(spec3.modules, MODS);
    await director.stop(DIRECTOR);
    await assertNoMessages();
  });

  test("8: plan [] count 0 stops with empty_plan_child_terminated; plan [restart] count 0 with reached_max_restart_plan", async () => {
    const spec: ChildSpec = {
      id: "foo",
      start: childStart(),
      plan: [],
      count: 0,
      terminateTimeout: 0,
      modules: MODS,
    };
    const d1 = await director.start({ children: [spec] });
    const ref1 = monitor(d1);
    exit(child(), "kill");
    assert.deepEqual(await downReason(ref1), [
      "empty_plan_child_terminated",
      "foo",
      "killed",
    ]);
    const d2 = await director.start({
      children: [{ ...spec, plan: ["restart"] }],
    });
    const ref2 = monitor(d2);
    exit(child(), "kill");
    assert.deepEqual(await downReason(ref2), [
      "reached_max_restart_plan",
      "foo",
      "killed",
    ]);
    await assertNoMessages();
  });

  test("9: a minimal spec gets every default; a supervisor's terminateTimeout is Infinity", async () => {
    const start = childStart();
    const d = await director.start({ children: [{ id: "foo", start }] });
    assert.deepEqual(director.getChildspec(d, "foo"), {
      id: "foo",
      start,
      args: [],
      plan: ["restart"],
      count: 3,
      terminateTimeout: 1000,
      modules: [],
      append: false,
      type: "worker",
    });
    await director.startChild(d, {
      id: "bar",
      start: childStart(null),
      type: "supervisor",
    });
    assert.equal(director.getChildspec(d, "bar").terminateTimeout, Infinity);
    await director.stop(d);
    await assertNoMessages();
  });
});

// --------------------------------------------------- README transcripts --

describe("director README transcripts", () => {
  test("plan [restart, {restart, 5000}, delete]: restarted, then restarting for 5000 ms, then running", async () => {
    await withClock(async (clock) => {
      const d = await director.start({});
      assert.deepEqual(director.whichChildren(d), []);
      counts(d);
      assert.deepEqual(director.getPids(d), []);
      const bar = childStart("bar");
      const { pid } = await director.startChild(d, {
        id: "bar_id",
        start: bar,
        plan: ["restart", ["restart", 5000], "delete"],
        modules: ["bar"],
      });
      assert.deepEqual(director.whichChildren(d), [
        { id: "bar_id", pid, type: "worker", modules: ["bar"] },
      ]);
      counts(d, 1, 1, 0, 1);
      assert.deepEqual(director.getPids(d), [["bar_id", pid]]);
      const barPid1 = director.getPid(d, "bar_id");
      await kill(barPid1);
      const [[, barPid2]] = director.getPids(d); // restarted
      assert.notEqual(barPid2, barPid1);
      await kill(barPid2);
      assert.deepEqual(director.getPids(d), []);
      assert.deepEqual(director.whichChildren(d), [
        {
          id: "bar_id",
          pid: "restarting",
          type: "worker",
          modules: ["bar"],
          restartAt: 5000,
        },
      ]);
      assert.equal(
        await code(() => director.getPid(d, "bare_id")),
        "not_found",
      );
      await clock.advance(5000);
      assert.deepEqual(director.getPids(d), [["bar_id", whereis("bar")]]);
      await director.stop(d);
    });
    await assertNoMessages();
  });

  test("plan [wait], count 1: waiting after a crash; changePlan keeps the runs made (17.9.16), changeCount allows more", async () => {
    const start = childStart("bar");
    const d = await director.start(() => ({
      children: [{
        id: "bar_id",
        plan: ["wait"],
        start,
        count: 1,
        terminateTimeout: 2000,
        modules: ["bar"],
      }],
    }), { name: "foo_sup" });
    assert.deepEqual(director.getChildspec("foo_sup", "bar_id"), {
      append: false,
      count: 1,
      id: "bar_id",
      modules: ["bar"],
      plan: ["wait"],
      start,
      args: [],
      terminateTimeout: 2000,
      type: "worker",
    });
    await kill(director.getPid("foo_sup", "bar_id"));
    assert.deepEqual(director.whichChildren("foo_sup"), [
      { id: "bar_id", pid: undefined, type: "worker", modules: ["bar"] },
    ]);
    counts("foo_sup", 1, 0, 0, 1);
    assert.deepEqual(await director.getPlan("foo_sup", "bar_id"), ["wait"]);
    await director.changePlan("foo_sup", "bar_id", ["restart"]);
    assert.deepEqual(director.getChildspec("foo_sup", "bar_id").plan, [
      "restart",
    ]);
    assert.deepEqual(director.getPids("foo_sup"), []);
    await director.restartChild("foo_sup", "bar_id");
    // The plan ran once of count 1: the next crash would stop the director
    // (director 17.9.16; the 17.05 README reset the counter here).
    await director.changeCount("foo_sup", "bar_id", 2);
    const before = director.getPid("foo_sup", "bar_id");
    await kill(before);
    const after = director.getPid("foo_sup", "bar_id");
    assert.notEqual(after, before);
    const ref = monitor(d);
    exit(after, "kill");
    assert.deepEqual(await downReason(ref), [
      "reached_max_restart_plan",
      "bar_id",
      "killed",
    ]);
    await assertNoMessages();
  });

  test("append children under a default childspec: 1 + 9 more children, simple_one_for_one style", async () => {
    const bar = childStart(null);
    const d = await director.start(() => ({
      children: [{
        id: "bar_id",
        plan: ["wait"],
        start: bar,
        count: 1,
        terminateTimeout: 2000,
      }],
      defaultChildspec: {
        start: bar,
        terminateTimeout: 1000,
        plan: ["restart"],
        count: 5,
      },
    }), { name: "foo_sup" });
    assert.equal(director.getPids("foo_sup").length, 1);
    assert.deepEqual(await director.getDefaultChildspec("foo_sup"), {
      count: 5,
      plan: ["restart"],
      start: bar,
      terminateTimeout: 1000,
    });
    await director.startChild("foo_sup", { id: 1, append: true });
    assert.deepEqual(director.getChildspec("foo_sup", 1), {
      append: true,
      count: 3 + 5,
      id: 1,
      modules: [],
      plan: ["restart", "restart"],
      start: bar,
      args: [],
      terminateTimeout: 2000,
      type: "worker",
    });
    assert.deepEqual(director.getPids("foo_sup").map(([id]) => id), [
      "bar_id",
      1,
    ]);
    for (let n = 2; n <= 10; n++) {
      await director.startChild("foo_sup", { id: n, append: true });
    }
    counts("foo_sup", 11, 11, 0, 11);
    await director.stop(d);
    await assertNoMessages();
  });

  test("debug traces requests, replies, exits and plan decisions; reports go to the logger", async () => {
    await withClock(async (clock) => {
      const lines: string[] = [];
      const logged: LogEntry[] = [];
      await director.start({
        children: [{
          id: "bar_id",
          start: childStart("bar"),
          plan: ["wait"],
          count: 1,
          terminateTimeout: 2000,
        }],
      }, {
        name: "dname",
        debug: (line) => lines.push(line),
        logger: (e) => logged.push(e),
      });
      await director.changePlan("dname", "bar_id", [["restart", 5000]]);
      const me = String(self());
      assert.deepEqual(lines, [
        `*DBG* director "dname" got request ["changePlan", "bar_id", [["restart", 5000]]] from ${me}`,
        `*DBG* director "dname" sent "ok" to ${me}`,
      ]);
      lines.length = 0;
      // A reply that is a value is shown as it is (supervisor's calls are
      // requests to a director too; its own reads send no message).
      assert.deepEqual(director.getPlan("dname", "bar_id"), [[
        "restart",
        5000,
      ]]);
      assert.deepEqual(await supervisor.countChildren("dname"), {
        specs: 1,
        active: 1,
        supervisors: 0,
        workers: 1,
      });
      assert.deepEqual(lines, [
        `*DBG* director "dname" got request ["countChildren"] from ${me}`,
        `*DBG* director "dname" sent { specs: 1, active: 1, supervisors: 0, workers: 1 } to ${me}`,
      ]);
      lines.length = 0;
      lines.length = 0;
      const pid = director.getPid("dname", "bar_id");
      await kill(pid);
      assert.deepEqual(lines, [
        `*DBG* director "dname" got exit signal for pid ${pid} with reason "killed"`,
        `*DBG* director "dname" is running plan ["restart", 5000] for id "bar_id"`,
      ]);
      lines.length = 0;
      await clock.advance(5000);
      assert.deepEqual(lines, [
        `*DBG* director "dname" got restart event for id "bar_id"`,
      ]);
      assert.deepEqual(logged.map((e) => [e.kind, e.level, e.form]), [
        ["progress", "info", "short"],
        ["child_terminated", "error", "short"],
        ["progress", "info", "short"],
      ]);
      assert.equal(
        logged[1].text,
        `=SUPERVISOR REPORT= director "dname": child "bar_id" (${pid}) exited: "killed"`,
      );
      await director.stop("dname");
    });
    await assertNoMessages();
  });
});

// ---------------------------------------------------------- era C fixes --

describe("Director: what era C broke", () => {
  test("terminateChild() enforces terminateTimeout: a child that ignores shutdown is killed after it", async () => {
    await withClock(async (clock) => {
      const logged: LogEntry[] = [];
      const stubborn = () =>
        spawnLink(async () => {
          trapExit(true);
          await forever();
        });
      const d = await director.start({
        children: [{ id: "s", start: stubborn, terminateTimeout: 100 }],
      }, { logger: (e) => logged.push(e) });
      const pid = director.getPid(d, "s");
      const ref = monitor(pid);
      let done = false;
      const stopping = director.terminateChild(d, "s").then(() => done = true);
      await clock.advance(99);
      assert.equal(done, false);
      assert.ok(isAlive(pid));
      assert.equal(director.getPid(d, "s"), pid); // still running meanwhile
      await clock.advance(1);
      await stopping;
      assert.equal(await downReason(ref), "killed");
      assert.equal(director.whichChildren(d)[0].pid, undefined);
      assert.deepEqual(
        logged.map((e) => [e.kind, e.reason]),
        [["progress", undefined], ["shutdown_error", "killed"]],
      );
      await director.stop(d);
    });
    await assertNoMessages();
  });

  test("terminateTimeout 0 kills at once; Infinity waits for the child however long it takes", async () => {
    await withClock(async (clock) => {
      let release: (() => void) | undefined;
      const slow = () =>
        spawnLink(async () => {
          trapExit(true);
          await receive((m) => Array.isArray(m) && m[0] === "EXIT");
          await new Promise<void>((r) => release = r);
        });
      const d = await director.start({
        children: [
          { id: "brutal", start: slow, terminateTimeout: 0 },
          { id: "patient", start: slow, terminateTimeout: Infinity },
        ],
      });
      const brutal = director.getPid(d, "brutal");
      const ref = monitor(brutal);
      await director.terminateChild(d, "brutal");
      assert.equal(await downReason(ref), "killed");
      let done = false;
      const stopping = director.terminateChild(d, "patient").then(() =>
        done = true
      );
      await clock.advance(1_000_000);
      assert.equal(done, false);
      release!();
      await stopping;
      assert.deepEqual(director.getPids(d), []);
      await director.stop(d);
    });
    await assertNoMessages();
  });

  test("a child waiting for a delayed restart can be terminated, deleted, or restarted now (the timer is cancelled)", async () => {
    await withClock(async (clock) => {
      const d = await director.start({
        children: [{ id: "w", start: worker, plan: [["restart", 1000]] }],
      });
      // terminateChild: stopped, not restarting, timer gone
      await kill(director.getPid(d, "w"));
      assert.equal(director.whichChildren(d)[0].pid, "restarting");
      await director.terminateChild(d, "w");
      assert.deepEqual(director.whichChildren(d), [
        { id: "w", pid: undefined, type: "worker", modules: [] },
      ]);
      await clock.advance(1000);
      assert.deepEqual(director.getPids(d), []);
      // restartChild: started now
      await director.restartChild(d, "w");
      await kill(director.getPid(d, "w"));
      assert.equal(director.whichChildren(d)[0].restartAt, 2000);
      const { pid } = await director.restartChild(d, "w");
      assert.equal(director.getPid(d, "w"), pid);
      await clock.advance(1000);
      assert.equal(director.getPid(d, "w"), pid); // no second start
      // deleteChild: gone, the late timer is ignored
      await kill(pid!);
      assert.equal(director.whichChildren(d)[0].pid, "restarting");
      await director.deleteChild(d, "w");
      assert.deepEqual(director.whichChildren(d), []);
      await clock.advance(1000);
      assert.deepEqual(director.whichChildren(d), []);
      await director.stop(d);
    });
    await assertNoMessages();
  });

  test("a failed restart waiting to be fed back into the plan is cancelled by terminateChild()", async () => {
    let starts = 0;
    const plan: PlanElement[] = [
      "restart",
      () => assert.fail("the plan must not run again"),
    ];
    const d = await director.start({
      children: [{
        id: "f",
        start: () => ++starts === 1 ? worker() : ["error", "down"] as const,
        plan,
      }],
    });
    // The request is queued behind the EXIT, so ahead of the retry the
    // failed restart puts in the mailbox.
    exit(director.getPid(d, "f"), "kill");
    const terminating = director.terminateChild(d, "f");
    await terminating;
    await settle();
    assert.equal(starts, 2);
    assert.equal(director.getRestartCount(d, "f"), 1);
    assert.deepEqual(director.whichChildren(d), [
      { id: "f", pid: undefined, type: "worker", modules: [] },
    ]);
    await director.stop(d);
    await assertNoMessages();
  });

  test("while an async restart is under way the child reads as restarting", async () => {
    let release: (() => void) | undefined;
    let starts = 0;
    const d = await director.start({
      children: [{
        id: "a",
        start: async () => {
          if (++starts > 1) await new Promise<void>((r) => release = r);
          return worker();
        },
      }],
    });
    await kill(director.getPid(d, "a"));
    assert.equal(director.whichChildren(d)[0].pid, "restarting");
    assert.equal(await code(() => director.getPid(d, "a")), "restarting");
    counts(d, 1, 0, 0, 1);
    release!();
    await settle();
    assert.ok(isAlive(director.getPid(d, "a")));
    await director.stop(d);
    await assertNoMessages();
  });

  test("a start that fails, throws or returns ignore leaves nothing stored; a retry succeeds", async () => {
    const d = await director.start({});
    const err = await director.startChild(d, {
      id: "x",
      start: () => ["error", "nope"] as const,
    }).catch((e) => e);
    assert.ok(err instanceof DirectorError);
    assert.equal(err.code, "start_failed");
    assert.equal(err.reason, "nope");
    assert.deepEqual(director.whichChildren(d), []);
    const thrown = await director.startChild(d, {
      id: "x",
      start: () => {
        throw new ExitError("crashed");
      },
    }).catch((e) => e);
    assert.equal(thrown.reason, "crashed");
    assert.deepEqual(
      await director.startChild(d, { id: "x", start: () => "ignore" as const }),
      { pid: undefined, extra: undefined },
    );
    assert.deepEqual(director.whichChildren(d), []);
    const { pid } = await director.startChild(d, { id: "x", start: worker });
    assert.equal(director.getPid(d, "x"), pid);
    assert.equal(
      await code(director.startChild(d, { id: "x", start: worker })),
      "already_started",
    );
    await director.terminateChild(d, "x");
    assert.equal(
      await code(director.startChild(d, { id: "x", start: worker })),
      "already_present",
    );
    await director.stop(d);
    await assertNoMessages();
  });

  test("terminateChild() of a stopped child is fine; of an unknown id or pid, notFound", async () => {
    const d = await director.start({
      children: [{ id: "w", start: worker }],
    });
    await director.terminateChild(d, "w");
    await director.terminateChild(d, "w");
    assert.equal(await code(director.terminateChild(d, "nope")), "not_found");
    assert.equal(
      await code(director.terminateChild(d, spawn(() => {}))),
      "not_found",
    );
    await director.stop(d);
    await assertNoMessages();
  });
});

// -------------------------------------------------------- plan semantics --

describe("Director plans", () => {
  test("count counts runs of the whole plan: [restart] with count 2 restarts twice, the third exit stops the director", async () => {
    const d = await director.start({
      children: [{ id: "w", start: worker, plan: ["restart"], count: 2 }],
    });
    const ref = monitor(d);
    await kill(director.getPid(d, "w"));
    await kill(director.getPid(d, "w"));
    assert.equal(director.getRestartCount(d, "w"), 2);
    exit(director.getPid(d, "w"), "boom");
    assert.deepEqual(await downReason(ref), [
      "reached_max_restart_plan",
      "w",
      "boom",
    ]);
    await assertNoMessages();
  });

  test("count Infinity never stops; count 0 stops at the first exit", async () => {
    const d = await director.start({
      children: [
        { id: "inf", start: worker, plan: ["restart"], count: Infinity },
      ],
    });
    for (let i = 0; i < 20; i++) await kill(director.getPid(d, "inf"));
    assert.equal(director.getRestartCount(d, "inf"), 20);
    await director.startChild(d, { id: "zero", start: worker, count: 0 });
    const ref = monitor(d);
    exit(director.getPid(d, "zero"), "kill");
    assert.deepEqual(await downReason(ref), [
      "reached_max_restart_plan",
      "zero",
      "killed",
    ]);
    await assertNoMessages();
  });

  test("a failed restart consumes the next plan element, with the start's failure as the reason", async () => {
    let starts = 0;
    const flaky = () =>
      ++starts === 2 ? ["error", "no luck"] as const : worker();
    const reasons: unknown[] = [];
    const d = await director.start({
      children: [{
        id: "f",
        start: flaky,
        plan: [
          "restart",
          (reason) => (reasons.push(reason), "wait"),
        ],
      }],
    });
    const [events, off] = recordEvents();
    await kill(director.getPid(d, "f"));
    off();
    assert.deepEqual(reasons, ["no luck"]);
    assert.equal(director.whichChildren(d)[0].pid, undefined);
    assert.equal(director.getRestartCount(d, "f"), 2);
    assert.deepEqual(
      events.map((e) => e.type),
      [
        "child_exited",
        "plan_element",
        "restart_failed",
        "plan_element",
      ],
    );
    await director.stop(d);
    await assertNoMessages();
  });

  test("a start that keeps failing exhausts the count and stops the director with the start's failure", async () => {
    let starts = 0;
    const d = await director.start({
      children: [{
        id: "f",
        start: () => ++starts === 1 ? worker() : ["error", "down"] as const,
        plan: ["restart"],
        count: 3,
      }],
    });
    const ref = monitor(d);
    exit(director.getPid(d, "f"), "kill");
    assert.deepEqual(await downReason(ref), [
      "reached_max_restart_plan",
      "f",
      "down",
    ]);
    assert.equal(starts, 4); // 1 start + 3 restarts
    await assertNoMessages();
  });

  test("a restart that returns ignore leaves the child stopped", async () => {
    let starts = 0;
    const d = await director.start({
      children: [{
        id: "i",
        start: () => ++starts === 1 ? worker() : "ignore" as const,
      }],
    });
    await kill(director.getPid(d, "i"));
    assert.deepEqual(director.whichChildren(d), [
      { id: "i", pid: undefined, type: "worker", modules: [] },
    ]);
    await director.stop(d);
    await assertNoMessages();
  });

  test("a plan function that throws or returns garbage stops the director with run_plan_element", async () => {
    const boom = new Error("boom");
    const d1 = await director.start({
      children: [{
        id: "a",
        start: worker,
        plan: [() => {
          throw boom;
        }],
      }],
    });
    const ref1 = monitor(d1);
    exit(director.getPid(d1, "a"), "kill");
    assert.deepEqual(await downReason(ref1), [
      "run_plan_element",
      "a",
      ["fun_crash", boom],
      "killed",
    ]);
    const d2 = await director.start({
      children: [{ id: "b", start: worker, plan: [() => "again" as never] }],
    });
    const ref2 = monitor(d2);
    exit(director.getPid(d2, "b"), "kill");
    assert.deepEqual(await downReason(ref2), [
      "run_plan_element",
      "b",
      ["fun_bad_return", "again"],
      "killed",
    ]);
    await assertNoMessages();
  });

  test("stop stops the other children newest first, then the director exits", async () => {
    const order: string[] = [];
    const named = (name: string) => () =>
      spawnLink(async () => {
        trapExit(true);
        await receive((m) => Array.isArray(m) && m[0] === "EXIT");
        order.push(name);
      });
    const d = await director.start({
      children: [
        { id: "a", start: named("a") },
        { id: "b", start: named("b") },
        { id: "c", start: worker, plan: ["stop"] },
        { id: "d", start: named("d") },
      ],
    });
    const ref = monitor(d);
    exit(director.getPid(d, "c"), "bye");
    assert.equal(await downReason(ref), "bye");
    assert.deepEqual(order, ["d", "b", "a"]);
    await assertNoMessages();
  });

  test("changePlan() restarts the plan from its first element; changeCount() and getCount()", async () => {
    await withClock(async (clock) => {
      const d = await director.start({
        children: [{ id: "w", start: worker, plan: ["restart", "wait"] }],
      });
      await kill(director.getPid(d, "w")); // element 1 (restart)
      await director.changePlan(d, "w", [["restart", 10], "wait"]);
      await kill(director.getPid(d, "w")); // new element 1
      assert.equal(director.whichChildren(d)[0].restartAt, 10);
      await clock.advance(10);
      assert.equal(await director.getCount(d, "w"), 3);
      await director.changeCount(d, "w", 7);
      assert.equal(await director.getCount(d, "w"), 7);
      assert.equal(director.getChildspec(d, "w").count, 7);
      await assert.rejects(director.changeCount(d, "w", -1), RangeError);
      await assert.rejects(director.changeCount(d, "w", 1.5), RangeError);
      await assert.rejects(
        director.changePlan(d, "w", ["bogus" as never]),
        (e) => e instanceof ChildSpecError && e.key === "plan",
      );
      assert.equal(await code(director.changePlan(d, "x", [])), "not_found");
      assert.equal(await code(() => director.getPlan(d, "x")), "not_found");
      assert.equal(await code(() => director.getCount(d, "x")), "not_found");
      await director.stop(d);
    });
    await assertNoMessages();
  });

  test("lowering count below the runs made stops the director at the next exit", async () => {
    const d = await director.start({
      children: [{ id: "w", start: worker, count: 5 }],
    });
    await kill(director.getPid(d, "w"));
    await kill(director.getPid(d, "w"));
    await director.changeCount(d, "w", 1);
    const ref = monitor(d);
    exit(director.getPid(d, "w"), "kill");
    assert.deepEqual(await downReason(ref), [
      "reached_max_restart_plan",
      "w",
      "killed",
    ]);
    await assertNoMessages();
  });
});

// ------------------------------------------------------------- backoff --

describe("Director backoff", () => {
  test("{ backoff } delays grow by factor up to max, visible as restartAt, and start over after a long run", async () => {
    await withClock(async (clock) => {
      const d = await director.start({
        children: [{
          id: "b",
          start: worker,
          plan: [["backoff", { initial: 100, max: 1000 }]],
          count: Infinity,
        }],
      });
      const [events, off] = recordEvents();
      const delays: number[] = [];
      for (let i = 0; i < 6; i++) {
        await kill(director.getPid(d, "b"));
        const row = director.whichChildren(d)[0];
        assert.equal(row.pid, "restarting");
        delays.push(row.restartAt! - clock.now());
        await clock.advance(row.restartAt! - clock.now());
      }
      assert.deepEqual(delays, [100, 200, 400, 800, 1000, 1000]);
      assert.deepEqual(
        events.filter((e) => e.type === "restart_delayed").map((e) =>
          e.type === "restart_delayed" ? e.delay : 0
        ),
        delays,
      );
      await clock.advance(1000); // ran for max: the sequence starts over
      await kill(director.getPid(d, "b"));
      assert.equal(director.whichChildren(d)[0].restartAt! - clock.now(), 100);
      off();
      await director.stop(d);
    });
    await assertNoMessages();
  });

  test("jitter takes up to that fraction off each delay; failed restarts keep backing off", async () => {
    await withClock(async (clock) => {
      let fail = false;
      const d = await director.start({
        children: [{
          id: "b",
          start: () => fail ? ["error", "still down"] as const : worker(),
          plan: [[
            "backoff",
            { initial: 1000, max: 8000, factor: 2, jitter: 0.5 },
          ]],
          count: Infinity,
        }],
      });
      fail = true;
      await kill(director.getPid(d, "b"));
      const bases = [1000, 2000, 4000, 8000, 8000];
      for (const base of bases) {
        const delay = director.whichChildren(d)[0].restartAt! - clock.now();
        assert.ok(delay >= base / 2 && delay <= base, `${delay} for ${base}`);
        await clock.advance(delay);
        await settle();
      }
      fail = false;
      const last = director.whichChildren(d)[0].restartAt! - clock.now();
      await clock.advance(last);
      assert.ok(isAlive(director.getPid(d, "b")));
      await director.stop(d);
    });
    await assertNoMessages();
  });

  test("invalid backoff elements are ChildSpecErrors naming the plan", () => {
    const start = () => "ignore" as const;
    for (
      const b of [
        {},
        { initial: -1, max: 10 },
        { initial: 10, max: 5 },
        { initial: 1, max: 10, factor: 0.5 },
        { initial: 1, max: 10, jitter: 2 },
        { initial: 1, max: Infinity },
        { initial: 1, max: 10, extra: 1 },
      ]
    ) {
      const err = director.checkChildspec({
        id: 1,
        start,
        plan: [["backoff", b as never]],
      });
      assert.ok(err instanceof ChildSpecError, JSON.stringify(b));
      assert.equal(err.key, "plan");
    }
  });
});

// -------------------------------------------------------- lock-free reads --

describe("Director lock-free reads", () => {
  test("getPid(), getPids(), whichChildren(), countChildren(), getChildspec() answer by name and by pid without a message, even while the director is busy", async () => {
    let release: (() => void) | undefined;
    const d = await director.start({
      children: [{ id: "w", start: worker }],
    }, { name: DIRECTOR });
    const pid = director.getPid(DIRECTOR, "w");
    // Keep the director busy in a start that does not return yet.
    const starting = director.startChild(d, {
      id: "slow",
      start: async () => {
        await new Promise<void>((r) => release = r);
        return worker();
      },
    });
    await settle();
    assert.equal(director.getPid(d, "w"), pid);
    assert.deepEqual(director.getPids(DIRECTOR), [["w", pid]]);
    assert.equal(director.whichChildren(d).length, 1);
    counts(d, 1, 1, 0, 1);
    assert.equal(director.getChildspec(d, pid).id, "w");
    release!();
    await starting;
    assert.equal(director.countChildren(d).active, 2);
    await director.stop(d);
    await assertNoMessages();
  });

  test("reads of a dead director throw NoProcError; of a process that is not a director, TypeError", async () => {
    const d = await director.start({}, { name: DIRECTOR });
    await director.stop(d);
    for (const target of [d, DIRECTOR]) {
      assert.throws(() => director.getPid(target, "w"), NoProcError);
      assert.throws(() => director.getPids(target), NoProcError);
      assert.throws(() => director.whichChildren(target), NoProcError);
      assert.throws(() => director.countChildren(target), NoProcError);
      assert.throws(() => director.getChildspec(target, "w"), NoProcError);
      assert.throws(() => director.getRestartCount(target, "w"), NoProcError);
    }
    const other = spawn(forever);
    assert.throws(() => director.getPids(other), TypeError);
    assert.throws(() => director.getPids(42 as never), TypeError);
    exit(other, "kill");
    // A killed director's table goes too (no terminate).
    const k = await director.start({ children: [{ id: "w", start: worker }] });
    const child = director.getPid(k, "w");
    const ref = monitor(child);
    exit(k, "kill");
    assert.throws(() => director.getPids(k), NoProcError);
    assert.equal(await downReason(ref), "killed");
    await assertNoMessages();
  });

  test("ids may be any value but undefined: arrays and objects compare by value", async () => {
    const d = await director.start({
      children: [
        { id: ["stream", 1], start: worker },
        { id: { shard: 2 }, start: worker },
        { id: null, start: worker },
      ],
    });
    assert.ok(isAlive(director.getPid(d, ["stream", 1])));
    assert.ok(isAlive(director.getPid(d, { shard: 2 })));
    assert.ok(isAlive(director.getPid(d, null)));
    await director.terminateAndDeleteChild(d, ["stream", 1]);
    assert.equal(
      await code(() => director.getPid(d, ["stream", 1])),
      "not_found",
    );
    await assert.rejects(
      director.startChild(d, { id: undefined, start: worker }),
      (e) => e instanceof ChildSpecError && e.key === "id",
    );
    await director.stop(d);
    await assertNoMessages();
  });
});

// ----------------------------------------------------------- adoption --

describe("Director adoption", () => {
  test("becomeSupervisor() links to a live process and directs it; its crash runs the plan with spec.start", async () => {
    const orphan = spawn(forever);
    const d = await director.start({});
    await director.becomeSupervisor(d, orphan, {
      id: "o",
      start: worker,
      plan: ["restart"],
    });
    assert.equal(director.getPid(d, "o"), orphan);
    assert.deepEqual(processInfo(orphan)!.links, [d]);
    await kill(orphan);
    const successor = director.getPid(d, "o");
    assert.notEqual(successor, orphan);
    assert.ok(isAlive(successor));
    // errors
    assert.equal(
      await code(
        director.becomeSupervisor(d, spawn(() => {}), {
          id: "p",
          start: worker,
        }),
      ),
      "noproc",
    );
    assert.equal(
      await code(
        director.becomeSupervisor(d, successor, { id: "q", start: worker }),
      ),
      "already_started",
    );
    const other = spawn(forever);
    assert.equal(
      await code(
        director.becomeSupervisor(d, other, { id: "o", start: worker }),
      ),
      "already_started",
    );
    await director.terminateChild(d, "o");
    assert.equal(
      await code(
        director.becomeSupervisor(d, other, { id: "o", start: worker }),
      ),
      "already_present",
    );
    await assert.rejects(
      director.becomeSupervisor(d, "x" as never, { id: "o", start: worker }),
      TypeError,
    );
    exit(other, "kill");
    await director.stop(d);
    await assertNoMessages();
  });

  test("deleteRunningChild() unlinks and forgets a child, which keeps running; unknown pids are notFound", async () => {
    const d = await director.start({
      children: [{ id: "w", start: worker }],
    });
    const pid = director.getPid(d, "w");
    await director.deleteRunningChild(d, pid);
    assert.equal(await code(() => director.getPid(d, "w")), "not_found");
    assert.deepEqual(processInfo(pid)!.links, []);
    assert.equal(await code(director.deleteRunningChild(d, pid)), "not_found");
    await director.stop(d);
    assert.ok(isAlive(pid));
    // another director adopts it
    const d2 = await director.start({});
    await director.becomeSupervisor(d2, pid, { id: "w", start: worker });
    await director.stop(d2);
    assert.ok(!isAlive(pid));
    await assertNoMessages();
  });

  test("an empty director: queries are empty, requests about unknown children are notFound", async () => {
    const d = await director.start({});
    assert.deepEqual(director.getPids(d), []);
    assert.equal(await code(director.terminateChild(d, "x")), "not_found");
    assert.equal(await code(director.restartChild(d, "x")), "not_found");
    assert.equal(await code(director.deleteChild(d, "x")), "not_found");
    assert.equal(
      await code(director.terminateAndDeleteChild(d, "x")),
      "not_found",
    );
    assert.equal(
      await code(director.deleteRunningChild(d, spawn(() => {}))),
      "not_found",
    );
    assert.equal(await code(() => director.getChildspec(d, "x")), "not_found");
    assert.equal(
      await code(() => director.getRestartCount(d, "x")),
      "not_found",
    );
    await director.stop(d);
    await assertNoMessages();
  });
});

// ------------------------------------------------ start, specs, reports --

describe("Director.start() and child specs", () => {
  test("a child failing to start during init stops the ones started, newest first, and rejects", async () => {
    const order: string[] = [];
    const named = (name: string) => () =>
      spawnLink(async () => {
        trapExit(true);
        await receive((m) => Array.isArray(m) && m[0] === "EXIT");
        order.push(name);
      });
    const reason = await startFails(director.start({
      children: [
        { id: "a", start: named("a") },
        { id: "b", start: named("b") },
        { id: "c", start: () => ["error", "no db"] as const },
      ],
    }, { name: DIRECTOR }));
    assert.deepEqual(reason, [
      "shutdown",
      ["failed_to_start_child", "c", "no db"],
    ]);
    assert.deepEqual(order, ["b", "a"]);
    assert.equal(whereis(DIRECTOR), undefined);
    await assertNoMessages();
  });

  test("plan tuples are arrays: the old object forms are ChildSpecErrors naming the new form, init's { stop } a TypeError", async () => {
    const start = () => "ignore" as const;
    const old: [unknown, RegExp][] = [
      [{ restart: 100 }, /\["restart", ms\] \(plan tuples are arrays/],
      [{ stop: "oops" }, /\["stop", reason\] \(plan tuples are arrays/],
      [
        { backoff: { initial: 1, max: 2 } },
        /\["backoff", \{ initial, max \}\] \(plan tuples are arrays/,
      ],
    ];
    for (const [element, message] of old) {
      const err = director.checkChildspec({ id: 1, start, plan: [element] });
      assert.ok(err instanceof ChildSpecError && err instanceof TypeError);
      assert.equal(err.key, "plan");
      assert.match(err.message, message);
    }
    for (const bad of [["restart"], ["restart", 1, 2], ["backoff", 1], []]) {
      const err = director.checkChildspec({ id: 1, start, plan: [bad] });
      assert.ok(err instanceof ChildSpecError, JSON.stringify(bad));
    }
    // The new forms are accepted and kept as they are.
    const plan = [["restart", 5], ["stop", "x"], [
      "backoff",
      { initial: 1, max: 2 },
    ]] as const;
    assert.equal(director.checkChildspec({ id: 1, start, plan }), undefined);
    const reason = await startFails(
      director.start(() => ({ stop: "foo" }) as never),
    );
    assert.ok(reason instanceof TypeError, String(reason));
    assert.match(reason.message, /write \["stop", reason\]/);
    await assertNoMessages();
  });

  test("invalid specs and options reject at the edge, naming the key; from init they fail the start", async () => {
    const start = () => "ignore" as const;
    const bad: [unknown, string][] = [
      [{ start }, "id"],
      [{ id: 1 }, "start"],
      [{ id: 1, start: 42 }, "start"],
      [{ id: 1, start, plan: "restart" }, "plan"],
      [{ id: 1, start, plan: [["restart", -1]] }, "plan"],
      [{ id: 1, start, plan: [{ restart: 1, stop: 2 }] }, "plan"],
      [{ id: 1, start, count: -1 }, "count"],
      [{ id: 1, start, count: "infinity" }, "count"],
      [{ id: 1, start, terminateTimeout: 1.5 }, "terminateTimeout"],
      [{ id: 1, start, type: "sup" }, "type"],
      [{ id: 1, start, modules: [1] }, "modules"],
      [{ id: 1, start, append: "yes" }, "append"],
      [{ id: 1, start, args: 1 }, "args"],
      [{ id: 1, start, logValidator: "long" }, "logValidator"],
      [{ id: 1, append: true }, "start"],
    ];
    for (const [spec, key] of bad) {
      const err = director.checkChildspec(spec);
      assert.ok(err instanceof ChildSpecError, JSON.stringify(spec));
      assert.equal(err.key, key);
      assert.match(err.message, /^Cannot use child spec( 1)?: /);
      await assert.rejects(
        director.start({ children: [spec as ChildSpec] }),
        (e) => e instanceof ChildSpecError && e.key === key,
      );
    }
    assert.equal(
      director.checkChildspec({ id: 1, append: true }, { start }),
      undefined,
    );
    await assert.rejects(
      director.start({ children: [{ id: 1, start }, { id: 1, start }] }),
      (e) => e instanceof ChildSpecError && e.key === "id",
    );
    await assert.rejects(
      director.start({ defaultChildspec: { id: 1 } as never }),
      (e) => e instanceof ChildSpecError && e.key === "id",
    );
    await assert.rejects(director.start(42 as never), TypeError);
    await assert.rejects(
      director.start({}, { debug: "yes" } as never),
      TypeError,
    );
    await assert.rejects(director.start({}, { logger: 1 } as never), TypeError);
    assert.deepEqual(
      await startFails(
        director.start(() => ({ children: [{ id: 1 } as never] })),
      ),
      ["start_spec", "missing_start"],
    );
    await assertNoMessages();
  });

  test("changeDefaultChildspec() leaving an append child without start changes nothing", async () => {
    const start = worker;
    const d = await director.start({ defaultChildspec: { start, args: [] } });
    await director.startChild(d, { id: 1, append: true });
    await assert.rejects(
      director.changeDefaultChildspec(d, { count: 2 }),
      (e) => e instanceof ChildSpecError && e.key === "start",
    );
    assert.equal(director.getChildspec(d, 1).start, start);
    assert.equal(director.getChildspec(d, 1).count, 3);
    await director.stop(d);
    await assertNoMessages();
  });

  test("append merges args (default first), Infinity asymmetrically, modules and dynamic", async () => {
    const seen: unknown[][] = [];
    const conn = (...args: unknown[]) => (seen.push(args), worker());
    const d = await director.start({
      defaultChildspec: {
        start: conn,
        args: ["db"],
        count: Infinity,
        terminateTimeout: 500,
        modules: ["conn"],
      },
    });
    await director.startChild(d, { id: 7, append: true, args: [7], count: 2 });
    await director.startChild(d, {
      id: 8,
      append: true,
      args: [8],
      terminateTimeout: Infinity,
      modules: "dynamic",
    });
    await director.startChild(d, { id: 9, start: conn, args: [9] }); // not append
    assert.deepEqual(seen, [["db", 7], ["db", 8], [9]]);
    const s7 = director.getChildspec(d, 7);
    assert.equal(s7.count, 2); // the default's Infinity leaves the child's
    assert.equal(s7.terminateTimeout, 1500);
    assert.deepEqual(s7.modules, ["conn"]);
    const s8 = director.getChildspec(d, 8);
    assert.equal(s8.terminateTimeout, Infinity);
    assert.equal(s8.modules, "dynamic");
    assert.equal(director.getChildspec(d, 9).count, 3);
    await director.stop(d);
    await assertNoMessages();
  });

  test("log validators choose short, long or none per child; the director's applies to the others", async () => {
    const logged: LogEntry[] = [];
    const d = await director.start({
      children: [
        { id: "quiet", start: worker, logValidator: () => "none" },
        {
          id: "loud",
          start: worker,
          logValidator: (level) => level === "error" ? "long" : "none",
        },
        { id: "plain", start: worker },
      ],
    }, {
      logger: (e) => logged.push(e),
      logValidator: () => "short",
    });
    assert.deepEqual(logged.map((e) => e.id), ["plain"]);
    logged.length = 0;
    for (const id of ["quiet", "loud", "plain"]) {
      await kill(director.getPid(d, id));
    }
    assert.deepEqual(
      logged.map((e) => [e.id, e.kind, e.form]),
      [
        ["loud", "child_terminated", "long"],
        ["plain", "child_terminated", "short"],
        ["plain", "progress", "short"],
      ],
    );
    assert.match(logged[0].text, /^=SUPERVISOR REPORT====\n/);
    assert.match(logged[0].text, /Context: +child_terminated/);
    assert.match(logged[0].text, /restartCount=0/);
    await director.stop(d);
    await assertNoMessages();
  });

  test("events: started, exited, plan element, delayed, restarted, terminated, deleted, stopped", async () => {
    await withClock(async (clock) => {
      const [events, off] = recordEvents();
      const d = await director.start({
        children: [{
          id: "w",
          start: worker,
          plan: [["restart", 5], "delete"],
        }],
      });
      await kill(director.getPid(d, "w"));
      await clock.advance(5);
      await director.terminateChild(d, "w");
      await director.deleteChild(d, "w");
      await director.stop(d, "shutdown");
      off();
      assert.deepEqual(events.map((e) => e.type), [
        "child_started",
        "child_exited",
        "plan_element",
        "restart_delayed",
        "child_restarted",
        "child_terminated",
        "child_deleted",
        "director_stopped",
      ]);
      assert.ok(events.every((e) => e.director === d));
      const delayed = events[3];
      assert.ok(delayed.type === "restart_delayed");
      assert.equal(delayed.restartAt, 5);
      const stopped = events[7];
      assert.ok(stopped.type === "director_stopped");
      assert.equal(stopped.reason, "shutdown");
    });
    await assertNoMessages();
  });

  test("startLink() links the director to the caller; disposing it (await using) stops it", async () => {
    // `await using d = ...` calls this on scope exit (Node 20 lacks the syntax).
    const d = await director.startLink({
      children: [{ id: "w", start: worker }],
    });
    assert.equal(processInfo(d)!.links.length, 2);
    await d[Symbol.asyncDispose]();
    assert.ok(!isAlive(d));
    assert.deepEqual(await receive(), ["EXIT", d, "shutdown"]);
    await d[Symbol.asyncDispose](); // twice: a no-op
    await assertNoMessages();
  });
});
