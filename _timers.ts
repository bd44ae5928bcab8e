// Timeouts for receive, call and the gen_server noreply timeout, without one
// clock timer per operation.
//
// A call with the default 5000 ms timeout must not pay for a setTimeout and a
// clearTimeout (on Node ~200-400 ns together, more than the whole call round
// trip budget). Timeouts of the same duration started on the same clock expire
// in the order they start, so each (clock, duration) pair keeps its pending
// timeouts in a doubly-linked list in start order, and arms ONE clock timer
// for the head. Starting and cancelling a timeout are O(1) list operations;
// the clock timer is re-armed only when it fires.
//
// When a list empties, its clock timer is cleared a microtask later unless a
// new timeout arrived meanwhile: a caller that calls in a loop keeps one armed
// timer, and nothing is left pending when the program (or a test) goes quiet.

import { type Clock, getClock, type TimerHandle } from "./clock.ts";
import { microtask } from "./_microtask.ts";
import { reportInternalError } from "./_report.ts";

/** Something that can time out. Subclasses implement `expire()`. */
export abstract class Timed {
  /** Neighbours in the list, in start order. */
  tPrev: Timed | null = null;
  tNext: Timed | null = null;
  /** The list this timeout is in, or null when not started / done. */
  tList: TimerList | null = null;
  /** When it expires, on its list's clock. */
  tDeadline = 0;
  /** A duration waiting in `later` to be started (-1: none)... */
  tLaterMs = -1;
  /** ...on the clock current when it was asked for. */
  tLaterClock: Clock | null = null;

  /** Called once when the timeout expires. */
  abstract expire(): void;
}

/**
 * A wait that ends once: by its timeout (`expire()`), by an AbortSignal, or
 * by its owner. Subclasses call {@linkcode TimedWait.listen} in their
 * constructor and {@linkcode TimedWait.end} before settling.
 */
export abstract class TimedWait extends Timed {
  /** Ended (settled, timed out or aborted). */
  done = false;
  #signal: AbortSignal | undefined = undefined;
  #onAbort: (() => void) | null = null;

  /** Calls `onAbort(signal.reason)` when `signal` aborts (if given). */
  protected listen(
    signal: AbortSignal | undefined,
    onAbort: (reason: unknown) => void,
  ): void {
    if (signal === undefined) return;
    this.#signal = signal;
    this.#onAbort = () => onAbort(signal.reason);
    signal.addEventListener("abort", this.#onAbort, { once: true });
  }

  /**
   * Marks the wait ended, cancels its timeout and stops listening; false if
   * it had ended already (then the caller does nothing).
   */
  protected end(): boolean {
    if (this.done) return false;
    this.done = true;
    cancelTimeout(this);
    if (this.#onAbort !== null) {
      this.#signal!.removeEventListener("abort", this.#onAbort);
    }
    return true;
  }
}

const IDLE_HOPS = 2;

class TimerList {
  head: Timed | null = null;
  tail: Timed | null = null;
  handle: TimerHandle | undefined = undefined;
  idleCheckQueued = false;
  readonly #fire = () => this.fire();

  constructor(
    readonly clock: Clock,
    readonly ms: number,
    readonly lists: Map<number, TimerList>,
  ) {}

  add(node: Timed): void {
    node.tList = this;
    node.tDeadline = this.clock.now() + this.ms;
    node.tPrev = this.tail;
    node.tNext = null;
    if (this.tail === null) this.head = node;
    else this.tail.tNext = node;
    this.tail = node;
    if (this.handle === undefined) this.arm(this.ms);
  }

  remove(node: Timed): void {
    if (node.tPrev === null) this.head = node.tNext;
    else node.tPrev.tNext = node.tNext;
    if (node.tNext === null) this.tail = node.tPrev;
    else node.tNext.tPrev = node.tPrev;
    node.tPrev = node.tNext = null;
    node.tList = null;
    if (this.head === null && !this.idleCheckQueued) {
      this.idleCheckQueued = true;
      microtask(() => this.idleCheck(IDLE_HOPS));
    }
  }

  // Clears the clock timer if the list stays empty for a few microtask hops:
  // long enough for a caller looping on `await call(...)` to start its next
  // timeout (it resumes a hop or two after the reply), short enough that
  // nothing is pending once the program goes quiet.
  idleCheck(hops: number): void {
    if (this.head !== null) {
      this.idleCheckQueued = false;
    } else if (hops > 1) {
      microtask(() => this.idleCheck(hops - 1));
    } else {
      this.idleCheckQueued = false;
      this.close();
    }
  }

  arm(ms: number): void {
    this.handle = this.clock.setTimeout(this.#fire, ms);
  }

  close(): void {
    if (this.handle !== undefined) this.clock.clearTimeout(this.handle);
    this.handle = undefined;
    this.lists.delete(this.ms);
    if (this.lists.size === 0) registry.delete(this.clock);
    if (cache === this) cache = null;
  }

  fire(): void {
    this.handle = undefined;
    const now = this.clock.now();
    while (this.head !== null && this.head.tDeadline <= now) {
      const node = this.head;
      this.remove(node);
      try {
        node.expire();
      } catch (error) {
        reportInternalError("a timeout's expiry threw", error);
      }
    }
    if (this.head !== null && this.handle === undefined) {
      // Real timers may fire a fraction of a millisecond early.
      this.arm(Math.max(1, Math.ceil(this.head.tDeadline - now)));
    }
  }
}

const registry = new Map<Clock, Map<number, TimerList>>();
let cache: TimerList | null = null;

/**
 * Starts `node`'s timeout: `expire()` is called in `ms` milliseconds on the
 * current clock unless {@linkcode cancelTimeout} comes first. `ms` must be a
 * finite non-negative number (callers handle Infinity by not starting one).
 */
export function startTimeout(
  node: Timed,
  ms: number,
  clock: Clock = getClock(),
): void {
  let list = cache;
  if (list === null || list.clock !== clock || list.ms !== ms) {
    let lists = registry.get(clock);
    if (lists === undefined) registry.set(clock, lists = new Map());
    let found = lists.get(ms);
    if (found === undefined) {
      lists.set(ms, found = new TimerList(clock, ms, lists));
    }
    cache = list = found;
  }
  list.add(node);
}

/** Cancels `node`'s timeout if it is pending; otherwise does nothing. */
export function cancelTimeout(node: Timed): void {
  node.tLaterMs = -1;
  if (node.tList !== null) node.tList.remove(node);
}

// Timeouts to start once the current burst of work is done (see
// startTimeoutLater): later[0..laterLen).
const later: Timed[] = [];
let laterLen = 0;

/**
 * Like {@linkcode startTimeout}, but the clock is read and the timer started
 * only when {@linkcode startLaterTimeouts} runs, and only if the timeout was
 * not cancelled by then. A call answered within the same burst of microtasks
 * (the common case) so never reads the clock (~50 ns on Node) nor touches a
 * timer. The timeout starts at most one burst late: never early. The caller
 * must make sure `startLaterTimeouts` runs soon (the scheduler calls it when
 * its run queue empties).
 */
export function startTimeoutLater(node: Timed, ms: number): void {
  node.tLaterMs = ms;
  node.tLaterClock = getClock();
  later[laterLen++] = node;
  // A long burst (a node under steady load) would otherwise keep every
  // request of the burst referenced here, answered or not, until it ends:
  // the young generation's collections would then copy them all. Most are
  // answered by now; the few pending ones start their timeout now rather
  // than at the burst's end (still after their call began: never early),
  // for one clock read each.
  if (laterLen === LATER_MAX) startLaterTimeouts();
}

/** How many timeouts may wait for the burst to end (see above). */
const LATER_MAX = 256;

/** How many timeouts wait to be started (answered ones too). For tests. */
export function pendingLaterTimeouts(): number {
  return laterLen;
}

/** Whether timeouts wait to be started. */
export function hasLaterTimeouts(): boolean {
  return laterLen > 0;
}

/** Starts the timeouts queued by {@linkcode startTimeoutLater}. */
export function startLaterTimeouts(): void {
  for (let i = 0; i < laterLen; i++) {
    const node = later[i];
    later[i] = undefined!;
    const ms = node.tLaterMs;
    const clock = node.tLaterClock!;
    node.tLaterClock = null;
    if (ms >= 0) {
      node.tLaterMs = -1;
      startTimeout(node, ms, clock);
    }
  }
  laterLen = 0;
}

/**
 * Reports an error thrown where nobody can catch it, without unwinding us.
 * (Kept for the callers that use it: it no longer rethrows on a microtask,
 * which would end a Node or Bun process; see _report.ts.)
 */
export function reportLater(error: unknown): void {
  reportInternalError("an internal callback threw", error);
}
