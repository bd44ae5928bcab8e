/**
 * Timers bound to processes: OTP's `erlang:send_after`, `erlang:start_timer`,
 * `erlang:cancel_timer`, `erlang:read_timer` and the `timer` module's
 * `send_interval`, `exit_after`, `kill_after` and `apply_after`.
 *
 * ## Why not `setTimeout`
 * A raw `setTimeout` callback runs outside every process. If it throws, the
 * throw is the runtime's uncaught exception: it is not turned into an exit
 * reason, no link or supervisor hears of it, and by default it ends the OS
 * process (Node, Deno, Bun). Nothing cancels it when the process that set it
 * dies, so it keeps acting for a process that is gone. The timers here are
 * contained:
 * - {@linkcode applyAfter} runs its callback *as the process that started the
 *   timer* (`self()` is that process, in sync and `async` callbacks), and a
 *   throw or a rejection crashes that process only, with the thrown value as
 *   its exit reason, as if its body had thrown: links and monitors hear of
 *   it as usual, nothing else is disturbed, the OS process never dies;
 * - {@linkcode sendAfter} and {@linkcode startTimer} turn time into a message,
 *   handled where the process handles all its messages (often the better
 *   choice: it is serialised with the process's other work);
 * - every timer dies with the process that started it.
 *
 * ## Which process a timer belongs to
 * A timer belongs to the process that started it (its *owner*: the caller of
 * `sendAfter` and friends, or the main process at top level) and is cancelled
 * when its owner dies. A timer aimed at a pid (the `dest` of
 * {@linkcode sendAfter}, {@linkcode startTimer}, {@linkcode sendInterval},
 * the `pid` of {@linkcode exitAfter}, {@linkcode killAfter}) is also cancelled
 * when that pid dies, as OTP does for `erlang:send_after`: nothing could
 * arrive anyway. A timer aimed at a dead pid is cancelled at once (its ref
 * reads `false`). A registered name is looked up each time the timer fires;
 * if nobody holds it then, the message (or exit signal) is dropped, without
 * an error, and an interval keeps going.
 *
 * ## Cancelling and reading
 * Each function returns a {@linkcode TimerRef} (a `Ref`).
 * {@linkcode cancelTimer} stops the timer and returns the milliseconds that
 * were left (on the real clock, a fraction: JS time is not whole
 * milliseconds), or `false` if it had already fired, been cancelled or died with
 * a process (OTP's result). {@linkcode readTimer} returns the same without
 * cancelling. Any process holding the ref may cancel it. Cancelling does not
 * take back a message already delivered: a `sendAfter` message may be in the
 * mailbox when `cancelTimer` returns `false`.
 *
 * ## Time
 * Timers run on the clock current when they start (`getClock()`, see
 * `clock.ts`), so tests drive them with a `VirtualClock` and never sleep.
 * `ms` is a non-negative number of milliseconds (fractions are fine), or
 * `Infinity` for a timer that never fires (it still reads, cancels and dies
 * with its process; it costs no clock timer). Any finite delay works, even
 * beyond the platform's 2^31-1 ms limit (the clock re-arms). A timer of 0 ms
 * fires on a later turn, never inside the call that started it.
 *
 * ## Differences from OTP, and why
 * - **Owner death cancels every timer.** `erlang:send_after` survives its
 *   creator, and `timer:apply_after` and `exit_after` belong to the timer
 *   server. Here a timer dies with the process that started it, as a JS user
 *   expects of work started by a unit that is gone (an aborted `fetch`, a
 *   closed scope), and so that a crashed and restarted worker's leftover
 *   timers never act on its successor's behalf. To outlive its creator, a
 *   timer must be started by a longer-lived process.
 * - **`applyAfter` runs in the owner, not in a new process.** OTP spawns a
 *   process for `apply_after`; here the callback is what a JS user hands to
 *   `setTimeout`, made safe: it runs as the owner, so it can use the
 *   owner's tables and mailbox, and its failure is the owner's. It runs when
 *   the timer fires, interleaved with the owner's own code as any callback
 *   is: it does not wait for a busy gen_server to finish a message (send a
 *   message with {@linkcode sendAfter} for that).
 * - **`exitAfter` signals from the owner.** OTP's `exit_after` signal comes
 *   from the timer server; here it is `exit(pid, reason)` called by the owner
 *   when the timer fires: a trapping target gets `["EXIT", owner, reason]`,
 *   and `exitAfter(ms, self(), "normal")` ends the owner as `exit(self(),
 *   "normal")` does. A timer aimed at a pid that died is cancelled (OTP's
 *   would fire at a dead pid, to no effect).
 * - **`sendInterval` to a name** looks the name up at each tick; OTP monitors
 *   the process holding the name when the interval starts and stops with it.
 *   A `sendInterval` of 0 ms is refused (OTP accepts it and floods the
 *   destination).
 * - Intervals do not drift: tick `n` is due `n × ms` after the start, as in
 *   OTP; ticks delayed by a busy event loop are sent late, none is skipped.
 * - No `{ async, info }` options for `cancelTimer`, no absolute times, and
 *   `timer:cancel`'s `{ok, cancel}` is folded into `cancelTimer`.
 *
 * ```ts
 * import { sendAfter, startTimer, cancelTimer } from "@steward/steward/timer";
 * import { receive, self } from "@steward/steward/process";
 *
 * sendAfter(10, self(), "tick");
 * console.assert(await receive((m) => m === "tick") === "tick");
 *
 * const ref = startTimer(10, self(), "job");
 * const [tag, r, msg] = await receive(
 *   (m) => Array.isArray(m) && m[0] === "timeout",
 * ) as [string, unknown, string];
 * console.assert(tag === "timeout" && r === ref && msg === "job");
 * console.assert(cancelTimer(ref) === false); // it has fired
 * ```
 *
 * @module
 */

import { applyAs } from "./_context.ts";
import {
  currentProc,
  deliver,
  type DownWatcher,
  exitSignal,
  kill,
  leaseLapsed,
  newRef,
  Pid,
  type Proc,
  procOf,
  Ref,
  thrownReason,
  unwatch,
  watch,
  whereisName,
} from "./_runtime.ts";
import { cancelTimeout, startTimeout, Timed } from "./_timers.ts";
import { type Clock, getClock, type TimerHandle } from "./clock.ts";
import { ExitError } from "./errors.ts";
import { formatTerm } from "./_format.ts";
import type { Dest } from "./process.ts";

/**
 * The reference naming a timer: a {@linkcode Ref}, compared with `===`, the
 * second element of {@linkcode startTimer}'s `["timeout", ref, message]`.
 */
export type TimerRef = Ref;

// What a timer does when it fires.
type Action = "send" | "timeout" | "interval" | "exit" | "apply";

// Timers alive (not fired, cancelled nor dead with a process), by ref: how
// cancelTimer and readTimer find them. A fired one-shot or a cancelled timer
// leaves at once, so the map holds live timers only.
const timers = new Map<Ref, Timer>();

/**
 * One timer. One-shot timers ride the shared per-duration lists of
 * `_timers.ts`: timers of one length share one clock timer, and starting or
 * cancelling one is a list operation (a server that restarts its idle timer
 * on every message pays no setTimeout/clearTimeout). An interval arms its own
 * clock timer, since its next delay comes from its schedule (no drift).
 * It watches its owner (and its target pid, if another process) as a
 * DownWatcher: their death cancels it, in O(1), without a hook list.
 */
class Timer extends Timed implements DownWatcher {
  /** Its name for cancelTimer and readTimer. */
  readonly ref: Ref = newRef();
  /** The clock it runs on (the one current when it started). */
  readonly clock: Clock;
  /** The period of an interval, 0 for a one-shot. */
  readonly period: number;
  /** An interval's clock timer, while armed. */
  handle: TimerHandle | undefined = undefined;
  /** Until fired or cancelled. */
  live = true;
  // Its work, dropped once it is done (so a fired timer holds nothing).
  /** A message, an exit reason, or the function to apply. */
  payload: unknown;
  args: readonly unknown[] | undefined;
  readonly #tick: (() => void) | undefined;

  constructor(
    /** The process that started it; it dies with it. */
    readonly owner: Proc,
    readonly action: Action,
    /** The pid it aims at (watched), or null (a name, or applyAfter). */
    readonly target: Proc | null,
    /** A registered name it aims at, looked up when it fires. */
    readonly name: string | undefined,
    payload: unknown,
    args: readonly unknown[] | undefined,
    ms: number,
    period: number,
  ) {
    super();
    this.payload = payload;
    this.args = args;
    this.period = period;
    const clock = this.clock = getClock();
    if (period > 0) this.#tick = () => this.tick();
    timers.set(this.ref, this);
    watch(owner, this);
    if (target !== null && target !== owner) watch(target, this);
    if (ms === Infinity) {
      this.tDeadline = Infinity;
    } else if (period > 0) {
      this.tDeadline = clock.now() + ms;
      this.handle = clock.setTimeout(this.#tick!, ms);
    } else {
      startTimeout(this, ms, clock);
    }
  }

  /** Milliseconds until it fires (Infinity: never), at least 0. */
  left(): number {
    const left = this.tDeadline - this.clock.now();
    return left > 0 ? left : 0;
  }

  /** Stops it for good; returns whether it was live. Idempotent. */
  stop(): boolean {
    if (!this.live) return false;
    this.live = false;
    timers.delete(this.ref);
    if (this.handle !== undefined) {
      this.clock.clearTimeout(this.handle);
      this.handle = undefined;
    }
    cancelTimeout(this);
    unwatch(this.owner, this);
    if (this.target !== null && this.target !== this.owner) {
      unwatch(this.target, this);
    }
    return true;
  }

  /** Its owner or its target died (DownWatcher): it goes with them. */
  down(): void {
    this.stop();
    this.payload = this.args = undefined;
  }

  /** A one-shot is due (called by its TimerList). Never throws. */
  expire(): void {
    // An owner past its lease (cluster_tracker.ts) is killed, and with it
    // its timers: nothing of it runs.
    if (this.owner.lease !== null && leaseLapsed(this.owner)) return;
    if (!this.stop()) return;
    const payload = this.payload;
    this.payload = undefined;
    switch (this.action) {
      case "send":
        this.send(payload);
        return;
      case "timeout":
        this.send(["timeout", this.ref, payload]);
        return;
      case "exit": {
        const to = this.destination();
        if (to !== undefined) exitSignal(this.owner, to, payload, false);
        return;
      }
      case "apply": {
        const args = this.args!;
        this.args = undefined;
        applyIn(this.owner, payload as (...args: unknown[]) => unknown, args);
        return;
      }
    }
  }

  /** An interval is due: send, then arm the next tick on schedule. */
  tick(): void {
    this.handle = undefined;
    if (!this.live) return;
    if (this.owner.lease !== null && leaseLapsed(this.owner)) return;
    this.send(this.payload);
    this.tDeadline += this.period;
    const delay = this.tDeadline - this.clock.now();
    this.handle = this.clock.setTimeout(this.#tick!, delay > 0 ? delay : 0);
  }

  /** The live process the timer aims at now, if any. */
  destination(): Proc | undefined {
    if (this.target !== null) return this.target;
    return whereisName(this.name!);
  }

  /** Delivers `message` to the destination, if there is one now. */
  send(message: unknown): void {
    const to = this.destination();
    if (to !== undefined) deliver(to, message);
  }
}

/**
 * Runs `fn(...args)` as `owner`; a throw or a rejection ends `owner` with
 * the thrown value as its reason (an ExitError: its reason), as a body's
 * would. Never throws, whatever `fn` returns (a hostile thenable included).
 */
function applyIn(
  owner: Proc,
  fn: (...args: unknown[]) => unknown,
  args: readonly unknown[],
): void {
  const crash = (error: unknown) => kill(owner, thrownReason(error));
  try {
    const result = applyAs(owner, fn, args);
    if (
      result !== null &&
      (typeof result === "object" || typeof result === "function")
    ) {
      const then = (result as { then?: unknown }).then;
      if (typeof then === "function") then.call(result, undefined, crash);
    }
  } catch (error) {
    crash(error);
  }
}

// ------------------------------------------------------------ arguments --

/** A value for an error message; never throws, whatever the value. */
function show(value: unknown): string {
  try {
    return formatTerm(value);
  } catch {
    try {
      return Object.prototype.toString.call(value);
    } catch {
      return "an unprintable value";
    }
  }
}

function checkMs(op: string, ms: unknown, interval: boolean): number {
  if (typeof ms !== "number") {
    throw new TypeError(
      `Cannot ${op}: 'ms' must be a number, got ${show(ms)}`,
    );
  }
  if (interval ? !(ms > 0) : !(ms >= 0)) {
    throw new RangeError(
      `Cannot ${op}: 'ms' must be a ${
        interval ? "positive" : "non-negative"
      } number or Infinity, got ${ms}`,
    );
  }
  return ms;
}

/** `value instanceof C`, false for a Proxy whose traps throw. */
function isA(value: unknown, C: typeof Pid | typeof Ref): boolean {
  try {
    return value instanceof C;
  } catch {
    return false;
  }
}

function checkDest(op: string, arg: string, dest: unknown): void {
  if (!isA(dest, Pid) && (typeof dest !== "string" || dest === "")) {
    throw new TypeError(
      `Cannot ${op}: '${arg}' must be a Pid or a registered name, got ${
        show(dest)
      }`,
    );
  }
}

function checkRef(op: string, ref: unknown): asserts ref is Ref {
  if (!isA(ref, Ref)) {
    throw new TypeError(`Cannot ${op}: 'ref' must be a Ref, got ${show(ref)}`);
  }
}

/**
 * The calling process, which must be alive: code that runs on after its
 * process was killed (JS cannot stop it) may not start timers.
 */
function liveCaller(): Proc {
  const caller = currentProc();
  if (caller.dead) throw new ExitError(caller.reason);
  return caller;
}

/** Starts a timer aimed at `dest`, or returns a dead ref for a dead pid. */
function aimed(
  action: Action,
  ms: number,
  dest: Dest,
  payload: unknown,
  period: number,
): Ref {
  const owner = liveCaller();
  if (dest instanceof Pid) {
    const target = procOf(dest);
    if (target.dead) return newRef(); // cancelled at once: reads false
    return new Timer(
      owner,
      action,
      target,
      undefined,
      payload,
      undefined,
      ms,
      period,
    ).ref;
  }
  return new Timer(owner, action, null, dest, payload, undefined, ms, period)
    .ref;
}

// ------------------------------------------------------------------ API --

/**
 * Sends `message` to `dest` in `ms` milliseconds (`erlang:send_after`). The
 * timer belongs to the caller and is cancelled if the caller dies, or if
 * `dest` is a pid and that process dies; a name is looked up when the timer
 * fires (nobody registered: the message is dropped).
 *
 * @param ms the delay: a non-negative number, or `Infinity` (never).
 * @param dest a pid or a registered name.
 * @param message any value, delivered by reference.
 * @returns the timer's reference, for {@linkcode cancelTimer} and
 *   {@linkcode readTimer}.
 * @throws {TypeError} if `ms` is not a number or `dest` neither a pid nor a
 *   non-empty string.
 * @throws {RangeError} if `ms` is negative or `NaN`.
 * @throws {ExitError} if called by a process that has already exited.
 *
 * @example
 * ```ts
 * import { sendAfter } from "@steward/steward/timer";
 * import { receive, self } from "@steward/steward/process";
 * import { useClock, VirtualClock } from "@steward/steward/clock";
 *
 * const clock = new VirtualClock();
 * const restore = useClock(clock);
 * try {
 *   sendAfter(1000, self(), "wake up");
 *   const got = receive((m) => m === "wake up");
 *   await clock.advance(1000);
 *   console.assert(await got === "wake up");
 * } finally {
 *   restore();
 * }
 * ```
 */
export function sendAfter(
  ms: number,
  dest: Dest,
  message: unknown,
): TimerRef {
  checkMs("sendAfter", ms, false);
  checkDest("sendAfter", "dest", dest);
  return aimed("send", ms, dest, message, 0);
}

/**
 * The message {@linkcode startTimer} delivers: `["timeout", ref, message]`.
 */
export type TimeoutMessage<M = unknown> = readonly ["timeout", TimerRef, M];

/**
 * Whether `message` is a {@linkcode TimeoutMessage} (of timer `ref`, if
 * given). A type guard: `receive(isTimeout)` resolves to a
 * `TimeoutMessage`. Never throws.
 *
 * @param message any value.
 * @param ref only the message of this timer.
 * @returns whether it is one.
 *
 * @example
 * ```ts
 * import { isTimeout, startTimer } from "@steward/steward/timer";
 * import { receive, self } from "@steward/steward/process";
 * const ref = startTimer(0, self(), "tick");
 * const [, r, msg] = await receive((m) => isTimeout(m, ref));
 * console.assert(r === ref && msg === "tick");
 * ```
 */
export function isTimeout(
  message: unknown,
  ref?: TimerRef,
): message is TimeoutMessage {
  // A Proxy may throw from any trap: such a message is simply no match.
  try {
    return Array.isArray(message) && message.length === 3 &&
      message[0] === "timeout" && message[1] instanceof Ref &&
      (ref === undefined || message[1] === ref);
  } catch {
    return false;
  }
}

/**
 * Like {@linkcode sendAfter}, but delivers `["timeout", ref, message]`,
 * where `ref` is the returned reference (`erlang:start_timer`): a process can
 * tell a stale timeout from the current one by its ref.
 *
 * @param ms the delay: a non-negative number, or `Infinity` (never).
 * @param dest a pid or a registered name.
 * @param message any value.
 * @returns the timer's reference, also the second element of the message.
 * @throws {TypeError} if `ms` is not a number or `dest` neither a pid nor a
 *   non-empty string.
 * @throws {RangeError} if `ms` is negative or `NaN`.
 * @throws {ExitError} if called by a process that has already exited.
 *
 * @example
 * ```ts
 * import { startTimer } from "@steward/steward/timer";
 * import { receive, self } from "@steward/steward/process";
 *
 * const ref = startTimer(5, self(), "poll");
 * const msg = await receive(
 *   (m) => Array.isArray(m) && m[0] === "timeout" && m[1] === ref,
 * ) as unknown[];
 * console.assert(msg[2] === "poll");
 * ```
 */
export function startTimer(
  ms: number,
  dest: Dest,
  message: unknown,
): TimerRef {
  checkMs("startTimer", ms, false);
  checkDest("startTimer", "dest", dest);
  return aimed("timeout", ms, dest, message, 0);
}

/**
 * Sends `message` to `dest` every `ms` milliseconds (`timer:send_interval`)
 * until cancelled with {@linkcode cancelTimer}, or until the caller dies, or
 * `dest` (a pid) dies. Ticks follow the schedule (the n-th is due `n × ms`
 * after the start), so the interval does not drift.
 *
 * @param ms the period: a positive number, or `Infinity` (never).
 * @param dest a pid or a registered name (looked up at each tick).
 * @param message any value, the same one sent at every tick.
 * @returns the timer's reference; {@linkcode readTimer} gives the time to
 *   the next tick.
 * @throws {TypeError} if `ms` is not a number or `dest` neither a pid nor a
 *   non-empty string.
 * @throws {RangeError} if `ms` is not positive.
 * @throws {ExitError} if called by a process that has already exited.
 *
 * @example
 * ```ts
 * import { cancelTimer, sendInterval } from "@steward/steward/timer";
 * import { receive, self } from "@steward/steward/process";
 * import { useClock, VirtualClock } from "@steward/steward/clock";
 *
 * const clock = new VirtualClock();
 * const restore = useClock(clock);
 * try {
 *   const ref = sendInterval(100, self(), "tick");
 *   await clock.advance(300);
 *   for (let i = 0; i < 3; i++) await receive((m) => m === "tick", { timeout: 0 });
 *   console.assert(cancelTimer(ref) === 100);
 * } finally {
 *   restore();
 * }
 * ```
 */
export function sendInterval(
  ms: number,
  dest: Dest,
  message: unknown,
): TimerRef {
  checkMs("sendInterval", ms, true);
  checkDest("sendInterval", "dest", dest);
  return aimed("interval", ms, dest, message, ms);
}

/**
 * Sends an exit signal with `reason` to `pid` in `ms` milliseconds
 * (`timer:exit_after`): when it fires, the owner calls `exit(pid, reason)`,
 * with that function's rules (`"kill"` cannot be trapped; a trapping target
 * gets `["EXIT", owner, reason]`; `"normal"` ends only the owner itself).
 * Cancelled if the owner or `pid` dies first.
 *
 * @param ms the delay: a non-negative number, or `Infinity` (never).
 * @param pid the process to signal (or a registered name, looked up when
 *   the timer fires).
 * @param reason the exit reason.
 * @returns the timer's reference.
 * @throws {TypeError} if `ms` is not a number or `pid` neither a pid nor a
 *   non-empty string.
 * @throws {RangeError} if `ms` is negative or `NaN`.
 * @throws {ExitError} if called by a process that has already exited.
 *
 * @example
 * ```ts
 * import { exitAfter } from "@steward/steward/timer";
 * import { receive, spawnMonitor } from "@steward/steward/process";
 *
 * const [pid, ref] = spawnMonitor(() => receive());
 * exitAfter(5, pid, "too slow");
 * const down = await receive((m) => Array.isArray(m) && m[1] === ref) as unknown[];
 * console.assert(down[4] === "too slow");
 * ```
 */
export function exitAfter(
  ms: number,
  pid: Dest,
  reason: unknown,
): TimerRef {
  checkMs("exitAfter", ms, false);
  checkDest("exitAfter", "pid", pid);
  return aimed("exit", ms, pid, reason, 0);
}

/**
 * Kills `pid` in `ms` milliseconds: {@linkcode exitAfter} with reason
 * `"kill"` (`timer:kill_after`), so it dies with `"killed"`, trapping or not.
 *
 * @param ms the delay: a non-negative number, or `Infinity` (never).
 * @param pid the process to kill (or a registered name).
 * @returns the timer's reference.
 * @throws {TypeError} if `ms` is not a number or `pid` neither a pid nor a
 *   non-empty string.
 * @throws {RangeError} if `ms` is negative or `NaN`.
 * @throws {ExitError} if called by a process that has already exited.
 *
 * @example
 * ```ts
 * import { killAfter } from "@steward/steward/timer";
 * import { receive, spawnMonitor, trapExit } from "@steward/steward/process";
 *
 * const [pid, ref] = spawnMonitor(() => {
 *   trapExit(true);
 *   return receive((m) => m === "never");
 * });
 * killAfter(5, pid);
 * const down = await receive((m) => Array.isArray(m) && m[1] === ref) as unknown[];
 * console.assert(down[4] === "killed");
 * ```
 */
export function killAfter(ms: number, pid: Dest): TimerRef {
  checkMs("killAfter", ms, false);
  checkDest("killAfter", "pid", pid);
  return aimed("exit", ms, pid, "kill", 0);
}

/**
 * Calls `fn(...args)` in `ms` milliseconds, *as the calling process*
 * (`timer:apply_after`, run in the caller rather than a new process):
 * `self()` inside `fn` is the caller, also after `await` in an `async` `fn`.
 * If `fn` throws (or its promise rejects), the caller exits with what was
 * thrown as its reason (an `ExitError`'s `reason`), as if its body had
 * thrown: its links and monitors hear of it, nothing else is affected. The
 * call is cancelled if the caller dies first. Use this instead of a raw
 * `setTimeout`, whose throw would be uncaught.
 *
 * @param ms the delay: a non-negative number, or `Infinity` (never).
 * @param fn the function to call; what it returns is ignored.
 * @param args the arguments to call it with.
 * @returns the timer's reference.
 * @throws {TypeError} if `ms` is not a number or `fn` not a function.
 * @throws {RangeError} if `ms` is negative or `NaN`.
 * @throws {ExitError} if called by a process that has already exited.
 *
 * @example
 * ```ts
 * import { applyAfter } from "@steward/steward/timer";
 * import { receive, self, send, spawnMonitor } from "@steward/steward/process";
 *
 * const main = self();
 * const [worker, ref] = spawnMonitor(async () => {
 *   applyAfter(5, (who: string) => send(main, [who, self()]), "hello");
 *   applyAfter(10, () => {
 *     throw new Error("boom"); // crashes this worker only
 *   });
 *   await receive((m) => m === "never");
 * });
 * const [greeting, from] = await receive((m) => Array.isArray(m) && m[0] === "hello") as unknown[];
 * console.assert(greeting === "hello" && from === worker);
 * const down = await receive((m) => Array.isArray(m) && m[1] === ref) as unknown[];
 * console.assert((down[4] as Error).message === "boom");
 * ```
 */
export function applyAfter<A extends unknown[]>(
  ms: number,
  fn: (...args: A) => unknown,
  ...args: A
): TimerRef {
  checkMs("applyAfter", ms, false);
  if (typeof fn !== "function") {
    throw new TypeError(
      `Cannot applyAfter: 'fn' must be a function, got ${show(fn)}`,
    );
  }
  const owner = liveCaller();
  return new Timer(owner, "apply", null, undefined, fn, args, ms, 0).ref;
}

/**
 * Cancels a timer (`erlang:cancel_timer`): it will not fire. Any process may
 * cancel any timer whose ref it holds.
 *
 * @param ref a reference from one of this module's functions.
 * @returns the milliseconds the timer had left (until the next tick, for an
 *   interval; `Infinity` for a timer that would never fire), or `false` if
 *   it was not running: already fired, cancelled, gone with its owner or
 *   target, or not a timer's ref. A message it sent before stays in the
 *   mailbox.
 * @throws {TypeError} if `ref` is not a Ref.
 *
 * @example
 * ```ts
 * import { cancelTimer, sendAfter } from "@steward/steward/timer";
 * import { self } from "@steward/steward/process";
 * import { useClock, VirtualClock } from "@steward/steward/clock";
 *
 * const clock = new VirtualClock();
 * const restore = useClock(clock);
 * try {
 *   const ref = sendAfter(1000, self(), "never sent");
 *   await clock.advance(400);
 *   console.assert(cancelTimer(ref) === 600);
 *   console.assert(cancelTimer(ref) === false);
 * } finally {
 *   restore();
 * }
 * ```
 */
export function cancelTimer(ref: TimerRef): number | false {
  checkRef("cancelTimer", ref);
  const timer = timers.get(ref);
  if (timer === undefined) return false;
  const left = timer.left();
  timer.stop();
  timer.payload = timer.args = undefined;
  return left;
}

/**
 * The milliseconds a timer has left (`erlang:read_timer`), without
 * cancelling it.
 *
 * @param ref a reference from one of this module's functions.
 * @returns the time left (until the next tick, for an interval; `Infinity`
 *   for a timer that never fires), or `false` if it is not running.
 * @throws {TypeError} if `ref` is not a Ref.
 *
 * @example
 * ```ts
 * import { cancelTimer, readTimer, startTimer } from "@steward/steward/timer";
 * import { self } from "@steward/steward/process";
 * import { useClock, VirtualClock } from "@steward/steward/clock";
 *
 * const clock = new VirtualClock();
 * const restore = useClock(clock);
 * try {
 *   const ref = startTimer(50, self(), "later");
 *   await clock.advance(20);
 *   console.assert(readTimer(ref) === 30);
 *   cancelTimer(ref);
 *   console.assert(readTimer(ref) === false);
 * } finally {
 *   restore();
 * }
 * ```
 */
export function readTimer(ref: TimerRef): number | false {
  checkRef("readTimer", ref);
  const timer = timers.get(ref);
  return timer === undefined ? false : timer.left();
}
