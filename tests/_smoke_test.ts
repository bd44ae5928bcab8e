// Smoke test of the test pipeline: runs on Deno (sources), and on Node and
// Bun (against the built package in dist/npm). See scripts/test.ts.
import { describe, test } from "./_harness.ts";
import assert from "node:assert/strict";
import { getClock, realClock, useClock, VirtualClock } from "../clock.ts";

describe("smoke: VirtualClock", () => {
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
});
