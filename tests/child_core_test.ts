// The child-lifecycle core shared by supervisor, director and tracker:
// clean exits, the intensity window and the backoff (_restart.ts), the
// child states and their legal moves and the child table (_child_table.ts),
// startChild's answer (_request.ts), and the common base of the request
// errors (errors.ts). Plus what the sharing changed on purpose: a transient
// child exiting with ["shutdown", detail] is a clean exit, and a hostile
// exit reason cannot break the exit path.
import { describe, test } from "./_harness.ts";
import assert from "node:assert/strict";
import {
  addRestart,
  backoffDelay,
  cancelRestartTimer,
  Due,
  exitAction,
  restartWindow,
  startRestartTimer,
} from "../_restart.ts";
import { isCleanExit } from "../_safe.ts";
import {
  canMove,
  type ChildState,
  type ChildStateTag,
  ChildTable,
  move,
  runningPid,
  STARTING,
  STOPPED,
} from "../_child_table.ts";
import { Failure, startedChild, then } from "../_request.ts";
import { ChildRequestError, SupervisorError } from "../errors.ts";
import * as supervisor from "../supervisor.ts";
import { DirectorError } from "../director.ts";
import * as tracker from "../tracker.ts";
import { TrackerError } from "../tracker.ts";
import {
  exit,
  monitor,
  type Pid,
  receive,
  self,
  spawn,
  spawnLink,
} from "../process.ts";
import { getClock } from "../clock.ts";
import { procOf } from "../_runtime.ts";
import { downReason, forever, withClock } from "./_helpers.ts";

describe("isCleanExit", () => {
  test('normal, shutdown and ["shutdown", detail] are clean', () => {
    for (
      const r of [
        "normal",
        "shutdown",
        ["shutdown", "detail"],
        ["shutdown", undefined],
        ["shutdown", { nested: 1 }],
      ]
    ) {
      assert.equal(isCleanExit(r), true, JSON.stringify(r));
    }
  });

  test("anything else is not", () => {
    for (
      const r of [
        "kill",
        "killed",
        "noproc",
        "Normal",
        undefined,
        null,
        0,
        ["shutdown"],
        ["shutdown", 1, 2],
        ["normal", "x"],
        { reason: "shutdown" },
        // an object is no tuple: OTP's {shutdown, X} is ["shutdown", x]
        { shutdown: "detail" },
        { shutdown: undefined },
        new Error("shutdown"),
        Object.create({ shutdown: "inherited" }), // an own key, as a tuple's
      ]
    ) {
      assert.equal(isCleanExit(r), false, String(r));
    }
  });

  test("a hostile reason is not clean and never throws", () => {
    const hostile = new Proxy({}, {
      has() {
        throw new Error("has trap");
      },
      get() {
        throw new Error("get trap");
      },
      getPrototypeOf() {
        throw new Error("getPrototypeOf trap");
      },
    });
    assert.equal(isCleanExit(hostile), false);
    const revocable = Proxy.revocable([], {});
    revocable.revoke();
    assert.equal(isCleanExit(revocable.proxy), false);
  });
});

describe("exitAction (OTP's do_restart)", () => {
  test("temporary: remove; transient: keep on a clean exit; else restart", () => {
    const reasons = [
      "normal",
      "shutdown",
      ["shutdown", 1],
      { shutdown: 1 },
      "kill",
      "boom",
    ];
    const clean = [true, true, true, false, false, false];
    reasons.forEach((r, i) => {
      assert.equal(exitAction("temporary", r), "remove");
      assert.equal(exitAction("permanent", r), "restart");
      assert.equal(exitAction("transient", r), clean[i] ? "keep" : "restart");
    });
  });
});

describe("addRestart (OTP's add_restart)", () => {
  test("more than intensity restarts within the period give up", () => {
    const w = restartWindow();
    assert.equal(addRestart(w, 0, 1000, 2), true);
    assert.equal(addRestart(w, 10, 1000, 2), true);
    assert.equal(addRestart(w, 20, 1000, 2), false);
  });

  test("restarts older than the period fall out of the window", () => {
    const w = restartWindow();
    assert.equal(addRestart(w, 0, 1000, 1), true);
    assert.equal(addRestart(w, 999, 1000, 1), false); // 0 still in the window
    const v = restartWindow();
    assert.equal(addRestart(v, 0, 1000, 1), true);
    assert.equal(addRestart(v, 1001, 1000, 1), true);
    assert.equal(addRestart(v, 2002, 1000, 1), true);
  });

  test("intensity 0: the first restart gives up", () => {
    assert.equal(addRestart(restartWindow(), 5, 1000, 0), false);
  });

  test("a long burst keeps the queue short (the head is compacted)", () => {
    const w = restartWindow();
    for (let t = 0; t < 100_000; t++) {
      assert.equal(addRestart(w, t, 10, 1_000), true);
    }
    assert.ok(w.times.length - w.head <= 11);
    assert.ok(w.times.length < 3_000, `queue length ${w.times.length}`);
  });
});

describe("backoffDelay", () => {
  const rule = { initial: 100, max: 1_000, factor: 2, jitter: 0 };

  test("initial * factor ** n, capped at max", () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4, 10].map((n) => backoffDelay(rule, n)),
      [100, 200, 400, 800, 1_000, 1_000],
    );
  });

  test("jitter takes up to that fraction off, rounded to whole ms", () => {
    const j = { ...rule, jitter: 0.5 };
    assert.equal(backoffDelay(j, 0, () => 0), 100);
    assert.equal(backoffDelay(j, 0, () => 0.5), 75);
    assert.equal(backoffDelay(j, 0, () => 0.999), 50);
    assert.equal(backoffDelay(j, 1, () => 0.333), 167);
  });
});

describe("RestartTimer", () => {
  test("puts a Due naming the timer in the owner's mailbox, on the injected clock", async () => {
    await withClock(async (clock) => {
      const timer = startRestartTimer(
        procOf(self()),
        "child",
        getClock().now(),
        50,
      );
      assert.equal(timer.at, getClock().now() + 50);
      assert.equal(timer.child, "child");
      await clock.advance(49);
      await assert.rejects(receive((m) => m instanceof Due, { timeout: 0 }));
      await clock.advance(1);
      const due = await receive((m) => m instanceof Due, { timeout: 0 });
      assert.equal((due as Due<string>).timer, timer);
    });
  });

  test("a cancelled timer delivers nothing and leaves no clock timer", async () => {
    await withClock(async (clock) => {
      const timer = startRestartTimer(procOf(self()), 1, getClock().now(), 50);
      cancelRestartTimer(timer);
      cancelRestartTimer(timer); // idempotent
      await clock.advance(100);
      await assert.rejects(receive((m) => m instanceof Due, { timeout: 0 }));
    });
  });
});

describe("child states", () => {
  const TAGS: ChildStateTag[] = [
    "starting",
    "running",
    "restarting",
    "terminating",
    "stopped",
  ];

  test("the legal moves", () => {
    const legal = new Set([
      "stopped>starting",
      "stopped>running",
      "stopped>restarting",
      "stopped>stopped",
      "starting>running",
      "starting>restarting",
      "starting>stopped",
      "running>restarting",
      "running>terminating",
      "running>stopped",
      "restarting>starting",
      "restarting>running",
      "restarting>restarting",
      "restarting>stopped",
      "terminating>stopped",
      "terminating>starting",
      "terminating>restarting",
    ]);
    for (const from of TAGS) {
      for (const to of TAGS) {
        assert.equal(
          canMove(from, to),
          legal.has(`${from}>${to}`),
          `${from}>${to}`,
        );
      }
    }
  });

  test("move returns the new state, or throws naming the illegal move", () => {
    const pid = spawn(() => {});
    const running: ChildState = { tag: "running", pid };
    assert.equal(move(STOPPED, running), running);
    assert.equal(runningPid(running), pid);
    assert.equal(runningPid(STOPPED), undefined);
    assert.equal(runningPid({ tag: "terminating", pid }), undefined);
    assert.throws(
      () => move({ tag: "terminating", pid }, running),
      /cannot go from terminating to running/,
    );
    assert.throws(() => move(running, STARTING), /running to starting/);
  });
});

describe("ChildTable", () => {
  interface C {
    id: unknown;
  }

  test("keeps insertion order; finds ids by term equality; deletes", () => {
    const t = new ChildTable<C>((c) => c.id);
    const a = { id: "a" }, b = { id: ["b", { n: 1 }] }, c = { id: 3 };
    t.add(a);
    t.add(b);
    t.add(c);
    assert.equal(t.size, 3);
    assert.deepEqual(t.list(), [a, b, c]);
    assert.equal(t.find("a"), a);
    assert.equal(t.find(["b", { n: 1 }]), b);
    assert.equal(t.find(["b", { n: 2 }]), undefined);
    assert.equal(t.find(3), c);
    assert.equal(t.find("3"), undefined);
    t.delete(b);
    assert.equal(t.has(b), false);
    assert.equal(t.find(["b", { n: 1 }]), undefined);
    assert.deepEqual([...t], [a, c]);
    t.delete(a);
    assert.equal(t.find("a"), undefined);
  });

  test("unkeyed (dynamic children): no id lookup by map, order only", () => {
    const t = new ChildTable<C>((c) => c.id, false);
    const a = { id: "same" }, b = { id: "same" };
    t.add(a);
    t.add(b);
    assert.deepEqual(t.list(), [a, b]);
    t.delete(a);
    assert.deepEqual(t.list(), [b]);
  });
});

describe("startedChild", () => {
  const fail = (code: string, d: { reason?: unknown; pid?: Pid }) =>
    new Failure(new SupervisorError("startChild", "w", code as never, d));

  test("a pid and extra, ignore, alreadyStarted, startFailed", () => {
    const pid = spawn(() => {});
    assert.deepEqual(startedChild({ pid, extra: 1 }, fail), { pid, extra: 1 });
    assert.deepEqual(startedChild("ignore", fail), {
      pid: undefined,
      extra: undefined,
    });
    const already = startedChild({ error: ["already_started", pid] }, fail);
    assert.ok(already instanceof Failure);
    const e1 = already.error as SupervisorError;
    assert.equal(e1.code, "already_started");
    assert.equal(e1.pid, pid);
    const failed = startedChild({ error: "boom" }, fail);
    assert.ok(failed instanceof Failure);
    const e2 = failed.error as SupervisorError;
    assert.equal(e2.code, "start_failed");
    assert.equal(e2.reason, "boom");
  });

  test("a hostile failure reason is startFailed, never a throw", () => {
    const hostile = new Proxy({}, {
      get() {
        throw new Error("get trap");
      },
    });
    const r = startedChild({ error: hostile }, fail);
    assert.ok(r instanceof Failure);
    assert.equal((r.error as SupervisorError).code, "start_failed");
  });

  test("then: at once for values, after settling for promises", async () => {
    assert.equal(then(1, (v) => v + 1), 2);
    const p = then(Promise.resolve(1), (v) => v + 1);
    assert.ok(p instanceof Promise);
    assert.equal(await p, 2);
  });
});

describe("ChildRequestError", () => {
  test("the three modules' errors share it; names, codes and messages as before", () => {
    const pid = spawn(() => {});
    const s = new SupervisorError("startChild", "w", "start_failed", {
      reason: "boom",
    });
    const d = new DirectorError("getPid", "x", "not_found");
    const t = new TrackerError("setAttr", "trk", "y", "not_found");
    for (const e of [s, d, t]) {
      assert.ok(e instanceof ChildRequestError);
      assert.ok(e instanceof Error);
    }
    assert.equal(s.name, "SupervisorError");
    assert.equal(s.message, 'Cannot startChild "w": its start failed ("boom")');
    assert.equal(s.reason, "boom");
    assert.equal(d.name, "DirectorError");
    assert.equal(d.message, 'Cannot getPid "x": no such child');
    assert.equal(t.name, "TrackerError");
    assert.equal(t.tracker, "trk");
    assert.equal(t.child, "y");
    assert.match(t.message, /^Cannot setAttr child "y" of tracker "trk": /);
    const a = new SupervisorError("startChild", "w", "already_started", {
      pid,
    });
    assert.equal(a.pid, pid);
    const cause = new Error("inner");
    const c = new SupervisorError("startChild", "w", "start_failed", {
      reason: cause,
    });
    assert.equal(c.cause, cause);
  });
});

describe("supervisor on the shared core", () => {
  async function withTransient(
    body: (sup: Pid, pid: Pid) => Promise<void>,
  ): Promise<void> {
    const sup = await supervisor.start({
      strategy: "one_for_one",
      intensity: 5,
      period: 5,
      children: [{
        id: "t",
        restart: "transient",
        start: () => spawnLink(forever),
      }],
    });
    try {
      const [child] = await supervisor.whichChildren(sup);
      await body(sup, child.pid as Pid);
    } finally {
      await supervisor.stop(sup);
    }
  }

  test('a transient child exiting with ["shutdown", detail] is not restarted', async () => {
    await withTransient(async (sup, pid) => {
      const ref = monitor(pid);
      exit(pid, ["shutdown", "detail"]);
      assert.deepEqual(await downReason(ref), ["shutdown", "detail"]);
      const [child] = await supervisor.whichChildren(sup);
      assert.equal(child.pid, undefined);
    });
  });

  test("a transient child exiting with a hostile reason is restarted; the supervisor lives on", async () => {
    await withTransient(async (sup, pid) => {
      const hostile = new Proxy({}, {
        has() {
          throw new Error("has trap");
        },
      });
      const ref = monitor(pid);
      exit(pid, hostile);
      await downReason(ref);
      const [child] = await supervisor.whichChildren(sup);
      assert.ok(child.pid !== undefined && child.pid !== pid);
    });
  });
});

describe("tracker on the shared core", () => {
  test('a transient child exiting with ["shutdown", detail] is forgotten; a hostile reason restarts it', async () => {
    const t = "child_core_tracker";
    await tracker.start(t, { intensity: 5 });
    try {
      const spec = {
        id: "tr",
        restart: "transient" as const,
        start: () => spawnLink(forever),
      };
      const pid = await tracker.findOrOpen(t, spec);
      const hostile = new Proxy({}, {
        has() {
          throw new Error("has trap");
        },
      });
      exit(pid, hostile);
      await tracker.wait(t);
      const next = tracker.find(t, "tr");
      assert.ok(next !== undefined && next !== pid);
      exit(next, ["shutdown", "bye"]);
      await tracker.wait(t);
      assert.equal(tracker.find(t, "tr"), undefined);
      assert.deepEqual(await tracker.whichChildren(t), []);
    } finally {
      await tracker.stop(t);
    }
  });
});
