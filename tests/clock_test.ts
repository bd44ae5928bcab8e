// Clock: the virtual clock every timing test stands on, useClock, and
// delays past the platform's maximum on both clocks.
import { describe, test } from "./_harness.ts";
import assert from "node:assert/strict";
import { getClock, realClock, useClock, VirtualClock } from "../clock.ts";
import {
  MAX_TIMER_DELAY,
  platformClock,
  type PlatformTimers,
} from "../_platform_clock.ts";
import { exit, receive, spawnMonitor } from "../process.ts";
import * as GenServer from "../gen_server.ts";
import { TimeoutError } from "../errors.ts";
import { settle } from "./_helpers.ts";

describe("VirtualClock", () => {
  test("advance fires due timers in deadline order, ties in set order", async () => {
    const clock = new VirtualClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`c@${clock.now()}`), 30);
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 10);
    const cancelled = clock.setTimeout(() => fired.push("never"), 20);
    clock.clearTimeout(cancelled);
    assert.equal(clock.pending, 3);

    await clock.advance(9);
    assert.deepEqual(fired, []);
    await clock.advance(21);
    assert.deepEqual(fired, ["a@10", "b@10", "c@30"]);
    assert.equal(clock.now(), 30);
    assert.equal(clock.pending, 0);
  });

  test("useClock swaps the clock and its restore function puts it back", () => {
    assert.equal(getClock(), realClock);
    const clock = new VirtualClock();
    const restore = useClock(clock);
    try {
      assert.equal(getClock(), clock);
    } finally {
      restore();
    }
    assert.equal(getClock(), realClock);
    assert.throws(() => useClock({} as never), TypeError);
  });

  test("useClock() rejects a non-clock with a TypeError naming the argument", () => {
    assert.throws(() => useClock(null as never), {
      name: "TypeError",
      message:
        "Cannot use clock: 'clock' must have now, setTimeout and clearTimeout, got null",
    });
  });

  test("runAll() fires timers set while running, moving time to each deadline", async () => {
    const clock = new VirtualClock(100);
    const fired: number[] = [];
    clock.setTimeout(() => {
      fired.push(clock.now());
      clock.setTimeout(() => fired.push(clock.now()), 50);
    }, 10);
    await clock.runAll();
    assert.deepEqual(fired, [110, 160]);
    assert.equal(clock.pending, 0);
  });

  test("runAll() gives up on a timer that re-arms itself forever", async () => {
    const clock = new VirtualClock();
    const again = () => clock.setTimeout(again, 1);
    again();
    await assert.rejects(clock.runAll(5), {
      name: "RangeError",
      message:
        "Cannot runAll on VirtualClock: 5 timers fired and more are pending (a timer re-arms itself forever?)",
    });
    assert.equal(clock.pending, 1);
  });

  test("advance() and the constructor reject bad numbers", async () => {
    const clock = new VirtualClock();
    await assert.rejects(clock.advance(-1), {
      name: "RangeError",
      message:
        "Cannot advance VirtualClock: 'ms' must be a non-negative number, got -1",
    });
    assert.throws(() => new VirtualClock(NaN), {
      name: "RangeError",
      message:
        "Cannot create VirtualClock: 'start' must be a finite number, got NaN",
    });
  });

  test("clearTimeout() of an unknown handle is ignored", () => {
    const clock = new VirtualClock();
    clock.clearTimeout(12345);
    assert.equal(clock.pending, 0);
  });
});

/** A fake platform: records the raw timers armed, and fires them by hand. */
class FakeHost implements PlatformTimers {
  time = 0;
  nextId = 1;
  armed = new Map<number, { callback: () => void; ms: number }>();
  delays: number[] = [];
  cleared: number[] = [];
  now(): number {
    return this.time;
  }
  setTimeout(callback: () => void, ms: number): number {
    const id = this.nextId++;
    this.armed.set(id, { callback, ms });
    this.delays.push(ms);
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.cleared.push(handle as number);
    this.armed.delete(handle as number);
  }
  /** Lets the one armed timer's delay pass, and fires it. */
  fireNext(): void {
    assert.equal(this.armed.size, 1, "one platform timer armed");
    const [id, { callback, ms }] = [...this.armed][0];
    this.armed.delete(id);
    this.time += ms;
    callback();
  }
}

describe("realClock: delays past the platform maximum", () => {
  test("a delay within range goes to the platform unchanged", () => {
    const host = new FakeHost();
    const clock = platformClock(host);
    const callback = () => {};
    const handle = clock.setTimeout(callback, MAX_TIMER_DELAY);
    assert.deepEqual(host.delays, [MAX_TIMER_DELAY]);
    assert.equal([...host.armed.values()][0].callback, callback);
    clock.clearTimeout(handle);
    assert.deepEqual(host.cleared, [handle]);
    clock.setTimeout(callback, NaN); // the platform reads it as 0
    assert.ok(Number.isNaN(host.delays[1]));
  });

  test("1e308 arms one capped platform timer per 2^31-1 ms, never the callback early", () => {
    const host = new FakeHost();
    const clock = platformClock(host);
    let fired = 0;
    const handle = clock.setTimeout(() => fired++, 1e308);
    assert.deepEqual(host.delays, [MAX_TIMER_DELAY]);
    for (let i = 0; i < 5; i++) host.fireNext();
    assert.equal(fired, 0);
    assert.deepEqual(host.delays, Array(6).fill(MAX_TIMER_DELAY));
    clock.clearTimeout(handle);
    assert.equal(host.armed.size, 0, "the step armed now is cleared");
    assert.deepEqual(host.cleared, [6]);
  });

  test("a delay a little past the maximum: one capped step, then the rest, then the callback once", () => {
    const host = new FakeHost();
    const clock = platformClock(host);
    let firedAt = -1;
    clock.setTimeout(() => firedAt = host.now(), 3e9);
    host.fireNext();
    assert.equal(firedAt, -1);
    assert.deepEqual(host.delays, [MAX_TIMER_DELAY, 3e9 - MAX_TIMER_DELAY]);
    host.fireNext();
    assert.equal(firedAt, 3e9);
    assert.equal(host.armed.size, 0);
    assert.equal(host.delays.length, 2);
  });

  test("Infinity never fires and stays armed until cleared", () => {
    const host = new FakeHost();
    const clock = platformClock(host);
    let fired = false;
    const handle = clock.setTimeout(() => fired = true, Infinity);
    for (let i = 0; i < 3; i++) host.fireNext();
    assert.equal(fired, false);
    assert.equal(host.armed.size, 1);
    clock.clearTimeout(handle);
    assert.equal(host.armed.size, 0);
  });

  test("receive and call timeouts of 1e308 arm one platform timer, not one per turn", async () => {
    const original = globalThis.setTimeout;
    const long: number[] = [];
    globalThis.setTimeout = ((callback: () => void, ms?: number) => {
      if (ms !== undefined && ms >= MAX_TIMER_DELAY) long.push(ms);
      return original(callback, ms);
    }) as typeof setTimeout;
    const [waiter, wref] = spawnMonitor(async () => {
      await receive((m) => m === "never", { timeout: 1e308 });
    });
    const server = await GenServer.start({
      init: () => ["ok", null],
      handleCall: () => ["noreply", null],
    }, undefined);
    const [caller, cref] = spawnMonitor(() =>
      GenServer.call(server, "hang", { timeout: 1e308 })
    );
    try {
      for (let i = 0; i < 20; i++) await settle();
      assert.deepEqual(long, [MAX_TIMER_DELAY]);
    } finally {
      globalThis.setTimeout = original;
      exit(waiter, "kill");
      exit(caller, "kill");
      await GenServer.stop(server);
      await receive((m) => Array.isArray(m) && m[1] === wref);
      await receive((m) => Array.isArray(m) && m[1] === cref);
      await settle();
    }
  });
});

describe("VirtualClock: long delays", () => {
  test("a timer at 1e308 fires when runAll jumps there, once", async () => {
    const clock = new VirtualClock();
    let fired = 0;
    clock.setTimeout(() => fired++, 1e308);
    await clock.advance(1e300);
    assert.equal(fired, 0);
    await clock.runAll(2);
    assert.equal(fired, 1);
    assert.equal(clock.now(), 1e308);
    assert.equal(clock.pending, 0);
    // Past Number.MAX_VALUE a finite delay still fires (at MAX_VALUE).
    clock.setTimeout(() => fired++, 1e308 * 1.7);
    await clock.runAll(2);
    assert.equal(fired, 2);
    assert.equal(clock.now(), Number.MAX_VALUE);
  });

  test("a timer set for Infinity never fires: runAll leaves it, advance(Infinity) is refused", async () => {
    const clock = new VirtualClock();
    let fired = false;
    const handle = clock.setTimeout(() => fired = true, Infinity);
    clock.setTimeout(() => {}, 5);
    await clock.runAll();
    assert.equal(fired, false);
    assert.equal(clock.pending, 1);
    assert.equal(clock.now(), 5);
    await assert.rejects(clock.advance(Infinity), {
      name: "RangeError",
      message:
        "Cannot advance VirtualClock: 'ms' must be finite (use runAll() to fire every timer that can fire), got Infinity",
    });
    await clock.advance(Number.MAX_VALUE);
    assert.equal(fired, false);
    clock.clearTimeout(handle);
    assert.equal(clock.pending, 0);
  });

  test("a receive timeout of 1e308 arms one virtual timer and times out once on runAll", async () => {
    let armed = 0;
    class Counting extends VirtualClock {
      override setTimeout(callback: () => void, ms: number) {
        armed++;
        return super.setTimeout(callback, ms);
      }
    }
    const clock = new Counting();
    const restore = useClock(clock);
    try {
      const pending = receive((m) => m === "never", { timeout: 1e308 })
        .catch((e) => e);
      await clock.advance(1e12);
      assert.equal(armed, 1);
      await clock.runAll(3);
      assert.ok(await pending instanceof TimeoutError);
      assert.equal(armed, 1);
      await settle();
      assert.equal(clock.pending, 0);
    } finally {
      restore();
    }
  });
});
