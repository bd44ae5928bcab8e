// Processes: exit signals (OTP's decision table), links, monitors, names,
// receive. Ports erts process_SUITE's t_exit_2 group and Elixir's
// process_test (reference §1, §5.4).
import { describe, test } from "./_harness.ts";
import assert from "node:assert/strict";
import {
  demonitor,
  exit,
  isAlive,
  link,
  monitor,
  type Pid,
  processInfo,
  receive,
  Ref,
  register,
  registered,
  self,
  send,
  spawn,
  spawnLink,
  spawnMonitor,
  trapExit,
  unlink,
  unregister,
  whereis,
} from "../process.ts";
import {
  AlreadyRegisteredError,
  ExitError,
  NoProcError,
  NotRegisteredError,
  TimeoutError,
} from "../errors.ts";
import { addResource, linkProcs, procOf } from "../_runtime.ts";
import {
  assertNoMessages,
  cleanup,
  downReason,
  exitReason,
  flush,
  forever,
  isDown,
  isExit,
  settle,
  withClock,
} from "./_helpers.ts";

/** A process that waits forever; returns its pid and a monitor on it. */
function idle(): [Pid, Ref] {
  return spawnMonitor(forever);
}

describe("spawn()", () => {
  test("spawn() returns before the body runs, and the body gets its own pid", async () => {
    let seen: Pid | undefined;
    let ran = false;
    const pid = spawn((me) => {
      ran = true;
      seen = me;
    });
    assert.equal(ran, false);
    assert.match(String(pid), /^<0\.\d+\.0>$/);
    await settle();
    assert.equal(ran, true);
    assert.equal(seen, pid);
    assert.equal(isAlive(pid), false);
  });

  test("spawn() rejects a non-function body with a TypeError", () => {
    assert.throws(() => spawn(42 as never), {
      name: "TypeError",
      message: "Cannot spawn: 'body' must be a function, got 42",
    });
    assert.throws(() => spawnLink("x" as never), TypeError);
    assert.throws(() => spawnMonitor(null as never), TypeError);
  });

  test("a body that returns exits normal; one that throws exits with the thrown value", async () => {
    const [, r1] = spawnMonitor(() => {});
    assert.equal(await downReason(r1), "normal");
    const boom = new Error("boom");
    const [, r2] = spawnMonitor(() => {
      throw boom;
    });
    assert.equal(await downReason(r2), boom);
    const [, r3] = spawnMonitor(async () => {
      await Promise.resolve();
      throw new ExitError({ shutdown: "done" });
    });
    assert.deepEqual(await downReason(r3), { shutdown: "done" });
  });

  test("spawnLink() is atomic: a child that dies at once still sends EXIT", async () => {
    const pid = spawnLink(() => {
      throw new ExitError("instant");
    });
    assert.equal(await exitReason(pid), "instant");
  });

  test("spawnMonitor() returns the pid and a ref named in the DOWN", async () => {
    const [pid, ref] = spawnMonitor(() => {});
    assert.ok(ref instanceof Ref);
    const down = await receive(isDown(ref));
    assert.deepEqual(down, ["DOWN", ref, "process", pid, "normal"]);
  });
});

describe("self()", () => {
  test("self() is the process across await, in sync and async bodies", async () => {
    const seen: boolean[] = [];
    const [a, ra] = spawnMonitor(async (me) => {
      seen.push(self() === me);
      await Promise.resolve();
      await new Promise((r) => setTimeout(r, 0));
      seen.push(self() === me);
    });
    const [b, rb] = spawnMonitor((me) => {
      seen.push(self() === me);
    });
    await downReason(ra);
    await downReason(rb);
    assert.deepEqual(seen, [true, true, true]);
    assert.notEqual(self(), a);
    assert.notEqual(self(), b);
  });

  test("top-level code runs as the main process, which traps exits", () => {
    const info = processInfo(self());
    assert.ok(info);
    assert.equal(info.trapExit, true);
  });

  test("killing the main process gives top-level code a fresh main process", async () => {
    const old = self();
    assert.throws(() => exit(old, "kill"), (e) => {
      assert.ok(e instanceof ExitError);
      assert.equal(e.reason, "killed");
      return true;
    });
    assert.equal(isAlive(old), false);
    assert.notEqual(self(), old);
    assert.equal(processInfo(self())!.trapExit, true);
    await assertNoMessages();
  });
});

describe("send()", () => {
  test("messages from one sender arrive in order", async () => {
    const got: unknown[] = [];
    const [pid, ref] = spawnMonitor(async () => {
      for (let i = 0; i < 5; i++) got.push(await receive());
    });
    for (let i = 0; i < 5; i++) send(pid, i);
    await downReason(ref);
    assert.deepEqual(got, [0, 1, 2, 3, 4]);
  });

  test("send() never runs the receiver on the sender's stack", async () => {
    let received = false;
    const [pid, ref] = spawnMonitor(async () => {
      await receive();
      received = true;
    });
    await settle();
    send(pid, "x");
    assert.equal(received, false);
    await downReason(ref);
    assert.equal(received, true);
  });

  test("send() to a dead pid is dropped silently and returns the message", async () => {
    const [pid, ref] = spawnMonitor(() => {});
    await downReason(ref);
    assert.equal(send(pid, "lost"), "lost");
  });

  test("send() to an unregistered name throws NotRegisteredError", () => {
    assert.throws(() => send("no_such_name", "hi"), {
      name: "NotRegisteredError",
      message: 'Cannot send: no process is registered as "no_such_name"',
    });
    assert.throws(() => send("no_such_name", "hi"), NotRegisteredError);
  });

  test("send() to something that is neither pid nor name throws TypeError", () => {
    assert.throws(() => send(42 as never, "hi"), {
      name: "TypeError",
      message: "Cannot send: 'dest' must be a Pid or a registered name, got 42",
    });
  });

  test("send() by registered name delivers to the process", async () => {
    const [pid, ref] = spawnMonitor(async () => {
      const [from, m] = await receive() as [Pid, string];
      send(from, m + "!");
    });
    register("echo_by_name", pid);
    send("echo_by_name", [self(), "hi"]);
    assert.equal(await receive((m) => m === "hi!"), "hi!");
    await downReason(ref);
  });
});

describe("receive()", () => {
  test("receive() with a predicate takes the first match and keeps the rest in order", async () => {
    for (const m of [1, "a", 2, "b", 3]) send(self(), m);
    assert.equal(await receive((m) => typeof m === "string"), "a");
    assert.equal(await receive((m) => m === 3), 3);
    assert.deepEqual(await flush(), [1, 2, "b"]);
  });

  test("receive() waits for a message that arrives later", async () => {
    const pending = receive((m) => m === "late");
    const pid = spawn(() => {
      send(whereisMain, "other");
      send(whereisMain, "late");
    });
    const whereisMain = self();
    assert.equal(await pending, "late");
    assert.deepEqual(await flush(), ["other"]);
    assert.equal(isAlive(pid), false);
  });

  test("receive() with timeout 0 polls: TimeoutError when nothing matches", async () => {
    await assert.rejects(receive(undefined, { timeout: 0 }), {
      name: "TimeoutError",
      message: `Cannot receive in ${self()}: no matching message (timeout 0)`,
    });
    send(self(), "here");
    assert.equal(await receive(undefined, { timeout: 0 }), "here");
  });

  test("receive() times out on the virtual clock, not before", async () => {
    await withClock(async (clock) => {
      const pending = receive((m) => m === "x", { timeout: 100 });
      let done = false;
      pending.catch(() => (done = true));
      await clock.advance(99);
      assert.equal(done, false);
      await clock.advance(1);
      await assert.rejects(pending, (e) => {
        assert.ok(e instanceof TimeoutError);
        assert.equal(e.timeout, 100);
        assert.equal(
          e.message,
          `Cannot receive in ${self()}: no matching message within 100 ms`,
        );
        return true;
      });
    });
  });

  test("a message arriving before the timeout cancels it", async () => {
    await withClock(async (clock) => {
      const pending = receive(undefined, { timeout: 50 });
      await clock.advance(10);
      send(self(), "in time");
      assert.equal(await pending, "in time");
      await settle();
      assert.equal(clock.pending, 0);
    });
  });

  test("receive() rejects bad arguments", async () => {
    await assert.rejects(receive(5 as never), {
      name: "TypeError",
      message: "Cannot receive: 'predicate' must be a function, got 5",
    });
    await assert.rejects(receive(undefined, { timeout: -1 }), {
      name: "RangeError",
      message:
        "Cannot receive: 'timeout' must be a non-negative number or Infinity, got -1",
    });
  });

  test("concurrent receives in one process each take what they match, oldest first", async () => {
    const first = receive((m) => m === "one");
    const any = receive();
    send(self(), "two");
    send(self(), "one");
    // "two" goes to the oldest receive that takes it (the second); "one" to
    // the first.
    assert.deepEqual(await Promise.all([first, any]), ["one", "two"]);
  });

  test("a predicate that throws rejects the receive", async () => {
    const boom = new Error("bad predicate");
    send(self(), 1);
    await assert.rejects(
      receive(() => {
        throw boom;
      }),
      boom,
    );
    await flush();
  });
});

describe("exit() and the decision table", () => {
  test("exit(pid, 'normal') does not end another process (t_exit_2_other_normal)", async () => {
    let trapped: unknown[] = [];
    const pid = spawn(async () => {
      trapExit(true);
      trapped = await flush();
    });
    const [target, ref] = idle();
    link(target);
    exit(target, "normal");
    await settle();
    assert.equal(isAlive(target), true);
    exit(target, "kill");
    assert.equal(await downReason(ref), "killed");
    assert.equal(await exitReason(target), "killed");
    await settle();
    assert.deepEqual(trapped, []);
    assert.equal(isAlive(pid), false);
  });

  test("exit(self(), 'normal') ends the caller with normal (normal_suicide_exit)", async () => {
    let after = false;
    const [, ref] = spawnMonitor(() => {
      exit(self(), "normal");
      after = true;
    });
    assert.equal(await downReason(ref), "normal");
    assert.equal(after, false);
  });

  test("exit(self(), reason) when not trapping is exit(reason) (abnormal_suicide_exit)", async () => {
    const [, ref] = spawnMonitor(() => exit(self(), "bye"));
    assert.equal(await downReason(ref), "bye");
  });

  test("catching the ExitError does not save a process that exit()ed itself (t_exit_2_catch)", async () => {
    const [pid, ref] = spawnMonitor(async () => {
      try {
        exit(self(), "die");
      } catch {
        // the process is already dead; nothing it sends arrives
        send(main, "still here");
      }
      await receive();
    });
    const main = self();
    assert.equal(await downReason(ref), "die");
    assert.equal(isAlive(pid), false);
    await assertNoMessages();
  });

  test("a trapping process gets exit(self(), reason) as a message (self_exit)", async () => {
    const [, ref] = spawnMonitor(async (me) => {
      trapExit(true);
      exit(self(), "normal");
      exit(self(), "other");
      const a = await receive();
      const b = await receive();
      send(main, [a, b, me]);
    });
    const main = self();
    const [a, b, me] = await receive() as [unknown[], unknown[], Pid];
    assert.deepEqual(a, ["EXIT", me, "normal"]);
    assert.deepEqual(b, ["EXIT", me, "other"]);
    assert.equal(await downReason(ref), "normal");
  });

  test("exit(pid, 'kill') kills even a trapping process, with reason killed", async () => {
    const [pid, ref] = spawnMonitor(async () => {
      trapExit(true);
      await forever();
    });
    await settle();
    exit(pid, "kill");
    assert.equal(isAlive(pid), false);
    assert.equal(await downReason(ref), "killed");
  });

  test("a trapping process gets other signals as ['EXIT', from, reason]", async () => {
    const [pid, ref] = spawnMonitor(async () => {
      trapExit(true);
      const m = await receive();
      send(main, m);
    });
    const main = self();
    await settle();
    exit(pid, "shutdown");
    assert.deepEqual(await receive((m) => Array.isArray(m)), [
      "EXIT",
      main,
      "shutdown",
    ]);
    assert.equal(await downReason(ref), "normal");
  });

  test("exit(pid, reason) with an abnormal reason kills a non-trapping process with it (t_exit_2_other)", async () => {
    const [pid, ref] = idle();
    exit(pid, { custom: 1 });
    assert.deepEqual(await downReason(ref), { custom: 1 });
  });

  test("exit() on a dead pid does nothing (exit_twice)", async () => {
    const [pid, ref] = idle();
    exit(pid, "first");
    exit(pid, "second");
    assert.equal(await downReason(ref), "first");
  });

  test("exit() rejects a non-pid with TypeError", () => {
    assert.throws(() => exit("x" as never, "kill"), {
      name: "TypeError",
      message: `Cannot exit: 'pid' must be a Pid, got "x"`,
    });
  });

  test("linked processes see 'killed' when a process is killed with exit(pid, 'kill')", async () => {
    const [a] = idle();
    const [b, rb] = idle();
    linkPair(a, b);
    exit(a, "kill");
    assert.equal(await downReason(rb), "killed");
    await flush();
  });

  test("a process exiting with reason kill propagates kill: non-trapping links die with kill, trapping ones get EXIT kill", async () => {
    const [bystander, rb] = idle();
    let trapper: Pid | undefined;
    const [, rt] = spawnMonitor(async (me) => {
      trapper = me;
      trapExit(true);
      send(main, "ready");
      const m = await receive();
      send(main, m);
    });
    const main = self();
    await receive((m) => m === "ready");
    const [dier] = spawnMonitor(async () => {
      await receive((m) => m === "go");
      throw new ExitError("kill");
    });
    linkPair(dier, bystander);
    linkPair(dier, trapper!);
    send(dier, "go");
    assert.equal(await downReason(rb), "kill");
    assert.deepEqual(
      await receive((m) => Array.isArray(m) && m[0] === "EXIT"),
      [
        "EXIT",
        dier,
        "kill",
      ],
    );
    assert.equal(await downReason(rt), "normal");
    await flush();
  });

  test("a normal exit does not kill non-trapping links", async () => {
    const [target, rt] = idle();
    const [quitter, rq] = spawnMonitor(async () => {
      await receive((m) => m === "go");
    });
    linkPair(quitter, target);
    send(quitter, "go");
    assert.equal(await downReason(rq), "normal");
    assert.equal(isAlive(target), true);
    exit(target, "kill");
    await downReason(rt);
  });

  test("a killed process is dead at once: its receive rejects, its signal aborts, its sends are dropped", async () => {
    const events: unknown[] = [];
    const main = self();
    const pid = spawn(async (me) => {
      me.signal.addEventListener("abort", () => events.push("aborted"));
      try {
        await receive((m) => m === "never");
      } catch (e) {
        events.push(e instanceof ExitError ? e.reason : e);
        send(main, "from the dead");
      }
    });
    await settle();
    exit(pid, "kill");
    assert.equal(isAlive(pid), false);
    await settle();
    assert.deepEqual(events.sort(), ["aborted", "killed"]);
    assert.ok(pid.signal.aborted);
    assert.ok(pid.signal.reason instanceof ExitError);
    assert.equal((pid.signal.reason as ExitError).reason, "killed");
    await assertNoMessages();
  });

  test("a chain of 10,000 linked processes dies without recursing", async () => {
    const pids: Pid[] = [];
    for (let i = 0; i < 10_000; i++) pids.push(spawn(forever));
    for (let i = 1; i < pids.length; i++) linkPair(pids[i - 1], pids[i]);
    const ref = monitor(pids.at(-1)!);
    exit(pids[0], "boom");
    assert.equal(isAlive(pids.at(-1)!), false);
    assert.equal(await downReason(ref), "boom");
    await settle(); // let the scheduler finish its turn
  });
});

/**
 * Links two other processes. link() links the caller, so this uses the
 * runtime directly (link() itself is tested below).
 */
function linkPair(a: Pid, b: Pid): void {
  linkProcs(procOf(a), procOf(b));
}

describe("link() and unlink()", () => {
  test("link() is bidirectional: the target's death reaches the trapping caller", async () => {
    const [pid] = idle();
    link(pid);
    assert.ok(processInfo(pid)!.links.includes(self()));
    exit(pid, "crash");
    assert.equal(await exitReason(pid), "crash");
    await flush();
  });

  test("link() twice and link(self()) are no-ops", async () => {
    const [pid, ref] = idle();
    link(pid);
    link(pid);
    link(self());
    assert.deepEqual(processInfo(pid)!.links, [self()]);
    assert.ok(!processInfo(self())!.links.includes(self()));
    unlink(pid);
    exit(pid, "kill");
    await downReason(ref);
    await assertNoMessages();
  });

  test("link() to a dead process: NoProcError when not trapping, EXIT noproc when trapping", async () => {
    const [dead, ref] = spawnMonitor(() => {});
    await downReason(ref);
    link(dead);
    assert.deepEqual(await receive(isExit(dead)), ["EXIT", dead, "noproc"]);
    const [, r2] = spawnMonitor(() => {
      try {
        link(dead);
      } catch (e) {
        send(main, e);
      }
    });
    const main = self();
    const err = await receive((m) => m instanceof Error) as NoProcError;
    assert.ok(err instanceof NoProcError);
    assert.equal(err.message, `Cannot link: no process ${dead}`);
    await downReason(r2);
  });

  test("after unlink() the other process's death no longer affects the caller", async () => {
    const [pid, ref] = idle();
    link(pid);
    unlink(pid);
    assert.deepEqual(processInfo(pid)!.links, []);
    exit(pid, "crash");
    await downReason(ref);
    await assertNoMessages();
  });

  test("unlink(pid, { flush: true }) also removes an EXIT already queued", async () => {
    const [pid, ref] = idle();
    link(pid);
    exit(pid, "crash");
    await downReason(ref);
    unlink(pid, { flush: true });
    await assertNoMessages();
  });

  test("link() and unlink() reject non-pids", () => {
    assert.throws(() => link({} as never), {
      name: "TypeError",
      message: "Cannot link: 'pid' must be a Pid, got {}",
    });
    assert.throws(() => unlink(undefined as never), TypeError);
  });
});

describe("monitor() and demonitor()", () => {
  test("each monitor() call is an independent monitor with its own DOWN", async () => {
    const [pid, r0] = idle();
    const r1 = monitor(pid);
    const r2 = monitor(pid);
    assert.notEqual(r1, r2);
    exit(pid, "bye");
    assert.equal(await downReason(r1), "bye");
    assert.equal(await downReason(r2), "bye");
    assert.equal(await downReason(r0), "bye");
  });

  test("monitor() of a dead pid gives DOWN noproc at once", async () => {
    const [pid, ref] = spawnMonitor(() => {});
    await downReason(ref);
    const r = monitor(pid);
    assert.deepEqual(await receive(isDown(r)), [
      "DOWN",
      r,
      "process",
      pid,
      "noproc",
    ]);
  });

  test("monitor() by name names the name in the DOWN; unregistered gives noproc", async () => {
    const [pid, r0] = idle();
    register("monitored_by_name", pid);
    const r = monitor("monitored_by_name");
    exit(pid, "kill");
    assert.deepEqual(await receive(isDown(r)), [
      "DOWN",
      r,
      "process",
      "monitored_by_name",
      "killed",
    ]);
    await downReason(r0);
    const r2 = monitor("monitored_by_name");
    assert.equal(await downReason(r2), "noproc");
  });

  test("demonitor() stops future DOWNs and reports whether it removed one", async () => {
    const [pid, r0] = idle();
    const r = monitor(pid);
    assert.equal(demonitor(r), true);
    assert.equal(demonitor(r), false);
    exit(pid, "kill");
    await downReason(r0);
    await assertNoMessages();
  });

  test("demonitor(ref, { flush: true }) removes a DOWN already queued", async () => {
    const [pid, r0] = idle();
    const r = monitor(pid);
    exit(pid, "kill");
    await downReason(r0);
    assert.equal(demonitor(r, { flush: true }), false);
    await assertNoMessages();
  });

  test("monitor() and demonitor() reject bad arguments", () => {
    assert.throws(() => monitor(1 as never), {
      name: "TypeError",
      message:
        "Cannot monitor: 'target' must be a Pid or a registered name, got 1",
    });
    assert.throws(() => demonitor("r" as never), {
      name: "TypeError",
      message: `Cannot demonitor: 'ref' must be a Ref, got "r"`,
    });
  });

  test("processInfo() lists monitors held and monitoring processes", async () => {
    const [pid, ref] = idle();
    const info = processInfo(pid)!;
    assert.deepEqual(info.monitoredBy, [self()]);
    assert.ok(processInfo(self())!.monitors.includes(pid));
    demonitor(ref);
    exit(pid, "kill");
    await settle();
    assert.equal(processInfo(pid), undefined);
  });
});

describe("register(), unregister(), whereis()", () => {
  test("a name is released when its process dies, before DOWN goes out", async () => {
    const [pid] = idle();
    register("short_lived", pid);
    assert.equal(whereis("short_lived"), pid);
    assert.ok(registered().includes("short_lived"));
    let nameAtDown: Pid | undefined | null = null;
    const [, r] = spawnMonitor(async () => {
      const ref = monitor(pid);
      send(main, "watching");
      await receive(isDown(ref));
      nameAtDown = whereis("short_lived");
    });
    const main = self();
    await receive((m) => m === "watching");
    exit(pid, "kill");
    await downReason(r);
    assert.equal(nameAtDown, undefined);
    assert.ok(!registered().includes("short_lived"));
  });

  test("register() errors (bad_register)", async () => {
    const [a, ra] = idle();
    const [b, rb] = idle();
    register("taken", a);
    assert.throws(() => register("taken", b), (e) => {
      assert.ok(e instanceof AlreadyRegisteredError);
      assert.equal(
        e.message,
        `Cannot register "taken": it is already registered to ${a}`,
      );
      return true;
    });
    assert.throws(() => register("other", a), {
      name: "AlreadyRegisteredError",
      message: `Cannot register "other": ${a} is already registered as "taken"`,
    });
    assert.throws(() => register("", b), {
      name: "TypeError",
      message: `Cannot register: 'name' must be a non-empty string, got ""`,
    });
    assert.throws(() => register("x", "b" as never), TypeError);
    exit(b, "kill");
    await downReason(rb);
    assert.throws(() => register("late", b), {
      name: "NoProcError",
      message: `Cannot register "late": no process ${b}`,
    });
    exit(a, "kill");
    await downReason(ra);
  });

  test("unregister() frees the name; unregistering a free name throws NotRegisteredError", async () => {
    const [a, ra] = idle();
    register("to_free", a);
    unregister("to_free");
    assert.equal(whereis("to_free"), undefined);
    assert.equal(processInfo(a)!.registeredName, undefined);
    assert.throws(() => unregister("to_free"), {
      name: "NotRegisteredError",
      message: 'Cannot unregister: no process is registered as "to_free"',
    });
    exit(a, "kill");
    await downReason(ra);
  });

  test("whereis() of an unknown name is undefined", () => {
    assert.equal(whereis("nobody_at_all"), undefined);
  });
});

describe("death sequence", () => {
  test("owned resources are released after the name and before EXIT and DOWN", async () => {
    const order: string[] = [];
    await flush();
    const [pid, ref] = idle();
    register("resourceful", pid);
    link(pid);
    addResource(procOf(pid), () => {
      order.push(whereis("resourceful") === undefined ? "name freed" : "named");
      order.push(`mailbox has ${processInfo(self())!.messageQueueLength}`);
    });
    exit(pid, "crash");
    assert.deepEqual(order, ["name freed", "mailbox has 0"]);
    assert.equal(await exitReason(pid), "crash");
    assert.equal(await downReason(ref), "crash");
  });

  test("trapExit() returns the previous flag and rejects non-booleans", async () => {
    const [, ref] = spawnMonitor(() => {
      assert.equal(trapExit(true), false);
      assert.equal(trapExit(true), true);
      assert.equal(trapExit(false), true);
      assert.throws(() => trapExit("yes" as never), {
        name: "TypeError",
        message: `Cannot set trapExit: 'flag' must be a boolean, got "yes"`,
      });
    });
    assert.equal(await downReason(ref), "normal");
  });

  test("processInfo() reports status, name, mailbox and flags", async () => {
    const [pid, ref] = idle();
    await settle();
    register("info_subject", pid);
    send(pid, "unmatched");
    assert.equal(processInfo(pid)!.status, "runnable");
    await settle();
    const info = processInfo(pid)!;
    assert.equal(info.status, "waiting");
    assert.equal(info.registeredName, "info_subject");
    assert.equal(info.messageQueueLength, 1);
    assert.equal(info.trapExit, false);
    assert.equal(processInfo(self())!.status, "running");
    exit(pid, "kill");
    await downReason(ref);
    await cleanup();
  });
});
