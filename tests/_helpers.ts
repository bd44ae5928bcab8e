// Test helpers: virtual time, mailbox hygiene, and assertions on exits.
import assert from "node:assert/strict";
import { useClock, VirtualClock } from "../clock.ts";
import {
  exit,
  isAlive,
  type Pid,
  receive,
  type Ref,
  trapExit,
} from "../process.ts";
import { TimeoutError } from "../errors.ts";
import { schedulerBusy } from "../_runtime.ts";

// The tests' top-level code is their test process: like an OTP test case that
// calls process_flag(trap_exit, true), it gets every EXIT as a message,
// normal ones too (main ignores those by default: process.ts).
trapExit(true);

/**
 * Runs `fn` with a fresh VirtualClock installed, restoring the previous clock
 * after; fails if `fn` left virtual timers pending.
 */
export async function withClock(
  fn: (clock: VirtualClock) => Promise<void>,
): Promise<void> {
  const clock = new VirtualClock();
  const restore = useClock(clock);
  try {
    await fn(clock);
    await settle();
    assert.equal(clock.pending, 0, "virtual timers left pending");
  } finally {
    restore();
  }
}

/**
 * Lets every queued microtask and delivery run: one macrotask turn, and more
 * while the scheduler still has work (after 20 ms of work it yields to
 * timers, so on a loaded machine one turn may not be enough), at most 100.
 */
export async function settle(): Promise<void> {
  for (let turns = 0; turns < 100; turns++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    if (!schedulerBusy()) return;
  }
}

/** Removes and returns every message in the caller's mailbox. */
export async function flush(): Promise<unknown[]> {
  await settle();
  const out: unknown[] = [];
  for (;;) {
    try {
      out.push(await receive(undefined, { timeout: 0 }));
    } catch (e) {
      if (e instanceof TimeoutError) return out;
      throw e;
    }
  }
}

/** The next message matching `predicate`, or the test fails (no waiting). */
export async function next(
  predicate: (m: unknown) => boolean = () => true,
): Promise<unknown> {
  await settle();
  return await receive(predicate, { timeout: 0 });
}

/** Whether a message is `["DOWN", ref, ...]`. */
export function isDown(ref: Ref): (m: unknown) => boolean {
  return (m) => Array.isArray(m) && m[0] === "DOWN" && m[1] === ref;
}

/** Whether a message is `["EXIT", pid, ...]`. */
export function isExit(pid: Pid): (m: unknown) => boolean {
  return (m) => Array.isArray(m) && m[0] === "EXIT" && m[1] === pid;
}

/** Waits for the DOWN of `ref` and returns its reason. */
export async function downReason(ref: Ref): Promise<unknown> {
  const m = await receive(isDown(ref), { timeout: Infinity }) as unknown[];
  return m[4];
}

/** Waits for `["EXIT", pid, reason]` and returns the reason. */
export async function exitReason(pid: Pid): Promise<unknown> {
  const m = await receive(isExit(pid)) as unknown[];
  return m[2];
}

/** Asserts the caller's mailbox is empty (no stray messages). */
export async function assertNoMessages(): Promise<void> {
  const stray = await flush();
  assert.deepEqual(stray, [], "no stray messages expected");
}

/** A body that waits forever (until killed). */
export async function forever(): Promise<void> {
  await receive((m) => m === "never" + Math.random());
}

/** Kills every pid still alive, then flushes the mailbox. */
export async function cleanup(...pids: (Pid | undefined)[]): Promise<void> {
  for (const pid of pids) {
    if (pid !== undefined && isAlive(pid)) exit(pid, "kill");
  }
  await flush();
  trapExit(true);
}
