// Processes under a lease (_runtime.ts's ProcLease, used by the cluster
// tracker for its children): past the lease's deadline the scheduler runs
// none of a process's code. A paused node (SIGSTOP) is simulated by a clock
// whose reading jumps while no timer runs: on resume, every timer that fell
// due fires in order, a child's before the fence timer, as after SIGCONT.
import { describe, test } from "./_harness.ts";
import assert from "node:assert/strict";
import {
  type Clock,
  type TimerHandle,
  useClock,
  VirtualClock,
} from "../clock.ts";
import {
  monitor,
  type Pid,
  receive,
  self,
  send,
  spawn,
  spawnMonitor,
} from "../process.ts";
import { applyAfter, sendAfter, sendInterval } from "../timer.ts";
import { type ProcLease, procOf } from "../_runtime.ts";
import { downReason, settle } from "./_helpers.ts";
import * as GenServer from "../gen_server.ts";
import type { From } from "../gen_server.ts";

/** A VirtualClock whose reading can jump ahead without firing timers. */
class PausableClock implements Clock {
  readonly inner = new VirtualClock();
  offset = 0;
  now(): number {
    return this.inner.now() + this.offset;
  }
  setTimeout(callback: () => void, ms: number): TimerHandle {
    return this.inner.setTimeout(callback, ms);
  }
  clearTimeout(handle: TimerHandle): void {
    this.inner.clearTimeout(handle);
  }
  /** A pause: `ms` pass, and no timer runs meanwhile. */
  pause(ms: number): void {
    this.offset += ms;
  }
}

async function withPausable(fn: (clock: PausableClock) => Promise<void>) {
  const clock = new PausableClock();
  const restore = useClock(clock);
  try {
    await fn(clock);
    await settle();
    assert.equal(clock.inner.pending, 0, "virtual timers left pending");
  } finally {
    restore();
  }
}

/** A lease with a fixed deadline that counts its fences. */
function lease(deadline: number): ProcLease & { fences: number } {
  const l = {
    fences: 0,
    deadline: () => deadline,
    lapsed: () => {
      l.fences++;
    },
  };
  return l;
}

function leased(pid: Pid, l: ProcLease): Pid {
  procOf(pid)!.lease = l;
  return pid;
}

describe("processes under a lease (ProcLease)", () => {
  test("after a pause past the deadline, a child's timer, its receive and its messages never run its code; it dies killed and the lease is fenced", async () => {
    await withPausable(async (clock) => {
      const l = lease(100);
      const ran: string[] = [];
      // A stream: a chunk every 30 ms, on Steward's timer and receive.
      const [ticker, tickerRef] = spawnMonitor(async () => {
        for (;;) {
          sendAfter(30, self(), "tick");
          await receive((m) => m === "tick");
          ran.push(`tick ${clock.now()}`);
        }
      });
      leased(ticker, l);
      // A receive with a timeout.
      const [waiter, waiterRef] = spawnMonitor(async () => {
        try {
          await receive(() => false, { timeout: 50 });
        } catch {
          ran.push("timeout");
        }
      });
      leased(waiter, l);
      // A process fed by messages.
      const [server, serverRef] = spawnMonitor(async () => {
        for (;;) ran.push(String(await receive()));
      });
      leased(server, l);
      // applyAfter and sendInterval, owned by a leased process.
      const [owner, ownerRef] = spawnMonitor(async () => {
        applyAfter(40, () => ran.push("apply"));
        sendInterval(35, server, "interval");
        await receive((m) => m === "never");
      });
      leased(owner, l);
      await clock.inner.advance(30);
      assert.deepEqual(ran, ["tick 30"]);
      clock.pause(200); // now 230: past the deadline, no timer has run
      send(server, "hello");
      await clock.inner.advance(40);
      await settle();
      assert.deepEqual(ran, ["tick 30"], "no code ran past the deadline");
      for (const ref of [tickerRef, waiterRef, serverRef, ownerRef]) {
        assert.equal(await downReason(ref), "killed");
      }
      assert.ok(l.fences >= 1, "the lease was fenced");
    });
  });

  test("what a leased process spawns runs under its lease: never runs once the deadline passed", async () => {
    await withPausable(async (clock) => {
      const l = lease(100);
      const ran: string[] = [];
      const main = self();
      const [parent, parentRef] = spawnMonitor(async () => {
        const child = spawn(async () => {
          for (;;) ran.push(String(await receive()));
        });
        send(main, ["child", child]);
        await receive((m) => m === "never");
      });
      leased(parent, l);
      const [, child] = await receive((m) =>
        Array.isArray(m) && m[0] === "child"
      ) as [string, Pid];
      assert.equal(procOf(child)!.lease, l);
      send(child, "before");
      await settle();
      assert.deepEqual(ran, ["before"]);
      const ref = monitor(child);
      clock.pause(500);
      send(child, "after");
      assert.equal(await downReason(ref), "killed");
      assert.deepEqual(ran, ["before"]);
      send(parent, "poke");
      assert.equal(await downReason(parentRef), "killed");
    });
  });

  test("a call answered after the deadline, or timing out after it, never resumes the caller; nor does a catch or finally run", async () => {
    await withPausable(async (clock) => {
      const l = lease(100);
      const ran: string[] = [];
      const pending: From[] = [];
      const server = await GenServer.start<null, undefined>({
        init: () => ["ok", null],
        handleCall: (req, from, s) => {
          if (req === "hold") {
            pending.push(from);
            return ["noreply", s];
          }
          return ["reply", "pong", s];
        },
      }, undefined);
      const [caller, callerRef] = spawnMonitor(async () => {
        try {
          ran.push(String(await GenServer.call(server, "hold")));
        } finally {
          ran.push("finally");
        }
      });
      leased(caller, l);
      const [timer, timerRef] = spawnMonitor(async () => {
        try {
          await GenServer.call(server, "hold", { timeout: 50 });
          ran.push("returned");
        } catch {
          ran.push("catch");
        }
      });
      leased(timer, l);
      await settle();
      clock.pause(500);
      assert.equal(pending.length, 2);
      GenServer.reply(pending[0], "late"); // the caller's call
      await clock.inner.advance(50);
      assert.equal(await downReason(callerRef), "killed");
      assert.equal(await downReason(timerRef), "killed");
      assert.deepEqual(ran, []);
      assert.equal(await GenServer.call(server, "ping"), "pong");
      await GenServer.stop(server);
    });
  });

  test("a process with no lease is not affected by one", async () => {
    await withPausable(async (clock) => {
      const ran: number[] = [];
      const [pid, ref] = spawnMonitor(async () => {
        sendAfter(30, self(), "tick");
        await receive((m) => m === "tick");
        ran.push(clock.now());
      });
      assert.equal(procOf(pid)!.lease, null);
      clock.pause(10_000);
      await clock.inner.advance(30);
      assert.equal(await downReason(ref), "normal");
      assert.deepEqual(ran, [10_030]);
    });
  });
});
