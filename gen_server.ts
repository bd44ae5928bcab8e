/**
 * GenServer: a process that keeps state and serves requests, one message at a
 * time, as OTP's `gen_server`. You write a behaviour (an object of
 * callbacks); {@linkcode start} runs it in a new process; {@linkcode call}
 * asks and waits for a reply, {@linkcode cast} tells without waiting.
 *
 * ## Callbacks and what they return
 * Every callback may be sync or `async`; the server takes no other message
 * until it settles. Returns are OTP's tuples, as arrays:
 *
 * | callback | returns |
 * |---|---|
 * | `init(arg)` | `["ok", state]`, `["ok", state, action]`, `"ignore"`, `["stop", reason]`, `["error", reason]` |
 * | `handleCall(request, from, state)` | `["reply", reply, state]`, `["reply", reply, state, action]`, `["noreply", state]`, `["noreply", state, action]`, `["stop", reason, reply, state]`, `["stop", reason, state]` |
 * | `handleCast(message, state)`, `handleInfo(message, state)`, `handleContinue(arg, state)` | `["noreply", state]`, `["noreply", state, action]`, `["stop", reason, state]` |
 * | `terminate(reason, state)` | anything (ignored) |
 * | `formatStatus(status)` | `status` with what must not be seen replaced (sync) |
 *
 * An `action` is a timeout in ms (no message within it: `handleInfo("timeout")`;
 * `0` fires only if the mailbox is empty; `Infinity` or `"infinity"`: none),
 * `"hibernate"` (accepted, does nothing: there is no heap to shrink), or
 * `["continue", arg]` (OTP's `{continue, Arg}`: `handleContinue(arg, state)`
 * runs next, before any message already queued). Any other return stops the
 * server with reason `["bad_return_value", value]`, except the old action form
 * `{ continue: arg }`: it stops the server (or fails its start) with a
 * `TypeError` that names the new form.
 *
 * ## Failures
 * A callback that throws stops the server with the thrown value as its
 * reason (an `ExitError` stands for its `reason`). `terminate` runs when a
 * callback returns `stop`, throws or returns garbage, on {@linkcode stop},
 * and when the parent (the process that called {@linkcode startLink}) exits
 * while the server traps exits. It does not run when the server is killed,
 * or when it does not trap exits and an exit signal ends it.
 *
 * A server that stops with a reason other than `"normal"`, `"shutdown"` or
 * `["shutdown", x]` is reported, with its last message
 * and the reason (`server_terminated`, OTP's "Generic server terminating";
 * see logger.ts); a message it drops for want of `handleInfo` is a warning
 * (`unhandled_info`). A behaviour's `formatStatus` (OTP's `format_status/1`)
 * filters that report's message and reason, and the state `getStatus`
 * shows.
 *
 * ## System requests
 * A server also answers sys.ts's requests (`getState`, `getStatus`,
 * `suspend`, `resume`, `statistics`) between two callbacks, in mailbox
 * order. While suspended it takes only those, {@linkcode stop}, and its
 * parent's EXIT; the other messages wait, in order.
 *
 * ## Timeouts, signals, options
 * Every timeout rejects with a `TimeoutError` (errors.ts): a call's or a
 * stop's is a `CallTimeoutError`, a start's a `StartTimeoutError`; both are
 * also accepted by `instanceof CallError` / `instanceof StartError`, with
 * reason `"timeout"`, as before. {@linkcode call}, {@linkcode stop},
 * {@linkcode start} and {@linkcode startLink} take a `signal`: when it
 * aborts, the wait rejects with the signal's `reason`. Unknown option keys
 * and unknown behaviour keys (own enumerable ones: a typo like `handelCall`)
 * are refused with a `TypeError` naming the key and the known ones.
 *
 * ## Typed servers
 * {@linkcode defineServer} gives each request tag its handler; the pid
 * {@linkcode start} returns for it (a {@linkcode ServerPid}) and a name typed
 * with {@linkcode serverName} make {@linkcode call} accept only those
 * requests and resolve to the reply type of the handler, and
 * {@linkcode cast} accept only the casts. Untyped pids and names take any
 * request, as before.
 *
 * Differences from OTP, on purpose: JavaScript has one kind of exception, so
 * Erlang's `throw(Value)`-as-return is not reproduced; a thrown value is
 * always a crash. Names are local strings (no `global`/`via`). OTP has no
 * way to abandon a start from outside; here a start whose `signal` aborts
 * before init is done kills the half-started server, as the start timeout
 * does (reason `"killed"`, its name freed, no EXIT left for a linked
 * caller): a server whose starter gave up would otherwise run unowned.
 *
 * ```ts
 * import { call, cast, start, stop } from "@steward/steward/gen-server";
 * import type { GenServer } from "@steward/steward/gen-server";
 *
 * const counter: GenServer<number, number> = {
 *   init: (n) => ["ok", n],
 *   handleCall: (request, _from, n) =>
 *     request === "get" ? ["reply", n, n] : ["reply", "unknown", n],
 *   handleCast: (request, n) => ["noreply", request === "inc" ? n + 1 : n],
 * };
 * const pid = await start(counter, 41);
 * cast(pid, "inc");
 * console.assert(await call(pid, "get") === 42);
 * await stop(pid);
 * ```
 *
 * @module
 */

import {
  addWait,
  countSent,
  currentProc,
  deliver,
  type DownWatcher,
  isRemote,
  kill,
  type Kind,
  leaseLapsed,
  mailboxLength,
  type Pid,
  type Proc,
  procOf,
  procOfAny,
  receiveIn,
  registerName,
  removeFirst,
  removeWait,
  setProcLabel,
  spawnProc,
  startTimeoutAfterBurst,
  thrownReason,
  unlinkProcs,
  unwatch,
  type Wait,
  watch,
  whereisName,
} from "./_runtime.ts";
import { callAs } from "./_context.ts";
import { Failure } from "./_failure.ts";
import { cancelTimeout, startTimeout, Timed } from "./_timers.ts";
import {
  CallError,
  CallTimeoutError,
  ExitError,
  StartError,
  StartTimeoutError,
  SysError,
  type SysOperation,
  SysTimeoutError,
} from "./errors.ts";
import { type SysBody, sysHooks } from "./_sys.ts";
import type { ServerStatus, Statistics } from "./sys.ts";
import { getClock } from "./clock.ts";
import { formatTerm } from "./_format.ts";
import { isCleanExit, isInstance, thenOf } from "./_safe.ts";
import { enabled, log } from "./_logger.ts";
import type { Dest } from "./process.ts";
import { genServerRemote } from "./_gen_server_remote.ts";

/** What a callback may ask for next: see the module docs. */
export type Action =
  | number
  | "infinity"
  | "hibernate"
  | readonly ["continue", unknown];

/** What `init` returns. */
export type InitResult<S> =
  | readonly ["ok", S]
  | readonly ["ok", S, Action]
  | "ignore"
  | readonly ["stop", unknown]
  | readonly ["error", unknown];

/** What `handleCall` returns. */
export type CallResult<S> =
  | readonly ["reply", unknown, S]
  | readonly ["reply", unknown, S, Action]
  | readonly ["noreply", S]
  | readonly ["noreply", S, Action]
  | readonly ["stop", unknown, unknown, S]
  | readonly ["stop", unknown, S];

/** What `handleCast`, `handleInfo` and `handleContinue` return. */
export type NoReplyResult<S> =
  | readonly ["noreply", S]
  | readonly ["noreply", S, Action]
  | readonly ["stop", unknown, S];

/** A value or a promise of it: every callback may be sync or async. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * Who is waiting for a reply: given to `handleCall`, passed to
 * {@linkcode reply} to answer later (after returning `["noreply", state]`).
 */
export interface From {
  /** The calling process. */
  readonly caller: Pid;
}

/**
 * A gen_server behaviour: the callbacks a server runs. Only `init` is
 * required. `S` is the state, `A` the argument of `init`.
 */
export interface GenServer<S = unknown, A = unknown> {
  /** Runs in the new process before {@linkcode start} returns. */
  init(arg: A): MaybePromise<InitResult<S>>;
  /** Serves a {@linkcode call}. Missing: the caller's call fails. */
  handleCall?(
    request: unknown,
    from: From,
    state: S,
  ): MaybePromise<CallResult<S>>;
  /** Handles a {@linkcode cast}. Missing: the server crashes. */
  handleCast?(message: unknown, state: S): MaybePromise<NoReplyResult<S>>;
  /** Handles any other message (and `"timeout"`). Missing: dropped. */
  handleInfo?(message: unknown, state: S): MaybePromise<NoReplyResult<S>>;
  /** Runs after an action `["continue", arg]`. */
  handleContinue?(arg: unknown, state: S): MaybePromise<NoReplyResult<S>>;
  /** Cleans up when the server stops (see the module docs for when). */
  terminate?(reason: unknown, state: S): unknown;
  /**
   * Formats what the server shows of itself (OTP's `format_status/1`): in
   * `getStatus` (sys.ts) it is given `{ state }`, in the termination report
   * `{ state, message, reason }`; it returns the same object with what must
   * not be seen replaced (a password, a token). Keys it leaves out keep
   * their value. Synchronous; if it throws, or returns anything but an
   * object, the state and message are shown as
   * `["EXIT", "format_status_crashed"]` (or `"format_status_bad_return"`),
   * so nothing leaks; the reason is kept.
   */
  formatStatus?(status: FormatStatus<S>): FormatStatus<unknown>;
}

/**
 * What {@linkcode GenServer.formatStatus} is given and returns: the state,
 * and, in the termination report, the last message and the reason.
 */
export interface FormatStatus<S = unknown> {
  /** The server's state. */
  state: S;
  /** The last message (termination report only). */
  message?: unknown;
  /** The exit reason (termination report only). */
  reason?: unknown;
}

/** Options of {@linkcode start} and {@linkcode startLink}. */
export interface StartOptions {
  /** Register the server under this name (freed when it exits). */
  name?: string;
  /**
   * Milliseconds `init` may take; past it the server is killed and the start
   * rejects with a {@linkcode StartTimeoutError} (a `TimeoutError` and a
   * `StartError` with reason `"timeout"`).
   * @default {Infinity}
   */
  timeout?: number;
  /**
   * Abandons the start when it aborts before init is done: the half-started
   * server is killed (reason `"killed"`, no EXIT left for a linked caller, as
   * for the timeout) and the start rejects with the signal's `reason`.
   */
  signal?: AbortSignal;
  /**
   * A label for the server, shown by the introspection of system.ts
   * (`processes()`, `supervisionTrees()`); as `setLabel` called in init.
   */
  label?: string;
}

/** Options of {@linkcode call}. */
export interface CallOptions {
  /**
   * Milliseconds to wait for the reply (`Infinity`: forever); past it the
   * call rejects with a {@linkcode CallTimeoutError}.
   * @default {5000}
   */
  timeout?: number;
  /**
   * Ends the wait when it aborts: the call rejects with the signal's
   * `reason`. As for a timeout, the server still serves a request already
   * delivered, and its reply is dropped.
   */
  signal?: AbortSignal;
}

/** Options of {@linkcode stop}. */
export interface StopOptions {
  /**
   * Milliseconds to wait for the server to end (`Infinity`: forever); past
   * it the stop rejects with a {@linkcode CallTimeoutError}.
   * @default {Infinity}
   */
  timeout?: number;
  /**
   * Ends the wait when it aborts: the stop rejects with the signal's
   * `reason`. The server still stops (the request is in its mailbox), as
   * after a timeout.
   */
  signal?: AbortSignal;
}

const START_OPTIONS = ["name", "timeout", "signal", "label"];
const CALL_OPTIONS = ["timeout", "signal"];
const BEHAVIOUR_KEYS = [
  "init",
  "handleCall",
  "handleCast",
  "handleInfo",
  "handleContinue",
  "terminate",
  "formatStatus",
];

/** OTP's default call timeout. */
const DEFAULT_CALL_TIMEOUT = 5000;

// ------------------------------------------------------------ messages --

/** A cast in a server's mailbox. */
class Cast {
  constructor(readonly message: unknown) {}
}

/**
 * Whether `msg` is one of ours (a request, a cast, a timeout). Guarded:
 * `instanceof` runs a Proxy's `getPrototypeOf` trap, and a message that
 * throws there is a plain message for handleInfo, not a crash.
 */
function isSystemMessage(msg: unknown): msg is Timed | Cast {
  if (typeof msg !== "object" || msg === null) return false;
  try {
    return msg instanceof Timed || msg instanceof Cast;
  } catch {
    return false;
  }
}

/**
 * A request waiting on a server (a call or a stop): the message in the
 * server's mailbox, a watch on the server's death (OTP's monitor), a wait
 * the requester's death ends, and a timeout. It ends once (`done`): by its
 * answer, the server's death, the timeout, or the requester's death.
 */
abstract class Request extends Timed implements DownWatcher, Wait {
  done = false;
  /** The caller's AbortSignal, listened to until the request ends. */
  signal: AbortSignal | null = null;
  /** Its listener. */
  onAbort: (() => void) | null = null;

  constructor(
    readonly owner: Proc,
    readonly target: Proc,
    readonly server: Dest,
    readonly timeout: number,
    readonly resolve: (value: unknown) => void,
    readonly reject: (error: unknown) => void,
  ) {
    super();
  }

  /** The error for `reason`, naming this request. */
  abstract error(reason: unknown): Error;

  /** The error for a timeout, naming this request. */
  abstract timeoutError(): Error;

  /** The server died with `reason` before answering. */
  abstract died(reason: unknown): void;

  /** Marks it done and drops its timer, watch and wait; false if it was. */
  finish(): boolean {
    if (this.done) return false;
    // A caller past its lease (a fenced cluster child) is killed instead,
    // and what it awaits never settles (see abort).
    const owner = this.owner;
    if (owner.lease !== null && !owner.dead && leaseLapsed(owner)) return false;
    this.done = true;
    cancelTimeout(this);
    unwatch(this.target, this);
    removeWait(this.owner, this);
    if (this.signal !== null) {
      this.signal.removeEventListener("abort", this.onAbort!);
      this.signal = null;
    }
    return true;
  }

  /**
   * Ends the request when `signal` aborts. (The listener is made here, not
   * per request: most calls have no signal, and this is the hot path.)
   */
  listen(signal: AbortSignal): void {
    const onAbort = () => {
      if (this.finish()) this.reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    this.signal = signal;
    this.onAbort = onAbort;
  }

  down(_target: Proc, reason: unknown): void {
    if (this.finish()) this.died(reason);
  }

  expire(): void {
    if (this.finish()) this.reject(this.timeoutError());
  }

  abort(reason: unknown, silent?: boolean): void {
    if (this.finish() && silent !== true) this.reject(new ExitError(reason));
  }
}

/** A pending call; also the `From` given to handleCall. */
class CallRequest extends Request implements From {
  constructor(
    owner: Proc,
    target: Proc,
    server: Dest,
    timeout: number,
    resolve: (value: unknown) => void,
    reject: (error: unknown) => void,
    readonly request: unknown,
  ) {
    super(owner, target, server, timeout, resolve, reject);
  }

  get caller(): Pid {
    return this.owner.pid;
  }

  /** The reply; later ones are dropped (OTP's alias). */
  settle(reply: unknown): void {
    if (this.done) return;
    const owner = this.owner;
    if (owner.lease !== null && !owner.dead && leaseLapsed(owner)) return;
    // Resolve before finish(): the caller resumes before the timer list's
    // idle check runs, so a caller calling in a loop keeps its clock timer.
    // A Failure (the library's servers only: _failure.ts) rejects instead.
    if (Failure.is(reply)) this.reject(reply.error);
    else this.resolve(reply);
    this.finish();
  }

  error(reason: unknown): CallError {
    return new CallError(reason, "call", this.server, [
      this.request,
      this.timeout,
    ]);
  }

  timeoutError(): Error {
    return new CallTimeoutError("call", this.server, [
      this.request,
      this.timeout,
    ], this.timeout);
  }

  died(reason: unknown): void {
    this.reject(this.error(reason));
  }
}

/** A pending stop: succeeds when the server dies with the reason asked. */
class StopRequest extends Request {
  constructor(
    owner: Proc,
    target: Proc,
    server: Dest,
    timeout: number,
    resolve: (value: unknown) => void,
    reject: (error: unknown) => void,
    readonly reason: unknown,
  ) {
    super(owner, target, server, timeout, resolve, reject);
  }

  error(reason: unknown): CallError {
    return new CallError(reason, "stop", this.server, [
      this.reason,
      this.timeout,
    ]);
  }

  timeoutError(): Error {
    return new CallTimeoutError("stop", this.server, [
      this.reason,
      this.timeout,
    ], this.timeout);
  }

  died(reason: unknown): void {
    if (reason === this.reason) this.resolve(undefined);
    else this.reject(this.error(reason));
  }
}

/**
 * A pending system request (sys.ts): OTP's `{system, From, Request}`. Served
 * by the server loop ahead of nothing (it waits its turn in the mailbox), and
 * the only request a suspended server serves, with stops and its parent's
 * EXIT.
 */
class SysRequest extends Request {
  constructor(
    owner: Proc,
    target: Proc,
    server: Dest,
    timeout: number,
    resolve: (value: unknown) => void,
    reject: (error: unknown) => void,
    readonly operation: SysOperation,
    readonly body: SysBody,
  ) {
    super(owner, target, server, timeout, resolve, reject);
  }

  /** The answer; dropped if the requester gave up. */
  settle(value: unknown): void {
    if (this.done) return;
    this.resolve(value);
    this.finish();
  }

  /** The arguments after the server, for errors. */
  args(): unknown[] {
    return this.body.length === 2
      ? [this.body[1], this.timeout]
      : [this.timeout];
  }

  error(reason: unknown): Error {
    return new SysError(reason, this.operation, this.server, this.args());
  }

  timeoutError(): Error {
    return new SysTimeoutError(
      this.operation,
      this.server,
      this.args(),
      this.timeout,
    );
  }

  died(reason: unknown): void {
    this.reject(this.error(reason));
  }
}

/** The noreply timeout: armed after a callback, put in the mailbox on expiry. */
class ServerTimeout extends Timed {
  constructor(readonly proc: Proc) {
    super();
  }

  expire(): void {
    const s = this.proc.data as Server | undefined;
    if (s !== undefined && s.timer === this) deliver(this.proc, this);
  }
}

// --------------------------------------------------------------- state --

/** A running server's data (the process record's `data`). */
class Server {
  /** The armed noreply timeout; any message dispatched cancels it. */
  timer: ServerTimeout | null = null;
  /**
   * The last message taken, for the termination report (OTP's "Last
   * message in"); held until the next one, as OTP's server holds it.
   */
  last: unknown = undefined;
  /**
   * What sys.ts set (suspended, statistics); null until it is used, the
   * common case, so an idle server pays one field for it.
   */
  sys: SysState | null = null;

  constructor(
    readonly behaviour: GenServer<unknown, unknown>,
    /** The user state, replaced by each callback's result. */
    public state: unknown,
    /** Who called startLink; its EXIT stops a trapping server. */
    readonly parent: Proc | null,
  ) {}
}

/** What sys.ts set on a server. */
class SysState {
  /** Suspended: only system requests, stops and the parent's EXIT are taken. */
  suspended = false;
  /** Statistics counters, while enabled. */
  stats: Stats | null = null;
}

/** Counters of sys.ts `statistics`. */
class Stats {
  /** Messages taken (calls, casts, infos; not system requests). */
  in = 0;
  /** Replies sent from handleCall's return. */
  out = 0;
  /** Callbacks run (OTP's reductions, roughly: the work done). */
  callbacks = 0;
  /** When statistics were enabled, clock ms. */
  readonly startTime: number = getClock().now();
}

type Callback = (
  this: unknown,
  a: unknown,
  b?: unknown,
  c?: unknown,
) => unknown;

/** Calls a user callback as `proc`, in its async context (_context.ts). */
function invoke(
  proc: Proc,
  s: { behaviour: object },
  fn: Callback,
  a: unknown,
  b?: unknown,
  c?: unknown,
): unknown {
  return callAs(proc, fn, s.behaviour, a, b, c);
}

/** Whether `x` is a thenable; false if reading `then` throws. */
function isThenable(x: unknown): x is PromiseLike<unknown> {
  return x !== null && typeof x === "object" && thenOf(x) !== null;
}

/**
 * Runs a callback, then handles its result: as a handleCall result when
 * `from` is given, else as a noreply result. A throw stops the server.
 * (No closure per message: this is the hot path.)
 */
function step(
  proc: Proc,
  s: Server,
  fn: Callback,
  from: CallRequest | null,
  a: unknown,
  b?: unknown,
  c?: unknown,
): void | Promise<void> {
  if (s.sys !== null && s.sys.stats !== null) s.sys.stats.callbacks++;
  let result: unknown;
  try {
    result = invoke(proc, s, fn, a, b, c);
  } catch (error) {
    // A callback that ended its own process (exit(self(), ...), or a linked
    // process it killed) is dead already: no terminate, no next step.
    return proc.dead
      ? undefined
      : terminateServer(proc, s, thrownReason(error));
  }
  if (proc.dead) return;
  if (isThenable(result)) {
    return Promise.resolve(result).then(
      (value) => proc.dead ? undefined : after(proc, s, value, from),
      (error) =>
        proc.dead ? undefined : terminateServer(proc, s, thrownReason(error)),
    );
  }
  return after(proc, s, result, from);
}

function after(
  proc: Proc,
  s: Server,
  result: unknown,
  from: CallRequest | null,
): void | Promise<void> {
  try {
    return from === null
      ? afterNoReply(proc, s, result)
      : afterCall(proc, s, result, from);
  } catch {
    // Reading the result threw (a Proxy's trap, a getter): it is a bad
    // return value, not a reason to leave the server half-stopped.
    if (proc.dead) return;
    return terminateServer(proc, s, ["bad_return_value", result]);
  }
}

// ----------------------------------------------------------------- loop --

const kind: Kind = {
  dispatch(proc: Proc, message: unknown): void | Promise<void> {
    return handleMessage(proc, proc.data as Server, message);
  },
  released(proc: Proc): void {
    // Killed with a noreply timeout armed: nothing else would clear it.
    const s = proc.data as Server;
    if (s.timer !== null) {
      cancelTimeout(s.timer);
      s.timer = null;
    }
  },
  stop(proc: Proc, reason: unknown): Promise<void> {
    return stop(proc.pid, reason).catch((e) => {
      // It died some other way meanwhile: disposal is done either way.
      if (!(e instanceof CallError)) throw e;
    });
  },
};

function handleMessage(
  proc: Proc,
  s: Server,
  msg: unknown,
): void | Promise<void> {
  s.last = msg;
  if (s.sys !== null) countIn(s.sys, msg);
  if (s.timer !== null) {
    const timer = s.timer;
    // A system request leaves the noreply timeout running (OTP restarts it).
    if (isInstance(msg, SysRequest)) return sysRequest(proc, s, msg);
    s.timer = null;
    if (msg === timer) return info(proc, s, "timeout");
    cancelTimeout(timer); // any message cancels the noreply timeout
  }
  // One check sorts out plain messages (the common case) from ours.
  if (isSystemMessage(msg)) return system(proc, s, msg);
  if (
    s.parent !== null && proc.trapExit && Array.isArray(msg) &&
    msg.length === 3 && msg[0] === "EXIT" && msg[1] === s.parent.pid
  ) {
    return terminateServer(proc, s, msg[2]);
  }
  return info(proc, s, msg);
}

/** Calls, casts, stops, and stale timeouts. */
function system(
  proc: Proc,
  s: Server,
  msg: Timed | Cast,
): void | Promise<void> {
  const b = s.behaviour;
  if (msg instanceof CallRequest) {
    // Served even if the caller gave up: as in OTP, only the reply is dropped.
    if (typeof b.handleCall !== "function") {
      return terminateServer(proc, s, ["undef", "handleCall"]);
    }
    return step(
      proc,
      s,
      b.handleCall as Callback,
      msg,
      msg.request,
      msg,
      s.state,
    );
  }
  if (msg instanceof Cast) {
    if (typeof b.handleCast !== "function") {
      return terminateServer(proc, s, ["undef", "handleCast"]);
    }
    return step(proc, s, b.handleCast as Callback, null, msg.message, s.state);
  }
  if (msg instanceof StopRequest) return terminateServer(proc, s, msg.reason);
  if (msg instanceof SysRequest) return sysRequest(proc, s, msg);
  // A ServerTimeout that lost the race with a message: stale, ignored.
}

function info(proc: Proc, s: Server, msg: unknown): void | Promise<void> {
  const handleInfo = s.behaviour.handleInfo;
  if (typeof handleInfo !== "function") {
    // OTP logs and drops it; the server lives on.
    if (enabled(undefined, "warning")) {
      log({
        level: "warning",
        kind: "unhandled_info",
        time: Date.now(),
        source: "gen_server",
        pid: proc.pid,
        name: proc.name,
        lastMessage: msg,
      });
    }
    return;
  }
  return step(proc, s, handleInfo as Callback, null, msg, s.state);
}

/** Whether `a` is a valid action (or none). */
function isAction(a: unknown): a is Action | undefined {
  if (a === undefined || a === "infinity" || a === "hibernate") return true;
  if (typeof a === "number") return a >= 0;
  return Array.isArray(a) && a.length === 2 && a[0] === "continue";
}

/**
 * The reason a server stops with for a callback's return `r` that is not
 * valid: `["bad_return_value", r]`, or a TypeError naming the new form if its
 * action is the old `{ continue: arg }` (a clear migration error).
 */
function badReturn(r: unknown): unknown {
  try {
    const a = Array.isArray(r) ? r[r.length - 1] : undefined;
    if (
      a !== null && typeof a === "object" && !Array.isArray(a) &&
      Object.hasOwn(a, "continue")
    ) {
      return new TypeError(
        `Cannot use action ${
          formatTerm(a)
        }: write ["continue", arg] (OTP's {continue, Arg}), not { continue: arg }`,
      );
    }
  } catch {
    // A Proxy that throws: an ordinary bad return.
  }
  return ["bad_return_value", r];
}

function afterCall(
  proc: Proc,
  s: Server,
  r: unknown,
  from: CallRequest,
): void | Promise<void> {
  if (Array.isArray(r)) {
    const n = r.length;
    if (r[0] === "reply" && (n === 3 || (n === 4 && isAction(r[3])))) {
      s.state = r[2];
      if (s.sys !== null && s.sys.stats !== null) s.sys.stats.out++;
      from.settle(r[1]);
      return applyAction(proc, s, r[3]);
    }
    if (r[0] === "stop" && n === 4) {
      s.state = r[3];
      return terminateServer(proc, s, r[1], from, r[2]);
    }
  }
  return afterNoReply(proc, s, r);
}

function afterNoReply(
  proc: Proc,
  s: Server,
  r: unknown,
): void | Promise<void> {
  if (Array.isArray(r)) {
    const n = r.length;
    if (r[0] === "noreply" && (n === 2 || (n === 3 && isAction(r[2])))) {
      s.state = r[1];
      return applyAction(proc, s, r[2]);
    }
    if (r[0] === "stop" && n === 3) {
      s.state = r[2];
      return terminateServer(proc, s, r[1]);
    }
  }
  return terminateServer(proc, s, badReturn(r));
}

function applyAction(
  proc: Proc,
  s: Server,
  action: Action | undefined,
): void | Promise<void> {
  if (typeof action === "number") {
    if (action === Infinity) return;
    const t = new ServerTimeout(proc);
    s.timer = t;
    if (action === 0) {
      // OTP's `after 0`: fires only if nothing is waiting right now.
      if (mailboxLength(proc) === 0) deliver(proc, t);
      else s.timer = null;
    } else {
      startTimeout(t, action);
    }
    return;
  }
  if (Array.isArray(action)) {
    const handleContinue = s.behaviour.handleContinue;
    if (typeof handleContinue !== "function") {
      return terminateServer(proc, s, ["undef", "handleContinue"]);
    }
    return step(
      proc,
      s,
      handleContinue as Callback,
      null,
      action[1],
      s.state,
    );
  }
}

/**
 * Stops the server: `terminate(reason, state)` if defined, then (for
 * `["stop", reason, reply, state]`) the reply, then the exit with `reason`
 * (or with what terminate threw).
 */
function terminateServer(
  proc: Proc,
  s: Server,
  reason: unknown,
  from?: CallRequest,
  reply?: unknown,
): void | Promise<void> {
  if (s.timer !== null) {
    cancelTimeout(s.timer);
    s.timer = null;
  }
  const terminate = s.behaviour.terminate;
  const finish = (exitReason: unknown) => {
    from?.settle(reply);
    if (!isCleanExit(exitReason)) reportTermination(proc, s, exitReason);
    kill(proc, exitReason);
  };
  if (typeof terminate !== "function") return finish(reason);
  let result: unknown;
  try {
    result = invoke(proc, s, terminate as Callback, reason, s.state);
  } catch (error) {
    return finish(thrownReason(error));
  }
  if (isThenable(result)) {
    return Promise.resolve(result).then(
      () => finish(reason),
      (error) => finish(thrownReason(error)),
    );
  }
  finish(reason);
}

/**
 * OTP's "Generic server terminating" report, with the last message; both
 * go through the behaviour's formatStatus, if any.
 */
function reportTermination(proc: Proc, s: Server, reason: unknown): void {
  if (!enabled(undefined, "error")) return;
  let m = s.last;
  try {
    m = m instanceof SysRequest
      ? ["system", m.body]
      : m instanceof CallRequest
      ? ["call", m.request]
      : m instanceof Cast
      ? ["cast", m.message]
      : m instanceof StopRequest
      ? ["stop", m.reason]
      : m instanceof ServerTimeout
      ? "timeout"
      : m;
  } catch {
    // A Proxy message whose prototype trap throws: reported as it is.
  }
  if (s.behaviour.formatStatus !== undefined) {
    const shown = formatted(proc, s, { state: s.state, message: m, reason });
    m = shown.message;
    reason = shown.reason;
  }
  log({
    level: "error",
    kind: "server_terminated",
    time: Date.now(),
    source: "gen_server",
    pid: proc.pid,
    name: proc.name,
    lastMessage: m,
    reason,
  });
}

// --------------------------------------------------------------- system --

// System requests (sys.ts), OTP's `{system, From, Request}`: answered by the
// server loop between two callbacks, like any request, and, while the server
// is suspended, the only thing it answers (with stops and its parent's EXIT,
// as OTP's sys:suspend_loop). They go through `system()`, after the checks
// for calls and casts, so the hot path pays nothing for them; statistics
// cost one null check per message while off.

/** Counts a message taken, for statistics (system requests excluded). */
function countIn(sys: SysState, msg: unknown): void {
  if (sys.stats !== null && !isInstance(msg, SysRequest)) sys.stats.in++;
}

/** Whether sys.ts suspended the server. */
function isSuspended(s: Server): boolean {
  return s.sys !== null && s.sys.suspended;
}

/** The server's sys state, made on first use. */
function sysOf(s: Server): SysState {
  return s.sys ??= new SysState();
}

/** Drops the sys state once it holds nothing (resumed, statistics off). */
function tidySys(s: Server): void {
  if (s.sys !== null && !s.sys.suspended && s.sys.stats === null) {
    s.sys = null;
  }
}

/** Serves a system request; after a suspend, waits in the suspend loop. */
function sysRequest(
  proc: Proc,
  s: Server,
  req: SysRequest,
): void | Promise<void> {
  req.settle(sysAnswer(proc, s, req.body));
  if (isSuspended(s)) return suspendLoop(proc, s);
}

/** The answer to a system request (applying suspend/resume/statistics). */
function sysAnswer(proc: Proc, s: Server, body: SysBody): unknown {
  switch (body[0]) {
    case "getState":
      return s.state;
    case "getStatus":
      return statusOf(proc, s);
    case "suspend":
      sysOf(s).suspended = true;
      return undefined;
    case "resume":
      if (s.sys !== null) s.sys.suspended = false;
      tidySys(s);
      return undefined;
    case "statistics": {
      const stats = s.sys === null ? null : s.sys.stats;
      if (body[1] === "get") {
        return stats === null ? undefined : statisticsOf(stats);
      }
      // OTP: enabling twice keeps the counters running since the first.
      if (body[1] === "enable") sysOf(s).stats ??= new Stats();
      else if (s.sys !== null) s.sys.stats = null;
      tidySys(s);
      return undefined;
    }
  }
}

/** A snapshot of the counters. */
function statisticsOf(stats: Stats): Statistics {
  return {
    startTime: stats.startTime,
    currentTime: getClock().now(),
    reductions: stats.callbacks,
    messagesIn: stats.in,
    messagesOut: stats.out,
  };
}

/** getStatus's answer: a fresh object; the state after formatStatus. */
function statusOf(proc: Proc, s: Server): ServerStatus {
  return {
    pid: proc.pid,
    name: proc.name,
    kind: proc.role,
    status: isSuspended(s) ? "suspended" : "running",
    parent: s.parent === null ? undefined : s.parent.pid,
    trapExit: proc.trapExit,
    messageQueueLength: mailboxLength(proc),
    statistics: s.sys === null || s.sys.stats === null
      ? undefined
      : statisticsOf(s.sys.stats),
    state: formatted(proc, s, { state: s.state }).state,
  };
}

/**
 * `status` after the behaviour's formatStatus (OTP's format_status/1).
 * Never throws: a callback that throws, or returns anything but an object,
 * has the state and message replaced by a marker (the reason is kept: it is
 * what a termination report is for).
 */
function formatted(
  proc: Proc,
  s: Server,
  status: FormatStatus,
): FormatStatus {
  const fn = s.behaviour.formatStatus;
  if (typeof fn !== "function") return status;
  let out: unknown;
  try {
    out = invoke(proc, s, fn as Callback, status);
  } catch {
    return failedFormat(status, "format_status_crashed");
  }
  try {
    if (out === null || typeof out !== "object" || isThenable(out)) {
      return failedFormat(status, "format_status_bad_return");
    }
    const o = out as Record<string, unknown>;
    const shown: FormatStatus = {
      state: "state" in o ? o.state : status.state,
    };
    if ("message" in status) {
      shown.message = "message" in o ? o.message : status.message;
    }
    if ("reason" in status) {
      shown.reason = "reason" in o ? o.reason : status.reason;
    }
    return shown;
  } catch {
    // A Proxy whose `has` trap throws.
    return failedFormat(status, "format_status_bad_return");
  }
}

function failedFormat(status: FormatStatus, why: string): FormatStatus {
  const marker = ["EXIT", why];
  const shown: FormatStatus = { state: marker };
  if ("message" in status) shown.message = marker;
  if ("reason" in status) shown.reason = status.reason;
  return shown;
}

/**
 * A suspended server: takes only system requests, stops and its parent's
 * EXIT (a selective receive: everything else stays queued, in order) until
 * resumed. The dispatch that suspended it is pending meanwhile, so the loop
 * takes no other message.
 */
async function suspendLoop(proc: Proc, s: Server): Promise<void> {
  const accepts = (m: unknown) => acceptedSuspended(proc, s, m);
  while (isSuspended(s)) {
    let msg: unknown;
    try {
      msg = await receiveIn(proc, accepts, Infinity);
    } catch {
      return; // killed while suspended: its death is done
    }
    if (proc.dead) return;
    if (msg instanceof SysRequest) {
      msg.settle(sysAnswer(proc, s, msg.body));
      continue;
    }
    s.sys!.suspended = false;
    s.last = msg;
    return terminateServer(
      proc,
      s,
      msg instanceof StopRequest ? msg.reason : (msg as unknown[])[2],
    );
  }
}

/** What a suspended server takes. Guarded: messages may be hostile. */
function acceptedSuspended(proc: Proc, s: Server, m: unknown): boolean {
  if (isInstance(m, SysRequest) || isInstance(m, StopRequest)) return true;
  if (s.parent === null || !proc.trapExit) return false;
  try {
    return Array.isArray(m) && m.length === 3 && m[0] === "EXIT" &&
      m[1] === s.parent.pid;
  } catch {
    return false;
  }
}

/** Servers whose init is running: system requests wait for their loop. */
const initializing = new WeakSet<Proc>();

sysHooks.request = (operation, server, body, options) => {
  let timeout = DEFAULT_CALL_TIMEOUT;
  let target: Proc | undefined;
  let signal: AbortSignal | undefined;
  // For argument errors: "Cannot getState: ...".
  const op = operation === "statistics" ? "get statistics" : operation;
  try {
    const opts = checkOptions(op, options, CALL_OPTIONS);
    const timeoutOption = opts?.timeout;
    if (timeoutOption !== undefined) timeout = checkTimeout(op, timeoutOption);
    signal = checkSignal(op, opts?.signal);
    target = resolveServer(server, op);
    if (signal?.aborted) return Promise.reject(signal.reason);
  } catch (error) {
    return Promise.reject(error);
  }
  const caller = currentProc();
  let failure: unknown;
  if (target === caller) failure = "calling_self";
  else if (target === undefined || target.dead) failure = "noproc";
  else if (target.kind !== kind && !initializing.has(target)) {
    // A plain process would never answer: say so now (OTP waits out the
    // timeout).
    failure = "not_a_server";
  } else if (caller.dead) return Promise.reject(new ExitError(caller.reason));
  if (failure !== undefined) {
    const args = body.length === 2 ? [body[1], timeout] : [timeout];
    return Promise.reject(new SysError(failure, operation, server, args));
  }
  return new Promise((resolve, reject) => {
    const req = new SysRequest(
      caller,
      target!,
      server,
      timeout,
      resolve,
      reject,
      operation,
      body,
    );
    if (signal !== undefined) req.listen(signal);
    watch(target!, req);
    addWait(caller, req);
    deliver(target!, req);
    if (timeout !== Infinity) startTimeoutAfterBurst(req, timeout);
  });
};

// ---------------------------------------------------------------- start --

/**
 * The caller's side of a start: resolved with the pid once init succeeds,
 * rejected with the reason otherwise, or if the server dies first, or after
 * the init timeout.
 */
class Starter extends Timed implements DownWatcher, Wait {
  done = false;
  proc: Proc | null = null;
  /** Set when init failed: the reason to report rather than the exit's. */
  failReason: { reason: unknown } | null = null;
  /** The caller's AbortSignal, listened to until the start ends. */
  signal: AbortSignal | null = null;

  constructor(
    readonly owner: Proc,
    readonly linked: boolean,
    readonly timeout: number,
    readonly resolve: (pid: Pid) => void,
    readonly reject: (error: unknown) => void,
  ) {
    super();
  }

  #end(): boolean {
    if (this.done) return false;
    this.done = true;
    cancelTimeout(this);
    removeWait(this.owner, this);
    if (this.proc !== null) unwatch(this.proc, this);
    if (this.signal !== null) {
      this.signal.removeEventListener("abort", this.#onAbort);
      this.signal = null;
    }
    return true;
  }

  /** Abandons the start when `signal` aborts. */
  listen(signal: AbortSignal): void {
    signal.addEventListener("abort", this.#onAbort, { once: true });
    this.signal = signal;
  }

  #onAbort = (): void => {
    const signal = this.signal;
    if (signal !== null) this.#abandon(signal.reason);
  };

  ok(pid: Pid): void {
    if (this.#end()) this.resolve(pid);
  }

  fail(reason: unknown): void {
    if (this.#end()) this.reject(new StartError(reason));
  }

  down(_target: Proc, reason: unknown): void {
    this.fail(this.failReason !== null ? this.failReason.reason : reason);
  }

  expire(): void {
    this.#abandon(new StartTimeoutError(this.timeout));
  }

  /** Kills the half-started server and rejects with `error`. */
  #abandon(error: unknown): void {
    const proc = this.proc!;
    if (!this.#end()) return;
    // As proc_lib: kill the slow server and leave no EXIT behind.
    if (this.linked) {
      unlinkProcs(this.owner, proc);
      removeFirst(
        this.owner,
        (m) => Array.isArray(m) && m[0] === "EXIT" && m[1] === proc.pid,
      );
    }
    kill(proc, "killed");
    this.reject(error);
  }

  abort(reason: unknown): void {
    if (this.#end()) this.reject(new ExitError(reason));
  }
}

function checkBehaviour(op: string, behaviour: unknown): void {
  if (behaviour === null || typeof behaviour !== "object") {
    throw new TypeError(
      `Cannot ${op}: 'behaviour' must be an object with an init function, got ${
        formatTerm(behaviour)
      }`,
    );
  }
  const b = behaviour as Record<string, unknown>;
  for (const key of Object.keys(b)) {
    if (!BEHAVIOUR_KEYS.includes(key)) {
      throw new TypeError(
        `Cannot ${op}: unknown behaviour key ${JSON.stringify(key)} (known: ${
          BEHAVIOUR_KEYS.join(", ")
        })`,
      );
    }
  }
  if (typeof b.init !== "function") {
    throw new TypeError(
      `Cannot ${op}: 'behaviour.init' must be a function, got ${
        formatTerm(b.init)
      }`,
    );
  }
  for (
    const key of [
      "handleCall",
      "handleCast",
      "handleInfo",
      "handleContinue",
      "terminate",
      "formatStatus",
    ]
  ) {
    if (b[key] !== undefined && typeof b[key] !== "function") {
      throw new TypeError(
        `Cannot ${op}: 'behaviour.${key}' must be a function if given, got ${
          formatTerm(b[key])
        }`,
      );
    }
  }
}

function checkTimeout(op: string, timeout: unknown): number {
  if (timeout === "infinity") return Infinity;
  if (typeof timeout !== "number" || Number.isNaN(timeout)) {
    throw new TypeError(
      `Cannot ${op}: 'timeout' must be a non-negative number or Infinity, got ${
        formatTerm(timeout)
      }`,
    );
  }
  if (timeout < 0) {
    throw new RangeError(
      `Cannot ${op}: 'timeout' must be a non-negative number or Infinity, got ${timeout}`,
    );
  }
  return timeout;
}

/**
 * Checks an options object: an object (or undefined) with only `known` keys;
 * returns it, as a record to read from.
 */
function checkOptions(
  op: string,
  options: unknown,
  known: readonly string[],
): Record<string, unknown> | undefined {
  if (options === undefined) return undefined;
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `Cannot ${op}: 'options' must be an object, got ${formatTerm(options)}`,
    );
  }
  for (const key in options) {
    if (!known.includes(key)) {
      throw new TypeError(
        `Cannot ${op}: unknown option ${JSON.stringify(key)} (known: ${
          known.join(", ")
        })`,
      );
    }
  }
  return options as Record<string, unknown>;
}

/** The `signal` option: undefined or an AbortSignal. */
function checkSignal(op: string, signal: unknown): AbortSignal | undefined {
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(
      `Cannot ${op}: 'signal' must be an AbortSignal, got ${
        formatTerm(signal)
      }`,
    );
  }
  return signal;
}

function startServer<S, A>(
  op: string,
  behaviour: GenServer<S, A>,
  arg: A,
  options: StartOptions | undefined,
  link: boolean,
): Promise<Pid> {
  try {
    checkBehaviour(op, behaviour);
    const opts = checkOptions(op, options, START_OPTIONS);
    const name = opts?.name;
    if (name !== undefined && (typeof name !== "string" || name === "")) {
      throw new TypeError(
        `Cannot ${op}: 'name' must be a non-empty string, got ${
          formatTerm(name)
        }`,
      );
    }
    const timeout = checkTimeout(op, opts?.timeout ?? Infinity);
    const signal = checkSignal(op, opts?.signal);
    const label = opts?.label;
    if (label !== undefined && typeof label !== "string") {
      throw new TypeError(
        `Cannot ${op}: 'label' must be a string, got ${formatTerm(label)}`,
      );
    }
    const caller = currentProc();
    if (caller.dead) throw new ExitError(caller.reason);
    // Aborted already: nothing is spawned.
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const starter = new Starter(caller, link, timeout, resolve, reject);
      const b = behaviour as GenServer<unknown, unknown>;
      const proc = spawnProc(
        (pid) =>
          initServer(procOf(pid), b, arg, name as string | undefined, starter),
        link ? caller : null,
        "gen_server",
        caller,
      );
      starter.proc = proc;
      initializing.add(proc);
      if (label !== undefined && label !== "") setProcLabel(proc, label);
      if (signal !== undefined) starter.listen(signal);
      watch(proc, starter);
      addWait(caller, starter);
      if (timeout !== Infinity) startTimeout(starter, timeout);
    });
  } catch (error) {
    return Promise.reject(error);
  }
}

/** The new server's body: name, init, then the message loop. */
function initServer(
  proc: Proc,
  b: GenServer<unknown, unknown>,
  arg: unknown,
  name: string | undefined,
  starter: Starter,
): void | Promise<void> {
  if (name !== undefined) {
    const holder = whereisName(name);
    if (holder !== undefined) {
      // Exits "normal" without running init.
      return startFailed(
        proc,
        starter,
        ["already_started", holder.pid],
        "normal",
      );
    }
    registerName(name, proc);
  }
  const parent = starter.linked ? starter.owner : null;
  const s = { behaviour: b };
  let result: unknown;
  try {
    result = invoke(proc, s, b.init as Callback, arg);
  } catch (error) {
    return initFailed(proc, starter, error);
  }
  if (isThenable(result)) {
    return Promise.resolve(result).then(
      (r) => proc.dead ? undefined : safeInitDone(proc, b, parent, starter, r),
      (error) => proc.dead ? undefined : initFailed(proc, starter, error),
    );
  }
  return safeInitDone(proc, b, parent, starter, result);
}

/** initDone, with a result whose reading throws taken as a bad one. */
function safeInitDone(
  proc: Proc,
  b: GenServer<unknown, unknown>,
  parent: Proc | null,
  starter: Starter,
  r: unknown,
): void | Promise<void> {
  try {
    return initDone(proc, b, parent, starter, r);
  } catch {
    if (proc.dead) return;
    const reason = ["bad_return_value", r];
    startFailed(proc, starter, reason, reason);
  }
}

/**
 * A start that did not make it: the starter rejects with `reason` and the
 * process exits with `exitReason` at once, so by the time the caller resumes
 * the name is free and a trapping linked caller has its EXIT (otp_7669).
 */
function startFailed(
  proc: Proc,
  starter: Starter,
  reason: unknown,
  exitReason: unknown,
): void {
  // Kill first: a linked caller that dies of it must see ExitError (its
  // waits end as it is marked dead), any other caller the start reason
  // (through Starter.down).
  starter.failReason = { reason };
  initializing.delete(proc);
  kill(proc, exitReason);
  starter.fail(reason);
}

function initFailed(proc: Proc, starter: Starter, error: unknown): void {
  const reason = thrownReason(error);
  startFailed(proc, starter, reason, reason);
}

function initDone(
  proc: Proc,
  b: GenServer<unknown, unknown>,
  parent: Proc | null,
  starter: Starter,
  r: unknown,
): void | Promise<void> {
  if (r === "ignore") return startFailed(proc, starter, "ignore", "normal");
  if (Array.isArray(r)) {
    const n = r.length;
    if (r[0] === "ok" && (n === 2 || (n === 3 && isAction(r[2])))) {
      const s = new Server(b, r[1], parent);
      proc.data = s;
      proc.kind = kind;
      initializing.delete(proc);
      starter.ok(proc.pid);
      return applyAction(proc, s, r[2]);
    }
    if (r[0] === "stop" && n === 2) {
      return startFailed(proc, starter, r[1], r[1]);
    }
    if (r[0] === "error" && n === 2) {
      // OTP 26: exits "normal", no crash report.
      return startFailed(proc, starter, r[1], "normal");
    }
  }
  const reason = badReturn(r);
  startFailed(proc, starter, reason, reason);
}

/**
 * Starts a gen_server running `behaviour`, not linked to the caller, and
 * waits for its `init` to finish.
 *
 * @param behaviour the callbacks.
 * @param arg passed to `init`.
 * @param options `name` to register, init `timeout`, `signal`.
 * @returns the server's pid, once `init` returned `["ok", ...]`.
 * @throws {StartError} (rejects) with OTP's reason: `"ignore"`,
 *   `["already_started", pid]`, the reason of `["stop", reason]` /
 *   `["error", reason]`, `["bad_return_value", value]`, or what init threw.
 * @throws {StartTimeoutError} (rejects) when init outlives `timeout` (also a
 *   `TimeoutError`, and a `StartError` with reason `"timeout"`).
 * @throws {unknown} (rejects) the signal's `reason` when `signal` aborts
 *   first (the half-started server is killed).
 * @throws {TypeError} (rejects) for a malformed behaviour, an unknown
 *   behaviour key or option, or a malformed option.
 *
 * @example
 * ```ts
 * import { start, call, stop } from "@steward/steward/gen-server";
 * const pid = await start({
 *   init: () => ["ok", "pong"],
 *   handleCall: (_req, _from, s) => ["reply", s, s],
 * }, undefined, { name: "pinger" });
 * console.assert(await call("pinger", "ping") === "pong");
 * await stop(pid);
 * ```
 */
export function start<S, A, P extends Protocol>(
  behaviour: DefinedServer<S, A, P>,
  arg: A,
  options?: StartOptions,
): Promise<ServerPid<P>>;
/** Starts an untyped server: see above. */
export function start<S, A>(
  behaviour: GenServer<S, A>,
  arg: A,
  options?: StartOptions,
): Promise<Pid>;
export function start<S, A>(
  behaviour: GenServer<S, A>,
  arg: A,
  options?: StartOptions,
): Promise<Pid> {
  return startServer("start", behaviour, arg, options, false);
}

/**
 * Like {@linkcode start}, but the server is linked to the caller from the
 * moment it exists: if init fails, the caller gets the exit signal (a caller
 * that traps exits finds `["EXIT", pid, reason]` in its mailbox). A server
 * that traps exits stops (running `terminate`) when the caller exits.
 *
 * @param behaviour the callbacks.
 * @param arg passed to `init`.
 * @param options `name` to register, init `timeout`, `signal`.
 * @returns the server's pid.
 * @throws {StartError} (rejects) as {@linkcode start}, and the timeout and
 *   signal as there.
 * @throws {TypeError} (rejects) for a malformed behaviour or options.
 *
 * @example
 * ```ts
 * import { startLink, stop } from "@steward/steward/gen-server";
 * import { processInfo, self } from "@steward/steward/process";
 * const pid = await startLink({ init: () => ["ok", null] }, undefined);
 * console.assert(processInfo(self())!.links.includes(pid));
 * await stop(pid);
 * ```
 */
export function startLink<S, A, P extends Protocol>(
  behaviour: DefinedServer<S, A, P>,
  arg: A,
  options?: StartOptions,
): Promise<ServerPid<P>>;
/** Starts and links an untyped server: see above. */
export function startLink<S, A>(
  behaviour: GenServer<S, A>,
  arg: A,
  options?: StartOptions,
): Promise<Pid>;
export function startLink<S, A>(
  behaviour: GenServer<S, A>,
  arg: A,
  options?: StartOptions,
): Promise<Pid> {
  return startServer("startLink", behaviour, arg, options, true);
}

// ------------------------------------------------------------ requests --

function resolveServer(server: Dest, op: string): Proc | undefined {
  if (typeof server === "string") return whereisName(server);
  const proc = procOfAny(server);
  if (proc !== undefined) return proc;
  throw new TypeError(
    `Cannot ${op}: 'server' must be a Pid or a registered name, got ${
      formatTerm(server)
    }`,
  );
}

/**
 * Sends `request` to a server and waits for its reply, watching the server
 * meanwhile: if it dies first, the call fails with its exit reason. A reply
 * that comes after the call gave up is dropped.
 *
 * @param server a pid or registered name.
 * @param request passed to `handleCall`.
 * @param options `timeout` (default 5000 ms), `signal`.
 * @returns the reply.
 * @throws {CallError} (rejects) whose `reason` is `"noproc"` (no such
 *   server), `"calling_self"`, or the server's exit reason.
 * @throws {CallTimeoutError} (rejects) when no reply came within `timeout`
 *   (also a `TimeoutError`, and a `CallError` with reason `"timeout"`).
 * @throws {unknown} (rejects) the signal's `reason` when `signal` aborts
 *   first; a reply that comes later is dropped.
 * @throws {TypeError} (rejects) for a malformed server or option, or an
 *   unknown option.
 *
 * @example
 * ```ts
 * import { start, call, stop } from "@steward/steward/gen-server";
 * import { CallError } from "@steward/steward/errors";
 * const pid = await start({
 *   init: () => ["ok", 0],
 *   handleCall: (req, _from, n) =>
 *     req === "crash" ? ["stop", "bad_request", n] : ["reply", n + 1, n + 1],
 * }, undefined);
 * console.assert(await call(pid, "next") === 1);
 * const err = await call(pid, "crash").catch((e) => e);
 * console.assert(err instanceof CallError && err.reason === "bad_request");
 * ```
 */
export function call<
  R = unknown,
  D extends Dest = Dest,
  const Q extends RequestFor<D> = RequestFor<D>,
>(
  server: D,
  request: Q,
  options?: CallOptions,
): Promise<ReplyFor<D, Q, R>> {
  return sendRequest(
    "call",
    server,
    options,
    DEFAULT_CALL_TIMEOUT,
    request,
  ) as Promise<ReplyFor<D, Q, R>>;
}

// The resolve and reject functions of the promise sendRequest just made:
// its executor is one shared function, not a closure per call.
let capturedResolve: ((value: unknown) => void) | undefined;
let capturedReject: ((error: unknown) => void) | undefined;

function capture(
  resolve: (value: unknown) => void,
  reject: (error: unknown) => void,
): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

/**
 * What call() and stop() share: check the arguments, fail at once for a
 * missing server or the caller itself, else deliver the request and wait.
 * `payload` is a call's request or a stop's reason. No closure or array is
 * made per call but the promise's own.
 */
function sendRequest(
  op: "call" | "stop",
  server: Dest,
  options: unknown,
  defaultTimeout: number,
  payload: unknown,
): Promise<unknown> {
  let timeout = defaultTimeout;
  let target: Proc | undefined;
  let signal: AbortSignal | undefined;
  try {
    // Read inside the try: a hostile options object rejects, never throws.
    const opts = checkOptions(op, options, CALL_OPTIONS);
    const timeoutOption = opts?.timeout;
    if (timeoutOption !== undefined) timeout = checkTimeout(op, timeoutOption);
    signal = checkSignal(op, opts?.signal);
    target = resolveServer(server, op);
    // Aborted already: nothing is sent.
    if (signal?.aborted) return Promise.reject(signal.reason);
  } catch (error) {
    return Promise.reject(error);
  }
  const caller = currentProc();
  let failure: unknown;
  if (target === caller) failure = "calling_self";
  else if (target === undefined || (target.dead && !isRemote(target))) {
    failure = "noproc";
  } else if (caller.dead) return Promise.reject(new ExitError(caller.reason));
  if (failure !== undefined) {
    return Promise.reject(
      new CallError(failure, op, server, [payload, timeout]),
    );
  }
  const promise = new Promise(capture);
  const resolve = capturedResolve!;
  const reject = capturedReject!;
  capturedResolve = capturedReject = undefined;
  try {
    const req = op === "call"
      ? new CallRequest(
        caller,
        target!,
        server,
        timeout,
        resolve,
        reject,
        payload,
      )
      : new StopRequest(
        caller,
        target!,
        server,
        timeout,
        resolve,
        reject,
        payload,
      );
    // A remote server (its stand-in is dead here): the same request, sent on
    // by the stand-in's kind, which may refuse it (a TypeError for what
    // cannot cross).
    if (target!.dead) {
      remoteRequest(req, signal, caller, target!);
      return promise;
    }
    if (signal !== undefined) req.listen(signal);
    watch(target!, req);
    addWait(caller, req);
    countSent(caller);
    deliver(target!, req);
    // Lazily: a request answered in this burst never touches the clock.
    if (timeout !== Infinity) startTimeoutAfterBurst(req, timeout);
  } catch (error) {
    // As a throw inside a promise's executor would.
    reject(error);
  }
  return promise;
}

/** sendRequest's path for a remote server. */
function remoteRequest(
  req: Request,
  signal: AbortSignal | undefined,
  caller: Proc,
  target: Proc,
): void {
  watch(target, req);
  addWait(caller, req);
  try {
    deliver(target, req);
  } catch (error) {
    if (req.finish()) req.reject(error);
    return;
  }
  if (req.done) return; // failed at once (its node is gone)
  if (signal !== undefined) req.listen(signal);
  if (req.timeout !== Infinity) startTimeoutAfterBurst(req, req.timeout);
}

genServerRemote.current = {
  outgoing(message) {
    if (message instanceof CallRequest) {
      return {
        type: "call",
        caller: message.owner.pid,
        request: message.request,
      };
    }
    if (message instanceof StopRequest) {
      return {
        type: "stop",
        caller: message.owner.pid,
        reason: message.reason,
      };
    }
    if (message instanceof Cast) {
      return { type: "cast", message: message.message };
    }
    return undefined;
  },
  settle(request, value) {
    (request as CallRequest).settle(value);
  },
  fail(request, target, reason) {
    (request as Request).down(target, reason);
  },
  done(request) {
    return (request as Request).done;
  },
  serve(server, caller, request, onReply, onDown) {
    const req = new CallRequest(
      caller,
      server,
      server.pid,
      Infinity,
      onReply,
      (error) => {
        // A CallError: the server died first. (An ExitError would be the
        // caller's death, which a stand-in never has: nothing to send.)
        if (error instanceof CallError) onDown(error.reason);
        // A Failure's error (a supervisor-like server refused the request,
        // _failure.ts): the remote call fails with it as the reason (an
        // Error crosses as its name and message), the server lives on.
        else if (error instanceof Error) onDown(error);
      },
      request,
    );
    if (server.dead) return req.died("noproc");
    watch(server, req);
    deliver(server, req);
  },
  cast(server, message) {
    deliver(server, new Cast(message));
  },
};

/**
 * Sends `message` to a server's `handleCast` without waiting. Never fails:
 * a dead server or an unregistered name drops the message, as in OTP.
 *
 * @param server a pid or registered name.
 * @param message passed to `handleCast`.
 * @throws {TypeError} if `server` is neither a pid nor a string.
 *
 * @example
 * ```ts
 * import { cast } from "@steward/steward/gen-server";
 * cast("nobody_by_that_name", "hello"); // dropped, no error
 * ```
 */
export function cast<D extends Dest>(server: D, message: CastFor<D>): void {
  const target = resolveServer(server, "cast");
  if (target === undefined) return;
  const sender = currentProc();
  if (!sender.dead) {
    countSent(sender);
    deliver(target, new Cast(message));
  }
}

/**
 * Answers a call that `handleCall` left pending (it returned
 * `["noreply", state]`). Any process may reply, once; later replies, and
 * replies to callers that gave up, are dropped.
 *
 * @param from the `from` given to `handleCall`.
 * @param value the reply.
 * @throws {TypeError} if `from` is not a `From` given to `handleCall`.
 *
 * @example
 * ```ts
 * import { start, call, reply, stop } from "@steward/steward/gen-server";
 * import type { From } from "@steward/steward/gen-server";
 * const pid = await start<From | null, undefined>({
 *   init: () => ["ok", null],
 *   handleCall: (req, from, waiting) => {
 *     if (req === "wait") return ["noreply", from];
 *     reply(waiting!, "released");
 *     return ["reply", "ok", null];
 *   },
 * }, undefined);
 * const waiting = call(pid, "wait");
 * await call(pid, "release");
 * console.assert(await waiting === "released");
 * await stop(pid);
 * ```
 */
export function reply(from: From, value: unknown): void {
  if (!isInstance(from, CallRequest)) {
    throw new TypeError(
      `Cannot reply: 'from' must be the From given to handleCall, got ${
        formatTerm(from)
      }`,
    );
  }
  if (!currentProc().dead) from.settle(value); // a dead process sends nothing
}

/**
 * Stops a server and waits until it has exited: its `terminate(reason)`
 * runs (after the messages already queued), then it exits with `reason`.
 *
 * @param server a pid or registered name.
 * @param reason the exit reason.
 * @param options `timeout` (default Infinity), `signal`.
 * @returns when the server has exited with `reason`.
 * @throws {CallError} (rejects) with reason `"noproc"` if there is no such
 *   server, `"calling_self"`, or the other reason the server exited with.
 * @throws {CallTimeoutError} (rejects) when the server did not exit within
 *   `timeout` (also a `TimeoutError`); it still stops when it gets to the
 *   request.
 * @throws {unknown} (rejects) the signal's `reason` when `signal` aborts
 *   first; the server still stops, as after a timeout.
 * @throws {TypeError} (rejects) for a malformed server or option, or an
 *   unknown option.
 *
 * @example
 * ```ts
 * import { start, stop } from "@steward/steward/gen-server";
 * import { isAlive } from "@steward/steward/process";
 * let cleaned = false;
 * const pid = await start({
 *   init: () => ["ok", null],
 *   terminate: () => { cleaned = true; },
 * }, undefined);
 * await stop(pid);
 * console.assert(cleaned && !isAlive(pid));
 * ```
 */
export function stop(
  server: Dest,
  reason: unknown = "normal",
  options?: StopOptions,
): Promise<void> {
  return sendRequest("stop", server, options, Infinity, reason) as Promise<
    void
  >;
}

// ------------------------------------------------------- typed servers --

/**
 * The key under which the type of a {@linkcode ServerPid}, a
 * {@linkcode ServerName} and a {@linkcode DefinedServer} carries the
 * server's protocol. Type-only: no value ever has this property.
 *
 * @example
 * ```ts
 * import { protocol } from "@steward/steward/gen-server";
 * console.assert(typeof protocol === "symbol");
 * ```
 */
export const protocol: unique symbol = Symbol("steward.protocol");

/**
 * A server's protocol, as {@linkcode defineServer} derives it: `calls` maps
 * each request tag to `[argument, reply]`, `casts` each cast tag to its
 * argument.
 */
export interface Protocol<
  Calls extends Record<string, readonly [unknown, unknown]> = Record<
    string,
    readonly [unknown, unknown]
  >,
  Casts extends Record<string, unknown> = Record<string, unknown>,
> {
  /** Request tag → `[argument, reply]`. */
  readonly calls: Calls;
  /** Cast tag → argument. */
  readonly casts: Casts;
}

/** The phantom property that makes a pid or name typed. */
export interface Typed<P extends Protocol> {
  /** Type-only: absent at run time. */
  readonly [protocol]: P;
}

/**
 * A server's pid that knows its protocol: {@linkcode start} of a
 * {@linkcode defineServer} result returns one. It is a plain `Pid` at run
 * time; {@linkcode call} and {@linkcode cast} check requests against `P`.
 */
export type ServerPid<P extends Protocol> = Pid & Typed<P>;

/** A registered name that knows its server's protocol: see {@linkcode serverName}. */
export type ServerName<P extends Protocol> = string & Typed<P>;

/** A typed handle: a {@linkcode ServerPid} or a {@linkcode ServerName}. */
export type ServerRef<P extends Protocol> = ServerPid<P> | ServerName<P>;

/**
 * The message for tag `K` whose argument is `X`: the bare tag if there is no
 * argument (`void`), `[tag, argument]` if there is one, either if it is
 * optional or `any`.
 */
export type TaggedMessage<K extends string, X> = 0 extends 1 & X
  ? K | readonly [K, X]
  : [X] extends [void] ? K
  : undefined extends X ? K | readonly [K, X]
  : readonly [K, X];

/** Every request a server with protocol `P` accepts. */
export type RequestOf<P extends Protocol> = {
  [K in keyof P["calls"] & string]: TaggedMessage<K, P["calls"][K][0]>;
}[keyof P["calls"] & string];

/** Every cast a server with protocol `P` accepts. */
export type CastOf<P extends Protocol> = {
  [K in keyof P["casts"] & string]: TaggedMessage<K, P["casts"][K]>;
}[keyof P["casts"] & string];

/** The reply of a server with protocol `P` to request `Q`. */
export type ReplyOf<P extends Protocol, Q> = Q extends
  readonly [infer K, ...unknown[]]
  ? K extends keyof P["calls"] ? P["calls"][K][1] : never
  : Q extends keyof P["calls"] ? P["calls"][Q][1]
  : never;

/** What {@linkcode call} accepts as request for `D` (anything if untyped). */
export type RequestFor<D> = [D] extends [never] ? unknown
  : D extends Typed<infer P> ? RequestOf<P>
  : unknown;

/** What {@linkcode cast} accepts as message for `D` (anything if untyped). */
export type CastFor<D> = [D] extends [never] ? unknown
  : D extends Typed<infer P> ? CastOf<P>
  : unknown;

/** What {@linkcode call} resolves to: `R` if `D` is untyped. */
export type ReplyFor<D, Q, R> = [D] extends [never] ? R
  : D extends Typed<infer P> ? ReplyOf<P, Q>
  : R;

/** One request handler of {@linkcode defineServer}. */
// deno-lint-ignore no-explicit-any
export type CallHandler<S> = (arg: any, state: S, from: From) => MaybePromise<
  CallResult<S>
>;

/** One cast handler of {@linkcode defineServer}. */
// deno-lint-ignore no-explicit-any
export type CastHandler<S> = (arg: any, state: S) => MaybePromise<
  NoReplyResult<S>
>;

/**
 * The reply in a handler's result `Res` (`["reply", R, ...]` or
 * `["stop", reason, R, state]`); `unknown` if it never replies itself.
 */
export type ReplyIn<Res> =
  (Res extends readonly ["reply", infer R, ...unknown[]] ? R
    : Res extends readonly ["stop", unknown, infer R, unknown] ? R
    : never) extends infer R ? [R] extends [never] ? unknown : R
    : never;

/**
 * The protocol {@linkcode defineServer} derives from its handlers (a map
 * not given is inferred as its constraint, with a string index: no tags).
 */
export type ProtocolFrom<H, C> = Protocol<
  string extends keyof H ? Record<never, never> : {
    [K in keyof H & string]: H[K] extends
      (arg: infer X, ...rest: never[]) => infer Res
      ? readonly [X, ReplyIn<Awaited<Res>>]
      : never;
  },
  string extends keyof C ? Record<never, never> : {
    [K in keyof C & string]: C[K] extends
      (arg: infer X, ...rest: never[]) => unknown ? X
      : never;
  }
>;

/** What {@linkcode defineServer} takes. */
export interface ServerSpec<S, A, H, C> {
  /** As {@linkcode GenServer.init}. */
  init(arg: A): MaybePromise<InitResult<S>>;
  /**
   * One handler per request tag: `tag` (no argument) or `[tag, arg]` runs
   * `handleCall[tag](arg, state, from)`, which returns what
   * {@linkcode GenServer.handleCall} returns.
   */
  handleCall?: H;
  /** One handler per cast tag: `handleCast[tag](arg, state)`. */
  handleCast?: C;
  /** As {@linkcode GenServer.handleInfo}. */
  handleInfo?(message: unknown, state: S): MaybePromise<NoReplyResult<S>>;
  /** As {@linkcode GenServer.handleContinue}. */
  handleContinue?(arg: unknown, state: S): MaybePromise<NoReplyResult<S>>;
  /** As {@linkcode GenServer.terminate}. */
  terminate?(reason: unknown, state: S): unknown;
  /** As {@linkcode GenServer.formatStatus}. */
  formatStatus?(status: FormatStatus<S>): FormatStatus<unknown>;
}

/**
 * A behaviour made by {@linkcode defineServer}: an ordinary
 * {@linkcode GenServer} (start it, supervise it) whose protocol `P` is known,
 * so {@linkcode start} returns a {@linkcode ServerPid}.
 */
export type DefinedServer<S, A, P extends Protocol> =
  & GenServer<S, A>
  & Typed<P>;

const SPEC_KEYS = [
  "init",
  "handleCall",
  "handleCast",
  "handleInfo",
  "handleContinue",
  "terminate",
  "formatStatus",
];

/** A copy of a handler map, without prototype: `"toString"` is no tag. */
function handlerMap(
  key: "handleCall" | "handleCast",
  map: unknown,
): Record<string, (...args: unknown[]) => unknown> {
  const out: Record<string, (...args: unknown[]) => unknown> = Object.create(
    null,
  );
  if (map === undefined) return out;
  if (map === null || typeof map !== "object") {
    throw new TypeError(
      `Cannot define server: '${key}' must be an object of handlers, got ${
        formatTerm(map)
      }`,
    );
  }
  for (const tag of Object.keys(map)) {
    const fn = (map as Record<string, unknown>)[tag];
    if (typeof fn !== "function") {
      throw new TypeError(
        `Cannot define server: '${key}.${tag}' must be a function, got ${
          formatTerm(fn)
        }`,
      );
    }
    out[tag] = fn as (...args: unknown[]) => unknown;
  }
  return out;
}

/** `[tag, arg]` of a request or cast, or undefined if it has no string tag. */
function tagOf(message: unknown): [string, unknown] | undefined {
  if (typeof message === "string") return [message, undefined];
  if (Array.isArray(message) && typeof message[0] === "string") {
    return [message[0], message[1]];
  }
  return undefined;
}

/**
 * Defines a server whose protocol is typed end to end: requests are tags
 * (`"get"`) or `[tag, argument]` pairs (`["add", 5]`), one handler per tag,
 * and the reply type of each is what its handler replies. {@linkcode start}
 * of the result returns a {@linkcode ServerPid}; {@linkcode call} on it
 * accepts only the requests the handlers take (a wrong tag or argument is a
 * compile error; plain literals need no `as const`) and resolves to that
 * handler's reply type; {@linkcode cast} likewise. For a registered name use
 * {@linkcode serverName}.
 *
 * A handler `(arg, state, from)` returns what `handleCall` returns
 * (`["reply", reply, state]`...); annotate `arg` (`(_: void, s)` for a
 * request without argument, `(n: number, s)`) so the request type is known.
 * The result is an ordinary behaviour: untyped {@linkcode call}s reach it
 * too. A request or cast that names no handler stops the server with reason
 * `["bad_request", message]`, as an Erlang server crashes on a request no
 * clause matches.
 *
 * @param spec `init`, `handleCall` and `handleCast` handler maps, and the
 *   other callbacks as in {@linkcode GenServer}.
 * @returns the behaviour, for {@linkcode start}, {@linkcode startLink} or a
 *   child spec.
 * @throws {TypeError} for a malformed spec or an unknown key.
 *
 * @example
 * ```ts
 * import { call, cast, defineServer, start, stop } from "@steward/steward/gen-server";
 * const Counter = defineServer({
 *   init: (n: number) => ["ok", n],
 *   handleCall: {
 *     get: (_: void, n) => ["reply", n, n],
 *     add: (k: number, n) => ["reply", `now ${n + k}`, n + k],
 *   },
 *   handleCast: { reset: (_: void, _n) => ["noreply", 0] },
 * });
 * const pid = await start(Counter, 40);
 * const text: string = await call(pid, ["add", 2]);
 * const n: number = await call(pid, "get");
 * console.assert(text === "now 42" && n === 42);
 * cast(pid, "reset");
 * // @ts-expect-error: no such request
 * await call(pid, "nope").catch(() => {});
 * await stop(pid).catch(() => {});
 * ```
 */
export function defineServer<
  S,
  H extends Record<string, CallHandler<S>>,
  C extends Record<string, CastHandler<S>>,
  A = undefined,
>(spec: ServerSpec<S, A, H, C>): DefinedServer<S, A, ProtocolFrom<H, C>> {
  if (spec === null || typeof spec !== "object") {
    throw new TypeError(
      `Cannot define server: 'spec' must be an object, got ${formatTerm(spec)}`,
    );
  }
  for (const key of Object.keys(spec)) {
    if (!SPEC_KEYS.includes(key)) {
      throw new TypeError(
        `Cannot define server: unknown key ${JSON.stringify(key)} (known: ${
          SPEC_KEYS.join(", ")
        })`,
      );
    }
  }
  const calls = handlerMap("handleCall", spec.handleCall);
  const casts = handlerMap("handleCast", spec.handleCast);
  const behaviour: GenServer<S, A> = {
    init: spec.init,
    handleCall(request, from, state) {
      const tagged = tagOf(request);
      const fn = tagged && calls[tagged[0]];
      if (fn === undefined) return ["stop", ["bad_request", request], state];
      return fn(tagged![1], state, from) as MaybePromise<CallResult<S>>;
    },
    handleCast(message, state) {
      const tagged = tagOf(message);
      const fn = tagged && casts[tagged[0]];
      if (fn === undefined) return ["stop", ["bad_request", message], state];
      return fn(tagged![1], state) as MaybePromise<NoReplyResult<S>>;
    },
  };
  for (
    const key of [
      "handleInfo",
      "handleContinue",
      "terminate",
      "formatStatus",
    ] as const
  ) {
    if (spec[key] !== undefined) {
      (behaviour as unknown as Record<string, unknown>)[key] = spec[key];
    }
  }
  checkBehaviour("define server", behaviour);
  return behaviour as DefinedServer<S, A, ProtocolFrom<H, C>>;
}

/**
 * Types a registered name with a server's protocol, so {@linkcode call} and
 * {@linkcode cast} by name are checked as by pid. Returns `name` itself.
 *
 * @param _server the {@linkcode defineServer} result (only its type is used).
 * @param name the name the server is registered under.
 * @returns `name`, typed.
 * @throws {TypeError} if `name` is not a string.
 *
 * @example
 * ```ts
 * import { call, defineServer, serverName, start, stop } from "@steward/steward/gen-server";
 * const Echo = defineServer({
 *   init: () => ["ok", null],
 *   handleCall: { echo: (s: string, st) => ["reply", s, st] },
 * });
 * const name = serverName(Echo, "echo");
 * await start(Echo, undefined, { name });
 * const back: string = await call(name, ["echo", "hi"]);
 * console.assert(back === "hi");
 * await stop(name);
 * ```
 */
export function serverName<P extends Protocol>(
  _server: Typed<P>,
  name: string,
): ServerName<P> {
  if (typeof name !== "string") {
    throw new TypeError(
      `Cannot name server: 'name' must be a string, got ${formatTerm(name)}`,
    );
  }
  return name as ServerName<P>;
}
