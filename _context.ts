// The current process, carried across `await`. The one file that touches
// node:async_hooks, so AsyncContext can replace it later.
//
// Rule: every piece of user code that runs as a process runs inside
// `storage.run(proc)` (or inside code already running in proc's async
// context). Whatever it schedules then carries proc: the continuations of
// its `await`s, its `.then` callbacks, `queueMicrotask` and timer callbacks,
// the promises a wrapper or downlevelled code (tsc's `__awaiter`, Babel's
// regenerator) creates. Deciding by the shape of the function (only native
// `async` functions) is not enough: a plain function may return a promise it
// made, or start a timer, and whatever it scheduled must already carry the
// context when it was created; nothing afterwards can fix it.
//
// What it costs, and how it is kept down:
// - One context switch per process *turn*, not per callback: the scheduler
//   enters the process's context once and runs its whole batch of messages,
//   its receive predicates and its callbacks in it ({@linkcode callAs} then
//   sees `entered === proc` and only sets the synchronous slot).
// - No switch when the context is already right (`entered`, then
//   `getStore()`): a process's own continuations call straight in.
// - `self()` reads a plain variable (`syncCurrent`) while the runtime is on
//   the stack, and the storage only in code that resumed later.
// The switch itself costs ~7 ns on Bun, ~15-80 ns on Node 20 and ~200 ns on
// Deno (its `run()` copies the context and writes a WeakMap). On Node 20 the
// first `run()` also turns on promise hooks for the whole program (every
// promise gets slower); Node 22+ (AsyncContextFrame), Deno and Bun have no
// such tax. That is the price of `self()` being right everywhere.

import { AsyncLocalStorage } from "node:async_hooks";

const storage = new AsyncLocalStorage<unknown>();

/** The process whose code runs now, for code the runtime called. */
let syncCurrent: unknown = undefined;

/**
 * The process whose async context this stack entered through
 * {@linkcode callAs} (so `storage.getStore()` is it, known without asking).
 */
let entered: unknown = undefined;

/** The process running now, or `undefined` outside every process. */
export function current(): unknown {
  return syncCurrent !== undefined ? syncCurrent : storage.getStore();
}

type Fn = (this: unknown, a?: unknown, b?: unknown, c?: unknown) => unknown;

function callSync(
  proc: unknown,
  fn: Fn,
  self: unknown,
  a?: unknown,
  b?: unknown,
  c?: unknown,
): unknown {
  const previous = syncCurrent;
  syncCurrent = proc;
  try {
    return fn.call(self, a, b, c);
  } finally {
    syncCurrent = previous;
  }
}

function callEntered(
  proc: unknown,
  fn: Fn,
  self: unknown,
  a?: unknown,
  b?: unknown,
  c?: unknown,
): unknown {
  const previousEntered = entered;
  const previous = syncCurrent;
  entered = syncCurrent = proc;
  try {
    return fn.call(self, a, b, c);
  } finally {
    entered = previousEntered;
    syncCurrent = previous;
  }
}

/**
 * Calls `fn.call(self, a, b, c)` as process `proc`: `self()` is `proc`
 * during the call and in everything the call schedules (promise callbacks,
 * microtasks, timers), whatever kind of function `fn` is.
 */
export function callAs(
  proc: unknown,
  fn: Fn,
  self: unknown,
  a?: unknown,
  b?: unknown,
  c?: unknown,
): unknown {
  if (entered === proc || storage.getStore() === proc) {
    return callSync(proc, fn, self, a, b, c);
  }
  return storage.run(proc, callEntered, proc, fn, self, a, b, c);
}

/**
 * Like {@linkcode callAs} for a plain function called with a list of
 * arguments (a child's start function and its args).
 */
export function applyAs(
  proc: unknown,
  fn: (...args: unknown[]) => unknown,
  args: readonly unknown[],
): unknown {
  return callAs(proc, spread as Fn, fn, args);
}

// Called with `this` = the function to apply.
function spread(
  this: (...args: unknown[]) => unknown,
  args: readonly unknown[],
): unknown {
  return this(...args);
}

/**
 * Whether entering a context is cheap on this runtime: ~7 ns on Bun, 15-80 ns
 * on Node 20, but 250-600 ns on Deno, whose `AsyncLocalStorage.run()` copies
 * the context and writes a WeakMap each time. On Deno the scheduler switches
 * to a process that takes messages through a promise reaction armed in its
 * context instead ({@linkcode armHere}, ~65 ns with the microtask hop).
 */
export const CHEAP_SWITCH: boolean = !("Deno" in globalThis);

/** Whether the code on the stack already runs in `proc`'s context. */
export function inContext(proc: unknown): boolean {
  return entered === proc || storage.getStore() === proc;
}

let armed: ((value: unknown) => void) | undefined;

function keepResolve(resolve: (value: unknown) => void): void {
  armed = resolve;
}

/**
 * Arms `onWake` to run on a later microtask, in the async context active now
 * (V8 keeps it with the promise reaction), once the returned function is
 * called; that function's argument is passed on. One shot.
 */
export function armHere(
  onWake: (value: unknown) => void,
): (value: unknown) => void {
  new Promise(keepResolve).then(onWake);
  const wake = armed!;
  armed = undefined;
  return wake;
}

/**
 * Makes `proc` the synchronous current process and returns the previous one,
 * for runtime code (not user callbacks: it does not set the async context)
 * that must see it. Always restore in `finally`.
 */
export function swapCurrent(proc: unknown): unknown {
  const previous = syncCurrent;
  syncCurrent = proc;
  return previous;
}
