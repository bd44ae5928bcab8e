/**
 * The error classes callers catch. Argument errors at the API edge are plain
 * `TypeError` (wrong shape) and `RangeError` (out of range; inside a child
 * spec or supervisor flags, a {@linkcode ChildSpecError}, a `TypeError`
 * carrying OTP's reason); the classes here
 * are the conditions a program reacts to: a process that is gone, a name that
 * is taken, a call that failed, a receive that timed out.
 *
 * Messages have one form, "Cannot OP X of Y: why" (`Cannot startChild "w"
 * of supervisor <0.12.0>: its start failed ("boom")`, `Cannot lookup on
 * table "scores": it does not exist`); the OTP reason, where there is one,
 * is quoted in it and kept as data in the error's fields.
 *
 * Exit reasons are data: `"normal"`, `"shutdown"`, `"kill"`, `"killed"`,
 * `"noproc"`, `["shutdown", detail]`, or whatever a process body threw. An
 * error that carries one exposes it as `reason`.
 *
 * ```ts
 * import { ExitError } from "@steward/steward/errors";
 * const e = new ExitError("shutdown");
 * console.assert(e.reason === "shutdown" && e.name === "ExitError");
 * ```
 *
 * @module
 */

import { formatTerm } from "./_format.ts";
import type { Pid } from "./_runtime.ts";
import { causeOf } from "./_safe.ts";

// Messages are built eagerly with formatTerm, which never throws and calls no
// user code it can avoid: an error about a hostile value (a Proxy whose traps
// throw, a toString that throws, a cycle) is still built and printed.

/**
 * A process exit with a reason, as a value you can throw or catch.
 *
 * - Thrown inside a process body or a gen_server callback, it ends the
 *   process with `reason` (like Erlang's `exit(Reason)`); any other thrown
 *   value becomes the exit reason as it is.
 * - A process that is killed while it waits in `receive` (or in a call, or a
 *   start) sees that wait reject with an `ExitError` whose `reason` is the
 *   process's own exit reason, so its code unwinds.
 *
 * @example
 * ```ts
 * import { ExitError } from "@steward/steward/errors";
 * import { spawnMonitor, receive } from "@steward/steward/process";
 * const [, ref] = spawnMonitor(() => {
 *   throw new ExitError(["shutdown", "done"]);
 * });
 * const down = await receive((m) => Array.isArray(m) && m[1] === ref);
 * console.assert((down as unknown[])[4] !== undefined);
 * ```
 */
export class ExitError extends Error {
  /** What callers test: always `"exit"`. */
  readonly code: "exit" = "exit";
  /** The exit reason. */
  readonly reason: unknown;

  /**
   * Creates the error.
   *
   * @param reason the exit reason.
   * @param options standard error options (`cause`).
   */
  constructor(reason: unknown, options?: ErrorOptions) {
    super(`process exit: ${formatTerm(reason)}`, options);
    this.name = "ExitError";
    this.reason = reason;
  }
}

/**
 * There is no process: a dead pid was linked to by a process that does not
 * trap exits, or registered under a name.
 *
 * @example
 * ```ts
 * import { NoProcError } from "@steward/steward/errors";
 * const e = new NoProcError("link", "worker");
 * console.assert(e.message === 'Cannot link: no process "worker"');
 * ```
 */
export class NoProcError extends Error {
  /** What callers test: always `"noproc"` (OTP's reason). */
  readonly code: "noproc" = "noproc";
  /** What was being done. */
  readonly operation: string;
  /** The pid or name that has no process. */
  readonly target: unknown;

  /**
   * Creates the error.
   *
   * @param operation the operation that failed (e.g. "link").
   * @param target the pid or name without a process.
   */
  constructor(operation: string, target: unknown) {
    super(`Cannot ${operation}: no process ${formatTerm(target)}`);
    this.name = "NoProcError";
    this.operation = operation;
    this.target = target;
  }
}

/**
 * A registered name was needed but nothing is registered under it (sending to
 * it, or unregistering it).
 *
 * @example
 * ```ts
 * import { NotRegisteredError } from "@steward/steward/errors";
 * import { send } from "@steward/steward/process";
 * try {
 *   send("nobody_here", "hi");
 * } catch (e) {
 *   console.assert(e instanceof NotRegisteredError);
 * }
 * ```
 */
export class NotRegisteredError extends Error {
  /** What callers test: always `"not_registered"`. */
  readonly code: "not_registered" = "not_registered";
  /** What was being done. */
  readonly operation: string;
  /** The name. */
  readonly registeredName: string;

  /**
   * Creates the error.
   *
   * @param operation the operation that failed (e.g. "send").
   * @param name the name that is not registered.
   */
  constructor(operation: string, name: string) {
    super(
      `Cannot ${operation}: no process is registered as ${
        JSON.stringify(name)
      }`,
    );
    this.name = "NotRegisteredError";
    this.operation = operation;
    this.registeredName = name;
  }
}

/**
 * A name is already taken, or a process already has a name.
 *
 * @example
 * ```ts
 * import { AlreadyRegisteredError } from "@steward/steward/errors";
 * import { register, unregister, self } from "@steward/steward/process";
 * register("shell", self());
 * try {
 *   register("shell", self());
 * } catch (e) {
 *   console.assert(e instanceof AlreadyRegisteredError);
 * } finally {
 *   unregister("shell");
 * }
 * ```
 */
export class AlreadyRegisteredError extends Error {
  /** What callers test: always `"already_registered"`. */
  readonly code: "already_registered" = "already_registered";
  /** The name asked for. */
  readonly registeredName: string;
  /** The process holding that name (or the process that already had one). */
  readonly pid: unknown;

  /**
   * Creates the error.
   *
   * @param message the full message.
   * @param name the name asked for.
   * @param pid the process in the way.
   */
  constructor(message: string, name: string, pid: unknown) {
    super(message);
    this.name = "AlreadyRegisteredError";
    this.registeredName = name;
    this.pid = pid;
  }
}

/**
 * A wait ran out of time: a selective `receive` found no matching message,
 * a `GenServer.call` got no reply, a `GenServer.start` saw no end of `init`,
 * a `GenServer.stop` saw no exit. `code` is `"timeout"` for all of them, so
 * `catch (e) { if (e instanceof TimeoutError) ... }` handles every timeout.
 *
 * The gen_server ones are the subclasses {@linkcode CallTimeoutError} (call
 * and stop) and {@linkcode StartTimeoutError} (start): they carry the fields
 * of {@linkcode CallError} / {@linkcode StartError} (with reason
 * `"timeout"`) and pass `instanceof CallError` / `instanceof StartError`
 * too, so code written before they existed keeps working.
 *
 * @example
 * ```ts
 * import { TimeoutError } from "@steward/steward/errors";
 * import { receive } from "@steward/steward/process";
 * try {
 *   await receive((m) => m === "never sent", { timeout: 0 });
 * } catch (e) {
 *   console.assert(e instanceof TimeoutError && e.code === "timeout");
 * }
 * ```
 */
export class TimeoutError extends Error {
  /** The timeout that expired, in milliseconds. */
  readonly timeout: number;
  /** `"timeout"`. */
  readonly code: "timeout" = "timeout";

  /**
   * Creates the error.
   *
   * @param message the full message.
   * @param timeout the timeout in milliseconds.
   */
  constructor(message: string, timeout: number) {
    super(message);
    this.name = "TimeoutError";
    this.timeout = timeout;
  }
}

/**
 * Why a `GenServer.call` or `GenServer.stop` failed, as a code (the OTP
 * reason itself is the error's `reason`):
 * - `"noproc"`: no such server;
 * - `"timeout"`: no answer in time (the error is a
 *   {@linkcode CallTimeoutError}, also a {@linkcode TimeoutError});
 * - `"calling_self"`: a server called itself (reason `"calling_self"`);
 * - `"exited"`: the server exited (with `reason`) before it replied, or,
 *   for a stop, exited with another reason than the one asked.
 */
export type CallErrorCode = "noproc" | "timeout" | "calling_self" | "exited";

/**
 * The message of a failed call or stop: `Cannot call server <0.5.0> with
 * "ping": no reply within 5000 ms ("timeout")`. `args` are the request (or
 * the stop reason) and the timeout.
 */
function callMessage(
  operation: "call" | "stop",
  server: unknown,
  args: readonly unknown[],
  reason: unknown,
): string {
  let why: string;
  if (reason === "noproc") why = 'no such process ("noproc")';
  else if (reason === "calling_self") {
    why = 'a server cannot call itself ("calling_self")';
  } else if (reason === "timeout") {
    why = `${operation === "call" ? "no reply" : "it did not exit"} within ${
      formatTerm(args[1])
    } ms ("timeout")`;
  } else why = `it exited with ${formatTerm(reason)}`;
  return `Cannot ${operation} server ${formatTerm(server)} with ${
    formatTerm(args[0])
  }: ${why}`;
}

/** `instanceof` as if no `Symbol.hasInstance` were defined. */
function ordinaryInstanceOf(C: unknown, value: unknown): boolean {
  return Function.prototype[Symbol.hasInstance].call(C, value);
}

/**
 * A `GenServer.call` or `GenServer.stop` failed. `reason` says why, with
 * OTP's reasons: `"noproc"` (no such server), `"timeout"`, `"calling_self"`,
 * or the exit reason of a server that died before replying; `code` says the
 * same as a {@linkcode CallErrorCode}. The rest of the error names the call,
 * like OTP's `{Reason, {gen_server, call, Args}}`.
 *
 * A timeout is a {@linkcode CallTimeoutError}: a {@linkcode TimeoutError}
 * that `instanceof CallError` also accepts (JavaScript has one prototype
 * chain; `CallError[Symbol.hasInstance]` adds the second parent).
 *
 * @example
 * ```ts
 * import { CallError } from "@steward/steward/errors";
 * import { call } from "@steward/steward/gen-server";
 * try {
 *   await call("no_such_server", "ping");
 * } catch (e) {
 *   console.assert(e instanceof CallError && e.code === "noproc");
 * }
 * ```
 */
export class CallError extends Error {
  /** Why the call failed. */
  readonly reason: unknown;
  /** The same, as a code. */
  readonly code: CallErrorCode;
  /** `"call"` or `"stop"`. */
  readonly operation: "call" | "stop";
  /** The server as the caller named it (pid or registered name). */
  readonly server: unknown;
  /** The arguments of the failed operation after the server. */
  readonly args: readonly unknown[];

  /**
   * Creates the error.
   *
   * @param reason why the call failed.
   * @param operation `"call"` or `"stop"`.
   * @param server the server as given by the caller.
   * @param args the remaining arguments (request and timeout, or reason and timeout).
   */
  constructor(
    reason: unknown,
    operation: "call" | "stop",
    server: unknown,
    args: readonly unknown[],
  ) {
    super(callMessage(operation, server, args, reason), causeOf(reason));
    this.name = "CallError";
    this.reason = reason;
    this.code = reason === "noproc"
      ? "noproc"
      : reason === "timeout"
      ? "timeout"
      : reason === "calling_self"
      ? "calling_self"
      : "exited";
    this.operation = operation;
    this.server = server;
    this.args = args;
  }

  /**
   * Whether `value` is a CallError: one made by this class (or a subclass),
   * or a {@linkcode CallTimeoutError}.
   *
   * @param value any value.
   * @returns whether `value instanceof CallError` holds.
   *
   * @example
   * ```ts
   * import { CallError, CallTimeoutError } from "@steward/steward/errors";
   * const e = new CallTimeoutError("call", "db", ["get", 100], 100);
   * console.assert(e instanceof CallError && e.reason === "timeout");
   * ```
   */
  static override [Symbol.hasInstance](value: unknown): value is CallError {
    return ordinaryInstanceOf(this, value) ||
      (this === CallError && ordinaryInstanceOf(CallTimeoutError, value));
  }
}

/**
 * A `GenServer.call` that got no reply, or a `GenServer.stop` that saw no
 * exit, within its timeout: a {@linkcode TimeoutError} with the fields of a
 * {@linkcode CallError} (`reason` `"timeout"`, `operation`, `server`,
 * `args`), and `instanceof CallError` holds for it. A reply that comes later
 * is dropped.
 *
 * @example
 * ```ts
 * import { CallError, CallTimeoutError, TimeoutError } from "@steward/steward/errors";
 * import { call, start, stop } from "@steward/steward/gen-server";
 * const pid = await start({
 *   init: () => ["ok", null],
 *   handleCall: (_req, _from, s) => ["noreply", s],
 * }, undefined);
 * const err = await call(pid, "hold", { timeout: 1 }).catch((e) => e);
 * console.assert(err instanceof TimeoutError && err instanceof CallError);
 * console.assert(err instanceof CallTimeoutError && err.timeout === 1);
 * await stop(pid);
 * ```
 */
export class CallTimeoutError extends TimeoutError {
  /** `"timeout"`, as a CallError's. */
  readonly reason: "timeout" = "timeout";
  /** `"call"` or `"stop"`. */
  readonly operation: "call" | "stop";
  /** The server as the caller named it (pid or registered name). */
  readonly server: unknown;
  /** The arguments of the operation after the server. */
  readonly args: readonly unknown[];

  /**
   * Creates the error.
   *
   * @param operation `"call"` or `"stop"`.
   * @param server the server as given by the caller.
   * @param args the remaining arguments (request and timeout, or reason and timeout).
   * @param timeout the timeout in milliseconds.
   */
  constructor(
    operation: "call" | "stop",
    server: unknown,
    args: readonly unknown[],
    timeout: number,
  ) {
    super(callMessage(operation, server, args, "timeout"), timeout);
    this.name = "CallTimeoutError";
    this.operation = operation;
    this.server = server;
    this.args = args;
  }
}

/**
 * Why a gen_server did not start, as a code (the OTP reason itself is the
 * error's `reason`):
 * - `"ignore"`: init returned `"ignore"`;
 * - `"already_started"`: the name was taken (reason `["already_started", pid]`);
 * - `"timeout"`: init outlived its timeout (the error is a
 *   {@linkcode StartTimeoutError}, also a {@linkcode TimeoutError});
 * - `"failed"`: anything else: init returned `["stop", reason]` or
 *   `["error", reason]` or a bad value, threw, or the server died.
 */
export type StartErrorCode =
  | "ignore"
  | "already_started"
  | "timeout"
  | "failed";

/** The code for a start failure's reason (guarded: reasons may be hostile). */
function startCode(reason: unknown): StartErrorCode {
  if (reason === "ignore") return "ignore";
  if (reason === "timeout") return "timeout";
  try {
    if (
      Array.isArray(reason) && reason.length === 2 &&
      reason[0] === "already_started"
    ) return "already_started";
  } catch {
    // A Proxy whose trap throws: just a failure.
  }
  return "failed";
}

/**
 * A gen_server did not start. `reason` is OTP's: `"ignore"` when init
 * returned `"ignore"`, `"timeout"` when init outlived its timeout,
 * `["already_started", pid]` when the name was taken, the reason of
 * `["stop", reason]` or `["error", reason]`, `["bad_return_value", value]`, or
 * what init threw; `code` sorts these out (a {@linkcode StartErrorCode}).
 *
 * A timeout is a {@linkcode StartTimeoutError}: a {@linkcode TimeoutError}
 * that `instanceof StartError` also accepts.
 *
 * @example
 * ```ts
 * import { StartError } from "@steward/steward/errors";
 * import { start } from "@steward/steward/gen-server";
 * try {
 *   await start({ init: () => ["stop", "no_config"] }, undefined);
 * } catch (e) {
 *   console.assert(e instanceof StartError && e.reason === "no_config");
 *   console.assert(e instanceof StartError && e.code === "failed");
 * }
 * ```
 */
export class StartError extends Error {
  /** Why the server did not start. */
  readonly reason: unknown;
  /** The same, as a code. */
  readonly code: StartErrorCode;

  /**
   * Creates the error.
   *
   * @param reason why the start failed.
   */
  constructor(reason: unknown) {
    const code = startCode(reason);
    super(
      `Cannot start GenServer: ${
        code === "ignore"
          ? 'its init returned "ignore"'
          : code === "already_started"
          ? `its name is taken (${formatTerm(reason)})`
          : `it failed (${formatTerm(reason)})`
      }`,
      causeOf(reason),
    );
    this.name = "StartError";
    this.reason = reason;
    this.code = code;
  }

  /**
   * Whether `value` is a StartError: one made by this class (or a
   * subclass), or a {@linkcode StartTimeoutError}.
   *
   * @param value any value.
   * @returns whether `value instanceof StartError` holds.
   *
   * @example
   * ```ts
   * import { StartError, StartTimeoutError } from "@steward/steward/errors";
   * const e = new StartTimeoutError(100);
   * console.assert(e instanceof StartError && e.reason === "timeout");
   * ```
   */
  static override [Symbol.hasInstance](value: unknown): value is StartError {
    return ordinaryInstanceOf(this, value) ||
      (this === StartError && ordinaryInstanceOf(StartTimeoutError, value));
  }
}

/**
 * A gen_server whose `init` outlived the start's `timeout`: the server was
 * killed. A {@linkcode TimeoutError} with a {@linkcode StartError}'s
 * `reason` (`"timeout"`), and `instanceof StartError` holds for it.
 *
 * @example
 * ```ts
 * import { StartError, StartTimeoutError, TimeoutError } from "@steward/steward/errors";
 * import { start } from "@steward/steward/gen-server";
 * import { receive } from "@steward/steward/process";
 * const err = await start({
 *   init: async () => { await receive((m) => m === "never"); return ["ok", 0]; },
 * }, undefined, { timeout: 1 }).catch((e) => e);
 * console.assert(err instanceof TimeoutError && err instanceof StartError);
 * console.assert(err instanceof StartTimeoutError && err.reason === "timeout");
 * ```
 */
export class StartTimeoutError extends TimeoutError {
  /** `"timeout"`, as a StartError's. */
  readonly reason: "timeout" = "timeout";

  /**
   * Creates the error.
   *
   * @param timeout the timeout in milliseconds.
   */
  constructor(timeout: number) {
    super(
      `Cannot start GenServer: its init did not return within ${timeout} ms ("timeout")`,
      timeout,
    );
    this.name = "StartTimeoutError";
  }
}

/**
 * Why a table operation failed (OTP's `error_info` causes):
 * - `"not_found"`: the table does not exist (never did, or was destroyed);
 * - `"access"`: the calling process may not read (private) or write
 *   (protected, private) this table;
 * - `"already_exists"`: a named table with that name exists;
 * - `"not_owner"`: only the owner may give the table away or change its heir;
 * - `"owner"`: giving a table to its own owner;
 * - `"bad_key"`: no record with that key (lookupElement, updateCounter);
 * - `"key_pos"`: an update aimed at the key itself;
 * - `"position"`: a position outside the record;
 * - `"table_type"`: not for this table type (counters on a bag...);
 * - `"default"`: a default record that cannot be used;
 * - `"bad_value"`: a value of the wrong kind (a counter that is not an
 *   integer...).
 */
export type EtsErrorCode =
  | "not_found"
  | "access"
  | "already_exists"
  | "not_owner"
  | "owner"
  | "bad_key"
  | "key_pos"
  | "position"
  | "table_type"
  | "default"
  | "bad_value";

/**
 * The former name of {@linkcode EtsErrorCode}.
 *
 * @deprecated use {@linkcode EtsErrorCode}; `EtsError.cause` is no longer
 * the code (it is ES2022's underlying error).
 */
export type EtsErrorCause = EtsErrorCode;

/**
 * A table operation failed; `code` says why, and the message names the
 * operation and the table. A failed write changes nothing. `cause` has its
 * ES2022 meaning: the underlying error, if any (undefined for the table's
 * own failures, which are all of them today).
 *
 * @example
 * ```ts
 * import { EtsError } from "@steward/steward/errors";
 * import { create } from "@steward/steward/ets";
 * const t = create("scores");
 * t.destroy();
 * try {
 *   t.lookup(1);
 * } catch (e) {
 *   console.assert(e instanceof EtsError && e.code === "not_found");
 *   console.assert(e instanceof EtsError && e.cause === undefined);
 * }
 * ```
 */
export class EtsError extends Error {
  /** Why it failed (see {@linkcode EtsErrorCode}). */
  readonly code: EtsErrorCode;
  /** The operation, e.g. `"insert"`. */
  readonly operation: string;
  /** The table's name. */
  readonly table: string;

  /**
   * Creates the error.
   *
   * @param operation the operation that failed.
   * @param table the table's name.
   * @param code why.
   * @param detail the rest of the message.
   * @param options standard error options (`cause`: an underlying error).
   */
  constructor(
    operation: string,
    table: string,
    code: EtsErrorCode,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(
      `Cannot ${operation} on table ${JSON.stringify(table)}: ${detail}`,
      options,
    );
    this.name = "EtsError";
    this.operation = operation;
    this.table = table;
    this.code = code;
  }
}

/**
 * The common base of the supervisor-like modules' request errors
 * ({@linkcode SupervisorError}, the director's `DirectorError`, the
 * tracker's `TrackerError`): a request about one child failed; `code` says
 * why, `reason` carries the child's failure for `"start_failed"`, `pid` the
 * running child for `"already_started"` (and the director's `"running"`).
 * Catch the module's own class; this one is for code that handles all
 * three alike.
 *
 * @example
 * ```ts
 * import { ChildRequestError, SupervisorError } from "@steward/steward/errors";
 * const e = new SupervisorError("deleteChild", "db", "not_found");
 * console.assert(e instanceof ChildRequestError && e.code === "not_found");
 * console.assert(e.message === 'Cannot deleteChild "db": no such child');
 * ```
 */
export class ChildRequestError<C extends string = string> extends Error {
  /** Why the request failed. */
  readonly code: C;
  /** The child's failure reason (`"start_failed"`), else undefined. */
  readonly reason: unknown;
  /** The running child (`"already_started"`...), else undefined. */
  readonly pid: Pid | undefined;
  /** The request: `"startChild"`, `"terminateChild"`... */
  readonly operation: string;
  /** The child id or pid the request named. */
  readonly child: unknown;

  /**
   * Creates the error.
   *
   * @param operation the request.
   * @param child the child id or pid it named.
   * @param code why it failed.
   * @param details `reason` and `pid`, as above, and `server`: the
   *   supervisor-like process as the message names it (`"supervisor
   *   <0.12.0>"`).
   * @param message the full message. @default {ChildRequestError.describe(operation, child, code, details?.reason, details?.server)}
   */
  constructor(
    operation: string,
    child: unknown,
    code: C,
    details?: { reason?: unknown; pid?: Pid; server?: string },
    message: string = ChildRequestError.describe(
      operation,
      child,
      code,
      details?.reason,
      details?.server,
    ),
  ) {
    const reason = details?.reason;
    super(message, causeOf(reason));
    this.name = "ChildRequestError";
    this.operation = operation;
    this.child = child;
    this.code = code;
    this.reason = reason;
    this.pid = details?.pid;
  }

  /**
   * The usual message, "Cannot OP X of Y: why": `Cannot startChild "w" of
   * supervisor <0.12.0>: its start failed ("boom")`. The code is said in
   * words (an unknown code as it is), with the reason in parentheses for
   * `"start_failed"`; without `server`, the "of Y" part is left out.
   *
   * @param operation the request.
   * @param child the child id or pid it named.
   * @param code why it failed.
   * @param reason the child's failure reason.
   * @param server the supervisor-like process, as the message names it.
   * @returns the message.
   *
   * @example
   * ```ts
   * import { ChildRequestError } from "@steward/steward/errors";
   * const m = ChildRequestError.describe(
   *   "startChild", "w", "start_failed", "boom", "supervisor <0.12.0>",
   * );
   * console.assert(
   *   m === 'Cannot startChild "w" of supervisor <0.12.0>: its start failed ("boom")',
   * );
   * ```
   */
  static describe(
    operation: string,
    child: unknown,
    code: string,
    reason?: unknown,
    server?: string,
  ): string {
    const why = code === "start_failed"
      ? `its start failed (${formatTerm(reason)})`
      : Object.hasOwn(CHILD_WHY, code)
      ? CHILD_WHY[code]
      : code;
    return `Cannot ${operation} ${formatTerm(child)}${
      server === undefined ? "" : ` of ${server}`
    }: ${why}`;
  }
}

/** The codes of the supervisor-like modules, in words (for messages). */
const CHILD_WHY: Readonly<Record<string, string>> = {
  not_found: "no such child",
  already_started: "it is already running",
  already_present: "it exists but is not running",
  running: "it is running (terminate it first)",
  restarting: "it is restarting",
  not_running: "it is not running",
  simple_one_for_one: "not for a simple_one_for_one supervisor",
  max_children: "the supervisor has max_children children",
  noproc: "no such process",
};

/**
 * Why a supervisor request failed (OTP's `{error, ...}` results):
 * - `"already_started"`: a child with that id is running (its pid is in
 *   `pid`), or the start function reported `["already_started", pid]`;
 * - `"already_present"`: a child with that id exists but is not running
 *   (stopped, or restarting);
 * - `"not_found"`: no such child;
 * - `"running"`: the child must be stopped first (restartChild, deleteChild);
 * - `"restarting"`: the child is between restart attempts;
 * - `"simple_one_for_one"`: not for a simple_one_for_one or dynamic supervisor
 *   (or, there, an id where a pid is needed);
 * - `"max_children"`: a dynamic supervisor has `max_children` children;
 * - `"start_failed"`: the child's start function failed with `reason`;
 * - `"not_supported"`: the process does not answer this request (a
 *   supervisor asked a director's or a tracker's own request, a tracker
 *   asked `startChild` or `getChildspec`: see each module's docs);
 * - `"unknown_request"`: a bare `GenServer.call` of a request the server
 *   does not know rejects with it (the server lives on).
 */
export type SupervisorErrorCode =
  | "already_started"
  | "already_present"
  | "not_found"
  | "running"
  | "restarting"
  | "simple_one_for_one"
  | "max_children"
  | "start_failed"
  | "not_supported"
  | "unknown_request";

/**
 * A supervisor request that failed: `code` says why, `reason` carries the
 * child's failure for `"start_failed"`, `pid` the running child for
 * `"already_started"`.
 *
 * @example
 * ```ts
 * import { SupervisorError } from "@steward/steward/errors";
 * import * as supervisor from "@steward/steward/supervisor";
 * const sup = await supervisor.start({ strategy: "one_for_one" });
 * const err = await supervisor.deleteChild(sup, "nobody").catch((e) => e);
 * console.assert(err instanceof SupervisorError && err.code === "not_found");
 * await supervisor.stop(sup);
 * ```
 */
export class SupervisorError extends ChildRequestError<SupervisorErrorCode> {
  /** `"SupervisorError"`. */
  override name = "SupervisorError";
}

/**
 * A child spec or supervisor flag that is not valid (OTP's child spec and
 * `supervisor_data` errors). `key` names the offending key, `reason` is the
 * OTP-style term (`"missing_id"`, `["invalid_restart_type", "forever"]`,
 * `["duplicate_child_name", id]`...), the message says what is wrong and why.
 *
 * A value out of range inside a spec or flags (`intensity: -1`, a negative
 * `shutdown`, a director's `count: -1`) is a ChildSpecError too, not a
 * `RangeError`: a spec is one value checked as a whole, as OTP's
 * `check_childspecs`, and each of its faults has an OTP reason
 * (`["invalid_intensity", -1]`) that only this class carries. It extends
 * `TypeError`, so `catch (e) { if (e instanceof TypeError) ... }` sees every
 * bad spec. The same value passed alone (`director.changeCount(d, id, -1)`,
 * a call `timeout`) is a `RangeError`.
 *
 * @example
 * ```ts
 * import { ChildSpecError } from "@steward/steward/errors";
 * import { checkChildspecs } from "@steward/steward/supervisor";
 * const err = checkChildspecs([{ id: "a", start: () => "ignore", restart: "forever" }]);
 * console.assert(err instanceof ChildSpecError && err.key === "restart");
 * ```
 */
export class ChildSpecError extends TypeError {
  /** What callers test: always `"bad_child_spec"`; `key` says which key. */
  readonly code: "bad_child_spec" = "bad_child_spec";
  /** The OTP-style reason term. */
  readonly reason: unknown;
  /** The offending key (`"id"`, `"restart"`, `"strategy"`...). */
  readonly key: string;

  /**
   * Creates the error.
   *
   * @param key the offending key.
   * @param reason the OTP-style reason term.
   * @param message what is wrong, for people.
   */
  constructor(key: string, reason: unknown, message: string) {
    super(message);
    this.name = "ChildSpecError";
    this.key = key;
    this.reason = reason;
  }
}

/**
 * Why an application did not start:
 * - `"already_running"`: another application runs in this program (one root
 *   per program);
 * - `"start_failed"`: its start function failed with `reason` (returned
 *   `["error", reason]` or `"ignore"`, or threw).
 */
export type ApplicationErrorCode = "already_running" | "start_failed";

/**
 * An application that did not start (application.ts): `code` says why,
 * `reason` carries the start function's failure.
 *
 * @example
 * ```ts
 * import { ApplicationError } from "@steward/steward/errors";
 * import { start } from "@steward/steward/application";
 * const err = await start(() => ["error", "no_config"] as const, { exit: false })
 *   .catch((e) => e);
 * console.assert(err instanceof ApplicationError && err.code === "start_failed");
 * console.assert(err.reason === "no_config");
 * ```
 */
export class ApplicationError extends Error {
  /** Why it did not start. */
  readonly code: ApplicationErrorCode;
  /** The start function's failure (`"start_failed"`), else undefined. */
  readonly reason: unknown;
  /** The application's name. */
  readonly application: string;

  /**
   * Creates the error.
   *
   * @param application the application's name.
   * @param code why it did not start.
   * @param reason the start function's failure, for `"start_failed"`.
   */
  constructor(
    application: string,
    code: ApplicationErrorCode,
    reason?: unknown,
  ) {
    let what: string;
    let isError: boolean;
    try {
      what = formatTerm(reason);
      isError = reason instanceof Error;
    } catch {
      // A Proxy or a throwing getter: the error must still be made.
      what = "<value that cannot be printed>";
      isError = false;
    }
    super(
      code === "already_running"
        ? `Cannot start application ${
          JSON.stringify(application)
        }: an application is already running (one root per program)`
        : `Cannot start application ${
          JSON.stringify(application)
        }: its start failed (${what})`,
      isError ? { cause: reason } : undefined,
    );
    this.name = "ApplicationError";
    this.application = application;
    this.code = code;
    this.reason = reason;
  }
}

/** The `sys.ts` function a {@linkcode SysError} names. */
export type SysOperation =
  | "getState"
  | "getStatus"
  | "suspend"
  | "resume"
  | "statistics";

/**
 * Why a `sys.ts` request failed, as a code (the reason itself is the error's
 * `reason`):
 * - `"noproc"`: no such process;
 * - `"not_a_server"`: the process is not a gen_server (a plain process, a
 *   task, an application master): it would never answer;
 * - `"calling_self"`: a server asked about itself;
 * - `"exited"`: the server exited (with `reason`) before it answered;
 * - `"timeout"`: no answer in time (the error is a
 *   {@linkcode SysTimeoutError}, also a {@linkcode TimeoutError}).
 */
export type SysErrorCode =
  | "noproc"
  | "not_a_server"
  | "calling_self"
  | "exited"
  | "timeout";

/** The message of a failed sys request. */
function sysMessage(
  operation: SysOperation,
  server: unknown,
  args: readonly unknown[],
  reason: unknown,
): string {
  const what = operation === "getState"
    ? "get the state of"
    : operation === "getStatus"
    ? "get the status of"
    : operation === "statistics"
    ? `${
      args.length > 1 ? formatTerm(args[0]).slice(1, -1) : "get"
    } statistics of`
    : operation;
  let why: string;
  if (reason === "noproc") why = 'no such process ("noproc")';
  else if (reason === "not_a_server") {
    why = 'it is not a gen_server ("not_a_server")';
  } else if (reason === "calling_self") {
    why = 'a server cannot ask about itself ("calling_self")';
  } else if (reason === "timeout") {
    why = `no answer within ${
      formatTerm(args[args.length - 1])
    } ms ("timeout")`;
  } else why = `it exited with ${formatTerm(reason)}`;
  return `Cannot ${what} server ${formatTerm(server)}: ${why}`;
}

/**
 * A `sys.ts` request (getState, getStatus, suspend, resume, statistics)
 * failed: OTP's `{Reason, {sys, Function, Args}}` exit, as an error.
 * `reason` is `"noproc"`, `"not_a_server"`, `"calling_self"` or the exit
 * reason of a server that died before answering; `code` sorts them out (a
 * {@linkcode SysErrorCode}). A timeout is a {@linkcode SysTimeoutError},
 * which `instanceof SysError` accepts too.
 *
 * @example
 * ```ts
 * import { SysError } from "@steward/steward/errors";
 * import { getState } from "@steward/steward/sys";
 * import { spawn } from "@steward/steward/process";
 * const err = await getState(spawn(() => {})).catch((e) => e);
 * console.assert(err instanceof SysError);
 * ```
 */
export class SysError extends Error {
  /** Why the request failed. */
  readonly reason: unknown;
  /** The same, as a code. */
  readonly code: SysErrorCode;
  /** The sys function that failed. */
  readonly operation: SysOperation;
  /** The server as the caller named it (pid or registered name). */
  readonly server: unknown;
  /** The arguments after the server (the flag, if any, and the timeout). */
  readonly args: readonly unknown[];

  /**
   * Creates the error.
   *
   * @param reason why the request failed.
   * @param operation the sys function.
   * @param server the server as given by the caller.
   * @param args the remaining arguments.
   */
  constructor(
    reason: unknown,
    operation: SysOperation,
    server: unknown,
    args: readonly unknown[],
  ) {
    super(sysMessage(operation, server, args, reason), causeOf(reason));
    this.name = "SysError";
    this.reason = reason;
    this.code = reason === "noproc"
      ? "noproc"
      : reason === "not_a_server"
      ? "not_a_server"
      : reason === "calling_self"
      ? "calling_self"
      : reason === "timeout"
      ? "timeout"
      : "exited";
    this.operation = operation;
    this.server = server;
    this.args = args;
  }

  /**
   * Whether `value` is a SysError: one made by this class (or a subclass),
   * or a {@linkcode SysTimeoutError}.
   *
   * @param value any value.
   * @returns whether `value instanceof SysError` holds.
   *
   * @example
   * ```ts
   * import { SysError, SysTimeoutError } from "@steward/steward/errors";
   * const e = new SysTimeoutError("getState", "db", [100], 100);
   * console.assert(e instanceof SysError && e.reason === "timeout");
   * ```
   */
  static override [Symbol.hasInstance](value: unknown): value is SysError {
    return ordinaryInstanceOf(this, value) ||
      (this === SysError && ordinaryInstanceOf(SysTimeoutError, value));
  }
}

/**
 * A `sys.ts` request that got no answer within its timeout (a suspended or
 * busy server answers later, and that answer is dropped): a
 * {@linkcode TimeoutError} with the fields of a {@linkcode SysError}, and
 * `instanceof SysError` holds for it.
 *
 * @example
 * ```ts
 * import { SysError, SysTimeoutError, TimeoutError } from "@steward/steward/errors";
 * const e = new SysTimeoutError("getStatus", "db", [10], 10);
 * console.assert(e instanceof TimeoutError && e instanceof SysError);
 * console.assert(e.code === "timeout" && e.operation === "getStatus");
 * ```
 */
export class SysTimeoutError extends TimeoutError {
  /** `"timeout"`, as a SysError's. */
  readonly reason: "timeout" = "timeout";
  /** The sys function that timed out. */
  readonly operation: SysOperation;
  /** The server as the caller named it (pid or registered name). */
  readonly server: unknown;
  /** The arguments after the server (the flag, if any, and the timeout). */
  readonly args: readonly unknown[];

  /**
   * Creates the error.
   *
   * @param operation the sys function.
   * @param server the server as given by the caller.
   * @param args the remaining arguments.
   * @param timeout the timeout in milliseconds.
   */
  constructor(
    operation: SysOperation,
    server: unknown,
    args: readonly unknown[],
    timeout: number,
  ) {
    super(sysMessage(operation, server, args, "timeout"), timeout);
    this.name = "SysTimeoutError";
    this.operation = operation;
    this.server = server;
    this.args = args;
  }
}

/**
 * What was wrong with a frame that came from another node: `"too_large"`,
 * `"bad_utf8"`, `"bad_json"`, `"bad_shape"` (a tag with the wrong
 * arguments, a value that is neither a JSON scalar nor a tagged array, a
 * malformed pid), `"too_deep"`, `"unknown_tag"`, `"too_many_peers"` (its
 * pids, refs or heartbeat would make this node know more other nodes than it
 * keeps at once: see cluster.ts), or `"bad_frame"` (a value that decodes,
 * but not to a frame the cluster knows).
 */
export type WireProblem =
  | "too_large"
  | "bad_utf8"
  | "bad_json"
  | "bad_shape"
  | "too_deep"
  | "unknown_tag"
  | "too_many_peers"
  | "bad_frame";

/**
 * A frame from another node could not be decoded (cluster.ts): the node
 * reports it and drops the frame; no process sees it. `problem` says why.
 *
 * @example
 * ```ts
 * import { WireDecodeError } from "@steward/steward/errors";
 * const e = new WireDecodeError("unknown_tag", 'unknown tag "x"');
 * console.assert(e.code === "bad_frame" && e.problem === "unknown_tag");
 * ```
 */
export class WireDecodeError extends Error {
  /** What callers test: always `"bad_frame"`. */
  readonly code: "bad_frame" = "bad_frame";
  /** Why the frame was refused. */
  readonly problem: WireProblem;

  /**
   * Creates the error.
   *
   * @param problem why the frame was refused.
   * @param detail a short description, for the report.
   */
  constructor(problem: WireProblem, detail: string) {
    super(`Dropped a frame from the wire (${problem}): ${detail}`);
    this.name = "WireDecodeError";
    this.problem = problem;
  }
}

/**
 * Why a cluster operation failed: `"already_connected"` (this runtime is a
 * node already: one node per runtime), `"name_in_use"` (a live node of the
 * cluster has that name: it is free once that node closes, or its lease
 * lapses), `"closed"` (the node was closed), or `"noconnection"` (the other
 * node is not reachable: gone, or in another cluster).
 */
export type ClusterErrorCode =
  | "already_connected"
  | "name_in_use"
  | "closed"
  | "noconnection";

/**
 * A cluster operation failed (`@steward/steward/cluster`); `code` says why.
 * (A call to a process on a node that is gone is a `CallError` with reason
 * `"noconnection"`, as in OTP.)
 *
 * @example
 * ```ts
 * import { ClusterError } from "@steward/steward/errors";
 * const e = new ClusterError("noconnection", "whereis", 'node "b" is not reachable');
 * console.assert(e.code === "noconnection" && e.operation === "whereis");
 * ```
 */
export class ClusterError extends Error {
  /** Why it failed. */
  readonly code: ClusterErrorCode;
  /** What was being done. */
  readonly operation: string;

  /**
   * Creates the error.
   *
   * @param code why it failed.
   * @param operation what was being done.
   * @param detail the rest of the message.
   * @param options the underlying error as `cause`.
   */
  constructor(
    code: ClusterErrorCode,
    operation: string,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`Cannot ${operation}: ${detail}`, options);
    this.name = "ClusterError";
    this.code = code;
    this.operation = operation;
  }
}

/**
 * Why a cluster tracker operation failed: `"not_owner"` (this node does not
 * hold the id, so it cannot write its attributes), `"fenced"` (this node's
 * lease lapsed: its children for the id were stopped), `"timeout"` (the id
 * could not be opened in time: its owner's lease has not lapsed, or no node
 * answered; for `setAttr`: the store did not answer, and the write may or
 * may not have been stored), `"no_tracker"` (the node chosen by `place` has
 * no such tracker), `"start_failed"` (the child's `start` threw), or
 * `"closed"` (the tracker is closed).
 */
export type ClusterTrackerErrorCode =
  | "not_owner"
  | "fenced"
  | "timeout"
  | "no_tracker"
  | "start_failed"
  | "closed";

/**
 * A cluster tracker operation failed (`@steward/steward/cluster-tracker`);
 * `code` says why and `id` names the id.
 *
 * @example
 * ```ts
 * import { ClusterTrackerError } from "@steward/steward/errors";
 * const e = new ClusterTrackerError("not_owner", "setAttr", "s1", "another node holds it");
 * console.assert(e.code === "not_owner" && e.id === "s1");
 * console.assert(e.message === 'Cannot setAttr "s1": another node holds it');
 * ```
 */
export class ClusterTrackerError extends Error {
  /** Why it failed. */
  readonly code: ClusterTrackerErrorCode;
  /** What was being done. */
  readonly operation: string;
  /** The id it was done for. */
  readonly id: string;

  /**
   * Creates the error.
   *
   * @param code why it failed.
   * @param operation what was being done.
   * @param id the id.
   * @param detail the rest of the message.
   * @param options the underlying error as `cause`.
   */
  constructor(
    code: ClusterTrackerErrorCode,
    operation: string,
    id: string,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`Cannot ${operation} ${JSON.stringify(id)}: ${detail}`, options);
    this.name = "ClusterTrackerError";
    this.code = code;
    this.operation = operation;
    this.id = id;
  }
}
