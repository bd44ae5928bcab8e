// The current process, carried across `await`. The one file that touches
// node:async_hooks, so AsyncContext can replace it later.
//
// Two layers, because AsyncLocalStorage is not free everywhere: on Node 20 a
// single `run()` turns on promise hooks for the whole program (promise
// ping-pong drops from ~7.5M to ~2.9M round trips/s), and on Deno each
// `run()` costs ~200 ns. So:
// - code that Steward calls synchronously (a sync process body, a sync
//   gen_server callback) sees its process through `syncCurrent`, a plain
//   variable set around the call;
// - async code (an `async` body or callback) runs inside `storage.run()`, so
//   `self()` still works after each `await`.
// A sync call made while some other process's async context is active (the
// scheduler's microtask inherits the context of whoever scheduled it) also
// goes through `storage.run()`, so promise callbacks it creates do not run as
// that other process. Without any async context around, they run as main.

import { AsyncLocalStorage } from "node:async_hooks";

let storage: AsyncLocalStorage<unknown> | undefined;
let syncCurrent: unknown = undefined;

/** The process running now, or `undefined` outside every process. */
export function current(): unknown {
  return syncCurrent !== undefined ? syncCurrent : storage?.getStore();
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

/**
 * Calls `fn.call(self, a, b, c)` as process `proc`: through the async
 * context if `fn` is an `async` function (or another process's async context
 * is active), else with the cheap synchronous slot.
 */
export function callAs(
  proc: unknown,
  fn: Fn,
  self: unknown,
  a?: unknown,
  b?: unknown,
  c?: unknown,
): unknown {
  return run(proc, isAsyncFunction(fn), fn, self, a, b, c);
}

function run(
  proc: unknown,
  isAsync: boolean,
  fn: Fn,
  self: unknown,
  a?: unknown,
  b?: unknown,
  c?: unknown,
): unknown {
  if (isAsync) {
    storage ??= new AsyncLocalStorage();
  } else if (storage === undefined) {
    // The scheduler has usually set the slot already.
    if (syncCurrent === proc) return fn.call(self, a, b, c);
    return callSync(proc, fn, self, a, b, c);
  } else {
    const store = storage.getStore();
    if (store === undefined || store === proc) {
      return callSync(proc, fn, self, a, b, c);
    }
  }
  // The sync slot covers fn's synchronous part, the storage what follows
  // each await.
  return storage.run(proc, callSync, proc, fn, self, a, b, c);
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
  return run(proc, isAsyncFunction(fn as Fn), spread as Fn, fn, args);
}

// Called with `this` = the function to apply.
function spread(
  this: (...args: unknown[]) => unknown,
  args: readonly unknown[],
): unknown {
  return this(...args);
}

/**
 * Makes `proc` the synchronous current process and returns the previous one,
 * for runtime code (not user callbacks) that must see it. Always restore in
 * `finally`.
 */
export function swapCurrent(proc: unknown): unknown {
  const previous = syncCurrent;
  syncCurrent = proc;
  return previous;
}

const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
const AsyncGeneratorFunction = Object.getPrototypeOf(async function* () {})
  .constructor;

/** Whether `fn` is an `async` function (and so needs the async context). */
function isAsyncFunction(fn: Fn): boolean {
  const ctor = fn.constructor;
  return ctor === AsyncFunction || ctor === AsyncGeneratorFunction;
}
