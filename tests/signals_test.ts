// Waits take an AbortSignal (issue 12): every start and every request that
// waits on a supervisor, director, tracker, table manager or task
// supervisor. An abort rejects with the signal's reason, and leaves nothing
// behind: no late reply in the caller's mailbox, no half-started server, no
// timer. (gen_server's own start/call/stop, receive, findOrOpen, getAttr
// and task.join have their signal tests in their own files.)
import { describe, test } from "./_harness.ts";
import assert from "node:assert/strict";
import * as supervisor from "../supervisor.ts";
import * as director from "../director.ts";
import * as tracker from "../tracker.ts";
import * as task from "../task.ts";
import * as tableManager from "../table_manager.ts";
import * as ets from "../ets.ts";
import {
  isAlive,
  type Pid,
  registered,
  spawn,
  spawnLink,
  trapExit,
  whereis,
} from "../process.ts";
import { assertNoMessages, cleanup, forever, settle } from "./_helpers.ts";

/** A promise and its resolve function. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** Asserts `p` rejects with exactly `reason` (the same object). */
async function rejectsWith(p: Promise<unknown>, reason: unknown) {
  await assert.rejects(p, (e) => e === reason);
}

const worker = () => spawnLink(forever);

/**
 * Calls `fn(signal)` and aborts at once, the request already sent: it
 * rejects with the reason, and the reply that comes after is dropped.
 */
async function abortedAfterSend(
  fn: (options: { signal: AbortSignal }) => Promise<unknown>,
): Promise<void> {
  const ac = new AbortController();
  const reason = new Error("gave up");
  const p = fn({ signal: ac.signal });
  ac.abort(reason);
  await rejectsWith(p, reason);
  await settle();
  await assertNoMessages();
}

/** With a signal already aborted: rejects with its reason, sends nothing. */
async function alreadyAborted(
  fn: (options: { signal: AbortSignal }) => Promise<unknown>,
): Promise<void> {
  const reason = { why: "already" };
  await rejectsWith(fn({ signal: AbortSignal.abort(reason) }), reason);
  await assertNoMessages();
}

describe("supervisor: signals", () => {
  test("supervisor.start() with a signal that aborts while a child starts: rejects with the reason; the supervisor and the late child are gone", async () => {
    const g = gate();
    let child: Pid | undefined;
    const ac = new AbortController();
    const reason = new Error("no more");
    const p = supervisor.start({
      children: [{
        id: "slow",
        start: async () => {
          await g.promise;
          return child = spawnLink(forever);
        },
      }],
    }, { name: "sig_sup", signal: ac.signal });
    await settle();
    assert.ok(whereis("sig_sup") !== undefined);
    ac.abort(reason);
    await rejectsWith(p, reason);
    assert.equal(whereis("sig_sup"), undefined);
    g.open();
    await settle();
    await settle();
    assert.ok(child === undefined || !isAlive(child));
    await assertNoMessages();
  });

  for (
    const [name, run] of [
      [
        "startDynamic",
        (signal: AbortSignal) => supervisor.startDynamic({}, { signal }),
      ],
      [
        "startLink",
        (signal: AbortSignal) => supervisor.startLink({}, { signal }),
      ],
      [
        "startDynamicLink",
        (signal: AbortSignal) => supervisor.startDynamicLink({}, { signal }),
      ],
    ] as const
  ) {
    test(`supervisor.${name}() with an aborted signal rejects with its reason and starts nothing`, async () => {
      const before = registered().sort();
      await alreadyAborted(({ signal }) => run(signal));
      assert.deepEqual(registered().sort(), before);
    });
  }

  test("supervisor.startChild() on a busy supervisor: the abort ends the wait, the child is still added (the request is not undone)", async () => {
    const sup = await supervisor.start({});
    const g = gate();
    const slow = supervisor.startChild(sup, {
      id: "slow",
      start: async () => (await g.promise, spawnLink(forever)),
    });
    const ac = new AbortController();
    const reason = new Error("busy");
    const p = supervisor.startChild(sup, { id: "w", start: worker }, {
      signal: ac.signal,
    });
    await settle();
    ac.abort(reason);
    await rejectsWith(p, reason);
    g.open();
    await slow;
    const ids = (await supervisor.whichChildren(sup)).map((c) => c.id);
    assert.deepEqual(ids, ["w", "slow"]);
    await settle();
    await assertNoMessages();
    await supervisor.stop(sup);
  });

  const ops: [
    string,
    (sup: Pid, options: { signal: AbortSignal }) => Promise<unknown>,
  ][] = [
    [
      "startChild",
      (sup, o) => supervisor.startChild(sup, { id: "x", start: worker }, o),
    ],
    ["terminateChild", (sup, o) => supervisor.terminateChild(sup, "w", o)],
    [
      "restartChild",
      (sup, o) =>
        supervisor.terminateChild(sup, "w").then(() =>
          supervisor.restartChild(sup, "w", o)
        ),
    ],
    [
      "deleteChild",
      (sup, o) =>
        supervisor.terminateChild(sup, "w").then(() =>
          supervisor.deleteChild(sup, "w", o)
        ),
    ],
    ["whichChildren", (sup, o) => supervisor.whichChildren(sup, o)],
    ["countChildren", (sup, o) => supervisor.countChildren(sup, o)],
    ["getChildspec", (sup, o) => supervisor.getChildspec(sup, "w", o)],
  ];
  for (const [name, op] of ops) {
    test(`supervisor.${name}() with a signal: an abort after the request is sent rejects with the reason, no late reply; already aborted: rejects`, async () => {
      const sup = await supervisor.start({
        children: [{ id: "w", start: worker }],
      });
      await abortedAfterSend((o) => op(sup, o));
      await alreadyAborted((o) => op(sup, o));
      await supervisor.stop(sup);
      await assertNoMessages();
    });
  }

  test("supervisor.startChild() refuses options it does not know and a signal that is not one", async () => {
    const sup = await supervisor.start({});
    await assert.rejects(
      supervisor.startChild(sup, { id: "w", start: worker }, {
        signl: 1,
      } as never),
      {
        name: "TypeError",
        message: 'Cannot startChild: unknown option "signl" (known: signal)',
      },
    );
    await assert.rejects(
      supervisor.terminateChild(sup, "w", { signal: "now" } as never),
      {
        name: "TypeError",
        message:
          `Cannot terminateChild: 'signal' must be an AbortSignal, got "now"`,
      },
    );
    assert.equal((await supervisor.countChildren(sup)).specs, 0);
    await supervisor.stop(sup);
  });
});

describe("director: signals", () => {
  test("director.start() with a signal that aborts while a child starts: rejects with the reason; nothing is left", async () => {
    const g = gate();
    let child: Pid | undefined;
    const ac = new AbortController();
    const reason = new Error("no more");
    const p = director.start({
      children: [{
        id: "slow",
        start: async () => {
          await g.promise;
          return child = spawnLink(forever);
        },
      }],
    }, { name: "sig_dir", signal: ac.signal });
    await settle();
    ac.abort(reason);
    await rejectsWith(p, reason);
    assert.equal(whereis("sig_dir"), undefined);
    g.open();
    await settle();
    await settle();
    assert.ok(child === undefined || !isAlive(child));
    await assertNoMessages();
  });

  const ops: [
    string,
    (d: Pid, options: { signal: AbortSignal }) => Promise<unknown>,
  ][] = [
    [
      "startChild",
      (d, o) => director.startChild(d, { id: "x", start: worker }, o),
    ],
    [
      "restartChild",
      (d, o) =>
        director.terminateChild(d, "w").then(() =>
          director.restartChild(d, "w", o)
        ),
    ],
    ["terminateChild", (d, o) => director.terminateChild(d, "w", o)],
    [
      "deleteChild",
      (d, o) =>
        director.terminateChild(d, "w").then(() =>
          director.deleteChild(d, "w", o)
        ),
    ],
    [
      "terminateAndDeleteChild",
      (d, o) => director.terminateAndDeleteChild(d, "w", o),
    ],
    ["changePlan", (d, o) => director.changePlan(d, "w", ["stop"], o)],
    ["changeCount", (d, o) => director.changeCount(d, "w", 7, o)],
    [
      "changeDefaultChildspec",
      (d, o) => director.changeDefaultChildspec(d, { count: 1 }, o),
    ],
    ["becomeSupervisor", (d, o) => {
      const pid = spawn(forever);
      return director.becomeSupervisor(
        d,
        pid,
        { id: "adopted", start: worker },
        o,
      )
        .finally(() => cleanup(pid));
    }],
    ["deleteRunningChild", async (d, o) => {
      const { pid } = await director.startChild(d, {
        id: "r",
        start: worker,
      });
      return director.deleteRunningChild(d, pid!, o);
    }],
  ];
  for (const [name, op] of ops) {
    test(`director.${name}() with a signal: an abort after the request is sent rejects with the reason, no late reply; already aborted: rejects`, async () => {
      const d = await director.start({
        children: [{ id: "w", start: worker }],
      });
      await abortedAfterSend((o) => op(d, o));
      await director.stop(d);
      const d2 = await director.start({
        children: [{ id: "w", start: worker }],
      });
      await alreadyAborted((o) => op(d2, o));
      await director.stop(d2);
      await settle();
      await cleanup();
    });
  }
});

describe("tracker: signals", () => {
  test("tracker.start() with an aborted signal rejects with its reason; no tracker is left", async () => {
    await alreadyAborted((o) => tracker.start("sig_trk", o));
    assert.equal(whereis("sig_trk"), undefined);
    // And a start whose signal never aborts starts.
    const pid = await tracker.start("sig_trk", {
      signal: new AbortController().signal,
    });
    await tracker.stop(pid);
  });

  test("tracker.terminateChild() of a child slow to stop: the abort ends the wait; the child still stops", async () => {
    await tracker.start("sig_trk2");
    const pid = await tracker.findOrOpen("sig_trk2", {
      id: "stubborn",
      shutdown: "infinity",
      start: () =>
        spawnLink(async () => {
          trapExit(true);
          await forever();
        }),
    });
    const ac = new AbortController();
    const reason = new Error("too slow");
    const p = tracker.terminateChild("sig_trk2", "stubborn", {
      signal: ac.signal,
    });
    await settle();
    assert.ok(isAlive(pid));
    ac.abort(reason);
    await rejectsWith(p, reason);
    await cleanup(pid);
    await tracker.wait("sig_trk2");
    assert.deepEqual(await tracker.whichChildren("sig_trk2"), []);
    await tracker.stop("sig_trk2");
    await settle();
    await assertNoMessages();
  });

  const ops: [
    string,
    (t: string, options: { signal: AbortSignal }) => Promise<unknown>,
  ][] = [
    ["terminateChild", (t, o) => tracker.terminateChild(t, "p", o)],
    [
      "restartChild",
      (t, o) =>
        tracker.terminateChild(t, "p").then(() =>
          tracker.restartChild(t, "p", o)
        ),
    ],
    [
      "deleteChild",
      (t, o) =>
        tracker.terminateChild(t, "p").then(() =>
          tracker.deleteChild(t, "p", o)
        ),
    ],
    ["addExistingChild", (t, o) => {
      const pid = spawn(forever);
      return tracker.addExistingChild(t, { id: "adopted", pid }, o)
        .finally(() => cleanup(pid));
    }],
    ["wait", (t, o) => tracker.wait(t, o)],
  ];
  for (const [name, op] of ops) {
    test(`tracker.${name}() with a signal: an abort after the request is sent rejects with the reason, no late reply; already aborted: rejects`, async () => {
      for (const check of [abortedAfterSend, alreadyAborted]) {
        await tracker.start("sig_trk3");
        await tracker.findOrOpen("sig_trk3", {
          id: "p",
          restart: "permanent",
          start: worker,
        });
        await check((o) => op("sig_trk3", o));
        await tracker.stop("sig_trk3");
        await cleanup();
      }
    });
  }
});

describe("table manager and task: signals", () => {
  test("tableManager.start() and startLink() with an aborted signal reject with its reason; no manager, no table", async () => {
    for (const start of [tableManager.start, tableManager.startLink]) {
      await alreadyAborted((o) =>
        start("sig_consumer", {}, { name: "sig_mgr", ...o })
      );
      assert.equal(whereis("sig_mgr"), undefined);
    }
    assert.equal(ets.whereis("sig_consumer"), undefined);
  });

  test("tableManager.startGhost() with a signal that aborts before init is done: rejects with its reason; no ghost", async () => {
    const target = spawn(forever);
    const ac = new AbortController();
    const reason = new Error("no ghost");
    const p = tableManager.startGhost(target, 10, {
      name: "sig_ghost",
      init: () => "v",
      signal: ac.signal,
    });
    ac.abort(reason);
    await rejectsWith(p, reason);
    assert.equal(whereis("sig_ghost"), undefined);
    await alreadyAborted((o) => tableManager.startGhost(target, 10, o));
    await cleanup(target);
  });

  test("task.startSupervisor() with an aborted signal rejects with its reason; no supervisor", async () => {
    await alreadyAborted((o) =>
      task.startSupervisor({ name: "sig_tasks", ...o })
    );
    assert.equal(whereis("sig_tasks"), undefined);
    const sup = await task.startSupervisor({
      signal: new AbortController().signal,
    });
    await supervisor.stop(sup);
  });

  test("task.join(), joinMany() and yieldMany() with a signal: an abort rejects with its reason, the task runs on and a later join gets its result", async () => {
    const sup = await task.startSupervisor();
    const go = gate();
    const t = await task.asyncNolink(sup, async () => {
      await go.promise;
      return "done";
    });
    const joins = [
      (o: { signal: AbortSignal }) => task.join(t, { timeout: Infinity, ...o }),
      (o: { signal: AbortSignal }) =>
        task.joinMany([t], { timeout: Infinity, ...o }),
      (o: { signal: AbortSignal }) =>
        task.yieldMany([t], { timeout: Infinity, ...o }),
    ];
    for (const join of joins) {
      const ac = new AbortController();
      const reason = new Error("gave up");
      const p = join({ signal: ac.signal });
      await settle();
      ac.abort(reason);
      await rejectsWith(p, reason);
      await rejectsWith(join({ signal: AbortSignal.abort(reason) }), reason);
    }
    assert.ok(isAlive(t.pid));
    go.open();
    assert.equal(await task.join(t, { timeout: Infinity }), "done");
    await supervisor.stop(sup);
    await assertNoMessages();
  });
});
