/**
 * Time, injected. Every timer Steward starts (receive and call timeouts, the
 * gen_server noreply timeout, shutdown timeouts, restart delays) goes through
 * the current {@linkcode Clock}, so tests can replace it with a
 * {@linkcode VirtualClock} and never sleep on the wall clock.
 *
 * ```ts
 * import { VirtualClock, useClock } from "@steward/steward/clock";
 * import { receive, send, self } from "@steward/steward/process";
 * import { TimeoutError } from "@steward/steward/errors";
 *
 * const clock = new VirtualClock();
 * const restore = useClock(clock);
 * try {
 *   const pending = receive(undefined, { timeout: 1000 }).catch((e) => e);
 *   await clock.advance(999); // nothing yet
 *   await clock.advance(1);   // the receive times out now
 *   console.assert((await pending) instanceof TimeoutError);
 * } finally {
 *   restore();
 * }
 * ```
 *
 * @module
 */

import { platformClock } from "./_platform_clock.ts";

/** An opaque handle returned by {@linkcode Clock.setTimeout}. */
export type TimerHandle = unknown;

/**
 * The source of time and timers. Steward reads it through
 * {@linkcode getClock}; tests swap it with {@linkcode useClock}.
 */
export interface Clock {
  /** Milliseconds on a monotonic scale (only differences matter). */
  now(): number;
  /**
   * Calls `callback` once, `ms` milliseconds from now. Any delay must work:
   * 0 (or less, or `NaN`) means as soon as possible, `Infinity` never, and a
   * finite delay however large fires at its deadline (never early).
   */
  setTimeout(callback: () => void, ms: number): TimerHandle;
  /** Cancels a timer; unknown or already-fired handles are ignored. */
  clearTimeout(handle: TimerHandle): void;
}

/**
 * The wall clock: `performance.now()` and the global `setTimeout`, made safe
 * for any delay. Platform timers fire at once (Node: with a warning) when
 * asked to wait more than 2^31-1 ms (~24.8 days); this clock arms at most
 * that much at a time and re-arms for the rest, so a timeout of `1e308`
 * waits (practically forever) at the cost of one platform timer per ~24.8
 * days. `Infinity` never fires (the timer stays pending until cleared).
 * Negative and `NaN` delays count as 0, as on the platform.
 *
 * @example
 * ```ts
 * import { realClock } from "@steward/steward/clock";
 * const t = realClock.now();
 * console.assert(realClock.now() >= t);
 * let fired = false;
 * const handle = realClock.setTimeout(() => fired = true, 1e308);
 * await new Promise((resolve) => setTimeout(resolve, 5));
 * console.assert(!fired); // not due for a very long time
 * realClock.clearTimeout(handle);
 * ```
 */
export const realClock: Clock = platformClock({
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as number),
});

let current: Clock = realClock;

/**
 * The clock in use.
 *
 * @returns the current clock ({@linkcode realClock} unless replaced).
 *
 * @example
 * ```ts
 * import { getClock, realClock } from "@steward/steward/clock";
 * console.assert(getClock() === realClock);
 * ```
 */
export function getClock(): Clock {
  return current;
}

/**
 * Makes `clock` the clock every new Steward timer uses, and returns a
 * function that puts the previous one back. Timers already started keep the
 * clock they were started on.
 *
 * @param clock the clock to use from now on.
 * @returns a function restoring the previous clock.
 * @throws {TypeError} if `clock` lacks `now`, `setTimeout` or `clearTimeout`.
 *
 * @example
 * ```ts
 * import { getClock, useClock, VirtualClock } from "@steward/steward/clock";
 * const clock = new VirtualClock();
 * const restore = useClock(clock);
 * console.assert(getClock() === clock);
 * restore();
 * console.assert(getClock() !== clock);
 * ```
 */
export function useClock(clock: Clock): () => void {
  if (
    clock === null || typeof clock !== "object" ||
    typeof clock.now !== "function" ||
    typeof clock.setTimeout !== "function" ||
    typeof clock.clearTimeout !== "function"
  ) {
    throw new TypeError(
      `Cannot use clock: 'clock' must have now, setTimeout and clearTimeout, got ${
        String(clock)
      }`,
    );
  }
  const previous = current;
  current = clock;
  return () => {
    current = previous;
  };
}

interface VirtualTimer {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

/**
 * Waits for one turn of the event loop, so every microtask queued so far (and
 * the work it queues in turn) has run.
 */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * A clock that moves only when told to. Timers fire in deadline order (ties in
 * the order they were set) as {@linkcode VirtualClock.advance} passes their
 * deadline; after each one, the clock lets the work it caused (message
 * deliveries, promise continuations) run before firing the next.
 *
 * Delays mean what they mean on {@linkcode realClock}: a huge finite delay
 * (`1e308`) is one timer at that deadline, fired when time gets there
 * (`runAll` jumps there); `Infinity` is a timer that never fires.
 *
 * @example
 * ```ts
 * import { VirtualClock } from "@steward/steward/clock";
 * const clock = new VirtualClock();
 * const fired: number[] = [];
 * clock.setTimeout(() => fired.push(clock.now()), 50);
 * await clock.advance(49);
 * console.assert(fired.length === 0);
 * await clock.advance(1);
 * console.assert(fired[0] === 50);
 * ```
 */
export class VirtualClock implements Clock {
  #now: number;
  #nextId = 1;
  #timers: VirtualTimer[] = [];

  /**
   * Creates a virtual clock reading `start`.
   *
   * @param start the initial reading of {@linkcode VirtualClock.now}.
   * @default {0}
   */
  constructor(start = 0) {
    if (!Number.isFinite(start)) {
      throw new RangeError(
        `Cannot create VirtualClock: 'start' must be a finite number, got ${start}`,
      );
    }
    this.#now = start;
  }

  /** The virtual time, in milliseconds. */
  now(): number {
    return this.#now;
  }

  /** Number of timers not yet fired or cleared. */
  get pending(): number {
    return this.#timers.length;
  }

  /**
   * Sets a virtual timer `ms` from now: negative and `NaN` count as 0,
   * `Infinity` never fires.
   */
  setTimeout(callback: () => void, ms: number): TimerHandle {
    const delay = ms > 0 ? ms : 0;
    let at = this.#now + delay;
    // Past Number.MAX_VALUE a finite delay would read as "never".
    if (at === Infinity && delay !== Infinity) at = Number.MAX_VALUE;
    const timer = { id: this.#nextId++, at, callback };
    // Keep #timers sorted by deadline, ties in insertion order.
    let i = this.#timers.length;
    while (i > 0 && this.#timers[i - 1].at > timer.at) i--;
    this.#timers.splice(i, 0, timer);
    return timer.id;
  }

  /** Cancels a virtual timer. */
  clearTimeout(handle: TimerHandle): void {
    const i = this.#timers.findIndex((t) => t.id === handle);
    if (i >= 0) this.#timers.splice(i, 1);
  }

  /**
   * Moves time forward by `ms`, firing every timer whose deadline is passed,
   * in order, each at its own deadline.
   *
   * @param ms milliseconds to move forward (non-negative, finite).
   * @throws {RangeError} if `ms` is negative, not a number, or `Infinity`
   *   (time cannot reach infinity; {@linkcode VirtualClock.runAll} fires
   *   every timer that can fire).
   */
  async advance(ms: number): Promise<void> {
    if (typeof ms !== "number" || !(ms >= 0)) {
      throw new RangeError(
        `Cannot advance VirtualClock: 'ms' must be a non-negative number, got ${ms}`,
      );
    }
    if (ms === Infinity) {
      throw new RangeError(
        `Cannot advance VirtualClock: 'ms' must be finite (use runAll() to fire every timer that can fire), got Infinity`,
      );
    }
    const until = Math.min(this.#now + ms, Number.MAX_VALUE);
    await settle();
    while (this.#timers.length > 0 && this.#timers[0].at <= until) {
      const timer = this.#timers.shift()!;
      this.#now = timer.at;
      timer.callback();
      await settle();
    }
    this.#now = until;
  }

  /**
   * Fires timers, moving time to each deadline, until none is left (timers
   * set while running are fired too), however far their deadlines are: a
   * timer set for `1e308` fires, and time is then `1e308`. Timers set for
   * `Infinity` never fire, so they are left pending.
   *
   * @param limit the most timers to fire before giving up.
   * @default {10000}
   * @throws {RangeError} if timers are still pending after `limit` firings.
   */
  async runAll(limit = 10_000): Promise<void> {
    await settle();
    let fired = 0;
    while (this.#timers.length > 0 && this.#timers[0].at !== Infinity) {
      if (fired++ >= limit) {
        throw new RangeError(
          `Cannot runAll on VirtualClock: ${limit} timers fired and more are pending (a timer re-arms itself forever?)`,
        );
      }
      const timer = this.#timers.shift()!;
      this.#now = timer.at;
      timer.callback();
      await settle();
    }
  }
}
