// Tracker: ports of gen_tracker's suite (reference seeds.md §1.4: every case
// of group `creation`, with async_exit_child and the disabled transient and
// permanent cases), then every API of tracker.ts and every gen_tracker
// defect the census lists (§1.2, §1.3), fixed.
import { describe, test } from "./_harness.ts";
import { consoleLogger, setLogger } from "../logger.ts";
import assert from "node:assert/strict";
import * as tracker from "../tracker.ts";
import * as supervisor from "../supervisor.ts";
import {
  type AfterTerminate,
  type ChildSpec,
  TrackerError,
  type TrackerEvent,
} from "../tracker.ts";
import * as genServer from "../gen_server.ts";
import * as ets from "../ets.ts";
import {
  exit,
  isAlive,
  monitor,
  type Pid,
  processInfo,
  receive,
  self,
  send,
  spawn,
  spawnLink,
  trapExit,
  whereis,
} from "../process.ts";
import {
  CallError,
  ChildSpecError,
  EtsError,
  NoProcError,
  StartError,
  TimeoutError,
} from "../errors.ts";
import type { VirtualClock } from "../clock.ts";
import {
  assertNoMessages,
  downReason,
  flush,
  forever,
  settle,
  withClock,
} from "./_helpers.ts";

// ---------------------------------------------------------------- helpers --

let serial = 0;

/**
 * Runs `fn` with a fresh tracker (a unique name unless given) on a virtual
 * clock, and stops the tracker afterwards if it is still alive.
 */
function withTracker(
  fn: (name: string, clock: VirtualClock) => Promise<void>,
  options: tracker.TrackerOptions = {},
  name = `trk_${++serial}`,
): Promise<void> {
  return withClock(async (clock) => {
    const pid = await tracker.start(name, options);
    try {
      await fn(name, clock);
    } finally {
      if (isAlive(pid)) await tracker.stop(pid);
      await flush();
    }
  });
}

/**
 * A child body (gen_tracker_SUITE's process1): waits for messages; "stop"
 * ends it normally, "crash" with reason "crashed", ["set", k, v] sets an
 * attribute of its own (as `id` in `trk`).
 */
function childBody(trk?: string, id?: unknown) {
  return async () => {
    for (;;) {
      const m = await receive();
      if (m === "stop") return;
      if (m === "crash") throw new Error("crashed");
      if (Array.isArray(m) && m[0] === "set") {
        tracker.setAttr(trk!, id, m[1] as string, m[2]);
      }
    }
  };
}

/** A spec whose child is a linked process running childBody. */
function spec(
  id: unknown,
  extra: Partial<ChildSpec> = {},
  trk?: string,
): ChildSpec {
  return { id, start: () => spawnLink(childBody(trk, id)), ...extra };
}

/** Stops a child's process normally and waits for it to be gone. */
async function stopChild(pid: Pid, message = "stop"): Promise<unknown> {
  const ref = monitor(pid);
  send(pid, message);
  return await downReason(ref);
}

/** Kills a process and waits for it to be gone. */
async function kill(pid: Pid, reason: unknown = "kill"): Promise<unknown> {
  const ref = monitor(pid);
  exit(pid, reason);
  return await downReason(ref);
}

/** The TrackerError a promise rejects with, checking its code. */
async function rejectsWith(
  p: Promise<unknown>,
  code: tracker.TrackerErrorCode,
): Promise<TrackerError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof TrackerError, `expected TrackerError, got ${e}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected a TrackerError ${code}`);
}

/** Whether a function throws a TrackerError with this code. */
function throwsCode(fn: () => unknown, code: tracker.TrackerErrorCode): void {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof TrackerError, `expected TrackerError, got ${e}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

/** Collects the tracker events of `name` while `fn` runs. */
async function eventsOf(
  name: string,
  fn: () => Promise<void>,
): Promise<TrackerEvent[]> {
  const seen: TrackerEvent[] = [];
  const off = tracker.subscribe((e) => {
    if (e.name === name) seen.push(e);
  });
  try {
    await fn();
  } finally {
    off();
  }
  return seen;
}

/** The child id an event names, if any. */
function idOf(e: TrackerEvent): unknown {
  return (e as { id?: unknown }).id;
}

/** An afterTerminate that reports each call to the calling test. */
function reporting(): AfterTerminate {
  const main = self();
  return (id, attrs, reason) => {
    send(main, ["after_terminate", id, attrs, reason, self()]);
  };
}

/** The next afterTerminate report (see reporting). */
async function afterTerminated(): Promise<[unknown, unknown, unknown, Pid]> {
  const m = await receive((m) =>
    Array.isArray(m) && m[0] === "after_terminate"
  ) as unknown[];
  return [m[1], m[2], m[3], m[4] as Pid];
}

// ------------------------------------------------------ gen_tracker_SUITE --

describe("gen_tracker_SUITE (group creation)", () => {
  test("wrong_child_spec: shutdown and type swapped -> ChildSpecError", async () => {
    await withTracker(async (t) => {
      const bad = {
        id: "process1",
        start: () => spawnLink(forever),
        restart: "temporary",
        shutdown: "worker",
        type: 200,
      } as unknown as ChildSpec;
      const err = await tracker.findOrOpen(t, bad).catch((e) => e);
      assert.ok(err instanceof ChildSpecError);
      assert.equal(err.key, "type");
      assert.deepEqual(err.reason, ["invalid_child_type", 200]);
      assert.deepEqual(await tracker.whichChildren(t), []);
    });
  });

  test("temporary: a child is listed while it runs, gone once it stops", async () => {
    await withTracker(async (t) => {
      const pid = await tracker.findOrOpen(t, spec("process1"));
      const rows = [{ id: "process1", pid, type: "worker", modules: [] }];
      assert.deepEqual(tracker.whichChildren(t), rows);
      // supervisor:which_children/1 gives the same rows (by a message).
      assert.deepEqual(await supervisor.whichChildren(t), rows);
      assert.equal(await stopChild(pid), "normal");
      await tracker.wait(t);
      assert.deepEqual(tracker.whichChildren(t), []);
      assert.deepEqual(await supervisor.whichChildren(t), []);
      assert.equal(tracker.find(t, "process1"), undefined);
    });
  });

  test("list: every key, or only the keys asked for", async () => {
    await withTracker(async (t) => {
      const pid = await tracker.findOrOpen(t, spec("process1"));
      tracker.setAttr(t, "process1", "key1", "value1");
      tracker.setAttr(t, "process1", "key2", "value2");
      assert.deepEqual(tracker.list(t), [
        { id: "process1", pid, attrs: { key1: "value1", key2: "value2" } },
      ]);
      assert.deepEqual(tracker.list(t, ["key1"]), [
        { id: "process1", pid, attrs: { key1: "value1" } },
      ]);
      assert.deepEqual(tracker.list(t, []), [
        { id: "process1", pid, attrs: {} },
      ]);
    });
  });

  test("shutdown: exit(tracker, shutdown) from its parent ends it and its child", async () => {
    await withClock(async () => {
      // gen_tracker's test starts it with start_link: the test is its parent.
      const tpid = await tracker.startLink("shutdown_tracker");
      const pid = await tracker.findOrOpen(
        "shutdown_tracker",
        spec("process2", { restart: "permanent" }),
      );
      const ref = monitor(tpid);
      exit(tpid, "shutdown");
      assert.equal(await downReason(ref), "shutdown");
      assert.equal(isAlive(pid), false);
      await flush();
    });
  });

  test("add_existing_child: an adopted process is listed until it dies", async () => {
    await withTracker(async (t) => {
      assert.deepEqual(await tracker.whichChildren(t), []);
      const pid = spawn(async () => {
        await receive();
      });
      assert.equal(
        await tracker.addExistingChild(t, { id: "child1", pid }),
        pid,
      );
      assert.deepEqual(tracker.whichChildren(t), [
        { id: "child1", pid, type: "worker", modules: [] },
      ]);
      await stopChild(pid, "ok");
      await tracker.wait(t);
      assert.deepEqual(await tracker.whichChildren(t), []);
    });
  });

  test("rewrite_existing_child: a second adoption of the id is alreadyStarted", async () => {
    await withTracker(async (t) => {
      const first = spawn(forever);
      const second = spawn(forever);
      await tracker.addExistingChild(t, { id: "child1", pid: first });
      const err = await rejectsWith(
        tracker.addExistingChild(t, { id: "child1", pid: second }),
        "already_started",
      );
      assert.equal(err.pid, first);
      assert.equal(tracker.find(t, "child1"), first);
      exit(second, "kill");
    });
  });

  test("do_not_set_property_of_unknown_child: setAttr throws notFound, getAttr is undefined", async () => {
    await withTracker(async (t) => {
      await tracker.wait(t);
      throwsCode(
        () => tracker.setAttr(t, "unknown", "key", "value"),
        "not_found",
      );
      throwsCode(
        () => tracker.setAttr(t, "unknown", { key: "value" }),
        "not_found",
      );
      assert.equal(tracker.getAttr(t, "unknown", "key"), undefined);
      assert.deepEqual(tracker.attrs(t, "unknown"), {});
      assert.equal(ets.whereis(`${t}_attrs`)!.info()!.size, 0);
    });
  });

  test("shutdown_launching_child: a child whose start never returns dies with the tracker", async () => {
    await withClock(async () => {
      const t = "launching_tracker";
      const tpid = await tracker.start(t);
      const main = self();
      const opening = tracker.findOrOpen(t, {
        id: "slow",
        start: () =>
          genServer.startLink({
            init: () => {
              send(main, ["child", self()]);
              return new Promise<never>(() => {}); // never returns
            },
          }, undefined),
      }, { timeout: Infinity });
      const [, child] = await receive((m) =>
        Array.isArray(m) && m[0] === "child"
      ) as [string, Pid];
      assert.deepEqual(
        (await tracker.whichChildren(t)).map((c) => c.pid),
        ["launching"],
      );
      const ref = monitor(child);
      await tracker.stop(t, "shutdown");
      assert.equal(await downReason(ref), "shutdown");
      const err = await opening.catch((e) => e);
      assert.ok(err instanceof CallError && err.reason === "shutdown");
      assert.equal(isAlive(tpid), false);
      await flush();
    });
  });

  test("async_exit_child: callers wait for a slow afterTerminate, then share a fresh child", async () => {
    await withTracker(async (t) => {
      const main = self();
      const id = "async_terminate";
      // Many attributes on another child: the dying child's are found
      // without a scan (gen_tracker pre-filled 1M rows to show the cost).
      await tracker.findOrOpen(t, spec("filler"));
      const many: Record<string, number> = {};
      for (let i = 0; i < 20_000; i++) many[`a${i}`] = i;
      tracker.setAttr(t, "filler", many);
      let calls = 0;
      const slow: ChildSpec = {
        id,
        start: () =>
          spawnLink(async () => {
            tracker.setAttr(t, id, "parent", main);
            await receive((m) => m === "stop");
          }),
        afterTerminate: async (name, attrs, reason) => {
          calls++;
          send(main, ["dying", name, self(), attrs, reason]);
          await receive((m) => m === "get_away");
        },
      };
      const pid = await tracker.findOrOpen(t, slow);
      tracker.setAttr(t, id, "tracker", "yes");
      await tracker.wait(t);
      assert.equal(await stopChild(pid), "normal");
      const [, name, helper, attrs, reason] = await receive((m) =>
        Array.isArray(m) && m[0] === "dying"
      ) as [string, string, Pid, Record<string, unknown>, unknown];
      assert.equal(name, id);
      assert.deepEqual(attrs, { parent: main, tracker: "yes" });
      assert.equal(reason, "normal");
      assert.notEqual(helper, main);

      // While it runs: setAttr fails, getAttr still reads, find finds none.
      throwsCode(() => tracker.setAttr(t, id, "testattr", 1), "not_alive");
      assert.equal(tracker.getAttr(t, id, "tracker"), "yes");
      assert.equal(tracker.find(t, id), undefined);
      assert.deepEqual(
        (await tracker.whichChildren(t)).find((c) => c.id === id)?.pid,
        "terminating",
      );

      // Three concurrent opens do not return until afterTerminate exits.
      let returned = 0;
      const opens = [1, 2, 3].map(() =>
        tracker.findOrOpen(t, slow).then((p) => {
          returned++;
          return p;
        })
      );
      await tracker.wait(t);
      await settle();
      assert.equal(returned, 0);
      throwsCode(() => tracker.setAttr(t, id, "testattr", 1), "not_alive");
      send(helper, "get_away");
      const pids = await Promise.all(opens);
      assert.equal(returned, 3);
      assert.ok(pids.every((p) => p === pids[0]));
      assert.notEqual(pids[0], pid);
      assert.equal(tracker.find(t, id), pids[0]);

      // Old attributes are gone; a setter succeeds now.
      await tracker.wait(t);
      assert.equal(tracker.getAttr(t, id, "tracker"), undefined);
      tracker.setAttr(t, id, "testattr", 1);
      assert.equal(tracker.getAttr(t, id, "testattr"), 1);
      assert.equal(tracker.getAttr(t, id, "parent"), main);

      // Shutdown during a second slow afterTerminate: no extra call.
      assert.equal(await stopChild(pids[0]), "normal");
      const [, , helper2] = await receive((m) =>
        Array.isArray(m) && m[0] === "dying"
      ) as [string, string, Pid];
      const stopping = tracker.stop(t);
      await settle();
      send(helper2, "get_away");
      await stopping;
      assert.equal(calls, 2);
      await assertNoMessages();
    });
  });

  test("transient (disabled upstream): restarted after a crash, gone after a normal exit", async () => {
    await withTracker(async (t) => {
      const pid = await tracker.findOrOpen(
        t,
        spec("process1", { restart: "transient" }),
      );
      await stopChild(pid, "crash");
      await tracker.wait(t);
      const [row] = await tracker.whichChildren(t);
      assert.equal(row.id, "process1");
      assert.ok(row.pid !== pid && typeof row.pid === "object");
      await stopChild(row.pid as Pid);
      await tracker.wait(t);
      assert.deepEqual(await tracker.whichChildren(t), []);
    });
  });

  test("permanent (disabled upstream): restarted after any exit until deleted", async () => {
    await withTracker(async (t) => {
      const pid = await tracker.findOrOpen(
        t,
        spec("process1", { restart: "permanent" }),
      );
      await stopChild(pid, "crash");
      await tracker.wait(t);
      const pid2 = tracker.find(t, "process1")!;
      assert.ok(pid2 !== undefined && pid2 !== pid);
      await stopChild(pid2);
      await tracker.wait(t);
      const pid3 = tracker.find(t, "process1")!;
      assert.ok(pid3 !== undefined && pid3 !== pid2);
      await tracker.terminateChild(t, "process1");
      assert.equal(isAlive(pid3), false);
      await tracker.deleteChild(t, "process1");
      assert.deepEqual(await tracker.whichChildren(t), []);
    });
  });
});

// ----------------------------------------------------------- start, stop --

describe("Tracker.start() and stop()", () => {
  test("start() registers the tracker and creates its two named tables", async () => {
    await withTracker(async (t) => {
      const pid = whereis(t)!;
      assert.ok(pid !== undefined);
      const children = ets.whereis(t)!;
      const attrs = ets.whereis(`${t}_attrs`)!;
      assert.equal(children.info()!.owner, pid);
      assert.equal(children.info()!.access, "protected");
      assert.equal(attrs.info()!.owner, pid);
      await tracker.stop(t);
      assert.equal(ets.whereis(t), undefined);
      assert.equal(ets.whereis(`${t}_attrs`), undefined);
      assert.throws(() => tracker.find(t, "x"), NoProcError);
    });
  });

  test("start() rejects a bad name or option, naming it", async () => {
    await assert.rejects(
      tracker.start(""),
      new TypeError(
        `Cannot start tracker: 'name' must be a non-empty string, got ""`,
      ),
    );
    await assert.rejects(
      tracker.start("x", { intensity: -1 }),
      new RangeError(
        "Cannot start tracker: 'intensity' must be a whole number >= 0, got -1",
      ),
    );
    await assert.rejects(
      tracker.start("x", { period: "5" as unknown as number }),
      TypeError,
    );
    await assert.rejects(
      tracker.start("x", { backoff: { initial: 10, max: 5 } }),
      /'backoff.max' must be a finite number of ms >= backoff.initial, got 5/,
    );
    await assert.rejects(
      tracker.startLink("x", { bogus: 1 } as tracker.TrackerOptions),
      /unknown option "bogus"/,
    );
    await assert.rejects(
      tracker.start("x", {
        afterTerminate: "no" as unknown as AfterTerminate,
      }),
      /'afterTerminate' must be a function/,
    );
  });

  test("start() fails with StartError when the name or a table name is taken", async () => {
    await withTracker(async (t) => {
      const err = await tracker.start(t).catch((e) => e);
      assert.ok(err instanceof StartError);
      assert.deepEqual(err.reason, ["already_started", whereis(t)]);
      const table = ets.create("taken_attrs", { named: true });
      const err2 = await tracker.start("taken").catch((e) => e);
      assert.ok(err2 instanceof StartError);
      assert.ok(err2.reason instanceof EtsError);
      assert.equal(whereis("taken"), undefined);
      assert.equal(ets.whereis("taken"), undefined);
      table.destroy();
    });
  });

  test("stop() shuts every child down, all at once, and ends with the reason", async () => {
    await withTracker(async (t) => {
      const pids = await Promise.all(
        [1, 2, 3].map((i) => tracker.findOrOpen(t, spec(i))),
      );
      const refs = pids.map((p) => monitor(p));
      const tpid = whereis(t)!;
      const tref = monitor(tpid);
      const seen = await eventsOf(t, () => tracker.stop(t, "bye"));
      for (const ref of refs) assert.equal(await downReason(ref), "shutdown");
      assert.equal(await downReason(tref), "bye");
      assert.deepEqual(
        seen.map((e) => e.type),
        [
          "child_terminated",
          "child_terminated",
          "child_terminated",
          "tracker_stopped",
        ],
      );
    });
  });

  test("stop() kills a child that outlives its shutdown time", async () => {
    await withTracker(async (t, clock) => {
      const pid = await tracker.findOrOpen(t, {
        id: "stubborn",
        shutdown: 100,
        start: () =>
          spawnLink(async () => {
            trapExit(true);
            await forever();
          }),
      });
      const ref = monitor(pid);
      const stopping = tracker.stop(t);
      await clock.advance(100);
      await stopping;
      assert.equal(await downReason(ref), "killed");
    });
  });

  test("a tracker is disposable (Symbol.asyncDispose: await using)", async () => {
    await withClock(async () => {
      // `await using t = ...` where the runtime has it (not Node 20).
      const t = await tracker.start("disposed");
      const child = await tracker.findOrOpen(t, spec("a"));
      await t[Symbol.asyncDispose]();
      await t[Symbol.asyncDispose](); // twice: a no-op
      assert.equal(isAlive(t), false);
      assert.equal(isAlive(child), false);
      await flush();
    });
  });
});

// ------------------------------------------------------------------ find --

describe("Tracker.find()", () => {
  test("find() is a lookup: the pid of a running child, by value for array ids", async () => {
    await withTracker(async (t) => {
      const id = ["stream", 1, ["nested", null]];
      const pid = await tracker.findOrOpen(t, spec(id));
      const tpid = whereis(t)!;
      assert.equal(tracker.find(t, ["stream", 1, ["nested", null]]), pid);
      assert.equal(tracker.find(tpid, ["stream", 1, ["nested", null]]), pid);
      assert.equal(tracker.find(t, ["stream", 1, ["nested", 0]]), undefined);
      assert.equal(tracker.find(t, ["stream", 1]), undefined);
      assert.equal(tracker.find(t, "stream"), undefined);
      // The caller's array may change: the tracker kept its own copy.
      id[1] = 2;
      assert.equal(tracker.find(t, ["stream", 1, ["nested", null]]), pid);
    });
  });

  test("find() sends no message (works while the tracker is busy)", async () => {
    await withTracker(async (t, clock) => {
      const pid = await tracker.findOrOpen(t, spec("a"));
      const slowStarted = tracker.findOrOpen(t, {
        id: "slow",
        start: () => new Promise<never>(() => {}),
      }, { timeout: 10 }).catch((e) => e);
      // However many finds, the tracker's mailbox stays empty.
      for (let i = 0; i < 100; i++) assert.equal(tracker.find(t, "a"), pid);
      assert.equal(tracker.find(t, "slow"), undefined); // launching
      await clock.advance(10);
      assert.ok(await slowStarted instanceof TimeoutError);
    });
  });

  test("find() throws NoProcError for an unknown tracker, TypeError for a bad id", async () => {
    await withTracker(async (t) => {
      await tracker.wait(t);
      assert.throws(
        () => tracker.find("no_such_tracker", "a"),
        new NoProcError("find", "no_such_tracker"),
      );
      assert.throws(
        () => tracker.find(t, { a: 1 }),
        /Cannot find: 'id' must be a number, string, boolean, null, bigint, Pid, Ref or an array of those, got \{ a: 1 \}/,
      );
      assert.throws(() => tracker.find(t, [undefined]), TypeError);
      assert.throws(
        () => tracker.find(42 as unknown as string, "a"),
        /'tracker' must be a tracker's name or Pid, got 42/,
      );
    });
  });
});

// ------------------------------------------------------------ findOrOpen --

/** A start function that opens a gate only when told, counting its calls. */
function gated() {
  const main = self();
  const state = { calls: 0 };
  const start = async (...args: unknown[]) => {
    state.calls++;
    send(main, ["starting", args]);
    return await genServer.startLink({
      init: async () => {
        await receive((m) => m === "go");
        return ["ok", null];
      },
    }, undefined);
  };
  return { state, start };
}

describe("Tracker.findOrOpen()", () => {
  test("racing callers share one start and one pid", async () => {
    await withTracker(async (t) => {
      let calls = 0;
      const s: ChildSpec = {
        id: "shared",
        start: async () => {
          calls++;
          await Promise.resolve();
          return spawnLink(forever);
        },
      };
      const pids = await Promise.all(
        Array.from({ length: 10 }, () => tracker.findOrOpen(t, s)),
      );
      assert.equal(calls, 1);
      assert.ok(pids.every((p) => p === pids[0]));
      assert.equal(await tracker.findOrOpen(t, s), pids[0]);
      assert.equal(calls, 1);
    });
  });

  test("while a child launches, find is undefined and it shows as launching", async () => {
    await withTracker(async (t) => {
      const main = self();
      const opening = tracker.findOrOpen(t, {
        id: "gated",
        start: () =>
          genServer.startLink({
            init: async () => {
              send(main, ["in_init", self()]);
              await receive((m) => m === "go");
              return ["ok", null];
            },
          }, undefined),
      });
      const [, child] = await receive((m) =>
        Array.isArray(m) && m[0] === "in_init"
      ) as [string, Pid];
      assert.equal(tracker.find(t, "gated"), undefined);
      const [row] = await tracker.whichChildren(t);
      assert.equal(row.pid, "launching");
      // The table shows it a few microtasks into its start (a start that
      // is done by then goes straight to running: one write, not two).
      await settle();
      assert.deepEqual(ets.whereis(t)!.lookup("gated")[0].slice(0, 2), [
        "gated",
        "launching",
      ]);
      send(child, "go");
      assert.equal(await opening, child);
      assert.equal(ets.whereis(t)!.lookup("gated")[0][1], child);
    });
  });

  test("a child findable before it goes on (gen_tracker's init_ack): findOrOpen of itself", async () => {
    await withTracker(async (t) => {
      const main = self();
      const s: ChildSpec = {
        id: "acked",
        start: () =>
          genServer.startLink({
            init: () => ["ok", null, ["continue", "ack"]],
            async handleContinue(_arg, state) {
              // Right after init, before the tracker has published us:
              // this waits for it, and returns our own pid.
              const me = await tracker.findOrOpen(t, s);
              send(main, ["acked", me === self(), tracker.find(t, "acked")]);
              return ["noreply", state];
            },
          }, undefined),
      };
      const pid = await tracker.findOrOpen(t, s);
      const m = await receive((m) => Array.isArray(m) && m[0] === "acked");
      assert.deepEqual(m, ["acked", true, pid]);
    });
  });

  test("other ids open while one is launching (the tracker does not block)", async () => {
    await withTracker(async (t) => {
      const g = gated();
      const slow = tracker.findOrOpen(t, { id: "slow", start: g.start });
      await receive((m) => Array.isArray(m) && m[0] === "starting");
      const fast = await tracker.findOrOpen(t, spec("fast"));
      assert.equal(tracker.find(t, "fast"), fast);
      const [row] = (await tracker.whichChildren(t)).filter((c) =>
        c.id === "slow"
      );
      assert.equal(row.pid, "launching");
      const child = (await tracker.whichChildren(t)).length;
      assert.equal(child, 2);
      // Let it go: find the child through its link to the tracker.
      for (const p of (await genServerLinks(t))) send(p, "go");
      assert.equal(await slow, tracker.find(t, "slow"));
    });
  });

  test("a failed start rejects every waiter with the reason and leaves nothing", async () => {
    for (
      const [how, start, reason] of [
        ["returns an error", () => ["error", "no_camera"], "no_camera"],
        ["throws", () => {
          throw new Error("boom");
        }, "Error"],
        ["rejects", () => Promise.reject("enoent"), "enoent"],
        ["returns garbage", () => 42, 42],
      ] as const
    ) {
      await withTracker(async (t) => {
        const s: ChildSpec = {
          id: "broken",
          start: async () => {
            await Promise.resolve();
            tracker.setAttr(t, "broken", "leak", "no"); // while launching
            return await (start as () => unknown)() as never;
          },
        };
        const results = await Promise.allSettled(
          [1, 2, 3].map(() => tracker.findOrOpen(t, s)),
        );
        for (const r of results) {
          assert.equal(r.status, "rejected", how);
          const e = (r as PromiseRejectedResult).reason;
          assert.ok(e instanceof TrackerError, how);
          assert.equal(e.code, "start_failed");
          if (reason === "Error") assert.ok(e.reason instanceof Error);
          else assert.equal(e.reason, reason);
        }
        assert.deepEqual(await tracker.whichChildren(t), []);
        assert.equal(ets.whereis(t)!.info()!.size, 0);
        assert.equal(ets.whereis(`${t}_attrs`)!.info()!.size, 0);
        assert.deepEqual(tracker.attrs(t, "broken"), {});
      });
    }
  });

  test('"ignore" rejects every waiter with TrackerError "ignored" and keeps nothing', async () => {
    await withTracker(async (t) => {
      const s: ChildSpec = {
        id: "ignored",
        start: async () => {
          tracker.setAttr(t, "ignored", "leak", 1);
          await Promise.resolve();
          return "ignore" as const;
        },
      };
      const results = await Promise.allSettled(
        [1, 2].map(() => tracker.findOrOpen(t, s)),
      );
      for (const r of results) {
        const e = (r as PromiseRejectedResult).reason;
        assert.ok(e instanceof TrackerError && e.code === "ignored");
      }
      assert.deepEqual(await tracker.whichChildren(t), []);
      assert.equal(ets.whereis(`${t}_attrs`)!.info()!.size, 0);
      // A gen_server init returning "ignore" counts too.
      await rejectsWith(
        tracker.findOrOpen(t, {
          id: "gs",
          start: () => genServer.startLink({ init: () => "ignore" }, undefined),
        }),
        "ignored",
      );
    });
  });

  test("{ pid, extra } is tracked like any child; whichChildren shows the extra", async () => {
    await withTracker(async (t) => {
      const pid = await tracker.findOrOpen(t, {
        id: "extra",
        start: () => ({ pid: spawnLink(forever), extra: { port: 554 } }),
      });
      assert.equal(tracker.find(t, "extra"), pid);
      const [row] = await tracker.whichChildren(t);
      assert.deepEqual(row.extra, { port: 554 });
      const pid2 = await tracker.findOrOpen(t, {
        id: "ok3",
        start: () => ["ok", spawnLink(forever), "info"] as const,
      });
      assert.equal(tracker.find(t, "ok3"), pid2);
      // The child is supervised: stopping the tracker stops it.
      const ref = monitor(pid);
      await tracker.stop(t);
      assert.equal(await downReason(ref), "shutdown");
    });
  });

  test("a start that does not link its child is linked by the tracker", async () => {
    await withTracker(async (t) => {
      const pid = await tracker.findOrOpen(t, {
        id: "unlinked",
        start: () => spawn(forever),
      });
      const ref = monitor(pid);
      await tracker.stop(t);
      assert.equal(await downReason(ref), "shutdown");
    });
  });

  test("a child that dies before its start returns is seen dead (no stale entry)", async () => {
    await withTracker(async (t) => {
      const pid = await tracker.findOrOpen(t, {
        id: "brief",
        start: async () => {
          const p = spawnLink(() => {});
          // Dead before the start returns (a loaded scheduler may take
          // more than one timer turn to run it).
          while (isAlive(p)) await new Promise((r) => setTimeout(r, 0));
          return p;
        },
      });
      assert.equal(isAlive(pid), false);
      await tracker.wait(t);
      assert.deepEqual(await tracker.whichChildren(t), []);
    });
  });

  test("timeout: rejects with TimeoutError; the child still starts and is found later", async () => {
    await withTracker(async (t, clock) => {
      const g = gated();
      const opening = tracker.findOrOpen(t, { id: "slow", start: g.start }, {
        timeout: 50,
      }).catch((e) => e);
      await receive((m) => Array.isArray(m) && m[0] === "starting");
      await clock.advance(50);
      const err = await opening;
      assert.ok(err instanceof TimeoutError);
      assert.equal(err.timeout, 50);
      assert.match(
        err.message,
        /^Cannot findOrOpen child "slow" of tracker .*: it was not running within 50 ms$/,
      );
      for (const p of (await genServerLinks(t))) send(p, "go");
      await tracker.wait(t);
      await settle();
      assert.ok(tracker.find(t, "slow") !== undefined);
      assert.equal(g.state.calls, 1);
    });
  });

  test("signal: an abort rejects with its reason; an aborted signal rejects at once", async () => {
    await withTracker(async (t) => {
      const g = gated();
      const ac = new AbortController();
      const opening = tracker.findOrOpen(t, { id: "slow", start: g.start }, {
        signal: ac.signal,
        timeout: Infinity,
      });
      const other = tracker.findOrOpen(t, { id: "slow", start: g.start });
      await receive((m) => Array.isArray(m) && m[0] === "starting");
      ac.abort("changed my mind");
      assert.equal(await opening.catch((e) => e), "changed my mind");
      await assert.rejects(
        tracker.findOrOpen(t, spec("x"), { signal: ac.signal }),
        (e) => e === "changed my mind",
      );
      // The other caller still gets the child.
      for (const p of (await genServerLinks(t))) send(p, "go");
      assert.equal(await other, tracker.find(t, "slow"));
    });
  });

  test("rejects a bad spec or option with ChildSpecError/TypeError, only on a miss", async () => {
    await withTracker(async (t) => {
      await assert.rejects(
        tracker.findOrOpen(t, { id: "x" } as ChildSpec),
        (e) => e instanceof ChildSpecError && e.key === "start",
      );
      await assert.rejects(
        tracker.findOrOpen(
          t,
          { start: () => "ignore" } as unknown as ChildSpec,
        ),
        (e) => e instanceof ChildSpecError && e.key === "id",
      );
      await assert.rejects(
        tracker.findOrOpen(t, { id: {}, start: () => "ignore" }),
        (e) => e instanceof ChildSpecError && e.key === "id",
      );
      await assert.rejects(
        tracker.findOrOpen(t, {
          ...spec("x"),
          restart: "bogus" as "permanent",
        }),
        (e) =>
          e instanceof ChildSpecError &&
          e.message ===
            `Cannot use child spec "x": 'restart' must be "permanent", "transient" or "temporary", got "bogus"`,
      );
      await assert.rejects(
        tracker.findOrOpen(t, spec("x"), { timeout: -1 }),
        new RangeError(
          "Cannot findOrOpen: 'timeout' must be a number of ms >= 0 or Infinity, got -1",
        ),
      );
      await assert.rejects(
        tracker.findOrOpen(t, spec("x"), { signal: "no" as never }),
        /'signal' must be an AbortSignal/,
      );
      await assert.rejects(
        tracker.findOrOpen("nobody", spec("x")),
        new NoProcError("findOrOpen", "nobody"),
      );
      assert.deepEqual(await tracker.whichChildren(t), []);
    });
  });

  test("the spec is a value: its args are copied; each id is checked however specs repeat", async () => {
    await withTracker(async (t) => {
      const main = self();
      const args = ["first"];
      const s: ChildSpec = {
        id: "a",
        restart: "permanent",
        args,
        start: (tag: string) => {
          send(main, ["started", tag]);
          return spawnLink(forever);
        },
      };
      const pid = await tracker.findOrOpen(t, s);
      args[0] = "changed";
      await kill(pid);
      await tracker.wait(t);
      assert.deepEqual(await flush(), [["started", "first"], [
        "started",
        "first",
      ]]);
      // The same spec again with a bad id: still refused.
      const start = () => spawnLink(forever);
      await tracker.findOrOpen(t, { id: "b", start });
      await assert.rejects(
        tracker.findOrOpen(t, { id: { bad: 1 }, start }),
        (e) => e instanceof ChildSpecError && e.key === "id",
      );
      await assert.rejects(
        tracker.findOrOpen(t, { id: undefined, start }),
        (e) => e instanceof ChildSpecError && e.key === "id",
      );
    }, { intensity: 5 });
  });

  test("a caller waiting when the tracker dies gets CallError with its reason", async () => {
    await withTracker(async (t) => {
      const g = gated();
      const opening = tracker.findOrOpen(t, { id: "slow", start: g.start });
      await receive((m) => Array.isArray(m) && m[0] === "starting");
      exit(whereis(t)!, "kill");
      const err = await opening.catch((e) => e);
      assert.ok(err instanceof CallError);
      assert.equal(err.reason, "killed");
    });
  });
});

/** The processes linked to a tracker (its children, launching ones too). */
async function genServerLinks(t: string): Promise<Pid[]> {
  await settle();
  return processInfo(whereis(t)!)!.links;
}

// ------------------------------------------------------------ attributes --

describe("Tracker attributes", () => {
  test("setAttr() one or many; getAttr(), attrs(), info() read them back", async () => {
    await withTracker(async (t) => {
      await tracker.findOrOpen(t, spec("cam"));
      tracker.setAttr(t, "cam", "url", "rtsp://cam");
      tracker.setAttr(t, "cam", { width: 1920, height: 1080, url: "rtsp://2" });
      assert.equal(tracker.getAttr(t, "cam", "url"), "rtsp://2");
      assert.equal(tracker.getAttr(t, "cam", "nope"), undefined);
      assert.deepEqual(tracker.attrs(t, "cam"), {
        url: "rtsp://2",
        width: 1920,
        height: 1080,
      });
      assert.deepEqual(tracker.info(t, "cam"), tracker.attrs(t, "cam"));
      assert.deepEqual(tracker.info(t, "cam", ["height", "none", "url"]), {
        height: 1080,
        url: "rtsp://2",
      });
      assert.deepEqual(tracker.info(t, "cam", []), {});
    });
  });

  test("the attributes table holds [[id, key], value] rows anyone can read, nobody else write", async () => {
    await withTracker(async (t) => {
      await tracker.findOrOpen(t, spec(["stream", 7]));
      tracker.setAttr(t, ["stream", 7], "bitrate", 6000);
      const table = ets.whereis(`${t}_attrs`)!;
      assert.deepEqual(
        table.lookup([["stream", 7], "bitrate"]),
        [
            [["stream", 7], "bitrate"],
            6000,
          ].length === 2
          ? [[[["stream", 7], "bitrate"], 6000]]
          : [],
      );
      const busy = table.select([[
        [["$1", "_"], "$2"],
        [{ ">": ["$2", 5000] }],
        [
          "$1",
        ],
      ]]);
      assert.deepEqual(busy, [["stream", 7]]);
      assert.throws(
        () => table.insert([[["stream", 7], "bitrate"], 1]),
        (e) => e instanceof EtsError && e.code === "access",
      );
      const children = ets.whereis(t)!;
      const [row] = children.lookup(["stream", 7]);
      assert.deepEqual(row, [
        ["stream", 7],
        tracker.find(t, ["stream", 7]),
        "temporary",
        5000,
        "worker",
        [],
      ]);
    });
  });

  test("setAttr() of many is all or none; bad input is a TypeError naming it", async () => {
    await withTracker(async (t) => {
      await tracker.findOrOpen(t, spec("cam"));
      assert.throws(
        () => tracker.setAttr(t, "cam", { a: 1, b: undefined }),
        new TypeError(
          `Cannot setAttr: the value of "b" must not be undefined (use delAttr to remove an attribute)`,
        ),
      );
      assert.deepEqual(tracker.attrs(t, "cam"), {});
      assert.throws(
        () => tracker.setAttr(t, "cam", 42 as unknown as string, 1),
        /'key' must be a string or 'attrs' an object, got 42/,
      );
      assert.throws(
        () => tracker.getAttr(t, "cam", 1 as unknown as string),
        /'key' must be a string, got 1/,
      );
      assert.throws(() => tracker.attrs(t, {}), TypeError);
      assert.throws(
        () => tracker.info(t, "cam", [1] as unknown as string[]),
        /'keys' must be an array of strings/,
      );
      assert.throws(
        () => tracker.list(t, "k" as unknown as string[]),
        TypeError,
      );
      assert.throws(
        () => tracker.setAttr("nobody", "cam", "a", 1),
        NoProcError,
      );
    });
  });

  test("a child sets its own attributes while launching; they are there once it runs", async () => {
    await withTracker(async (t) => {
      const pid = await tracker.findOrOpen(t, {
        id: "self_setting",
        start: () =>
          genServer.startLink({
            init: () => {
              tracker.setAttr(t, "self_setting", "ready", false);
              tracker.increment(t, "self_setting", "inits", 1, { default: 0 });
              return ["ok", null];
            },
          }, undefined),
      });
      assert.ok(pid !== undefined);
      assert.deepEqual(tracker.attrs(t, "self_setting"), {
        ready: false,
        inits: 1,
      });
    });
  });

  test("a late setAttr on a dead child is a clear TrackerError notAlive", async () => {
    await withTracker(async (t) => {
      const pid = await tracker.findOrOpen(t, spec("late"));
      exit(pid, "kill"); // dead at once; the tracker has not heard yet
      const err = (() => {
        try {
          tracker.setAttr(t, "late", "k", 1);
        } catch (e) {
          return e;
        }
      })() as TrackerError;
      assert.ok(err instanceof TrackerError && err.code === "not_alive");
      assert.equal(
        err.message,
        `Cannot setAttr child "late" of tracker "${t}": its process has exited (the child is ending)`,
      );
      await tracker.wait(t);
      throwsCode(() => tracker.setAttr(t, "late", "k", 1), "not_found");
      // A permanent child terminated by terminateChild: stopped.
      await tracker.findOrOpen(t, spec("kept", { restart: "permanent" }));
      await tracker.terminateChild(t, "kept");
      const err2 = (() => {
        try {
          tracker.increment(t, "kept", "k", 1, { default: 0 });
        } catch (e) {
          return e;
        }
      })() as TrackerError;
      assert.equal(err2.code, "not_alive");
      assert.equal(err2.status, "stopped");
      assert.match(err2.message, /the child is stopped/);
      assert.equal(ets.whereis(`${t}_attrs`)!.info()!.size, 0);
    });
  });

  test("increment() is atomic, needs a default for a missing counter, never creates orphans", async () => {
    await withTracker(async (t) => {
      await tracker.findOrOpen(t, spec("cam"));
      throwsCode(() => tracker.increment(t, "cam", "viewers"), "not_a_counter");
      assert.equal(
        tracker.increment(t, "cam", "viewers", 1, { default: 10 }),
        11,
      );
      assert.equal(tracker.increment(t, "cam", "viewers"), 12);
      assert.equal(tracker.increment(t, "cam", "viewers", -12), 0);
      tracker.setAttr(t, "cam", "name", "x");
      throwsCode(() => tracker.increment(t, "cam", "name"), "not_a_counter");
      assert.equal(tracker.increment(t, "cam", "big", 2n, { default: 0n }), 2n);
      throwsCode(() => tracker.increment(t, "cam", "big", 1), "not_a_counter");
      assert.throws(
        () => tracker.increment(t, "cam", "viewers", 0.5),
        /'incr' must be an integer or a bigint, got 0.5/,
      );
      assert.throws(
        () =>
          tracker.increment(t, "cam", "viewers", 1, { default: 1n } as never),
        /'default' must be an integer, as 'incr'/,
      );
      tracker.setAttr(t, "cam", "max", Number.MAX_SAFE_INTEGER);
      assert.throws(() => tracker.increment(t, "cam", "max"), RangeError);
      // gen_tracker's increment/5 made {{ghost, cnt}, 0} rows: not here.
      throwsCode(
        () => tracker.increment(t, "ghost", "cnt", 1, { default: 0 }),
        "not_found",
      );
      const rows = ets.whereis(`${t}_attrs`)!.toList();
      assert.ok(rows.every((r) => (r[0] as unknown[])[0] === "cam"));
    });
  });

  test("delAttr() removes an attribute; does nothing for a child that is not live", async () => {
    await withTracker(async (t) => {
      await tracker.findOrOpen(t, spec("cam"));
      tracker.setAttr(t, "cam", { a: 1, b: 2 });
      assert.equal(tracker.delAttr(t, "cam", "a"), true);
      assert.equal(tracker.delAttr(t, "cam", "a"), false);
      assert.deepEqual(tracker.attrs(t, "cam"), { b: 2 });
      assert.deepEqual(ets.whereis(`${t}_attrs`)!.toList(), [[
        ["cam", "b"],
        2,
      ]]);
      assert.equal(tracker.delAttr(t, "nobody", "b"), false);
    });
  });

  test("attributes vanish with their child and never survive a restart", async () => {
    await withTracker(async (t) => {
      const pid = await tracker.findOrOpen(
        t,
        spec("cam", { restart: "permanent" }),
      );
      tracker.setAttr(t, "cam", "old", true);
      await kill(pid);
      await tracker.wait(t);
      const pid2 = tracker.find(t, "cam")!;
      assert.ok(pid2 !== undefined && pid2 !== pid);
      assert.deepEqual(tracker.attrs(t, "cam"), {});
      assert.equal(ets.whereis(`${t}_attrs`)!.info()!.size, 0);
    });
  });

  test("getAttr() with options waits for the attribute (set or increment), by event", async () => {
    await withTracker(async (t) => {
      await tracker.findOrOpen(t, spec("cam"));
      const a = tracker.getAttr(t, "cam", "url", {});
      const b = tracker.getAttr(t, "cam", "url", { timeout: 1000 });
      const c = tracker.getAttr(t, "cam", "n", {});
      await settle();
      tracker.setAttr(t, "cam", "url", "rtsp://cam");
      tracker.increment(t, "cam", "n", 5, { default: 0 });
      assert.deepEqual(await Promise.all([a, b, c]), [
        "rtsp://cam",
        "rtsp://cam",
        5,
      ]);
      // Set already: at once.
      assert.equal(
        await tracker.getAttr(t, "cam", "url", { timeout: 0 }),
        "rtsp://cam",
      );
    });
  });

  test("getAttr() waits for a child that does not exist yet", async () => {
    await withTracker(async (t) => {
      const waiting = tracker.getAttr(t, ["later", 1], "ready", {});
      await tracker.findOrOpen(t, spec(["later", 1]));
      tracker.setAttr(t, ["later", 1], "ready", "yes");
      assert.equal(await waiting, "yes");
    });
  });

  test("getAttr() waiting: TimeoutError on the clock, the signal's reason on abort", async () => {
    await withTracker(async (t, clock) => {
      await tracker.findOrOpen(t, spec("cam"));
      const timed = tracker.getAttr(t, "cam", "never", { timeout: 100 })
        .catch((e) => e);
      await clock.advance(99);
      const ac = new AbortController();
      const aborted = tracker.getAttr(t, "cam", "never", { signal: ac.signal })
        .catch((e) => e);
      ac.abort(new Error("stop waiting"));
      assert.equal((await aborted as Error).message, "stop waiting");
      await clock.advance(1);
      const err = await timed;
      assert.ok(err instanceof TimeoutError);
      assert.equal(
        err.message,
        `Cannot getAttr "never" of child "cam" of tracker "${t}": it was not set within 100 ms`,
      );
      await assert.rejects(
        tracker.getAttr(t, "cam", "never", { signal: ac.signal }),
        /stop waiting/,
      );
      await assert.rejects(
        tracker.getAttr(t, "cam", "never", { timeout: -5 }),
        RangeError,
      );
    });
  });

  test("getAttr() waiting rejects with NoProcError when the tracker stops", async () => {
    await withTracker(async (t) => {
      const waiting = tracker.getAttr(t, "cam", "never", {}).catch((e) => e);
      await tracker.stop(t);
      const err = await waiting;
      assert.ok(err instanceof NoProcError);
    });
  });

  test("list() shows running children only, in the order their ids were opened", async () => {
    await withTracker(async (t) => {
      const a = await tracker.findOrOpen(t, spec("a"));
      const g = gated();
      const launching = tracker.findOrOpen(t, { id: "b", start: g.start });
      await receive((m) => Array.isArray(m) && m[0] === "starting");
      const c = await tracker.findOrOpen(t, spec("c"));
      tracker.setAttr(t, "b", "x", 1); // launching: allowed
      tracker.setAttr(t, "c", "x", 2);
      assert.deepEqual(tracker.list(t), [
        { id: "a", pid: a, attrs: {} },
        { id: "c", pid: c, attrs: { x: 2 } },
      ]);
      for (const p of await genServerLinks(t)) send(p, "go");
      const b = await launching;
      assert.deepEqual(tracker.list(t, ["x"]).map((r) => r.pid), [a, b, c]);
    });
  });
});

// --------------------------------------------------------- afterTerminate --

describe("Tracker afterTerminate", () => {
  test("called once after each death: normal, crash, kill, terminateChild, stop", async () => {
    await withTracker(async (t) => {
      const main = self();
      const tpid = whereis(t)!;
      const start = (id: string) => tracker.findOrOpen(t, spec(id));
      const normal = await start("normal");
      const crash = await start("crash");
      const killed = await start("killed");
      await start("terminated");
      await start("stopped");
      tracker.setAttr(t, "crash", "k", "v");

      await stopChild(normal);
      let [id, attrs, reason, helper] = await afterTerminated();
      assert.deepEqual([id, attrs, reason], ["normal", {}, "normal"]);
      assert.ok(helper !== tpid && helper !== main);

      await stopChild(crash, "crash");
      [id, attrs, reason] = await afterTerminated();
      assert.equal(id, "crash");
      assert.deepEqual(attrs, { k: "v" });
      assert.ok(reason instanceof Error && reason.message === "crashed");

      await kill(killed);
      [id, , reason] = await afterTerminated();
      assert.deepEqual([id, reason], ["killed", "killed"]);

      await tracker.terminateChild(t, "terminated");
      [id, , reason] = await afterTerminated();
      assert.deepEqual([id, reason], ["terminated", "shutdown"]);

      await tracker.stop(t);
      [id, , reason] = await afterTerminated();
      assert.deepEqual([id, reason], ["stopped", "shutdown"]);
      await assertNoMessages();
    }, { afterTerminate: reporting() });
  });

  test("the spec's afterTerminate overrides the tracker's; adopted children get it too", async () => {
    await withTracker(async (t) => {
      const main = self();
      const pid = await tracker.findOrOpen(t, {
        ...spec("own"),
        afterTerminate: (id) => void send(main, ["own", id]),
      });
      await stopChild(pid);
      assert.deepEqual(
        await receive((m) => Array.isArray(m) && m[0] === "own"),
        [
          "own",
          "own",
        ],
      );
      const adopted = spawn(forever);
      await tracker.addExistingChild(t, { id: "adopted", pid: adopted });
      tracker.setAttr(t, "adopted", "k", 1);
      await kill(adopted);
      const [id, attrs, reason] = await afterTerminated();
      assert.deepEqual([id, attrs, reason], ["adopted", { k: 1 }, "killed"]);
      await assertNoMessages();
    }, { afterTerminate: reporting() });
  });

  test("called when the tracker is killed, for every child, once they die", async () => {
    await withClock(async () => {
      const t = "killed_tracker";
      const tpid = await tracker.start(t, { afterTerminate: reporting() });
      await tracker.findOrOpen(t, spec("a"));
      await tracker.findOrOpen(t, spec("b"));
      tracker.setAttr(t, "b", "k", 1);
      exit(tpid, "kill");
      const got = [await afterTerminated(), await afterTerminated()]
        .map(([id, attrs, reason]) => [id, attrs, reason])
        .sort((x, y) => String(x[0]).localeCompare(String(y[0])));
      assert.deepEqual(got, [["a", {}, "killed"], ["b", { k: 1 }, "killed"]]);
      await assertNoMessages();
    });
  });

  test("a throw or rejection is reported and never disturbs the tracker", async () => {
    const errors: unknown[][] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void errors.push(args);
    // The harness captures reports: put the default console logger back.
    const restoreLogger = setLogger(consoleLogger);
    try {
      await withTracker(async (t) => {
        const seen = await eventsOf(t, async () => {
          const p1 = await tracker.findOrOpen(t, {
            ...spec("sync"),
            afterTerminate: () => {
              throw new Error("sync boom");
            },
          });
          const p2 = await tracker.findOrOpen(t, {
            ...spec("async"),
            afterTerminate: async () => {
              await Promise.resolve();
              throw "async boom";
            },
          });
          await stopChild(p1);
          await stopChild(p2);
          await tracker.wait(t);
          await settle();
          await tracker.wait(t);
        });
        const failures = seen.filter((e) => e.type === "after_terminate_failed")
          .map((e) => (e as { reason: unknown }).reason);
        assert.equal(failures.length, 2);
        assert.ok(failures.some((r) => r instanceof Error));
        assert.ok(failures.includes("async boom"));
        assert.equal(errors.length, 2);
        assert.ok(isAlive(whereis(t)!));
        assert.deepEqual(await tracker.whichChildren(t), []);
        // The id opens again.
        assert.ok(await tracker.findOrOpen(t, spec("sync")));
      });
    } finally {
      restoreLogger();
      console.error = original;
    }
  });

  test("one that runs past afterTerminateTimeout is killed and reported; the id moves on", async () => {
    const original = console.error;
    console.error = () => {};
    try {
      await withTracker(async (t, clock) => {
        const seen = await eventsOf(t, async () => {
          const pid = await tracker.findOrOpen(t, {
            ...spec("slow"),
            afterTerminate: forever,
          });
          await stopChild(pid);
          await tracker.wait(t);
          const opening = tracker.findOrOpen(t, spec("slow"));
          assert.equal(
            (await tracker.whichChildren(t))[0].pid,
            "terminating",
          );
          await clock.advance(250);
          assert.ok(await opening);
        });
        assert.deepEqual(
          seen.filter((e) => e.type === "after_terminate_failed").map((e) =>
            (e as { reason: unknown }).reason
          ),
          ["timeout"],
        );
      }, { afterTerminateTimeout: 250 });
    } finally {
      console.error = original;
    }
  });

  test("a fresh child whose start fails after a slow afterTerminate leaves no row behind", async () => {
    await withTracker(async (t) => {
      const main = self();
      const pid = await tracker.findOrOpen(t, {
        ...spec("r"),
        afterTerminate: async () => {
          send(main, ["helper", self()]);
          await receive((m) => m === "go");
        },
      });
      await stopChild(pid);
      const [, helper] = await receive((m) =>
        Array.isArray(m) && m[0] === "helper"
      ) as [string, Pid];
      assert.equal(ets.whereis(t)!.lookup("r")[0][1], "terminating");
      const opening = tracker.findOrOpen(t, {
        id: "r",
        start: () => ["error", "broken"] as const,
      });
      await tracker.wait(t);
      send(helper, "go");
      await rejectsWith(opening, "start_failed");
      await tracker.wait(t);
      assert.deepEqual(ets.whereis(t)!.toList(), []);
      assert.deepEqual(await tracker.whichChildren(t), []);
    });
  });

  test("a child that starts after the tracker stopped is shut down, with its afterTerminate", async () => {
    await withClock(async () => {
      const t = "late_start";
      await tracker.start(t, { afterTerminate: reporting() });
      const child = spawn(forever);
      let go!: () => void;
      const gate = new Promise<void>((r) => go = r);
      const opening = tracker.findOrOpen(t, {
        id: "late",
        start: async () => {
          await gate;
          return child;
        },
      }).catch((e) => e);
      await tracker.wait(t);
      const ref = monitor(child);
      await tracker.stop(t);
      assert.ok((await opening) instanceof CallError);
      assert.ok(isAlive(child));
      go();
      assert.equal(await downReason(ref), "shutdown");
      const [id, attrs, reason] = await afterTerminated();
      assert.deepEqual([id, attrs, reason], ["late", {}, "shutdown"]);
      await assertNoMessages();
    });
  });
});

// --------------------------------------------------------- supervisor API --

describe("Tracker supervisor API", () => {
  test("whichChildren() shows launching, running, terminating and restarting children, newest first", async () => {
    await withTracker(async (t, clock) => {
      const main = self();
      const running = await tracker.findOrOpen(t, spec("running"));
      const dying = await tracker.findOrOpen(t, {
        ...spec("terminating"),
        afterTerminate: async () => {
          send(main, ["helper", self()]);
          await receive((m) => m === "done");
        },
      });
      const flaky = await tracker.findOrOpen(
        t,
        spec("restarting", { restart: "permanent" }),
      );
      const g = gated();
      const launching = tracker.findOrOpen(t, {
        id: "launching",
        start: g.start,
      });
      await receive((m) => Array.isArray(m) && m[0] === "starting");
      await stopChild(dying);
      const [, helper] = await receive((m) =>
        Array.isArray(m) && m[0] === "helper"
      ) as [string, Pid];
      await kill(flaky);
      await tracker.wait(t);
      const rows = await tracker.whichChildren(t);
      assert.deepEqual(rows.map((r) => [r.id, r.pid]), [
        ["launching", "launching"],
        ["restarting", "restarting"],
        ["terminating", "terminating"],
        ["running", running],
      ]);
      assert.equal(rows[1].restartAt, clock.now() + 100);
      assert.deepEqual(await tracker.countChildren(t), {
        specs: 4,
        active: 1,
        supervisors: 0,
        workers: 4,
      });
      // Let everything finish.
      for (const p of processInfo(whereis(t)!)!.links) send(p, "go");
      await launching;
      await clock.advance(100);
      send(helper, "done");
      await settle();
      await tracker.wait(t);
      assert.deepEqual(
        (await tracker.whichChildren(t)).map((r) => typeof r.pid),
        ["object", "object", "object"],
      );
    }, { backoff: { initial: 100, max: 1000 } });
  });

  test("countChildren() counts supervisors and workers by type", async () => {
    await withTracker(async (t) => {
      await tracker.findOrOpen(t, spec("w"));
      await tracker.findOrOpen(t, {
        id: "s",
        type: "supervisor",
        start: () => tracker.startLink(`${t}_sub`),
      });
      assert.deepEqual(await tracker.countChildren(t), {
        specs: 2,
        active: 2,
        supervisors: 1,
        workers: 1,
      });
      const [row] = await tracker.whichChildren(t);
      assert.equal(row.type, "supervisor");
      assert.equal(ets.whereis(t)!.lookup("s")[0][3], "infinity");
    });
  });

  test("terminateChild() of a temporary child stops it and forgets it", async () => {
    await withTracker(async (t) => {
      const pid = await tracker.findOrOpen(t, spec("p1"));
      tracker.setAttr(t, "p1", "k", 1);
      await tracker.terminateChild(t, "p1");
      assert.equal(isAlive(pid), false);
      assert.deepEqual(await tracker.whichChildren(t), []);
      assert.equal(ets.whereis(`${t}_attrs`)!.info()!.size, 0);
      await rejectsWith(tracker.terminateChild(t, "p1"), "not_found");
      // A later open starts a fresh one.
      assert.notEqual(await tracker.findOrOpen(t, spec("p1")), pid);
    });
  });

  test("terminateChild() of a permanent child keeps it stopped; restartChild() starts it", async () => {
    await withTracker(async (t) => {
      const pid = await tracker.findOrOpen(
        t,
        spec("p1", { restart: "permanent" }),
      );
      await tracker.terminateChild(t, "p1");
      assert.equal(isAlive(pid), false);
      const [row] = await tracker.whichChildren(t);
      assert.equal(row.pid, undefined);
      assert.equal(ets.whereis(t)!.lookup("p1")[0][1], "stopped");
      assert.equal(tracker.find(t, "p1"), undefined);
      await tracker.terminateChild(t, "p1"); // stopped already: ok
      const { pid: pid2, extra } = await tracker.restartChild(t, "p1");
      assert.ok(pid2 !== undefined && isAlive(pid2) && pid2 !== pid);
      assert.equal(extra, undefined);
      const err = await rejectsWith(tracker.restartChild(t, "p1"), "running");
      assert.equal(err.status, "running");
      // findOrOpen starts a stopped child too.
      await tracker.terminateChild(t, "p1");
      const pid3 = await tracker.findOrOpen(t, spec("p1"));
      assert.equal(tracker.find(t, "p1"), pid3);
      // The restart type is in the children table (whichChildren's rows
      // have supervisor's shape).
      assert.equal(ets.whereis(t)!.lookup("p1")[0][2], "permanent");
    });
  });

  test("terminateChild() of a launching child stops it once it has started", async () => {
    await withTracker(async (t) => {
      const g = gated();
      const opening = tracker.findOrOpen(t, { id: "l", start: g.start });
      await receive((m) => Array.isArray(m) && m[0] === "starting");
      const terminating = tracker.terminateChild(t, "l");
      const [child] = await genServerLinks(t);
      const ref = monitor(child);
      send(child, "go");
      assert.equal(await opening, child);
      await terminating;
      assert.equal(await downReason(ref), "shutdown");
      assert.deepEqual(await tracker.whichChildren(t), []);
    });
  });

  test("terminateChild() waits for the afterTerminate; the tracker serves others meanwhile", async () => {
    await withTracker(async (t) => {
      const main = self();
      await tracker.findOrOpen(t, {
        ...spec("slow"),
        shutdown: "brutal_kill",
        afterTerminate: async () => {
          send(main, ["helper", self()]);
          await receive((m) => m === "done");
        },
      });
      let done = false;
      const terminating = tracker.terminateChild(t, "slow").then(() => {
        done = true;
      });
      const [, helper] = await receive((m) =>
        Array.isArray(m) && m[0] === "helper"
      ) as [string, Pid];
      const other = await tracker.findOrOpen(t, spec("other"));
      assert.equal(tracker.find(t, "other"), other);
      assert.equal(done, false);
      send(helper, "done");
      await terminating;
      assert.deepEqual((await tracker.whichChildren(t)).map((r) => r.id), [
        "other",
      ]);
    });
  });

  test("deleteChild() forgets a stopped child; a running one is an error", async () => {
    await withTracker(async (t) => {
      await tracker.findOrOpen(t, spec("p1", { restart: "transient" }));
      const err = await rejectsWith(tracker.deleteChild(t, "p1"), "running");
      assert.equal(err.status, "running");
      assert.equal(
        err.message,
        `Cannot deleteChild child "p1" of tracker "${t}": the child is launching, running or terminating`,
      );
      await tracker.terminateChild(t, "p1");
      await tracker.deleteChild(t, "p1");
      assert.deepEqual(await tracker.whichChildren(t), []);
      assert.equal(ets.whereis(t)!.info()!.size, 0);
      await rejectsWith(tracker.deleteChild(t, "p1"), "not_found");
      await rejectsWith(tracker.restartChild(t, "p1"), "not_found");
      await assert.rejects(tracker.deleteChild(t, {} as never), TypeError);
    });
  });

  test("an unknown request is refused (the call rejects with a TrackerError) and the tracker lives on", async () => {
    await withTracker(async (t) => {
      const tpid = whereis(t)!;
      // The call rejects with a TrackerError (the caller sees what went
      // wrong; gen_tracker stopped with {unknown_call, C}).
      const r = await genServer.call(tpid, "bogus").then(
        () => assert.fail("the call resolved"),
        (e: unknown) => e,
      );
      assert.ok(r instanceof tracker.TrackerError);
      assert.equal(r.code, "unknown_request");
      assert.equal(r.operation, "call");
      assert.equal(r.child, "bogus");
      assert.match(r.message, /unknown request "bogus"/);
      genServer.cast(tpid, "bogus cast");
      send(tpid, "bogus info");
      send(tpid, ["EXIT", spawn(() => {}), "normal"]);
      await tracker.wait(t);
      assert.ok(isAlive(tpid));
      assert.deepEqual(await tracker.countChildren(t), {
        specs: 0,
        active: 0,
        supervisors: 0,
        workers: 0,
      });
    });
  });

  test("addExistingChild() checks its spec and the process", async () => {
    await withTracker(async (t) => {
      await assert.rejects(
        tracker.addExistingChild(t, { id: "x" } as never),
        /'pid' must be a Pid, got undefined/,
      );
      const loner = spawn(forever);
      await assert.rejects(
        tracker.addExistingChild(t, {
          id: "x",
          pid: loner,
          restart: "permanent",
        }),
        (e) => e instanceof ChildSpecError && e.key === "start",
      );
      const dead = spawn(() => {});
      await settle();
      await assert.rejects(
        tracker.addExistingChild(t, { id: "x", pid: dead }),
        new NoProcError("addExistingChild", dead),
      );
      const g = gated();
      const opening = tracker.findOrOpen(t, { id: "l", start: g.start });
      await receive((m) => Array.isArray(m) && m[0] === "starting");
      const err = await rejectsWith(
        tracker.addExistingChild(t, { id: "l", pid: loner }),
        "already_present",
      );
      assert.equal(err.status, "launching");
      for (const p of await genServerLinks(t)) send(p, "go");
      await opening;
      exit(loner, "kill");
    });
  });

  test("an adopted permanent child is restarted with its start", async () => {
    await withTracker(async (t) => {
      const adopted = spawn(forever);
      await tracker.addExistingChild(t, {
        id: "a",
        pid: adopted,
        restart: "permanent",
        start: () => spawnLink(forever),
      });
      await kill(adopted);
      await tracker.wait(t);
      const again = tracker.find(t, "a");
      assert.ok(again !== undefined && again !== adopted);
    });
  });
});

// --------------------------------------------------------------- restarts --

describe("Tracker restarts", () => {
  test("transient: restarted after a crash or a kill, not after normal or shutdown exits", async () => {
    await withTracker(async (t) => {
      const s = spec("tr", { restart: "transient" });
      let pid = await tracker.findOrOpen(t, s);
      for (const how of ["crash", "kill"]) {
        if (how === "kill") await kill(pid);
        else await stopChild(pid, how);
        await tracker.wait(t);
        const next = tracker.find(t, "tr");
        assert.ok(next !== undefined && next !== pid, how);
        pid = next;
      }
      await kill(pid, "shutdown");
      await tracker.wait(t);
      assert.equal(tracker.find(t, "tr"), undefined);
      pid = await tracker.findOrOpen(t, s);
      await kill(pid, ["shutdown", "bye"]);
      await tracker.wait(t);
      assert.deepEqual(await tracker.whichChildren(t), []);
    }, { intensity: 10 });
  });

  test("permanent: restarted after a normal exit too, with a new pid and the same spec", async () => {
    await withTracker(async (t) => {
      const seen = await eventsOf(t, async () => {
        const pid = await tracker.findOrOpen(
          t,
          spec("pm", { restart: "permanent" }),
        );
        await stopChild(pid);
        await tracker.wait(t);
      });
      assert.deepEqual(seen.map((e) => e.type), [
        "child_started",
        "child_exited",
        "child_restarted",
      ]);
      assert.equal(ets.whereis(t)!.lookup("pm")[0][2], "permanent");
    });
  });

  test("more restarts than intensity within period stop the tracker with shutdown", async () => {
    await withTracker(async (t, clock) => {
      const tpid = whereis(t)!;
      const tref = monitor(tpid);
      const other = await tracker.findOrOpen(t, spec("bystander"));
      const oref = monitor(other);
      const s = spec("flappy", { restart: "permanent" });
      let pid = await tracker.findOrOpen(t, s);
      await kill(pid); // restart 1
      await tracker.wait(t);
      await clock.advance(2000);
      pid = tracker.find(t, "flappy")!;
      await kill(pid); // restart 2
      await tracker.wait(t);
      await clock.advance(2000);
      pid = tracker.find(t, "flappy")!;
      const seen = await eventsOf(t, async () => {
        await kill(pid); // 3 restarts within 5 s: too many
        assert.equal(await downReason(tref), "shutdown");
      });
      assert.equal(await downReason(oref), "shutdown");
      assert.deepEqual(
        seen.filter((e) => e.type === "gave_up").map(idOf),
        ["flappy"],
      );
    }, { intensity: 2, period: 5 });
  });

  test("restarts outside the period do not count", async () => {
    await withTracker(async (t, clock) => {
      let pid = await tracker.findOrOpen(
        t,
        spec("p", { restart: "permanent" }),
      );
      for (let i = 0; i < 5; i++) {
        await kill(pid);
        await tracker.wait(t);
        pid = tracker.find(t, "p")!;
        assert.ok(pid !== undefined);
        await clock.advance(1001);
      }
    }, { intensity: 1, period: 1 });
  });

  test("backoff: each restart waits longer; the delay resets once the child ran long enough", async () => {
    await withTracker(async (t, clock) => {
      let pid = await tracker.findOrOpen(
        t,
        spec("b", { restart: "permanent" }),
      );
      const delays: number[] = [];
      const off = tracker.subscribe((e) => {
        if (e.name === t && e.type === "restart_delayed") delays.push(e.delay);
      });
      try {
        for (const wait of [100, 200, 400]) {
          await kill(pid);
          await tracker.wait(t);
          assert.equal(tracker.find(t, "b"), undefined);
          await clock.advance(wait - 1);
          assert.equal(tracker.find(t, "b"), undefined);
          await clock.advance(1);
          await tracker.wait(t);
          pid = tracker.find(t, "b")!;
          assert.ok(pid !== undefined);
        }
        await clock.advance(1000); // ran for max: the count resets
        await kill(pid);
        await tracker.wait(t);
        await clock.advance(100);
        await tracker.wait(t);
        assert.ok(tracker.find(t, "b") !== undefined);
      } finally {
        off();
      }
      assert.deepEqual(delays, [100, 200, 400, 100]);
    }, { backoff: { initial: 100, max: 1000 }, intensity: 10 });
  });

  test("a restarting child: findOrOpen waits for it, restartChild starts it now, terminateChild stops it", async () => {
    await withTracker(async (t, clock) => {
      let pid = await tracker.findOrOpen(
        t,
        spec("r", { restart: "permanent" }),
      );
      await kill(pid);
      await tracker.wait(t);
      const waiting = tracker.findOrOpen(t, spec("r"));
      await clock.advance(500);
      pid = await waiting;
      assert.equal(tracker.find(t, "r"), pid);

      await kill(pid);
      await tracker.wait(t);
      assert.equal((await tracker.whichChildren(t))[0].pid, "restarting");
      const { pid: now } = await tracker.restartChild(t, "r");
      assert.equal(tracker.find(t, "r"), now);

      await kill(now!);
      await tracker.wait(t);
      await tracker.terminateChild(t, "r");
      assert.equal((await tracker.whichChildren(t))[0].pid, undefined);
      await clock.advance(10_000);
      assert.equal(tracker.find(t, "r"), undefined); // no late restart

      await tracker.restartChild(t, "r");
      await kill(tracker.find(t, "r")!);
      await tracker.wait(t);
      await tracker.deleteChild(t, "r"); // a restarting child can be deleted
      assert.deepEqual(await tracker.whichChildren(t), []);
    }, { backoff: { initial: 500, max: 500 }, intensity: 10 });
  });

  test("a restart that fails is retried (and counted) until it works or intensity is reached", async () => {
    await withTracker(async (t) => {
      let fail = 2;
      const s: ChildSpec = {
        id: "f",
        restart: "permanent",
        start: () => fail-- > 0 ? ["error", "not yet"] : spawnLink(forever),
      };
      fail = 0;
      const pid = await tracker.findOrOpen(t, s);
      fail = 2;
      const seen = await eventsOf(t, async () => {
        await kill(pid);
        await tracker.wait(t);
        await tracker.wait(t);
        await tracker.wait(t);
      });
      assert.deepEqual(seen.map((e) => e.type), [
        "child_exited",
        "restart_failed",
        "restart_failed",
        "child_restarted",
      ]);
      assert.ok(tracker.find(t, "f") !== undefined);
    }, { intensity: 5 });
  });
});

// ----------------------------------------------------------------- events --

describe("Tracker.subscribe()", () => {
  test("events name the tracker; a throwing listener never disturbs it", async () => {
    const original = console.error;
    console.error = () => {};
    try {
      await withTracker(async (t) => {
        const off1 = tracker.subscribe(() => {
          throw new Error("listener bug");
        });
        const seen = await eventsOf(t, async () => {
          const pid = await tracker.findOrOpen(t, spec("e"));
          await tracker.findOrOpen(t, {
            id: "bad",
            start: () => ["error", "nope"] as const,
          }).catch(() => {});
          await stopChild(pid);
          await tracker.wait(t);
        });
        off1();
        assert.deepEqual(seen.map((e) => [e.type, idOf(e)]), [
          ["child_started", "e"],
          ["start_failed", "bad"],
          ["child_removed", "bad"],
          ["child_exited", "e"],
          ["child_removed", "e"],
        ]);
        assert.ok(seen.every((e) => e.tracker === whereis(t)));
        assert.throws(() => tracker.subscribe(42 as never), TypeError);
      });
    } finally {
      console.error = original;
    }
  });
});

describe("Tracker.findOrOpen() right after a kill (issue 12)", () => {
  for (
    const [form, opts] of [
      ["no options", undefined],
      ["{}", {}],
      ["{ timeout }", { timeout: 1000 }],
    ] as const
  ) {
    for (const restart of ["temporary", "permanent"] as const) {
      test(`with ${form}, a ${restart} child killed a moment ago: never its dead pid, a new child once the tracker has its exit`, async () => {
        await withTracker(async (t) => {
          let starts = 0;
          const s = spec("k", {
            restart,
            start: () => (starts++, spawnLink(forever)),
          });
          const first = await tracker.findOrOpen(t, s, opts);
          // Cached: the hit path has a promise for this pid.
          assert.equal(await tracker.findOrOpen(t, s, opts), first);
          exit(first, "kill");
          // The same tick: the tracker has not taken the EXIT yet.
          const [a, b] = await Promise.all([
            tracker.findOrOpen(t, s, opts),
            tracker.findOrOpen(t, s),
          ]);
          assert.notEqual(a, first);
          assert.equal(a, b);
          assert.ok(isAlive(a));
          assert.equal(starts, 2);
          assert.equal(await tracker.findOrOpen(t, s, {}), a);
          assert.equal(await tracker.findOrOpen(t, s), a);
        });
      });
    }
  }
});
