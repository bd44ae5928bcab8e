// GenServer: ports of gen_server_SUITE's ★ cases (start, stop1-4, crash,
// loop_start_fail, call, cast, continue, info, calling_self,
// undef_handle_info, otp_7669) and Elixir's GenServer tests (reference §2,
// §5.2, §5.5).
import { describe, test } from "./_harness.ts";
import { consoleLogger, setLogger } from "../logger.ts";
import assert from "node:assert/strict";
import {
  call,
  cast,
  type From,
  type GenServer,
  reply,
  start,
  startLink,
  stop,
} from "../gen_server.ts";
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
  spawnMonitor,
  trapExit,
  whereis,
} from "../process.ts";
import {
  CallError,
  CallTimeoutError,
  ExitError,
  StartError,
  StartTimeoutError,
  TimeoutError,
} from "../errors.ts";
import { addResource, currentProc } from "../_runtime.ts";
import {
  assertNoMessages,
  downReason,
  exitReason,
  flush,
  forever,
  settle,
  withClock,
} from "./_helpers.ts";

/** What the test server records, in order. */
type Log = unknown[];

/**
 * A test server (OTP's gen_server_SUITE server, in spirit): answers "ping",
 * stops on request, crashes on request, logs terminate.
 */
function server(log: Log = []): GenServer<Log, unknown> {
  return {
    init(arg) {
      if (arg === "ignore") return "ignore";
      if (arg === "stop") return ["stop", "stopped"];
      if (arg === "error") return ["error", "foobar"];
      if (arg === "bad") return 4711 as never;
      if (arg === "throw") throw new Error("bailout");
      if (arg === "exit") throw new ExitError("bailout");
      if (arg === "trap") trapExit(true);
      return ["ok", log];
    },
    handleCall(request, from, state) {
      switch (request) {
        case "ping":
          return ["reply", "pong", state];
        case "stop":
          return ["stop", "stopped", "ok", state];
        case "stop_noreply":
          return ["stop", "stopped", state];
        case "shutdown_reason":
          return ["stop", ["shutdown", "reason"], state];
        case "exit_shutdown":
          throw new ExitError("shutdown");
        case "crash":
          throw new ExitError("crashed");
        case "badreturn":
          return "badreturn" as never;
        case "delayed": {
          // Reply later, from another process (gen_server:reply/2).
          spawn(async () => {
            await Promise.resolve();
            reply(from, "delayed");
          });
          return ["noreply", state];
        }
        case "self":
          return ["reply", self(), state];
        case "log":
          return ["reply", [...state], state];
        default:
          return ["reply", ["unknown", request], state];
      }
    },
    handleCast(message, state) {
      if (message === "stop") return ["stop", "normal", state];
      state.push(["cast", message]);
      return ["noreply", state];
    },
    handleInfo(message, state) {
      if (message === "stop") return ["stop", "normal", state];
      state.push(["info", message]);
      return ["noreply", state];
    },
    terminate(reason) {
      log.push(["terminate", reason]); // the state is `log` too
    },
  };
}

/** The reason of a CallError, asserting the class. */
async function callFails(p: Promise<unknown>): Promise<CallError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof CallError, `expected CallError, got ${e}`);
    return e;
  }
  assert.fail("expected the call to fail");
}

/** The reason of a StartError, asserting the class. */
async function startFails(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof StartError, `expected StartError, got ${e}`);
    return e.reason;
  }
  assert.fail("expected the start to fail");
}

describe("GenServer.start() and startLink()", () => {
  test("start() runs init in the new process and returns its pid (start)", async () => {
    let initSelf: Pid | undefined;
    const pid = await start({
      init: () => {
        initSelf = self();
        return ["ok", null];
      },
    }, undefined);
    assert.equal(initSelf, pid);
    assert.ok(isAlive(pid));
    assert.deepEqual(processInfo(pid)!.links, []);
    await stop(pid);
    assert.ok(!isAlive(pid));
    await assertNoMessages();
  });

  test("startLink() links the server to the caller; its exit reaches a trapping caller", async () => {
    const pid = await startLink(server(), undefined);
    assert.deepEqual(processInfo(pid)!.links, [self()]);
    assert.equal(await call(pid, "stop"), "ok");
    assert.equal(await exitReason(pid), "stopped");
    await assertNoMessages();
  });

  test("start() with a name registers it; a second start rejects with alreadyStarted", async () => {
    const pid = await start(server(), undefined, { name: "my_test_name" });
    assert.equal(whereis("my_test_name"), pid);
    assert.equal(await call("my_test_name", "ping"), "pong");
    const reason = await startFails(
      start(server(), undefined, { name: "my_test_name" }),
    );
    assert.deepEqual(reason, ["already_started", pid]);
    const reasonLinked = await startFails(
      startLink(server(), undefined, { name: "my_test_name" }),
    );
    assert.deepEqual(reasonLinked, ["already_started", pid]);
    // the loser exited normal without running init
    assert.match(String(await receive()), /^EXIT/);
    await stop("my_test_name");
    assert.equal(whereis("my_test_name"), undefined);
    await assertNoMessages();
  });

  test("init returning ignore, stop and error reject with StartError and free the name (start, otp_7669)", async () => {
    for (
      const [arg, expected] of [
        ["ignore", "ignore"],
        ["stop", "stopped"],
        ["error", "foobar"],
      ]
    ) {
      const reason = await startFails(
        start(server(), arg, { name: "otp_7669" }),
      );
      assert.equal(reason, expected);
      assert.equal(whereis("otp_7669"), undefined);
    }
    await assertNoMessages();
  });

  test("startLink() failures leave the right EXIT for a trapping caller (sup_start_ignore_init, sup_start_fail)", async () => {
    const cases: [string, unknown, unknown][] = [
      ["ignore", "ignore", "normal"],
      ["stop", "stopped", "stopped"],
      ["error", "foobar", "normal"],
    ];
    for (const [arg, reason, exitWith] of cases) {
      const err = await startLink(server(), arg).catch((e) => e);
      assert.ok(err instanceof StartError);
      assert.equal(err.reason, reason);
      const [tag, , r] = await receive((m) =>
        Array.isArray(m) && m[0] === "EXIT"
      ) as unknown[];
      assert.equal(tag, "EXIT");
      assert.equal(r, exitWith);
    }
    await assertNoMessages();
  });

  test("a failed startLink() kills a non-trapping caller with the reason", async () => {
    const [, ref] = spawnMonitor(async () => {
      await startLink(server(), "stop");
    });
    assert.equal(await downReason(ref), "stopped");
  });

  test("repeated failing starts give OTP's reasons and release what init owned (loop_start_fail)", async () => {
    let released = 0;
    const owning = (_arg: string): GenServer<null, string> => ({
      init(a) {
        addResource(currentProc(), () => released++);
        return server().init(a) as never;
      },
    });
    for (let i = 0; i < 3; i++) {
      assert.equal(
        await startFails(start(owning("error"), "error")),
        "foobar",
      );
      assert.equal(
        await startFails(start(owning("ignore"), "ignore")),
        "ignore",
      );
      assert.deepEqual(await startFails(start(owning("bad"), "bad")), [
        "bad_return_value",
        4711,
      ]);
      const thrown = await startFails(start(owning("throw"), "throw"));
      assert.ok(thrown instanceof Error && thrown.message === "bailout");
      assert.equal(await startFails(start(owning("exit"), "exit")), "bailout");
    }
    assert.equal(released, 15);
    for (const arg of ["error", "stop", "bad", "throw", "exit"]) {
      await startLink(owning(arg), arg).catch(() => {});
    }
    await flush();
    assert.equal(released, 20);
  });

  test("init slower than the start timeout: the server is killed and start rejects with timeout", async () => {
    await withClock(async (clock) => {
      let ref;
      const starting = startFails(startLink(
        {
          init: async () => {
            ref = monitor(self());
            await receive((m) => m === "never");
            return ["ok", null];
          },
        },
        undefined,
        { timeout: 100 },
      ));
      await clock.advance(100);
      assert.equal(await starting, "timeout");
      void ref;
      // proc_lib flushes the EXIT of the killed server
      await assertNoMessages();
    });
  });

  test("an async init is awaited, and self() works after its awaits", async () => {
    let seen: Pid | undefined;
    const pid = await start({
      init: async () => {
        await new Promise((r) => setTimeout(r, 1));
        seen = self();
        return ["ok", 1];
      },
      handleCall: async (_r, _f, n) => {
        await Promise.resolve();
        return ["reply", [self(), n], n];
      },
    }, undefined);
    assert.equal(seen, pid);
    assert.deepEqual(await call(pid, "who"), [pid, 1]);
    await stop(pid);
  });

  test("start() rejects malformed behaviours and options with TypeError", async () => {
    await assert.rejects(start(null as never, undefined), {
      name: "TypeError",
      message:
        "Cannot start: 'behaviour' must be an object with an init function, got null",
    });
    await assert.rejects(start({} as never, undefined), {
      name: "TypeError",
      message:
        "Cannot start: 'behaviour.init' must be a function, got undefined",
    });
    await assert.rejects(
      start({ init: () => ["ok", 1], handleCall: 3 } as never, undefined),
      {
        name: "TypeError",
        message:
          "Cannot start: 'behaviour.handleCall' must be a function if given, got 3",
      },
    );
    await assert.rejects(
      startLink({ init: () => ["ok", 1] }, undefined, { name: "" }),
      {
        name: "TypeError",
        message: `Cannot startLink: 'name' must be a non-empty string, got ""`,
      },
    );
    await assert.rejects(
      start({ init: () => ["ok", 1] }, undefined, { timeout: -5 }),
      {
        name: "RangeError",
        message:
          "Cannot start: 'timeout' must be a non-negative number or Infinity, got -5",
      },
    );
  });
});

describe("GenServer.call()", () => {
  test("call() returns the reply; a deferred reply() from another process arrives (call)", async () => {
    const pid = await start(server(), undefined);
    assert.equal(await call(pid, "ping"), "pong");
    assert.equal(await call(pid, "delayed"), "delayed");
    await stop(pid);
  });

  test("call() times out with CallError timeout, and the late reply never arrives", async () => {
    await withClock(async (clock) => {
      let pending: From | undefined;
      const pid = await start<null, undefined>({
        init: () => ["ok", null],
        handleCall: (req, from, s) => {
          if (req === "hold") {
            pending = from;
            return ["noreply", s];
          }
          reply(pending!, "too late");
          return ["reply", "released", s];
        },
      }, undefined);
      const held = callFails(call(pid, "hold", { timeout: 1000 }));
      await clock.advance(1000);
      const err = await held;
      assert.equal(err.reason, "timeout");
      assert.ok(err instanceof TimeoutError && err instanceof CallTimeoutError);
      assert.equal(err.code, "timeout");
      assert.equal(
        err.message,
        `Cannot call server ${pid} with "hold": no reply within 1000 ms ("timeout")`,
      );
      assert.deepEqual(err.args, ["hold", 1000]);
      assert.equal(err.server, pid);
      assert.equal(await call(pid, "release"), "released");
      await assertNoMessages();
      await stop(pid);
    });
  });

  test("the default call timeout is 5000 ms", async () => {
    await withClock(async (clock) => {
      const pid = await start<null, undefined>({
        init: () => ["ok", null],
        handleCall: (_r, _f, s) => ["noreply", s],
      }, undefined);
      const held = call(pid, "hold");
      let failed = false;
      held.catch(() => (failed = true));
      await clock.advance(4999);
      assert.equal(failed, false);
      await clock.advance(1);
      assert.equal((await callFails(held)).reason, "timeout");
      await stop(pid);
    });
  });

  test("a bad return from handleCall stops the server and fails the call with ['bad_return_value', v] (call)", async () => {
    const log: Log = [];
    const pid = await start(server(log), undefined);
    const ref = monitor(pid);
    const err = await callFails(call(pid, "badreturn"));
    assert.deepEqual(err.reason, ["bad_return_value", "badreturn"]);
    assert.deepEqual(await downReason(ref), ["bad_return_value", "badreturn"]);
    assert.deepEqual(log, [["terminate", ["bad_return_value", "badreturn"]]]);
  });

  test("call() to a dead pid or an unregistered name fails with noproc (start, Elixir call/3)", async () => {
    const pid = await start(server(), undefined);
    await stop(pid);
    const dead = await callFails(call(pid, "ping"));
    assert.equal(dead.reason, "noproc");
    assert.equal(
      dead.message,
      `Cannot call server ${pid} with "ping": no such process ("noproc")`,
    );
    const named = await callFails(
      call("no_such_server", "ping", { timeout: 10 }),
    );
    assert.equal(named.reason, "noproc");
    assert.deepEqual(named.args, ["ping", 10]);
  });

  test("call() to oneself fails with calling_self, by pid and by name (calling_self)", async () => {
    const [, ref] = spawnMonitor(async (me) => {
      const byPid = await call(me, "x").catch((e) => e);
      const { register } = await import("../process.ts");
      register("calling_self_test", me);
      const byName = await call("calling_self_test", "x").catch((e) => e);
      const stopped = await stop(me).catch((e) => e);
      send(main, [byPid, byName, stopped]);
    });
    const main = self();
    const errors = await receive() as CallError[];
    for (const e of errors) {
      assert.ok(e instanceof CallError);
      assert.equal(e.reason, "calling_self");
    }
    assert.equal(errors[2].operation, "stop");
    await downReason(ref);
  });

  test("a server crash fails the call with the crash reason; linked processes get the EXIT (crash)", async () => {
    for (
      const [request, reason] of [
        ["shutdown_reason", ["shutdown", "reason"]],
        ["exit_shutdown", "shutdown"],
        ["stop_noreply", "stopped"],
        ["crash", "crashed"],
      ] as const
    ) {
      const log: Log = [];
      const pid = await startLink(server(log), undefined);
      const err = await callFails(call(pid, request));
      assert.deepEqual(err.reason, reason);
      assert.deepEqual(await exitReason(pid), reason);
      assert.deepEqual(log, [["terminate", reason]]);
    }
    await assertNoMessages();
  });

  test("a thrown Error becomes the exit reason and the CallError's cause", async () => {
    const boom = new Error("boom");
    const pid = await start<null, undefined>({
      init: () => ["ok", null],
      handleCall: () => {
        throw boom;
      },
    }, undefined);
    const err = await callFails(call(pid, "x"));
    assert.equal(err.reason, boom);
    assert.equal(err.cause, boom);
  });

  test("['stop', reason, reply, state] runs terminate, then replies, then exits", async () => {
    const order: string[] = [];
    const pid = await startLink<null, undefined>({
      init: () => ["ok", null],
      handleCall: (_r, _f, s) => ["stop", "normal", "bye", s],
      terminate: () => {
        order.push("terminate");
      },
    }, undefined);
    const answer = await call(pid, "quit");
    order.push(`reply ${answer}`);
    assert.deepEqual(order, ["terminate", "reply bye"]);
    assert.equal(await exitReason(pid), "normal");
  });

  test("a reply sent before the server dies is returned normally", async () => {
    const pid = await start<null, undefined>({
      init: () => ["ok", null],
      handleCall: (_r, from, _s) => {
        reply(from, "answered");
        throw new ExitError("died after replying");
      },
    }, undefined);
    assert.equal(await call(pid, "x"), "answered");
  });

  test("a caller killed while waiting unwinds with ExitError", async () => {
    const pid = await start<null, undefined>({
      init: () => ["ok", null],
      handleCall: (_r, _f, s) => ["noreply", s],
    }, undefined);
    let seen: unknown;
    const caller = spawn(async () => {
      try {
        await call(pid, "hold", { timeout: Infinity });
      } catch (e) {
        seen = e;
      }
    });
    await settle();
    exit(caller, "kill");
    await settle();
    assert.ok(seen instanceof ExitError);
    assert.equal(seen.reason, "killed");
    await stop(pid);
  });

  test("call() rejects bad arguments", async () => {
    await assert.rejects(call(3 as never, "x"), {
      name: "TypeError",
      message:
        "Cannot call: 'server' must be a Pid or a registered name, got 3",
    });
    await assert.rejects(call("x", "x", { timeout: -1 }), {
      name: "RangeError",
      message:
        "Cannot call: 'timeout' must be a non-negative number or Infinity, got -1",
    });
    assert.throws(() => reply({} as never, 1), {
      name: "TypeError",
      message:
        "Cannot reply: 'from' must be the From given to handleCall, got {}",
    });
  });

  test("one message at a time: an async handleCall finishes before the next message", async () => {
    const order: string[] = [];
    const pid = await start<null, undefined>({
      init: () => ["ok", null],
      handleCall: async (req, _f, s) => {
        order.push(`start ${req}`);
        await new Promise((r) => setTimeout(r, 2));
        order.push(`end ${req}`);
        return ["reply", req, s];
      },
    }, undefined);
    await Promise.all([call(pid, "a"), call(pid, "b")]);
    assert.deepEqual(order, ["start a", "end a", "start b", "end b"]);
    await stop(pid);
  });

  test("from.caller names the calling process", async () => {
    const pid = await start<null, undefined>({
      init: () => ["ok", null],
      handleCall: (_r, from, s) => ["reply", from.caller, s],
    }, undefined);
    assert.equal(await call(pid, "who"), self());
    await stop(pid);
  });
});

describe("GenServer.cast()", () => {
  test("cast() reaches handleCast; stop from handleCast runs terminate (cast)", async () => {
    const log: Log = [];
    const pid = await startLink(server(log), undefined);
    cast(pid, "hello");
    assert.deepEqual(await call(pid, "log"), [["cast", "hello"]]);
    cast(pid, "stop");
    assert.equal(await exitReason(pid), "normal");
    assert.deepEqual(log, [["cast", "hello"], ["terminate", "normal"]]);
  });

  test("cast() to a dead server or an unknown name is silently dropped", async () => {
    const pid = await start(server(), undefined);
    await stop(pid);
    cast(pid, "x");
    cast("nobody_by_that_name", "x");
    assert.throws(() => cast(1 as never, "x"), TypeError);
  });

  test("a delayed cast: the noreply timeout fires handleInfo('timeout') (cast)", async () => {
    await withClock(async (clock) => {
      const seen: unknown[] = [];
      const pid = await start<null, undefined>({
        init: () => ["ok", null],
        handleCast: (_m, s) => ["noreply", s, 100],
        handleInfo: (m, s) => {
          seen.push(m);
          return ["noreply", s];
        },
      }, undefined);
      cast(pid, "arm");
      await clock.advance(99);
      assert.deepEqual(seen, []);
      await clock.advance(1);
      assert.deepEqual(seen, ["timeout"]);
      await stop(pid);
    });
  });

  test("a handleCast that is missing crashes the server", async () => {
    const pid = await start({ init: () => ["ok", null] }, undefined);
    const ref = monitor(pid);
    cast(pid, "x");
    assert.deepEqual(await downReason(ref), ["undef", "handleCast"]);
  });
});

describe("GenServer handleInfo", () => {
  test("plain messages reach handleInfo; stop from it runs terminate (info)", async () => {
    const log: Log = [];
    const pid = await startLink(server(log), undefined);
    send(pid, "hello");
    assert.deepEqual(await call(pid, "log"), [["info", "hello"]]);
    send(pid, "stop");
    assert.equal(await exitReason(pid), "normal");
    assert.deepEqual(log.at(-1), ["terminate", "normal"]);
  });

  test("the noreply timeout: any message cancels it; no message fires it (info, call)", async () => {
    await withClock(async (clock) => {
      const seen: unknown[] = [];
      const pid = await start<null, undefined>({
        init: () => ["ok", null, 1000],
        handleCall: (_r, _f, s) => ["reply", "ok", s, 1000],
        handleInfo: (m, s) => {
          seen.push(m);
          return ["noreply", s];
        },
      }, undefined);
      await clock.advance(500);
      assert.equal(await call(pid, "x"), "ok"); // re-armed for 1000 from now
      await clock.advance(999);
      assert.deepEqual(seen, []);
      await clock.advance(1);
      assert.deepEqual(seen, ["timeout"]);
      send(pid, "plain"); // handleInfo returns no timeout: none armed
      await clock.advance(5000);
      assert.deepEqual(seen, ["timeout", "plain"]);
      await stop(pid);
    });
  });

  test("a timeout of 0 fires only when the mailbox is empty", async () => {
    const seen: unknown[] = [];
    const pid = await start<null, undefined>({
      init: () => ["ok", null],
      handleInfo: (m, s) => {
        seen.push(m);
        return m === "zero" ? ["noreply", s, 0] : ["noreply", s];
      },
    }, undefined);
    send(pid, "zero");
    send(pid, "queued");
    await call(pid, "sync").catch(() => {});
    await settle();
    assert.deepEqual(seen.splice(0), ["zero", "queued"]);
    const pid2 = await start<null, undefined>({
      init: () => ["ok", null],
      handleInfo: (m, s) => {
        seen.push(m);
        return m === "zero" ? ["noreply", s, 0] : ["noreply", s];
      },
    }, undefined);
    send(pid2, "zero");
    await settle();
    assert.deepEqual(seen, ["zero", "timeout"]);
    await stop(pid2);
  });

  test("a server without handleInfo drops the message and lives on (undef_handle_info)", async () => {
    const pid = await start<null, undefined>({
      init: () => ["ok", null],
      handleCall: (_r, _f, s) => ["reply", "alive", s],
    }, undefined);
    const warn = console.warn;
    const warnings: unknown[] = [];
    console.warn = (...args: unknown[]) => warnings.push(args.join(" "));
    // The harness captures reports: put the default console logger back.
    const restoreLogger = setLogger(consoleLogger);
    try {
      send(pid, "unexpected");
      assert.equal(await call(pid, "x"), "alive");
    } finally {
      restoreLogger();
      console.warn = warn;
    }
    assert.equal(warnings.length, 1);
    assert.match(
      String(warnings[0]),
      /no handleInfo; dropped message "unexpected"/,
    );
    await stop(pid);
  });
});

describe("GenServer handleContinue", () => {
  test("continue runs before messages already queued, from init, call, cast and info (continue)", async () => {
    const seen: unknown[] = [];
    const pid = await start<null, undefined>({
      init: () => {
        send(self(), "after_continue");
        return ["ok", null, ["continue", "from_init"]];
      },
      handleCall: (req, _f, s) =>
        req === "noreply_continue"
          ? ["noreply", s, ["continue", "from_call"]]
          : ["reply", "ok", s, ["continue", "from_call"]],
      handleCast: (_m, s) => ["noreply", s, ["continue", "from_cast"]],
      handleInfo: (m, s) => {
        seen.push(m);
        return m === "continue_me"
          ? ["noreply", s, ["continue", "from_info"]]
          : [
            "noreply",
            s,
          ];
      },
      handleContinue: (c, s) => {
        seen.push(c);
        if (c === "chain") return ["noreply", s, ["continue", "chained"]];
        if (c === "stop") return ["stop", "normal", s];
        return ["noreply", s];
      },
    }, undefined);
    assert.equal(await call(pid, "x"), "ok");
    assert.deepEqual(seen.splice(0), [
      "from_init",
      "after_continue",
      "from_call",
    ]);
    cast(pid, "c");
    send(pid, "after");
    await call(pid, "x");
    assert.deepEqual(seen.splice(0), ["from_cast", "after", "from_call"]);
    send(pid, "continue_me");
    send(pid, "after");
    await call(pid, "x");
    assert.deepEqual(seen.splice(0), [
      "continue_me",
      "from_info",
      "after",
      "from_call",
    ]);
    const waiting = call(pid, "noreply_continue", { timeout: Infinity });
    await settle();
    assert.deepEqual(seen.splice(0), ["from_call"]);
    const ref = monitor(pid);
    exit(pid, "kill");
    assert.equal((await callFails(waiting)).reason, "killed");
    await downReason(ref);
  });

  test("continue chains, and ['stop', 'normal', s] from handleContinue stops the server (continue)", async () => {
    const seen: unknown[] = [];
    const pid = await startLink<null, undefined>({
      init: () => ["ok", null, ["continue", "chain"]],
      handleContinue: (c, s) => {
        seen.push(c);
        if (c === "chain") return ["noreply", s, ["continue", "stop"]];
        return ["stop", "normal", s];
      },
    }, undefined);
    assert.equal(await exitReason(pid), "normal");
    assert.deepEqual(seen, ["chain", "stop"]);
  });

  test("a continue action without handleContinue crashes the server", async () => {
    const err = await startLink({
      init: () => ["ok", null, ["continue", 1]],
    }, undefined).then(() => receive()) as unknown[];
    assert.deepEqual(err[2], ["undef", "handleContinue"]);
  });

  test("the old action form { continue: arg } is refused with a TypeError naming ['continue', arg]", async () => {
    const old = { continue: "x" } as unknown as ["continue", unknown];
    const reason = await startFails(start({
      init: () => ["ok", null, old],
      handleContinue: (_c, s) => ["noreply", s],
    }, undefined));
    assert.ok(reason instanceof TypeError, `got ${reason}`);
    assert.match(reason.message, /write \["continue", arg\]/);
    const seen: unknown[] = [];
    const pid = await start<null, undefined>({
      init: () => ["ok", null],
      handleCall: (_r, _f, s) => ["reply", "ok", s, old],
      handleContinue: (c, s) => {
        seen.push(c);
        return ["noreply", s];
      },
    }, undefined);
    const ref = monitor(pid);
    const err = await callFails(call(pid, "x"));
    const down = await downReason(ref);
    assert.equal(err.reason, down);
    assert.ok(down instanceof TypeError, `got ${down}`);
    assert.match(down.message, /Cannot use action \{ continue: "x" \}/);
    assert.deepEqual(seen, []);
  });
});

describe("GenServer.stop() and terminate", () => {
  test("stop() waits for terminate and the exit; a second stop fails with noproc (stop1)", async () => {
    const log: Log = [];
    const pid = await start(server(log), undefined);
    await stop(pid);
    assert.ok(!isAlive(pid));
    assert.deepEqual(log, [["terminate", "normal"]]);
    const err = await callFails(stop(pid));
    assert.equal(err.reason, "noproc");
    assert.equal(err.operation, "stop");
    assert.equal(
      err.message,
      `Cannot stop server ${pid} with "normal": no such process ("noproc")`,
    );
  });

  test("stop() with another reason; by registered name (stop2, stop4)", async () => {
    const log: Log = [];
    await start(server(log), undefined, { name: "to_stop" });
    const ref = monitor("to_stop");
    await stop("to_stop", "shutdown");
    assert.equal(await downReason(ref), "shutdown");
    assert.deepEqual(log, [["terminate", "shutdown"]]);
    assert.equal((await callFails(stop("to_stop"))).reason, "noproc");
  });

  test("stop() with a bad timeout throws and leaves the server alive (stop3)", async () => {
    const pid = await start(server(), undefined);
    await assert.rejects(stop(pid, "normal", { timeout: -1 }), RangeError);
    await assert.rejects(stop(pid, "normal", { timeout: "soon" as never }), {
      name: "TypeError",
      message:
        `Cannot stop: 'timeout' must be a non-negative number or Infinity, got "soon"`,
    });
    assert.ok(isAlive(pid));
    await stop(pid);
  });

  test("stop() times out if terminate takes too long", async () => {
    await withClock(async (clock) => {
      const pid = await start<null, undefined>({
        init: () => ["ok", null],
        terminate: () => receive((m) => m === "never"),
      }, undefined);
      const stopping = callFails(stop(pid, "normal", { timeout: 50 }));
      await clock.advance(50);
      assert.equal((await stopping).reason, "timeout");
      exit(pid, "kill");
    });
  });

  test("stop() fails with the other reason when terminate throws", async () => {
    const pid = await start<null, undefined>({
      init: () => ["ok", null],
      terminate: () => {
        throw new ExitError({ crash: "terminate" });
      },
    }, undefined);
    const err = await callFails(stop(pid));
    assert.deepEqual(err.reason, { crash: "terminate" });
  });

  test("terminate is not called when the server is killed", async () => {
    const log: Log = [];
    const pid = await start(server(log), "trap");
    const ref = monitor(pid);
    exit(pid, "kill");
    assert.equal(await downReason(ref), "killed");
    assert.deepEqual(log, []);
  });

  test("a non-trapping server killed by an exit signal does not run terminate", async () => {
    const log: Log = [];
    const pid = await start(server(log), undefined);
    const ref = monitor(pid);
    exit(pid, "shutdown");
    assert.equal(await downReason(ref), "shutdown");
    assert.deepEqual(log, []);
  });

  test("a trapping server stops with terminate(reason) when its parent exits", async () => {
    const log: Log = [];
    let serverPid: Pid | undefined;
    const [parent, parentRef] = spawnMonitor(async () => {
      serverPid = await startLink(server(log), "trap");
      send(main, "started");
      await forever();
    });
    const main = self();
    await receive((m) => m === "started");
    const ref = monitor(serverPid!);
    exit(parent, "shutdown");
    assert.equal(await downReason(parentRef), "shutdown");
    assert.equal(await downReason(ref), "shutdown");
    assert.deepEqual(log, [["terminate", "shutdown"]]);
  });

  test("a trapping server gets EXIT from a non-parent link in handleInfo", async () => {
    const log: Log = [];
    const pid = await start(server(log), "trap");
    const [other, otherRef] = spawnMonitor(forever);
    const { linkProcs, procOf } = await import("../_runtime.ts");
    linkProcs(procOf(pid), procOf(other));
    exit(other, "boom");
    await downReason(otherRef);
    assert.deepEqual(await call(pid, "log"), [["info", [
      "EXIT",
      other,
      "boom",
    ]]]);
    await stop(pid);
  });

  test("async terminate is awaited before the exit", async () => {
    const order: string[] = [];
    const pid = await start<null, undefined>({
      init: () => ["ok", null],
      terminate: async () => {
        await new Promise((r) => setTimeout(r, 1));
        order.push("terminated");
      },
    }, undefined);
    await stop(pid);
    order.push("stopped");
    assert.deepEqual(order, ["terminated", "stopped"]);
  });
});

describe("disposal", () => {
  test("Pid[Symbol.asyncDispose] stops a gen_server with shutdown (terminate runs); twice is fine", async () => {
    const log: Log = [];
    const pid = await start(server(log), undefined);
    await pid[Symbol.asyncDispose]();
    assert.ok(!isAlive(pid));
    assert.deepEqual(log, [["terminate", "shutdown"]]);
    await pid[Symbol.asyncDispose]();
    assert.deepEqual(log, [["terminate", "shutdown"]]);
  });

  test("Pid[Symbol.asyncDispose] kills a plain process", async () => {
    const [pid, ref] = spawnMonitor(forever);
    await pid[Symbol.asyncDispose]();
    assert.ok(!isAlive(pid));
    assert.equal(await downReason(ref), "killed");
  });
});

describe("error messages", () => {
  test("StartError and ExitError name the reason", async () => {
    const err = await start(server(), "stop").catch((e) => e);
    assert.ok(err instanceof StartError);
    assert.equal(err.name, "StartError");
    assert.equal(err.message, `Cannot start GenServer: it failed ("stopped")`);
    const exitError = new ExitError({ shutdown: "bye" });
    assert.equal(exitError.message, `process exit: { shutdown: "bye" }`);
    const thrown = await start(server(), "throw").catch((e) => e);
    assert.equal(
      thrown.message,
      "Cannot start GenServer: it failed (Error: bailout)",
    );
    assert.equal(thrown.cause, thrown.reason);
  });
});

/** A server that never answers a call (tests of waits that end early). */
const silent: GenServer<null, undefined> = {
  init: () => ["ok", null],
  handleCall: (_r, _f, s) => ["noreply", s],
};

describe("every gen_server timeout is a TimeoutError", () => {
  test("a call timeout is a CallTimeoutError: TimeoutError and CallError at once", async () => {
    await withClock(async (clock) => {
      const pid = await start(silent, undefined, { name: "silent" });
      const p = call("silent", "hold", { timeout: 250 }).catch((e) => e);
      await clock.advance(250);
      const err = await p;
      assert.ok(err instanceof TimeoutError);
      assert.ok(err instanceof CallError);
      assert.ok(err instanceof CallTimeoutError);
      assert.ok(!(err instanceof StartError));
      assert.equal(err.name, "CallTimeoutError");
      assert.equal(err.code, "timeout");
      assert.equal(err.reason, "timeout");
      assert.equal(err.timeout, 250);
      assert.equal(err.operation, "call");
      assert.equal(err.server, "silent");
      assert.deepEqual(err.args, ["hold", 250]);
      assert.equal(
        err.message,
        `Cannot call server "silent" with "hold": no reply within 250 ms ("timeout")`,
      );
      await stop(pid);
    });
  });

  test("a stop timeout is a CallTimeoutError naming the stop", async () => {
    await withClock(async (clock) => {
      const pid = await start<null, undefined>({
        init: () => ["ok", null],
        terminate: () => receive((m) => m === "go"),
      }, undefined);
      const p = stop(pid, "normal", { timeout: 50 }).catch((e) => e);
      await clock.advance(50);
      const err = await p;
      assert.ok(err instanceof TimeoutError && err instanceof CallError);
      assert.equal(err.operation, "stop");
      assert.deepEqual(err.args, ["normal", 50]);
      assert.equal(err.timeout, 50);
      const ref = monitor(pid);
      send(pid, "go");
      assert.equal(await downReason(ref), "normal");
    });
  });

  test("a start timeout is a StartTimeoutError: TimeoutError and StartError at once", async () => {
    await withClock(async (clock) => {
      let server: Pid | undefined;
      const p = start(
        {
          init: async () => {
            server = self();
            await receive((m) => m === "never");
            return ["ok", null];
          },
        },
        undefined,
        { timeout: 100 },
      ).catch((e) => e);
      await clock.advance(100);
      const err = await p;
      assert.ok(err instanceof TimeoutError);
      assert.ok(err instanceof StartError);
      assert.ok(err instanceof StartTimeoutError);
      assert.ok(!(err instanceof CallError));
      assert.equal(err.name, "StartTimeoutError");
      assert.equal(err.code, "timeout");
      assert.equal(err.reason, "timeout");
      assert.equal(err.timeout, 100);
      assert.equal(
        err.message,
        `Cannot start GenServer: its init did not return within 100 ms ("timeout")`,
      );
      assert.ok(!isAlive(server!));
    });
  });

  test("CallError and StartError carry a code; other errors are not taken for timeouts", async () => {
    const noproc = await callFails(call("nobody", "x"));
    assert.equal(noproc.code, "noproc");
    assert.ok(!(noproc instanceof TimeoutError));
    const pid = await start(server(), undefined, { name: "coded" });
    const exited = await callFails(call(pid, "crash"));
    assert.equal(exited.code, "exited");
    assert.equal(exited.reason, "crashed");
    const selfCall = await start<null, undefined>({
      init: () => ["ok", null],
      handleCall: async (_r, _f, s) => {
        const e = await callFails(call(self(), "again"));
        return ["reply", [e.code, e.reason], s];
      },
    }, undefined);
    assert.deepEqual(await call(selfCall, "go"), [
      "calling_self",
      "calling_self",
    ]);
    await stop(selfCall);
    const codes = [];
    for (const arg of ["ignore", "stop", "bad"]) {
      const e = await start(server(), arg).catch((e) => e);
      assert.ok(e instanceof StartError && !(e instanceof TimeoutError));
      codes.push(e.code);
    }
    assert.deepEqual(codes, ["ignore", "failed", "failed"]);
    const other = await start(server(), undefined, { name: "taken" });
    const taken = await start(server(), undefined, { name: "taken" }).catch((
      e,
    ) => e);
    assert.equal(taken.code, "already_started");
    await stop(other);
    // instanceof stays exact otherwise
    assert.ok(!(new TimeoutError("t", 1) instanceof CallError));
    assert.ok(!(new TimeoutError("t", 1) instanceof StartError));
    assert.ok(
      !(new CallTimeoutError("call", "x", [], 1) instanceof StartError),
    );
    assert.ok(!(new StartTimeoutError(1) instanceof CallError));
    assert.ok(!(new StartTimeoutError(1) instanceof CallTimeoutError));
    class MyCallError extends CallError {}
    assert.ok(new MyCallError("noproc", "call", "x", []) instanceof CallError);
    assert.ok(
      !(new CallTimeoutError("call", "x", [], 1) instanceof MyCallError),
    );
    assert.ok(
      !(new CallError("noproc", "call", "x", []) instanceof MyCallError),
    );
    const nothing: unknown = null;
    const three: unknown = 3;
    assert.ok(
      !(nothing instanceof CallError) && !(three instanceof StartError),
    );
  });
});

describe("gen_server options and behaviours are checked", () => {
  test("unknown option keys are refused, naming the key and the known ones", async () => {
    await assert.rejects(
      start(server(), undefined, { tmeout: 5 } as never),
      {
        name: "TypeError",
        message:
          'Cannot start: unknown option "tmeout" (known: name, timeout, signal, label)',
      },
    );
    await assert.rejects(
      startLink(server(), undefined, { nmae: "x" } as never),
      {
        name: "TypeError",
        message:
          'Cannot startLink: unknown option "nmae" (known: name, timeout, signal, label)',
      },
    );
    const pid = await start(server(), undefined);
    await assert.rejects(call(pid, "ping", { timout: 5 } as never), {
      name: "TypeError",
      message: 'Cannot call: unknown option "timout" (known: timeout, signal)',
    });
    await assert.rejects(stop(pid, "normal", { timout: 5 } as never), {
      name: "TypeError",
      message: 'Cannot stop: unknown option "timout" (known: timeout, signal)',
    });
    await assert.rejects(call(pid, "ping", 5000 as never), {
      name: "TypeError",
      message: "Cannot call: 'options' must be an object, got 5000",
    });
    await assert.rejects(stop(pid, "normal", "soon" as never), {
      name: "TypeError",
      message: `Cannot stop: 'options' must be an object, got "soon"`,
    });
    // Refused before anything was sent: the server is alive, its log empty.
    assert.ok(isAlive(pid));
    assert.deepEqual(await call(pid, "log"), []);
    await stop(pid);
  });

  test("hostile options and behaviours reject, never throw, and leave the server serving", async () => {
    const boom = () => {
      throw new Error("trap");
    };
    const hostile = new Proxy({}, {
      ownKeys: boom,
      get: boom,
      has: boom,
      getPrototypeOf: boom,
    });
    const pid = await start(server(), undefined);
    const attempts = [
      () => call(pid, "ping", hostile as never),
      () => stop(pid, "normal", hostile as never),
      () => start(hostile as never, undefined),
      () => start(server(), undefined, hostile as never),
      () =>
        call(pid, "ping", {
          signal: new Proxy(new AbortController().signal, {
            getPrototypeOf: boom,
          }) as never,
        }),
    ];
    for (const attempt of attempts) {
      let p: Promise<unknown> | undefined;
      assert.doesNotThrow(() => (p = attempt()));
      await assert.rejects(p!, { message: "trap" });
    }
    assert.equal(await call(pid, "ping"), "pong");
    await stop(pid);
  });

  test("a wrong signal is a TypeError naming it", async () => {
    const pid = await start(server(), undefined);
    for (
      const [op, p] of [
        ["call", call(pid, "ping", { signal: "stop" as never })],
        ["stop", stop(pid, "normal", { signal: {} as never })],
        ["start", start(server(), undefined, { signal: 1 as never })],
      ] as const
    ) {
      await assert.rejects(p, {
        name: "TypeError",
        message: new RegExp(`^Cannot ${op}: 'signal' must be an AbortSignal`),
      });
    }
    assert.ok(isAlive(pid));
    await stop(pid);
  });

  test("a behaviour key that is not a callback (a typo) is refused, naming the known ones", async () => {
    let ran = false;
    await assert.rejects(
      start({
        init: () => {
          ran = true;
          return ["ok", 0];
        },
        handelCall: () => ["reply", 1, 0],
      } as never, undefined),
      {
        name: "TypeError",
        message:
          'Cannot start: unknown behaviour key "handelCall" (known: init, handleCall, handleCast, handleInfo, handleContinue, terminate, formatStatus)',
      },
    );
    await assert.rejects(
      startLink({ init: () => ["ok", 0], terminte: () => {} } as never, 1),
      { name: "TypeError", message: /unknown behaviour key "terminte"/ },
    );
    assert.equal(ran, false);
    // Methods of a class instance live on its prototype: accepted.
    class Counter {
      init(n: number) {
        return ["ok", n] as const;
      }
      handleCall(_r: unknown, _f: From, n: number) {
        return ["reply", n, n] as const;
      }
    }
    const pid = await start(new Counter(), 7);
    assert.equal(await call(pid, "get"), 7);
    await stop(pid);
  });
});

describe("gen_server waits take an AbortSignal", () => {
  test("call: an abort after delivery rejects with the signal's reason and drops the late reply", async () => {
    await withClock(async () => {
      let pending: From | undefined;
      const pid = await start<null, undefined>({
        init: () => ["ok", null],
        handleCall: (req, from, s) => {
          if (req === "hold") {
            pending = from;
            return ["noreply", s];
          }
          reply(pending!, "too late");
          return ["reply", "released", s];
        },
      }, undefined);
      const controller = new AbortController();
      const held = call(pid, "hold", { signal: controller.signal }).catch((
        e,
      ) => ["rejected", e]);
      await settle();
      assert.ok(pending !== undefined, "the request was delivered");
      const why = new Error("user gave up");
      controller.abort(why);
      assert.deepEqual(await held, ["rejected", why]);
      // The server replies to the abandoned call: nothing arrives anywhere.
      assert.equal(await call(pid, "release"), "released");
      await assertNoMessages();
      await stop(pid);
    });
  });

  test("call: an already aborted signal rejects at once and sends nothing", async () => {
    await withClock(async () => {
      let served = 0;
      const pid = await start<null, undefined>({
        init: () => ["ok", null],
        handleCall: (_r, _f, s) => {
          served++;
          return ["reply", "ok", s];
        },
      }, undefined);
      const err = await call<Error>(pid, "x", { signal: AbortSignal.abort() })
        .catch((e) => e);
      assert.equal(err.name, "AbortError");
      assert.equal(await call(pid, "y"), "ok");
      assert.equal(served, 1);
      await stop(pid);
    });
  });

  test("call: a signal that aborts after the reply changes nothing; the timeout still applies", async () => {
    await withClock(async (clock) => {
      const pid = await start(server(), undefined);
      const controller = new AbortController();
      assert.equal(
        await call(pid, "ping", { signal: controller.signal }),
        "pong",
      );
      controller.abort("late");
      // A signal that never aborts: the timeout ends the wait, as a timeout.
      const quiet = await start(silent, undefined);
      const p = call(quiet, "hold", {
        timeout: 10,
        signal: new AbortController().signal,
      }).catch((e) => e);
      await clock.advance(10);
      assert.ok((await p) instanceof CallTimeoutError);
      await stop(quiet);
      await stop(pid);
    });
  });

  test("start: an abort during init kills the half-started server, frees its name and leaves no EXIT", async () => {
    await withClock(async () => {
      for (const link of [false, true]) {
        let server: Pid | undefined;
        const controller = new AbortController();
        const starting = (link ? startLink : start)(
          {
            init: async () => {
              server = self();
              await receive((m) => m === "never");
              return ["ok", null];
            },
          },
          undefined,
          { name: "slow", signal: controller.signal },
        )
          .catch((e) => ["rejected", e]);
        await settle();
        assert.equal(whereis("slow"), server);
        const ref = monitor(server!);
        controller.abort("cancelled");
        assert.deepEqual(await starting, ["rejected", "cancelled"]);
        assert.equal(await downReason(ref), "killed");
        assert.equal(whereis("slow"), undefined);
        await assertNoMessages(); // main traps exits: no EXIT was left
      }
    });
  });

  test("start: an already aborted signal starts nothing; an abort after init changes nothing", async () => {
    await withClock(async () => {
      let inits = 0;
      const b: GenServer<null, undefined> = {
        init: () => {
          inits++;
          return ["ok", null];
        },
      };
      const err = await start(b, undefined, {
        signal: AbortSignal.abort("no"),
      }).catch((e) => e);
      assert.equal(err, "no");
      assert.equal(inits, 0);
      const controller = new AbortController();
      const pid = await startLink(b, undefined, { signal: controller.signal });
      controller.abort("too late");
      await settle();
      assert.ok(isAlive(pid));
      await stop(pid);
      assert.equal(await exitReason(pid), "normal");
      await assertNoMessages();
    });
  });

  test("start: an init that aborts its own start's signal is killed like any other", async () => {
    await withClock(async () => {
      for (const asyncInit of [false, true]) {
        const controller = new AbortController();
        let server: Pid | undefined;
        const result = await startLink(
          {
            init: asyncInit
              ? async () => {
                server = self();
                await Promise.resolve();
                controller.abort("mine");
                return ["ok", 1];
              }
              : () => {
                server = self();
                controller.abort("mine");
                return ["ok", 1];
              },
          },
          undefined,
          { signal: controller.signal },
        ).catch((e) => [
          "rejected",
          e,
        ]);
        assert.deepEqual(result, ["rejected", "mine"]);
        assert.ok(!isAlive(server!));
      }
      await assertNoMessages();
    });
  });

  test("stop: an abort ends the wait with the signal's reason; the server still stops", async () => {
    await withClock(async () => {
      const pid = await start<null, undefined>({
        init: () => ["ok", null],
        terminate: () => receive((m) => m === "go"),
      }, undefined);
      const ref = monitor(pid);
      const controller = new AbortController();
      const stopping = stop(pid, "normal", { signal: controller.signal })
        .catch((e) => ["rejected", e]);
      await settle();
      controller.abort("impatient");
      assert.deepEqual(await stopping, ["rejected", "impatient"]);
      assert.ok(isAlive(pid));
      send(pid, "go");
      assert.equal(await downReason(ref), "normal");
      await assertNoMessages();
    });
  });
});
