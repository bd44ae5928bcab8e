// Edge cases found in review: dead processes that keep running JS, failed
// starts, timers left behind, selective receive bookkeeping. Each test names
// the API and the behaviour OTP has (reference §1, §2).
import { describe, test } from "./_harness.ts";
import assert from "node:assert/strict";
import {
  call,
  cast,
  type From,
  reply,
  start,
  startLink,
} from "../gen_server.ts";
import {
  demonitor,
  exit,
  isAlive,
  monitor,
  processInfo,
  receive,
  self,
  send,
  spawn,
  spawnLink,
  spawnMonitor,
  whereis,
} from "../process.ts";
import { CallError, ExitError, StartError } from "../errors.ts";
import { useClock, VirtualClock } from "../clock.ts";
import { linkProcs, procOf } from "../_runtime.ts";
import { downReason, flush, forever, settle, withClock } from "./_helpers.ts";
import * as supervisor from "../supervisor.ts";
import { setLogger } from "../logger.ts";
import type { Pid } from "../process.ts";

const asyncStop = {
  init: async () => {
    await Promise.resolve();
    return ["stop", "stopped"] as const;
  },
};

/** A gate a test opens to let a (killed) process's JS go on. */
function gate(): [Promise<void>, () => void] {
  let open!: () => void;
  const p = new Promise<void>((r) => (open = r));
  return [p, open];
}

describe("GenServer.start() with an async init that fails", () => {
  test("the name is free by the time start() rejects (otp_7669)", async () => {
    let holder: unknown = "not reached";
    try {
      await start(asyncStop, undefined, { name: "async_7669" });
    } catch (e) {
      assert.ok(e instanceof StartError);
      holder = whereis("async_7669");
    }
    assert.equal(holder, undefined);
  });

  test("a trapping startLink() caller finds the EXIT queued when it rejects (sup_start_fail)", async () => {
    await flush();
    const err = await startLink(asyncStop, undefined).catch((e) => e);
    assert.ok(err instanceof StartError);
    const m = await receive((m) => Array.isArray(m) && m[0] === "EXIT", {
      timeout: 0,
    }) as unknown[];
    assert.equal(m[2], "stopped");
  });

  test("a non-trapping startLink() caller killed by the failure unwinds with ExitError", async () => {
    let seen: unknown;
    const [, ref] = spawnMonitor(async () => {
      try {
        await startLink({ init: () => ["stop", "stopped"] }, undefined);
      } catch (e) {
        seen = e;
      }
    });
    assert.equal(await downReason(ref), "stopped");
    assert.ok(seen instanceof ExitError);
    assert.equal(seen.reason, "stopped");
  });
});

describe("GenServer callbacks that end their own process", () => {
  test("exit(self(), 'kill') in a callback: no terminate", async () => {
    const log: unknown[] = [];
    const pid = await start<null, undefined>({
      init: () => ["ok", null],
      handleCast: (_m, s) => {
        exit(self(), "kill");
        return ["noreply", s];
      },
      terminate: (r) => {
        log.push(r);
      },
    }, undefined);
    const ref = monitor(pid);
    cast(pid, "die");
    assert.equal(await downReason(ref), "killed");
    assert.deepEqual(log, []);
  });

  test("a non-trapping server killed through a link during its callback: no terminate", async () => {
    const log: unknown[] = [];
    const pid = await start<null, undefined>({
      init: () => ["ok", null],
      handleCast: (m, s) => {
        exit(m as never, "boom");
        return ["noreply", s];
      },
      terminate: (r) => {
        log.push(r);
      },
    }, undefined);
    const victim = spawn(forever);
    linkProcs(procOf(pid), procOf(victim));
    const ref = monitor(pid);
    cast(pid, victim);
    assert.equal(await downReason(ref), "boom");
    assert.deepEqual(log, []);
  });

  test("a callback that catches its own kill: no handleContinue runs in the dead server", async () => {
    const log: unknown[] = [];
    const pid = await start<null, undefined>({
      init: () => ["ok", null],
      handleCall: (_r, _f, s) => {
        try {
          exit(self(), "kill");
        } catch {
          // user code swallowing the ExitError
        }
        return ["reply", "ok", s, ["continue", "c"]];
      },
      handleContinue: (c, s) => {
        log.push(c);
        return ["noreply", s];
      },
    }, undefined);
    const r = await call(pid, "x").catch((e) => e);
    assert.ok(r instanceof CallError && r.reason === "killed");
    assert.deepEqual(log, []);
  });

  test("killing a server with a noreply timeout armed leaves no timer behind", async () => {
    const pid = await start({ init: () => ["ok", null, 60_000] }, undefined);
    exit(pid, "kill");
    await settle();
    assert.equal(isAlive(pid), false);
    // the op sanitizer fails this test if the 60 s timer is still armed
  });

  test("a receive a callback started and abandoned does not block the server", async () => {
    await withClock(async (clock) => {
      const pid = await start<null, undefined>({
        init: () => ["ok", null],
        handleCall: async (r, _f, s) => {
          if (r === "wait") {
            await Promise.race([
              receive((m) => m === "ack"),
              Promise.resolve("gave up"),
            ]);
          }
          return ["reply", r, s];
        },
      }, undefined);
      assert.equal(await call(pid, "wait"), "wait");
      const [next] = await Promise.all([
        call(pid, "next", { timeout: 100 }).catch((e) => e),
        clock.advance(100),
      ]);
      exit(pid, "kill");
      assert.equal(next, "next");
    });
  });
});

describe("callers that die in the same exit chain", () => {
  test("a non-trapping caller linked to a server that crashes mid-call unwinds with ExitError", async () => {
    let seen: unknown;
    const [, ref] = spawnMonitor(async () => {
      const pid = await startLink<null, undefined>({
        init: () => ["ok", null],
        handleCall: () => {
          throw new ExitError("crashed");
        },
      }, undefined);
      try {
        await call(pid, "x");
      } catch (e) {
        seen = e;
      }
    });
    assert.equal(await downReason(ref), "crashed");
    assert.ok(seen instanceof ExitError);
  });

  test("a process killed right after a message was sent to it never handles it", async () => {
    let ranAfterDeath = false;
    const pid = spawn(async () => {
      await receive();
      ranAfterDeath = true;
    });
    await settle();
    send(pid, "job");
    exit(pid, "kill");
    await settle();
    assert.equal(ranAfterDeath, false);
  });
});

describe("what a dead process's leftover JS can do", () => {
  test("reply() from a dead process is dropped", async () => {
    await withClock(async (clock) => {
      let from!: From;
      const pid = await start<null, undefined>({
        init: () => ["ok", null],
        handleCall: (_r, f, s) => {
          from = f;
          return ["noreply", s];
        },
      }, undefined);
      const [opened, open] = gate();
      const helper = spawn(async () => {
        await opened;
        reply(from, "from the grave");
      });
      const pending = call(pid, "x", { timeout: 100 }).catch((e) => e);
      await settle();
      exit(helper, "kill");
      open();
      await settle();
      await clock.advance(100);
      const r = await pending;
      exit(pid, "kill");
      assert.ok(r instanceof CallError && r.reason === "timeout");
    });
  });

  test("monitor(), spawn(), spawnLink() and spawnMonitor() from a dead process throw ExitError", async () => {
    const target = spawn(forever);
    const [opened, open] = gate();
    const errors: unknown[] = [];
    const zombie = spawn(async () => {
      await opened;
      for (
        const f of [
          () => monitor(target),
          () => spawn(forever),
          () => spawnLink(forever),
          () => spawnMonitor(forever),
        ]
      ) {
        try {
          f();
        } catch (e) {
          errors.push(e);
        }
      }
    });
    await settle();
    exit(zombie, "kill");
    open();
    await settle();
    assert.equal(errors.length, 4);
    for (const e of errors) {
      assert.ok(e instanceof ExitError);
      assert.equal(e.reason, "killed");
    }
    assert.deepEqual(processInfo(target)!.monitoredBy, []);
    exit(target, "kill");
  });
});

describe("receive() bookkeeping", () => {
  test("a waiting receive still sees a message after an older one is flushed", async () => {
    await withClock(async (clock) => {
      let result: unknown;
      const [, done] = spawnMonitor(async () => {
        const ref = monitor(spawn(() => {}));
        await new Promise((r) => setTimeout(r, 0)); // the DOWN arrives
        send(self(), "other"); // [DOWN, other]
        const pending = receive((m) => m === "want", { timeout: 100 });
        demonitor(ref, { flush: true }); // [other]
        send(self(), "want"); // [other, want]
        result = await pending.catch((e) => e);
      });
      await settle();
      await clock.advance(100);
      await downReason(done);
      assert.equal(result, "want");
    });
  });
});

describe("call timeouts and clocks", () => {
  test("a call's timeout runs on the clock current when the call was made", async () => {
    const pid = await start<null, undefined>({
      init: () => ["ok", null],
      handleCall: (_r, _f, s) => ["noreply", s],
    }, undefined);
    const clock = new VirtualClock();
    const restore = useClock(clock);
    const pending = call(pid, "hang", { timeout: 100 }).catch((e) => e);
    restore();
    await clock.advance(100);
    const r = await pending;
    assert.ok(r instanceof CallError && r.reason === "timeout");
    exit(pid, "kill");
  });
});

describe("fairness: busy processes do not starve timers", () => {
  test("a supervisor retrying a failed restart at once lets a timer fire (bounded: the start succeeds after 100,000 tries)", async () => {
    let starts = 0;
    let fail = false;
    let startsWhenTimerFired = -1;
    const sup = await supervisor.start({
      strategy: "one_for_one",
      intensity: 1_000_000_000,
      children: [{
        id: "a",
        start: () => {
          starts++;
          if (fail && starts < 100_000) throw new Error("not yet");
          return spawnLink(forever);
        },
      }],
    });
    const [a] = await supervisor.whichChildren(sup);
    fail = true;
    const restore = setLogger(null);
    try {
      const fired = new Promise<void>((resolve) =>
        setTimeout(() => {
          startsWhenTimerFired = starts;
          resolve();
        }, 0)
      );
      exit(a.pid as Pid, "kill");
      await fired;
      assert.ok(
        startsWhenTimerFired < 100_000,
        `the timer fired only after ${startsWhenTimerFired} restarts`,
      );
    } finally {
      restore();
      await supervisor.stop(sup);
    }
  });

  test("a server casting to itself forever lets a timer fire (bounded: it stops after 1,000,000 casts)", async () => {
    let casts = 0;
    let castsWhenTimerFired = -1;
    const pid = await start({
      init: () => ["ok", null],
      handleCast: (_msg: unknown, s: null) => {
        if (++casts < 1_000_000) cast(self(), "again");
        return ["noreply", s];
      },
    }, undefined);
    const fired = new Promise<void>((resolve) =>
      setTimeout(() => {
        castsWhenTimerFired = casts;
        resolve();
      }, 0)
    );
    cast(pid, "go");
    await fired;
    exit(pid, "kill");
    await settle(); // the scheduler's own yield timer, if one is pending
    assert.ok(
      castsWhenTimerFired < 1_000_000,
      `the timer fired only after ${castsWhenTimerFired} casts`,
    );
  });
});
