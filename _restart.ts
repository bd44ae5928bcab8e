// Restart arithmetic shared by the supervisor-like modules (supervisor,
// director, tracker): which exits are clean, restart intensity over a
// sliding window (OTP's add_restart), the backoff delay, and the one
// delayed-restart timer. Pure functions of their arguments (the window is
// a queue updated in place, so a burst of restarts costs the same per
// restart however many are in it); the modules decide what to do with the
// answers.

import { deliver, type Proc } from "./_runtime.ts";
import { cancelTimeout, startTimeout, Timed } from "./_timers.ts";
import { isCleanExit, isInstance } from "./_safe.ts";

/** What a child's exit calls for (see {@linkcode exitAction}). */
export type ExitAction = "restart" | "keep" | "remove";

/**
 * OTP's `do_restart` (Elixir's `maybe_restart_child`) as a pure function:
 * what a child's restart type makes of its exit reason. A temporary child
 * is removed; a transient one that exited cleanly (`isCleanExit` in `_safe.ts`)
 * is kept, stopped; anything else restarts. The module decides what
 * `"keep"` means for it (a dynamic supervisor removes the child, the
 * tracker forgets it) and how to restart (at once, delayed, a group).
 */
export function exitAction(
  restart: "permanent" | "transient" | "temporary",
  reason: unknown,
): ExitAction {
  if (restart === "temporary") return "remove";
  if (restart === "transient" && isCleanExit(reason)) return "keep";
  return "restart";
}

/**
 * Restart times within the intensity window, oldest first:
 * `times[head..]` (a queue; `head` skips the ones that fell out).
 */
export interface RestartWindow {
  times: number[];
  head: number;
}

/** An empty restart window. */
export function restartWindow(): RestartWindow {
  return { times: [], head: 0 };
}

/**
 * OTP's `add_restart`: records a restart at `now` in `window`, dropping the
 * times older than `periodMs`; returns false if that makes more than
 * `intensity` restarts in the window (the supervisor gives up). Times are
 * kept to the millisecond (OTP: whole seconds).
 */
export function addRestart(
  window: RestartWindow,
  now: number,
  periodMs: number,
  intensity: number,
): boolean {
  const since = now - periodMs;
  const r = window.times;
  let head = window.head;
  while (head < r.length && r[head] < since) head++;
  if (head > 1024 && head * 2 > r.length) {
    window.times = r.slice(head);
    head = 0;
  }
  window.head = head;
  window.times.push(now);
  return window.times.length - head <= intensity;
}

/**
 * How many restarts of `window` fall within the last `periodMs` before
 * `now` (reads only: for system.ts's supervisionTrees()).
 */
export function restartsInWindow(
  window: RestartWindow,
  now: number,
  periodMs: number,
): number {
  const since = now - periodMs;
  const r = window.times;
  let n = 0;
  for (let i = r.length - 1; i >= window.head && r[i] >= since; i--) n++;
  return n;
}

/** A restart delay rule (the modules' normalised `backoff` option). */
export interface BackoffRule {
  readonly initial: number;
  readonly max: number;
  readonly factor: number;
  readonly jitter: number;
}

/**
 * The delay of the `n`-th consecutive restart (0-based):
 * `min(max, initial * factor ** n)`, less up to `jitter` of it at random
 * (`random()` in [0, 1)), rounded to whole ms.
 */
export function backoffDelay(
  rule: BackoffRule,
  n: number,
  random: () => number = Math.random,
): number {
  const base = Math.min(rule.max, rule.initial * rule.factor ** n);
  return Math.round(base - base * rule.jitter * random());
}

/**
 * A delayed restart of `child`, due at `at` on the injected clock. When it
 * expires it puts a {@linkcode Due} in `proc`'s mailbox (not itself:
 * gen_server takes timers in its mailbox for its own), so the restart runs
 * in turn with the requests and exits queued before it. The owner keeps the
 * timer on its child and compares on arrival: a timer that is no longer the
 * child's was cancelled.
 */
export class RestartTimer<C> extends Timed {
  constructor(
    readonly proc: Proc,
    readonly child: C,
    readonly at: number,
  ) {
    super();
  }

  expire(): void {
    deliver(this.proc, new Due(this));
  }
}

/** A delayed restart is due (see {@linkcode RestartTimer}). */
export class Due<C> {
  constructor(readonly timer: RestartTimer<C>) {}
}

/** Starts a delayed restart of `child` in `delay` ms from `now`. */
export function startRestartTimer<C>(
  proc: Proc,
  child: C,
  now: number,
  delay: number,
): RestartTimer<C> {
  const timer = new RestartTimer(proc, child, now + delay);
  startTimeout(timer, delay);
  return timer;
}

/** Cancels a delayed restart (idempotent). */
export function cancelRestartTimer<C>(timer: RestartTimer<C>): void {
  cancelTimeout(timer);
}

/**
 * A restart to try again at once, after the requests and exits already
 * queued (a failed restart without a delay): put in the owner's mailbox
 * as it is. `reason` is the failure that caused it.
 */
export class Retry<C> {
  constructor(readonly child: C, readonly reason: unknown) {}
}

/** Puts a {@linkcode Retry} of `child` in `proc`'s mailbox; returns it. */
export function retrySoon<C>(proc: Proc, child: C, reason: unknown): Retry<C> {
  const retry = new Retry(child, reason);
  deliver(proc, retry);
  return retry;
}

/**
 * A child's pending restart: delayed (a timer, due at its `at`), or at once
 * (a Retry in the mailbox). The owner keeps it in the child's state; the
 * message that arrives for it counts only if it is still the child's.
 */
export type PendingRestart = RestartTimer<unknown> | Retry<unknown>;

/** Cancels a pending restart (a Retry already in the mailbox is ignored). */
export function cancelPending(pending: PendingRestart): void {
  if (pending instanceof RestartTimer) cancelTimeout(pending);
}

/** The pending restart a Due or Retry message stands for, or undefined. */
export function pendingOf(msg: unknown): PendingRestart | undefined {
  // Guarded: any process may send anything (a Proxy whose traps throw).
  return isInstance(msg, Due)
    ? msg.timer as RestartTimer<unknown>
    : isInstance(msg, Retry)
    ? msg
    : undefined;
}

/** When a pending restart is due (a timer's `at`), else undefined. */
export function restartAt(pending: PendingRestart | null): number | undefined {
  return pending instanceof RestartTimer ? pending.at : undefined;
}
