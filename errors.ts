/**
 * The error classes callers catch. Argument errors at the API edge are plain
 * `TypeError` (wrong shape) and `RangeError` (out of range); the classes here
 * are the conditions a program reacts to: a process that is gone, a name that
 * is taken, a call that failed, a receive that timed out.
 *
 * Exit reasons are data: `"normal"`, `"shutdown"`, `"kill"`, `"killed"`,
 * `"noproc"`, `{ shutdown: detail }`, or whatever a process body threw. An
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
 *   throw new ExitError({ shutdown: "done" });
 * });
 * const down = await receive((m) => Array.isArray(m) && m[1] === ref);
 * console.assert((down as unknown[])[4] !== undefined);
 * ```
 */
export class ExitError extends Error {
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
 * A selective `receive` found no matching message within its timeout.
 *
 * @example
 * ```ts
 * import { TimeoutError } from "@steward/steward/errors";
 * import { receive } from "@steward/steward/process";
 * try {
 *   await receive((m) => m === "never sent", { timeout: 0 });
 * } catch (e) {
 *   console.assert(e instanceof TimeoutError);
 * }
 * ```
 */
export class TimeoutError extends Error {
  /** The timeout that expired, in milliseconds. */
  readonly timeout: number;

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
 * A `GenServer.call` or `GenServer.stop` failed. `reason` says why, with
 * OTP's reasons: `"noproc"` (no such server), `"timeout"`, `"calling_self"`,
 * or the exit reason of a server that died before replying. The rest of the
 * error names the call, like OTP's `{Reason, {gen_server, call, Args}}`.
 *
 * @example
 * ```ts
 * import { CallError } from "@steward/steward/errors";
 * import { call } from "@steward/steward/gen-server";
 * try {
 *   await call("no_such_server", "ping");
 * } catch (e) {
 *   console.assert(e instanceof CallError && e.reason === "noproc");
 * }
 * ```
 */
export class CallError extends Error {
  /** Why the call failed. */
  readonly reason: unknown;
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
    super(
      `GenServer.${operation}(${
        [server, ...args].map(formatTerm).join(", ")
      }) failed: ${formatTerm(reason)}`,
      causeOf(reason),
    );
    this.name = "CallError";
    this.reason = reason;
    this.operation = operation;
    this.server = server;
    this.args = args;
  }
}

/**
 * A gen_server did not start. `reason` is OTP's: `"ignore"` when init
 * returned `"ignore"`, `"timeout"` when init outlived its timeout,
 * `{ alreadyStarted: pid }` when the name was taken, the reason of
 * `["stop", reason]` or `["error", reason]`, `{ badReturnValue: value }`, or
 * what init threw.
 *
 * @example
 * ```ts
 * import { StartError } from "@steward/steward/errors";
 * import { start } from "@steward/steward/gen-server";
 * try {
 *   await start({ init: () => ["stop", "no_config"] }, undefined);
 * } catch (e) {
 *   console.assert(e instanceof StartError && e.reason === "no_config");
 * }
 * ```
 */
export class StartError extends Error {
  /** Why the server did not start. */
  readonly reason: unknown;

  /**
   * Creates the error.
   *
   * @param reason why the start failed.
   */
  constructor(reason: unknown) {
    super(
      `GenServer did not start: ${formatTerm(reason)}`,
      causeOf(reason),
    );
    this.name = "StartError";
    this.reason = reason;
  }
}

/**
 * Why a table operation failed (OTP's `error_info` causes):
 * - `"notFound"`: the table does not exist (never did, or was destroyed);
 * - `"access"`: the calling process may not read (private) or write
 *   (protected, private) this table;
 * - `"alreadyExists"`: a named table with that name exists;
 * - `"notOwner"`: only the owner may give the table away or change its heir;
 * - `"owner"`: giving a table to its own owner;
 * - `"badKey"`: no record with that key (lookupElement, updateCounter);
 * - `"keyPos"`: an update aimed at the key itself;
 * - `"position"`: a position outside the record;
 * - `"tableType"`: not for this table type (counters on a bag...);
 * - `"default"`: a default record that cannot be used;
 * - `"badValue"`: a value of the wrong kind (a counter that is not an
 *   integer...).
 */
export type EtsErrorCause =
  | "notFound"
  | "access"
  | "alreadyExists"
  | "notOwner"
  | "owner"
  | "badKey"
  | "keyPos"
  | "position"
  | "tableType"
  | "default"
  | "badValue";

/**
 * A table operation failed; `cause` says why, and the message names the
 * operation and the table. A failed write changes nothing.
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
 *   console.assert(e instanceof EtsError && e.cause === "notFound");
 * }
 * ```
 */
export class EtsError extends Error {
  /** The operation, e.g. `"insert"`. */
  readonly operation: string;
  /** The table's name. */
  readonly table: string;
  /** Why it failed. */
  override readonly cause: EtsErrorCause;

  /**
   * Creates the error.
   *
   * @param operation the operation that failed.
   * @param table the table's name.
   * @param cause why.
   * @param detail the rest of the message.
   */
  constructor(
    operation: string,
    table: string,
    cause: EtsErrorCause,
    detail: string,
  ) {
    super(`Cannot ${operation} on table ${JSON.stringify(table)}: ${detail}`);
    this.name = "EtsError";
    this.operation = operation;
    this.table = table;
    this.cause = cause;
  }
}

/**
 * The common base of the supervisor-like modules' request errors
 * ({@linkcode SupervisorError}, the director's `DirectorError`, the
 * tracker's `TrackerError`): a request about one child failed; `code` says
 * why, `reason` carries the child's failure for `"startFailed"`, `pid` the
 * running child for `"alreadyStarted"` (and the director's `"running"`).
 * Catch the module's own class; this one is for code that handles all
 * three alike.
 *
 * @example
 * ```ts
 * import { ChildRequestError, SupervisorError } from "@steward/steward/errors";
 * const e = new SupervisorError("deleteChild", "db", "notFound");
 * console.assert(e instanceof ChildRequestError && e.code === "notFound");
 * console.assert(e.message === 'deleteChild "db" failed: notFound');
 * ```
 */
export class ChildRequestError<C extends string = string> extends Error {
  /** Why the request failed. */
  readonly code: C;
  /** The child's failure reason (`"startFailed"`), else undefined. */
  readonly reason: unknown;
  /** The running child (`"alreadyStarted"`...), else undefined. */
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
   * @param details `reason` and `pid`, as above.
   * @param message the full message. @default {ChildRequestError.describe(operation, child, code, details?.reason)}
   */
  constructor(
    operation: string,
    child: unknown,
    code: C,
    details?: { reason?: unknown; pid?: Pid },
    message: string = ChildRequestError.describe(
      operation,
      child,
      code,
      details?.reason,
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
   * The usual message: `<operation> <child> failed: <code>`, with the
   * reason in parentheses for `"startFailed"`.
   *
   * @param operation the request.
   * @param child the child id or pid it named.
   * @param code why it failed.
   * @param reason the child's failure reason.
   * @returns the message.
   *
   * @example
   * ```ts
   * import { ChildRequestError } from "@steward/steward/errors";
   * const m = ChildRequestError.describe("startChild", "w", "startFailed", "boom");
   * console.assert(m === 'startChild "w" failed: startFailed ("boom")');
   * ```
   */
  static describe(
    operation: string,
    child: unknown,
    code: string,
    reason?: unknown,
  ): string {
    return `${operation} ${formatTerm(child)} failed: ${code}${
      code === "startFailed" ? ` (${formatTerm(reason)})` : ""
    }`;
  }
}

/**
 * Why a supervisor request failed (OTP's `{error, ...}` results):
 * - `"alreadyStarted"`: a child with that id is running (its pid is in
 *   `pid`), or the start function reported `{ alreadyStarted: pid }`;
 * - `"alreadyPresent"`: a child with that id exists but is not running
 *   (stopped, or restarting);
 * - `"notFound"`: no such child;
 * - `"running"`: the child must be stopped first (restartChild, deleteChild);
 * - `"restarting"`: the child is between restart attempts;
 * - `"simpleOneForOne"`: not for a simple_one_for_one or dynamic supervisor
 *   (or, there, an id where a pid is needed);
 * - `"maxChildren"`: a dynamic supervisor has `maxChildren` children;
 * - `"startFailed"`: the child's start function failed with `reason`.
 */
export type SupervisorErrorCode =
  | "alreadyStarted"
  | "alreadyPresent"
  | "notFound"
  | "running"
  | "restarting"
  | "simpleOneForOne"
  | "maxChildren"
  | "startFailed";

/**
 * A supervisor request that failed: `code` says why, `reason` carries the
 * child's failure for `"startFailed"`, `pid` the running child for
 * `"alreadyStarted"`.
 *
 * @example
 * ```ts
 * import { SupervisorError } from "@steward/steward/errors";
 * import * as supervisor from "@steward/steward/supervisor";
 * const sup = await supervisor.start({ strategy: "one_for_one" });
 * const err = await supervisor.deleteChild(sup, "nobody").catch((e) => e);
 * console.assert(err instanceof SupervisorError && err.code === "notFound");
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
 * OTP-style term (`"missingId"`, `{ invalidRestartType: "forever" }`,
 * `{ duplicateChildName: id }`...), the message says what is wrong and why.
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
 * - `"alreadyRunning"`: another application runs in this program (one root
 *   per program);
 * - `"startFailed"`: its start function failed with `reason` (returned
 *   `["error", reason]` or `"ignore"`, or threw).
 */
export type ApplicationErrorCode = "alreadyRunning" | "startFailed";

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
 * console.assert(err instanceof ApplicationError && err.code === "startFailed");
 * console.assert(err.reason === "no_config");
 * ```
 */
export class ApplicationError extends Error {
  /** Why it did not start. */
  readonly code: ApplicationErrorCode;
  /** The start function's failure (`"startFailed"`), else undefined. */
  readonly reason: unknown;
  /** The application's name. */
  readonly application: string;

  /**
   * Creates the error.
   *
   * @param application the application's name.
   * @param code why it did not start.
   * @param reason the start function's failure, for `"startFailed"`.
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
      code === "alreadyRunning"
        ? `Cannot start application ${
          JSON.stringify(application)
        }: an application is already running (one root per program)`
        : `Application ${JSON.stringify(application)} did not start: ${what}`,
      isError ? { cause: reason } : undefined,
    );
    this.name = "ApplicationError";
    this.application = application;
    this.code = code;
    this.reason = reason;
  }
}
