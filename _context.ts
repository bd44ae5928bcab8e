// The current process, carried across `await`. The one file that touches
// node:async_hooks, so AsyncContext can replace it later.
//
// Two layers, because AsyncLocalStorage is not free everywhere: on Node 20 a
// single `run()` turns on promise hooks for the whole program (promise
// ping-pong drops from ~7.5M to ~2.9M round trips/s), and on Deno each
// `run()` costs ~200 ns. So:
// - code that Steward calls synchronously (a sync process body, a sync
//   gen_server callback) sees its process through `syncCurrent`, a plain
//   variable set around the call: no AsyncLocalStorage at all;
// - async code (an `async` body or callback) runs inside `storage.run()`, so
//   `self()` still works after each `await`.

import { AsyncLocalStorage } from "node:async_hooks";

let storage: AsyncLocalStorage<unknown> | undefined;
let syncCurrent: unknown = undefined;

/** The process running now, or `undefined` outside every process. */
export function current(): unknown {
  return syncCurrent !== undefined ? syncCurrent : storage?.getStore();
}

/**
 * Calls `fn(arg)` as process `proc`, synchronously. Whatever `fn` awaits
 * does not see `proc`: use {@linkcode runAsync} for async functions.
 */
export function runSync<A, R>(proc: unknown, fn: (arg: A) => R, arg: A): R {
  const previous = syncCurrent;
  syncCurrent = proc;
  try {
    return fn(arg);
  } finally {
    syncCurrent = previous;
  }
}

/** Calls `fn(arg)` as process `proc`, including after every `await` in it. */
export function runAsync<A, R>(proc: unknown, fn: (arg: A) => R, arg: A): R {
  storage ??= new AsyncLocalStorage();
  const previous = syncCurrent;
  // Clear the sync slot so `current()` reads the storage inside `fn`; a sync
  // caller's process must not leak into the async function's continuations.
  syncCurrent = undefined;
  try {
    return storage.run(proc, fn, arg);
  } finally {
    syncCurrent = previous;
  }
}

const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
const AsyncGeneratorFunction = Object.getPrototypeOf(async function* () {})
  .constructor;

/** Whether `fn` is an `async` function (and so needs {@linkcode runAsync}). */
export function isAsyncFunction(fn: unknown): boolean {
  return fn instanceof AsyncFunction || fn instanceof AsyncGeneratorFunction;
}

/**
 * Calls `fn()` outside every process's async context, so promise callbacks
 * created in it do not inherit whichever process happened to schedule it.
 */
export function runDetached(fn: () => void): void {
  // run(undefined) rather than exit(): exit() costs ~1 µs on Node 20.
  if (storage === undefined || storage.getStore() === undefined) fn();
  else storage.run(undefined, fn);
}

/**
 * Makes `proc` the synchronous current process and returns the previous one;
 * the hot path's `runSync` without a closure. Always restore in `finally`.
 */
export function swapCurrent(proc: unknown): unknown {
  const previous = syncCurrent;
  syncCurrent = proc;
  return previous;
}
