// The library logger (logger.ts): one report per crash, restart and give-up
// of supervisors, directors and trackers; gen_server terminations; plain
// process crashes; table hand-overs. Levels, the per-supervisor `logger`
// option, silencing, the console writer's burst limit, and hostile values.
//
// Every test runs with its reports captured by the harness; tests here take
// their own capture (captureReports) on top and restore it.
import { describe, test } from "./_harness.ts";
import assert from "node:assert/strict";
import {
  captureReports,
  consoleLogger,
  formatReport,
  getLevel,
  getLogger,
  type Level,
  type Report,
  reset,
  setLevel,
  setLogger,
} from "../logger.ts";
import * as supervisor from "../supervisor.ts";
import * as director from "../director.ts";
import * as tracker from "../tracker.ts";
import * as genServer from "../gen_server.ts";
import * as ets from "../ets.ts";
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
import { ExitError } from "../errors.ts";
import {
  downReason,
  flush,
  forever,
  isDown,
  settle,
  withClock,
} from "./_helpers.ts";

// ------------------------------------------------------------- helpers --

/** A worker that waits forever. */
const worker = () => spawnLink(forever);

/** The fields of `reports` that tests compare: kind, level, then `keys`. */
function pick(reports: Report[], ...keys: (keyof Report)[]): unknown[][] {
  return reports.map((r) => [r.kind, r.level, ...keys.map((k) => r[k])]);
}

/** Runs `fn` with reports captured at `level`; returns them. */
async function capture(
  fn: () => Promise<void>,
  level: Level = "debug",
): Promise<Report[]> {
  const captured = captureReports(level);
  try {
    await fn();
    await settle();
  } finally {
    captured.restore();
  }
  return captured.reports;
}

/** The pid of a supervisor's child `id`. */
async function childPid(sup: Pid, id: unknown): Promise<Pid> {
  const c = (await supervisor.whichChildren(sup)).find((c) => c.id === id);
  assert.ok(c?.pid instanceof Object, `child ${String(id)} runs`);
  return c!.pid as Pid;
}

/** Kills `pid` and waits for it to be gone. */
async function kill(pid: Pid): Promise<void> {
  const ref = monitor(pid);
  exit(pid, "kill");
  await downReason(ref);
  await settle();
}

// ---------------------------------------------------------- supervisor --

describe("Logger: supervisor reports", () => {
  test("a child's crash: child_terminated with supervisor, name, id, pid, reason, restart; then progress and child_restarted", async () => {
    let sup: Pid | undefined;
    let first: Pid | undefined;
    const reports = await capture(async () => {
      sup = await supervisor.start({
        children: [{ id: "w", start: worker, restart: "permanent" }],
      }, { name: "logged_sup" });
      first = await childPid(sup, "w");
      await kill(first);
    });
    const second = await childPid(sup!, "w");
    await supervisor.stop(sup!);
    assert.deepEqual(pick(reports, "source", "id", "pid"), [
      ["progress", "info", "supervisor", "w", first],
      ["child_terminated", "error", "supervisor", "w", first],
      ["progress", "info", "supervisor", "w", second],
      ["child_restarted", "info", "supervisor", "w", second],
    ]);
    const crash = reports[1];
    assert.equal(crash.supervisor, sup);
    assert.equal(crash.name, "logged_sup");
    assert.equal(crash.reason, "killed");
    assert.equal(crash.restart, "permanent");
    assert.equal(typeof crash.time, "number");
    assert.equal(
      formatReport(crash),
      `=SUPERVISOR REPORT= supervisor "logged_sup" (${sup}): child "w" (${first}, permanent) exited: "killed"`,
    );
  });

  test("at the default level only the crash is reported (progress is info)", async () => {
    let sup: Pid | undefined;
    const reports = await capture(async () => {
      sup = await supervisor.start({ children: [{ id: "w", start: worker }] });
      await kill(await childPid(sup, "w"));
      await supervisor.stop(sup);
    }, "notice");
    assert.deepEqual(pick(reports, "id", "reason"), [
      ["child_terminated", "error", "w", "killed"],
    ]);
  });

  test("clean exits of transient and temporary children are not reported; a permanent child's normal exit is (OTP)", async () => {
    const exits = (restart: "permanent" | "transient" | "temporary") => ({
      id: restart,
      restart,
      start: () =>
        spawnLink(async () => {
          await receive((m) => m === "go");
        }),
    });
    let sup: Pid | undefined;
    const reports = await capture(async () => {
      sup = await supervisor.start({
        intensity: 10,
        children: [exits("permanent"), exits("transient"), exits("temporary")],
      });
      for (const id of ["permanent", "transient", "temporary"]) {
        send(await childPid(sup, id), "go");
      }
      await settle();
      await supervisor.stop(sup);
    }, "notice");
    assert.deepEqual(pick(reports, "id", "reason", "restart"), [
      ["child_terminated", "error", "permanent", "normal", "permanent"],
    ]);
  });

  test('["shutdown", x] is a clean exit; { shutdown: x } and ["shutdown"] are not: a transient child restarts and is reported', async () => {
    const exitsWith = (id: string, reason: unknown) => ({
      id,
      restart: "transient" as const,
      start: () =>
        spawnLink(async () => {
          await receive((m) => m === "go");
          throw new ExitError(reason);
        }),
    });
    let sup: Pid | undefined;
    const reports = await capture(async () => {
      sup = await supervisor.start({
        intensity: 10,
        children: [
          exitsWith("tuple", ["shutdown", "done"]),
          exitsWith("object", { shutdown: "done" }),
          exitsWith("short", ["shutdown"]),
        ],
      });
      const before = await Promise.all(
        ["tuple", "object", "short"].map((id) => childPid(sup!, id)),
      );
      for (const pid of before) send(pid, "go");
      await settle();
      const after = await supervisor.whichChildren(sup);
      // the clean one stays stopped; the two others were restarted
      assert.equal(after.find((c) => c.id === "tuple")?.pid, undefined);
      for (const [i, id] of [[1, "object"], [2, "short"]] as const) {
        const pid = after.find((c) => c.id === id)?.pid;
        assert.ok(pid !== undefined && pid !== before[i], id);
      }
      await supervisor.stop(sup);
    }, "notice");
    assert.deepEqual(pick(reports, "id", "reason"), [
      ["child_terminated", "error", "object", { shutdown: "done" }],
      ["child_terminated", "error", "short", ["shutdown"]],
    ]);
  });

  test('a gen_server stopping with { shutdown: x } is reported (no tuple); ["shutdown", x] is not', async () => {
    const reports = await capture(async () => {
      const a = await genServer.start({ init: () => ["ok", 0] }, undefined);
      await genServer.stop(a, ["shutdown", "bye"]);
      const b = await genServer.start({ init: () => ["ok", 0] }, undefined);
      await genServer.stop(b, { shutdown: "bye" });
    }, "notice");
    assert.deepEqual(pick(reports, "reason"), [
      ["server_terminated", "error", { shutdown: "bye" }],
    ]);
  });

  test("a restart that fails: start_error with the reason; the first start failing too", async () => {
    let tries = 0;
    const flaky = () => {
      if (++tries === 2) throw new Error("no db");
      return worker();
    };
    let sup: Pid | undefined;
    const reports = await capture(async () => {
      sup = await supervisor.start({
        intensity: 5,
        children: [{ id: "db", start: flaky }],
      });
      await kill(await childPid(sup, "db"));
      await settle();
      await supervisor.stop(sup);
    }, "notice");
    assert.deepEqual(
      pick(reports, "id").map((r) => r.slice(0, 3)),
      [
        ["child_terminated", "error", "db"],
        ["start_error", "error", "db"],
      ],
    );
    assert.match(String(reports[1].reason), /no db/);

    const initial = await capture(async () => {
      await assert.rejects(supervisor.start({
        children: [{
          id: "bad",
          start: () => {
            throw new ExitError("nope");
          },
        }],
      }));
    }, "notice");
    assert.deepEqual(pick(initial, "id", "reason"), [
      ["start_error", "error", "bad", "nope"],
    ]);
  });

  test("give-up: gave_up with reason reached_max_restart_intensity and the offender; the supervisor exits shutdown", async () => {
    let sup: Pid | undefined;
    let ref: unknown;
    const reports = await capture(async () => {
      sup = await supervisor.start({
        intensity: 0,
        children: [{ id: "w", start: worker }],
      }, { name: "fragile" });
      ref = monitor(sup);
      exit(await childPid(sup, "w"), "kill");
      assert.equal(await downReason(ref as never), "shutdown");
    }, "notice");
    assert.deepEqual(pick(reports, "id", "reason", "supervisor"), [
      ["child_terminated", "error", "w", "killed", sup],
      ["gave_up", "error", "w", "reached_max_restart_intensity", sup],
    ]);
    assert.equal(
      formatReport(reports[1]),
      `=SUPERVISOR REPORT= supervisor "fragile" (${sup}): shutting down ("reached_max_restart_intensity"), offender child "w" (permanent)`,
    );
    assert.ok(!isAlive(sup!));
  });

  test("a delayed restart: restart_delayed (notice) with delay and restartAt", async () => {
    await withClock(async (clock) => {
      let sup: Pid | undefined;
      const reports = await capture(async () => {
        sup = await supervisor.start({
          backoff: { initial: 100, max: 1000 },
          children: [{ id: "w", start: worker }],
        });
        await kill(await childPid(sup, "w"));
      }, "notice");
      assert.deepEqual(pick(reports, "id", "delay", "restartAt"), [
        ["child_terminated", "error", "w", undefined, undefined],
        ["restart_delayed", "notice", "w", 100, clock.now() + 100],
      ]);
      assert.match(formatReport(reports[1]), /child "w" restarts in 100 ms$/);
      await clock.advance(100);
      await supervisor.stop(sup!);
    });
  });

  test("shutdown_error when a child does not stop as asked; none for a brutal kill's killed", async () => {
    await withClock(async (clock) => {
      const stubborn = () =>
        spawnLink(async () => {
          trapExit(true);
          await forever();
        });
      let sup: Pid | undefined;
      const reports = await capture(async () => {
        sup = await supervisor.start({
          children: [
            { id: "stubborn", start: stubborn, shutdown: 50 },
            { id: "brutal", start: worker, shutdown: "brutal_kill" },
          ],
        });
        const stopping = supervisor.stop(sup);
        await settle();
        await clock.advance(50);
        await stopping;
      }, "notice");
      assert.deepEqual(pick(reports, "id", "reason"), [
        ["shutdown_error", "error", "stubborn", "killed"],
      ]);
    });
  });

  test("the logger option: a level of its own, a function for every report, false for none", async () => {
    const tree = (logger: supervisor.StartOptions["logger"]) =>
      supervisor.start({ children: [{ id: "w", start: worker }] }, { logger });
    const own: Report[] = [];
    let sups: Pid[] = [];
    const global = await capture(async () => {
      sups = [
        await tree("info"), // progress too, through the global logger
        await tree((r) => own.push(r)), // everything, to `own`
        await tree(false), // nothing
        await tree("error"),
      ];
      for (const s of sups) await kill(await childPid(s, "w"));
      for (const s of sups) await supervisor.stop(s);
    }, "notice");
    assert.deepEqual(pick(global, "supervisor"), [
      ["progress", "info", sups[0]],
      ["child_terminated", "error", sups[0]],
      ["progress", "info", sups[0]],
      ["child_restarted", "info", sups[0]],
      ["child_terminated", "error", sups[3]],
    ]);
    assert.deepEqual(pick(own).map((r) => r[0]), [
      "progress",
      "child_terminated",
      "progress",
      "child_restarted",
    ]);
    await assert.rejects(
      supervisor.start({}, { logger: "loud" as never }),
      (e: unknown) =>
        e instanceof TypeError && /'logger' must be a function, a level/.test(
          e.message,
        ) && /got "loud"/.test(e.message),
    );
  });
});

// ------------------------------------------------- director and tracker --

describe("Logger: director and tracker reports", () => {
  test("a director reports to the global logger by default; a level or false as its logger option", async () => {
    let d: Pid | undefined;
    let quiet: Pid | undefined;
    let child: Pid | undefined;
    const reports = await capture(async () => {
      d = await director.start({ children: [{ id: "w", start: worker }] });
      quiet = await director.start({
        children: [{ id: "q", start: worker }],
      }, { logger: false });
      child = director.getPid(d, "w");
      await kill(child);
      await kill(director.getPid(quiet, "q"));
      await director.stop(d);
      await director.stop(quiet);
    }, "notice");
    assert.deepEqual(pick(reports, "source", "id", "pid", "reason"), [
      ["child_terminated", "error", "director", "w", child, "killed"],
    ]);
    assert.equal(reports[0].supervisor, d);
    assert.equal(
      (reports[0] as director.LogEntry).text,
      `=SUPERVISOR REPORT= director ${d}: child "w" (${child}) exited: "killed"`,
    );
    await assert.rejects(
      director.start({}, { logger: 42 as never }),
      TypeError,
    );
    // A level: progress reports too.
    const info = await capture(async () => {
      const d2 = await director.start({
        children: [{ id: "w", start: worker }],
      }, { logger: "info" });
      await director.stop(d2);
    }, "notice");
    assert.deepEqual(pick(info, "id"), [["progress", "info", "w"]]);
  });

  test("a director's delayed restart and restart reach the global logger", async () => {
    await withClock(async (clock) => {
      let d: Pid | undefined;
      const reports = await capture(async () => {
        d = await director.start({
          children: [{ id: "w", start: worker, plan: [["restart", 50]] }],
        }, { name: "planned" });
        await kill(director.getPid(d, "w"));
        await clock.advance(50);
        await settle();
      });
      assert.deepEqual(
        pick(reports, "source", "id").map((r) => r.slice(0, 4)),
        [
          ["progress", "info", "director", "w"],
          ["child_terminated", "error", "director", "w"],
          ["restart_delayed", "notice", "director", "w"],
          ["progress", "info", "director", "w"],
          ["child_restarted", "info", "director", "w"],
        ],
      );
      assert.equal(reports[2].delay, 50);
      assert.equal(reports[2].name, "planned");
      await director.stop(d!);
    });
  });

  test("a tracker child's crash: child_terminated from the tracker; its logger option", async () => {
    const seen: Report[] = [];
    let child: Pid | undefined;
    let trk: Pid | undefined;
    const reports = await capture(async () => {
      trk = await tracker.start("logged_trk");
      child = await tracker.findOrOpen("logged_trk", {
        id: "c",
        start: worker,
      });
      await kill(child);
      await tracker.stop(trk);
      const own = await tracker.start("own_trk", {
        logger: (r) => seen.push(r),
      });
      await kill(await tracker.findOrOpen("own_trk", { id: 1, start: worker }));
      await tracker.stop(own);
    }, "notice");
    assert.deepEqual(
      pick(reports, "source", "id", "pid", "reason", "restart"),
      [
        [
          "child_terminated",
          "error",
          "tracker",
          "c",
          child,
          "killed",
          "temporary",
        ],
      ],
    );
    assert.equal(reports[0].name, "logged_trk");
    assert.equal(reports[0].supervisor, trk);
    assert.deepEqual(pick(seen, "id").map((r) => r.slice(0, 3)), [
      ["progress", "info", 1],
      ["child_terminated", "error", 1],
    ]);
    await assert.rejects(
      tracker.start("bad_trk", { logger: "verbose" as never }),
      TypeError,
    );
  });
});

// ---------------------------------------------- servers and processes --

describe("Logger: gen_server and process reports", () => {
  test("a gen_server terminating abnormally: server_terminated with the last message and the reason", async () => {
    let pid: Pid | undefined;
    const reports = await capture(async () => {
      pid = await genServer.start(
        {
          init: () => ["ok", 0],
          handleCall: (req) => {
            if (req === "crash") throw new Error("bad request");
            return ["reply", "ok", 0];
          },
        },
        undefined,
        { name: "crashy" },
      );
      const ref = monitor(pid);
      await assert.rejects(genServer.call(pid, "crash"));
      await downReason(ref);
    }, "notice");
    assert.deepEqual(pick(reports, "source", "pid", "name", "lastMessage"), [
      ["server_terminated", "error", "gen_server", pid, "crashy", [
        "call",
        "crash",
      ]],
    ]);
    assert.ok(reports[0].reason instanceof Error);
    const text = formatReport(reports[0]);
    assert.match(
      text,
      /^=ERROR REPORT= GenServer <[\d.]+> "crashy" terminating; last message: \["call", "crash"\]; reason: Error: bad request\n\s+at /,
    );
  });

  test("casts and stops are named; clean stops are not reported", async () => {
    const reports = await capture(async () => {
      const a = await genServer.start({
        init: () => ["ok", 0],
        handleCast: (m, s) =>
          m === "boom" ? ["stop", "boom", s] : ["noreply", s],
      }, undefined);
      const ra = monitor(a);
      genServer.cast(a, "boom");
      await downReason(ra);
      const b = await genServer.start({ init: () => ["ok", 0] }, undefined);
      await genServer.stop(b, "shutdown");
      const c = await genServer.start({ init: () => ["ok", 0] }, undefined);
      await genServer.stop(c, ["shutdown", "bye"]);
      const d = await genServer.start({ init: () => ["ok", 0] }, undefined);
      await genServer.stop(d, "weird");
    }, "notice");
    assert.deepEqual(pick(reports, "lastMessage", "reason"), [
      ["server_terminated", "error", ["cast", "boom"], "boom"],
      ["server_terminated", "error", ["stop", "weird"], "weird"],
    ]);
  });

  test("a message without handleInfo: unhandled_info (warning); the server lives on", async () => {
    let pid: Pid | undefined;
    const reports = await capture(async () => {
      pid = await genServer.start({ init: () => ["ok", 0] }, undefined);
      send(pid, "stray");
      await settle();
    }, "notice");
    assert.deepEqual(pick(reports, "pid", "lastMessage"), [
      ["unhandled_info", "warning", pid, "stray"],
    ]);
    assert.ok(isAlive(pid!));
    await genServer.stop(pid!);
  });

  test("a process whose body throws: process_crashed; not for exit(reason), a kill, or a normal end", async () => {
    const error = new TypeError("x is undefined");
    let crashed: Pid | undefined;
    const reports = await capture(async () => {
      crashed = spawn(() => {
        throw error;
      });
      spawn(async () => {
        await Promise.resolve();
        throw new ExitError("on purpose"); // exit(reason): not a crash
      });
      const victim = spawn(forever);
      await settle();
      exit(victim, "kill");
      spawn(() => {});
      await settle();
    }, "notice");
    assert.deepEqual(pick(reports, "source", "pid", "reason"), [
      ["process_crashed", "error", "process", crashed, error],
    ]);
    assert.match(
      formatReport(reports[0]),
      /^=CRASH REPORT= process <[\d.]+> crashed: TypeError: x is undefined\n\s+at /,
    );
  });

  test("an async body that rejects is a crash too", async () => {
    let pid: Pid | undefined;
    const reports = await capture(async () => {
      pid = spawn(async () => {
        await Promise.resolve();
        throw "async boom";
      });
      await settle();
    }, "notice");
    assert.deepEqual(pick(reports, "pid", "reason"), [
      ["process_crashed", "error", pid, "async boom"],
    ]);
  });
});

// ----------------------------------------------------------------- ets --

describe("Logger: table reports", () => {
  test("a table handed to its heir (info) and a table lost with its owner (debug)", async () => {
    const me = self();
    let owner: Pid | undefined;
    let loner: Pid | undefined;
    const reports = await capture(async () => {
      owner = spawn(async () => {
        ets.create("inherited", { heir: me });
        await forever();
      });
      loner = spawn(async () => {
        ets.create("orphan");
        await forever();
      });
      await settle();
      exit(owner, "kill");
      exit(loner, "kill");
      await settle();
    });
    assert.deepEqual(pick(reports, "source", "table", "pid", "heir"), [
      ["table_transferred", "info", "ets", "inherited", owner, me],
      ["table_lost", "debug", "ets", "orphan", loner, undefined],
    ]);
    assert.equal(
      formatReport(reports[0]),
      `=INFO REPORT= table "inherited": owner ${owner} died, handed to its heir ${me}`,
    );
    const [transfer] = await flush() as [["ETS-TRANSFER", ets.Table]];
    assert.equal(transfer[0], "ETS-TRANSFER");
    transfer[1].destroy();
  });

  test("at the default level table reports are not made", async () => {
    const reports = await capture(async () => {
      const p = spawn(async () => {
        ets.create("gone");
        await forever();
      });
      await settle();
      exit(p, "kill");
      await settle();
    }, "notice");
    assert.deepEqual(reports, []);
  });
});

// --------------------------------------------------------------- levels --

describe("Logger: levels, setLogger, reset", () => {
  test("setLevel() and getLevel(); the restore function; bad levels are refused", () => {
    const restore = setLevel("error");
    try {
      assert.equal(getLevel(), "error");
      const inner = setLevel("none");
      assert.equal(getLevel(), "none");
      inner();
      inner(); // idempotent
      assert.equal(getLevel(), "error");
    } finally {
      restore();
    }
    assert.throws(
      () => setLevel("warn" as never),
      (e: unknown) =>
        e instanceof TypeError &&
        e.message ===
          `Cannot setLevel: 'level' must be one of "error", "warning", "notice", "info", "debug", "none", got "warn"`,
    );
    assert.throws(() => captureReports("all" as never), TypeError);
  });

  test("setLogger(null) silences every report; setLogger() refuses a non-function", async () => {
    const restoreLevel = setLevel("debug");
    const restore = setLogger(null);
    try {
      assert.equal(getLogger(), null);
      const sup = await supervisor.start({
        children: [{ id: "w", start: worker }],
      });
      await kill(await childPid(sup, "w"));
      await supervisor.stop(sup);
    } finally {
      restore();
      restoreLevel();
    }
    assert.throws(
      () => setLogger("console" as never),
      /Cannot setLogger: 'logger' must be a function or null, got "console"/,
    );
  });

  test("reset() puts back the console logger at notice", () => {
    const before = getLogger();
    const level = getLevel();
    try {
      setLogger(null);
      setLevel("debug");
      reset();
      assert.equal(getLogger(), consoleLogger);
      assert.equal(getLevel(), "notice");
    } finally {
      setLogger(before);
      setLevel(level);
    }
  });

  test("a level filters the global logger: warning keeps errors and warnings only", async () => {
    const reports = await capture(async () => {
      const pid = await genServer.start({ init: () => ["ok", 0] }, undefined);
      send(pid, "stray"); // warning
      await settle();
      await genServer.stop(pid, "odd"); // error
      const sup = await supervisor.start({
        backoff: { initial: 0, max: 0 },
        children: [{ id: "w", start: worker }],
      });
      await kill(await childPid(sup, "w")); // error, then notice (delayed)
      await settle();
      await supervisor.stop(sup);
    }, "warning");
    assert.deepEqual(reports.map((r) => r.kind), [
      "unhandled_info",
      "server_terminated",
      "child_terminated",
    ]);
  });
});

// ------------------------------------------------ robustness and output --

describe("Logger: hostile values, throwing loggers, the console writer", () => {
  test("formatReport() never throws: Proxy, cycles, throwing toString and getters", () => {
    const trap = new Proxy({}, {
      get() {
        throw new Error("trap");
      },
      ownKeys() {
        throw new Error("trap");
      },
      getPrototypeOf() {
        throw new Error("trap");
      },
    });
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    const hostile = {
      toString() {
        throw new Error("no");
      },
      get boom() {
        throw new Error("getter");
      },
    };
    for (const value of [trap, cycle, hostile]) {
      for (
        const kind of [
          "child_terminated",
          "server_terminated",
          "process_crashed",
          "gave_up",
          "table_lost",
        ] as const
      ) {
        const text = formatReport({
          level: "error",
          kind,
          time: 0,
          source: "supervisor",
          reason: value,
          id: value,
          name: value as never,
          pid: value as never,
          lastMessage: value,
          table: value as never,
        });
        assert.equal(typeof text, "string");
      }
    }
    // A report that is itself hostile.
    assert.equal(typeof formatReport(trap as never), "string");
  });

  test("a supervisor with a hostile reason and a throwing logger keeps restarting", async () => {
    const errors: unknown[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void errors.push(args[0]);
    const hostile = new Proxy({}, {
      get() {
        throw new Error("trap");
      },
      ownKeys() {
        throw new Error("trap");
      },
      getPrototypeOf() {
        throw new Error("trap");
      },
    });
    // No pending receive: its death formats nothing but the report.
    const idle = () => spawnLink(() => new Promise(() => {}));
    let calls = 0;
    const restoreLogger = setLogger(consoleLogger);
    try {
      const throwing = await supervisor.start({
        intensity: 10,
        children: [{ id: "w", start: idle }],
      }, {
        logger: () => {
          calls++;
          throw new Error("logger down");
        },
      });
      const printing = await supervisor.start({
        intensity: 10,
        children: [{ id: "w", start: idle }],
      }); // the console logger
      for (const sup of [throwing, printing]) {
        for (let i = 0; i < 3; i++) {
          const pid = await childPid(sup, "w");
          const ref = monitor(pid);
          exit(pid, hostile);
          // (Not downReason: a promise of the Proxy would read its `then`.)
          await receive(isDown(ref));
          await settle();
        }
        assert.ok(isAlive(sup));
        assert.equal((await supervisor.countChildren(sup)).active, 1);
        await supervisor.stop(sup);
      }
    } finally {
      restoreLogger();
      console.error = original;
    }
    assert.ok(calls >= 6, `the logger was called (${calls})`);
    const threw = errors.filter((e) => e === "Steward: a logger threw:");
    assert.equal(threw.length, calls);
    const printed = errors.filter((e) => e !== "Steward: a logger threw:");
    assert.equal(printed.length, 3);
    for (const line of printed) {
      assert.match(
        String(line),
        /^=SUPERVISOR REPORT= supervisor <[\d.]+>: child "w" \(<[\d.]+>, permanent\) exited: \[Proxy\]$/,
      );
    }
  });

  test("a process that throws a hostile value: it dies with it, the crash is reported", async () => {
    const hostile = new Proxy({}, {
      get() {
        throw new Error("trap");
      },
      ownKeys() {
        throw new Error("trap");
      },
      getPrototypeOf() {
        throw new Error("trap");
      },
    });
    let pid: Pid | undefined;
    let down: unknown[] = [];
    const reports = await capture(async () => {
      pid = spawn(() => {
        throw hostile;
      });
      const ref = monitor(pid);
      down = await receive(isDown(ref)) as unknown[];
    });
    assert.equal(down[4], hostile);
    assert.equal(reports.length, 1);
    assert.equal(reports[0].kind, "process_crashed");
    assert.equal(reports[0].reason, hostile);
    assert.equal(
      formatReport(reports[0]),
      `=CRASH REPORT= process ${pid} crashed: [Proxy]`,
    );
  });

  test("the console logger writes errors to console.error, the rest to console.warn", () => {
    const out: [string, string][] = [];
    const { error, warn } = console;
    console.error = (t: string) => void out.push(["error", t]);
    console.warn = (t: string) => void out.push(["warn", t]);
    try {
      consoleLogger({
        level: "error",
        kind: "process_crashed",
        time: 0,
        source: "process",
        reason: "boom",
      });
      consoleLogger({
        level: "notice",
        kind: "restart_delayed",
        time: 0,
        source: "supervisor",
        id: "w",
        delay: 5,
      });
    } finally {
      console.error = error;
      console.warn = warn;
    }
    assert.deepEqual(out, [
      ["error", `=CRASH REPORT= process undefined crashed: "boom"`],
      [
        "warn",
        `=SUPERVISOR REPORT= supervisor undefined: child "w" restarts in 5 ms`,
      ],
    ]);
  });

  test("the console logger's burst limit: 500 reports a second, then a count of the dropped ones", async () => {
    await withClock(async (clock) => {
      const out: string[] = [];
      const { error, warn } = console;
      console.error = (t: string) => void out.push(t);
      console.warn = (t: string) => void out.push(t);
      const report: Report = {
        level: "error",
        kind: "process_crashed",
        time: 0,
        source: "process",
        reason: "boom",
      };
      try {
        await clock.advance(10_000); // a window of its own
        for (let i = 0; i < 503; i++) consoleLogger(report);
        assert.equal(out.length, 500);
        await clock.advance(999);
        consoleLogger(report);
        assert.equal(out.length, 500);
        await clock.advance(1);
        consoleLogger(report);
      } finally {
        console.error = error;
        console.warn = warn;
      }
      assert.equal(out.length, 502);
      assert.equal(
        out[500],
        "Steward logger: 4 reports dropped (more than 500 in 1000 ms)",
      );
      assert.match(out[501], /^=CRASH REPORT=/);
    });
  });

  test("a swapped clock starts a new burst window (its times do not compare with the old clock's)", async () => {
    const out: string[] = [];
    const { error, warn } = console;
    console.error = (t: string) => void out.push(t);
    console.warn = (t: string) => void out.push(t);
    const report: Report = {
      level: "error",
      kind: "process_crashed",
      time: 0,
      source: "process",
      reason: "boom",
    };
    try {
      await withClock(async (a) => {
        await a.advance(30_000);
        for (let i = 0; i < 300; i++) consoleLogger(report);
      });
      await withClock(async (b) => {
        await b.advance(30_000); // the same time on another clock
        for (let i = 0; i < 500; i++) consoleLogger(report);
      });
    } finally {
      console.error = error;
      console.warn = warn;
    }
    assert.equal(out.length, 800);
  });

  test("under a flood, reports the console would drop are not even built; every one is counted", async () => {
    await withClock(async (clock) => {
      const out: string[] = [];
      const { error, warn } = console;
      console.error = (t: string) => void out.push(t);
      console.warn = (t: string) => void out.push(t);
      const restore = setLogger(consoleLogger);
      const crashed: Pid[] = [];
      const crash = () =>
        crashed.push(spawn(() => {
          throw "flood";
        }));
      // The scheduler yields to timers now and then (every ~20 ms of work):
      // on a loaded machine 600 crashes may take more than one turn.
      const allDead = async () => {
        for (let i = 0; i < 1000 && crashed.some(isAlive); i++) await settle();
      };
      try {
        await clock.advance(20_000); // a window of its own
        for (let i = 0; i < 600; i++) crash();
        await allDead();
        assert.equal(out.length, 500);
        await clock.advance(1000);
        for (let i = 0; i < 64; i++) crash(); // one in 64 reads the clock
        await allDead();
      } finally {
        restore();
        console.error = error;
        console.warn = warn;
      }
      const written = out.filter((l) => l.startsWith("=CRASH REPORT="));
      const notes = out.filter((l) => l.startsWith("Steward logger:"));
      assert.equal(notes.length, 1);
      const dropped = Number(
        notes[0].match(/^Steward logger: (\d+) reports/)![1],
      );
      assert.ok(written.length > 500);
      assert.equal(written.length + dropped, 664);
      assert.equal(out.indexOf(notes[0]), 500); // before the new window's first
    });
  });

  test("captureReports() restores the logger and level it replaced, even nested", () => {
    const logger = getLogger();
    const level = getLevel();
    const outer = captureReports("error");
    const inner = captureReports();
    assert.equal(getLevel(), "debug");
    inner.restore();
    assert.equal(getLevel(), "error");
    outer[Symbol.dispose]();
    outer.restore(); // idempotent
    assert.equal(getLogger(), logger);
    assert.equal(getLevel(), level);
  });
});
