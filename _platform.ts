// The runtime-specific part of an application (application.ts): OS signals,
// errors nobody caught, keeping the runtime alive, and exiting. The one file
// that knows whether it runs on Deno, Bun or Node.
//
// What was checked (Deno 2.9.6, Bun 1.4.4, Node 20), each as a child process
// sent a real SIGTERM:
// - Signals: `Deno.addSignalListener` on Deno; `process.on(signal)` on Node
//   and Bun. (Deno's `node:process` shim delivered SIGTERM too; the native
//   API is used on Deno, and the test sanitizers see its listeners, so a
//   leaked one fails a test.) A listener replaces the
//   runtime's default action (die), so once one is installed the signal is
//   ours to honour.
// - Uncaught errors: on Deno, the global "error" and "unhandledrejection"
//   events, whose `preventDefault()` keeps the program alive; on Node and
//   Bun, `process.on("uncaughtException" | "unhandledRejection")`. All three
//   route every case through these: a throw in a raw setTimeout callback or a
//   microtask, a rejection nobody handled, and a throw in top-level module
//   code after an `await` (module evaluation rejects: Node and Bun report it
//   as "unhandledRejection", Deno as "unhandledrejection").
// - Keeping alive: a process tree is promises and messages, which do not keep
//   any of the three runtimes running; one ref'd interval timer does, on all
//   three. It is a real (wall-clock) timer on purpose: a VirtualClock's timers
//   keep nothing alive.

import { MAX_TIMER_DELAY } from "./_platform_clock.ts";

/** Which runtime this is. */
export type Runtime = "deno" | "bun" | "node" | "unknown";

/** Where an uncaught error came from. */
export type UncaughtOrigin = "exception" | "rejection";

interface DenoLike {
  addSignalListener(signal: string, handler: () => void): void;
  removeSignalListener(signal: string, handler: () => void): void;
  exit(code?: number): never;
}

interface ProcessLike {
  on(event: string, listener: (...args: never[]) => void): unknown;
  removeListener(event: string, listener: (...args: never[]) => void): unknown;
  exit(code?: number): never;
}

interface EventTargetLike {
  addEventListener(type: string, listener: (event: never) => void): void;
  removeEventListener(type: string, listener: (event: never) => void): void;
}

const global = globalThis as unknown as {
  Deno?: DenoLike & { version?: { deno?: unknown } };
  Bun?: unknown;
  process?: ProcessLike & { versions?: { node?: unknown } };
};

/** The runtime, detected once (Deno and Bun also define `process`). */
export const runtime: Runtime = typeof global.Deno?.version?.deno === "string"
  ? "deno"
  : global.Bun !== undefined
  ? "bun"
  : typeof global.process?.versions?.node === "string"
  ? "node"
  : "unknown";

/**
 * Calls `handler` each time the program receives `signal`. Returns the
 * function that removes the listener, or `undefined` if this runtime (or
 * OS: Deno on Windows knows only SIGINT and SIGBREAK) cannot listen for it.
 */
export function onSignal(
  signal: string,
  handler: () => void,
): (() => void) | undefined {
  try {
    if (runtime === "deno") {
      const deno = global.Deno!;
      deno.addSignalListener(signal, handler);
      return () => deno.removeSignalListener(signal, handler);
    }
    const process = global.process;
    if (process === undefined) return undefined;
    process.on(signal, handler);
    return () => process.removeListener(signal, handler);
  } catch {
    return undefined;
  }
}

/**
 * Calls `handler` with every error no code caught (an exception thrown where
 * nothing catches it, a rejection nobody handled) instead of letting the
 * runtime print it and die. Returns the function that removes the hooks.
 * `handler` must not throw.
 */
export function onUncaught(
  handler: (error: unknown, origin: UncaughtOrigin) => void,
): () => void {
  if (runtime === "deno") {
    const target = globalThis as unknown as EventTargetLike;
    const onError = (event: { error: unknown; preventDefault(): void }) => {
      event.preventDefault();
      handler(event.error, "exception");
    };
    const onRejection = (
      event: { reason: unknown; preventDefault(): void },
    ) => {
      event.preventDefault();
      handler(event.reason, "rejection");
    };
    target.addEventListener("error", onError);
    target.addEventListener("unhandledrejection", onRejection);
    return () => {
      target.removeEventListener("error", onError);
      target.removeEventListener("unhandledrejection", onRejection);
    };
  }
  const process = global.process;
  if (process === undefined) return () => {};
  const onException = (error: unknown) => handler(error, "exception");
  const onRejection = (reason: unknown) => handler(reason, "rejection");
  process.on("uncaughtException", onException);
  process.on("unhandledRejection", onRejection);
  return () => {
    process.removeListener("uncaughtException", onException);
    process.removeListener("unhandledRejection", onRejection);
  };
}

const noop = () => {};

/**
 * Keeps the runtime from exiting until the returned function is called
 * (idempotent).
 */
export function keepAlive(): () => void {
  let timer: ReturnType<typeof setInterval> | undefined = setInterval(
    noop,
    MAX_TIMER_DELAY, // the longest delay every runtime takes as given
  );
  return () => {
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
  };
}

/** Ends the program now with `code`. */
export function exitProgram(code: number): void {
  if (runtime === "deno") global.Deno!.exit(code);
  else global.process?.exit(code);
}
