// Timers bound to processes (timer.ts): erlang:send_after / start_timer /
// cancel_timer / read_timer and timer:send_interval / exit_after /
// kill_after / apply_after, with Steward's ownership rule (a timer dies with
// the process that started it, and with the pid it aims at). Every test runs
// on a VirtualClock and checks that no clock timer is left behind.
import { describe, test } from "./_harness.ts";
import assert from "node:assert/strict";
import {
  applyAfter,
  cancelTimer,
  exitAfter,
  killAfter,
  readTimer,
  sendAfter,
  sendInterval,
  startTimer,
} from "../timer.ts";
import {
  exit,
  isAlive,
  link,
  type Pid,
  receive,
  Ref,
  register,
  self,
  send,
  spawn,
  spawnLink,
  spawnMonitor,
  trapExit,
  unregister,
} from "../process.ts";
import { ExitError } from "../errors.ts";
import * as GenServer from "../gen_server.ts";
import {
  assertNoMessages,
  cleanup,
  downReason,
  exitReason,
  flush,
  forever,
  isDown,
  next,
  settle,
  withClock,
} from "./_helpers.ts";

/** The main process (tests run as main, which traps exits). */
const mainPid = self();

/** A process that waits forever, and a monitor on it. */
function idle(): [Pid, Ref] {
  return spawnMonitor(forever);
}

/**
 * Spawns a process that runs `setup` (which starts timers as that process),
 * sends main what it returned, then waits until it is sent "return".
 */
async function owner<T>(setup: () => T): Promise<[Pid, Ref, T]> {
  const main = self();
  const [pid, ref] = spawnMonitor(async () => {
    send(main, ["setup", setup()]);
    await receive((m) => m === "return");
  });
  const m = await receive((m) => Array.isArray(m) && m[0] === "setup");
  return [pid, ref, (m as [string, T])[1]];
}

describe("sendAfter()", () => {
  test("sendAfter() delivers the message after ms, not before", async () => {
    await withClock(async (clock) => {
      const ref = sendAfter(100, self(), "hello");
      assert.ok(ref instanceof Ref);
      await clock.advance(99);
      await assertNoMessages();
      assert.equal(readTimer(ref), 1);
      await clock.advance(1);
      assert.equal(await next(), "hello");
      assert.equal(readTimer(ref), false);
      assert.equal(cancelTimer(ref), false);
    });
  });

  test("sendAfter() of 0 ms fires on a later turn, never inside the call", async () => {
    await withClock(async (clock) => {
      sendAfter(0, self(), "now");
      await settle();
      await assertNoMessages();
      await clock.advance(0);
      assert.equal(await next(), "now");
    });
  });

  test("timers fire in deadline order, ties in start order", async () => {
    await withClock(async (clock) => {
      sendAfter(20, self(), "c");
      sendAfter(10, self(), "a");
      sendAfter(10, self(), "b");
      sendAfter(30, self(), "d");
      await clock.advance(30);
      assert.deepEqual(await flush(), ["a", "b", "c", "d"]);
    });
  });

  test("sendAfter() to a name looks it up when it fires; nobody there: dropped", async () => {
    await withClock(async (clock) => {
      const name = "timer_test_named";
      const dropped = sendAfter(10, name, "to nobody");
      await clock.advance(10);
      assert.equal(readTimer(dropped), false);

      sendAfter(10, name, "to whoever");
      register(name, self()); // registered after the timer started
      try {
        await clock.advance(10);
        assert.equal(await next(), "to whoever");
      } finally {
        unregister(name);
      }
      await assertNoMessages();
    });
  });

  test("sendAfter() of Infinity never fires and costs no clock timer", async () => {
    await withClock(async (clock) => {
      const ref = sendAfter(Infinity, self(), "never");
      assert.equal(clock.pending, 0);
      assert.equal(readTimer(ref), Infinity);
      await clock.advance(1e12);
      await assertNoMessages();
      assert.equal(cancelTimer(ref), Infinity);
      assert.equal(readTimer(ref), false);
    });
  });

  test("sendAfter() of 1e308 is one clock timer; runAll jumps there without looping", async () => {
    await withClock(async (clock) => {
      const ref = sendAfter(1e308, self(), "at last");
      assert.equal(clock.pending, 1);
      await clock.advance(1e15);
      await assertNoMessages();
      assert.equal(readTimer(ref), 1e308 - 1e15);
      await clock.runAll(3);
      assert.equal(await next(), "at last");
      assert.equal(clock.now(), 1e308);
    });
  });

  test("sendAfter() is cancelled when the destination pid dies", async () => {
    await withClock(async (clock) => {
      const [pid, mref] = idle();
      const ref = sendAfter(100, pid, "too late");
      assert.equal(readTimer(ref), 100);
      exit(pid, "kill");
      assert.equal(readTimer(ref), false);
      assert.equal(cancelTimer(ref), false);
      assert.equal(await downReason(mref), "killed");
      await clock.advance(100);
    });
  });

  test("sendAfter() to a dead pid is cancelled at once", async () => {
    await withClock(async () => {
      const [pid, mref] = spawnMonitor(() => {});
      assert.equal(await downReason(mref), "normal");
      const ref = sendAfter(100, pid, "nobody home");
      assert.ok(ref instanceof Ref);
      assert.equal(readTimer(ref), false);
    });
  });

  test("a timer dies with the process that started it (killed, crashed or normal)", async () => {
    await withClock(async (clock) => {
      const main = self();
      for (
        const [end, reason] of [
          [(pid: Pid) => exit(pid, "kill"), "killed"],
          [(pid: Pid) => exit(pid, "crash"), "crash"],
          [(pid: Pid) => send(pid, "return"), "normal"],
        ] as const
      ) {
        const [pid, mref, refs] = await owner(() => [
          sendAfter(50, main, "from a dead owner"),
          startTimer(50, main, "nor this"),
          sendInterval(10, main, "nor these"),
          exitAfter(50, main, "nor this signal"),
          applyAfter(50, () => send(main, "nor this call")),
        ]);
        for (const ref of refs) assert.ok(readTimer(ref) !== false);
        end(pid);
        assert.equal(await downReason(mref), reason);
        for (const ref of refs) assert.equal(readTimer(ref), false);
        await clock.advance(100);
        await assertNoMessages();
      }
    });
  });

  test("a timer started by a body that returns dies with it at once", async () => {
    await withClock(async (clock) => {
      const main = self();
      let ref: Ref | undefined;
      const [, mref] = spawnMonitor(() => {
        ref = sendAfter(10, main, "never");
      });
      assert.equal(await downReason(mref), "normal");
      assert.equal(readTimer(ref!), false);
      await clock.advance(10);
      await assertNoMessages();
    });
  });

  test("sendAfter() from one process to another: delivered while both live", async () => {
    await withClock(async (clock) => {
      const main = self();
      const [pid, , ref] = await owner(() => sendAfter(30, main, "ping"));
      await clock.advance(30);
      assert.equal(await next(), "ping");
      assert.equal(readTimer(ref), false);
      await cleanup(pid);
    });
  });
});

describe("startTimer()", () => {
  test("startTimer() delivers ['timeout', ref, message]", async () => {
    await withClock(async (clock) => {
      const ref = startTimer(40, self(), { job: 1 });
      await clock.advance(40);
      const m = await next() as unknown[];
      assert.equal(m.length, 3);
      assert.equal(m[0], "timeout");
      assert.equal(m[1], ref);
      assert.deepEqual(m[2], { job: 1 });
      assert.equal(cancelTimer(ref), false);
    });
  });

  test("a cancelled startTimer() leaves only the current timeout to arrive", async () => {
    await withClock(async (clock) => {
      const stale = startTimer(50, self(), "tick");
      assert.equal(cancelTimer(stale), 50);
      const current = startTimer(50, self(), "tick");
      await clock.advance(50);
      const m = await next() as unknown[];
      assert.equal(m[1], current);
      await assertNoMessages();
    });
  });

  test("startTimer() is cancelled when the destination dies", async () => {
    await withClock(async (clock) => {
      const [pid, mref] = idle();
      const ref = startTimer(10, pid, "x");
      exit(pid, "shutdown");
      assert.equal(await downReason(mref), "shutdown");
      assert.equal(readTimer(ref), false);
      await clock.advance(10);
    });
  });
});

describe("cancelTimer() and readTimer()", () => {
  test("they return the time left, then false once cancelled or fired", async () => {
    await withClock(async (clock) => {
      const a = sendAfter(1000, self(), "a");
      const b = sendAfter(300, self(), "b");
      await clock.advance(250);
      assert.equal(readTimer(a), 750);
      assert.equal(readTimer(b), 50);
      assert.equal(cancelTimer(a), 750);
      assert.equal(readTimer(a), false);
      assert.equal(cancelTimer(a), false);
      await clock.advance(50);
      assert.equal(await next(), "b");
      assert.equal(readTimer(b), false);
      assert.equal(cancelTimer(b), false);
      await clock.advance(1000);
      await assertNoMessages();
    });
  });

  test("a ref that names no timer reads false", async () => {
    await withClock(async () => {
      const [pid, mref] = idle();
      assert.equal(readTimer(mref), false);
      assert.equal(cancelTimer(mref), false);
      await cleanup(pid);
    });
  });

  test("any process holding the ref may cancel the timer", async () => {
    await withClock(async (clock) => {
      const ref = sendAfter(100, self(), "cancelled by another");
      const main = self();
      await clock.advance(10);
      spawn(() => send(main, ["left", cancelTimer(ref)]));
      assert.deepEqual(await next(), ["left", 90]);
      await clock.advance(100);
      await assertNoMessages();
    });
  });

  test("they reject a non-Ref with a TypeError naming the argument", () => {
    assert.throws(() => cancelTimer(42 as never), {
      name: "TypeError",
      message: "Cannot cancelTimer: 'ref' must be a Ref, got 42",
    });
    assert.throws(() => readTimer("ref" as never), {
      name: "TypeError",
      message: "Cannot readTimer: 'ref' must be a Ref, got \"ref\"",
    });
  });
});

describe("sendInterval()", () => {
  test("sendInterval() sends every ms until cancelled; readTimer() is the time to the next tick", async () => {
    await withClock(async (clock) => {
      const ref = sendInterval(100, self(), "tick");
      await clock.advance(99);
      await assertNoMessages();
      await clock.advance(1);
      assert.deepEqual(await flush(), ["tick"]);
      await clock.advance(250);
      assert.deepEqual(await flush(), ["tick", "tick"]);
      assert.equal(readTimer(ref), 50);
      assert.equal(cancelTimer(ref), 50);
      await clock.advance(1000);
      await assertNoMessages();
    });
  });

  test("sendInterval() does not drift: ticks stay on the ms grid", async () => {
    await withClock(async (clock) => {
      const seen: number[] = [];
      const [pid] = await owner(() => {
        // Each tick is sent to a process that records when it got it.
        const recorder = spawnLink(async () => {
          for (;;) {
            await receive((m) => m === "tick");
            seen.push(clock.now());
          }
        });
        return [recorder, sendInterval(30, recorder, "tick")];
      });
      await clock.advance(125);
      assert.deepEqual(seen, [30, 60, 90, 120]);
      exit(pid, "kill"); // the interval and the linked recorder go with it
      await clock.advance(100);
      assert.deepEqual(seen, [30, 60, 90, 120]);
      await flush();
    });
  });

  test("sendInterval() stops when its owner dies", async () => {
    await withClock(async (clock) => {
      const main = self();
      const [pid, mref, ref] = await owner(() =>
        sendInterval(10, main, "beat")
      );
      await clock.advance(20);
      assert.deepEqual(await flush(), ["beat", "beat"]);
      exit(pid, "kill");
      assert.equal(await downReason(mref), "killed");
      assert.equal(readTimer(ref), false);
      await clock.advance(100);
      await assertNoMessages();
    });
  });

  test("sendInterval() stops when the destination pid dies", async () => {
    await withClock(async (clock) => {
      const [pid, mref] = idle();
      const ref = sendInterval(10, pid, "beat");
      await clock.advance(25);
      assert.equal(readTimer(ref), 5);
      exit(pid, "kill");
      assert.equal(await downReason(mref), "killed");
      assert.equal(readTimer(ref), false);
      await clock.advance(100);
    });
  });

  test("sendInterval() to a name skips ticks while nobody holds it, and goes on", async () => {
    await withClock(async (clock) => {
      const name = "timer_test_interval";
      const ref = sendInterval(10, name, "beat");
      await clock.advance(20); // two ticks to nobody
      register(name, self());
      try {
        await clock.advance(20);
        assert.deepEqual(await flush(), ["beat", "beat"]);
      } finally {
        unregister(name);
      }
      await clock.advance(10);
      await assertNoMessages();
      assert.equal(cancelTimer(ref), 10);
    });
  });

  test("sendInterval() of Infinity never ticks", async () => {
    await withClock(async (clock) => {
      const ref = sendInterval(Infinity, self(), "never");
      assert.equal(clock.pending, 0);
      await clock.advance(1e9);
      await assertNoMessages();
      assert.equal(cancelTimer(ref), Infinity);
    });
  });

  test("sendInterval() refuses 0 ms with a RangeError", () => {
    assert.throws(() => sendInterval(0, self(), "flood"), {
      name: "RangeError",
      message:
        "Cannot sendInterval: 'ms' must be a positive number or Infinity, got 0",
    });
  });
});

describe("exitAfter() and killAfter()", () => {
  test("exitAfter() ends a target that does not trap exits with the reason", async () => {
    await withClock(async (clock) => {
      const [pid, mref] = idle();
      const ref = exitAfter(100, pid, "too slow");
      await clock.advance(99);
      assert.ok(isAlive(pid));
      await clock.advance(1);
      assert.equal(await downReason(mref), "too slow");
      assert.equal(readTimer(ref), false);
    });
  });

  test("exitAfter() to a trapping target delivers ['EXIT', owner, reason]", async () => {
    await withClock(async (clock) => {
      const main = self();
      const target = spawn(async () => {
        trapExit(true);
        send(main, "trapping");
        const m = await receive((m) => Array.isArray(m) && m[0] === "EXIT");
        send(main, ["got", m]);
      });
      assert.equal(await receive((m) => m === "trapping"), "trapping");
      const [pid] = await owner(() => exitAfter(10, target, "stop please"));
      await clock.advance(10);
      assert.deepEqual(
        await receive((m) => Array.isArray(m) && m[0] === "got"),
        ["got", ["EXIT", pid, "stop please"]],
      );
      await cleanup(pid, target);
    });
  });

  test("exitAfter(ms, self(), 'normal') ends the owner, as exit(self(), 'normal')", async () => {
    await withClock(async (clock) => {
      const [pid, mref] = await owner(() => exitAfter(10, self(), "normal"));
      await clock.advance(10);
      assert.equal(await downReason(mref), "normal");
      assert.equal(isAlive(pid), false);
    });
  });

  test("exitAfter() with 'normal' does not end another process", async () => {
    await withClock(async (clock) => {
      const [target, mref] = idle();
      exitAfter(10, target, "normal");
      await clock.advance(10);
      assert.ok(isAlive(target));
      exit(target, "kill");
      assert.equal(await downReason(mref), "killed");
    });
  });

  test("killAfter() kills a trapping target with 'killed'", async () => {
    await withClock(async (clock) => {
      const [pid, mref] = spawnMonitor(async () => {
        trapExit(true);
        await forever();
      });
      await settle();
      killAfter(5, pid);
      await clock.advance(5);
      assert.equal(await downReason(mref), "killed");
    });
  });

  test("exitAfter() is cancelled when the target dies first, and when its owner dies", async () => {
    await withClock(async (clock) => {
      const [target, tref] = idle();
      const ref = exitAfter(50, target, "late");
      exit(target, "kill");
      assert.equal(await downReason(tref), "killed");
      assert.equal(readTimer(ref), false);

      const [survivor, sref] = idle();
      const [pid, mref, ref2] = await owner(() => killAfter(50, survivor));
      exit(pid, "kill");
      assert.equal(await downReason(mref), "killed");
      assert.equal(readTimer(ref2), false);
      await clock.advance(100);
      assert.ok(isAlive(survivor));
      exit(survivor, "kill");
      assert.equal(await downReason(sref), "killed");
    });
  });

  test("exitAfter() to a name signals whoever holds it when it fires", async () => {
    await withClock(async (clock) => {
      const name = "timer_test_exit";
      const [pid, mref] = idle();
      exitAfter(10, name, "by name");
      register(name, pid);
      await clock.advance(10);
      assert.equal(await downReason(mref), "by name");
    });
  });
});

describe("applyAfter()", () => {
  test("applyAfter() calls fn(...args) as the process that started it (sync callback)", async () => {
    await withClock(async (clock) => {
      const main = self();
      const [pid, , ref] = await owner(() =>
        applyAfter(
          20,
          (a: number, b: string) => send(main, ["called", self(), a, b]),
          1,
          "two",
        )
      );
      await clock.advance(19);
      await assertNoMessages();
      await clock.advance(1);
      assert.deepEqual(await next(), ["called", pid, 1, "two"]);
      assert.equal(readTimer(ref), false);
      await cleanup(pid);
    });
  });

  test("applyAfter() with an async callback: self() is the owner across await", async () => {
    await withClock(async (clock) => {
      const main = self();
      const [pid] = await owner(() =>
        applyAfter(20, async () => {
          const before = self();
          await Promise.resolve();
          await new Promise((r) => queueMicrotask(() => r(null)));
          send(main, ["async", before, self()]);
        })
      );
      await clock.advance(20);
      assert.deepEqual(await next(), ["async", pid, pid]);
      assert.ok(isAlive(pid));
      await cleanup(pid);
    });
  });

  test("applyAfter() at top level runs as main", async () => {
    await withClock(async (clock) => {
      const main = self();
      let seen: Pid | undefined;
      applyAfter(5, () => {
        seen = self();
      });
      await clock.advance(5);
      assert.equal(seen, main);
    });
  });

  test("a throw in applyAfter() crashes its process only; links hear of it", async () => {
    await withClock(async (clock) => {
      const error = new Error("boom");
      const [bystander, bref] = idle();
      const [pid, mref] = await owner(() => {
        link(mainPid); // main traps exits: it gets the EXIT as a message
        applyAfter(10, () => {
          throw error;
        });
        return null;
      });
      // A linked process that does not trap dies with the same reason.
      const [partner, pref] = spawnMonitor(async () => {
        link(pid);
        await forever();
      });
      await settle();
      await clock.advance(10);
      assert.equal(await downReason(mref), error);
      assert.equal(await exitReason(pid), error);
      assert.equal(await downReason(pref), error);
      assert.equal(isAlive(partner), false);
      assert.ok(isAlive(bystander));
      exit(bystander, "kill");
      assert.equal(await downReason(bref), "killed");
      await assertNoMessages();
    });
  });

  test("on the real clock too, a throw in applyAfter() is an exit, not an uncaught exception", async () => {
    // A 0 ms timer: fires on the next macrotask turn (no sleeping).
    const error = new TypeError("from a platform timer");
    const [pid, mref] = spawnMonitor(async () => {
      applyAfter(0, () => {
        throw error;
      });
      await forever();
    });
    assert.equal(await downReason(mref), error);
    assert.equal(isAlive(pid), false);
    await settle();
  });

  test("a rejection in an async applyAfter() callback crashes its process", async () => {
    await withClock(async (clock) => {
      const [, mref] = await owner(() =>
        applyAfter(10, async () => {
          await Promise.resolve();
          throw new RangeError("late failure");
        })
      );
      await clock.advance(10);
      const reason = await downReason(mref);
      assert.ok(reason instanceof RangeError);
      assert.equal(reason.message, "late failure");
    });
  });

  test("an ExitError thrown in applyAfter() exits with its reason", async () => {
    await withClock(async (clock) => {
      const [, mref] = await owner(() =>
        applyAfter(10, () => {
          throw new ExitError(["shutdown", "done"]);
        })
      );
      await clock.advance(10);
      assert.deepEqual(await downReason(mref), ["shutdown", "done"]);
    });
  });

  test("a hostile result (a thenable whose then throws) crashes the owner, not the runtime", async () => {
    await withClock(async (clock) => {
      const [, mref] = await owner(() =>
        applyAfter(10, () => ({
          get then() {
            throw "hostile";
          },
        }))
      );
      await clock.advance(10);
      assert.equal(await downReason(mref), "hostile");
    });
  });

  test("a thrown value that cannot be printed still crashes only the owner", async () => {
    await withClock(async (clock) => {
      const hostile = new Proxy({}, {
        get() {
          throw new Error("do not touch");
        },
      });
      const [, mref] = await owner(() =>
        applyAfter(10, () => {
          throw hostile;
        })
      );
      await clock.advance(10);
      // (not through an async helper: resolving with it would read `then`)
      const down = await receive(isDown(mref)) as unknown[];
      assert.ok(down[4] === hostile);
    });
  });

  test("applyAfter() is cancelled when its owner dies: the callback never runs", async () => {
    await withClock(async (clock) => {
      let ran = false;
      const [pid, mref, ref] = await owner(() =>
        applyAfter(10, () => {
          ran = true;
        })
      );
      exit(pid, "kill");
      assert.equal(await downReason(mref), "killed");
      assert.equal(readTimer(ref), false);
      await clock.advance(10);
      assert.equal(ran, false);
    });
  });

  test("applyAfter() in a gen_server runs as the server", async () => {
    await withClock(async (clock) => {
      const main = self();
      const server = await GenServer.start({
        init: () => {
          applyAfter(10, () => send(main, ["server self", self()]));
          return ["ok", null];
        },
      }, undefined);
      await clock.advance(10);
      assert.deepEqual(await next(), ["server self", server]);
      await GenServer.stop(server);
    });
  });
});

describe("arguments", () => {
  class Hostile {
    toString(): string {
      throw new Error("no printing");
    }
  }
  const hostile = new Hostile();

  test("ms must be a non-negative number or Infinity", () => {
    for (
      const [fn, op] of [
        [(ms: number) => sendAfter(ms, self(), "m"), "sendAfter"],
        [(ms: number) => startTimer(ms, self(), "m"), "startTimer"],
        [(ms: number) => exitAfter(ms, self(), "r"), "exitAfter"],
        [(ms: number) => killAfter(ms, self()), "killAfter"],
        [(ms: number) => applyAfter(ms, () => {}), "applyAfter"],
      ] as const
    ) {
      assert.throws(() => fn(-1), {
        name: "RangeError",
        message:
          `Cannot ${op}: 'ms' must be a non-negative number or Infinity, got -1`,
      });
      assert.throws(() => fn(NaN), RangeError);
      assert.throws(() => fn(-Infinity), RangeError);
      assert.throws(() => fn("10" as never), {
        name: "TypeError",
        message: `Cannot ${op}: 'ms' must be a number, got "10"`,
      });
      assert.throws(() => fn(10n as never), TypeError);
    }
    assert.throws(() => sendInterval(-5, self(), "m"), RangeError);
    assert.throws(() => sendInterval(null as never, self(), "m"), TypeError);
  });

  test("dest must be a pid or a non-empty name; fn must be a function", () => {
    assert.throws(() => sendAfter(10, 42 as never, "m"), {
      name: "TypeError",
      message:
        "Cannot sendAfter: 'dest' must be a Pid or a registered name, got 42",
    });
    assert.throws(() => startTimer(10, "", "m"), {
      name: "TypeError",
      message:
        "Cannot startTimer: 'dest' must be a Pid or a registered name, got \"\"",
    });
    assert.throws(() => sendInterval(10, {} as never, "m"), TypeError);
    assert.throws(() => exitAfter(10, undefined as never, "r"), {
      name: "TypeError",
      message:
        "Cannot exitAfter: 'pid' must be a Pid or a registered name, got undefined",
    });
    assert.throws(() => killAfter(10, null as never), TypeError);
    assert.throws(() => applyAfter(10, "fn" as never), {
      name: "TypeError",
      message: "Cannot applyAfter: 'fn' must be a function, got \"fn\"",
    });
  });

  test("a value that throws when printed still gets the TypeError", () => {
    assert.throws(() => sendAfter(10, hostile as never, "m"), {
      name: "TypeError",
    });
    const proxy = new Proxy({}, {
      get() {
        throw new Error("trap");
      },
      getPrototypeOf() {
        throw new Error("trap");
      },
    });
    assert.throws(() => applyAfter(10, proxy as never), { name: "TypeError" });
    assert.throws(() => cancelTimer(proxy as never), { name: "TypeError" });
  });

  test("a process that has exited may not start timers", async () => {
    await withClock(async () => {
      const main = self();
      const [pid, mref] = spawnMonitor(async () => {
        try {
          await forever();
        } catch {
          // killed: this code runs on, as a dead process
        }
        let error: unknown;
        try {
          sendAfter(10, main, "from the dead");
        } catch (e) {
          error = e;
        }
        results.push(error);
      });
      const results: unknown[] = [];
      await settle();
      exit(pid, "kill");
      assert.equal(await downReason(mref), "killed");
      await settle();
      assert.equal(results.length, 1);
      assert.ok(results[0] instanceof ExitError);
      assert.equal((results[0] as ExitError).reason, "killed");
    });
  });
});

describe("no timer left behind", () => {
  test("many timers across processes all end with their owners", async () => {
    await withClock(async (clock) => {
      const main = self();
      const owners: [Pid, Ref][] = [];
      for (let i = 0; i < 20; i++) {
        const [pid, mref] = await owner(() => {
          sendAfter(1000 + i, main, "a");
          startTimer(500, self(), "b");
          sendInterval(7, self(), "c");
          applyAfter(300, () => {});
          exitAfter(Infinity, main, "never");
        });
        owners.push([pid, mref]);
      }
      assert.ok(clock.pending > 0);
      for (const [pid, mref] of owners) {
        exit(pid, "kill");
        assert.equal(await downReason(mref), "killed");
      }
      await settle();
      assert.equal(clock.pending, 0);
      await clock.advance(2000);
      await assertNoMessages();
    });
  });
});
