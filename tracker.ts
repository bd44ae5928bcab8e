/**
 * Trackers: registry supervisors, as erlyvideo's `gen_tracker`. A tracker
 * starts children on demand, one per id, finds them without a message, and
 * keeps attributes beside each child (a stream's url, its client count) that
 * anyone can read and write while the child lives.
 *
 * ## When to use a tracker
 * When children are keyed by something that comes from outside (a stream
 * name, a user id, a file path), are started by whoever first asks for them,
 * and are looked up far more often than started. A supervisor is for a
 * fixed set of children known at start; a tracker is for ten thousand
 * streams opened by the requests that need them.
 *
 * ## Finding and opening
 * {@linkcode find} is a synchronous lookup: no message, a few tens of
 * nanoseconds. {@linkcode findOrOpen} looks up too, and only on a miss asks
 * the tracker to start the child. However many callers race for one id, the
 * child starts once and they all get its pid; if its start fails, they all
 * get the failure. A child that is still finishing (its afterTerminate is
 * running) makes them wait, then a fresh child starts.
 *
 * A child is findable once its start function has returned (for
 * `startLink`: once its `init` has). A child that must be findable before
 * it goes on (gen_tracker's `init_ack`) calls `findOrOpen` for itself, for
 * example from `handleContinue`: that waits until the tracker has published
 * it, and returns its own pid.
 *
 * ## A child's life
 * | status | meaning | find | attributes |
 * |---|---|---|---|
 * | `"launching"` | its start function is running | undefined | read, write |
 * | `"running"` | it has a pid | the pid | read, write |
 * | `"terminating"` | it has exited; afterTerminate is running | undefined | read only |
 * | `"restarting"` | a permanent or transient child waits for its restart | undefined | none |
 * | `"stopped"` | terminated by terminateChild (not temporary): restartChild starts it | undefined | none |
 *
 * | restart | exit `"normal"`, `"shutdown"`, `["shutdown", _]` | any other exit |
 * |---|---|---|
 * | `"temporary"` (default, as gen_tracker) | removed | removed |
 * | `"transient"` | removed | restarted |
 * | `"permanent"` | restarted | restarted |
 *
 * A removed child comes back only when someone opens it again. Restarts
 * count against the tracker's `intensity` within `period` seconds (OTP's
 * rule: past it, the tracker stops all its children and exits with
 * `"shutdown"`); with `backoff`, each consecutive restart of a child waits
 * longer. A child waiting for its restart shows as `"restarting"`, with the
 * time of the next attempt.
 *
 * ## Attributes
 * Attributes are string keys with any values but `undefined`, scoped to one
 * incarnation of one child: {@linkcode setAttr} and {@linkcode increment}
 * work while the child is launching or running, and throw a
 * {@linkcode TrackerError} (`"not_found"`, `"not_alive"`) otherwise, so
 * nothing writes attributes nobody will clean up. They vanish when the child
 * ends (after its afterTerminate has seen them): a restarted child starts
 * with none. None of the attribute functions sends a message; each is one
 * synchronous step, so `increment` is atomic. {@linkcode getAttr} can wait
 * for an attribute to be set, with a timeout and an AbortSignal.
 *
 * ## The tables
 * A tracker named `"streams"` registers its process as `"streams"` and owns
 * two protected ETS tables anyone can read (`ets.whereis("streams")`):
 * - `"streams"`: one {@linkcode ChildRecord} per child, keyed by id:
 *   `[id, pid or status, restart, shutdown, type, modules]`;
 * - `"streams_attrs"`: one {@linkcode AttrRecord} per attribute:
 *   `[[id, key], value]`.
 * Use them for what the functions here do not offer (select with match
 * specs: "every stream whose bitrate is over 5000"). Only the tracker writes
 * them; the functions here read an index of the tracker's own (a Map
 * lookup, no table access check, no record to copy). A child's row shows
 * `"launching"` once its start has run for more than a few microtasks; a
 * start that is done by then (a gen_server whose init returns at once) goes
 * straight to its pid, one table write instead of two.
 *
 * ## Reads, requests, and supervisor's calls
 * The library's one rule: a read answered without a message is synchronous,
 * anything that needs the tracker returns a promise. {@linkcode find},
 * the attribute functions, {@linkcode list}, {@linkcode whichChildren} and
 * {@linkcode countChildren} read the tracker's own index without a message;
 * {@linkcode findOrOpen} (on a miss), {@linkcode terminateChild},
 * {@linkcode deleteChild}, {@linkcode restartChild},
 * {@linkcode addExistingChild} and {@linkcode wait} are requests. Two
 * functions that may wait return promises even when they answer at once:
 * findOrOpen (a hit resolves without a message; its type cannot depend on
 * whether the child runs: {@linkcode find} is the synchronous read) and the
 * waiting form of {@linkcode getAttr} (it waits for the attribute, not for
 * the tracker). Every
 * function here refuses a live process that is not a tracker (a supervisor,
 * a director) with a TypeError naming the argument.
 *
 * A tracker answers OTP's supervisor calls that gen_tracker answers, and
 * the two it lacked: `supervisor.whichChildren`, `countChildren`,
 * `terminateChild`, `deleteChild` and `restartChild` work on it, with the
 * same answers as the functions here (supervisor's shapes: `ChildInfo` rows,
 * `ChildCounts`, `{ pid, extra }` from restartChild). `supervisor.startChild`
 * and `supervisor.getChildspec` reject with a {@linkcode TrackerError}
 * `"not_supported"`: children are opened with findOrOpen, and their specs are
 * in the children table. A bare `GenServer.call` of a request the tracker
 * does not know is refused: the call rejects with a TrackerError
 * `"unknown_request"`, and the tracker lives on (gen_tracker stopped with
 * `{unknown_call, C}`).
 *
 * ## afterTerminate
 * `afterTerminate(id, attrs, reason)`, from the child spec or the tracker's
 * options, runs exactly once after every death of a child that started:
 * crash, kill, normal exit, terminateChild, the tracker's own shutdown (also
 * when the tracker is killed), for adopted children too. It runs in a
 * process of its own (so it may `receive`), at most `afterTerminateTimeout`
 * ms, then that process is killed. A throw, a rejection or a timeout is
 * reported (an `"after_terminate_failed"` report of the library's logger,
 * logger.ts, and event) and never
 * disturbs the tracker. While it runs the id is `"terminating"`.
 *
 * ## Differences from gen_tracker, on purpose
 * - Restarts: transient and permanent children restart, with intensity and
 *   optional backoff (gen_tracker stores the restart type and ignores it).
 * - A start returning `"ignore"` rejects every caller with a
 *   `TrackerError` `"ignored"`; `{ pid, extra }` is tracked like any child
 *   (gen_tracker returned it and forgot the child). A failed or ignored start
 *   leaves no entry and no attribute behind.
 * - `increment` never creates attributes for an unknown child; a late
 *   `setAttr` is a `TrackerError` naming the child's state; `getAttr` waits
 *   by events, not by polling every second.
 * - `findOrOpen` takes a timeout and an AbortSignal (gen_tracker's call
 *   waited a fixed 60 s); an unknown request gets an error and never kills the
 *   tracker; countChildren and restartChild exist; whichChildren's rows have
 *   supervisor's shape (gen_tracker's `{Name, Pid, Type, Mods}`, with the
 *   start's extra value and the time of a delayed restart).
 * - terminateChild and deleteChild are OTP's: terminateChild stops a child
 *   (a temporary one is then gone, as after gen_tracker's delete_child);
 *   deleteChild removes a stopped or restarting one.
 * - afterTerminate runs with a timeout, for adopted children too.
 * - Unknown keys of a child spec (`after_terminate`) and of options are
 *   refused with a `ChildSpecError` / `TypeError` naming the key and the
 *   known ones (gen_tracker ignored them: the callback was never called).
 * - The tracker does not block while a child starts or stops: other ids are
 *   opened and served meanwhile.
 * - A child whose start has not finished when the tracker stops is not
 *   known by pid: it gets the tracker's exit signal through its link (start
 *   functions should link, as `startLink` does), and if its start completes
 *   later it is shut down at once, with its afterTerminate.
 *
 * @example
 * ```ts
 * import * as tracker from "@steward/steward/tracker";
 * import { receive, spawnLink } from "@steward/steward/process";
 * import assert from "node:assert/strict";
 *
 * await tracker.start("streams");
 * const spec = {
 *   id: ["stream", "cam-1"],
 *   start: () => spawnLink(async () => { await receive(); }),
 * };
 * const pid = await tracker.findOrOpen("streams", spec);
 * assert.equal(tracker.find("streams", ["stream", "cam-1"]), pid);
 * tracker.setAttr("streams", spec.id, "viewers", 0);
 * tracker.increment("streams", spec.id, "viewers");
 * assert.deepEqual(tracker.attrs("streams", spec.id), { viewers: 1 });
 * assert.throws(
 *   () => tracker.setAttr("streams", ["stream", "nobody"], "viewers", 0),
 *   tracker.TrackerError,
 * );
 * await tracker.stop("streams");
 * ```
 *
 * @module
 */

import type { LoggerOption } from "./logger.ts";
import { Pid } from "./_runtime.ts";
import type { Shutdown, StartReturn } from "./_child.ts";
import { ChildSpecError } from "./errors.ts";
import * as genServer from "./gen_server.ts";
import type { Dest } from "./process.ts";
import type {
  Backoff,
  ChildCounts,
  ChildInfo,
  ChildPidStatus,
  ChildSpec as SupervisorChildSpec,
  ChildType,
  RequestOptions,
  RestartType,
  StartedChild,
  SupervisedChildEvent,
} from "./supervisor.ts";
import { checkOptionsObject } from "./_options.ts";
import {
  checkId,
  checkKey,
  checkKeys,
  checkSignal,
  checkTimeout,
  checkValue,
  copyKey,
  normaliseSpec,
  TrackerError,
  type TrackerErrorCode,
  WAIT_OPTION_KEYS,
} from "./_tracker_spec.ts";
import {
  attrsObject,
  AttrWait,
  type Entry,
  events,
  registry,
  registryLookup,
  resolve,
  type Trk,
} from "./_tracker_state.ts";
import {
  countChildrenIn,
  liveHit,
  open,
  pick,
  request,
  startTracker,
  whichChildrenIn,
  writable,
} from "./_tracker.ts";
import { startTimeout } from "./_timers.ts";
import { formatTerm } from "./_format.ts";

export { ChildSpecError, Pid, TrackerError };
export type {
  Backoff,
  ChildCounts,
  ChildInfo,
  ChildPidStatus,
  ChildType,
  Dest,
  RestartType,
  Shutdown,
  StartedChild,
  StartReturn,
};
export type { TrackerErrorCode };
export type { StopOptions } from "./gen_server.ts";
export type { RequestOptions } from "./supervisor.ts";
import type { StopOptions } from "./gen_server.ts";

// ---------------------------------------------------------------- types --

/** A value or a promise of it. */
export type MaybePromise<T> = T | Promise<T>;

/** Where a child is in its life (see the module docs). */
export type ChildStatus =
  | "launching"
  | "running"
  | "terminating"
  | "restarting"
  | "stopped";

/** A child's attributes, as a plain object. */
export type Attrs = Record<string, unknown>;

/**
 * Called once after each death of a child, in a process of its own, with
 * the child's id, its attributes at that moment and its exit reason. May be
 * async; see the module docs.
 */
export type AfterTerminate = (
  id: unknown,
  attrs: Attrs,
  reason: unknown,
) => unknown;

/**
 * How to start one child. Only `id` and `start` are required; `start`,
 * `args`, `shutdown`, `type` and `modules` mean what they mean in a
 * supervisor's child spec.
 */
export interface ChildSpec
  extends Omit<SupervisorChildSpec, "id" | "restart" | "significant"> {
  /**
   * The child's id: a table key (a number, bigint, string, boolean, null,
   * Pid, Ref, or an array of those, compared by value).
   */
  readonly id: unknown;
  /** When it restarts (see the module docs). @default {"temporary"} */
  readonly restart?: RestartType;
  /** Overrides the tracker's afterTerminate for this child. */
  readonly afterTerminate?: AfterTerminate;
}

/**
 * A running process to adopt ({@linkcode addExistingChild}): its `pid`, and
 * a child spec whose `start` is needed only if it is to be restarted.
 */
export interface ExistingChildSpec extends Omit<ChildSpec, "start"> {
  /** The process to adopt. */
  readonly pid: Pid;
  /** How to start it again (required unless `restart` is "temporary"). */
  // deno-lint-ignore no-explicit-any
  readonly start?: (...args: any[]) => MaybePromise<StartReturn>;
}

/** Options of {@linkcode start} and {@linkcode startLink}. */
export interface TrackerOptions {
  /** Called after each child's death, unless its spec has its own. */
  readonly afterTerminate?: AfterTerminate;
  /**
   * A label for the process, shown by the introspection of system.ts and
   * the observer (OTP 27's `proc_lib:set_label/1`, given at start).
   */
  readonly label?: string;
  /**
   * Milliseconds an afterTerminate may run before its process is killed
   * (`Infinity`: no limit). @default {5000}
   */
  readonly afterTerminateTimeout?: number;
  /** Most restarts allowed within `period`. @default {3} */
  readonly intensity?: number;
  /** The intensity window, in seconds. @default {5} */
  readonly period?: number;
  /** Restart delays (see the supervisor's); none by default. */
  readonly backoff?: Backoff;
  /**
   * Abandons the start when it aborts: the start rejects with the signal's
   * `reason` and the half-started tracker is killed (as gen_server's start).
   */
  readonly signal?: AbortSignal;
  /**
   * Where this tracker's reports go: a logger (all of them), a level (the
   * global logger, at this level), or `false` (none). See logger.ts.
   * @default {the global logger and level}
   */
  readonly logger?: LoggerOption;
}

/** Options of {@linkcode findOrOpen}. */
export interface FindOrOpenOptions {
  /**
   * Milliseconds to wait for the child to start. By default the wait is as
   * long as the start (bound it there, as gen_server's init `timeout`, or
   * here). @default {Infinity}
   */
  readonly timeout?: number;
  /** Gives up waiting when aborted, rejecting with its reason. */
  readonly signal?: AbortSignal;
}

/** Options of the waiting form of {@linkcode getAttr}. */
export interface GetAttrOptions {
  /** Milliseconds to wait for the attribute. @default {Infinity} */
  readonly timeout?: number;
  /** Gives up waiting when aborted, rejecting with its reason. */
  readonly signal?: AbortSignal;
}

/** Options of {@linkcode increment}. */
export interface IncrementOptions {
  /** The value a missing attribute starts from (then incremented). */
  readonly default?: number | bigint;
}

/** One running child in {@linkcode list}. */
export interface ListedChild {
  /** Its id. */
  readonly id: unknown;
  /** Its pid. */
  readonly pid: Pid;
  /** Its attributes (only the keys asked for, if any were). */
  readonly attrs: Attrs;
}

/**
 * A record of a tracker's children table (see the module docs): the id, the
 * pid (or the status of a child without one), then the spec's restart,
 * shutdown, type and modules.
 */
export type ChildRecord = readonly [
  id: unknown,
  pid: Pid | Exclude<ChildStatus, "running">,
  restart: RestartType,
  shutdown: Shutdown,
  type: ChildType,
  modules: readonly string[] | "dynamic",
];

/** A record of a tracker's attributes table: `[[id, key], value]`. */
export type AttrRecord = readonly [
  key: readonly [id: unknown, key: string],
  value: unknown,
];

/** An event of a tracker's life (DESIGN decision 7). */
export type TrackerEvent =
  & {
    /** The tracker's pid. */
    readonly tracker: Pid;
    /** The tracker's name. */
    readonly name: string;
    /** When, on the clock. */
    readonly time: number;
  }
  & (
    | SupervisedChildEvent
    | {
      readonly type: "child_adopted";
      readonly id: unknown;
      readonly pid: Pid;
    }
    | {
      readonly type: "start_failed" | "after_terminate_failed";
      readonly id: unknown;
      /** Why (afterTerminate: what it threw, or `"timeout"`). */
      readonly reason: unknown;
    }
    | { readonly type: "child_removed"; readonly id: unknown }
    | {
      readonly type: "gave_up";
      readonly id: unknown;
      readonly reason: "reached_max_restart_intensity";
    }
    | { readonly type: "tracker_stopped"; readonly reason: unknown }
  );

/**
 * Calls `listener` with every tracker's events, synchronously, as they
 * happen. A listener that throws is reported and never disturbs a tracker.
 *
 * @param listener called with each event.
 * @returns a function that unsubscribes.
 *
 * @example
 * ```ts
 * import * as tracker from "@steward/steward/tracker";
 * import { receive, spawnLink } from "@steward/steward/process";
 * import assert from "node:assert/strict";
 * const seen: string[] = [];
 * const off = tracker.subscribe((e) => seen.push(e.type));
 * await tracker.start("events_demo");
 * await tracker.findOrOpen("events_demo", {
 *   id: 1,
 *   start: () => spawnLink(async () => { await receive(); }),
 * });
 * await tracker.stop("events_demo");
 * off();
 * assert.deepEqual(seen, ["child_started", "child_terminated", "tracker_stopped"]);
 * ```
 */
export function subscribe(listener: (event: TrackerEvent) => void): () => void {
  return events.subscribe(listener, "subscribe");
}

// ------------------------------------------------------------ public API --

/**
 * Starts a tracker (not linked to the caller), registered as `name`, with
 * its two tables `name` and `` `${name}_attrs` ``.
 *
 * @param name the tracker's name (and its tables').
 * @param options afterTerminate, afterTerminateTimeout, intensity, period,
 *   backoff.
 * @returns the tracker's pid.
 * @throws {TypeError} (rejects) for a malformed name or option.
 * @throws {RangeError} (rejects) for an option out of range.
 * @throws {StartError} (rejects) if the name is taken (reason
 *   `["already_started", pid]`) or a table name is (reason the EtsError).
 *
 * @example
 * ```ts
 * import * as tracker from "@steward/steward/tracker";
 * import { whereis } from "@steward/steward/ets";
 * import assert from "node:assert/strict";
 * const pid = await tracker.start("files", { afterTerminateTimeout: 1000 });
 * assert.ok(whereis("files") !== undefined && whereis("files_attrs") !== undefined);
 * await tracker.stop(pid);
 * assert.equal(whereis("files"), undefined);
 * ```
 */
export function start(name: string, options?: TrackerOptions): Promise<Pid> {
  return startTracker("start", name, options, false);
}

/**
 * Like {@linkcode start}, linked to the caller: the way a supervisor starts
 * a tracker as its child.
 *
 * @param name as {@linkcode start}.
 * @param options as {@linkcode start}.
 * @returns the tracker's pid.
 * @throws {TypeError} (rejects) as {@linkcode start}.
 * @throws {StartError} (rejects) as {@linkcode start}.
 *
 * @example
 * ```ts
 * import * as tracker from "@steward/steward/tracker";
 * import * as supervisor from "@steward/steward/supervisor";
 * import assert from "node:assert/strict";
 * const sup = await supervisor.start({
 *   children: [{
 *     id: "streams",
 *     type: "supervisor",
 *     start: () => tracker.startLink("sup_streams"),
 *   }],
 * });
 * assert.deepEqual(tracker.whichChildren("sup_streams"), []);
 * await supervisor.stop(sup);
 * ```
 */
export function startLink(
  name: string,
  options?: TrackerOptions,
): Promise<Pid> {
  return startTracker("startLink", name, options, true);
}

/**
 * Stops a tracker: its children are shut down (all at once, each per its
 * `shutdown`), their afterTerminates run, then it exits with `reason` and
 * its tables go.
 *
 * @param tracker the tracker (name or pid).
 * @param reason its exit reason. @default {"normal"}
 * @param options `timeout` in ms (default Infinity).
 * @throws {CallError} (rejects) if there is no such tracker (`"noproc"`).
 *
 * @example
 * ```ts
 * import * as tracker from "@steward/steward/tracker";
 * import { isAlive } from "@steward/steward/process";
 * import assert from "node:assert/strict";
 * const pid = await tracker.start("stopping");
 * await tracker.stop("stopping");
 * assert.equal(isAlive(pid), false);
 * ```
 */
export function stop(
  tracker: Dest,
  reason: unknown = "normal",
  options?: StopOptions,
): Promise<void> {
  return genServer.stop(tracker, reason, options);
}

/**
 * The pid of the running child `id`, or undefined (no child, or one that is
 * launching, terminating, restarting or stopped). A synchronous lookup: no
 * message is sent.
 *
 * @param tracker the tracker (name or pid).
 * @param id the child's id.
 * @returns its pid, or undefined.
 * @throws {NoProcError} if there is no such tracker.
 * @throws {TypeError} for an id that is not a table key.
 *
 * @example
 * ```ts
 * import * as tracker from "@steward/steward/tracker";
 * import { receive, spawnLink } from "@steward/steward/process";
 * import assert from "node:assert/strict";
 * await tracker.start("finding");
 * assert.equal(tracker.find("finding", "a"), undefined);
 * const pid = await tracker.findOrOpen("finding", {
 *   id: "a",
 *   start: () => spawnLink(async () => { await receive(); }),
 * });
 * assert.equal(tracker.find("finding", "a"), pid);
 * await tracker.stop("finding");
 * ```
 */
export function find(tracker: Dest, id: unknown): Pid | undefined {
  // A Map lookup by name: as cheap as comparing with the last name on V8,
  // cheaper on JavaScriptCore. A pid (or garbage) goes the long way.
  const e = (registry.get(tracker as string) ?? resolve("find", tracker))
    .index.get(id);
  // e.pid is set only while the child runs. A miss checks the id.
  return e !== undefined ? e.pid : missed(id);
}

function missed(id: unknown): undefined {
  checkId("find", id);
  return undefined;
}

/**
 * The pid of child `spec.id`, started if needed. A running child is found
 * by a lookup, with no message. Otherwise the tracker starts it, once
 * however many callers race for the id, and they all get its pid; a start
 * that fails rejects them all. While the id's previous child is
 * terminating (its afterTerminate runs), callers wait, then a fresh child
 * starts. A dead pid is never the answer: a child killed a moment ago,
 * whose exit the tracker has not taken yet, is waited for in the same way
 * (then restarted or replaced), with or without `options`. The spec is
 * checked only when a child is to be started (unknown keys too: the hot
 * path is a lookup).
 *
 * @param tracker the tracker (name or pid).
 * @param spec the child spec (used only if the child must start).
 * @param options `timeout` (default Infinity) and `signal`.
 * @returns the child's pid.
 * @throws {TrackerError} (rejects) `"start_failed"` with the start's reason,
 *   `"ignored"` if it returned "ignore" (nothing is kept either way).
 * @throws {ChildSpecError} (rejects) for an invalid spec.
 * @throws {TimeoutError} (rejects) after `timeout`; the signal's reason
 *   when aborted (the child may still start: a later findOrOpen finds it).
 * @throws {NoProcError} (rejects) if there is no such tracker; a
 *   {@linkcode CallError} if it dies meanwhile.
 *
 * @example
 * ```ts
 * import * as tracker from "@steward/steward/tracker";
 * import { receive, spawnLink } from "@steward/steward/process";
 * import assert from "node:assert/strict";
 * await tracker.start("opening");
 * let starts = 0;
 * const spec = {
 *   id: ["stream", 1],
 *   start: async () => {
 *     starts++;
 *     return spawnLink(async () => { await receive(); });
 *   },
 * };
 * const pids = await Promise.all([1, 2, 3].map(() => tracker.findOrOpen("opening", spec)));
 * assert.equal(starts, 1);
 * assert.ok(pids.every((p) => p === pids[0]));
 * await tracker.stop("opening");
 * ```
 */
export function findOrOpen(
  tracker: Dest,
  spec: ChildSpec,
  options?: FindOrOpenOptions,
): Promise<Pid> {
  // The hot path: a hit is a lookup, answered by a promise shared by all
  // the hits of this child (no allocation).
  const t = registry.get(tracker as string) ?? registryLookup(tracker);
  let e: Entry | undefined;
  if (t !== undefined && spec != null) {
    try {
      e = t.index.get(spec.id);
    } catch {
      // A hostile spec or id (a throwing getter, a Proxy): open() rejects.
    }
    if (e !== undefined && options === undefined) {
      const hit = liveHit(e);
      if (hit !== undefined) return hit;
    }
  }
  return open(tracker, t, e, spec, options);
}

/**
 * Sets attributes of a launching or running child: one (`key`, `value`),
 * or many (an object), all or none. No message is sent; a getAttr waiting
 * for one of them is woken.
 *
 * @param tracker the tracker (name or pid).
 * @param id the child's id.
 * @param key the attribute's name.
 * @param value its value (anything but undefined).
 * @throws {TrackerError} `"not_found"` (no such child), `"not_alive"` (it is
 *   terminating, restarting or stopped: attributes set now would outlive
 *   it).
 * @throws {NoProcError} if there is no such tracker.
 * @throws {TypeError} for a key that is not a string, an undefined value,
 *   or an id that is not a table key.
 *
 * @example
 * ```ts
 * import * as tracker from "@steward/steward/tracker";
 * import { receive, spawnLink } from "@steward/steward/process";
 * import assert from "node:assert/strict";
 * await tracker.start("setting");
 * await tracker.findOrOpen("setting", {
 *   id: "cam",
 *   start: () => spawnLink(async () => { await receive(); }),
 * });
 * tracker.setAttr("setting", "cam", "url", "rtsp://cam");
 * tracker.setAttr("setting", "cam", { width: 1920, height: 1080 });
 * assert.equal(tracker.getAttr("setting", "cam", "width"), 1920);
 * await tracker.stop("setting");
 * ```
 */
export function setAttr(
  tracker: Dest,
  id: unknown,
  key: string,
  value: unknown,
): void;
/**
 * Sets several attributes at once (see the other signature).
 *
 * @param tracker the tracker (name or pid).
 * @param id the child's id.
 * @param attrs the attributes, as an object.
 */
export function setAttr(tracker: Dest, id: unknown, attrs: Attrs): void;
export function setAttr(
  tracker: Dest,
  id: unknown,
  keyOrAttrs: string | Attrs,
  value?: unknown,
): void {
  const op = "setAttr";
  const t = resolve(op, tracker);
  if (typeof keyOrAttrs === "string") {
    checkValue(op, keyOrAttrs, value);
    t.putAttr(writable(t, op, id), keyOrAttrs, value);
    return;
  }
  if (
    keyOrAttrs === null || typeof keyOrAttrs !== "object" ||
    Array.isArray(keyOrAttrs)
  ) {
    throw new TypeError(
      `Cannot ${op}: 'key' must be a string or 'attrs' an object, got ${
        formatTerm(keyOrAttrs)
      }`,
    );
  }
  const pairs = Object.entries(keyOrAttrs);
  for (const [k, v] of pairs) checkValue(op, k, v);
  const e = writable(t, op, id);
  for (const [k, v] of pairs) t.putAttr(e, k, v);
}

/**
 * An attribute of a child (launching, running or terminating), read
 * without a message; undefined if it is not set. With `options`, waits
 * until it is set instead (by events, not by polling).
 *
 * @param tracker the tracker (name or pid).
 * @param id the child's id.
 * @param key the attribute's name.
 * @returns its value, or undefined.
 * @throws {NoProcError} if there is no such tracker.
 * @throws {TypeError} for a key that is not a string or an id that is not
 *   a table key.
 *
 * @example
 * ```ts
 * import * as tracker from "@steward/steward/tracker";
 * import { receive, spawnLink } from "@steward/steward/process";
 * import assert from "node:assert/strict";
 * await tracker.start("getting");
 * await tracker.findOrOpen("getting", {
 *   id: "cam",
 *   start: () => spawnLink(async () => { await receive(); }),
 * });
 * assert.equal(tracker.getAttr("getting", "cam", "url"), undefined);
 * const later = tracker.getAttr("getting", "cam", "url", { timeout: 1000 });
 * tracker.setAttr("getting", "cam", "url", "rtsp://cam");
 * assert.equal(await later, "rtsp://cam");
 * await tracker.stop("getting");
 * ```
 */
export function getAttr(tracker: Dest, id: unknown, key: string): unknown;
/**
 * Waits until an attribute is set (see the other signature).
 *
 * @param tracker the tracker (name or pid).
 * @param id the child's id: it may not exist yet.
 * @param key the attribute's name.
 * @param options `timeout` (default Infinity) and `signal`.
 * @returns its value, once it is set (at once if it is).
 * @throws {TimeoutError} (rejects) after `timeout`; the signal's reason
 *   when aborted; {@linkcode NoProcError} if the tracker stops meanwhile.
 */
export function getAttr(
  tracker: Dest,
  id: unknown,
  key: string,
  options: GetAttrOptions,
): Promise<unknown>;
export function getAttr(
  tracker: Dest,
  id: unknown,
  key: string,
  options?: GetAttrOptions,
): unknown {
  const op = "getAttr";
  if (options === undefined) {
    const t = resolve(op, tracker);
    checkKey(op, key);
    const e = t.index.get(id);
    if (e === undefined) {
      checkId(op, id);
      return undefined;
    }
    return e.attrs === null ? undefined : e.attrs.get(key);
  }
  let t: Trk;
  let timeout: number;
  let signal: AbortSignal | undefined;
  try {
    t = resolve(op, tracker);
    checkKey(op, key);
    checkId(op, id);
    checkOptionsObject(op, options, WAIT_OPTION_KEYS);
    timeout = checkTimeout(op, options.timeout ?? Infinity);
    signal = checkSignal(op, options.signal);
  } catch (error) {
    return Promise.reject(error);
  }
  const value = t.index.get(id)?.attrs?.get(key);
  if (value !== undefined) return Promise.resolve(value);
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const w = new AttrWait(
      t,
      copyKey(id),
      key,
      timeout,
      signal,
      resolve,
      reject,
    );
    t.addAttrWait(w);
    if (timeout !== Infinity) startTimeout(w, timeout);
  });
}

/**
 * Adds `incr` to a counter attribute of a launching or running child, in
 * one synchronous step (atomic: no other code runs in between), and
 * returns the new value. A missing attribute starts from `default`; with
 * no default it is an error. Never creates anything for an unknown child.
 *
 * @param tracker the tracker (name or pid).
 * @param id the child's id.
 * @param key the attribute's name.
 * @param incr an integer (or a bigint, for a bigint counter). @default {1}
 * @param options `default`: the starting value of a missing attribute.
 * @returns the new value.
 * @throws {TrackerError} `"not_found"`, `"not_alive"` (as setAttr),
 *   `"not_a_counter"` (missing with no default, or not a number of incr's
 *   type).
 * @throws {TypeError} for a malformed key, incr or default.
 * @throws {RangeError} if a number counter would leave the safe integers.
 *
 * @example
 * ```ts
 * import * as tracker from "@steward/steward/tracker";
 * import { receive, spawnLink } from "@steward/steward/process";
 * import assert from "node:assert/strict";
 * await tracker.start("counting");
 * await tracker.findOrOpen("counting", {
 *   id: "cam",
 *   start: () => spawnLink(async () => { await receive(); }),
 * });
 * assert.equal(tracker.increment("counting", "cam", "viewers", 1, { default: 0 }), 1);
 * assert.equal(tracker.increment("counting", "cam", "viewers", 2), 3);
 * await tracker.stop("counting");
 * ```
 */
export function increment(
  tracker: Dest,
  id: unknown,
  key: string,
  incr?: number,
  options?: { readonly default?: number },
): number;
/**
 * Adds to a bigint counter (see the other signature).
 *
 * @param tracker the tracker (name or pid).
 * @param id the child's id.
 * @param key the attribute's name.
 * @param incr a bigint.
 * @param options `default`: the starting value of a missing attribute.
 * @returns the new value.
 */
export function increment(
  tracker: Dest,
  id: unknown,
  key: string,
  incr: bigint,
  options?: { readonly default?: bigint },
): bigint;
export function increment(
  tracker: Dest,
  id: unknown,
  key: string,
  incr: number | bigint = 1,
  options?: IncrementOptions,
): number | bigint {
  const op = "increment";
  const t = resolve(op, tracker);
  checkKey(op, key);
  const kind = typeof incr;
  if (kind !== "bigint" && !(kind === "number" && Number.isInteger(incr))) {
    throw new TypeError(
      `Cannot ${op}: 'incr' must be an integer or a bigint, got ${
        formatTerm(incr)
      }`,
    );
  }
  checkOptionsObject(op, options, ["default"]);
  const dflt = options?.default;
  if (
    dflt !== undefined &&
    (typeof dflt !== kind || (kind === "number" && !Number.isInteger(dflt)))
  ) {
    throw new TypeError(
      `Cannot ${op}: 'default' must be ${
        kind === "bigint" ? "a bigint" : "an integer"
      }, as 'incr', got ${formatTerm(dflt)}`,
    );
  }
  const e = writable(t, op, id);
  let current = e.attrs === null ? undefined : e.attrs.get(key);
  if (current === undefined) {
    if (dflt === undefined) {
      throw new TrackerError(op, t.name, id, "not_a_counter", {
        why: `attribute ${JSON.stringify(key)} is not set (give a default)`,
      });
    }
    current = dflt;
  } else if (
    typeof current !== kind ||
    (kind === "number" && !Number.isInteger(current))
  ) {
    throw new TrackerError(op, t.name, id, "not_a_counter", {
      why: `attribute ${JSON.stringify(key)} is ${formatTerm(current)}, not ${
        kind === "bigint" ? "a bigint" : "an integer"
      }`,
    });
  }
  const next = kind === "bigint"
    ? (current as bigint) + (incr as bigint)
    : (current as number) + (incr as number);
  if (typeof next === "number" && !Number.isSafeInteger(next)) {
    throw new RangeError(
      `Cannot ${op}: attribute ${
        JSON.stringify(key)
      } would be ${next}, not a safe integer (use bigints)`,
    );
  }
  t.putAttr(e, key, next);
  return next;
}

/**
 * Removes an attribute of a launching or running child. No message is
 * sent. Does nothing for a child that is not launching or running (its
 * attributes are read-only, or gone).
 *
 * @param tracker the tracker (name or pid).
 * @param id the child's id.
 * @param key the attribute's name.
 * @returns whether the attribute was there (and is now gone).
 * @throws {NoProcError} if there is no such tracker.
 * @throws {TypeError} for a key that is not a string or an id that is not
 *   a table key.
 *
 * @example
 * ```ts
 * import * as tracker from "@steward/steward/tracker";
 * import { receive, spawnLink } from "@steward/steward/process";
 * import assert from "node:assert/strict";
 * await tracker.start("deleting");
 * await tracker.findOrOpen("deleting", {
 *   id: "cam",
 *   start: () => spawnLink(async () => { await receive(); }),
 * });
 * tracker.setAttr("deleting", "cam", "url", "rtsp://cam");
 * assert.equal(tracker.delAttr("deleting", "cam", "url"), true);
 * assert.equal(tracker.delAttr("deleting", "cam", "url"), false);
 * await tracker.stop("deleting");
 * ```
 */
export function delAttr(tracker: Dest, id: unknown, key: string): boolean {
  const op = "delAttr";
  const t = resolve(op, tracker);
  checkKey(op, key);
  const e = t.index.get(id);
  if (e === undefined) {
    checkId(op, id);
    return false;
  }
  if (e.status !== "running" && e.status !== "launching") return false;
  return t.deleteAttr(e, key);
}

/**
 * All attributes of a child (launching, running or terminating), read
 * without a message; `{}` for an unknown id.
 *
 * @param tracker the tracker (name or pid).
 * @param id the child's id.
 * @returns a fresh object of its attributes.
 * @throws {NoProcError} if there is no such tracker.
 * @throws {TypeError} for an id that is not a table key.
 *
 * @example
 * ```ts
 * import * as tracker from "@steward/steward/tracker";
 * import { receive, spawnLink } from "@steward/steward/process";
 * import assert from "node:assert/strict";
 * await tracker.start("listing_attrs");
 * await tracker.findOrOpen("listing_attrs", {
 *   id: "cam",
 *   start: () => spawnLink(async () => { await receive(); }),
 * });
 * tracker.setAttr("listing_attrs", "cam", { a: 1, b: 2 });
 * assert.deepEqual(tracker.attrs("listing_attrs", "cam"), { a: 1, b: 2 });
 * await tracker.stop("listing_attrs");
 * ```
 */
export function attrs(tracker: Dest, id: unknown): Attrs {
  const e = resolve("attrs", tracker).index.get(id);
  if (e === undefined) checkId("attrs", id);
  return attrsObject(e === undefined ? null : e.attrs);
}

/**
 * A child's attributes, only `keys` if given (gen_tracker's `info`); read
 * without a message.
 *
 * @param tracker the tracker (name or pid).
 * @param id the child's id.
 * @param keys the attributes wanted; all if omitted.
 * @returns a fresh object of those that are set.
 * @throws {NoProcError} if there is no such tracker.
 * @throws {TypeError} for malformed keys or id.
 *
 * @example
 * ```ts
 * import * as tracker from "@steward/steward/tracker";
 * import { receive, spawnLink } from "@steward/steward/process";
 * import assert from "node:assert/strict";
 * await tracker.start("informing");
 * await tracker.findOrOpen("informing", {
 *   id: "cam",
 *   start: () => spawnLink(async () => { await receive(); }),
 * });
 * tracker.setAttr("informing", "cam", { a: 1, b: 2 });
 * assert.deepEqual(tracker.info("informing", "cam", ["b", "c"]), { b: 2 });
 * await tracker.stop("informing");
 * ```
 */
export function info(
  tracker: Dest,
  id: unknown,
  keys?: readonly string[],
): Attrs {
  const t = resolve("info", tracker);
  const wanted = checkKeys("info", keys);
  const e = t.index.get(id);
  if (e === undefined) checkId("info", id);
  const a = e === undefined ? null : e.attrs;
  return wanted === undefined ? attrsObject(a) : pick(a, wanted);
}

/**
 * Every running child with its pid and attributes (only `keys` if given),
 * in the order their ids were first opened; read without a message.
 *
 * @param tracker the tracker (name or pid).
 * @param keys the attributes wanted; all if omitted.
 * @returns one row per running child.
 * @throws {NoProcError} if there is no such tracker.
 * @throws {TypeError} for malformed keys.
 *
 * @example
 * ```ts
 * import * as tracker from "@steward/steward/tracker";
 * import { receive, spawnLink } from "@steward/steward/process";
 * import assert from "node:assert/strict";
 * await tracker.start("listing");
 * const start = () => spawnLink(async () => { await receive(); });
 * const a = await tracker.findOrOpen("listing", { id: "a", start });
 * tracker.setAttr("listing", "a", { k1: 1, k2: 2 });
 * assert.deepEqual(tracker.list("listing", ["k1"]), [{ id: "a", pid: a, attrs: { k1: 1 } }]);
 * await tracker.stop("listing");
 * ```
 */
export function list(tracker: Dest, keys?: readonly string[]): ListedChild[] {
  const t = resolve("list", tracker);
  const wanted = checkKeys("list", keys);
  const out: ListedChild[] = [];
  for (const e of t.entries) {
    if (e.status !== "running") continue;
    out.push({
      id: e.id,
      pid: e.pid!,
      attrs: wanted === undefined
        ? attrsObject(e.attrs)
        : pick(e.attrs, wanted),
    });
  }
  return out;
}

/**
 * Adopts a running process as the child `spec.id`: the tracker links to
 * it, tracks it, gives it attributes and runs its afterTerminate when it
 * dies. It is temporary unless `spec.restart` says otherwise (then
 * `spec.start` is how it restarts).
 *
 * @param tracker the tracker (name or pid).
 * @param spec the child spec, with the `pid` to adopt.
 * @param options `signal`: ends the wait (see supervisor.ts's `RequestOptions`).
 * @returns the pid.
 * @throws {TrackerError} (rejects) `"already_started"` (with the running
 *   child's pid), `"already_present"`.
 * @throws {NoProcError} (rejects) if the process is dead, or there is no
 *   such tracker.
 * @throws {ChildSpecError} (rejects) for an invalid spec.
 *
 * @example
 * ```ts
 * import * as tracker from "@steward/steward/tracker";
 * import { receive, spawn } from "@steward/steward/process";
 * import assert from "node:assert/strict";
 * await tracker.start("adopting");
 * const pid = spawn(async () => { await receive(); });
 * await tracker.addExistingChild("adopting", { id: "child1", pid });
 * assert.equal(tracker.find("adopting", "child1"), pid);
 * await tracker.stop("adopting");
 * ```
 */
export async function addExistingChild(
  tracker: Dest,
  spec: ExistingChildSpec,
  options?: RequestOptions,
): Promise<Pid> {
  const op = "addExistingChild";
  const full = normaliseSpec(spec, true);
  const pid = (spec as { pid?: unknown }).pid;
  if (!(pid instanceof Pid)) {
    throw new TypeError(
      `Cannot ${op}: 'pid' must be a Pid, got ${formatTerm(pid)}`,
    );
  }
  return await request(
    op,
    tracker,
    ["addExistingChild", spec.id, full, pid],
    options,
  );
}

/**
 * Lists the children, newest first, read without a message: id, pid (or
 * `"launching"`, `"terminating"`, `"restarting"`; undefined when stopped),
 * type, modules, the start's extra value if any, and for a delayed restart
 * its time (supervisor's {@linkcode ChildInfo}; `supervisor.whichChildren`
 * of a tracker answers the same rows, by a message).
 *
 * @param tracker the tracker (name or pid).
 * @returns one row per child.
 * @throws {NoProcError} if there is no such tracker.
 * @throws {TypeError} for a live process that is not a tracker.
 *
 * @example
 * ```ts
 * import * as tracker from "@steward/steward/tracker";
 * import { receive, spawnLink } from "@steward/steward/process";
 * import assert from "node:assert/strict";
 * await tracker.start("which");
 * const pid = await tracker.findOrOpen("which", {
 *   id: "p1",
 *   start: () => spawnLink(async () => { await receive(); }),
 * });
 * const [row] = tracker.whichChildren("which");
 * assert.equal(row.id, "p1");
 * assert.equal(row.pid, pid);
 * await tracker.stop("which");
 * ```
 */
export function whichChildren(tracker: Dest): ChildInfo[] {
  return whichChildrenIn(resolve("whichChildren", tracker));
}

/**
 * Counts the children as OTP's `count_children`, read without a message:
 * specs (every child the tracker knows), active (running), supervisors and
 * workers (by type).
 *
 * @param tracker the tracker (name or pid).
 * @returns the counts.
 * @throws {NoProcError} if there is no such tracker.
 * @throws {TypeError} for a live process that is not a tracker.
 *
 * @example
 * ```ts
 * import * as tracker from "@steward/steward/tracker";
 * import assert from "node:assert/strict";
 * await tracker.start("counts");
 * assert.deepEqual(tracker.countChildren("counts"), {
 *   specs: 0, active: 0, supervisors: 0, workers: 0,
 * });
 * await tracker.stop("counts");
 * ```
 */
export function countChildren(tracker: Dest): ChildCounts {
  return countChildrenIn(resolve("countChildren", tracker));
}

/**
 * Stops a child (per its `shutdown`) and waits until it is gone and its
 * afterTerminate is done. A temporary child is then forgotten (as after
 * gen_tracker's delete_child); a transient or permanent one stays,
 * stopped, for restartChild (or findOrOpen) to start again. A launching
 * child is stopped once it has started; a restarting one stops restarting.
 * The tracker serves other requests meanwhile.
 *
 * @param tracker the tracker (name or pid).
 * @param id the child's id.
 * @param options `signal`: ends the wait (see supervisor.ts's `RequestOptions`).
 * @throws {TrackerError} (rejects) `"not_found"`.
 * @throws {NoProcError} (rejects) if there is no such tracker.
 *
 * @example
 * ```ts
 * import * as tracker from "@steward/steward/tracker";
 * import { isAlive, receive, spawnLink } from "@steward/steward/process";
 * import assert from "node:assert/strict";
 * await tracker.start("terminating");
 * const pid = await tracker.findOrOpen("terminating", {
 *   id: "p1",
 *   start: () => spawnLink(async () => { await receive(); }),
 * });
 * await tracker.terminateChild("terminating", "p1");
 * assert.equal(isAlive(pid), false);
 * assert.deepEqual(tracker.whichChildren("terminating"), []);
 * await tracker.stop("terminating");
 * ```
 */
export function terminateChild(
  tracker: Dest,
  id: unknown,
  options?: RequestOptions,
): Promise<void> {
  try {
    checkId("terminateChild", id);
  } catch (error) {
    return Promise.reject(error);
  }
  return request("terminateChild", tracker, ["terminateChild", id], options);
}

/**
 * Forgets a stopped or restarting child (OTP's delete_child; a restarting
 * child's restart is cancelled).
 *
 * @param tracker the tracker (name or pid).
 * @param id the child's id.
 * @param options `signal`: ends the wait (see supervisor.ts's `RequestOptions`).
 * @throws {TrackerError} (rejects) `"not_found"`, `"running"` (launching,
 *   running or terminating: terminateChild first).
 * @throws {NoProcError} (rejects) if there is no such tracker.
 *
 * @example
 * ```ts
 * import * as tracker from "@steward/steward/tracker";
 * import { receive, spawnLink } from "@steward/steward/process";
 * import assert from "node:assert/strict";
 * await tracker.start("deleting_children");
 * await tracker.findOrOpen("deleting_children", {
 *   id: "p1",
 *   restart: "permanent",
 *   start: () => spawnLink(async () => { await receive(); }),
 * });
 * await tracker.terminateChild("deleting_children", "p1");
 * assert.equal(tracker.whichChildren("deleting_children").length, 1);
 * await tracker.deleteChild("deleting_children", "p1");
 * assert.equal(tracker.whichChildren("deleting_children").length, 0);
 * await tracker.stop("deleting_children");
 * ```
 */
export function deleteChild(
  tracker: Dest,
  id: unknown,
  options?: RequestOptions,
): Promise<void> {
  try {
    checkId("deleteChild", id);
  } catch (error) {
    return Promise.reject(error);
  }
  return request("deleteChild", tracker, ["deleteChild", id], options);
}

/**
 * Starts a stopped child again, or a restarting one now (not when its
 * delayed restart is due).
 *
 * @param tracker the tracker (name or pid).
 * @param id the child's id.
 * @param options `signal`: ends the wait (see supervisor.ts's `RequestOptions`).
 * @returns the new pid and the start's extra value (supervisor's
 *   {@linkcode StartedChild}, as supervisor's and director's restartChild).
 * @throws {TrackerError} (rejects) `"not_found"`, `"running"`,
 *   `"start_failed"`, `"ignored"`.
 * @throws {NoProcError} (rejects) if there is no such tracker.
 *
 * @example
 * ```ts
 * import * as tracker from "@steward/steward/tracker";
 * import { receive, spawnLink } from "@steward/steward/process";
 * import assert from "node:assert/strict";
 * await tracker.start("restarting");
 * const first = await tracker.findOrOpen("restarting", {
 *   id: "p1",
 *   restart: "transient",
 *   start: () => spawnLink(async () => { await receive(); }),
 * });
 * await tracker.terminateChild("restarting", "p1");
 * const { pid: second } = await tracker.restartChild("restarting", "p1");
 * assert.notEqual(first, second);
 * await tracker.stop("restarting");
 * ```
 */
export function restartChild(
  tracker: Dest,
  id: unknown,
  options?: RequestOptions,
): Promise<StartedChild> {
  try {
    checkId("restartChild", id);
  } catch (error) {
    return Promise.reject(error);
  }
  return request("restartChild", tracker, ["restartChild", id], options);
}

/**
 * Waits until the tracker has handled everything sent to it before (a
 * barrier, as gen_tracker's `wait`).
 *
 * @param tracker the tracker (name or pid).
 * @param options `signal`: ends the wait (see supervisor.ts's `RequestOptions`).
 * @throws {NoProcError} (rejects) if there is no such tracker.
 *
 * @example
 * ```ts
 * import * as tracker from "@steward/steward/tracker";
 * await tracker.start("waiting");
 * await tracker.wait("waiting");
 * await tracker.stop("waiting");
 * ```
 */
export function wait(
  tracker: Dest,
  options?: RequestOptions,
): Promise<void> {
  return request("wait", tracker, ["wait"], options);
}
