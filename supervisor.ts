/**
 * Supervisors: processes that start children, watch them, and restart them
 * when they exit, as OTP's `supervisor` and Elixir's
 * DynamicSupervisor.
 *
 * A supervisor is a gen_server that traps exits. Its children are described
 * by {@linkcode ChildSpec}s: an `id`, a `start` function that starts the
 * child linked to the caller (usually `gen_server.startLink`), a `restart`
 * type and a `shutdown` rule. Children start in order, one at a time; the
 * supervisor stops them in reverse order.
 *
 * | strategy | when a child must restart |
 * |---|---|
 * | `"one_for_one"` | only that child restarts |
 * | `"one_for_all"` | all children stop (reverse order) and all restart |
 * | `"rest_for_one"` | the children started after it stop, then it and they restart |
 * | `"simple_one_for_one"` | one template spec; children added with startChild(sup, extraArgs) |
 *
 * | restart | exit `"normal"`, `"shutdown"`, `["shutdown", _]` | any other exit |
 * |---|---|---|
 * | `"permanent"` | restarted | restarted |
 * | `"transient"` | not restarted (spec kept) | restarted |
 * | `"temporary"` | removed | removed |
 *
 * Restart intensity: more than `intensity` restarts within `period` seconds
 * and the supervisor gives up: it stops all its children and exits with
 * `"shutdown"`, so its own supervisor can act.
 *
 * ## Calls, on any supervisor-like process
 * The request functions here ({@linkcode startChild},
 * {@linkcode restartChild}, {@linkcode terminateChild},
 * {@linkcode deleteChild}, {@linkcode whichChildren},
 * {@linkcode countChildren}, {@linkcode getChildspec}) are OTP's supervisor
 * calls: each is a message to the process, answered once it has handled
 * everything sent to it before, so they always return promises (the one
 * rule of the library: a read answered without a message is synchronous, one
 * that needs the server is a promise). A director answers all of them, as
 * Pouriya's director answers OTP's `supervisor` calls (its child specs are
 * a director's); a tracker answers whichChildren, countChildren,
 * terminateChild, deleteChild and restartChild, and refuses startChild and
 * getChildspec with a `TrackerError` `"not_supported"` (gen_tracker answers
 * none of those two; a tracker's children are opened with `findOrOpen`).
 * The answers have one shape whoever gives them: {@linkcode StartedChild}
 * (`{ pid, extra }`) from startChild and restartChild, {@linkcode ChildInfo}
 * rows, {@linkcode ChildCounts}, and `undefined` from terminateChild and
 * deleteChild. A bare `GenServer.call` of a request a supervisor does not
 * know (these functions' requests included: they travel in an envelope of
 * the library's) is refused: the call rejects with a
 * {@linkcode SupervisorError} `"unknown_request"`, and the supervisor lives
 * on (OTP's supervisor has no clause for it and crashes; a director, a
 * tracker and a table manager refuse it the same way).
 *
 * Differences from OTP, on purpose:
 * - restart timestamps are kept to the millisecond on the injected clock (OTP
 *   rounds them to whole seconds), and in a queue, so a burst of restarts
 *   costs the same per restart however many are in the window;
 * - a child whose start function did not link it is linked by the
 *   supervisor, so a `spawn` start cannot escape supervision (one that
 *   starts after its supervisor died gets the supervisor's exit);
 * - results are values and errors are {@linkcode SupervisorError}s with a
 *   `code`, instead of `{error, ...}` tuples; child spec problems are
 *   {@linkcode ChildSpecError}s naming the key;
 * - unknown keys are refused (OTP ignores them in map specs and flags): a
 *   child spec's (`restart_type`) and the flags' (`intesity`) fail with a
 *   `ChildSpecError` naming the key and the known ones, unknown start
 *   options with a `TypeError`; without a compiler to catch the typo, an
 *   ignored key would silently leave the default in place;
 * - an optional restart delay with exponential backoff and jitter
 *   (`backoff`), off by default; a child waiting for its delayed restart
 *   shows as `"restarting"` with the time of the next attempt, and
 *   terminateChild cancels it;
 * - every transition is an event ({@linkcode subscribe}), and crashes,
 *   failed and delayed restarts and giving up are reported by the library's
 *   logger (logger.ts: on the console by default; the `logger` start option
 *   routes, filters or silences one supervisor's reports);
 * - getChildspec also takes a child's pid under every strategy (OTP: only
 *   simple_one_for_one), since a pid is what callers usually hold;
 * - a dynamic supervisor stopping kills each child still alive after its
 *   own shutdown time (Elixir waits for the longest one before killing
 *   any), so a child's shutdown rule means the same everywhere.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as supervisor from "@steward/steward/supervisor";
 * import * as genServer from "@steward/steward/gen-server";
 * import { exit } from "@steward/steward/process";
 *
 * const counter = {
 *   init: () => ["ok", 0] as const,
 *   handleCall: (_req: unknown, _from: unknown, n: number) =>
 *     ["reply", n + 1, n + 1] as const,
 * };
 * const sup = await supervisor.start({
 *   strategy: "one_for_one",
 *   intensity: 3,
 *   period: 5,
 *   children: [{ id: "counter", start: () => genServer.startLink(counter, undefined, { name: "counter" }) }],
 * });
 * await genServer.call("counter", "next");
 * const [child] = await supervisor.whichChildren(sup);
 * exit(child.pid as supervisor.Pid, "kill"); // crash it: it comes back, fresh
 * // The supervisor answers once it has handled the exit (and restarted it).
 * const [restarted] = await supervisor.whichChildren(sup);
 * assert.notEqual(restarted.pid, child.pid);
 * assert.equal(await genServer.call("counter", "next"), 1);
 * await supervisor.stop(sup);
 * ```
 *
 * @module
 */

import {
  addResource,
  currentProc,
  Pid,
  type Proc,
  procOf,
} from "./_runtime.ts";
import { applyAs } from "./_context.ts";
import {
  checkArgs,
  checkKindKeys,
  checkRestart,
  checkSpecKeys,
  checkSpecObject,
  checkStart,
  type ChildType,
  failed,
  reportChild,
  type RestartType,
  type Shutdown,
  shutdownAll,
  shutdownChild,
  specError as childSpecError,
  startChild as startChildProcess,
  startChildThen,
  type StartOutcome,
  type StartReturn,
} from "./_child.ts";
import {
  type ChildState,
  ChildTable,
  move,
  runningPid,
  STOPPED,
} from "./_child_table.ts";
import {
  addRestart,
  backoffDelay,
  cancelPending,
  exitAction,
  pendingOf,
  type PendingRestart,
  restartAt,
  restartWindow,
  retrySoon,
  startRestartTimer,
} from "./_restart.ts";
import {
  type DistributiveOmit,
  Failure,
  notSupportedMessage,
  request,
  requestOf,
  startedChild as startedFrom,
  then,
  unknownRequestMessage,
} from "./_request.ts";
import { getClock } from "./clock.ts";
import { formatStatus, observeSupervisor } from "./_system_hooks.ts";
import { EventHub } from "./_events.ts";
import { type LogTarget, logTarget, reportChildEvent } from "./_logger.ts";
import type { LoggerOption } from "./logger.ts";
import { sameTerm } from "./_term.ts";
import { formatTerm } from "./_format.ts";
import { exitMessage } from "./_safe.ts";
import { refuseUnknown, unknownKey, unknownKeyMessage } from "./_options.ts";
import { ChildSpecError, SupervisorError } from "./errors.ts";
import * as genServer from "./gen_server.ts";
import type { Dest } from "./process.ts";

export { ChildSpecError, Pid, SupervisorError };
export type { ChildType, Dest, RestartType, Shutdown, StartReturn };
export type { StopOptions } from "./gen_server.ts";
import type { StopOptions } from "./gen_server.ts";

/** How a supervisor restarts children (see the module docs). */
export type Strategy =
  | "one_for_one"
  | "one_for_all"
  | "rest_for_one"
  | "simple_one_for_one";

/**
 * Whether significant children's exits stop the supervisor (OTP 24):
 * `"never"`, `"any_significant"` (the first one), `"all_significant"` (once
 * none is left).
 */
export type AutoShutdown = "never" | "any_significant" | "all_significant";

/** A value or a promise of it. */
export type MaybePromise<T> = T | Promise<T>;

/** How to start and supervise one child. Only `id` and `start` are required. */
export interface ChildSpec {
  /** Names the child in the supervisor: any value but `undefined`. */
  readonly id: unknown;
  /**
   * Starts the child, linked to the caller (it runs as the supervising
   * process: the supervisor, or a tracker), called with `args`. See
   * {@linkcode StartReturn} for what it may return.
   */
  // deno-lint-ignore no-explicit-any
  readonly start: (...args: any[]) => MaybePromise<StartReturn>;
  /** Arguments of `start` (OTP's MFA arguments). @default {[]} */
  readonly args?: readonly unknown[];
  /** When it restarts (see the module docs). @default {"permanent"} */
  readonly restart?: RestartType;
  /**
   * Whether its exit can stop the supervisor (see {@linkcode AutoShutdown});
   * not allowed for permanent children. @default {false}
   */
  readonly significant?: boolean;
  /**
   * `"brutal_kill"`, milliseconds, or `"infinity"`. @default {5000 for a
   * worker, "infinity" for a supervisor}
   */
  readonly shutdown?: Shutdown;
  /** Worker or supervisor. @default {"worker"} */
  readonly type?: ChildType;
  /** For release tools; kept and reported. @default {[]} */
  readonly modules?: readonly string[] | "dynamic";
}

/** A child spec with every key filled in (what getChildspec returns). */
export interface FullChildSpec extends ChildSpec {
  /** The start function's arguments. */
  readonly args: readonly unknown[];
  /** When it restarts. */
  readonly restart: RestartType;
  /** Whether its exit may stop the supervisor. */
  readonly significant: boolean;
  /** How it is shut down. */
  readonly shutdown: Shutdown;
  /** Worker or supervisor. */
  readonly type: ChildType;
  /** As given, or `[]`. */
  readonly modules: readonly string[] | "dynamic";
}

/**
 * Optional restart delay (not in OTP): the n-th consecutive restart of a
 * child waits `min(max, initial * factor ** n)` ms, minus up to `jitter` of
 * it at random. The count resets once the child has run for `max` ms.
 */
export interface Backoff {
  /** Delay of the first restart, in ms. */
  readonly initial: number;
  /** Largest delay, in ms. */
  readonly max: number;
  /** Each delay is the previous one times this. @default {2} */
  readonly factor?: number;
  /** Fraction (0 to 1) of each delay taken off at random. @default {0} */
  readonly jitter?: number;
}

/** A supervisor's flags and children. */
export interface SupervisorSpec {
  /** How children restart. @default {"one_for_one"} */
  readonly strategy?: Strategy;
  /** Most restarts allowed within `period`. @default {1} */
  readonly intensity?: number;
  /** The intensity window, in seconds. @default {5} */
  readonly period?: number;
  /** What significant children's exits do. @default {"never"} */
  readonly autoShutdown?: AutoShutdown;
  /** Restart delays; none by default (OTP's behaviour). */
  readonly backoff?: Backoff;
  /** Started in order; simple_one_for_one: exactly one template. */
  readonly children?: readonly ChildSpec[];
}

/**
 * A dynamic supervisor's flags (Elixir's DynamicSupervisor): children are
 * added with startChild(sup, spec), restarted one for one.
 */
export interface DynamicSupervisorSpec {
  /** Only `"one_for_one"` (as Elixir's); any other is rejected. */
  readonly strategy?: "one_for_one";
  /** Only `"never"`: a dynamic supervisor has no significant children. */
  readonly autoShutdown?: "never";
  /** Most restarts allowed within `period`. @default {3} */
  readonly intensity?: number;
  /** In seconds. @default {5} */
  readonly period?: number;
  /** Most children at once (restarting ones count). @default {Infinity} */
  readonly maxChildren?: number;
  /** Put before each child's `args`. @default {[]} */
  readonly extraArguments?: readonly unknown[];
  /** Restart delays; none by default. */
  readonly backoff?: Backoff;
}

/**
 * Computes a supervisor's spec in the new process (OTP's `init/1`); may
 * return `"ignore"`: the start then fails with reason `"ignore"`.
 */
export type SupervisorInit = () => MaybePromise<SupervisorSpec | "ignore">;

/** Options of {@linkcode start} and {@linkcode startLink}. */
export interface StartOptions {
  /** Register the supervisor under this name. */
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
   * `reason` and the half-started supervisor is killed (as gen_server's
   * start; see gen_server.ts).
   */
  readonly signal?: AbortSignal;
  /**
   * Where this supervisor's reports go: a logger (all of them), a level
   * (the global logger, at this level), or `false` (none). See logger.ts.
   * @default {the global logger and level}
   */
  readonly logger?: LoggerOption;
}

/**
 * Options of the requests that wait for a supervisor (startChild,
 * terminateChild, restartChild, deleteChild, whichChildren, countChildren,
 * getChildspec; the director's and the tracker's requests too). A
 * supervisor answers nothing while it starts a child, so any request may
 * wait as long as a start.
 */
export interface RequestOptions {
  /**
   * Ends the wait when it aborts: the request rejects with the signal's
   * `reason`, and a reply that comes later is dropped (gen_server's call).
   * The supervisor still does what it was asked, as after an OTP call that
   * timed out: abandon the wait, not the request. @default {none}
   */
  readonly signal?: AbortSignal;
}

/**
 * What startChild and restartChild resolve to, on a supervisor, a director
 * and a tracker alike (OTP's `{ok, Pid}` and `{ok, Pid, Extra}` in one
 * shape): the child's pid (undefined if its start returned "ignore") and
 * what its start returned beside the pid (undefined if nothing).
 */
export interface StartedChild {
  /** The child's pid; undefined if its start returned "ignore". */
  readonly pid: Pid | undefined;
  /** What the start function returned beside the pid. */
  readonly extra: unknown;
}

/**
 * What a child shows in place of a pid when it has none running:
 * `"restarting"` (between restart attempts), and for a tracker's children
 * `"launching"` (its start function is running) and `"terminating"` (its
 * afterTerminate is running).
 */
export type ChildPidStatus = "restarting" | "launching" | "terminating";

/**
 * One row of {@linkcode whichChildren}: the same shape from a supervisor, a
 * director and a tracker (OTP's `{Id, Child, Type, Modules}`, plus the time
 * of a delayed restart and the start's extra value).
 */
export interface ChildInfo {
  /** The child's id (undefined under simple_one_for_one and dynamic). */
  readonly id: unknown;
  /**
   * Its pid, a {@linkcode ChildPidStatus} (a supervisor's and a director's
   * children: only `"restarting"`), or undefined (not running).
   */
  readonly pid: Pid | ChildPidStatus | undefined;
  /** Worker or supervisor. */
  readonly type: ChildType;
  /** From its spec. */
  readonly modules: readonly string[] | "dynamic";
  /** For a delayed restart: when the next attempt is due (clock ms). */
  readonly restartAt?: number;
  /**
   * For a running child whose start returned something beside its pid
   * (`{ pid, extra }`, `["ok", pid, extra]`): that value; absent otherwise.
   */
  readonly extra?: unknown;
}

/**
 * What {@linkcode countChildren} returns (OTP's four counts); a director's
 * and a tracker's countChildren return it too.
 */
export interface ChildCounts {
  /**
   * Child specs (simple_one_for_one: 1; dynamic: the children; a tracker:
   * every child it knows, in any status).
   */
  readonly specs: number;
  /** Children running. */
  readonly active: number;
  /** Children of type "supervisor", running or not. */
  readonly supervisors: number;
  /** Children of type "worker", running or not. */
  readonly workers: number;
}

/**
 * The child events every supervisor-like process emits (a supervisor, a
 * director, a tracker), each with the child's `id`: started; exited on its
 * own (`child_exited`); restarted (`pid` undefined when the start returned
 * "ignore"); a restart delayed until `restartAt` (clock ms); a restart that
 * failed; stopped by its supervisor (`child_terminated`).
 */
export type SupervisedChildEvent =
  | { readonly type: "child_started"; readonly id: unknown; readonly pid: Pid }
  | {
    readonly type: "child_exited" | "child_terminated";
    readonly id: unknown;
    readonly pid: Pid;
    readonly reason: unknown;
  }
  | {
    readonly type: "child_restarted";
    readonly id: unknown;
    readonly pid: Pid | undefined;
  }
  | {
    readonly type: "restart_delayed";
    readonly id: unknown;
    readonly delay: number;
    readonly restartAt: number;
  }
  | {
    readonly type: "restart_failed";
    readonly id: unknown;
    readonly reason: unknown;
  };

/** An event of a supervisor's life (DESIGN decision 7). */
export type SupervisorEvent =
  & { readonly supervisor: Pid; readonly time: number }
  & (
    | SupervisedChildEvent
    | {
      readonly type: "gave_up";
      readonly id: unknown;
      readonly reason: "reached_max_restart_intensity" | "auto_shutdown";
    }
    | { readonly type: "supervisor_stopped"; readonly reason: unknown }
  );

const events = new EventHub<SupervisorEvent>();

/**
 * Calls `listener` with every supervisor's events, synchronously, as they
 * happen. A listener that throws is reported and never disturbs a
 * supervisor.
 *
 * @param listener called with each event.
 * @returns a function that unsubscribes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as supervisor from "@steward/steward/supervisor";
 * import { spawnLink } from "@steward/steward/process";
 * const seen: string[] = [];
 * const off = supervisor.subscribe((e) => seen.push(e.type));
 * const sup = await supervisor.start({
 *   children: [{ id: "w", start: () => spawnLink(() => new Promise(() => {})) }],
 * });
 * await supervisor.stop(sup);
 * off();
 * assert.equal(seen.join(), "child_started,child_terminated,supervisor_stopped");
 * ```
 */
export function subscribe(
  listener: (event: SupervisorEvent) => void,
): () => void {
  return events.subscribe(listener, "subscribe");
}

// ----------------------------------------------------------- validation --

const STRATEGIES: readonly string[] = [
  "one_for_one",
  "one_for_all",
  "rest_for_one",
  "simple_one_for_one",
];
const AUTO_SHUTDOWNS: readonly string[] = [
  "never",
  "any_significant",
  "all_significant",
];

/** The keys of a child spec ({@linkcode ChildSpec}). */
const CHILD_SPEC_KEYS: readonly string[] = [
  "id",
  "start",
  "args",
  "restart",
  "significant",
  "shutdown",
  "type",
  "modules",
];

/** The keys of a {@linkcode SupervisorSpec}. */
const FLAG_KEYS: readonly string[] = [
  "strategy",
  "intensity",
  "period",
  "autoShutdown",
  "backoff",
  "children",
];

/** The keys of a {@linkcode DynamicSupervisorSpec}. */
const DYNAMIC_FLAG_KEYS: readonly string[] = [
  "strategy",
  "autoShutdown",
  "intensity",
  "period",
  "maxChildren",
  "extraArguments",
  "backoff",
];

/** The keys of a {@linkcode Backoff}. */
const BACKOFF_KEYS: readonly string[] = ["initial", "max", "factor", "jitter"];

/** The keys of {@linkcode StartOptions}. */
const START_OPTION_KEYS: readonly string[] = [
  "name",
  "timeout",
  "signal",
  "logger",
  "label",
];

function specError(
  key: string,
  reason: unknown,
  why: string,
  id?: unknown,
): ChildSpecError {
  return childSpecError(key, reason, id, why);
}

function flagError(key: string, reason: unknown, why: string): ChildSpecError {
  return new ChildSpecError(key, reason, `Cannot use supervisor flags: ${why}`);
}

/**
 * Checks one child spec, key by key in OTP's order (id, start, restart,
 * significant, type, shutdown, modules), and fills in the defaults.
 * `autoShutdown` undefined skips the significant/never check.
 */
function normaliseSpec(
  spec: unknown,
  autoShutdown: AutoShutdown | undefined,
): FullChildSpec {
  const s = checkSpecObject(spec);
  checkSpecKeys(s, CHILD_SPEC_KEYS);
  if (s.start === undefined) {
    throw specError(
      "start",
      "missing_start",
      `'start' is missing`,
      s.id,
    );
  }
  checkStart(s.start, s.id);
  const args = checkArgs(s.args ?? [], s.id);
  const restart = checkRestart(s.restart ?? "permanent", s.id);
  const significant = s.significant ?? false;
  if (typeof significant !== "boolean") {
    throw specError(
      "significant",
      ["invalid_significant", significant],
      `'significant' must be a boolean, got ${formatTerm(significant)}`,
      s.id,
    );
  }
  if (significant) {
    if (autoShutdown === "never") {
      throw specError(
        "significant",
        ["bad_combination", { autoShutdown: "never", significant: true }],
        `a significant child needs a supervisor whose autoShutdown is not "never"`,
        s.id,
      );
    }
    if (restart === "permanent") {
      throw specError(
        "significant",
        ["bad_combination", { restart: "permanent", significant: true }],
        `a permanent child cannot be significant (it is always restarted)`,
        s.id,
      );
    }
  }
  const { type, shutdown, modules } = checkKindKeys(s, []);
  return Object.freeze({
    id: s.id,
    start: s.start as FullChildSpec["start"],
    args: Object.freeze([...args]),
    restart,
    significant,
    shutdown,
    type,
    modules: modules === "dynamic" ? "dynamic" : Object.freeze([...modules]),
  });
}

function normaliseSpecs(
  specs: unknown,
  autoShutdown: AutoShutdown | undefined,
): FullChildSpec[] {
  if (!Array.isArray(specs)) {
    throw specError(
      "children",
      ["badarg", specs],
      `'children' must be an array of child specs, got ${formatTerm(specs)}`,
    );
  }
  const out: FullChildSpec[] = [];
  for (const spec of specs) {
    const full = normaliseSpec(spec, autoShutdown);
    if (out.some((o) => sameTerm(o.id, full.id))) {
      throw specError(
        "id",
        ["duplicate_child_name", full.id],
        `two children have the id ${formatTerm(full.id)}`,
      );
    }
    out.push(full);
  }
  return out;
}

/**
 * Checks a list of child specs as a supervisor would: returns undefined if
 * they are all valid, else the {@linkcode ChildSpecError} of the first
 * problem (OTP's `check_childspecs/2`). Pass the supervisor's
 * `autoShutdown` to check significant children against it.
 *
 * @param specs the child specs.
 * @param autoShutdown the supervisor's setting, if any.
 * @returns undefined, or the error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkChildspecs } from "@steward/steward/supervisor";
 * const start = () => "ignore" as const;
 * assert.equal(checkChildspecs([{ id: 1, start }]), undefined);
 * const err = checkChildspecs([{ id: 1, start }, { id: 1, start }]);
 * assert.equal(err?.key, "id");
 * ```
 */
export function checkChildspecs(
  specs: readonly unknown[],
  autoShutdown?: AutoShutdown,
): ChildSpecError | undefined {
  try {
    normaliseSpecs(specs, autoShutdown);
    return undefined;
  } catch (error) {
    if (error instanceof ChildSpecError) return error;
    throw error;
  }
}

interface Flags {
  strategy: Strategy | "dynamic";
  intensity: number;
  periodMs: number;
  autoShutdown: AutoShutdown;
  backoff: Required<Backoff> | null;
  maxChildren: number;
  extraArguments: readonly unknown[];
}

function checkNumber(
  key: string,
  value: unknown,
  ok: (n: number) => boolean,
  what: string,
): number {
  if (typeof value !== "number" || !ok(value)) {
    throw flagError(
      key,
      [`invalid_${key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`, value],
      `'${key}' must be ${what}, got ${formatTerm(value)}`,
    );
  }
  return value;
}

function normaliseBackoff(b: unknown): Required<Backoff> | null {
  if (b === undefined) return null;
  if (b === null || typeof b !== "object") {
    throw flagError(
      "backoff",
      ["invalid_backoff", b],
      `'backoff' must be an object { initial, max, factor?, jitter? }, got ${
        formatTerm(b)
      }`,
    );
  }
  const o = b as Record<string, unknown>;
  const unknown = unknownKey(o, BACKOFF_KEYS);
  if (unknown !== undefined) {
    throw flagError(
      "backoff",
      ["invalid_backoff", b],
      `'backoff' has an ${unknownKeyMessage(unknown, BACKOFF_KEYS, "key")}`,
    );
  }
  const initial = checkNumber(
    "initial",
    o.initial,
    (n) => n >= 0 && Number.isFinite(n),
    "a finite number of ms >= 0 (backoff.initial)",
  );
  const max = checkNumber(
    "max",
    o.max,
    (n) => n >= initial && Number.isFinite(n),
    "a finite number of ms >= backoff.initial (backoff.max)",
  );
  const factor = checkNumber(
    "factor",
    o.factor ?? 2,
    (n) => n >= 1 && Number.isFinite(n),
    "a finite number >= 1 (backoff.factor)",
  );
  const jitter = checkNumber(
    "jitter",
    o.jitter ?? 0,
    (n) => n >= 0 && n <= 1,
    "a number from 0 to 1 (backoff.jitter)",
  );
  return { initial, max, factor, jitter };
}

function normaliseFlags(spec: unknown, dynamic: boolean): Flags {
  if (spec === null || typeof spec !== "object" || Array.isArray(spec)) {
    throw flagError(
      "spec",
      ["invalid_type", spec],
      `the supervisor spec must be an object, got ${formatTerm(spec)}`,
    );
  }
  const s = spec as Record<string, unknown>;
  const known = dynamic ? DYNAMIC_FLAG_KEYS : FLAG_KEYS;
  const unknown = unknownKey(s, known);
  if (unknown !== undefined) {
    throw flagError(
      unknown,
      ["unknown_flag", unknown],
      unknownKeyMessage(unknown, known, "key"),
    );
  }
  if (
    dynamic && s.strategy !== undefined && s.strategy !== "one_for_one"
  ) {
    // Elixir's DynamicSupervisor has one strategy, and says so.
    throw flagError(
      "strategy",
      ["invalid_strategy", s.strategy],
      `a dynamic supervisor's 'strategy' can only be "one_for_one", got ${
        formatTerm(s.strategy)
      }`,
    );
  }
  const strategy = dynamic ? "dynamic" : s.strategy ?? "one_for_one";
  if (!dynamic && !STRATEGIES.includes(strategy as string)) {
    throw flagError(
      "strategy",
      ["invalid_strategy", strategy],
      `'strategy' must be one of ${
        STRATEGIES.map((x) => `"${x}"`).join(", ")
      }, got ${formatTerm(strategy)}`,
    );
  }
  const intensity = checkNumber(
    "intensity",
    s.intensity ?? (dynamic ? 3 : 1),
    (n) => Number.isInteger(n) && n >= 0,
    "a whole number >= 0",
  );
  const period = checkNumber(
    "period",
    s.period ?? 5,
    (n) => n > 0 && Number.isFinite(n),
    "a finite number of seconds > 0",
  );
  if (
    dynamic && s.autoShutdown !== undefined && s.autoShutdown !== "never"
  ) {
    // Its children cannot be significant: nothing could trigger it.
    throw flagError(
      "autoShutdown",
      ["invalid_auto_shutdown", s.autoShutdown],
      `a dynamic supervisor's 'autoShutdown' can only be "never", got ${
        formatTerm(s.autoShutdown)
      }`,
    );
  }
  const autoShutdown = dynamic ? "never" : s.autoShutdown ?? "never";
  if (!AUTO_SHUTDOWNS.includes(autoShutdown as string)) {
    throw flagError(
      "autoShutdown",
      ["invalid_auto_shutdown", autoShutdown],
      `'autoShutdown' must be "never", "any_significant" or "all_significant", got ${
        formatTerm(autoShutdown)
      }`,
    );
  }
  const maxChildren = checkNumber(
    "maxChildren",
    s.maxChildren ?? Infinity,
    (n) => n >= 0 && (Number.isInteger(n) || n === Infinity),
    "a whole number >= 0 or Infinity",
  );
  const extra = s.extraArguments ?? [];
  if (!Array.isArray(extra)) {
    throw flagError(
      "extraArguments",
      ["invalid_extra_arguments", extra],
      `'extraArguments' must be an array, got ${formatTerm(extra)}`,
    );
  }
  return {
    strategy: strategy as Flags["strategy"],
    intensity,
    periodMs: period * 1000,
    autoShutdown: autoShutdown as AutoShutdown,
    backoff: normaliseBackoff(s.backoff),
    maxChildren,
    extraArguments: Object.freeze([...extra]),
  };
}

// ---------------------------------------------------------------- state --

/**
 * One child (a static spec, or one dynamic child). Where it is lives in
 * `state` (_child_table.ts: the states and the legal moves); a supervisor
 * never shows `"starting"` (its starts run while it is busy), and a child
 * it shuts down is `"terminating"` until it is gone.
 */
class Child {
  state: ChildState = STOPPED;
  /** Consecutive restarts, for the backoff. */
  failures = 0;
  startedAt = 0;
  /** What its running process's start returned beside the pid. */
  extra: unknown = undefined;
  /** Restart attempts its exits caused (for system.ts's trees). */
  restarts = 0;

  constructor(
    readonly spec: FullChildSpec,
    /** The start arguments (a dynamic child's own). */
    readonly args: readonly unknown[],
  ) {}

  /** Its pid while running. */
  get pid(): Pid | undefined {
    return runningPid(this.state);
  }

  /** Between restart attempts (OTP's `{restarting, OldPid}`). */
  get restarting(): boolean {
    return this.state.tag === "restarting";
  }

  /** The pid it had before it started restarting (dynamic children's key). */
  get oldPid(): Pid | undefined {
    const s = this.state;
    return s.tag === "restarting" ? s.oldPid : undefined;
  }

  /** A pending restart (delayed, or a retry at once). */
  get pending(): PendingRestart | null {
    const s = this.state;
    return s.tag === "restarting" ? s.pending : null;
  }

  /** Moves to `next` (a legal move, or an internal error). */
  to(next: ChildState): void {
    this.state = move(this.state, next);
  }
}

/** Tells the server loop to stop with "shutdown". */
const STOP = Symbol("stop");
type Step = typeof STOP | undefined;

/** A supervisor's state (the gen_server state). */
class Sup {
  readonly pid: Pid;
  /**
   * Children in start order (static, by id too), or in insertion order
   * (dynamic).
   */
  readonly children: ChildTable<Child>;
  /** Children by pid (dynamic restarting children by their old pid). */
  readonly byPid: Map<Pid, Child>;
  /** Restart times in the intensity window. */
  readonly restarts = restartWindow();
  /** simple_one_for_one's template. */
  template: FullChildSpec | null = null;
  stopping = false;

  constructor(
    readonly proc: Proc,
    readonly flags: Flags,
    /** Where reports go (the `logger` option). */
    readonly log: LogTarget,
  ) {
    this.pid = proc.pid;
    this.children = new ChildTable<Child>((c) => c.spec.id, !this.dynamic);
    this.byPid = this.children.byPid;
  }

  get dynamic(): boolean {
    const s = this.flags.strategy;
    return s === "simple_one_for_one" || s === "dynamic";
  }

  /** Emits an event, and reports it (`spec`: the child's, for exits). */
  emit(
    event: DistributiveOmit<SupervisorEvent, "supervisor" | "time">,
    spec?: FullChildSpec,
  ): void {
    reportChild(this.log, "supervisor", this.pid, this.proc.name, event, spec);
    if (!events.active) return;
    events.emit(
      {
        ...event,
        supervisor: this.pid,
        time: getClock().now(),
      } as SupervisorEvent,
    );
  }

  // -- children bookkeeping --

  find(id: unknown): Child | undefined {
    return this.children.find(id);
  }

  add(child: Child): void {
    this.children.add(child);
  }

  remove(child: Child): void {
    this.children.delete(child);
    this.stopped(child);
  }

  running(child: Child, pid: Pid): void {
    this.release(child);
    child.to({ tag: "running", pid });
    if (this.flags.backoff !== null) child.startedAt = getClock().now();
    this.byPid.set(pid, child);
  }

  /** The child is not running any more (and not restarting). */
  stopped(child: Child): void {
    this.release(child);
    child.to(STOPPED);
  }

  /** Lets go of what the child's state holds: its pid entry, its restart. */
  release(child: Child): void {
    const s = child.state;
    if (s.tag === "running" || s.tag === "terminating") {
      this.byPid.delete(s.pid);
    } else if (s.tag === "restarting") {
      if (s.oldPid !== undefined) this.byPid.delete(s.oldPid);
      if (s.pending !== null) cancelPending(s.pending);
    }
  }

  /** Cancels a pending restart (the child stays restarting). */
  cancelTimer(child: Child): void {
    const s = child.state;
    if (s.tag === "restarting" && s.pending !== null) {
      cancelPending(s.pending);
      child.to({ tag: "restarting", oldPid: s.oldPid, pending: null });
    }
  }

  /** Starts a child's process; records it if it started. */
  start(child: Child): StartOutcome | Promise<StartOutcome> {
    const r = startChildProcess(this.proc, child.spec.start, child.args);
    if (r instanceof Promise) return r.then((o) => this.started(child, o));
    return this.started(child, r);
  }

  /**
   * Starts a child, records it, and returns `k` of the outcome: at once, or
   * (async start) one promise hop after the start settles.
   */
  startThen<R>(child: Child, k: (o: StartOutcome) => R): R | Promise<R> {
    let result: R | undefined;
    let resolve: ((r: R) => void) | undefined;
    const now = startChildThen(this.proc, child.spec.start, child.args, (o) => {
      const r = k(this.started(child, o));
      if (resolve === undefined) result = r;
      else resolve(r);
    });
    return now ? result as R : new Promise<R>((res) => resolve = res);
  }

  started(child: Child, outcome: StartOutcome): StartOutcome {
    if (typeof outcome === "object" && "pid" in outcome) {
      this.running(child, outcome.pid);
      child.extra = outcome.extra;
      this.emit({ type: "child_started", id: child.spec.id, pid: outcome.pid });
    }
    return outcome;
  }

  // -- restart intensity: more than `intensity` restarts within `period`
  // seconds and the supervisor gives up --

  /** Records a restart; false if that exceeds the intensity. */
  addRestart(): boolean {
    const f = this.flags;
    return addRestart(this.restarts, getClock().now(), f.periodMs, f.intensity);
  }

  // -- a child exited (restart type x reason: the module docs' table) --

  exited(child: Child, pid: Pid, reason: unknown): Step | Promise<Step> {
    this.emit(
      { type: "child_exited", id: child.spec.id, pid, reason },
      child.spec,
    );
    const action = exitAction(child.spec.restart, reason);
    if (action !== "restart") {
      if (action === "remove" || this.dynamic) this.remove(child);
      else this.stopped(child);
      return this.autoShutdown(child);
    }
    // Known by its last pid meanwhile (the byPid entry stays).
    child.to({ tag: "restarting", oldPid: pid, pending: null });
    if (this.flags.backoff !== null) {
      if (getClock().now() - child.startedAt >= this.flags.backoff.max) {
        child.failures = 0;
      }
      this.delay(child);
      return undefined;
    }
    return this.restart(child);
  }

  autoShutdown(child: Child): Step {
    if (!child.spec.significant) return undefined;
    const mode = this.flags.autoShutdown;
    if (mode === "never") return undefined;
    if (mode === "all_significant") {
      for (const c of this.children) {
        if (c.spec.significant && (c.pid !== undefined || c.restarting)) {
          return undefined;
        }
      }
    }
    this.emit({ type: "gave_up", id: child.spec.id, reason: "auto_shutdown" });
    return STOP;
  }

  delay(child: Child): void {
    const delay = backoffDelay(this.flags.backoff!, child.failures);
    child.failures++;
    this.cancelTimer(child);
    const timer = startRestartTimer(this.proc, child, getClock().now(), delay);
    child.to({ tag: "restarting", oldPid: child.oldPid, pending: timer });
    this.emit({
      type: "restart_delayed",
      id: child.spec.id,
      delay,
      restartAt: timer.at,
    });
  }

  /**
   * A restart attempt: intensity, then the strategy; a start that fails
   * leaves the child `restarting`, retried as a new attempt.
   */
  restart(child: Child): Step | Promise<Step> {
    if (!this.addRestart()) {
      this.emit({
        type: "gave_up",
        id: child.spec.id,
        reason: "reached_max_restart_intensity",
      }, child.spec);
      if (child.spec.restart === "temporary" || this.dynamic) {
        this.remove(child);
      } else this.stopped(child);
      return STOP;
    }
    child.restarts++;
    switch (this.flags.strategy) {
      case "one_for_all":
        return this.restartGroup(child, [...this.children]);
      case "rest_for_one": {
        const all = [...this.children];
        return this.restartGroup(child, all.slice(all.indexOf(child)));
      }
      default:
        return this.restartOne(child);
    }
  }

  restartOne(child: Child): Step | Promise<Step> {
    const r = this.start(child);
    if (r instanceof Promise) return r.then((o) => this.afterRestart(child, o));
    return this.afterRestart(child, r);
  }

  afterRestart(child: Child, outcome: StartOutcome): Step {
    if (!this.children.has(child)) {
      // Removed meanwhile? Only the supervisor changes its children, and it
      // was busy: cannot happen; kept for safety.
      return undefined;
    }
    if (failed(outcome)) {
      this.retryLater(child, outcome.error);
      return undefined;
    }
    if (outcome === "ignore") {
      if (this.dynamic || child.spec.restart === "temporary") {
        this.remove(child);
      } else this.stopped(child);
    }
    this.emit({ type: "child_restarted", id: child.spec.id, pid: child.pid });
    return undefined;
  }

  retryLater(child: Child, reason: unknown): void {
    this.emit({ type: "restart_failed", id: child.spec.id, reason });
    const s = child.state;
    if (s.tag === "running") this.byPid.delete(s.pid);
    child.to({ tag: "restarting", oldPid: child.oldPid, pending: null });
    if (this.flags.backoff !== null) this.delay(child);
    else {
      const pending = retrySoon(this.proc, child, reason);
      child.to({ tag: "restarting", oldPid: child.oldPid, pending });
    }
  }

  /**
   * one_for_all / rest_for_one: stops `group` but `child` in reverse order
   * (temporary ones are removed), then starts `group` in order; a start that
   * fails leaves that child restarting (the retry restarts the group again,
   * from it) and the ones after it stopped, `child` too if it is one of
   * them (OTP's restart_multiple_children marks only the failing child
   * `{restarting, _}`: the one that died is `undefined` until the retry).
   */
  async restartGroup(child: Child, group: Child[]): Promise<Step> {
    for (let i = group.length - 1; i >= 0; i--) {
      const c = group[i];
      if (c === child) continue;
      await this.terminate(c);
      if (c.spec.restart === "temporary") this.remove(c);
    }
    for (const c of group) {
      if (!this.children.has(c)) continue;
      const outcome = await this.start(c);
      if (failed(outcome)) {
        if (c !== child && child.restarting && this.children.has(child)) {
          // Not started yet (it comes after c): stopped, not restarting,
          // so restartChild/deleteChild work on it, and terminating c
          // (which ends the retries) leaves no child restarting forever.
          this.stopped(child);
        }
        this.retryLater(c, outcome.error);
        return undefined;
      }
      if (outcome === "ignore") {
        if (c.spec.restart === "temporary") this.remove(c);
        else this.stopped(c);
      }
      if (c === child) {
        this.emit({ type: "child_restarted", id: c.spec.id, pid: c.pid });
      }
    }
    return undefined;
  }

  tryAgain(child: Child): Step | Promise<Step> {
    if (!this.children.has(child) || !child.restarting) return undefined;
    return this.restart(child);
  }

  // -- shutting children down (each by its `shutdown` rule: see
  // shutdownChild) --

  /** Stops one child if it runs (`"terminating"` until it is gone). */
  terminate(child: Child): void | Promise<void> {
    const pid = this.terminating(child);
    if (pid === undefined) return;
    const r = shutdownChild(this.proc, pid, child.spec.shutdown);
    if (r instanceof Promise) {
      return r.then((reason) => this.ended(child, pid, reason));
    }
    this.ended(child, pid, r);
  }

  /**
   * A running child goes `"terminating"` (its pid, returned, no longer
   * names it); any other stops at once (a pending restart is cancelled).
   */
  terminating(child: Child): Pid | undefined {
    const s = child.state;
    if (s.tag !== "running") {
      this.stopped(child);
      return undefined;
    }
    this.byPid.delete(s.pid);
    child.to({ tag: "terminating", pid: s.pid });
    return s.pid;
  }

  /** A child this supervisor shut down is gone. */
  ended(child: Child, pid: Pid, reason: unknown): void {
    const s = child.state;
    if (s.tag === "terminating" && s.pid === pid) child.to(STOPPED);
    this.emit(
      { type: "child_terminated", id: child.spec.id, pid, reason },
      child.spec,
    );
  }

  /** Stops every child: reverse start order, or all at once (dynamic). */
  async terminateAll(): Promise<void> {
    this.stopping = true;
    const children = [...this.children].reverse();
    if (this.dynamic) {
      // All at once, one timer per shutdown rule.
      const groups = new Map<Shutdown, [Child[], Pid[]]>();
      for (const c of children) {
        const pid = this.terminating(c);
        if (pid === undefined) continue;
        let g = groups.get(c.spec.shutdown);
        if (g === undefined) groups.set(c.spec.shutdown, g = [[], []]);
        g[0].push(c);
        g[1].push(pid);
      }
      await Promise.all(
        [...groups].map(([shutdown, [cs, pids]]) =>
          shutdownAll(this.proc, pids, shutdown).then((reasons) =>
            cs.forEach((c, i) => this.ended(c, pids[i], reasons[i]))
          )
        ),
      );
      return;
    }
    for (const c of children) {
      const r = this.terminate(c);
      if (r !== undefined) await r; // most children end at once: no hop
    }
  }
}

// ----------------------------------------------------------- the server --

function fail(
  op: string,
  child: unknown,
  code: ConstructorParameters<typeof SupervisorError>[2],
  details?: { reason?: unknown; pid?: Pid },
  message?: string,
): Failure {
  // Called in the supervisor's own handlers: the current process is it.
  const server = `supervisor ${formatTerm(currentProc().pid)}`;
  return new Failure(
    new SupervisorError(op, child, code, { ...details, server }, message),
  );
}

type Reply = readonly ["reply", unknown, Sup];

function reply(value: unknown, sup: Sup): Reply {
  return ["reply", value, sup];
}

function stepResult(
  step: Step,
  sup: Sup,
): genServer.NoReplyResult<Sup> {
  return step === STOP ? ["stop", "shutdown", sup] : ["noreply", sup];
}

/** What startChild resolves to, from a start outcome. */
function startedChild(
  op: string,
  child: unknown,
  outcome: StartOutcome,
): StartedChild | Failure {
  return startedFrom(
    outcome,
    (code, details) => fail(op, child, code, details),
  );
}

type Request =
  | readonly ["startChild", unknown]
  | readonly ["terminateChild", unknown]
  | readonly ["restartChild", unknown]
  | readonly ["deleteChild", unknown]
  | readonly ["whichChildren"]
  | readonly ["countChildren"]
  | readonly ["getChildspec", unknown];

const behaviour: genServer.GenServer<Sup, [unknown, boolean, LogTarget]> = {
  formatStatus,
  init([spec, dynamic, log]) {
    const proc = currentProc();
    proc.trapExit = true;
    if (typeof spec === "function") {
      // A throw (or a rejection) is gen_server's: the start fails with what
      // was thrown (an ExitError: its reason), as OTP's init crash.
      const r = applyAs(proc, spec as SupervisorInit, []);
      return then(r, (s): ReturnType<typeof setUp> => {
        if (s === "ignore") return "ignore" as const;
        if (s === null || typeof s !== "object" || Array.isArray(s)) {
          // OTP's {bad_return, {Mod, init, V}}.
          return ["stop", ["bad_return", s]] as const;
        }
        return setUp(proc, s, dynamic, log);
      });
    }
    return setUp(proc, spec, dynamic, log);
  },

  handleCall(request, _from, sup) {
    // A bare call (not this library's envelope), or one it cannot take
    // apart (a hostile Proxy), is refused: the caller's call rejects with a
    // SupervisorError "unknown_request", not a crash (OTP's supervisor has
    // no clause for it and would crash).
    const parts = requestOf(request, 2);
    if (parts === undefined) {
      return reply(
        new Failure(
          new SupervisorError(
            "call",
            request,
            "unknown_request",
            undefined,
            unknownRequestMessage(`supervisor ${formatTerm(sup.pid)}`, request),
          ),
        ),
        sup,
      );
    }
    const [op, arg] = parts as unknown as Request;
    switch (op) {
      case "startChild":
        return startChildIn(sup, arg);
      case "terminateChild":
        return then(terminateChildIn(sup, arg), (v) => reply(v, sup));
      case "restartChild":
        return then(restartChildIn(sup, arg), (v) => reply(v, sup));
      case "deleteChild":
        return reply(deleteChildIn(sup, arg), sup);
      case "whichChildren":
        return reply(whichChildrenIn(sup), sup);
      case "countChildren":
        return reply(countChildrenIn(sup), sup);
      case "getChildspec":
        return reply(getChildspecIn(sup, arg), sup);
    }
    // A director's or a tracker's own request (director.getPlan of a
    // supervisor...).
    return reply(
      fail(
        typeof op === "string" ? op : "call",
        arg,
        "not_supported",
        undefined,
        notSupportedMessage("a supervisor", op),
      ),
      sup,
    );
  },

  handleInfo(msg, sup) {
    const pending = pendingOf(msg);
    if (pending !== undefined) {
      // A delayed restart is due, or a failed one is to be tried again.
      const child = pending.child as Child;
      if (child.pending !== pending) return ["noreply", sup]; // cancelled
      child.to({ tag: "restarting", oldPid: child.oldPid, pending: null });
      return then(sup.tryAgain(child), (s) => stepResult(s, sup));
    }
    // Read safely: any process may send a supervisor anything.
    const [from, reason] = exitMessage(msg) ?? [];
    if (from instanceof Pid) {
      const child = sup.byPid.get(from);
      if (child !== undefined && child.pid === from) {
        return then(
          sup.exited(child, from, reason),
          (s) => stepResult(s, sup),
        );
      }
    }
    return ["noreply", sup]; // not ours: dropped, as OTP logs and drops it
  },

  terminate(reason, sup) {
    return sup.terminateAll().then(() => {
      sup.emit({ type: "supervisor_stopped", reason });
    });
  },
};

/** OTP's `{supervisor_data, E}` / `{start_spec, E}`, from a spec error. */
function badSpec(key: string, error: unknown): unknown {
  return error instanceof ChildSpecError ? [key, error.reason] : error;
}

/** init: check the spec, then start the children in order. */
function setUp(
  proc: Proc,
  spec: unknown,
  dynamic: boolean,
  log: LogTarget,
): genServer.InitResult<Sup> | Promise<genServer.InitResult<Sup>> {
  let flags: Flags;
  let specs: FullChildSpec[];
  try {
    flags = normaliseFlags(spec, dynamic);
  } catch (error) {
    return ["stop", badSpec("supervisor_data", error)];
  }
  try {
    specs = dynamic ? [] : normaliseSpecs(
      (spec as SupervisorSpec).children ?? [],
      flags.autoShutdown,
    );
  } catch (error) {
    return ["stop", badSpec("start_spec", error)];
  }
  const sup = new Sup(proc, flags, log);
  observeSupervisor(proc, sup);
  // Killed (no terminate runs): its delayed restarts must not outlive it.
  addResource(proc, () => {
    for (const c of sup.children) sup.cancelTimer(c);
  });
  if (flags.strategy === "simple_one_for_one") {
    if (specs.length !== 1) {
      return ["stop", ["bad_start_spec", specs.map((s) => s.id)]];
    }
    sup.template = specs[0];
    return ["ok", sup];
  }
  return startInitial(sup, specs);
}

async function startInitial(
  sup: Sup,
  specs: FullChildSpec[],
): Promise<genServer.InitResult<Sup>> {
  for (const spec of specs) {
    const child = new Child(spec, spec.args);
    const outcome = await sup.start(child);
    if (failed(outcome)) {
      // OTP's start_error report (no event: the start itself fails).
      if (sup.log !== false) {
        reportChildEvent(sup.log, "supervisor", sup.pid, sup.proc.name, {
          type: "start_failed",
          id: spec.id,
          reason: outcome.error,
        });
      }
      await sup.terminateAll();
      return ["stop", [
        "shutdown",
        ["failed_to_start_child", spec.id, outcome.error],
      ]];
    }
    if (outcome !== "ignore" || spec.restart !== "temporary") sup.add(child);
  }
  return ["ok", sup];
}

function startChildIn(sup: Sup, arg: unknown): Reply | Promise<Reply> {
  const op = "startChild";
  if (sup.flags.strategy === "simple_one_for_one") {
    if (!Array.isArray(arg)) {
      // Checked here, not spread blindly: a throw would crash the supervisor.
      return reply(
        new Failure(
          new TypeError(
            `Cannot startChild: a simple_one_for_one supervisor takes an array of extra arguments, got ${
              formatTerm(arg)
            }`,
          ),
        ),
        sup,
      );
    }
    const template = sup.template!;
    const child = new Child(
      template,
      arg.length === 0 ? template.args : [...template.args, ...arg],
    );
    return sup.startThen(child, (o) => {
      if (typeof o === "object" && "pid" in o) sup.add(child);
      return reply(startedChild(op, undefined, o), sup);
    });
  }
  let spec: FullChildSpec;
  try {
    spec = normaliseSpec(arg, sup.dynamic ? undefined : sup.flags.autoShutdown);
    if (sup.flags.strategy === "dynamic" && spec.significant) {
      throw specError(
        "significant",
        ["invalid_significant", true],
        `a dynamic supervisor's children cannot be significant`,
        spec.id,
      );
    }
  } catch (error) {
    return reply(new Failure(error as Error), sup);
  }
  if (sup.flags.strategy === "dynamic") {
    if (sup.children.size >= sup.flags.maxChildren) {
      return reply(fail(op, spec.id, "max_children"), sup);
    }
    const child = new Child(spec, [...sup.flags.extraArguments, ...spec.args]);
    return sup.startThen(child, (o) => {
      if (typeof o === "object" && "pid" in o) sup.add(child);
      return reply(startedChild(op, spec.id, o), sup);
    });
  }
  const existing = sup.find(spec.id);
  if (existing !== undefined) {
    return reply(
      existing.pid !== undefined
        ? fail(op, spec.id, "already_started", { pid: existing.pid })
        : fail(op, spec.id, "already_present"),
      sup,
    );
  }
  const child = new Child(spec, spec.args);
  return sup.startThen(child, (o) => {
    if (!failed(o) && (o !== "ignore" || spec.restart !== "temporary")) {
      sup.add(child);
    }
    return reply(startedChild(op, spec.id, o), sup);
  });
}

function terminateChildIn(
  sup: Sup,
  arg: unknown,
): undefined | Failure | Promise<undefined | Failure> {
  const op = "terminateChild";
  if (sup.dynamic) {
    if (!(arg instanceof Pid)) return fail(op, arg, "simple_one_for_one");
    const child = sup.byPid.get(arg);
    if (child === undefined) {
      // A dead pid that is not (or no longer) a child: OTP says ok.
      return procOf(arg).dead && sup.flags.strategy === "simple_one_for_one"
        ? undefined
        : fail(op, arg, "not_found");
    }
    return then(sup.terminate(child), () => {
      sup.remove(child);
      return undefined;
    });
  }
  const child = arg instanceof Pid ? undefined : sup.find(arg);
  if (child === undefined) return fail(op, arg, "not_found");
  return then(sup.terminate(child), () => {
    if (child.spec.restart === "temporary") sup.remove(child);
    return undefined;
  });
}

function restartChildIn(
  sup: Sup,
  id: unknown,
): StartedChild | Failure | Promise<StartedChild | Failure> {
  const op = "restartChild";
  if (sup.dynamic) return fail(op, id, "simple_one_for_one");
  const child = sup.find(id);
  if (child === undefined) return fail(op, id, "not_found");
  if (child.pid !== undefined) return fail(op, id, "running");
  if (child.restarting) return fail(op, id, "restarting");
  return then(sup.start(child), (o) => startedChild(op, id, o));
}

function deleteChildIn(sup: Sup, id: unknown): undefined | Failure {
  const op = "deleteChild";
  if (sup.dynamic) return fail(op, id, "simple_one_for_one");
  const child = sup.find(id);
  if (child === undefined) return fail(op, id, "not_found");
  if (child.pid !== undefined) return fail(op, id, "running");
  if (child.restarting) return fail(op, id, "restarting");
  sup.remove(child);
  return undefined;
}

function infoOf(sup: Sup, c: Child): ChildInfo {
  const info: ChildInfo = {
    id: sup.dynamic ? undefined : c.spec.id,
    pid: c.restarting ? "restarting" : c.pid,
    type: c.spec.type,
    modules: c.spec.modules,
  };
  if (c.pid !== undefined && c.extra !== undefined) {
    return { ...info, extra: c.extra };
  }
  const at = restartAt(c.pending);
  return at !== undefined ? { ...info, restartAt: at } : info;
}

function whichChildrenIn(sup: Sup): ChildInfo[] {
  const out: ChildInfo[] = [];
  for (const c of sup.children) out.push(infoOf(sup, c));
  return out.reverse(); // newest first
}

function countChildrenIn(sup: Sup): ChildCounts {
  let active = 0, supervisors = 0, workers = 0;
  // Static children: alive now (OTP's is_process_alive: a death whose EXIT
  // is still queued is not active). Dynamic ones: all but the restarting.
  const alive = sup.dynamic
    ? (_pid: Pid) => true
    : (pid: Pid) => !procOf(pid).dead;
  for (const c of sup.children) {
    if (c.pid !== undefined && alive(c.pid)) active++;
    if (c.spec.type === "supervisor") supervisors++;
    else workers++;
  }
  const specs = sup.flags.strategy === "simple_one_for_one"
    ? 1
    : sup.children.size;
  return { specs, active, supervisors, workers };
}

function getChildspecIn(sup: Sup, arg: unknown): FullChildSpec | Failure {
  const child = arg instanceof Pid
    ? sup.byPid.get(arg)
    : sup.dynamic
    ? undefined
    : sup.find(arg);
  if (
    child === undefined ||
    // a restarting child by its last pid too (OTP's {restarting, Pid})
    (arg instanceof Pid && child.pid !== arg &&
      !(child.restarting && child.oldPid === arg))
  ) {
    return fail("getChildspec", arg, "not_found");
  }
  return child.spec;
}

// ------------------------------------------------------------ public API --

function checkSpecArg(op: string, spec: unknown): void {
  if (
    typeof spec !== "function" &&
    (spec === null || typeof spec !== "object" || Array.isArray(spec))
  ) {
    throw new TypeError(
      `Cannot ${op}: 'spec' must be a supervisor spec object or an init function, got ${
        formatTerm(spec)
      }`,
    );
  }
  if (typeof spec === "object") {
    // Checked here too, so garbage is reported at the edge.
    const s = spec as SupervisorSpec;
    const dynamic = op.includes("Dynamic");
    const flags = normaliseFlags(s, dynamic);
    if (!dynamic) normaliseSpecs(s.children ?? [], flags.autoShutdown);
  }
}

function launch(
  op: string,
  spec: unknown,
  options: StartOptions | undefined,
  dynamic: boolean,
  linked: boolean,
): Promise<Pid> {
  let log: LogTarget;
  try {
    if (options !== null && typeof options === "object") {
      refuseUnknown(op, options, START_OPTION_KEYS);
      const label = options.label;
      if (label !== undefined && typeof label !== "string") {
        throw new TypeError(
          `Cannot ${op}: 'label' must be a string, got ${formatTerm(label)}`,
        );
      }
    }
    checkSpecArg(op, spec);
    log = logTarget(op, options?.logger);
  } catch (error) {
    return Promise.reject(error);
  }
  const startFn = linked ? genServer.startLink : genServer.start;
  // gen_server checks its own options (`logger` is ours): pass them on;
  // anything but an object goes through for it to refuse.
  let genOptions: unknown = options;
  if (options !== null && typeof options === "object") {
    const { name, timeout, signal, label } = options;
    genOptions = {
      ...(name !== undefined && { name }),
      ...(label !== undefined && { label }),
      ...(timeout !== undefined && { timeout }),
      ...(signal !== undefined && { signal }),
    };
  }
  return startFn(
    behaviour,
    [spec, dynamic, log],
    genOptions as genServer.StartOptions,
  );
}

/**
 * Starts a supervisor (not linked to the caller) and its children, in order.
 * Resolves once they have all started.
 *
 * @param spec the strategy, intensity, period, autoShutdown, backoff and
 *   children; or an init function that returns them (or `"ignore"`).
 * @param options `name` to register, init `timeout`, `logger` (where its
 *   reports go: see logger.ts).
 * @returns the supervisor's pid.
 * @throws {ChildSpecError} (rejects) for an invalid spec or flag, given as
 *   an object.
 * @throws {StartError} (rejects) if a child failed to start (reason
 *   `["shutdown", ["failed_to_start_child", id, reason]]`; the children already
 *   started were stopped, in reverse order), if init returned `"ignore"`
 *   (reason `"ignore"`), if the spec an init function returned is
 *   invalid (reason `["start_spec", r]` or `["supervisor_data", r]`, or
 *   `["bad_return", v]` if it is not an object at all), or if init
 *   threw (reason: what it threw; an `ExitError`: its reason).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as supervisor from "@steward/steward/supervisor";
 * import { spawnLink } from "@steward/steward/process";
 * const sup = await supervisor.start({
 *   strategy: "rest_for_one",
 *   children: [
 *     { id: "db", start: () => spawnLink(() => new Promise(() => {})) },
 *     { id: "web", start: () => spawnLink(() => new Promise(() => {})) },
 *   ],
 * }, { name: "app" });
 * const ids = (await supervisor.whichChildren("app")).map((c) => c.id);
 * assert.equal(ids.join(), "web,db"); // newest first
 * await supervisor.stop(sup);
 * ```
 */
export function start(
  spec: SupervisorSpec | SupervisorInit,
  options?: StartOptions,
): Promise<Pid> {
  return launch("start", spec, options, false, false);
}

/**
 * Like {@linkcode start}, linked to the caller: the way one supervisor
 * starts another as its child.
 *
 * @param spec as {@linkcode start}.
 * @param options as {@linkcode start}.
 * @returns the supervisor's pid.
 * @throws {ChildSpecError} (rejects) as {@linkcode start}.
 * @throws {StartError} (rejects) as {@linkcode start}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as supervisor from "@steward/steward/supervisor";
 * const top = await supervisor.start({
 *   strategy: "one_for_all",
 *   children: [{
 *     id: "sub",
 *     type: "supervisor",
 *     start: () => supervisor.startLink({ strategy: "one_for_one" }),
 *   }],
 * });
 * const counts = await supervisor.countChildren(top);
 * assert.deepEqual(counts, { specs: 1, active: 1, supervisors: 1, workers: 0 });
 * await supervisor.stop(top);
 * ```
 */
export function startLink(
  spec: SupervisorSpec | SupervisorInit,
  options?: StartOptions,
): Promise<Pid> {
  return launch("startLink", spec, options, false, true);
}

/**
 * Starts a dynamic supervisor (Elixir's DynamicSupervisor): no children at
 * first; each {@linkcode startChild} gives a full child spec whose `args`
 * follow `extraArguments`; at most `max_children` children; one for one
 * restarts; children stop all at once when it stops.
 *
 * @param spec intensity (default 3), period (default 5 s), maxChildren,
 *   extraArguments, backoff; or an init function returning them.
 * @param options as {@linkcode start}.
 * @returns the supervisor's pid.
 * @throws {ChildSpecError} (rejects) for an invalid flag.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as supervisor from "@steward/steward/supervisor";
 * import { spawnLink } from "@steward/steward/process";
 * const sup = await supervisor.startDynamic({ maxChildren: 1 });
 * const worker = { id: "w", start: () => spawnLink(() => new Promise(() => {})) };
 * const { pid } = await supervisor.startChild(sup, worker);
 * const err = await supervisor.startChild(sup, worker).catch((e) => e);
 * assert.ok(pid !== undefined);
 * assert.equal(err.code, "max_children");
 * await supervisor.stop(sup);
 * ```
 */
export function startDynamic(
  spec:
    | DynamicSupervisorSpec
    | (() => MaybePromise<DynamicSupervisorSpec | "ignore">) = {},
  options?: StartOptions,
): Promise<Pid> {
  return launch("startDynamic", spec, options, true, false);
}

/**
 * Like {@linkcode startDynamic}, linked to the caller.
 *
 * @param spec as {@linkcode startDynamic}.
 * @param options as {@linkcode start}.
 * @returns the supervisor's pid.
 * @throws {ChildSpecError} (rejects) for an invalid flag.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as supervisor from "@steward/steward/supervisor";
 * const sup = await supervisor.startDynamicLink();
 * assert.equal((await supervisor.countChildren(sup)).specs, 0);
 * await supervisor.stop(sup);
 * ```
 */
export function startDynamicLink(
  spec:
    | DynamicSupervisorSpec
    | (() => MaybePromise<DynamicSupervisorSpec | "ignore">) = {},
  options?: StartOptions,
): Promise<Pid> {
  return launch("startDynamicLink", spec, options, true, true);
}

/**
 * Adds a child and starts it. For one_for_one, one_for_all and rest_for_one:
 * a child spec, kept as the newest child. For simple_one_for_one: the extra
 * arguments, appended to the template's `args`. For a dynamic supervisor: a
 * child spec (its `args` after the supervisor's `extraArguments`).
 *
 * @param sup the supervisor (pid or name).
 * @param specOrArgs the child spec, or (simple_one_for_one) extra args.
 * @param options `signal`: ends the wait (see {@linkcode RequestOptions}).
 * @returns the child's pid and extra; pid undefined if its start returned
 *   `"ignore"` (the spec is kept, except for temporary and dynamic children).
 * @throws {SupervisorError} (rejects) `"already_started"`, `"already_present"`,
 *   `"max_children"`, or `"start_failed"` with the child's reason (nothing is
 *   kept).
 * @throws {ChildSpecError} (rejects) for an invalid spec.
 * @throws {TypeError} (rejects) for simple_one_for_one extra arguments that
 *   are not an array.
 * @throws {CallError} (rejects) if there is no such supervisor (`"noproc"`).
 * @throws {TrackerError} (rejects) `"not_supported"` from a tracker (use
 *   `tracker.findOrOpen`); a director's own errors from a director.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as supervisor from "@steward/steward/supervisor";
 * import { spawnLink } from "@steward/steward/process";
 * const sup = await supervisor.start({
 *   strategy: "simple_one_for_one",
 *   children: [{
 *     id: "conn",
 *     start: (kind: string, n: number) =>
 *       ({ pid: spawnLink(() => new Promise(() => {})), extra: `${kind}#${n}` }),
 *     args: ["conn"],
 *   }],
 * });
 * const { extra } = await supervisor.startChild(sup, [7]);
 * assert.equal(extra, "conn#7");
 * await supervisor.stop(sup);
 * ```
 */
export function startChild(
  sup: Dest,
  specOrArgs: ChildSpec | readonly unknown[],
  options?: RequestOptions,
): Promise<StartedChild> {
  return request(sup, ["startChild", specOrArgs], options, "startChild");
}

/**
 * Stops a child (per its `shutdown`). Static strategies: by id; the spec is
 * kept (temporary: deleted); a restarting child stops restarting. Dynamic:
 * by pid; the child is removed.
 *
 * @param sup the supervisor (or a director, or a tracker: see the module docs).
 * @param child the child's id, or (dynamic) its pid.
 * @param options `signal`: ends the wait (see {@linkcode RequestOptions}).
 * @throws {SupervisorError} (rejects) `"not_found"`, or `"simple_one_for_one"`
 *   for an id given to a dynamic supervisor.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as supervisor from "@steward/steward/supervisor";
 * import { spawnLink } from "@steward/steward/process";
 * const sup = await supervisor.start({
 *   children: [{ id: "w", start: () => spawnLink(() => new Promise(() => {})) }],
 * });
 * await supervisor.terminateChild(sup, "w");
 * const [w] = await supervisor.whichChildren(sup);
 * assert.equal(w.pid, undefined);
 * await supervisor.stop(sup);
 * ```
 */
export function terminateChild(
  sup: Dest,
  child: unknown,
  options?: RequestOptions,
): Promise<void> {
  return request(sup, ["terminateChild", child], options, "terminateChild");
}

/**
 * Starts a stopped child again (static strategies).
 *
 * @param sup the supervisor (or a director, or a tracker: see the module docs).
 * @param id the child's id.
 * @param options `signal`: ends the wait (see {@linkcode RequestOptions}).
 * @returns the new pid and extra (pid undefined if it returned "ignore").
 * @throws {SupervisorError} (rejects) `"running"`, `"restarting"`,
 *   `"not_found"`, `"simple_one_for_one"`, or `"start_failed"`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as supervisor from "@steward/steward/supervisor";
 * import { spawnLink } from "@steward/steward/process";
 * const sup = await supervisor.start({
 *   children: [{ id: "w", start: () => spawnLink(() => new Promise(() => {})) }],
 * });
 * await supervisor.terminateChild(sup, "w");
 * const { pid } = await supervisor.restartChild(sup, "w");
 * assert.ok(pid !== undefined);
 * await supervisor.stop(sup);
 * ```
 */
export function restartChild(
  sup: Dest,
  id: unknown,
  options?: RequestOptions,
): Promise<StartedChild> {
  return request(sup, ["restartChild", id], options, "restartChild");
}

/**
 * Removes a stopped child's spec (static strategies).
 *
 * @param sup the supervisor (or a director, or a tracker: see the module docs).
 * @param id the child's id.
 * @param options `signal`: ends the wait (see {@linkcode RequestOptions}).
 * @throws {SupervisorError} (rejects) `"running"`, `"restarting"`,
 *   `"not_found"`, `"simple_one_for_one"`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as supervisor from "@steward/steward/supervisor";
 * const sup = await supervisor.start({
 *   children: [{ id: "nothing", start: () => "ignore" as const }],
 * });
 * await supervisor.deleteChild(sup, "nothing");
 * assert.equal((await supervisor.whichChildren(sup)).length, 0);
 * await supervisor.stop(sup);
 * ```
 */
export function deleteChild(
  sup: Dest,
  id: unknown,
  options?: RequestOptions,
): Promise<void> {
  return request(sup, ["deleteChild", id], options, "deleteChild");
}

/**
 * Lists the children, newest first: id (undefined under simple_one_for_one
 * and dynamic), pid (or `"restarting"`, or undefined), type, modules, and
 * for a delayed restart its time.
 *
 * @param sup the supervisor (or a director, or a tracker: see the module docs).
 * @param options `signal`: ends the wait (see {@linkcode RequestOptions}).
 * @returns one row per child.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as supervisor from "@steward/steward/supervisor";
 * const sup = await supervisor.start({});
 * assert.equal((await supervisor.whichChildren(sup)).length, 0);
 * await supervisor.stop(sup);
 * ```
 */
export function whichChildren(
  sup: Dest,
  options?: RequestOptions,
): Promise<ChildInfo[]> {
  return request(sup, ["whichChildren"], options, "whichChildren");
}

/**
 * Counts the children as OTP's `count_children`: specs, active (running),
 * supervisors and workers (by type, running or not).
 *
 * @param sup the supervisor (or a director, or a tracker: see the module docs).
 * @param options `signal`: ends the wait (see {@linkcode RequestOptions}).
 * @returns the counts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as supervisor from "@steward/steward/supervisor";
 * const sup = await supervisor.start({
 *   children: [{ id: "x", start: () => "ignore" as const }],
 * });
 * const c = await supervisor.countChildren(sup);
 * assert.deepEqual(c, { specs: 1, active: 0, supervisors: 0, workers: 1 });
 * await supervisor.stop(sup);
 * ```
 */
export function countChildren(
  sup: Dest,
  options?: RequestOptions,
): Promise<ChildCounts> {
  return request(sup, ["countChildren"], options, "countChildren");
}

/**
 * A child's full spec (every key filled in), by id or by pid. A director
 * answers with its own full spec (director.ts's `FullChildSpec`: a plan and
 * a count where a supervisor's has restart and shutdown).
 *
 * @param sup the supervisor (or a director, or a tracker: see the module docs).
 * @param child the child's id or pid.
 * @param options `signal`: ends the wait (see {@linkcode RequestOptions}).
 * @returns the spec.
 * @throws {SupervisorError} (rejects) `"not_found"`.
 * @throws {TrackerError} (rejects) `"not_supported"` from a tracker.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as supervisor from "@steward/steward/supervisor";
 * const sup = await supervisor.start({
 *   children: [{ id: "x", start: () => "ignore" as const }],
 * });
 * const spec = await supervisor.getChildspec(sup, "x");
 * assert.equal(spec.restart, "permanent");
 * assert.equal(spec.shutdown, 5000);
 * await supervisor.stop(sup);
 * ```
 */
export function getChildspec(
  sup: Dest,
  child: unknown,
  options?: RequestOptions,
): Promise<FullChildSpec> {
  return request(sup, ["getChildspec", child], options, "getChildspec");
}

/**
 * Stops a supervisor: its children stop in reverse start order (dynamic:
 * all at once), then it exits with `reason`.
 *
 * @param sup the supervisor (or a director, or a tracker: see the module docs).
 * @param reason its exit reason. @default {"normal"}
 * @param options `timeout` in ms (default Infinity).
 * @throws {CallError} (rejects) if there is no such supervisor.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as supervisor from "@steward/steward/supervisor";
 * import { isAlive } from "@steward/steward/process";
 * const sup = await supervisor.start({});
 * await supervisor.stop(sup);
 * assert.ok(!isAlive(sup));
 * ```
 */
export function stop(
  sup: Dest,
  reason: unknown = "normal",
  options?: StopOptions,
): Promise<void> {
  return genServer.stop(sup, reason, options);
}
