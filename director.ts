/**
 * Directors: supervisors with a restart plan per child, as Pouriya
 * Jahanbakhsh's `director` for Erlang (the plan-list API of 17.9.16), on the
 * child lifecycle shared with {@link ./supervisor.ts}.
 *
 * A director is a gen_server that traps exits. Each child's spec carries a
 * `plan`: what to do each time the child exits, one element after the other.
 *
 * | plan element | when the child exits |
 * |---|---|
 * | `"restart"` | it is started again at once |
 * | `["restart", ms]` | it is started again after `ms` (shown as `"restarting"`, with `restartAt`) |
 * | `["backoff", { initial, max, factor?, jitter? }]` | it is started again after `initial`, then `initial * factor`, ... up to `max` ms, less up to `jitter` of it at random |
 * | `"wait"` | it stays stopped until {@linkcode restartChild} |
 * | `"delete"` | its spec is removed |
 * | `"stop"` | the director stops its children and exits with the child's reason |
 * | `["stop", reason]` | the director stops its children and exits with `reason` |
 * | `(reason, restartCount, id) => element` | the element it returns is run |
 *
 * ## Plans and counts
 * The first exit runs the first element, the second exit the second, and so
 * on; after the last element the plan starts over. `count` (default 3) is how
 * many times the whole plan may run: with `plan: ["restart"]` and `count: 2`
 * the child is restarted twice and its third exit stops the director with
 * `["reached_max_restart_plan", id, reason]`. `count: 0` stops it at the
 * first exit, `Infinity` never. An empty plan stops it at the first exit with
 * `["empty_plan_child_terminated", id, reason]`. A restart that fails counts
 * as an exit: it runs the next element, with the start's failure as the
 * reason (so with `count: Infinity`, a `"restart"` whose start keeps failing
 * retries as fast as the director can, as director's README warns: give
 * such children a `["restart", ms]` or `["backoff", b]` element). The restart
 * count given to plan functions (and returned by
 * {@linkcode getRestartCount}) is 1 at the first exit. A plan function that
 * throws or returns something that is not a plan element stops the director
 * with `["run_plan_element", id, ["fun_crash", e] | ["fun_bad_return", v],
 * childLastErrorReason]`.
 *
 * ## Default childspec and `append`
 * A director has a default childspec (a child spec without `id` and
 * `append`). A child with `append: true` is folded over it: `start` is the
 * child's, else the default's; `args`, `plan` and `modules` are the
 * default's followed by the child's; `count` and `terminateTimeout` are
 * added (a child's `Infinity` wins; a default's `Infinity` leaves the
 * child's value). So `{ id: 7, append: true, args: [7] }` under
 * `{ start: connect, args: ["db"] }` starts `connect("db", 7)`: Erlang's
 * `simple_one_for_one`, with ids. {@linkcode changeDefaultChildspec}
 * re-merges every such child at once. A child's own omitted keys take their
 * own defaults first (`count` 3, `plan` `["restart"]`, `terminateTimeout`
 * 1000 for a worker, `Infinity` for a supervisor), as in director.
 *
 * ## Lock-free reads, requests, and supervisor's calls
 * The library's one rule: a read answered without a message is synchronous,
 * anything that needs the director returns a promise.
 * {@linkcode getPid}, {@linkcode getPids}, {@linkcode whichChildren},
 * {@linkcode countChildren}, {@linkcode getChildspec},
 * {@linkcode getRestartCount}, {@linkcode getPlan}, {@linkcode getCount} and
 * {@linkcode getDefaultChildspec} are synchronous: they read the director's
 * child table, which only the director writes, without a message, so they
 * answer even while the director is busy (starting a child, waiting for one
 * to stop) and cost a map lookup. They show the director's view: a child that
 * has just died, whose EXIT the director has not handled yet, still shows
 * its (dead) pid, as with director's ETS table. The table goes when the
 * director dies, however it dies: reads of a dead director throw
 * {@linkcode NoProcError}. Every function here refuses a live process that
 * is not a director (a supervisor, a tracker) with a TypeError naming the
 * argument.
 *
 * A director also answers OTP's supervisor calls, as director does:
 * `supervisor.whichChildren`, `countChildren`, `getChildspec`,
 * `startChild` (with a director's child spec), `restartChild`,
 * `terminateChild` and `deleteChild` work on it, with the same answers as
 * the functions here. startChild and restartChild resolve to supervisor's
 * `StartedChild` (`{ pid, extra }`), whichChildren gives supervisor's
 * `ChildInfo` rows and countChildren its `ChildCounts` (the types are
 * supervisor.ts's, re-exported here). A bare `GenServer.call` of a request
 * the director does not know is refused: the call rejects with a
 * {@linkcode DirectorError} `"unknown_request"`, and the director lives on.
 *
 * ## Reports, events and debugging
 * Every transition is an event ({@linkcode subscribe}). Supervisor reports
 * (`progress` when a child starts; `child_terminated` when one exits;
 * `start_error` when a restart fails; `shutdown_error` when one stops with an
 * unexpected reason) go to the library's logger (logger.ts: the console,
 * errors only, by default), or where the `logger` option says (a logger, a
 * level, or `false`), each after its child's
 * `logValidator` (else the director's) chose `"short"`, `"long"` or
 * `"none"`. The `debug` option traces requests, replies and plan decisions
 * as `sys:trace` does.
 *
 * ## Differences from director 17.9.16, on purpose
 * - results are values and errors are {@linkcode DirectorError}s with a
 *   `code` (child spec problems: `ChildSpecError`, naming the key), not
 *   `{error, ...}` tuples;
 * - unknown keys of a child spec (`terminate_timeout`, `restart_type`),
 *   the default childspec or the director spec are refused with a
 *   `ChildSpecError` naming the key and the known ones, unknown start
 *   options with a `TypeError` (director ignored them: a typo silently left
 *   the default in place);
 * - children stop in reverse start order when the director stops (OTP's
 *   order, so a child stops before those it depends on); lists are in start
 *   order, as director's;
 * - a child started by a function that did not link it is linked by the
 *   director, so it cannot escape supervision;
 * - `count` lowered below the runs already made stops the director at the
 *   next exit (17.9.16 compared with `==` and never stopped again);
 * - an `append` child keeps its own spec, so {@linkcode changePlan} and
 *   {@linkcode changeCount} set the child's own part and a new default
 *   re-merges from it (17.9.16 subtracted the old default);
 * - era C's fixes: `terminateTimeout` is enforced, a restarting child can be
 *   terminated, deleted or restarted at once, and a start that fails or
 *   returns `"ignore"` leaves nothing stored;
 * - new: the backoff element (director issue #4) and `restartAt`.
 *
 * @example
 * ```ts
 * import * as director from "@steward/steward/director";
 * import { exit, spawnLink } from "@steward/steward/process";
 * import assert from "node:assert/strict";
 *
 * const worker = () => spawnLink(() => new Promise(() => {}));
 * const d = await director.start({
 *   children: [{ id: "w", start: worker, plan: ["restart", "wait"], count: 1 }],
 * });
 * const first = director.getPid(d, "w");
 * exit(first, "kill"); // plan element 1: restarted
 * await new Promise((r) => setTimeout(r, 0));
 * assert.notEqual(director.getPid(d, "w"), first);
 * exit(director.getPid(d, "w"), "kill"); // plan element 2: wait
 * await new Promise((r) => setTimeout(r, 0));
 * assert.equal(director.whichChildren(d)[0].pid, undefined);
 * await director.stop(d);
 * ```
 *
 * @module
 */

import { isLevel } from "./_logger.ts";
import type { Level, Report } from "./logger.ts";
import {
  addResource,
  currentProc,
  linked,
  linkProcs,
  Pid,
  procOf,
  whereisName,
} from "./_runtime.ts";
import { applyAs } from "./_context.ts";
import {
  failed,
  type StartOutcome,
  type StartReturn,
  unlinkAndFlush,
} from "./_child.ts";
import { formatTerm } from "./_format.ts";
import { ChildRequestError, ChildSpecError, NoProcError } from "./errors.ts";
import * as genServer from "./gen_server.ts";
import type { Dest } from "./process.ts";
import { refuseUnknown } from "./_options.ts";
import {
  checkDirectorSpecKeys,
  checkPlan,
  DEFAULT_DEFAULT_CHILDSPEC,
  effective,
  isCount,
  normaliseDefault,
  normaliseOwn,
  normaliseOwns,
  type OwnSpec,
  samePlan,
} from "./_director_spec.ts";
import { Child, Dir, directors, events, type Step } from "./_director_state.ts";
import { Due, restartAt, type RestartTimer, Retry } from "./_restart.ts";
import {
  Failure,
  notSupportedMessage,
  request,
  requestOf,
  shownRequest,
  startedChild as startedFrom,
  then,
  unknownRequestMessage,
} from "./_request.ts";

export { ChildSpecError, NoProcError, Pid };
export type { Dest, StartReturn };
export type { StopOptions } from "./gen_server.ts";
export type { RequestOptions } from "./supervisor.ts";
import type { StopOptions } from "./gen_server.ts";
import type {
  ChildCounts,
  ChildInfo,
  ChildPidStatus,
  ChildType,
  RequestOptions,
  StartedChild,
  SupervisedChildEvent,
} from "./supervisor.ts";
export type { ChildCounts, ChildInfo, ChildPidStatus, ChildType, StartedChild };
import { exitMessage, isInstance } from "./_safe.ts";
import { formatStatus, observeDirector } from "./_system_hooks.ts";

// ---------------------------------------------------------------- types --

/**
 * Exponential backoff (a plan element `["backoff", b]`): the n-th consecutive
 * delayed restart waits `min(max, initial * factor ** n)` ms, less up to
 * `jitter` of it at random. The sequence starts over once the child has run
 * for `max` ms.
 */
export interface Backoff {
  /** The first delay, in ms. */
  readonly initial: number;
  /** The largest delay, in ms. */
  readonly max: number;
  /** Each delay is the previous one times this. @default {2} */
  readonly factor?: number;
  /** The fraction (0 to 1) of each delay taken off at random. @default {0} */
  readonly jitter?: number;
}

/** A plan element other than a function: what to do (see the module docs). */
export type PlanAction =
  | "restart"
  | "wait"
  | "stop"
  | "delete"
  | readonly ["restart", number]
  | readonly ["stop", unknown]
  | readonly ["backoff", Backoff];

/**
 * A plan element that decides when the child exits: called with the exit
 * reason, the restart count (1 at the first exit) and the child's id; returns
 * the action to run. Runs in the director, synchronously.
 */
export type PlanFunction = (
  reason: unknown,
  restartCount: number,
  id: unknown,
) => PlanAction;

/** One element of a child's plan. */
export type PlanElement = PlanAction | PlanFunction;

/** A value or a promise of it. */
export type MaybePromise<T> = T | Promise<T>;

/** How often a report is logged: see {@linkcode LogValidator}. */
export type LogForm = "short" | "long" | "none";

/** A report's level: `"info"` (progress) or `"error"`. */
export type ReportLevel = "info" | "error";

/**
 * What a report is about: a child started (`"progress"`), exited
 * (`"child_terminated"`), failed to restart (`"start_error"`) or stopped with
 * an unexpected reason when the director stopped it (`"shutdown_error"`).
 */
export type ReportKind =
  | "progress"
  | "child_terminated"
  | "start_error"
  | "shutdown_error";

/**
 * A supervisor report (OTP's SASL reports), before it is logged: a
 * {@linkcode Report} of the library's logger (logger.ts) with the director's
 * fields.
 */
export interface DirectorReport extends Report {
  /** What happened. */
  readonly kind: ReportKind;
  /** Always `"director"`. */
  readonly source: "director";
  /** The director (as `director`). */
  readonly supervisor: Pid;
  /** `"info"` for progress, else `"error"`. */
  readonly level: ReportLevel;
  /** The director. */
  readonly director: Pid;
  /** The director's registered name, if any. */
  readonly name: string | undefined;
  /** The child's id. */
  readonly id: unknown;
  /** The child's pid (undefined for a start error). */
  readonly pid: Pid | undefined;
  /** The exit or failure reason (undefined for progress). */
  readonly reason: unknown;
  /** The child's restart count. */
  readonly restartCount: number;
  /** The child's full spec. */
  readonly spec: FullChildSpec;
}

/**
 * Decides how a report is logged: `"short"` (one line), `"long"` (with the
 * child's spec and plan state) or `"none"`. Per child (`logValidator` in its
 * spec) or per director (the `logValidator` option); the default logs
 * `"short"`.
 */
export type LogValidator = (
  level: ReportLevel,
  report: DirectorReport,
) => LogForm;

/** A report on its way to the logger. */
export interface LogEntry extends DirectorReport {
  /** The form the validator chose. */
  readonly form: "short" | "long";
  /** The report, formatted (one line, or several for `"long"`). */
  readonly text: string;
}

/**
 * Receives the reports a director logs. The library's loggers (logger.ts)
 * are such functions.
 */
export type Logger = (entry: LogEntry) => void;

/** How to start and direct one child. Only `id` and `start` are required. */
export interface ChildSpec {
  /** Names the child in the director: any value but `undefined`. */
  readonly id: unknown;
  /**
   * Starts the child, linked to the caller (it runs as the director), called
   * with `args`; see {@linkcode StartReturn}. Optional with `append: true`
   * when the default childspec has one.
   */
  // deno-lint-ignore no-explicit-any
  readonly start?: (...args: any[]) => MaybePromise<StartReturn>;
  /** Arguments of `start`. @default {[]} */
  readonly args?: readonly unknown[];
  /** What to do at each exit (see the module docs). @default {["restart"]} */
  readonly plan?: readonly PlanElement[];
  /** How many times the whole plan may run (or Infinity). @default {3} */
  readonly count?: number;
  /**
   * Milliseconds the child gets to stop after `"shutdown"` before it is
   * killed; `0` kills it at once, `Infinity` waits. @default {1000 for a
   * worker, Infinity for a supervisor}
   */
  readonly terminateTimeout?: number;
  /** Worker or supervisor. @default {"worker"} */
  readonly type?: ChildType;
  /** For release tools; kept and reported. @default {[]} */
  readonly modules?: readonly string[] | "dynamic";
  /** Fold this spec over the default childspec. @default {false} */
  readonly append?: boolean;
  /** How this child's reports are logged. @default {the director's} */
  readonly logValidator?: LogValidator;
}

/** A child spec with every key filled in (what getChildspec returns). */
export interface FullChildSpec extends ChildSpec {
  /** The start function (the default's for an append child without one). */
  // deno-lint-ignore no-explicit-any
  readonly start: (...args: any[]) => MaybePromise<StartReturn>;
  /** The start function's arguments. */
  readonly args: readonly unknown[];
  /** The plan. */
  readonly plan: readonly PlanElement[];
  /** How many times the plan may run. */
  readonly count: number;
  /** The terminate timeout in ms (0: brutal kill; Infinity). */
  readonly terminateTimeout: number;
  /** Worker or supervisor. */
  readonly type: ChildType;
  /** As given, or `[]`. */
  readonly modules: readonly string[] | "dynamic";
  /** Whether it is folded over the default childspec. */
  readonly append: boolean;
}

/**
 * A director's default childspec: the keys of a child spec but `id` and
 * `append`, all optional. Only children with `append: true` use it.
 */
export interface DefaultChildspec {
  /** The start function of append children without one. */
  // deno-lint-ignore no-explicit-any
  readonly start?: (...args: any[]) => MaybePromise<StartReturn>;
  /** Put before each append child's `args`. */
  readonly args?: readonly unknown[];
  /** Put before each append child's `plan`. */
  readonly plan?: readonly PlanElement[];
  /** Added to each append child's `count`. */
  readonly count?: number;
  /** Added to each append child's `terminateTimeout`. */
  readonly terminateTimeout?: number;
  /** Accepted for director's sake; an append child's own type is used. */
  readonly type?: ChildType;
  /** Put before each append child's `modules`. */
  readonly modules?: readonly string[] | "dynamic";
  /** The log validator of append children without one. */
  readonly logValidator?: LogValidator;
}

/** A director's children and default childspec. */
export interface DirectorSpec {
  /** Started in order when the director starts. @default {[]} */
  readonly children?: readonly ChildSpec[];
  /** See the module docs. @default {{ plan: [], count: 0, terminateTimeout: 0, modules: [] }} */
  readonly defaultChildspec?: DefaultChildspec;
}

/**
 * Computes a director's spec in the new process (director's `init/1`); may
 * return `"ignore"` (the start fails with reason `"ignore"`) or
 * `["stop", reason]` (it fails with `reason`; the old form `{ stop: reason }`
 * fails it with a TypeError naming the new one).
 */
export type DirectorInit = () => MaybePromise<
  DirectorSpec | "ignore" | readonly ["stop", unknown]
>;

/** Options of {@linkcode start} and {@linkcode startLink}. */
export interface StartOptions {
  /** Register the director under this name. */
  readonly name?: string;
  /**
   * A label for the process, shown by the introspection of system.ts and
   * the observer (OTP 27's `proc_lib:set_label/1`, given at start).
   */
  readonly label?: string;
  /** Milliseconds init (starting the children) may take. @default {Infinity} */
  readonly timeout?: number;
  /**
   * Abandons the start when it aborts: the start rejects with the signal's
   * `reason` and the half-started director is killed (as gen_server's
   * start).
   */
  readonly signal?: AbortSignal;
  /**
   * Trace requests, replies and plan decisions (`sys:trace`): `true` prints
   * them with `console.log`, a function receives each line. @default {false}
   */
  readonly debug?: boolean | ((line: string) => void);
  /**
   * Where the supervisor reports go: a logger (all of them, whatever their
   * level), a level (the library's global logger, at this level), or
   * `false` (none). @default {the global logger and level (logger.ts)}
   */
  readonly logger?: Logger | Level | false;
  /** The log validator of children without their own. @default {() => "short"} */
  readonly logValidator?: LogValidator;
}

/**
 * An event of a director's life (DESIGN decision 7). The child events mean,
 * for a director: `child_started` by init, startChild, restartChild or
 * becomeSupervisor; `child_exited` not stopped by the director (its plan runs
 * next); `child_restarted` by its plan; `restart_failed`: the next plan
 * element runs with the reason; `child_terminated` by the director
 * (terminateChild, or the director stopping).
 */
export type DirectorEvent =
  & { readonly director: Pid; readonly time: number }
  & (
    | SupervisedChildEvent
    | {
      /** The plan element run for an exit (a function's result). */
      readonly type: "plan_element";
      readonly id: unknown;
      readonly action: PlanAction;
      readonly restartCount: number;
      readonly reason: unknown;
    }
    | {
      /** Its spec was removed (deleteChild, a "delete" element...). */
      readonly type: "child_deleted";
      readonly id: unknown;
    }
    | { readonly type: "director_stopped"; readonly reason: unknown }
  );

/**
 * Why a director request failed:
 * - `"not_found"`: no child has that id (or pid);
 * - `"running"`: the child must be stopped first (restartChild,
 *   deleteChild);
 * - `"restarting"`: getPid of a child between restart attempts;
 * - `"not_running"`: getPid of a stopped child (director's `undefined`);
 * - `"already_started"`: a running child has that id (or is that pid);
 * - `"already_present"`: a stopped or restarting child has that id;
 * - `"start_failed"`: the start function failed with `reason`;
 * - `"noproc"`: becomeSupervisor of a dead process;
 * - `"not_supported"`: a request a director does not answer (another
 *   module's own, such as the tracker's addExistingChild);
 * - `"unknown_request"`: a bare `GenServer.call` of a request the director
 *   does not know rejects with it (the director lives on).
 */
export type DirectorErrorCode =
  | "not_found"
  | "running"
  | "restarting"
  | "not_running"
  | "already_started"
  | "already_present"
  | "start_failed"
  | "noproc"
  | "not_supported"
  | "unknown_request";

/**
 * A director request that failed: `code` says why, `reason` carries the
 * child's failure for `"start_failed"`, `pid` the running child for
 * `"already_started"` and `"running"`.
 *
 * @example
 * ```ts
 * import * as director from "@steward/steward/director";
 * import assert from "node:assert/strict";
 * const d = await director.start({});
 * assert.throws(
 *   () => director.getPid(d, "nobody"),
 *   (e) => e instanceof director.DirectorError && e.code === "not_found",
 * );
 * await director.stop(d);
 * ```
 */
export class DirectorError extends ChildRequestError<DirectorErrorCode> {
  /** `"DirectorError"`. */
  override name = "DirectorError";
}

// --------------------------------------------------------------- events --

/**
 * Calls `listener` with every director's events, synchronously, as they
 * happen. A listener that throws is reported and never disturbs a director.
 *
 * @param listener called with each event.
 * @returns a function that unsubscribes.
 *
 * @example
 * ```ts
 * import * as director from "@steward/steward/director";
 * import { spawnLink } from "@steward/steward/process";
 * import assert from "node:assert/strict";
 * const seen: string[] = [];
 * const off = director.subscribe((e) => seen.push(e.type));
 * const d = await director.start({
 *   children: [{ id: "w", start: () => spawnLink(() => new Promise(() => {})) }],
 * });
 * await director.stop(d);
 * off();
 * assert.deepEqual(seen, ["child_started", "child_terminated", "director_stopped"]);
 * ```
 */
export function subscribe(
  listener: (event: DirectorEvent) => void,
): () => void {
  return events.subscribe(listener, "subscribe");
}

/**
 * A logger that prints reports on the console (`console.error` for errors,
 * `console.info` for progress), as OTP's SASL does. Pass it as the `logger`
 * option.
 *
 * @param entry the report.
 *
 * @example
 * ```ts
 * import * as director from "@steward/steward/director";
 * const d = await director.start({}, { logger: director.consoleLogger });
 * await director.stop(d);
 * ```
 */
export function consoleLogger(entry: LogEntry): void {
  if (entry.level === "error") console.error(entry.text);
  else console.info(entry.text);
}

// ----------------------------------------------------------- the server --

function fail(
  op: string,
  child: unknown,
  code: DirectorErrorCode,
  details?: { reason?: unknown; pid?: Pid },
): Failure {
  // Called in the director's own handlers: the current process is it.
  const server = `director ${formatTerm(currentProc().pid)}`;
  return new Failure(
    new DirectorError(op, child, code, { ...details, server }),
  );
}

type Request =
  | readonly ["startChild", unknown]
  | readonly ["whichChildren"]
  | readonly ["countChildren"]
  | readonly ["getChildspec", unknown]
  | readonly ["restartChild", unknown]
  | readonly ["terminateChild", unknown]
  | readonly ["deleteChild", unknown]
  | readonly ["terminateAndDeleteChild", unknown]
  | readonly ["changePlan", unknown, readonly PlanElement[]]
  | readonly ["changeCount", unknown, number]
  | readonly ["changeDefaultChildspec", DefaultChildspec]
  | readonly ["becomeSupervisor", Pid, OwnSpec]
  | readonly ["deleteRunningChild", Pid];

type Reply = unknown;

function serve(dir: Dir, raw: unknown): Reply | Promise<Reply> {
  // Taken apart safely: a bare call (not this library's envelope) or a
  // hostile request is refused (the caller's call rejects with a
  // DirectorError "unknown_request"), and the director lives on.
  const parts = requestOf(raw, 3);
  if (parts === undefined) {
    return new Failure(
      new DirectorError(
        "call",
        raw,
        "unknown_request",
        undefined,
        unknownRequestMessage(`director ${formatTerm(dir.pid)}`, raw),
      ),
    );
  }
  const request = parts as unknown as Request;
  switch (request[0]) {
    case "startChild": {
      // Checked again here: supervisor.startChild sends the spec as given.
      let own: OwnSpec;
      try {
        own = normaliseOwn(request[1]);
      } catch (error) {
        return new Failure(error as Error);
      }
      return startChildIn(dir, own);
    }
    // OTP's supervisor calls that director answers (supervisor.ts's
    // functions send them); director.ts reads the same without a message.
    case "whichChildren":
      return whichChildrenOf(dir);
    case "countChildren":
      return countChildrenOf(dir);
    case "getChildspec": {
      const c = childOf(dir, request[1]);
      return c === undefined
        ? fail("getChildspec", request[1], "not_found")
        : c.spec;
    }
    case "restartChild":
      return restartChildIn(dir, request[1]);
    case "terminateChild":
      return terminateChildIn(dir, "terminateChild", request[1], false);
    case "deleteChild":
      return deleteChildIn(dir, request[1]);
    case "terminateAndDeleteChild":
      return terminateChildIn(dir, "terminateAndDeleteChild", request[1], true);
    case "changePlan": {
      const plan = request[2];
      return withChild(dir, "changePlan", request[1], (c) => {
        respec(dir, c, { ...c.own, plan });
        c.index = 0;
      });
    }
    case "changeCount": {
      const count = request[2];
      return withChild(dir, "changeCount", request[1], (c) => {
        respec(dir, c, { ...c.own, count });
      });
    }
    case "changeDefaultChildspec":
      return changeDefaultIn(dir, request[1]);
    case "becomeSupervisor":
      return becomeSupervisorIn(dir, request[1], request[2]);
    case "deleteRunningChild":
      return deleteRunningChildIn(dir, request[1]);
  }
  // Another module's own request (tracker's addExistingChild...).
  const op = parts[0];
  return new Failure(
    new DirectorError(
      typeof op === "string" ? op as string : "call",
      request[1],
      "not_supported",
      undefined,
      notSupportedMessage("a director", op),
    ),
  );
}

function stepResult(
  step: Step,
  dir: Dir,
): genServer.NoReplyResult<Dir> {
  return step === undefined ? ["noreply", dir] : ["stop", step.reason, dir];
}

const behaviour: genServer.GenServer<Dir, [unknown, StartOptions]> = {
  formatStatus,
  init([spec, options]) {
    const proc = currentProc();
    proc.trapExit = true;
    const dir = new Dir(proc, options);
    observeDirector(proc, dir);
    directors.set(proc.pid, dir);
    addResource(proc, dir.release);
    if (typeof spec === "function") {
      const r = applyAs(proc, spec as DirectorInit, []);
      return r instanceof Promise
        ? r.then((v) => setUp(dir, v, true))
        : setUp(dir, r, true);
    }
    return setUp(dir, spec, false);
  },

  handleCall(request, from, dir) {
    if (dir.trace !== null) {
      dir.debug(
        `got request ${formatTerm(shownRequest(request))} from ${from.caller}`,
      );
    }
    return then(serve(dir, request), (value) => {
      if (dir.trace !== null) {
        // OTP's director replies `ok` where the API resolves to undefined.
        const shown = value instanceof Failure
          ? value.error
          : value === undefined
          ? "ok"
          : value;
        dir.debug(`sent ${formatTerm(shown)} to ${from.caller}`);
      }
      return ["reply", value, dir] as const;
    });
  },

  handleInfo(msg, dir) {
    // Read safely: any process may send a director anything.
    const exited = exitMessage(msg);
    if (exited !== undefined) {
      const child = dir.byPid.get(exited[0] as Pid);
      if (child !== undefined) {
        return then(
          dir.exited(child, exited[0] as Pid, exited[1]),
          (s) => stepResult(s, dir),
        );
      }
    } else if (isInstance(msg, Due)) {
      if (msg.timer.proc === dir.proc) {
        const timer = msg.timer as RestartTimer<Child>;
        return then(dir.due(timer), (s) => stepResult(s, dir));
      }
    } else if (isInstance(msg, Retry)) {
      const retry = msg as Retry<Child>;
      return then(dir.retried(retry), (s) => stepResult(s, dir));
    }
    // Not ours (an EXIT of a process that is no longer a child...): dropped,
    // as director drops it.
    if (dir.trace !== null) {
      dir.debug(`got unexpected message ${formatTerm(msg)}`);
    }
    return ["noreply", dir];
  },

  terminate(reason, dir) {
    return dir.terminateAll().then(() => {
      dir.emit({ type: "director_stopped", reason });
    });
  },
};

/** init: check what init gave, then start the children in order. */
function setUp(
  dir: Dir,
  value: unknown,
  fromInit: boolean,
): genServer.InitResult<Dir> | Promise<genServer.InitResult<Dir>> {
  if (value === "ignore" && fromInit) return "ignore";
  if (
    fromInit && Array.isArray(value) && value.length === 2 &&
    value[0] === "stop"
  ) {
    return ["stop", value[1]];
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return ["stop", ["init_bad_return", value]];
  }
  const v = value as Record<string, unknown>;
  if (fromInit && Object.hasOwn(v, "stop")) {
    return [
      "stop",
      new TypeError(
        `Cannot start director: init returned ${
          formatTerm(v)
        }; write ["stop", reason] (OTP's {stop, Reason}), not { stop: reason }`,
      ),
    ];
  }
  let owns: OwnSpec[];
  let fulls: FullChildSpec[];
  try {
    checkDirectorSpecKeys(v, fromInit);
    owns = normaliseOwns(v.children ?? []);
    if (v.defaultChildspec !== undefined) {
      dir.default = normaliseDefault(v.defaultChildspec);
    }
    fulls = owns.map((o) => effective(o, dir.default));
  } catch (error) {
    if (!(error instanceof ChildSpecError)) throw error;
    return ["stop", ["start_spec", error.reason]];
  }
  return startInitial(dir, owns, fulls);
}

async function startInitial(
  dir: Dir,
  owns: OwnSpec[],
  fulls: FullChildSpec[],
): Promise<genServer.InitResult<Dir>> {
  for (let i = 0; i < owns.length; i++) {
    const child = new Child(owns[i], fulls[i]);
    const outcome = await dir.start(child);
    if (failed(outcome)) {
      await dir.terminateAll();
      return ["stop", [
        "shutdown",
        ["failed_to_start_child", child.spec.id, outcome.error],
      ]];
    }
    if (outcome !== "ignore") {
      dir.add(child);
      dir.started(child, outcome.pid, outcome.extra);
    }
  }
  return ["ok", dir];
}

/** What startChild and restartChild resolve to, from a start outcome. */
function startedChild(
  op: string,
  id: unknown,
  outcome: StartOutcome,
): StartedChild | Failure {
  return startedFrom(outcome, (code, details) => fail(op, id, code, details));
}

function startChildIn(
  dir: Dir,
  own: OwnSpec,
): StartedChild | Failure | Promise<StartedChild | Failure> {
  let spec: FullChildSpec;
  try {
    spec = effective(own, dir.default);
  } catch (error) {
    return new Failure(error as Error);
  }
  const existing = dir.find(own.id);
  if (existing !== undefined) {
    return existing.pid !== undefined
      ? fail("startChild", own.id, "already_started", { pid: existing.pid })
      : fail("startChild", own.id, "already_present");
  }
  const child = new Child(own, spec);
  return then(dir.start(child), (o) => {
    // A start that fails or returns "ignore" leaves nothing stored.
    if (typeof o === "object" && "pid" in o) {
      dir.add(child);
      dir.started(child, o.pid, o.extra);
    }
    return startedChild("startChild", own.id, o);
  });
}

function restartChildIn(
  dir: Dir,
  id: unknown,
): StartedChild | Failure | Promise<StartedChild | Failure> {
  const child = dir.find(id);
  if (child === undefined) return fail("restartChild", id, "not_found");
  if (child.pid !== undefined) {
    return fail("restartChild", id, "running", { pid: child.pid });
  }
  // A pending delayed restart or retry is cancelled: the child starts now.
  dir.cancelPending(child);
  return then(dir.start(child), (o) => {
    if (typeof o === "object" && "pid" in o && dir.children.has(child)) {
      dir.started(child, o.pid, o.extra);
    }
    return startedChild("restartChild", id, o);
  });
}

function childOf(dir: Dir, arg: unknown): Child | undefined {
  return arg instanceof Pid ? dir.byPid.get(arg) : dir.find(arg);
}

function terminateChildIn(
  dir: Dir,
  op: string,
  arg: unknown,
  andDelete: boolean,
): undefined | Failure | Promise<undefined | Failure> {
  const child = childOf(dir, arg);
  if (child === undefined) return fail(op, arg, "not_found");
  return then(dir.terminate(child), () => {
    if (andDelete && dir.children.has(child)) dir.remove(child);
    return undefined;
  });
}

function deleteChildIn(dir: Dir, id: unknown): undefined | Failure {
  const child = dir.find(id);
  if (child === undefined) return fail("deleteChild", id, "not_found");
  if (child.pid !== undefined) {
    return fail("deleteChild", id, "running", { pid: child.pid });
  }
  dir.remove(child); // a pending restart is cancelled
  return undefined;
}

function withChild(
  dir: Dir,
  op: string,
  id: unknown,
  f: (c: Child) => unknown,
): unknown {
  const child = dir.find(id);
  if (child === undefined) return fail(op, id, "not_found");
  return f(child);
}

/** Gives a child a new own spec (changePlan, changeCount). */
function respec(dir: Dir, child: Child, own: OwnSpec): void {
  child.own = Object.freeze(own);
  child.spec = effective(child.own, dir.default);
}

function changeDefaultIn(
  dir: Dir,
  def: DefaultChildspec,
): undefined | Failure {
  // Every append child is re-merged, or none is (a child without a start
  // function of its own needs one in the new default).
  const next = new Map<Child, FullChildSpec>();
  for (const c of dir.children) {
    if (!c.own.append) continue;
    try {
      next.set(c, effective(c.own, def));
    } catch (error) {
      return new Failure(error as Error);
    }
  }
  dir.default = def;
  for (const [c, spec] of next) {
    if (!samePlan(c.spec.plan, spec.plan)) c.index = 0;
    c.spec = spec;
  }
  return undefined;
}

function becomeSupervisorIn(
  dir: Dir,
  pid: Pid,
  own: OwnSpec,
): undefined | Failure {
  const op = "becomeSupervisor";
  let spec: FullChildSpec;
  try {
    spec = effective(own, dir.default);
  } catch (error) {
    return new Failure(error as Error);
  }
  const proc = procOf(pid);
  if (proc === dir.proc) {
    return new Failure(
      new TypeError(
        `Cannot becomeSupervisor: 'pid' is the director itself (${pid})`,
      ),
    );
  }
  if (proc.dead) return fail(op, pid, "noproc");
  if (dir.byPid.has(pid)) return fail(op, pid, "already_started", { pid });
  const existing = dir.find(own.id);
  if (existing !== undefined) {
    return existing.pid !== undefined
      ? fail(op, own.id, "already_started", { pid: existing.pid })
      : fail(op, own.id, "already_present");
  }
  if (!linked(dir.proc, proc)) linkProcs(dir.proc, proc);
  const child = new Child(own, spec);
  dir.add(child);
  dir.started(child, pid, undefined);
  return undefined;
}

function deleteRunningChildIn(dir: Dir, pid: Pid): undefined | Failure {
  const child = dir.byPid.get(pid);
  if (child === undefined) return fail("deleteRunningChild", pid, "not_found");
  // Unlinked, and an EXIT already queued is taken out: it is not ours now.
  unlinkAndFlush(dir.proc, pid, undefined);
  dir.remove(child);
  return undefined;
}

// ------------------------------------------------------------ arguments --

function optionsError(op: string, key: string, value: unknown, what: string) {
  return new TypeError(
    `Cannot ${op}: '${key}' must be ${what}, got ${formatTerm(value)}`,
  );
}

/** The keys of {@linkcode StartOptions}. */
const START_OPTION_KEYS: readonly string[] = [
  "name",
  "timeout",
  "signal",
  "debug",
  "logger",
  "logValidator",
  "label",
];

function checkOptions(op: string, options: unknown): StartOptions {
  if (options === undefined) return {};
  if (options === null || typeof options !== "object") {
    throw optionsError(op, "options", options, "an object");
  }
  const o = options as Record<string, unknown>;
  refuseUnknown(op, o, START_OPTION_KEYS);
  if (o.name !== undefined && typeof o.name !== "string") {
    throw optionsError(op, "name", o.name, "a string");
  }
  if (o.label !== undefined && typeof o.label !== "string") {
    throw optionsError(op, "label", o.label, "a string");
  }
  if (
    o.debug !== undefined && typeof o.debug !== "boolean" &&
    typeof o.debug !== "function"
  ) {
    throw optionsError(op, "debug", o.debug, "a boolean or a function");
  }
  if (o.logValidator !== undefined && typeof o.logValidator !== "function") {
    throw optionsError(op, "logValidator", o.logValidator, "a function");
  }
  if (
    o.logger !== undefined && o.logger !== false &&
    typeof o.logger !== "function" && !isLevel(o.logger)
  ) {
    throw optionsError(
      op,
      "logger",
      o.logger,
      'a function, a level ("error", "warning", "notice", "info", "debug") or false',
    );
  }
  return o as StartOptions;
}

function checkSpecArg(op: string, spec: unknown): void {
  if (typeof spec === "function") return;
  if (spec === null || typeof spec !== "object" || Array.isArray(spec)) {
    throw new TypeError(
      `Cannot ${op}: 'spec' must be a director spec object or an init function, got ${
        formatTerm(spec)
      }`,
    );
  }
  // Checked here too, so that garbage is reported at the edge.
  const s = spec as DirectorSpec;
  checkDirectorSpecKeys(spec as Record<string, unknown>, false);
  const owns = normaliseOwns(s.children ?? []);
  const def = s.defaultChildspec === undefined
    ? DEFAULT_DEFAULT_CHILDSPEC
    : normaliseDefault(s.defaultChildspec);
  for (const own of owns) effective(own, def);
}

function launch(
  op: string,
  spec: unknown,
  options: StartOptions | undefined,
  linkedStart: boolean,
): Promise<Pid> {
  let opts: StartOptions;
  try {
    opts = checkOptions(op, options);
    checkSpecArg(op, spec);
  } catch (error) {
    return Promise.reject(error);
  }
  const startFn = linkedStart ? genServer.startLink : genServer.start;
  const genOptions: genServer.StartOptions = {};
  if (opts.name !== undefined) genOptions.name = opts.name;
  if (opts.timeout !== undefined) genOptions.timeout = opts.timeout;
  if (opts.signal !== undefined) genOptions.signal = opts.signal;
  if (opts.label !== undefined) genOptions.label = opts.label;
  return startFn(behaviour, [spec, opts], genOptions);
}

/** Checks a child spec at the edge; a promise rejected with the error if bad. */
function ownOf(spec: unknown): OwnSpec | Promise<never> {
  try {
    return normaliseOwn(spec);
  } catch (error) {
    return Promise.reject(error);
  }
}

// ----------------------------------------------------------- lock-free --

function dirOf(op: string, director: unknown): Dir {
  const d = directors.get(director as Pid);
  if (d !== undefined) return d;
  return slowDirOf(op, director);
}

function slowDirOf(op: string, director: unknown): Dir {
  const d = lookupDir(op, director);
  if (d !== undefined) return d;
  throw new NoProcError(op, director);
}

/**
 * A request to a director: refused at once (TypeError) for a live process
 * that is not one (a supervisor, a tracker: their servers answer
 * supervisor's calls, not a director's); a dead one fails as the call does
 * (CallError `"noproc"`).
 */
function requestDir<T>(
  director: Dest,
  req: readonly [string, ...unknown[]],
  options?: RequestOptions,
): Promise<T> {
  try {
    if (!directors.has(director as Pid)) lookupDir(req[0], director);
  } catch (error) {
    return Promise.reject(error);
  }
  return request(director, req, options, req[0]);
}

/** The director `director` names; undefined if it is dead or unknown. */
function lookupDir(op: string, director: unknown): Dir | undefined {
  let pid: Pid | undefined;
  if (typeof director === "string") pid = whereisName(director)?.pid;
  else if (director instanceof Pid) pid = director;
  else {
    throw new TypeError(
      `Cannot ${op}: 'director' must be a pid or a registered name, got ${
        formatTerm(director)
      }`,
    );
  }
  const d = pid === undefined ? undefined : directors.get(pid);
  if (d !== undefined) return d;
  if (pid !== undefined && !procOf(pid).dead) {
    throw new TypeError(
      `Cannot ${op}: 'director' must be a director, got ${
        formatTerm(director)
      } (a live process that is not a director)`,
    );
  }
  return undefined;
}

// ------------------------------------------------------------ public API --

/**
 * Starts a director (not linked to the caller) and its children, in order.
 * Resolves once they have all started. A child whose start returns
 * `"ignore"` is not kept.
 *
 * @param spec `children` and `defaultChildspec`; or an init function that
 *   returns them (or `"ignore"`, or `["stop", reason]`).
 * @param options `name` to register, init `timeout`, `debug`, `logger`,
 *   `logValidator`.
 * @returns the director's pid.
 * @throws {ChildSpecError} (rejects) for an invalid child spec or default
 *   childspec given as an object.
 * @throws {TypeError} (rejects) for invalid options.
 * @throws {StartError} (rejects) if a child failed to start (reason
 *   `["shutdown", ["failed_to_start_child", id, reason]]`; the children already
 *   started were stopped, newest first); if init returned `"ignore"` (reason
 *   `"ignore"`), `["stop", reason]` (`reason`), something else
 *   (`["init_bad_return", value]`), threw (what it threw), or specs that are
 *   not valid (`["start_spec", r]`).
 *
 * @example
 * ```ts
 * import * as director from "@steward/steward/director";
 * import { spawnLink } from "@steward/steward/process";
 * import assert from "node:assert/strict";
 * const d = await director.start(() => ({
 *   children: [{ id: "db", start: () => spawnLink(() => new Promise(() => {})) }],
 * }), { name: "app" });
 * assert.deepEqual(director.getPids("app").map(([id]) => id), ["db"]);
 * await director.stop(d);
 * ```
 */
export function start(
  spec: DirectorSpec | DirectorInit,
  options?: StartOptions,
): Promise<Pid> {
  return launch("start", spec, options, false);
}

/**
 * Like {@linkcode start}, linked to the caller: the way a supervisor starts
 * a director as its child.
 *
 * @param spec as {@linkcode start}.
 * @param options as {@linkcode start}.
 * @returns the director's pid.
 * @throws {ChildSpecError} (rejects) as {@linkcode start}.
 * @throws {StartError} (rejects) as {@linkcode start}.
 *
 * @example
 * ```ts
 * import * as director from "@steward/steward/director";
 * import * as supervisor from "@steward/steward/supervisor";
 * import assert from "node:assert/strict";
 * const sup = await supervisor.start({
 *   children: [{ id: "d", type: "supervisor", start: () => director.startLink({}) }],
 * });
 * assert.equal((await supervisor.countChildren(sup)).active, 1);
 * await supervisor.stop(sup);
 * ```
 */
export function startLink(
  spec: DirectorSpec | DirectorInit,
  options?: StartOptions,
): Promise<Pid> {
  return launch("startLink", spec, options, true);
}

/**
 * Stops a director: its children stop newest first (each per its
 * terminateTimeout), then it exits with `reason`.
 *
 * @param director the director (pid or name).
 * @param reason its exit reason. @default {"normal"}
 * @param options `timeout` in ms (default Infinity).
 * @throws {CallError} (rejects) if there is no such director.
 *
 * @example
 * ```ts
 * import * as director from "@steward/steward/director";
 * import { isAlive } from "@steward/steward/process";
 * import assert from "node:assert/strict";
 * const d = await director.start({});
 * await director.stop(d);
 * assert.equal(isAlive(d), false);
 * ```
 */
export function stop(
  director: Dest,
  reason: unknown = "normal",
  options?: StopOptions,
): Promise<void> {
  return genServer.stop(director, reason, options);
}

/**
 * Adds a child and starts it. A start that fails or returns `"ignore"`
 * leaves nothing stored.
 *
 * @param director the director (pid or name).
 * @param spec the child spec.
 * @param options `signal`: ends the wait (see {@linkcode RequestOptions}).
 * @returns the child's pid and extra; pid undefined if its start returned
 *   `"ignore"`.
 * @throws {DirectorError} (rejects) `"already_started"` (with the running
 *   pid), `"already_present"`, or `"start_failed"` with the child's reason.
 * @throws {ChildSpecError} (rejects) for an invalid spec (an append child
 *   without `start` under a default without one, too).
 * @throws {CallError} (rejects) if there is no such director (`"noproc"`).
 *
 * @example
 * ```ts
 * import * as director from "@steward/steward/director";
 * import { spawnLink } from "@steward/steward/process";
 * import assert from "node:assert/strict";
 * const d = await director.start({});
 * const { pid } = await director.startChild(d, {
 *   id: "w",
 *   start: () => spawnLink(() => new Promise(() => {})),
 *   plan: [["restart", 1000]],
 * });
 * assert.equal(director.getPid(d, "w"), pid);
 * await director.stop(d);
 * ```
 */
export function startChild(
  director: Dest,
  spec: ChildSpec,
  options?: RequestOptions,
): Promise<StartedChild> {
  const own = ownOf(spec);
  if (own instanceof Promise) return own;
  return requestDir(director, ["startChild", own], options);
}

/**
 * Starts a stopped child again. A child waiting for a delayed restart (or a
 * retry) is started now, its pending restart cancelled. Its place in its
 * plan does not change.
 *
 * @param director the director.
 * @param id the child's id.
 * @param options `signal`: ends the wait (see {@linkcode RequestOptions}).
 * @returns the new pid and extra (pid undefined if it returned "ignore").
 * @throws {DirectorError} (rejects) `"not_found"`, `"running"`, or
 *   `"start_failed"` (the child stays stopped).
 *
 * @example
 * ```ts
 * import * as director from "@steward/steward/director";
 * import { spawnLink } from "@steward/steward/process";
 * import assert from "node:assert/strict";
 * const d = await director.start({
 *   children: [{ id: "w", start: () => spawnLink(() => new Promise(() => {})) }],
 * });
 * await director.terminateChild(d, "w");
 * const { pid } = await director.restartChild(d, "w");
 * assert.equal(director.getPid(d, "w"), pid);
 * await director.stop(d);
 * ```
 */
export function restartChild(
  director: Dest,
  id: unknown,
  options?: RequestOptions,
): Promise<StartedChild> {
  return requestDir(director, ["restartChild", id], options);
}

/**
 * Stops a child (`"shutdown"`, then killed after its terminateTimeout; `0`:
 * killed at once). Its spec is kept, stopped. A pending restart is
 * cancelled; a stopped child is left as it is.
 *
 * @param director the director.
 * @param child the child's id, or its pid.
 * @param options `signal`: ends the wait (see {@linkcode RequestOptions}).
 * @throws {DirectorError} (rejects) `"not_found"`.
 *
 * @example
 * ```ts
 * import * as director from "@steward/steward/director";
 * import { spawnLink } from "@steward/steward/process";
 * import assert from "node:assert/strict";
 * const d = await director.start({
 *   children: [{ id: "w", start: () => spawnLink(() => new Promise(() => {})) }],
 * });
 * await director.terminateChild(d, director.getPid(d, "w"));
 * assert.equal(director.whichChildren(d)[0].pid, undefined);
 * await director.stop(d);
 * ```
 */
export function terminateChild(
  director: Dest,
  child: unknown,
  options?: RequestOptions,
): Promise<void> {
  return requestDir(director, ["terminateChild", child], options);
}

/**
 * Removes a child's spec. The child must not be running; a child waiting
 * for a restart may be deleted (the restart is cancelled).
 *
 * @param director the director.
 * @param id the child's id.
 * @param options `signal`: ends the wait (see {@linkcode RequestOptions}).
 * @throws {DirectorError} (rejects) `"not_found"` or `"running"`.
 *
 * @example
 * ```ts
 * import * as director from "@steward/steward/director";
 * import { spawnLink } from "@steward/steward/process";
 * import assert from "node:assert/strict";
 * const d = await director.start({
 *   children: [{ id: "w", start: () => spawnLink(() => new Promise(() => {})) }],
 * });
 * await director.terminateChild(d, "w");
 * await director.deleteChild(d, "w");
 * assert.equal(director.countChildren(d).specs, 0);
 * await director.stop(d);
 * ```
 */
export function deleteChild(
  director: Dest,
  id: unknown,
  options?: RequestOptions,
): Promise<void> {
  return requestDir(director, ["deleteChild", id], options);
}

/**
 * Stops a child (as {@linkcode terminateChild}) and removes its spec.
 *
 * @param director the director.
 * @param child the child's id, or its pid.
 * @param options `signal`: ends the wait (see {@linkcode RequestOptions}).
 * @throws {DirectorError} (rejects) `"not_found"`.
 *
 * @example
 * ```ts
 * import * as director from "@steward/steward/director";
 * import { spawnLink } from "@steward/steward/process";
 * import assert from "node:assert/strict";
 * const d = await director.start({
 *   children: [{ id: "w", start: () => spawnLink(() => new Promise(() => {})) }],
 * });
 * await director.terminateAndDeleteChild(d, "w");
 * assert.deepEqual(director.whichChildren(d), []);
 * await director.stop(d);
 * ```
 */
export function terminateAndDeleteChild(
  director: Dest,
  child: unknown,
  options?: RequestOptions,
): Promise<void> {
  return requestDir(director, ["terminateAndDeleteChild", child], options);
}

/**
 * A child's plan, read without a message.
 *
 * @param director the director (pid or name).
 * @param id the child's id.
 * @returns the plan (for an append child, the default's and its own).
 * @throws {DirectorError} `"not_found"`.
 * @throws {NoProcError} if the director is not alive.
 *
 * @example
 * ```ts
 * import * as director from "@steward/steward/director";
 * import assert from "node:assert/strict";
 * import { spawnLink } from "@steward/steward/process";
 * const d = await director.start({
 *   children: [{
 *     id: "w",
 *     start: () => spawnLink(() => new Promise(() => {})),
 *     plan: ["restart", ["restart", 100]],
 *   }],
 * });
 * assert.deepEqual(director.getPlan(d, "w"), ["restart", ["restart", 100]]);
 * await director.stop(d);
 * ```
 */
export function getPlan(
  director: Dest,
  id: unknown,
): readonly PlanElement[] {
  const c = dirOf("getPlan", director).find(id);
  if (c === undefined) throw new DirectorError("getPlan", id, "not_found");
  return c.spec.plan;
}

/**
 * Replaces a child's plan; its next exit runs the new plan's first element.
 * The runs of the plan already made still count (director 17.9.16): with
 * `count` runs made, the next exit stops the director whatever the plan; see
 * {@linkcode changeCount}. For an append child this sets its own plan, and
 * the default's is still put before it.
 *
 * @param director the director.
 * @param id the child's id.
 * @param plan the new plan.
 * @param options `signal`: ends the wait (see {@linkcode RequestOptions}).
 * @throws {ChildSpecError} (rejects) for an invalid plan (key `"plan"`).
 * @throws {DirectorError} (rejects) `"not_found"`.
 *
 * @example
 * ```ts
 * import * as director from "@steward/steward/director";
 * import { spawnLink } from "@steward/steward/process";
 * import assert from "node:assert/strict";
 * const d = await director.start({
 *   children: [{ id: "w", start: () => spawnLink(() => new Promise(() => {})) }],
 * });
 * await director.changePlan(d, "w", [["restart", 500], "delete"]);
 * assert.deepEqual(await director.getPlan(d, "w"), [["restart", 500], "delete"]);
 * await director.stop(d);
 * ```
 */
export function changePlan(
  director: Dest,
  id: unknown,
  plan: readonly PlanElement[],
  options?: RequestOptions,
): Promise<void> {
  let checked: readonly PlanElement[];
  try {
    checked = checkPlan(plan, id);
  } catch (error) {
    return Promise.reject(error);
  }
  return requestDir(director, ["changePlan", id, checked], options);
}

/**
 * How many times a child's plan may run, read without a message.
 *
 * @param director the director (pid or name).
 * @param id the child's id.
 * @returns the count (a whole number or Infinity).
 * @throws {DirectorError} `"not_found"`.
 * @throws {NoProcError} if the director is not alive.
 *
 * @example
 * ```ts
 * import * as director from "@steward/steward/director";
 * import { spawnLink } from "@steward/steward/process";
 * import assert from "node:assert/strict";
 * const d = await director.start({
 *   children: [{ id: "w", start: () => spawnLink(() => new Promise(() => {})) }],
 * });
 * assert.equal(director.getCount(d, "w"), 3);
 * await director.stop(d);
 * ```
 */
export function getCount(director: Dest, id: unknown): number {
  const c = dirOf("getCount", director).find(id);
  if (c === undefined) throw new DirectorError("getCount", id, "not_found");
  return c.spec.count;
}

/**
 * Sets how many times a child's plan may run. The runs already made still
 * count: a count at or below them stops the director at the child's next
 * exit. For an append child this sets its own count (the default's is still
 * added).
 *
 * @param director the director.
 * @param id the child's id.
 * @param count a whole number >= 0, or Infinity.
 * @param options `signal`: ends the wait (see {@linkcode RequestOptions}).
 * @throws {RangeError} (rejects) for an invalid count.
 * @throws {DirectorError} (rejects) `"not_found"`.
 *
 * @example
 * ```ts
 * import * as director from "@steward/steward/director";
 * import { spawnLink } from "@steward/steward/process";
 * import assert from "node:assert/strict";
 * const d = await director.start({
 *   children: [{ id: "w", start: () => spawnLink(() => new Promise(() => {})) }],
 * });
 * await director.changeCount(d, "w", Infinity);
 * assert.equal(await director.getCount(d, "w"), Infinity);
 * await director.stop(d);
 * ```
 */
export function changeCount(
  director: Dest,
  id: unknown,
  count: number,
  options?: RequestOptions,
): Promise<void> {
  if (!isCount(count)) {
    return Promise.reject(
      new RangeError(
        `Cannot changeCount: 'count' must be a whole number >= 0 or Infinity, got ${
          formatTerm(count)
        }`,
      ),
    );
  }
  return requestDir(director, ["changeCount", id, count], options);
}

/**
 * The director's default childspec: as given to it (checked), or
 * `{ plan: [], count: 0, terminateTimeout: 0, modules: [] }`; read without a
 * message.
 *
 * @param director the director (pid or name).
 * @returns the default childspec.
 * @throws {NoProcError} if the director is not alive.
 *
 * @example
 * ```ts
 * import * as director from "@steward/steward/director";
 * import assert from "node:assert/strict";
 * const d = await director.start({});
 * assert.deepEqual(director.getDefaultChildspec(d), {
 *   plan: [], count: 0, terminateTimeout: 0, modules: [],
 * });
 * await director.stop(d);
 * ```
 */
export function getDefaultChildspec(director: Dest): DefaultChildspec {
  return dirOf("getDefaultChildspec", director).default;
}

/**
 * Replaces the default childspec and re-merges every `append` child with
 * it at once (see the module docs). If an append child would be left
 * without a start function, nothing changes.
 *
 * @param director the director.
 * @param defaultChildspec the new default.
 * @param options `signal`: ends the wait (see {@linkcode RequestOptions}).
 * @throws {ChildSpecError} (rejects) for an invalid default (or one that
 *   leaves an append child without `start`).
 *
 * @example
 * ```ts
 * import * as director from "@steward/steward/director";
 * import { spawnLink } from "@steward/steward/process";
 * import assert from "node:assert/strict";
 * const start = () => spawnLink(() => new Promise(() => {}));
 * const d = await director.start({ defaultChildspec: { start, count: 5 } });
 * await director.startChild(d, { id: 1, append: true });
 * assert.equal(director.getChildspec(d, 1).count, 3 + 5);
 * await director.changeDefaultChildspec(d, { start, count: 1 });
 * assert.equal(director.getChildspec(d, 1).count, 3 + 1);
 * await director.stop(d);
 * ```
 */
export function changeDefaultChildspec(
  director: Dest,
  defaultChildspec: DefaultChildspec,
  options?: RequestOptions,
): Promise<void> {
  let def: DefaultChildspec;
  try {
    def = normaliseDefault(defaultChildspec);
  } catch (error) {
    return Promise.reject(error);
  }
  return requestDir(director, ["changeDefaultChildspec", def], options);
}

/**
 * Adopts a live process as a child: the director links to it and directs it
 * with `spec` from now on (its plan runs when it exits; `spec.start` starts
 * its successors).
 *
 * @param director the director.
 * @param pid the process to adopt.
 * @param spec its child spec.
 * @param options `signal`: ends the wait (see {@linkcode RequestOptions}).
 * @throws {DirectorError} (rejects) `"noproc"` (the process is dead),
 *   `"already_started"` (it is a child already, or a running child has that
 *   id), `"already_present"` (a stopped child has that id).
 * @throws {ChildSpecError} (rejects) for an invalid spec.
 *
 * @example
 * ```ts
 * import * as director from "@steward/steward/director";
 * import { spawn } from "@steward/steward/process";
 * import assert from "node:assert/strict";
 * const body = () => new Promise<void>(() => {});
 * const orphan = spawn(body);
 * const d = await director.start({});
 * await director.becomeSupervisor(d, orphan, { id: "o", start: () => spawn(body) });
 * assert.equal(director.getPid(d, "o"), orphan);
 * await director.stop(d);
 * ```
 */
export function becomeSupervisor(
  director: Dest,
  pid: Pid,
  spec: ChildSpec,
  options?: RequestOptions,
): Promise<void> {
  if (!(pid instanceof Pid)) {
    return Promise.reject(
      new TypeError(
        `Cannot becomeSupervisor: 'pid' must be a Pid, got ${formatTerm(pid)}`,
      ),
    );
  }
  const own = ownOf(spec);
  if (own instanceof Promise) return own;
  return requestDir(director, ["becomeSupervisor", pid, own], options);
}

/**
 * Lets a running child go: the director unlinks from it and forgets it; the
 * process keeps running, unsupervised (another director can then
 * {@linkcode becomeSupervisor} of it).
 *
 * @param director the director.
 * @param pid the child's pid.
 * @param options `signal`: ends the wait (see {@linkcode RequestOptions}).
 * @throws {DirectorError} (rejects) `"not_found"` (no running child has that
 *   pid).
 *
 * @example
 * ```ts
 * import * as director from "@steward/steward/director";
 * import { exit, isAlive, spawnLink } from "@steward/steward/process";
 * import assert from "node:assert/strict";
 * const d = await director.start({
 *   children: [{ id: "w", start: () => spawnLink(() => new Promise(() => {})) }],
 * });
 * const pid = director.getPid(d, "w");
 * await director.deleteRunningChild(d, pid);
 * await director.stop(d);
 * assert.ok(isAlive(pid));
 * exit(pid, "kill");
 * ```
 */
export function deleteRunningChild(
  director: Dest,
  pid: Pid,
  options?: RequestOptions,
): Promise<void> {
  if (!(pid instanceof Pid)) {
    return Promise.reject(
      new TypeError(
        `Cannot deleteRunningChild: 'pid' must be a Pid, got ${
          formatTerm(pid)
        }`,
      ),
    );
  }
  return requestDir(director, ["deleteRunningChild", pid], options);
}

/**
 * Checks a child spec as a director would: returns undefined if it is
 * valid, else the {@linkcode ChildSpecError} of the first problem. An append
 * child is checked merged with `defaultChildspec` (by default, the default
 * default, which has no `start`).
 *
 * @param spec the child spec.
 * @param defaultChildspec the default to merge an append child with.
 * @returns undefined, or the error.
 *
 * @example
 * ```ts
 * import { checkChildspec } from "@steward/steward/director";
 * import assert from "node:assert/strict";
 * const start = () => "ignore" as const;
 * assert.equal(checkChildspec({ id: 1, start, plan: ["restart"] }), undefined);
 * assert.equal(checkChildspec({ id: 1, start, plan: ["bogus"] })?.key, "plan");
 * ```
 */
export function checkChildspec(
  spec: unknown,
  defaultChildspec?: DefaultChildspec,
): ChildSpecError | undefined {
  try {
    const own = normaliseOwn(spec);
    effective(
      own,
      defaultChildspec === undefined
        ? DEFAULT_DEFAULT_CHILDSPEC
        : normaliseDefault(defaultChildspec),
    );
    return undefined;
  } catch (error) {
    if (error instanceof ChildSpecError) return error;
    throw error;
  }
}

/**
 * A running child's pid, read without a message.
 *
 * @param director the director (pid or name).
 * @param id the child's id.
 * @returns the child's pid.
 * @throws {DirectorError} `"not_found"` (no such id), `"restarting"` (between
 *   restart attempts), `"not_running"` (stopped, or waiting).
 * @throws {NoProcError} if the director is not alive.
 *
 * @example
 * ```ts
 * import * as director from "@steward/steward/director";
 * import { isAlive, spawnLink } from "@steward/steward/process";
 * import assert from "node:assert/strict";
 * const d = await director.start({
 *   children: [{ id: "w", start: () => spawnLink(() => new Promise(() => {})) }],
 * });
 * assert.ok(isAlive(director.getPid(d, "w")));
 * await director.stop(d);
 * assert.throws(() => director.getPid(d, "w"), director.NoProcError);
 * ```
 */
export function getPid(director: Dest, id: unknown): Pid {
  const d = dirOf("getPid", director);
  const c = d.find(id);
  const pid = c?.pid;
  if (pid !== undefined) return pid;
  throw new DirectorError(
    "getPid",
    id,
    c === undefined ? "not_found" : c.restarting ? "restarting" : "not_running",
    { server: `director ${formatTerm(d.pid)}` },
  );
}

/**
 * The running children's ids and pids, in start order, read without a
 * message.
 *
 * @param director the director (pid or name).
 * @returns `[id, pid]` pairs (`new Map(getPids(d))` makes a map of them).
 * @throws {NoProcError} if the director is not alive.
 *
 * @example
 * ```ts
 * import * as director from "@steward/steward/director";
 * import assert from "node:assert/strict";
 * const d = await director.start({});
 * assert.deepEqual(director.getPids(d), []);
 * await director.stop(d);
 * ```
 */
export function getPids(director: Dest): [unknown, Pid][] {
  const d = dirOf("getPids", director);
  const out: [unknown, Pid][] = [];
  for (const c of d.children) {
    if (c.pid !== undefined) out.push([c.spec.id, c.pid]);
  }
  return out;
}

/**
 * Lists the children in start order, read without a message: id, pid (or
 * `"restarting"`, or undefined), type, modules, and for a delayed restart
 * when it is due.
 *
 * @param director the director (pid or name).
 * @returns one row per child.
 * @throws {NoProcError} if the director is not alive.
 *
 * @example
 * ```ts
 * import * as director from "@steward/steward/director";
 * import assert from "node:assert/strict";
 * const d = await director.start({});
 * assert.deepEqual(director.whichChildren(d), []);
 * await director.stop(d);
 * ```
 */
export function whichChildren(director: Dest): ChildInfo[] {
  return whichChildrenOf(dirOf("whichChildren", director));
}

function whichChildrenOf(d: Dir): ChildInfo[] {
  const out: ChildInfo[] = [];
  for (const c of d.children) {
    const info: ChildInfo = {
      id: c.spec.id,
      pid: c.pid ?? (c.restarting ? "restarting" : undefined),
      type: c.spec.type,
      modules: c.spec.modules,
    };
    const at = restartAt(c.pending);
    out.push(
      c.pid !== undefined && c.extra !== undefined
        ? { ...info, extra: c.extra }
        : at !== undefined
        ? { ...info, restartAt: at }
        : info,
    );
  }
  return out;
}

/**
 * Counts the children as OTP's `count_children`, read without a message:
 * specs, active (running), supervisors and workers (by type, running or
 * not).
 *
 * @param director the director (pid or name).
 * @returns the counts.
 * @throws {NoProcError} if the director is not alive.
 *
 * @example
 * ```ts
 * import * as director from "@steward/steward/director";
 * import assert from "node:assert/strict";
 * const d = await director.start({});
 * assert.deepEqual(director.countChildren(d), {
 *   specs: 0, active: 0, supervisors: 0, workers: 0,
 * });
 * await director.stop(d);
 * ```
 */
export function countChildren(director: Dest): ChildCounts {
  return countChildrenOf(dirOf("countChildren", director));
}

function countChildrenOf(d: Dir): ChildCounts {
  let active = 0, supervisors = 0;
  for (const c of d.children) {
    if (c.pid !== undefined) active++;
    if (c.spec.type === "supervisor") supervisors++;
  }
  const specs = d.children.size;
  return { specs, active, supervisors, workers: specs - supervisors };
}

/**
 * A child's full spec (every key filled in; an append child's merged with
 * the default), by id or by pid, read without a message.
 *
 * @param director the director (pid or name).
 * @param child the child's id, or its pid.
 * @returns the spec.
 * @throws {DirectorError} `"not_found"`.
 * @throws {NoProcError} if the director is not alive.
 *
 * @example
 * ```ts
 * import * as director from "@steward/steward/director";
 * import { spawnLink } from "@steward/steward/process";
 * import assert from "node:assert/strict";
 * const d = await director.start({
 *   children: [{ id: "w", start: () => spawnLink(() => new Promise(() => {})) }],
 * });
 * const spec = director.getChildspec(d, "w");
 * assert.deepEqual(spec.plan, ["restart"]);
 * assert.equal(spec.terminateTimeout, 1000);
 * await director.stop(d);
 * ```
 */
export function getChildspec(director: Dest, child: unknown): FullChildSpec {
  const d = dirOf("getChildspec", director);
  const c = childOf(d, child);
  if (c === undefined) {
    throw new DirectorError("getChildspec", child, "not_found", {
      server: `director ${formatTerm(d.pid)}`,
    });
  }
  return c.spec;
}

/**
 * How many plan elements a child has run (its exits and failed restarts),
 * read without a message.
 *
 * @param director the director (pid or name).
 * @param id the child's id.
 * @returns the restart count (0 before its first exit).
 * @throws {DirectorError} `"not_found"`.
 * @throws {NoProcError} if the director is not alive.
 *
 * @example
 * ```ts
 * import * as director from "@steward/steward/director";
 * import { spawnLink } from "@steward/steward/process";
 * import assert from "node:assert/strict";
 * const d = await director.start({
 *   children: [{ id: "w", start: () => spawnLink(() => new Promise(() => {})) }],
 * });
 * assert.equal(director.getRestartCount(d, "w"), 0);
 * await director.stop(d);
 * ```
 */
export function getRestartCount(director: Dest, id: unknown): number {
  const d = dirOf("getRestartCount", director);
  const c = d.find(id);
  if (c === undefined) {
    throw new DirectorError("getRestartCount", id, "not_found", {
      server: `director ${formatTerm(d.pid)}`,
    });
  }
  return c.restartCount;
}
