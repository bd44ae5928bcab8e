// Clock: the virtual clock every timing test stands on, and useClock.
import { describe, test } from "./_harness.ts";
import assert from "node:assert/strict";
import { getClock, realClock, useClock, VirtualClock } from "../clock.ts";

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
        "VirtualClock.runAll() fired 5 timers and more are pending: a timer re-arms itself forever?",
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
