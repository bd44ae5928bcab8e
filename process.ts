/**
 * Processes: isolated units of work with a mailbox, linked and monitored as
 * in Erlang/OTP, so one failing piece can be noticed, contained and
 * restarted.
 *
 * ## The model
 * A process is a cheap record (a few hundred bytes), not a thread. Its body
 * is a function given its own {@linkcode Pid}; the process lives while the
 * body runs and exits with reason `"normal"` when it returns, or with what it
 * throws (throw an `ExitError` to exit with a chosen reason, like Erlang's
 * `exit/1`).
 *
 * ## Top-level code: the main process
 * Code outside every process (a script's top level, a test, an HTTP request
 * handler) runs as the *main* process. Main traps exits, like the Erlang
 * shell, so a linked crash reaches it as an `["EXIT", pid, reason]` message
 * instead of taking it down; if it is killed, a fresh main process takes its
 * place, as the shell restarts. Main may wait in any number of receives at
 * once (concurrent handlers each awaiting their own replies).
 *
 * Main is not a loop that reads its mailbox, so it keeps only the EXIT
 * messages someone can use: a service whose handlers `spawnLink`,
 * `startLink` or `Task.async` per request must not grow without bound.
 * - A `"normal"` exit signal does nothing to main, as in the Erlang shell:
 *   no `["EXIT", pid, "normal"]` message. To wait for a process's end from
 *   top-level code, {@linkcode monitor} it (DOWN messages stay), or call
 *   `trapExit(true)` first: from then on main gets every EXIT, as any
 *   trapping process (a test process does this, as OTP's test cases do).
 * - Other EXITs arrive as messages, but main keeps at most 1,000 unread:
 *   past that the oldest unread one is dropped, and that is reported (a
 *   `main_exits_dropped` warning of the library's logger, logger.ts).
 *
 * To give a request handler a process of its own — its own mailbox, links
 * and tables, all gone when it returns — run it with {@linkcode inProcess}.
 * This differs from Erlang, where every piece of code runs in some process.
 *
 * ## Messages
 * {@linkcode send} appends to the receiver's mailbox and returns at once; the
 * receiver runs later, never on the sender's stack. Messages from one sender
 * arrive in the order sent. They are delivered by reference, not copied:
 * treat a message as immutable once sent. {@linkcode receive} takes the first
 * message matching a predicate (selective receive: the others stay, in
 * order), waiting up to a timeout.
 *
 * ## Exit signals, links and monitors
 * When a process ends, its links get an exit signal and its monitors a
 * `["DOWN", ref, "process", pidOrName, reason]` message, after its name and
 * owned tables are released. A linked process that does not trap exits dies
 * with the same reason (unless it is `"normal"`); one that traps gets
 * `["EXIT", pid, reason]` in its mailbox instead. {@linkcode exit} sends a
 * signal explicitly; `"kill"` cannot be trapped and kills with `"killed"`.
 * All of it follows OTP's decision table exactly.
 *
 * A killed process is dead at once: its pending {@linkcode receive} (and any
 * call or start it waits on) rejects with an `ExitError` so its code unwinds,
 * and its `pid.signal` aborts so its I/O can be cancelled. JavaScript cannot
 * stop code that is already running, so a dead process's leftover code may
 * still run for a while: nothing it sends (messages, exit signals, casts,
 * replies) arrives, a link from it is ignored, and spawning, monitoring,
 * registering a name, setting `trapExit` or writing, creating or fixing an
 * ETS table from it throws an `ExitError` with its exit reason.
 *
 * ## Hostile values
 * Exit reasons, messages, names and requests may be any value: a Proxy whose
 * traps throw (even `getPrototypeOf`, so `instanceof` throws), a revoked
 * Proxy, an object whose `toString` or getters throw, cycles, huge or deeply
 * nested values. None of them breaks a death (EXIT, DOWN, name release, heir
 * hand-over, `pid.signal`), a call's timeout or an error message: messages
 * print such values safely (`[Proxy]`, `[revoked Proxy]`,
 * `[object throwing on inspect]`, `[Circular]`, bounded in size), and
 * `x instanceof Pid` is a brand check that runs no code of `x`'s.
 *
 * ## `self()` and async code
 * {@linkcode self} is the process whose code is running, wherever that code
 * runs: in a process body, a gen_server callback or a child's start function;
 * after any `await`; inside a higher-order wrapper (`spawn(traced(fn))`); in
 * code compiled for older targets (tsc's `__awaiter` with generators, Babel's
 * regenerator); in `.then` callbacks, `queueMicrotask` callbacks and
 * `setTimeout`/`setInterval` callbacks the process started. The runtime calls
 * every piece of a process's code inside that process's `AsyncLocalStorage`
 * context, so whatever the code schedules carries it; {@linkcode receive}
 * then reads that process's mailbox, and tables see that process as the
 * caller. A receive predicate runs synchronously as the receiving process
 * (keep it a pure test: promises or timers it starts are not tied to it).
 *
 * Code a process started keeps running as that process after it dies (JS
 * cannot stop it): `self()` there is the dead pid, so `receive` rejects with
 * an `ExitError`, spawning or linking throws one, and what it sends is
 * dropped, as in the dead process itself. Callbacks registered by code
 * outside every process (an HTTP handler set up at the top level) run as the
 * main process.
 *
 * What it costs: entering a process's context once per scheduler turn (a
 * few ns on Bun and Node, 250-600 ns on Deno, where a process that takes
 * messages is resumed from a promise reaction armed in its context instead).
 * On Node 20, `AsyncLocalStorage` turns on promise hooks for the whole
 * program, which makes every promise slower; Node 22+, Deno and Bun have no
 * such tax. See BENCHMARKS.md.
 *
 * ## Timers: not a raw `setTimeout`
 * A raw `setTimeout` (or `setInterval`) callback is not contained: a throw
 * in it is the runtime's uncaught exception, which can end the OS process,
 * not an exit reason a link or supervisor hears of; and nothing cancels it
 * when the process that set it dies. Use `@steward/steward/timer` instead:
 * `sendAfter` and `startTimer` turn time into a message, `applyAfter` runs a
 * callback as the calling process (a throw crashes that process only), and
 * every such timer dies with its process.
 *
 * ```ts
 * import { spawnLink, receive, send, self } from "@steward/steward/process";
 *
 * const echo = spawnLink(async () => {
 *   const [from, text] = await receive() as [ReturnType<typeof self>, string];
 *   send(from, text.toUpperCase());
 * });
 * send(echo, [self(), "hello"]);
 * console.assert(await receive((m) => typeof m === "string") === "HELLO");
 * ```
 *
 * @module
 */

import {
  addWait,
  countSent,
  currentProc,
  deliver,
  demonitorRef,
  type DownWatcher,
  exitSignal,
  isRemote,
  linked,
  linkProcs,
  listOf,
  mailboxLength,
  monitorProc,
  monitorsOf,
  Pid,
  type Proc,
  procOf,
  procOfAny,
  receiveIn,
  Ref,
  registeredNames,
  registerName,
  removeFirst,
  removeWait,
  setTrapExit,
  spawnProc,
  unlinkProcs,
  unregisterName,
  type Wait,
  watch,
  whereisName,
} from "./_runtime.ts";
import {
  AlreadyRegisteredError,
  ExitError,
  NoProcError,
  NotRegisteredError,
} from "./errors.ts";
import { formatTerm } from "./_format.ts";

export { Pid, Ref };

/** A process body: runs as the process, given its own pid. */
export type ProcessBody = (self: Pid) => unknown;

/** What a process can be addressed by: its pid or its registered name. */
export type Dest = Pid | string;

function checkBody(op: string, body: unknown): asserts body is ProcessBody {
  if (typeof body !== "function") {
    throw new TypeError(
      `Cannot ${op}: 'body' must be a function, got ${formatTerm(body)}`,
    );
  }
}

/**
 * The calling process, which must be alive: code that runs on after its
 * process was killed (JS cannot stop it) may not start or watch anything.
 */
function liveCaller(): Proc {
  const caller = currentProc();
  if (caller.dead) throw new ExitError(caller.reason);
  return caller;
}

function checkPid(op: string, pid: unknown): asserts pid is Pid {
  if (!(pid instanceof Pid)) {
    throw new TypeError(
      `Cannot ${op}: 'pid' must be a Pid, got ${formatTerm(pid)}`,
    );
  }
}

function checkName(op: string, name: unknown): asserts name is string {
  if (typeof name !== "string" || name === "") {
    throw new TypeError(
      `Cannot ${op}: 'name' must be a non-empty string, got ${
        formatTerm(name)
      }`,
    );
  }
}

/**
 * Runs `fn` as a new short-lived process and resolves with what it returns:
 * the way to give top-level code (an HTTP request handler, a job) a process
 * of its own. Its mailbox, links, monitors and tables live only while `fn`
 * runs: processes it links to get its exit signal when it ends, and nothing
 * is left in the caller's mailbox. Not linked to the caller; if the caller
 * is a process and dies first, the new process gets the caller's exit signal
 * as if linked.
 *
 * @param fn the code to run, given its own pid; `self()` is that pid.
 * @returns what `fn` returns (awaited).
 * @throws what `fn` throws (rejects with the same value; the process exits
 *   with it as its reason).
 * @throws {ExitError} (rejects) if the process is killed or exits by a
 *   signal before `fn` settles, with that reason.
 * @throws {TypeError} if `fn` is not a function.
 *
 * @example
 * ```ts
 * import { inProcess, receive, self, send, spawnLink } from "@steward/steward/process";
 * const top = self();
 * const answer = await inProcess(async (me) => {
 *   console.assert(self() === me && me !== top);
 *   const helper = spawnLink(() => send(me, 42)); // linked to this process
 *   return await receive((m) => m === 42);
 * });
 * console.assert(answer === 42);
 * ```
 */
export function inProcess<T>(fn: (self: Pid) => T): Promise<Awaited<T>> {
  if (typeof fn !== "function") {
    return Promise.reject(
      new TypeError(
        `Cannot inProcess: 'fn' must be a function, got ${formatTerm(fn)}`,
      ),
    );
  }
  let caller: Proc;
  try {
    caller = liveCaller();
  } catch (error) {
    return Promise.reject(error);
  }
  return new Promise((resolve, reject) => {
    const run = new InProcess(
      caller,
      fn as (self: Pid) => unknown,
      resolve as (v: unknown) => void,
      reject,
    );
    run.proc = spawnProc(run.body, null);
    watch(run.proc, run);
    addWait(caller, run);
  });
}

/** One {@linkcode inProcess} run: its body, its outcome, its watch. */
class InProcess implements DownWatcher, Wait {
  readonly owner = null;
  proc: Proc | null = null;
  #settled: "no" | "returned" | "threw" = "no";
  #value: unknown = undefined;

  constructor(
    readonly caller: Proc,
    readonly fn: (self: Pid) => unknown,
    readonly resolve: (value: unknown) => void,
    readonly reject: (error: unknown) => void,
  ) {}

  readonly body = async (pid: Pid): Promise<void> => {
    try {
      this.#value = await this.fn(pid);
      this.#settled = "returned";
    } catch (error) {
      this.#value = error;
      this.#settled = "threw";
      throw error;
    }
  };

  down(_target: Proc, reason: unknown): void {
    removeWait(this.caller, this);
    if (this.#settled === "returned") this.resolve(this.#value);
    else if (this.#settled === "threw") this.reject(this.#value);
    else this.reject(new ExitError(reason));
  }

  abort(reason: unknown): void {
    // The caller died first: the run hears of it as if linked.
    if (this.proc !== null) exitSignal(this.caller, this.proc, reason, true);
  }
}

/**
 * Starts a process running `body`. The body starts on a later microtask, so
 * `spawn` returns first.
 *
 * @param body the process's code, given its own pid; an `async` function may
 *   `await` freely, and `self()` keeps working.
 * @returns the new process's pid.
 * @throws {TypeError} if `body` is not a function.
 * @throws {ExitError} if called by a process that has already exited.
 *
 * @example
 * ```ts
 * import { spawn, isAlive } from "@steward/steward/process";
 * const pid = spawn(async () => {});
 * console.assert(isAlive(pid)); // it has not run yet
 * ```
 */
export function spawn(body: ProcessBody): Pid {
  checkBody("spawn", body);
  return spawnProc(body, null, "process", liveCaller()).pid;
}

/**
 * Starts a process linked to the caller, atomically: even a body that dies at
 * once sends its exit signal to the caller.
 *
 * @param body the process's code.
 * @returns the new process's pid.
 * @throws {TypeError} if `body` is not a function.
 *
 * @example
 * ```ts
 * import { spawnLink, receive } from "@steward/steward/process";
 * // main traps exits, so the crash arrives as a message
 * const pid = spawnLink(() => {
 *   throw new Error("boom");
 * });
 * const [tag, from, reason] = await receive(
 *   (m) => Array.isArray(m) && m[0] === "EXIT" && m[1] === pid,
 * ) as [string, unknown, Error];
 * console.assert(tag === "EXIT" && from === pid && reason.message === "boom");
 * ```
 */
export function spawnLink(body: ProcessBody): Pid {
  checkBody("spawnLink", body);
  return spawnProc(body, liveCaller()).pid;
}

/**
 * Starts a process monitored by the caller, atomically.
 *
 * @param body the process's code.
 * @returns the new pid and the monitor's reference.
 * @throws {TypeError} if `body` is not a function.
 *
 * @example
 * ```ts
 * import { spawnMonitor, receive } from "@steward/steward/process";
 * const [pid, ref] = spawnMonitor(() => {});
 * const down = await receive((m) => Array.isArray(m) && m[1] === ref);
 * console.assert(JSON.stringify((down as unknown[])[4]) === '"normal"');
 * console.assert((down as unknown[])[3] === pid);
 * ```
 */
export function spawnMonitor(body: ProcessBody): [Pid, Ref] {
  checkBody("spawnMonitor", body);
  const caller = liveCaller();
  const proc = spawnProc(body, null, "process", caller);
  return [proc.pid, monitorProc(caller, proc, proc.pid)];
}

/**
 * The pid of the calling process (the main process outside any): the
 * process whose code this is, also after `await`, in wrappers, in
 * downlevelled async code and in promise callbacks, microtasks and timers the
 * process started (see "`self()` and async code" in the module docs). In
 * code still running after its process died, that dead process's pid.
 *
 * @returns the caller's pid.
 *
 * @example
 * ```ts
 * import { self, spawn } from "@steward/steward/process";
 * const pid = spawn(async (me) => {
 *   await Promise.resolve();
 *   console.assert(self() === me);
 * });
 * console.assert(self() !== pid);
 *
 * // a plain function's promise callbacks and timers run as its process too
 * const seen = await new Promise((resolve) => {
 *   const child = spawn(() =>
 *     new Promise<void>((done) =>
 *       setTimeout(() => {
 *         resolve(self() === child);
 *         done();
 *       }, 0)
 *     )
 *   );
 * });
 * console.assert(seen === true);
 * ```
 */
export function self(): Pid {
  return currentProc().pid;
}

/**
 * Sends `message` to a process, by pid or registered name. Returns at once;
 * the receiver gets it later. A message to a dead pid is dropped silently,
 * as is anything a dead process sends.
 *
 * @param dest a pid or a registered name.
 * @param message any value; delivered by reference, not copied.
 * @returns `message`.
 * @throws {NotRegisteredError} if `dest` is a name nobody holds.
 * @throws {TypeError} if `dest` is neither a pid nor a string.
 *
 * @example
 * ```ts
 * import { send, receive, self } from "@steward/steward/process";
 * send(self(), "ping");
 * console.assert(await receive() === "ping");
 * ```
 */
export function send<T>(dest: Dest, message: T): T {
  let target;
  if (typeof dest === "string") {
    target = whereisName(dest);
    if (target === undefined) throw new NotRegisteredError("send", dest);
  } else if ((target = procOfAny(dest)) === undefined) {
    throw new TypeError(
      `Cannot send: 'dest' must be a Pid or a registered name, got ${
        formatTerm(dest)
      }`,
    );
  }
  const sender = currentProc();
  if (!sender.dead) {
    countSent(sender);
    deliver(target, message);
  }
  return message;
}

/** Options of {@linkcode receive}. */
export interface ReceiveOptions {
  /**
   * Milliseconds to wait for a matching message: `0` only looks at the
   * mailbox; `Infinity` waits forever. Runs on the current clock.
   * @default {Infinity}
   */
  timeout?: number;
  /**
   * Ends the wait when it aborts: the receive rejects with the signal's
   * `reason` and takes no message.
   */
  signal?: AbortSignal;
}

const RECEIVE_OPTIONS = ["timeout", "signal"];

/**
 * Takes the oldest message of the caller's mailbox that `predicate` accepts
 * (any message without one), waiting for it if needed. Messages it skips stay
 * in the mailbox, in order.
 *
 * A process may wait in several receives at once (`Promise.all` over joins,
 * concurrent request handlers in top-level code): each new message goes to
 * the oldest pending receive whose predicate accepts it, else stays in the
 * mailbox. With one receive pending this is exactly Erlang's selective
 * receive.
 *
 * @param predicate which message to take; runs synchronously as the
 *   receiving process (keep it a pure test).
 * @param options `timeout`, `signal`.
 * @returns the message.
 * @throws {TimeoutError} (rejects) if no message matched within `timeout`.
 * @throws {ExitError} (rejects) if the process is killed while waiting.
 * @throws {TypeError} (rejects) for a malformed predicate or option.
 *
 * @example
 * ```ts
 * import { send, receive, self } from "@steward/steward/process";
 * send(self(), "first");
 * send(self(), 2);
 * console.assert(await receive((m) => typeof m === "number") === 2);
 * console.assert(await receive() === "first");
 *
 * // Two waits at once: each message goes to the oldest wait that wants it.
 * const both = Promise.all([
 *   receive((m) => m === "a"),
 *   receive((m) => m === "b"),
 * ]);
 * send(self(), "b");
 * send(self(), "a");
 * console.assert((await both).join() === "a,b");
 * ```
 */
export function receive<T>(
  predicate: (message: unknown) => message is T,
  options?: ReceiveOptions,
): Promise<T>;
/**
 * Takes the oldest message `predicate` accepts (any message without one):
 * see above. With a type guard (`receive(isDown)`) the result is typed.
 */
export function receive<T = unknown>(
  predicate?: (message: unknown) => boolean,
  options?: ReceiveOptions,
): Promise<T>;
export function receive<T = unknown>(
  predicate?: (message: unknown) => boolean,
  options?: ReceiveOptions,
): Promise<T> {
  if (predicate !== undefined && typeof predicate !== "function") {
    return Promise.reject(
      new TypeError(
        `Cannot receive: 'predicate' must be a function, got ${
          formatTerm(predicate)
        }`,
      ),
    );
  }
  if (options !== undefined) {
    if (options === null || typeof options !== "object") {
      return Promise.reject(
        new TypeError(
          `Cannot receive: 'options' must be an object, got ${
            formatTerm(options)
          }`,
        ),
      );
    }
    for (const key in options) {
      if (!RECEIVE_OPTIONS.includes(key)) {
        return Promise.reject(
          new TypeError(
            `Cannot receive: unknown option ${JSON.stringify(key)} (known: ${
              RECEIVE_OPTIONS.join(", ")
            })`,
          ),
        );
      }
    }
  }
  const timeout = options?.timeout ?? Infinity;
  if (typeof timeout !== "number" || !(timeout >= 0)) {
    return Promise.reject(
      new RangeError(
        `Cannot receive: 'timeout' must be a non-negative number or Infinity, got ${
          formatTerm(timeout)
        }`,
      ),
    );
  }
  const signal = options?.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    return Promise.reject(
      new TypeError(
        `Cannot receive: 'signal' must be an AbortSignal, got ${
          formatTerm(signal)
        }`,
      ),
    );
  }
  return receiveIn(currentProc(), predicate, timeout, signal) as Promise<T>;
}

/**
 * The message a process that traps exits gets when a linked process exits
 * (or when {@linkcode exit} targets it): `["EXIT", from, reason]`.
 */
export type ExitMessage = readonly ["EXIT", Pid, unknown];

/**
 * The message a monitor sends when its target exits:
 * `["DOWN", ref, "process", item, reason]`, where `item` is the pid or name
 * given to {@linkcode monitor}.
 */
export type DownMessage = readonly ["DOWN", Ref, "process", Dest, unknown];

/** `message` as an array of `length` elements with tag `tag`, else undefined. */
function tagged(
  message: unknown,
  tag: string,
  length: number,
): readonly unknown[] | undefined {
  // A Proxy may throw from any trap: such a message is simply no match.
  try {
    if (
      Array.isArray(message) && message.length === length &&
      message[0] === tag
    ) return message;
  } catch {
    // not ours
  }
  return undefined;
}

/**
 * Whether `message` is an {@linkcode ExitMessage} (from `from`, if given).
 * A type guard: `receive(isExit)` resolves to an `ExitMessage`. Never throws.
 *
 * @param message any value.
 * @param from only an EXIT from this pid.
 * @returns whether it is one.
 *
 * @example
 * ```ts
 * import { isExit, receive, spawnLink, trapExit } from "@steward/steward/process";
 * const was = trapExit(true);
 * const pid = spawnLink(() => { throw "boom"; });
 * const [, from, reason] = await receive((m) => isExit(m, pid));
 * console.assert(from === pid && reason === "boom");
 * trapExit(was);
 * ```
 */
export function isExit(message: unknown, from?: Pid): message is ExitMessage {
  const m = tagged(message, "EXIT", 3);
  return m !== undefined && m[1] instanceof Pid &&
    (from === undefined || m[1] === from);
}

/**
 * Whether `message` is a {@linkcode DownMessage} (of monitor `ref`, if
 * given). A type guard: `receive(isDown)` resolves to a `DownMessage`.
 * Never throws.
 *
 * @param message any value.
 * @param ref only the DOWN of this monitor.
 * @returns whether it is one.
 *
 * @example
 * ```ts
 * import { isDown, monitor, receive } from "@steward/steward/process";
 * const ref = monitor("nobody");
 * const [, , , item, reason] = await receive((m) => isDown(m, ref));
 * console.assert(item === "nobody" && reason === "noproc");
 * ```
 */
export function isDown(message: unknown, ref?: Ref): message is DownMessage {
  const m = tagged(message, "DOWN", 5);
  return m !== undefined && m[1] instanceof Ref && m[2] === "process" &&
    (ref === undefined || m[1] === ref);
}

/**
 * Links the caller and `pid`, both ways: when either exits, the other gets
 * the exit signal. Linking twice, or to oneself, does nothing.
 *
 * @param pid the process to link to.
 * @throws {NoProcError} if `pid` is dead and the caller does not trap exits
 *   (a trapping caller gets `["EXIT", pid, "noproc"]` instead).
 * @throws {TypeError} if `pid` is not a Pid.
 *
 * @example
 * ```ts
 * import { link, spawn, exit, receive } from "@steward/steward/process";
 * const pid = spawn(async () => { await new Promise(() => {}); });
 * link(pid);
 * exit(pid, "crashed");
 * // main traps exits
 * const msg = await receive((m) => Array.isArray(m) && m[1] === pid);
 * console.assert((msg as unknown[])[2] === "crashed");
 * ```
 */
export function link(pid: Pid): void {
  checkPid("link", pid);
  const caller = currentProc();
  const target = procOf(pid);
  if (caller.dead || target === caller) return;
  if (target.dead) {
    if (isRemote(target)) {
      // A remote pid: linked here, and its node links it there (an exit
      // signal comes back if it cannot: noproc, noconnection).
      if (linked(caller, target)) return;
      linkProcs(caller, target);
      target.kind!.remote!.link(caller, target);
      if (caller.dead) throw new ExitError(caller.reason);
      return;
    }
    if (caller.trapExit) deliver(caller, ["EXIT", pid, "noproc"]);
    else throw new NoProcError("link", pid);
    return;
  }
  linkProcs(caller, target);
}

/** Options of {@linkcode unlink}. */
export interface UnlinkOptions {
  /**
   * Also remove an `["EXIT", pid, reason]` message already in the caller's
   * mailbox, so the link leaves no trace (what a supervisor does).
   * @default {false}
   */
  flush?: boolean;
}

/**
 * Removes the link between the caller and `pid`. After it returns, `pid`'s
 * exit can no longer affect the caller; an `EXIT` message it sent before may
 * still be in the mailbox unless `flush` is set.
 *
 * @param pid the linked process.
 * @param options `flush`.
 * @throws {TypeError} if `pid` is not a Pid.
 *
 * @example
 * ```ts
 * import { spawnLink, unlink, exit, isAlive } from "@steward/steward/process";
 * const pid = spawnLink(async () => { await new Promise(() => {}); });
 * unlink(pid);
 * exit(pid, "kill");
 * console.assert(!isAlive(pid));
 * ```
 */
export function unlink(pid: Pid, options?: UnlinkOptions): void {
  checkPid("unlink", pid);
  const caller = currentProc();
  const target = procOf(pid);
  if (target.dead && isRemote(target) && linked(caller, target)) {
    unlinkProcs(caller, target);
    target.kind!.remote!.unlink(caller, target);
  } else unlinkProcs(caller, target);
  if (options?.flush) {
    removeFirst(
      caller,
      (m) => Array.isArray(m) && m[0] === "EXIT" && m[1] === pid,
    );
  }
}

/**
 * Monitors a process (by pid, or the process now registered under a name).
 * When it exits, the caller gets `["DOWN", ref, "process", item, reason]`,
 * where `item` is what was passed here. Every call makes an independent
 * monitor. A dead pid or an unregistered name gives a DOWN with reason
 * `"noproc"` at once.
 *
 * @param target a pid or a registered name.
 * @returns the monitor's reference.
 * @throws {TypeError} if `target` is neither a pid nor a string.
 *
 * @example
 * ```ts
 * import { monitor, receive } from "@steward/steward/process";
 * const ref = monitor("nobody");
 * const down = await receive((m) => Array.isArray(m) && m[1] === ref);
 * console.assert((down as unknown[])[3] === "nobody");
 * console.assert((down as unknown[])[4] === "noproc");
 * ```
 */
export function monitor(target: Dest): Ref {
  const owner = liveCaller();
  if (target instanceof Pid) return monitorProc(owner, procOf(target), target);
  if (typeof target === "string") {
    return monitorProc(owner, whereisName(target), target);
  }
  throw new TypeError(
    `Cannot monitor: 'target' must be a Pid or a registered name, got ${
      formatTerm(target)
    }`,
  );
}

/** Options of {@linkcode demonitor}. */
export interface DemonitorOptions {
  /** Also remove a DOWN message for this monitor already in the mailbox. */
  flush?: boolean;
}

/**
 * Turns off the monitor `ref`: no DOWN for it is delivered afterwards (one may
 * already be in the mailbox unless `flush`). Unknown or fired refs are fine.
 *
 * @param ref a reference from {@linkcode monitor}.
 * @param options `flush`.
 * @returns `true` if the monitor was active and is now removed, `false` if
 *   it had already fired or was not the caller's (OTP's `info` option).
 * @throws {TypeError} if `ref` is not a Ref.
 *
 * @example
 * ```ts
 * import { demonitor, monitor, spawn, exit } from "@steward/steward/process";
 * const pid = spawn(async () => { await new Promise(() => {}); });
 * const ref = monitor(pid);
 * console.assert(demonitor(ref) === true);
 * exit(pid, "kill"); // no DOWN will come
 * console.assert(demonitor(ref) === false);
 * ```
 */
export function demonitor(ref: Ref, options?: DemonitorOptions): boolean {
  if (!(ref instanceof Ref)) {
    throw new TypeError(
      `Cannot demonitor: 'ref' must be a Ref, got ${formatTerm(ref)}`,
    );
  }
  const owner = currentProc();
  const removed = demonitorRef(owner, ref);
  if (options?.flush) {
    removeFirst(
      owner,
      (m) => Array.isArray(m) && m[0] === "DOWN" && m[1] === ref,
    );
  }
  return removed;
}

/**
 * Sends an exit signal with `reason` to `pid`, as OTP's `exit/2`:
 * - `"kill"` kills it with reason `"killed"`, trapping or not;
 * - if it traps exits, it gets `["EXIT", self(), reason]` instead;
 * - `"normal"` does nothing to another process, but ends the caller itself;
 * - any other reason kills it with that reason.
 *
 * A dead `pid` is fine (nothing happens). If the signal ends the caller
 * itself, `exit` throws an `ExitError` so the caller's code unwinds.
 *
 * @param pid the process to signal.
 * @param reason the exit reason.
 * @throws {TypeError} if `pid` is not a Pid.
 * @throws {ExitError} if the signal ended the calling process.
 *
 * @example
 * ```ts
 * import { exit, spawnMonitor, receive } from "@steward/steward/process";
 * const [pid, ref] = spawnMonitor(async () => { await new Promise(() => {}); });
 * exit(pid, "kill");
 * const down = await receive((m) => Array.isArray(m) && m[1] === ref);
 * console.assert((down as unknown[])[4] === "killed");
 * ```
 */
export function exit(pid: Pid, reason: unknown): void {
  checkPid("exit", pid);
  const caller = currentProc();
  if (caller.dead) return;
  exitSignal(caller, procOf(pid), reason, false);
  if (caller.dead) throw new ExitError(caller.reason);
}

/**
 * Sets whether the calling process traps exits: a trapped exit signal
 * arrives as an `["EXIT", pid, reason]` message instead of killing it
 * (`"kill"` sent by `exit` still kills).
 *
 * @param flag trap or not.
 * @returns the previous setting.
 * @throws {TypeError} if `flag` is not a boolean.
 *
 * @example
 * ```ts
 * import { trapExit, spawn } from "@steward/steward/process";
 * spawn(() => {
 *   console.assert(trapExit(true) === false);
 *   console.assert(trapExit(false) === true);
 * });
 * ```
 */
export function trapExit(flag: boolean): boolean {
  if (typeof flag !== "boolean") {
    throw new TypeError(
      `Cannot set trapExit: 'flag' must be a boolean, got ${formatTerm(flag)}`,
    );
  }
  return setTrapExit(liveCaller(), flag);
}

/**
 * Registers `pid` under `name`; the name is freed when it exits.
 *
 * @param name a non-empty string.
 * @param pid a live process without a name.
 * @throws {AlreadyRegisteredError} if the name is taken or `pid` has a name.
 * @throws {NoProcError} if `pid` is dead.
 * @throws {TypeError} if `name` is not a non-empty string or `pid` not a Pid.
 *
 * @example
 * ```ts
 * import { register, whereis, spawn, exit } from "@steward/steward/process";
 * const pid = spawn(async () => { await new Promise(() => {}); });
 * register("worker", pid);
 * console.assert(whereis("worker") === pid);
 * exit(pid, "kill");
 * console.assert(whereis("worker") === undefined);
 * ```
 */
export function register(name: string, pid: Pid): void {
  checkName("register", name);
  checkPid("register", pid);
  liveCaller();
  const p = procOf(pid);
  if (p.dead) throw new NoProcError(`register ${JSON.stringify(name)}`, pid);
  const holder = whereisName(name);
  if (holder !== undefined) {
    throw new AlreadyRegisteredError(
      `Cannot register ${
        JSON.stringify(name)
      }: it is already registered to ${holder.pid}`,
      name,
      holder.pid,
    );
  }
  if (p.name !== undefined) {
    throw new AlreadyRegisteredError(
      `Cannot register ${
        JSON.stringify(name)
      }: ${pid} is already registered as ${JSON.stringify(p.name)}`,
      name,
      pid,
    );
  }
  registerName(name, p);
}

/**
 * Removes a registered name.
 *
 * @param name the name.
 * @throws {NotRegisteredError} if nothing is registered under `name`.
 * @throws {TypeError} if `name` is not a non-empty string.
 *
 * @example
 * ```ts
 * import { register, unregister, whereis, self } from "@steward/steward/process";
 * register("me", self());
 * unregister("me");
 * console.assert(whereis("me") === undefined);
 * ```
 */
export function unregister(name: string): void {
  checkName("unregister", name);
  if (whereisName(name) === undefined) {
    throw new NotRegisteredError("unregister", name);
  }
  unregisterName(name);
}

/**
 * The pid registered under `name`, or `undefined`.
 *
 * @param name the name.
 * @returns the pid or `undefined`.
 *
 * @example
 * ```ts
 * import { whereis } from "@steward/steward/process";
 * console.assert(whereis("nobody") === undefined);
 * ```
 */
export function whereis(name: string): Pid | undefined {
  return typeof name === "string" ? whereisName(name)?.pid : undefined;
}

/**
 * Every registered name.
 *
 * @returns the names, in registration order.
 *
 * @example
 * ```ts
 * import { registered } from "@steward/steward/process";
 * console.assert(Array.isArray(registered()));
 * ```
 */
export function registered(): string[] {
  return registeredNames();
}

/**
 * Whether `pid` is alive.
 *
 * @param pid the process.
 * @returns `true` until it has exited.
 * @throws {TypeError} if `pid` is not a Pid.
 *
 * @example
 * ```ts
 * import { isAlive, self } from "@steward/steward/process";
 * console.assert(isAlive(self()));
 * ```
 */
export function isAlive(pid: Pid): boolean {
  checkPid("isAlive", pid);
  return !procOf(pid).dead;
}

/** What {@linkcode processInfo} reports. */
export interface ProcessInfo {
  /**
   * `"running"`: its code is on the stack or it is inside an async step;
   * `"runnable"`: it has work queued; `"waiting"`: idle in receive or
   * between messages.
   */
  status: "running" | "runnable" | "waiting";
  /** Its registered name, if any. */
  registeredName: string | undefined;
  /** Whether it traps exits. */
  trapExit: boolean;
  /** Messages waiting in its mailbox. */
  messageQueueLength: number;
  /** The processes linked to it. */
  links: Pid[];
  /** What it monitors: pids, or names for monitors set by name. */
  monitors: (Pid | string)[];
  /** The processes monitoring it. */
  monitoredBy: Pid[];
}

/**
 * A snapshot of a live process, or `undefined` if it has exited.
 *
 * @param pid the process.
 * @returns its status, name, flags, mailbox length, links and monitors.
 * @throws {TypeError} if `pid` is not a Pid.
 *
 * @example
 * ```ts
 * import { processInfo, self, send } from "@steward/steward/process";
 * send(self(), "hi");
 * const info = processInfo(self())!;
 * console.assert(info.trapExit && info.messageQueueLength >= 1);
 * ```
 */
export function processInfo(pid: Pid): ProcessInfo | undefined {
  checkPid("processInfo", pid);
  const p = procOf(pid);
  if (p.dead) return undefined;
  const { held, on } = monitorsOf(p);
  const queued = mailboxLength(p);
  const status = p === currentProc()
    ? "running"
    : p.scheduled || p.starting
    ? "runnable"
    : p.waiter !== null
    ? "waiting"
    : p.kind !== null && !p.busy
    ? (queued > 0 ? "runnable" : "waiting")
    : "running"; // inside an async step of its body or a callback
  return {
    status,
    registeredName: p.name,
    trapExit: p.trapExit,
    messageQueueLength: queued,
    links: listOf(p.links).map((l) => l.pid),
    monitors: held.map((m) => m.item),
    monitoredBy: on.map((m) => m.owner.pid),
  };
}
