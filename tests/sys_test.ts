// Sys (sys.ts): OTP's sys for gen_server-based processes. Ports of the
// sys_SUITE cases that apply (get_state, get_status, suspend/resume,
// statistics) and of gen_server_SUITE's format_status cases, plus the
// supervisor-like modules (they are gen_servers underneath), errors,
// timeouts on the virtual clock, and hostile states.
import { describe, test } from "./_harness.ts";
import assert from "node:assert/strict";
import {
  call,
  cast,
  defineServer,
  type GenServer,
  start,
  startLink,
  stop,
} from "../gen_server.ts";
import {
  exit,
  isAlive,
  monitor,
  type Pid,
  receive,
  self,
  send,
  spawn,
  spawnLink,
  trapExit,
} from "../process.ts";
import {
  CallTimeoutError,
  SysError,
  SysTimeoutError,
  TimeoutError,
} from "../errors.ts";
import { getState, getStatus, resume, statistics, suspend } from "../sys.ts";
import * as supervisor from "../supervisor.ts";
import * as task from "../task.ts";
import * as director from "../director.ts";
import * as tracker from "../tracker.ts";
import * as tableManager from "../table_manager.ts";
import { setLogger } from "../logger.ts";
import {
  assertNoMessages,
  downReason,
  flush,
  forever,
  settle,
  withClock,
} from "./_helpers.ts";
import { throwingPrimitive, throwingProxy } from "./_hostile.ts";

/** A counter: "get" replies the count, casts and infos add one. */
function counter(
  extra: Partial<GenServer<number, number>> = {},
): GenServer<number, number> {
  return {
    init: (n) => ["ok", n],
    handleCall: (req, _from, n) =>
      req === "get" ? ["reply", n, n] : ["reply", [req, n], n + 1],
    handleCast: (_msg, n) => ["noreply", n + 1],
    handleInfo: (_msg, n) => ["noreply", n + 1],
    ...extra,
  };
}

/** The SysError a rejected sys request failed with. */
async function sysFailure(p: Promise<unknown>): Promise<SysError> {
  const err = await p.then(
    () => assert.fail("expected a SysError"),
    (e) => e,
  );
  assert.ok(err instanceof SysError, `not a SysError: ${err}`);
  return err;
}

describe("Sys.getState()", () => {
  test("reads the state back, as the callbacks left it", async () => {
    const pid = await start(counter(), 41);
    assert.equal(await getState(pid), 41);
    cast(pid, "inc");
    assert.equal(await getState<number>(pid), 42);
    await stop(pid);
  });

  test("is the state itself, not through formatStatus", async () => {
    const state = { password: "hunter2" };
    const pid = await start(
      {
        init: () => ["ok", state],
        formatStatus: () => ({ state: "hidden" }),
      },
      undefined,
      { name: "sys_raw_state" },
    );
    assert.equal(await getState("sys_raw_state"), state);
    await stop(pid);
  });

  test("waits for a server still in init, then answers", async () => {
    const main = self();
    const starting = start({
      init: async () => {
        send(main, ["in_init", self()]);
        await receive((m) => m === "go");
        return ["ok", "ready"];
      },
    }, undefined);
    const [, pid] = await receive((m) =>
      Array.isArray(m) && m[0] === "in_init"
    ) as [string, Pid];
    const state = getState(pid);
    send(pid, "go");
    assert.equal(await starting, pid);
    assert.equal(await state, "ready");
    await stop(pid);
  });
});

describe("Sys.getStatus()", () => {
  test("gives pid, name, kind, parent, queue length and state, fresh each time", async () => {
    const pid = await startLink(counter(), 7, { name: "sys_status" });
    const a = await getStatus(pid);
    assert.deepEqual(a, {
      pid,
      name: "sys_status",
      kind: "gen_server",
      status: "running",
      parent: self(),
      trapExit: false,
      messageQueueLength: 0,
      statistics: undefined,
      state: 7,
    });
    const b = await getStatus("sys_status");
    assert.notEqual(a, b);
    assert.equal(
      JSON.stringify({ ...b, pid: String(b.pid), parent: 0 }).length > 0,
      true,
    );
    await stop(pid);
    await flush();
  });

  test("a server started unlinked has no parent", async () => {
    const pid = await start(counter(), 0);
    assert.equal((await getStatus(pid)).parent, undefined);
    await stop(pid);
  });

  test("formatStatus hides a secret (OTP's format_status/1)", async () => {
    const pid = await start({
      init: () => ["ok", { user: "ann", password: "hunter2" }],
      formatStatus: ({ state }) => ({
        state: { ...state, password: "***" },
      }),
    }, undefined);
    const { state } = await getStatus(pid);
    assert.deepEqual(state, { user: "ann", password: "***" });
    assert.ok(!JSON.stringify(state).includes("hunter2"));
    await stop(pid);
  });

  test("formatStatus that leaves `state` out shows the state as it is", async () => {
    const pid = await start({
      init: () => ["ok", 5],
      formatStatus: () => ({}) as never,
    }, undefined);
    assert.equal((await getStatus(pid)).state, 5);
    await stop(pid);
  });

  test("formatStatus that throws or returns garbage shows a marker, not the state", async () => {
    const cases: [string, GenServer["formatStatus"], string][] = [
      ["throws", () => {
        throw new Error("hunter2");
      }, "format_status_crashed"],
      ["returns a number", () => 42 as never, "format_status_bad_return"],
      [
        "returns a promise",
        () => Promise.resolve({ state: 1 }) as never,
        "format_status_bad_return",
      ],
      [
        "returns a throwing Proxy",
        () => throwingProxy() as never,
        "format_status_bad_return",
      ],
    ];
    for (const [what, formatStatus, marker] of cases) {
      const pid = await start({
        init: () => ["ok", "hunter2"],
        formatStatus,
      }, undefined);
      const status = await getStatus(pid);
      assert.deepEqual(status.state, ["EXIT", marker], what);
      assert.ok(isAlive(pid), `${what}: the server lives on`);
      await stop(pid);
    }
  });

  test("a hostile state never makes getStatus throw", async () => {
    for (const hostile of [throwingProxy(), throwingPrimitive()]) {
      const pid = await start({ init: () => ["ok", hostile] }, undefined);
      const status = await getStatus(pid);
      assert.equal(status.state, hostile);
      assert.equal(status.kind, "gen_server");
      // and formatStatus given a hostile state may itself fail: a marker
      const pid2 = await start({
        init: () => ["ok", hostile],
        formatStatus: (s) => ({ state: String(s.state) }),
      }, undefined);
      assert.deepEqual((await getStatus(pid2)).state, [
        "EXIT",
        "format_status_crashed",
      ]);
      await stop(pid);
      await stop(pid2);
    }
  });

  test("formatStatus hides the state's secrets from the termination report too", async () => {
    const reports: Record<string, unknown>[] = [];
    const restore = setLogger((r) => {
      reports.push(r as unknown as Record<string, unknown>);
    });
    try {
      const pid = await start({
        init: () => ["ok", "hunter2"],
        handleCast: (msg, s) => ["stop", ["crashed_with", msg], s],
        formatStatus: ({ message, reason }) => ({
          state: "***",
          message: JSON.stringify(message).replaceAll("hunter2", "***"),
          reason: JSON.stringify(reason).replaceAll("hunter2", "***"),
        }),
      }, undefined);
      const ref = monitor(pid);
      cast(pid, "hunter2");
      assert.deepEqual(await downReason(ref), ["crashed_with", "hunter2"]);
      const report = reports.find((r) => r.kind === "server_terminated")!;
      assert.ok(report !== undefined);
      assert.equal(report.lastMessage, '["cast","***"]');
      assert.equal(report.reason, '["crashed_with","***"]');
    } finally {
      restore();
    }
  });

  test("formatStatus is a known behaviour key, and must be a function", async () => {
    await assert.rejects(
      start({ init: () => ["ok", 0], formatStatus: 1 as never }, undefined),
      (e) =>
        e instanceof TypeError &&
        /'behaviour\.formatStatus' must be a function/.test(e.message),
    );
    const Typed = defineServer({
      init: () => ["ok", "secret"],
      handleCall: { get: (_: void, s) => ["reply", s, s] },
      formatStatus: () => ({ state: "hidden" }),
    });
    const pid = await start(Typed, undefined);
    assert.equal((await getStatus(pid)).state, "hidden");
    assert.equal(await call(pid, "get"), "secret");
    await stop(pid);
  });
});

describe("Sys.suspend() and Sys.resume()", () => {
  test("a suspended server queues calls, casts and infos in order until resumed", async () => {
    const seen: unknown[] = [];
    const pid = await start({
      init: () => ["ok", null],
      handleCall: (req, _from, s) => {
        seen.push(["call", req]);
        return ["reply", req, s];
      },
      handleCast: (msg, s) => {
        seen.push(["cast", msg]);
        return ["noreply", s];
      },
      handleInfo: (msg, s) => {
        seen.push(["info", msg]);
        return ["noreply", s];
      },
    }, undefined);
    await suspend(pid);
    const first = call(pid, 1, { timeout: Infinity });
    cast(pid, 2);
    send(pid, 3);
    const fourth = call(pid, 4, { timeout: Infinity });
    await settle();
    assert.deepEqual(seen, []);
    const status = await getStatus(pid);
    assert.equal(status.status, "suspended");
    assert.equal(status.messageQueueLength, 4);
    assert.equal(await getState(pid), null);
    await resume(pid);
    assert.equal(await first, 1);
    assert.equal(await fourth, 4);
    assert.deepEqual(seen, [["call", 1], ["cast", 2], ["info", 3], [
      "call",
      4,
    ]]);
    assert.equal((await getStatus(pid)).status, "running");
    await stop(pid);
  });

  test("a call to a suspended server times out as usual (virtual clock); served after resume", async () => {
    await withClock(async (clock) => {
      const pid = await start(counter(), 0);
      await suspend(pid);
      const pending = call(pid, "add", { timeout: 100 }).catch((e) => e);
      await clock.advance(99);
      assert.equal((await getStatus(pid)).messageQueueLength, 1);
      await clock.advance(1);
      const err = await pending;
      assert.ok(err instanceof CallTimeoutError && err instanceof TimeoutError);
      await resume(pid);
      // The request was still served (its reply dropped), as in OTP.
      assert.equal(await call(pid, "get"), 1);
      await stop(pid);
    });
  });

  test("suspending twice and resuming a running server do nothing", async () => {
    const pid = await start(counter(), 0);
    await resume(pid);
    await suspend(pid);
    await suspend(pid);
    assert.equal((await getStatus(pid)).status, "suspended");
    await resume(pid);
    assert.equal(await call(pid, "get"), 0);
    await stop(pid);
  });

  test("stop() ends a suspended server, running terminate", async () => {
    const log: unknown[] = [];
    const pid = await start(
      counter({
        terminate: (reason, n) => log.push([reason, n]),
      }),
      3,
    );
    await suspend(pid);
    cast(pid, "held");
    await stop(pid, "shutdown");
    assert.deepEqual(log, [["shutdown", 3]]);
    assert.ok(!isAlive(pid));
  });

  test("a suspended server that traps exits still stops when its parent exits", async () => {
    const main = self();
    const log: unknown[] = [];
    const parent = spawn(async () => {
      const pid = await startLink(
        counter({
          init: (n) => {
            trapExit(true);
            return ["ok", n];
          },
          terminate: (reason) => log.push(reason),
        }),
        0,
      );
      send(main, pid);
      await forever();
    });
    const pid = await receive((m) =>
      m !== null && typeof m === "object"
    ) as Pid;
    await suspend(pid);
    const ref = monitor(pid);
    exit(parent, "bye");
    assert.equal(await downReason(ref), "bye");
    assert.deepEqual(log, ["bye"]);
  });

  test("a suspended server can be killed; nothing is left behind", async () => {
    const pid = await start(counter(), 0);
    await suspend(pid);
    const pending = call(pid, "get", { timeout: Infinity }).catch((e) => e);
    const ref = monitor(pid);
    exit(pid, "kill");
    assert.equal(await downReason(ref), "killed");
    const err = (await pending) as { reason: unknown };
    assert.equal(err.reason, "killed");
    await assertNoMessages();
  });

  test("a suspended supervisor's requests wait until it is resumed", async () => {
    const sup = await supervisor.start({ children: [] });
    await suspend(sup);
    const children = supervisor.whichChildren(sup);
    await settle();
    assert.equal((await getStatus(sup)).messageQueueLength, 1);
    await resume(sup);
    assert.deepEqual(await children, []);
    await supervisor.stop(sup);
  });
});

describe("Sys.statistics()", () => {
  test("counts messages in, replies out and callbacks run, from when enabled", async () => {
    await withClock(async (clock) => {
      const pid = await start(counter(), 0);
      assert.equal(await statistics(pid, "get"), undefined);
      await call(pid, "get"); // before: not counted
      await clock.advance(10);
      await statistics(pid, "enable");
      await call(pid, "get");
      await call(pid, "x");
      cast(pid, "c");
      send(pid, "i");
      await getState(pid); // system requests are not counted
      await clock.advance(5);
      const stats = await statistics(pid, "get");
      assert.deepEqual(stats, {
        startTime: 10,
        currentTime: 15,
        reductions: 4,
        messagesIn: 4,
        messagesOut: 2,
      });
      assert.deepEqual((await getStatus(pid)).statistics, stats);
      // Enabling again keeps the counters (OTP's install_debug).
      await statistics(pid, "enable");
      assert.equal((await statistics(pid, "get"))!.messagesIn, 4);
      await statistics(pid, "disable");
      assert.equal(await statistics(pid, "get"), undefined);
      await stop(pid);
    });
  });

  test("a noreply reply and handleContinue count as callbacks, not replies", async () => {
    const pid = await start({
      init: () => ["ok", null],
      handleCall: (_r, from, s) => ["noreply", s, ["continue", from]],
      handleContinue: (_from, s) => ["noreply", s],
    }, undefined);
    await statistics(pid, "enable");
    await call(pid, "x", { timeout: 10 }).catch(() => {});
    const stats = await statistics(pid, "get");
    assert.equal(stats!.messagesIn, 1);
    assert.equal(stats!.messagesOut, 0);
    assert.equal(stats!.reductions, 2);
    await stop(pid);
  });

  test("rejects an unknown flag with a TypeError naming it", async () => {
    const pid = await start(counter(), 0);
    await assert.rejects(
      statistics(pid, "on" as never),
      (e) => e instanceof TypeError && /'flag'.*"on"/.test(e.message),
    );
    await stop(pid);
  });
});

describe("sys on gen_server-based processes", () => {
  test("a supervisor, a dynamic supervisor and a task supervisor", async () => {
    const sup = await supervisor.start({ children: [] }, { name: "sys_sup" });
    const status = await getStatus("sys_sup");
    assert.equal(status.kind, "supervisor");
    assert.equal(status.trapExit, true);
    assert.equal(typeof await getState(sup), "object");
    const dyn = await supervisor.startDynamic();
    assert.equal((await getStatus(dyn)).kind, "dynamic_supervisor");
    const tasks = await task.startSupervisor();
    assert.equal((await getStatus(tasks)).kind, "task_supervisor");
    await supervisor.stop(sup);
    await supervisor.stop(dyn);
    await supervisor.stop(tasks);
  });

  test("a director", async () => {
    const d = await director.start({ children: [] });
    assert.equal((await getStatus(d)).kind, "director");
    await suspend(d);
    let answered = false;
    // A director answers supervisor.ts's calls (a message, unlike its own
    // synchronous reads).
    const children = supervisor.whichChildren(d).then((c) => {
      answered = true;
      return c;
    });
    await settle();
    assert.equal(answered, false);
    const status = await getStatus(d);
    assert.equal(status.status, "suspended");
    assert.equal(status.messageQueueLength, 1);
    await resume(d);
    assert.deepEqual(await children, []);
    await director.stop(d);
  });

  test("a tracker", async () => {
    const t = await tracker.start("sys_tracker");
    const status = await getStatus(t);
    assert.equal(status.kind, "tracker");
    await statistics(t, "enable");
    assert.equal((await statistics(t, "get"))!.messagesIn, 0);
    await supervisor.countChildren(t);
    assert.equal((await statistics(t, "get"))!.messagesIn, 1);
    await suspend(t);
    const counts = supervisor.countChildren(t);
    await settle();
    assert.equal((await getStatus(t)).messageQueueLength, 1);
    await resume(t);
    assert.equal((await counts).specs, 0);
    await tracker.stop(t);
  });

  test("a table manager", async () => {
    const m = await tableManager.start("sys_nobody", {}, { timeout: Infinity });
    const status = await getStatus(m);
    assert.equal(status.kind, "table_manager");
    assert.equal(status.status, "running");
    await suspend(m);
    const phase = tableManager.status(m);
    await settle();
    assert.equal((await getStatus(m)).messageQueueLength, 1);
    await resume(m);
    assert.equal((await phase).phase, "waiting");
    await tableManager.stop(m);
    await flush();
  });
});

/** Paths to the function values inside `value` (own keys, cycles safe). */
function functionsIn(
  value: unknown,
  path = "state",
  seen = new Set(),
): string[] {
  if (typeof value === "function") return [path];
  if (value === null || typeof value !== "object" || seen.has(value)) return [];
  seen.add(value);
  const found: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    found.push(...functionsIn(v, `${path}.${k}`, seen));
  }
  if (value instanceof Map || value instanceof Set) {
    found.push(`${path} (a ${value.constructor.name})`);
  }
  return found;
}

describe("getStatus of the supervisor-like behaviours", () => {
  test("shows a plain view: flags, restart window, children; no functions, no internal record", async () => {
    const worker = () => spawnLink(forever);
    const sup = await supervisor.start({
      strategy: "rest_for_one",
      intensity: 4,
      period: 7,
      children: [{ id: "w1", start: worker }, { id: "w2", start: worker }],
    });
    const dyn = await supervisor.startDynamic({ maxChildren: 3 });
    await supervisor.startChild(dyn, { id: "d1", start: worker });
    const dir = await director.start({
      children: [{ id: "r1", start: worker }],
    });
    const trk = await tracker.start("sys_view_trk", { intensity: 9 });
    await tracker.findOrOpen(trk, { id: "t1", start: worker });
    const mgr = await tableManager.start("sys_view_consumer", {}, {
      timeout: Infinity,
    });
    const tasks = await task.startSupervisor();
    try {
      const view = async (pid: Pid) => {
        const state = (await getStatus(pid)).state as Record<string, unknown>;
        assert.deepEqual(functionsIn(state), [], JSON.stringify(state));
        assert.equal(Object.getPrototypeOf(state), Object.prototype);
        assert.ok(!("proc" in state), "no process record");
        return state;
      };
      const ids = (s: Record<string, unknown>) =>
        (s.children as { id: unknown }[]).map((c) => c.id);

      const s = await view(sup);
      assert.deepEqual(
        [s.strategy, s.intensity, s.period, s.restartsInWindow],
        ["rest_for_one", 4, 7000, 0],
      );
      assert.deepEqual(ids(s), ["w1", "w2"]);
      const first = (s.children as Record<string, unknown>[])[0];
      assert.equal(first.state, "running");
      assert.equal(first.type, "worker");
      assert.ok(
        first.pid instanceof Object && String(first.pid).startsWith("<0."),
      );

      const d = await view(dyn);
      assert.equal(d.strategy, "dynamic");
      assert.equal(d.maxChildren, 3);
      assert.equal(ids(d).length, 1);

      assert.deepEqual(ids(await view(dir)), ["r1"]);

      const t = await view(trk);
      assert.equal(t.name, "sys_view_trk");
      assert.equal(t.intensity, 9);
      assert.deepEqual(ids(t), ["t1"]);

      const m = await view(mgr);
      assert.equal(m.consumer, "sys_view_consumer");
      assert.equal(m.phase, "waiting");
      assert.deepEqual(ids(m), ["sys_view_consumer"]);

      assert.deepEqual(ids(await view(tasks)), []);
    } finally {
      await supervisor.stop(sup);
      await supervisor.stop(dyn);
      await director.stop(dir);
      await tracker.stop(trk);
      await tableManager.stop(mgr);
      await supervisor.stop(tasks);
      await flush();
    }
  });
});

describe("sys errors", () => {
  test("a dead pid and an unregistered name: SysError noproc", async () => {
    const pid = spawn(() => {});
    const ref = monitor(pid);
    await downReason(ref);
    for (const server of [pid, "sys_nobody_here"]) {
      const err = await sysFailure(getState(server));
      assert.equal(err.code, "noproc");
      assert.equal(err.reason, "noproc");
      assert.equal(err.operation, "getState");
      assert.equal(err.server, server);
    }
    const err = await sysFailure(statistics(pid, "get"));
    assert.deepEqual(err.args, ["get", 5000]);
    assert.match(
      err.message,
      /^Cannot get statistics of server <0\.\d+\.0>: no such process \("noproc"\)$/,
    );
    const timedOut = new SysTimeoutError("suspend", "db", [100], 100);
    assert.equal(
      timedOut.message,
      'Cannot suspend server "db": no answer within 100 ms ("timeout")',
    );
    assert.equal(
      new SysError("boom", "getState", "db", [5000]).message,
      'Cannot get the state of server "db": it exited with "boom"',
    );
    assert.equal(
      new SysError("not_a_server", "statistics", "db", ["enable", 5000])
        .message,
      'Cannot enable statistics of server "db": it is not a gen_server ("not_a_server")',
    );
  });

  test("a process that is not a gen_server: SysError not_a_server, at once", async () => {
    const pid = spawn(forever);
    const err = await sysFailure(suspend(pid));
    assert.equal(err.code, "not_a_server");
    exit(pid, "kill");
    assert.equal((await sysFailure(getStatus(self()))).code, "calling_self");
  });

  test("a server asking about itself: calling_self", async () => {
    const pid = await start({
      init: () => ["ok", null],
      handleCall: async (_r, _f, s) => {
        const e = await getState(self()).catch((e) => e);
        return ["reply", e, s];
      },
    }, undefined);
    const err = await call(pid, "self") as SysError;
    assert.ok(err instanceof SysError && err.code === "calling_self");
    await stop(pid);
  });

  test("a server busy past the timeout: SysTimeoutError, also a TimeoutError", async () => {
    await withClock(async (clock) => {
      const pid = await start({
        init: () => ["ok", 0],
        handleCast: async (_m, s) => {
          await receive((m) => m === "done");
          return ["noreply", s + 1];
        },
      }, undefined);
      cast(pid, "work");
      const pending = getState(pid, { timeout: 50 }).catch((e) => e);
      await clock.advance(50);
      const err = await pending;
      assert.ok(err instanceof SysTimeoutError);
      assert.ok(err instanceof TimeoutError && err instanceof SysError);
      assert.equal(err.code, "timeout");
      assert.equal(err.timeout, 50);
      send(pid, "done");
      assert.equal(await getState(pid), 1);
      await stop(pid);
    });
  });

  test("a server that dies before answering: SysError exited with its reason", async () => {
    const pid = await start({
      init: () => ["ok", 0],
      handleCast: async (_m, s) => {
        await receive((m) => m === "never");
        return ["noreply", s];
      },
    }, undefined);
    cast(pid, "block");
    const pending = getStatus(pid, { timeout: Infinity });
    await settle();
    exit(pid, "boom");
    const err = await sysFailure(pending);
    assert.equal(err.code, "exited");
    assert.equal(err.reason, "boom");
  });

  test("a signal ends the wait with its reason", async () => {
    const pid = await start({
      init: () => ["ok", 0],
      handleCast: async (_m, s) => {
        await receive((m) => m === "done");
        return ["noreply", s];
      },
    }, undefined);
    const already = AbortSignal.abort("early");
    await assert.rejects(
      getState(pid, { signal: already }),
      (e) => e === "early",
    );
    cast(pid, "block");
    const controller = new AbortController();
    const pending = getState(pid, { signal: controller.signal });
    controller.abort("gave up");
    await assert.rejects(pending, (e) => e === "gave up");
    send(pid, "done");
    await stop(pid);
  });

  test("bad arguments are TypeErrors and RangeErrors naming them", async () => {
    await assert.rejects(
      getState(42 as never),
      (e) => e instanceof TypeError && /'server'.*42/.test(e.message),
    );
    const pid = await start(counter(), 0);
    await assert.rejects(
      getStatus(pid, { timout: 5 } as never),
      (e) =>
        e instanceof TypeError && /unknown option "timout"/.test(e.message),
    );
    await assert.rejects(
      suspend(pid, { timeout: -1 }),
      (e) => e instanceof RangeError && /'timeout'/.test(e.message),
    );
    await assert.rejects(
      resume(pid, { signal: "no" as never }),
      (e) => e instanceof TypeError && /'signal'/.test(e.message),
    );
    // Hostile servers and options reject, never throw.
    for (const hostile of [throwingProxy(), throwingPrimitive()]) {
      await assert.rejects(
        getStatus(hostile as never),
        (e) => e instanceof TypeError && /'server'/.test(e.message),
      );
      // As call(): the options are read inside the promise, so whatever
      // they throw is a rejection (an unknown key is a TypeError).
      const p = getState(pid, hostile as never);
      await assert.rejects(p);
    }
    await assert.rejects(
      getState(pid, throwingPrimitive() as never),
      (e) =>
        e instanceof TypeError && /unknown option "toString"/.test(e.message),
    );
    await stop(pid);
  });
});

describe("sys and the noreply timeout", () => {
  test("a system request leaves a pending noreply timeout running", async () => {
    await withClock(async (clock) => {
      const infos: unknown[] = [];
      const pid = await start({
        init: () => ["ok", null, 100],
        handleInfo: (m, s) => {
          infos.push(m);
          return ["noreply", s];
        },
      }, undefined);
      await clock.advance(50);
      assert.equal(await getState(pid), null);
      await clock.advance(50);
      await settle();
      assert.deepEqual(infos, ["timeout"]);
      await stop(pid);
    });
  });
});
