// The real clock's timers, correct for any delay.
//
// Platform timers take a signed 32-bit delay. Past 2^31-1 ms (~24.8 days)
// Node fires after 1 ms (with a TimeoutOverflowWarning) and the web's
// setTimeout (Deno) wraps the delay, usually to 0. So a "practically
// forever" timeout such as 1e308 fired at once, and the TimerList in
// _timers.ts, seeing its deadline not reached, re-armed it at once: hundreds
// of platform timers a second, for as long as the wait lasted.
//
// The fix lives here, in the one clock every Steward timer goes through
// (receive and call timeouts, noreply timeouts, shutdown timeouts, restart
// delays, timer.ts): a delay over the maximum arms the maximum and, when that
// fires, what is left, capped again. One platform timer per ~24.8 days, and
// the caller's callback runs once, at the deadline. `Infinity` never fires:
// it re-arms the maximum forever, so like any pending timer it keeps the
// program alive until cleared. Delays within range go to the platform as they
// are, with nothing added (the common path stays one call).

import type { Clock, TimerHandle } from "./clock.ts";

/** The longest delay a platform timer honours: 2^31-1 ms, ~24.8 days. */
export const MAX_TIMER_DELAY = 2 ** 31 - 1;

/** What a platform offers: a time source and raw timers. */
export interface PlatformTimers {
  /** Milliseconds on a monotonic scale. */
  now(): number;
  /** A raw platform timer; `ms` is always within 0..MAX_TIMER_DELAY here. */
  setTimeout(callback: () => void, ms: number): unknown;
  /** Clears a raw platform timer. */
  clearTimeout(handle: unknown): void;
}

/** A timer longer than the platform allows, armed in capped steps. */
class LongTimeout {
  /** The platform timer armed now (a step, or the final stretch). */
  handle: unknown;
  /** When `callback` is due, on `host.now()`'s scale (may be Infinity). */
  readonly #deadline: number;
  readonly #host: PlatformTimers;
  readonly #callback: () => void;
  readonly #step = () => this.#next();

  constructor(host: PlatformTimers, callback: () => void, ms: number) {
    this.#host = host;
    this.#callback = callback;
    this.#deadline = host.now() + ms;
    this.handle = host.setTimeout(this.#step, MAX_TIMER_DELAY);
  }

  // A capped step ended: arm the next one, or the final stretch, which calls
  // the callback directly (the platform's own timing, as for a short timer).
  #next(): void {
    const left = this.#deadline - this.#host.now();
    this.handle = left > MAX_TIMER_DELAY
      ? this.#host.setTimeout(this.#step, MAX_TIMER_DELAY)
      : this.#host.setTimeout(this.#callback, left > 0 ? Math.ceil(left) : 0);
  }

  clear(): void {
    this.#host.clearTimeout(this.handle);
  }
}

/**
 * A {@linkcode Clock} over `host`'s timers that honours any delay (see the
 * file's comment). `realClock` is this over the global timers; tests pass a
 * fake host to count the platform timers armed.
 */
export function platformClock(host: PlatformTimers): Clock {
  return {
    now: () => host.now(),
    // `!(ms > MAX)` keeps NaN on the direct path: the platform reads it as 0.
    setTimeout: (callback, ms): TimerHandle =>
      !(ms > MAX_TIMER_DELAY)
        ? host.setTimeout(callback, ms)
        : new LongTimeout(host, callback, ms),
    clearTimeout: (handle) => {
      if (handle instanceof LongTimeout) handle.clear();
      else host.clearTimeout(handle);
    },
  };
}
