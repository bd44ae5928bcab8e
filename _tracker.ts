// The tracker's internals (tracker.ts is the public face: docs, argument
// checks, the functions): child specs and options checked, the state (one
// Entry per child id, the tracker's Trk record), the server loop, and the
// caller-side waits.
//
// Invariants worth knowing before changing anything:
// - An Entry's `pid` is set only while its child runs (find() reads just
//   that), and `found` holds the promise findOrOpen's hits share.
// - Attributes live in the Entry (authoritative) and in the attrs table
//   (for everyone else); the children table mirrors each Entry's status.
//   Both tables are protected: only the tracker writes them, through
//   swapCurrent when the writing code runs in a caller.
// - State changes happen in the server loop, except a launch's completion
//   (launched, on the start's promise) and the attribute writes, which are
//   single synchronous steps; a restart decision that may stop the tracker
//   always runs in the loop (Exited, Done, Due and Retry messages).
// - A child that started runs its afterTerminate exactly once after it
//   dies: from `ending` (exit, terminateChild), terminateAll (the tracker's
//   shutdown), `late` (a start that finished after the tracker stopped) or
//   `died` (the tracker was killed).

import {
  addResource,
  currentProc,
  deliver,
  type DownWatcher,
  kill,
  linkProcs,
  Pid,
  type Proc,
  procOf,
  spawnProc,
  startTimeoutAfterBurst,
  unwatch,
  watch,
} from "./_runtime.ts";
import { applyAs, swapCurrent } from "./_context.ts";
import {
  checkArgs,
  checkModules,
  checkRestart,
  checkShutdown,
  checkSpecObject,
  checkStart,
  checkType,
  failed,
  type Shutdown,
  shutdownAll,
  shutdownChild,
  startChildThen,
  type StartOutcome,
  unlinkAndFlush,
} from "./_child.ts";
import { cancelTimeout, reportLater, startTimeout, Timed } from "./_timers.ts";
import { canMove, type ChildStateTag } from "./_child_table.ts";
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
  request as call,
  then,
} from "./_request.ts";
import { getClock } from "./clock.ts";
import { microtask } from "./_microtask.ts";
import { EventHub } from "./_events.ts";
import { isKey } from "./_term.ts";
import { formatTerm } from "./_format.ts";
import { KeyMap } from "./_key_map.ts";
import {
  ChildRequestError,
  ChildSpecError,
  NoProcError,
  TimeoutError,
} from "./errors.ts";
import * as genServer from "./gen_server.ts";
import * as ets from "./ets.ts";
import type { Dest } from "./process.ts";
import type { Backoff, ChildType, RestartType } from "./supervisor.ts";
import type {
  AfterTerminate,
  Attrs,
  ChildCounts,
  ChildInfo,
  ChildSpec,
  ChildStatus,
  FindOrOpenOptions,
  TrackerEvent,
} from "./tracker.ts";

// --------------------------------------------------------------- errors --

/**
 * Why a tracker request failed:
 * - `"notFound"`: no child has this id;
 * - `"notAlive"`: the child is terminating, restarting or stopped (or its
 *   process has just died), so its attributes cannot change;
 * - `"alreadyStarted"`: addExistingChild for an id that runs (`pid`);
 * - `"alreadyPresent"`: addExistingChild for an id in another status;
 * - `"running"`: deleteChild or restartChild of a child that is launching,
 *   running or terminating;
 * - `"startFailed"`: the start function failed with `reason`;
 * - `"ignored"`: the start function returned `"ignore"`;
 * - `"notACounter"`: increment of a missing attribute (with no default) or
 *   of one that is not a number of the increment's type.
 */
export type TrackerErrorCode =
  | "notFound"
  | "notAlive"
  | "alreadyStarted"
  | "alreadyPresent"
  | "running"
  | "startFailed"
  | "ignored"
  | "notACounter";

/**
 * A tracker request that failed: `code` says why, `reason` carries the
 * child's failure for `"startFailed"`, `pid` the running child for
 * `"alreadyStarted"`, `status` the child's status for `"notAlive"` and
 * `"running"`.
 *
 * @example
 * ```ts
 * import * as tracker from "@steward/steward/tracker";
 * import assert from "node:assert/strict";
 * await tracker.start("errors_demo");
 * assert.throws(
 *   () => tracker.setAttr("errors_demo", "nobody", "k", 1),
 *   (e) => e instanceof tracker.TrackerError && e.code === "notFound",
 * );
 * await tracker.stop("errors_demo");
 * ```
 */
export class TrackerError extends ChildRequestError<TrackerErrorCode> {
  /** The tracker's name. */
  readonly tracker: string;
  /** The child's status (`"notAlive"`, `"running"`), else undefined. */
  readonly status: ChildStatus | undefined;

  /**
   * Creates the error.
   *
   * @param operation the request.
   * @param tracker the tracker's name.
   * @param child the child id it named.
   * @param code why it failed.
   * @param details `reason`, `pid`, `status` and the message's last words.
   */
  constructor(
    operation: string,
    tracker: string,
    child: unknown,
    code: TrackerErrorCode,
    details?: {
      reason?: unknown;
      pid?: Pid;
      status?: ChildStatus;
      why?: string;
    },
  ) {
    super(
      operation,
      child,
      code,
      details,
      `Cannot ${operation} child ${formatTerm(child)} of tracker ${
        JSON.stringify(tracker)
      }: ${details?.why ?? WHY[code]}${
        code === "startFailed" ? ` (${formatTerm(details?.reason)})` : ""
      }`,
    );
    this.name = "TrackerError";
    this.tracker = tracker;
    this.status = details?.status;
  }
}

const WHY: Record<TrackerErrorCode, string> = {
  notFound: "no child has this id",
  notAlive: "the child is not launching or running",
  alreadyStarted: "a child with this id is running",
  alreadyPresent: "a child with this id exists",
  running: "the child is launching, running or terminating",
  startFailed: "its start function failed",
  ignored: 'its start function returned "ignore"',
  notACounter: "the attribute is not a counter",
};

/** Every tracker's event stream (subscribe). */
export const events = new EventHub<TrackerEvent>();

// ----------------------------------------------------------- validation --

/**
 * A child spec with every key filled in, without its id (so that one
 * object serves every child opened with the same spec: see normaliseSpec).
 */
export interface FullSpec {
  readonly start: ((...args: unknown[]) => unknown) | undefined;
  readonly args: readonly unknown[];
  readonly restart: RestartType;
  readonly shutdown: Shutdown;
  readonly type: ChildType;
  readonly modules: readonly string[] | "dynamic";
  readonly afterTerminate: AfterTerminate | undefined;
}

function specError(key: string, reason: unknown, why: string): ChildSpecError {
  return new ChildSpecError(key, reason, `Invalid child spec: ${why}`);
}

/** A frozen deep copy of a valid key (arrays copied, so callers keep theirs). */
export function copyKey(key: unknown): unknown {
  return Array.isArray(key) ? Object.freeze(key.map(copyKey)) : key;
}

/** The last spec normaliseSpec checked, and its result. */
const lastSpec: Record<string, unknown> = {};
let lastFull: FullSpec | null = null;

/**
 * Checks a child spec (OTP's checks, in OTP's order, as the supervisor's)
 * and fills in the defaults; the id is checked, not kept. `existing`: an
 * addExistingChild spec (a pid, and `start` only needed to restart).
 *
 * Opens usually repeat one spec with another id, so the last spec's result
 * is reused when every key but the id is the same (`===`): one object
 * fewer kept per child.
 */
export function normaliseSpec(spec: unknown, existing: boolean): FullSpec {
  if (
    !existing && lastFull !== null && spec !== null && typeof spec === "object"
  ) {
    const s = spec as Record<string, unknown>;
    if (
      s.start === lastSpec.start && s.args === lastSpec.args &&
      s.restart === lastSpec.restart && s.shutdown === lastSpec.shutdown &&
      s.type === lastSpec.type && s.modules === lastSpec.modules &&
      s.afterTerminate === lastSpec.afterTerminate && isKey(s.id) &&
      unchangeable(s.args) && unchangeable(s.modules)
    ) {
      return lastFull;
    }
  }
  const full = checkSpec(spec, existing);
  if (!existing) {
    const s = spec as Record<string, unknown>;
    lastSpec.start = s.start;
    lastSpec.args = s.args;
    lastSpec.restart = s.restart;
    lastSpec.shutdown = s.shutdown;
    lastSpec.type = s.type;
    lastSpec.modules = s.modules;
    lastSpec.afterTerminate = s.afterTerminate;
    lastFull = full;
  }
  return full;
}

/** Whether a spec value cannot have changed since it was checked. */
function unchangeable(x: unknown): boolean {
  return x === undefined || typeof x === "string" || Object.isFrozen(x);
}

function checkSpec(spec: unknown, existing: boolean): FullSpec {
  const s = checkSpecObject(
    spec,
    "a number, string, boolean, null, bigint, Pid, Ref or an array of those",
  );
  if (!isKey(s.id)) {
    throw specError(
      "id",
      { invalidId: s.id },
      `'id' must be a number, string, boolean, null, bigint, Pid, Ref or an array of those, got ${
        formatTerm(s.id)
      }`,
    );
  }
  // Only for messages: formatting costs more than the whole check.
  const name = () => formatTerm(s.id);
  const restart = checkRestart(s.restart ?? "temporary", s.id);
  if (s.start === undefined && !(existing && restart === "temporary")) {
    throw specError(
      "start",
      "missingStart",
      existing
        ? `child ${name()}: 'start' is needed to restart a ${restart} child`
        : `child ${name()}: 'start' is missing`,
    );
  }
  if (s.start !== undefined) checkStart(s.start, s.id);
  const args = checkArgs(s.args ?? [], s.id);
  const type = checkType(s.type ?? "worker", s.id);
  const shutdown = checkShutdown(
    s.shutdown ?? (type === "worker" ? 5000 : "infinity"),
    s.id,
  );
  const modules = checkModules(s.modules ?? EMPTY, s.id);
  const afterTerminate = s.afterTerminate;
  if (afterTerminate !== undefined && typeof afterTerminate !== "function") {
    throw specError(
      "afterTerminate",
      { invalidAfterTerminate: afterTerminate },
      `child ${name()}: 'afterTerminate' must be a function, got ${
        formatTerm(afterTerminate)
      }`,
    );
  }
  return Object.freeze({
    start: s.start as FullSpec["start"],
    args: args.length === 0 ? EMPTY_ARGS : Object.freeze([...args]),
    restart,
    shutdown,
    type,
    modules: modules as FullSpec["modules"],
    afterTerminate: afterTerminate as AfterTerminate | undefined,
  });
}

const EMPTY: readonly string[] = Object.freeze([]);
const EMPTY_ARGS: readonly unknown[] = Object.freeze([]);

/** The tracker's options, checked, with defaults. */
export interface Options {
  readonly afterTerminate: AfterTerminate | undefined;
  readonly afterTerminateTimeout: number;
  readonly intensity: number;
  readonly periodMs: number;
  readonly backoff: Required<Backoff> | null;
}

const OPTION_KEYS = new Set([
  "afterTerminate",
  "afterTerminateTimeout",
  "intensity",
  "period",
  "backoff",
]);

function optionError(op: string, key: string, what: string, got: unknown) {
  return new TypeError(
    `Cannot ${op} tracker: '${key}' must be ${what}, got ${formatTerm(got)}`,
  );
}

function optionRange(op: string, key: string, what: string, got: unknown) {
  return new RangeError(
    `Cannot ${op} tracker: '${key}' must be ${what}, got ${formatTerm(got)}`,
  );
}

function number(
  op: string,
  key: string,
  value: unknown,
  ok: (n: number) => boolean,
  what: string,
): number {
  if (typeof value !== "number" || Number.isNaN(value)) {
    throw optionError(op, key, what, value);
  }
  if (!ok(value)) throw optionRange(op, key, what, value);
  return value;
}

export function normaliseOptions(op: string, options: unknown): Options {
  if (options === undefined) options = {};
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `Cannot ${op} tracker: 'options' must be an object, got ${
        formatTerm(options)
      }`,
    );
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) {
      throw new TypeError(
        `Cannot ${op} tracker: unknown option ${JSON.stringify(key)} (known: ${
          [...OPTION_KEYS].join(", ")
        })`,
      );
    }
  }
  const o = options as Record<string, unknown>;
  if (
    o.afterTerminate !== undefined && typeof o.afterTerminate !== "function"
  ) {
    throw optionError(op, "afterTerminate", "a function", o.afterTerminate);
  }
  const afterTerminateTimeout = number(
    op,
    "afterTerminateTimeout",
    o.afterTerminateTimeout ?? 5000,
    (n) => n >= 0,
    "a number of ms >= 0 or Infinity",
  );
  const intensity = number(
    op,
    "intensity",
    o.intensity ?? 3,
    (n) => Number.isInteger(n) && n >= 0,
    "a whole number >= 0",
  );
  const period = number(
    op,
    "period",
    o.period ?? 5,
    (n) => n > 0 && Number.isFinite(n),
    "a finite number of seconds > 0",
  );
  let backoff: Required<Backoff> | null = null;
  if (o.backoff !== undefined) {
    const b = o.backoff as Record<string, unknown>;
    if (b === null || typeof b !== "object") {
      throw optionError(
        op,
        "backoff",
        "an object { initial, max, factor?, jitter? }",
        b,
      );
    }
    const initial = number(
      op,
      "backoff.initial",
      b.initial,
      (n) => n >= 0 && Number.isFinite(n),
      "a finite number of ms >= 0",
    );
    const max = number(
      op,
      "backoff.max",
      b.max,
      (n) => n >= initial && Number.isFinite(n),
      "a finite number of ms >= backoff.initial",
    );
    const factor = number(
      op,
      "backoff.factor",
      b.factor ?? 2,
      (n) => n >= 1 && Number.isFinite(n),
      "a finite number >= 1",
    );
    const jitter = number(
      op,
      "backoff.jitter",
      b.jitter ?? 0,
      (n) => n >= 0 && n <= 1,
      "a number from 0 to 1",
    );
    backoff = { initial, max, factor, jitter };
  }
  return {
    afterTerminate: o.afterTerminate as AfterTerminate | undefined,
    afterTerminateTimeout,
    intensity,
    periodMs: period * 1000,
    backoff,
  };
}

export function checkTimeout(op: string, timeout: unknown): number {
  if (typeof timeout !== "number" || Number.isNaN(timeout)) {
    throw new TypeError(
      `Cannot ${op}: 'timeout' must be a number of ms >= 0 or Infinity, got ${
        formatTerm(timeout)
      }`,
    );
  }
  if (timeout < 0) {
    throw new RangeError(
      `Cannot ${op}: 'timeout' must be a number of ms >= 0 or Infinity, got ${timeout}`,
    );
  }
  return timeout;
}

export function checkSignal(
  op: string,
  signal: unknown,
): AbortSignal | undefined {
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(
      `Cannot ${op}: 'signal' must be an AbortSignal, got ${
        formatTerm(signal)
      }`,
    );
  }
  return signal;
}

export function checkOptionsObject(op: string, options: unknown): void {
  if (
    options !== undefined && (options === null || typeof options !== "object")
  ) {
    throw new TypeError(
      `Cannot ${op}: 'options' must be an object, got ${formatTerm(options)}`,
    );
  }
}

export function checkKey(op: string, key: unknown): string {
  if (typeof key !== "string") {
    throw new TypeError(
      `Cannot ${op}: 'key' must be a string, got ${formatTerm(key)}`,
    );
  }
  return key;
}

export function checkId(op: string, id: unknown): void {
  if (!isKey(id)) {
    throw new TypeError(
      `Cannot ${op}: 'id' must be a number, string, boolean, null, bigint, Pid, Ref or an array of those, got ${
        formatTerm(id)
      }`,
    );
  }
}

// ---------------------------------------------------------------- state --

/**
 * One launch of a child (stale completions are told apart by it): `"new"`
 * for an id that had no child, `"restart"` for a restart, `"start"` for a
 * stopped child started again.
 */
class Launch {
  constructor(readonly kind: "new" | "restart" | "start") {}
}

/**
 * One child id. The same entry lives on across restarts and successive
 * temporary children of the id while callers keep it busy; it is removed
 * when the id has no child and nobody waits.
 */
export class Entry implements DownWatcher {
  /** A watch on the running child, set by nobody's monitor (see down). */
  readonly owner = null;
  status: ChildStatus = "stopped"; // until launched (at once) or adopted
  /** The pid, while running (and only then: find() reads just this). */
  pid: Pid | undefined = undefined;
  /** A promise of `pid`, shared by findOrOpen's hits (see setPid). */
  found: Promise<Pid> | null = null;
  extra: unknown = undefined;
  /** This incarnation's attributes (null: none set). */
  attrs: Map<string, unknown> | null = null;
  /** Callers waiting for a pid. */
  waiters: Open[] | null = null;
  /** terminateChild callers waiting for the child to be gone. */
  stoppers: genServer.From[] | null = null;
  /** The launch in progress. */
  launch: Launch | null = null;
  /** The spec of the next fresh launch (a temporary child's successor). */
  next: FullSpec | null = null;
  /** Pending while terminating: the shutdown, then the afterTerminate. */
  ending: Promise<void> | null = null;
  /** A pending restart (delayed, or a retry at once). */
  pending: PendingRestart | null = null;
  /** Consecutive restarts, for the backoff. */
  failures = 0;
  startedAt = 0;
  /** Whether the children table has a row for it. */
  row = false;
  /** Whether that row's spec columns are an older spec's (rewrite it). */
  rowStale = false;

  constructor(
    readonly trk: Trk,
    readonly id: unknown,
    public spec: FullSpec,
  ) {}

  /**
   * The running child died: the tracker hears of it by a message naming
   * the entry and the pid. A watch rather than the link's EXIT (it still
   * comes, and is dropped): no pid-to-entry map to keep per child.
   */
  down(child: Proc, reason: unknown): void {
    deliver(this.trk.proc, new Exited(this, child.pid, reason));
  }
}

/** A running child died (Entry.down). */
class Exited {
  constructor(
    readonly entry: Entry,
    readonly pid: Pid,
    readonly reason: unknown,
  ) {}
}

/** A child is gone and its afterTerminate is done: finish its entry. */
class Done {
  constructor(
    readonly entry: Entry,
    readonly reason: unknown,
    readonly how: How,
  ) {}
}

/**
 * A child's status as a state of the shared child lifecycle
 * (_child_table.ts): launching is its `"starting"`.
 */
const STATE_OF: Readonly<Record<ChildStatus, ChildStateTag>> = {
  launching: "starting",
  running: "running",
  restarting: "restarting",
  terminating: "terminating",
  stopped: "stopped",
};

/** Moves `e` to `status`: a legal move of the child lifecycle, or a bug. */
function moveStatus(e: Entry, status: ChildStatus): void {
  if (!canMove(STATE_OF[e.status], STATE_OF[status])) {
    throw new Error(
      `Steward internal error: a tracker child cannot go from ${e.status} to ${status}`,
    );
  }
  e.status = status;
}

/** How a child ended: it exited by itself, or it was terminated. */
type How = "exit" | "terminate";

/** Tells the server loop to stop with "shutdown" (intensity reached). */
const STOP = Symbol("stop");
type Step = typeof STOP | undefined;

/** A getAttr waiting for an attribute to be set. */
export class AttrWait extends Timed {
  done = false;
  #onAbort: (() => void) | null = null;

  constructor(
    readonly trk: Trk,
    readonly id: unknown,
    readonly key: string,
    readonly timeout: number,
    readonly signal: AbortSignal | undefined,
    readonly resolve: (value: unknown) => void,
    readonly reject: (error: unknown) => void,
  ) {
    super();
    if (signal !== undefined) {
      this.#onAbort = () => this.fail(signal.reason);
      signal.addEventListener("abort", this.#onAbort, { once: true });
    }
  }

  #end(): boolean {
    if (this.done) return false;
    this.done = true;
    cancelTimeout(this);
    if (this.#onAbort !== null) {
      this.signal!.removeEventListener("abort", this.#onAbort);
    }
    this.trk.dropAttrWait(this);
    return true;
  }

  ok(value: unknown): void {
    if (this.#end()) this.resolve(value);
  }

  fail(error: unknown): void {
    if (this.#end()) this.reject(error);
  }

  expire(): void {
    this.fail(
      new TimeoutError(
        `getAttr ${JSON.stringify(this.key)} of child ${
          formatTerm(this.id)
        } in tracker ${
          JSON.stringify(this.trk.name)
        } timed out after ${this.timeout} ms`,
        this.timeout,
      ),
    );
  }
}

/** Runs an afterTerminate in a process of its own, with a timeout. */
class AfterTerminateRun extends Timed implements DownWatcher {
  readonly owner = null;
  timedOut = false;
  helper: Proc | null = null;
  #resolve: () => void = () => {};
  readonly promise: Promise<void>;

  constructor(
    readonly trk: Trk,
    readonly id: unknown,
    fn: AfterTerminate,
    attrs: Attrs,
    reason: unknown,
  ) {
    super();
    this.promise = new Promise((resolve) => this.#resolve = resolve);
    const helper = spawnProc(
      (pid) => applyAs(procOf(pid), fn as never, [id, attrs, reason]),
      null,
    );
    this.helper = helper;
    watch(helper, this);
    const ms = trk.options.afterTerminateTimeout;
    if (ms !== Infinity) startTimeout(this, ms);
  }

  down(_helper: Proc, reason: unknown): void {
    cancelTimeout(this);
    if (reason !== "normal") {
      const why = this.timedOut ? "timeout" : reason;
      console.error(
        `Steward: afterTerminate of child ${formatTerm(this.id)} in tracker ${
          JSON.stringify(this.trk.name)
        } failed:`,
        why,
      );
      this.trk.emit({
        type: "after_terminate_failed",
        id: this.id,
        reason: why,
      });
    }
    this.#resolve();
  }

  expire(): void {
    this.timedOut = true;
    const helper = this.helper!;
    // Killed: its watch fires (synchronously), reporting the timeout.
    kill(helper, "killed");
  }
}

/** A tracker's state (the gen_server state). */
export class Trk {
  readonly pid: Pid;
  /** Entries by id: the index find() reads. */
  readonly index: KeyMap<Entry> = new KeyMap();
  /** Every entry, in the order their ids were first opened. */
  readonly entries: Set<Entry> = new Set();
  /** Restart times in the intensity window. */
  readonly restarts = restartWindow();
  /** getAttr waiters by id, then key. */
  attrWaits: KeyMap<Map<string, AttrWait[]>> | null = null;
  /** Every getAttr waiter. */
  readonly allAttrWaits: Set<AttrWait> = new Set();
  /** Launching entries whose row the queued flush writes (rowLater). */
  unrowed: Entry[] = [];
  /** Launching entries for the flush after that one. */
  unrowedNext: Entry[] = [];
  /** A flush is queued. */
  rowsQueued = false;
  readonly #flushRows = () => this.flushRows();
  /** Terminating its children (terminate/2): no more launches. */
  stopping = false;
  /** The process is dead (the tables with it). */
  dead = false;

  constructor(
    readonly name: string,
    readonly proc: Proc,
    readonly options: Options,
    readonly children: ets.Table,
    readonly attrTable: ets.Table,
  ) {
    this.pid = proc.pid;
  }

  emit(event: DistributiveOmit<TrackerEvent, "tracker" | "name" | "time">) {
    if (!events.active) return;
    events.emit(
      {
        ...event,
        tracker: this.pid,
        name: this.name,
        time: getClock().now(),
      } as TrackerEvent,
    );
  }

  // -- the tables (written as the tracker: they are protected) --

  /** Writes the child's row: its pid, or its status. */
  setRow(e: Entry, value: Pid | ChildStatus): void {
    if (this.dead) return;
    const previous = swapCurrent(this.proc);
    try {
      if (e.row && !e.rowStale) {
        this.children.updateElement(e.id, [1, value]);
      } else {
        const s = e.spec;
        this.children.insert([
          e.id,
          value,
          s.restart,
          s.shutdown,
          s.type,
          s.modules,
        ]);
        e.row = true;
        e.rowStale = false;
      }
    } finally {
      swapCurrent(previous);
    }
  }

  putAttr(e: Entry, key: string, value: unknown): void {
    (e.attrs ??= new Map()).set(key, value);
    const previous = swapCurrent(this.proc);
    try {
      this.attrTable.insert([[e.id, key], value]);
    } finally {
      swapCurrent(previous);
    }
    if (this.attrWaits !== null) this.wakeAttr(e.id, key, value);
  }

  deleteAttr(e: Entry, key: string): boolean {
    if (e.attrs === null || !e.attrs.delete(key)) return false;
    const previous = swapCurrent(this.proc);
    try {
      this.attrTable.delete([e.id, key]);
    } finally {
      swapCurrent(previous);
    }
    return true;
  }

  /** Drops an incarnation's attributes (they never outlive it). */
  dropAttrs(e: Entry): void {
    const attrs = e.attrs;
    if (attrs === null) return;
    e.attrs = null;
    if (this.dead) return;
    const previous = swapCurrent(this.proc);
    try {
      for (const key of attrs.keys()) this.attrTable.delete([e.id, key]);
    } finally {
      swapCurrent(previous);
    }
  }

  // -- getAttr waiters --

  addAttrWait(w: AttrWait): void {
    this.allAttrWaits.add(w);
    const waits = this.attrWaits ??= new KeyMap();
    let byKey = waits.get(w.id);
    if (byKey === undefined) waits.set(w.id, byKey = new Map());
    const list = byKey.get(w.key);
    if (list === undefined) byKey.set(w.key, [w]);
    else list.push(w);
  }

  dropAttrWait(w: AttrWait): void {
    this.allAttrWaits.delete(w);
    const byKey = this.attrWaits?.get(w.id);
    const list = byKey?.get(w.key);
    if (list === undefined) return;
    const i = list.indexOf(w);
    if (i >= 0) list.splice(i, 1);
    if (list.length > 0) return;
    byKey!.delete(w.key);
    if (byKey!.size > 0) return;
    this.attrWaits!.delete(w.id);
    if (this.attrWaits!.size === 0) this.attrWaits = null;
  }

  wakeAttr(id: unknown, key: string, value: unknown): void {
    const list = this.attrWaits!.get(id)?.get(key);
    if (list !== undefined) { for (const w of [...list]) w.ok(value); }
  }

  // -- entries --

  newEntry(id: unknown, spec: FullSpec): Entry {
    const e = new Entry(this, copyKey(id), spec);
    this.index.set(e.id, e);
    this.entries.add(e);
    return e;
  }

  /** Forgets an id: its row, attributes and timer go. */
  remove(e: Entry): void {
    if (!this.entries.delete(e)) return;
    this.index.delete(e.id);
    this.cancelTimer(e);
    this.dropAttrs(e);
    if (e.row && !this.dead) {
      const previous = swapCurrent(this.proc);
      try {
        this.children.delete(e.id);
      } finally {
        swapCurrent(previous);
      }
    }
    e.row = false;
    this.emit({ type: "child_removed", id: e.id });
  }

  cancelTimer(e: Entry): void {
    if (e.pending !== null) {
      cancelPending(e.pending);
      e.pending = null;
    }
  }

  /** Answers the callers waiting for a pid. */
  answer(e: Entry, value: unknown): void {
    const waiters = e.waiters;
    if (waiters === null) return;
    e.waiters = null;
    for (const w of waiters) genServer.reply(w.from!, value);
  }

  /** Answers the terminateChild callers. */
  stopped(e: Entry): void {
    const stoppers = e.stoppers;
    if (stoppers === null) return;
    e.stoppers = null;
    for (const from of stoppers) genServer.reply(from, undefined);
  }

  // -- launching --

  /**
   * Starts the child of `e` with `spec`. The start function runs as the
   * tracker (so startLink links the child to it); a start that returns a
   * promise leaves the child launching while the tracker serves others.
   */
  launch(e: Entry, spec: FullSpec, kind: Launch["kind"]): void {
    if (spec !== e.spec) {
      e.spec = spec;
      e.rowStale = e.row; // its row's spec columns are another spec's
    }
    moveStatus(e, "launching");
    setPid(e, undefined);
    e.next = null;
    const launch = e.launch = new Launch(kind);
    const done = startChildThen(
      this.proc,
      spec.start!,
      spec.args,
      (outcome) => {
        // Runs later for a start that returned a promise: as the tracker,
        // so its table writes and replies are its own.
        const previous = swapCurrent(this.proc);
        try {
          this.launched(e, launch, outcome);
        } catch (error) {
          reportLater(error);
        } finally {
          swapCurrent(previous);
        }
      },
    );
    if (!done && e.launch === launch) {
      // A new id's row waits (rowLater); an existing row says it at once.
      if (e.row) this.setRow(e, "launching");
      else this.rowLater(e);
    }
  }

  /**
   * A child still launching gets its "launching" row a few microtasks
   * later, if it is still launching then. Most starts (a gen_server's
   * init that returns at once) are done by then: their first row is the
   * running one, and the table is written once instead of twice (a write
   * costs about as much as the rest of an open).
   */
  rowLater(e: Entry): void {
    if (!this.rowsQueued) {
      this.unrowed.push(e);
      this.rowsQueued = true;
      afterHops(ROW_HOPS, this.#flushRows);
    } else {
      // Every entry waits the whole delay: it goes to the next flush.
      this.unrowedNext.push(e);
    }
  }

  flushRows(): void {
    const entries = this.unrowed;
    this.unrowed = this.unrowedNext;
    this.unrowedNext = entries.length > 0 ? [] : entries;
    this.rowsQueued = this.unrowed.length > 0;
    if (this.rowsQueued) afterHops(ROW_HOPS, this.#flushRows);
    const previous = swapCurrent(this.proc);
    try {
      for (const e of entries) {
        if (e.status === "launching" && !e.row && this.entries.has(e)) {
          this.setRow(e, "launching");
        }
      }
    } catch (error) {
      reportLater(error);
    } finally {
      swapCurrent(previous);
    }
  }

  /** A start finished (see launch). May run outside the server loop. */
  launched(e: Entry, launch: Launch, outcome: StartOutcome): void {
    if (e.launch !== launch || this.stopping || this.dead) {
      // The tracker is stopping or gone: a child that started anyway ends
      // now, and gets its afterTerminate.
      if (e.launch === launch) e.launch = null;
      if (typeof outcome === "object" && "pid" in outcome) {
        this.late(e, outcome.pid);
      }
      return;
    }
    e.launch = null;
    if (failed(outcome)) return this.launchFailed(e, launch, outcome.error);
    if (outcome === "ignore") {
      this.answer(e, this.failure("findOrOpen", e, "ignored"));
      this.stopped(e);
      if (launch.kind === "start") this.toStopped(e);
      else this.remove(e);
      return;
    }
    const pid = outcome.pid;
    moveStatus(e, "running");
    setPid(e, pid);
    e.extra = outcome.extra;
    if (this.options.backoff !== null) e.startedAt = getClock().now();
    this.setRow(e, pid);
    this.emit({
      type: launch.kind === "restart" ? "child_restarted" : "child_started",
      id: e.id,
      pid,
    });
    const proc = procOf(pid);
    if (proc.dead) {
      // Died before we got here (its EXIT, if any, is dropped).
      const reason = unlinkAndFlush(this.proc, pid, proc.reason);
      deliver(this.proc, new Exited(e, pid, reason));
    } else watch(proc, e);
    this.answer(e, pid);
    if (e.stoppers !== null) this.terminateRunning(e);
  }

  launchFailed(e: Entry, launch: Launch, reason: unknown): void {
    const restart = launch.kind === "restart";
    this.emit({
      type: restart ? "restart_failed" : "start_failed",
      id: e.id,
      reason,
    });
    this.answer(
      e,
      this.failure("findOrOpen", e, "startFailed", { reason }),
    );
    if (restart && e.stoppers === null) {
      // A restart that failed: try again (counted against the intensity).
      this.dropAttrs(e);
      this.retryLater(e);
      return;
    }
    this.stopped(e);
    if (launch.kind === "new") this.remove(e);
    else this.toStopped(e);
  }

  retryLater(e: Entry): void {
    moveStatus(e, "restarting");
    this.setRow(e, "restarting");
    if (this.options.backoff !== null) this.delay(e);
    else e.pending = retrySoon(this.proc, e, undefined);
  }

  /** A permanent or transient child that stays down until restarted. */
  toStopped(e: Entry): void {
    this.cancelTimer(e);
    moveStatus(e, "stopped");
    setPid(e, undefined);
    this.dropAttrs(e);
    this.setRow(e, "stopped");
  }

  /** A child that started after the tracker began stopping: ended now. */
  late(e: Entry, pid: Pid): void {
    const r = shutdownChild(this.proc, pid, e.spec.shutdown);
    const at = this.afterTerminateOf(e);
    if (at === undefined) return;
    const attrs = attrsObject(e.attrs);
    void then(
      r,
      (reason) => new AfterTerminateRun(this, e.id, at, attrs, reason).promise,
    );
  }

  failure(
    op: string,
    e: Entry,
    code: TrackerErrorCode,
    details?: { reason?: unknown; pid?: Pid; status?: ChildStatus },
  ): Failure {
    return new Failure(new TrackerError(op, this.name, e.id, code, details));
  }

  // -- endings --

  afterTerminateOf(e: Entry): AfterTerminate | undefined {
    return e.spec.afterTerminate ?? this.options.afterTerminate;
  }

  /**
   * The child of `e` is dead (`reason`) or being shut down (a promise of
   * its reason): `e` is terminating until its afterTerminate is done, then
   * finished. Finishes at once when nothing is pending and `inLoop` (only
   * the server loop may stop the tracker).
   */
  ending(
    e: Entry,
    reason: unknown,
    how: How,
    inLoop: boolean,
  ): Step {
    moveStatus(e, "terminating");
    setPid(e, undefined);
    this.setRow(e, "terminating");
    const at = this.afterTerminateOf(e);
    if (at === undefined && !(reason instanceof Promise) && inLoop) {
      return this.finished(e, reason, how);
    }
    e.ending = this.end(e, at, reason, how);
    return undefined;
  }

  async end(
    e: Entry,
    at: AfterTerminate | undefined,
    reasonOrPromise: unknown,
    how: How,
  ): Promise<void> {
    const reason = await reasonOrPromise;
    if (at !== undefined) {
      await new AfterTerminateRun(this, e.id, at, attrsObject(e.attrs), reason)
        .promise;
    }
    if (!this.stopping && !this.dead) {
      deliver(this.proc, new Done(e, reason, how));
    }
  }

  /**
   * `e`'s child is gone and its afterTerminate done: its attributes go,
   * then it restarts, stops, is removed, or (callers waiting) a fresh child
   * starts.
   */
  finished(e: Entry, reason: unknown, how: How): Step {
    e.ending = null;
    this.dropAttrs(e);
    const restart = e.spec.restart;
    if (e.stoppers !== null) {
      how = "terminate";
      this.stopped(e);
    }
    if (how === "terminate" || exitAction(restart, reason) !== "restart") {
      // Terminated: kept (temporary: removed); exited: forgotten.
      const keep = how === "terminate" && restart !== "temporary";
      if (e.waiters !== null) {
        // Callers came while it was ending: a fresh child for them.
        this.launch(e, e.next ?? e.spec, keep ? "start" : "new");
        return undefined;
      }
      if (keep) this.toStopped(e);
      else this.remove(e);
      return undefined;
    }
    if (this.options.backoff !== null) {
      if (getClock().now() - e.startedAt >= this.options.backoff.max) {
        e.failures = 0;
      }
      moveStatus(e, "restarting");
      this.setRow(e, "restarting");
      this.delay(e);
      return undefined;
    }
    return this.restart(e);
  }

  // -- restarts --

  /** Records a restart; false if that exceeds the intensity. */
  addRestart(): boolean {
    const o = this.options;
    return addRestart(this.restarts, getClock().now(), o.periodMs, o.intensity);
  }

  restart(e: Entry): Step {
    if (!this.addRestart()) {
      this.emit({
        type: "gave_up",
        id: e.id,
        reason: "reached_max_restart_intensity",
      });
      this.remove(e);
      return STOP;
    }
    this.launch(e, e.spec, "restart");
    return undefined;
  }

  delay(e: Entry): void {
    const delay = backoffDelay(this.options.backoff!, e.failures);
    e.failures++;
    this.cancelTimer(e);
    const timer = startRestartTimer(this.proc, e, getClock().now(), delay);
    e.pending = timer;
    this.emit({
      type: "restart_delayed",
      id: e.id,
      delay,
      restartAt: timer.at,
    });
  }

  tryAgain(e: Entry): Step {
    if (!this.entries.has(e) || e.status !== "restarting") return undefined;
    this.cancelTimer(e);
    return this.restart(e);
  }

  // -- terminating children --

  /** Shuts a running child down (terminateChild). */
  terminateRunning(e: Entry): void {
    const pid = e.pid!;
    // Its death is the shutdown's to report: no Exited message (they would
    // pile up before the EXIT that shutdownChild takes from the mailbox).
    unwatch(procOf(pid), e);
    const r = shutdownChild(this.proc, pid, e.spec.shutdown);
    const reason = then(r, (reason) => {
      this.emit({ type: "child_terminated", id: e.id, pid, reason });
      return reason;
    });
    this.ending(e, reason, "terminate", false);
  }

  /** The tracker stops: every child is shut down, all at once. */
  async terminateAll(): Promise<void> {
    this.stopping = true;
    const pending: Promise<unknown>[] = [];
    const groups = new Map<Shutdown, Entry[]>();
    for (const e of this.entries) {
      switch (e.status) {
        case "running": {
          let g = groups.get(e.spec.shutdown);
          if (g === undefined) groups.set(e.spec.shutdown, g = []);
          g.push(e);
          break;
        }
        case "terminating":
          if (e.ending !== null) pending.push(e.ending);
          break;
        case "restarting":
          this.cancelTimer(e);
          break;
      }
    }
    for (const [shutdown, group] of groups) {
      const pids = group.map((e) => {
        const pid = e.pid!;
        unwatch(procOf(pid), e); // see terminateRunning
        moveStatus(e, "terminating");
        setPid(e, undefined);
        return pid;
      });
      pending.push(
        shutdownAll(this.proc, pids, shutdown).then((reasons) =>
          Promise.all(group.map((e, i) => {
            const reason = reasons[i];
            this.emit({
              type: "child_terminated",
              id: e.id,
              pid: pids[i],
              reason,
            });
            const at = this.afterTerminateOf(e);
            return at === undefined ? undefined : new AfterTerminateRun(
              this,
              e.id,
              at,
              attrsObject(e.attrs),
              reason,
            ).promise;
          }))
        ),
      );
    }
    await Promise.all(pending);
  }

  /**
   * The tracker's process died (a resource hook: before its tables go and
   * its links hear of it). Killed without terminate running, its running
   * children still get their afterTerminate when they die.
   */
  died(): void {
    this.dead = true;
    if (registry.get(this.name) === this) registry.delete(this.name);
    byTrackerPid.delete(this.pid);
    if (this.allAttrWaits.size > 0) {
      // Rejected on a later microtask: user code never runs in a death.
      const all = [...this.allAttrWaits];
      const error = new NoProcError("getAttr", this.name);
      microtask(() => {
        for (const w of all) w.fail(error);
      });
    }
    for (const e of this.entries) {
      this.cancelTimer(e);
      if (e.status !== "running") continue;
      moveStatus(e, "terminating");
      const at = this.afterTerminateOf(e);
      if (at === undefined) continue;
      const attrs = attrsObject(e.attrs);
      const child = procOf(e.pid!);
      const run = (reason: unknown) =>
        void new AfterTerminateRun(this, e.id, at, attrs, reason);
      if (child.dead) run(child.reason);
      else watch(child, { owner: null, down: (_p, reason) => run(reason) });
    }
  }
}

/** Microtask hops before a launching child's row is written (rowLater). */
const ROW_HOPS = 8;

function afterHops(hops: number, fn: () => void): void {
  if (hops === 0) fn();
  else microtask(() => afterHops(hops - 1, fn));
}

/** Sets a child's pid (undefined: not running), dropping the old promise. */
function setPid(e: Entry, pid: Pid | undefined): void {
  e.pid = pid;
  e.found = null;
}

export function attrsObject(attrs: Map<string, unknown> | null): Attrs {
  const out: Attrs = {};
  if (attrs !== null) { for (const [k, v] of attrs) out[k] = v; }
  return out;
}

/** Trackers by name and by pid, for the functions that send no message. */
export const registry = new Map<string, Trk>();
const byTrackerPid = new Map<Pid, Trk>();

/** The tracker `tracker` names, or undefined (no errors: the hot path). */
export function registryLookup(tracker: unknown): Trk | undefined {
  return typeof tracker === "string"
    ? registry.get(tracker)
    : tracker instanceof Pid
    ? byTrackerPid.get(tracker)
    : undefined;
}

export function resolve(op: string, tracker: unknown): Trk {
  let t: Trk | undefined;
  if (typeof tracker === "string") t = registry.get(tracker);
  else if (tracker instanceof Pid) t = byTrackerPid.get(tracker);
  else {
    throw new TypeError(
      `Cannot ${op}: 'tracker' must be a tracker's name or Pid, got ${
        formatTerm(tracker)
      }`,
    );
  }
  if (t === undefined) throw new NoProcError(op, tracker);
  return t;
}

// ----------------------------------------------------------- the server --

export { Failure };

/**
 * A caller waiting for a child's pid: findOrOpen's request (its identity
 * names the waiter, for Cancel), or restartChild's. The tracker sets `from`
 * when it queues it.
 */
export class Open {
  from: genServer.From | null = null;
  constructor(readonly id: unknown, readonly spec: FullSpec) {}
}

/** Cast by a findOrOpen that gave up (timeout, abort). */
class Cancel {
  constructor(readonly open: Open) {}
}

/** The reply to a cancelled findOrOpen (ends its call; nobody sees it). */
const CANCELLED = Symbol("cancelled");

type Request =
  | readonly ["terminateChild", unknown]
  | readonly ["deleteChild", unknown]
  | readonly ["restartChild", unknown]
  | readonly ["addExistingChild", unknown, FullSpec, Pid]
  | readonly ["whichChildren"]
  | readonly ["countChildren"]
  | readonly ["wait"];

type CallReturn = genServer.CallResult<Trk>;

function reply(value: unknown, trk: Trk): CallReturn {
  return ["reply", value, trk];
}

function stepResult(step: Step, trk: Trk): genServer.NoReplyResult<Trk> {
  return step === STOP ? ["stop", "shutdown", trk] : ["noreply", trk];
}

function addWaiter(e: Entry, from: genServer.From, w: Open): void {
  w.from = from;
  if (e.waiters === null) e.waiters = [w];
  else e.waiters.push(w);
}

function openIn(trk: Trk, req: Open, from: genServer.From): CallReturn {
  const spec = req.spec;
  const e = trk.index.get(req.id);
  if (e === undefined) {
    const created = trk.newEntry(req.id, spec);
    addWaiter(created, from, req);
    trk.launch(created, spec, "new");
    return ["noreply", trk];
  }
  switch (e.status) {
    case "running":
      return reply(e.pid, trk);
    case "stopped":
      addWaiter(e, from, req);
      trk.launch(e, e.spec, "start");
      break;
    case "terminating":
      // After its afterTerminate: a fresh child, from the first caller's spec.
      e.next ??= spec;
      addWaiter(e, from, req);
      break;
    default: // launching, restarting: the pid comes when it starts
      addWaiter(e, from, req);
  }
  return ["noreply", trk];
}

function cancelIn(trk: Trk, open: Open): void {
  const e = trk.index.get(open.id);
  const waiters = e?.waiters;
  if (waiters == null) return;
  const i = waiters.indexOf(open);
  if (i < 0) return;
  const [w] = waiters.splice(i, 1);
  if (waiters.length === 0) e!.waiters = null;
  genServer.reply(w.from!, CANCELLED);
}

function notFound(op: string, trk: Trk, id: unknown): Failure {
  return new Failure(new TrackerError(op, trk.name, id, "notFound"));
}

function terminateChildIn(
  trk: Trk,
  id: unknown,
  from: genServer.From,
): CallReturn {
  const e = trk.index.get(id);
  if (e === undefined) return reply(notFound("terminateChild", trk, id), trk);
  switch (e.status) {
    case "running":
      (e.stoppers ??= []).push(from);
      trk.terminateRunning(e);
      return ["noreply", trk];
    case "launching": // stopped once it has started
    case "terminating": // answered once it is done
      (e.stoppers ??= []).push(from);
      return ["noreply", trk];
    case "restarting":
      trk.cancelTimer(e);
      if (e.waiters !== null) trk.launch(e, e.spec, "start");
      else trk.toStopped(e);
      return reply(undefined, trk);
    case "stopped":
      return reply(undefined, trk);
  }
}

function deleteChildIn(trk: Trk, id: unknown): CallReturn {
  const e = trk.index.get(id);
  if (e === undefined) return reply(notFound("deleteChild", trk, id), trk);
  if (e.status !== "stopped" && e.status !== "restarting") {
    return reply(
      trk.failure("deleteChild", e, "running", { status: e.status }),
      trk,
    );
  }
  trk.answer(e, trk.failure("findOrOpen", e, "notFound"));
  trk.remove(e);
  return reply(undefined, trk);
}

function restartChildIn(
  trk: Trk,
  id: unknown,
  from: genServer.From,
): CallReturn {
  const e = trk.index.get(id);
  if (e === undefined) return reply(notFound("restartChild", trk, id), trk);
  switch (e.status) {
    case "stopped":
      addWaiter(e, from, new Open(e.id, e.spec));
      trk.launch(e, e.spec, "start");
      return ["noreply", trk];
    case "restarting":
      // Now, not when its timer says.
      trk.cancelTimer(e);
      addWaiter(e, from, new Open(e.id, e.spec));
      trk.launch(e, e.spec, "restart");
      return ["noreply", trk];
    default:
      return reply(
        trk.failure("restartChild", e, "running", { status: e.status }),
        trk,
      );
  }
}

function addExistingChildIn(
  trk: Trk,
  id: unknown,
  spec: FullSpec,
  pid: Pid,
): CallReturn {
  const op = "addExistingChild";
  const e = trk.index.get(id);
  if (e !== undefined) {
    return reply(
      e.status === "running"
        ? trk.failure(op, e, "alreadyStarted", { pid: e.pid })
        : trk.failure(op, e, "alreadyPresent", { status: e.status }),
      trk,
    );
  }
  const proc = procOf(pid);
  if (proc.dead) return reply(new Failure(new NoProcError(op, pid)), trk);
  if (proc === trk.proc) {
    return reply(
      new Failure(new TypeError(`Cannot ${op}: a tracker cannot adopt itself`)),
      trk,
    );
  }
  linkProcs(trk.proc, proc);
  const adopted = trk.newEntry(id, spec);
  moveStatus(adopted, "running");
  setPid(adopted, pid);
  if (trk.options.backoff !== null) adopted.startedAt = getClock().now();
  watch(proc, adopted);
  trk.setRow(adopted, pid);
  trk.emit({ type: "child_adopted", id: adopted.id, pid });
  return reply(pid, trk);
}

function infoOf(e: Entry): ChildInfo {
  const pid = e.status === "running"
    ? e.pid
    : e.status === "stopped"
    ? undefined
    : e.status;
  const info: ChildInfo = {
    id: e.id,
    pid,
    type: e.spec.type,
    modules: e.spec.modules,
    restart: e.spec.restart,
  };
  if (e.status === "running" && e.extra !== undefined) {
    return { ...info, extra: e.extra };
  }
  const at = restartAt(e.pending);
  return at !== undefined ? { ...info, restartAt: at } : info;
}

function whichChildrenIn(trk: Trk): ChildInfo[] {
  const out: ChildInfo[] = [];
  for (const e of trk.entries) out.push(infoOf(e));
  return out.reverse(); // newest first, as OTP
}

function countChildrenIn(trk: Trk): ChildCounts {
  let active = 0, supervisors = 0;
  for (const e of trk.entries) {
    if (e.status === "running") active++;
    if (e.spec.type === "supervisor") supervisors++;
  }
  const specs = trk.entries.size;
  return { specs, active, supervisors, workers: specs - supervisors };
}

const behaviour: genServer.GenServer<Trk, readonly [string, Options]> = {
  init([name, options]) {
    const proc = currentProc();
    proc.trapExit = true;
    const made: { trk: Trk | null } = { trk: null };
    // Registered before the tables are created, so it runs before they are
    // destroyed (resource hooks run in order).
    addResource(proc, () => made.trk?.died());
    let children: ets.Table, attrs: ets.Table;
    try {
      children = ets.create(name, { named: true, access: "protected" });
      attrs = ets.create(`${name}_attrs`, { named: true, access: "protected" });
    } catch (error) {
      return ["stop", error];
    }
    const trk = made.trk = new Trk(name, proc, options, children, attrs);
    registry.set(name, trk);
    byTrackerPid.set(proc.pid, trk);
    return ["ok", trk];
  },

  handleCall(request, from, trk) {
    if (request instanceof Open) return openIn(trk, request, from);
    if (Array.isArray(request)) {
      const r = request as unknown as Request;
      switch (r[0]) {
        case "terminateChild":
          return terminateChildIn(trk, r[1], from);
        case "deleteChild":
          return deleteChildIn(trk, r[1]);
        case "restartChild":
          return restartChildIn(trk, r[1], from);
        case "addExistingChild":
          return addExistingChildIn(trk, r[1], r[2], r[3]);
        case "whichChildren":
          return reply(whichChildrenIn(trk), trk);
        case "countChildren":
          return reply(countChildrenIn(trk), trk);
        case "wait":
          return reply(undefined, trk);
      }
    }
    return reply(
      new Failure(
        new TypeError(
          `Unknown request to tracker ${JSON.stringify(trk.name)}: ${
            formatTerm(request)
          }`,
        ),
      ),
      trk,
    );
  },

  handleCast(message, trk) {
    if (message instanceof Cancel) cancelIn(trk, message.open);
    return ["noreply", trk]; // anything else: dropped, the tracker lives on
  },

  handleInfo(msg, trk) {
    if (msg instanceof Exited) {
      const e = msg.entry;
      // Not this child's any more (terminated, restarted): dropped.
      if (e.pid !== msg.pid || !trk.entries.has(e)) return ["noreply", trk];
      trk.emit({
        type: "child_exited",
        id: e.id,
        pid: msg.pid,
        reason: msg.reason,
      });
      return stepResult(trk.ending(e, msg.reason, "exit", true), trk);
    }
    if (msg instanceof Done) {
      const e = msg.entry;
      if (!trk.entries.has(e) || e.status !== "terminating") {
        return ["noreply", trk];
      }
      return stepResult(trk.finished(e, msg.reason, msg.how), trk);
    }
    const pending = pendingOf(msg);
    if (pending !== undefined) {
      // A delayed restart is due, or a failed one is to be tried again.
      const e = pending.child as Entry;
      if (e.pending !== pending) return ["noreply", trk]; // cancelled
      e.pending = null;
      return stepResult(trk.tryAgain(e), trk);
    }
    return ["noreply", trk]; // not ours: dropped
  },

  terminate(reason, trk) {
    return trk.terminateAll().then(() => {
      trk.emit({ type: "tracker_stopped", reason });
    });
  },
};

// -------------------------------------------------------- caller side --

export function startTracker(
  op: string,
  name: unknown,
  options: unknown,
  link: boolean,
): Promise<Pid> {
  try {
    if (typeof name !== "string" || name === "") {
      throw new TypeError(
        `Cannot ${op} tracker: 'name' must be a non-empty string, got ${
          formatTerm(name)
        }`,
      );
    }
    const opts = normaliseOptions(op, options);
    const startFn = link ? genServer.startLink : genServer.start;
    return startFn(behaviour, [name, opts] as const, { name });
  } catch (error) {
    return Promise.reject(error);
  }
}

/** A findOrOpen that waits with a timeout or a signal. */
class OpenWait extends Timed {
  done = false;
  #onAbort: (() => void) | null = null;

  constructor(
    readonly trk: Trk,
    readonly open: Open,
    readonly timeout: number,
    readonly signal: AbortSignal | undefined,
    readonly resolve: (pid: Pid) => void,
    readonly reject: (error: unknown) => void,
  ) {
    super();
    if (signal !== undefined) {
      this.#onAbort = () => this.giveUp(signal.reason);
      signal.addEventListener("abort", this.#onAbort, { once: true });
    }
    // Lazily: an open answered in this burst never touches the clock.
    if (timeout !== Infinity) startTimeoutAfterBurst(this, timeout);
  }

  #end(): boolean {
    if (this.done) return false;
    this.done = true;
    cancelTimeout(this);
    if (this.#onAbort !== null) {
      this.signal!.removeEventListener("abort", this.#onAbort);
    }
    return true;
  }

  settle(r: unknown): void {
    if (!this.#end()) return;
    if (r instanceof Failure) this.reject(r.error);
    else this.resolve(r as Pid);
  }

  fail(error: unknown): void {
    if (this.#end()) this.reject(error);
  }

  giveUp(error: unknown): void {
    if (!this.#end()) return;
    // The tracker forgets the waiter and ends its call.
    genServer.cast(this.trk.pid, new Cancel(this.open));
    this.reject(error);
  }

  expire(): void {
    this.giveUp(
      new TimeoutError(
        `findOrOpen of child ${formatTerm(this.open.id)} in tracker ${
          JSON.stringify(this.trk.name)
        } timed out after ${this.timeout} ms`,
        this.timeout,
      ),
    );
  }
}

function unwrapPid(r: unknown): Pid {
  if (r instanceof Failure) throw r.error;
  return r as Pid;
}

/**
 * findOrOpen past its hot path: `t` and `e` are what it found (t undefined:
 * not found yet; e undefined: not looked up, or no such child).
 */
export function open(
  tracker: Dest,
  t: Trk | undefined,
  e: Entry | undefined,
  spec: ChildSpec,
  options: FindOrOpenOptions | undefined,
): Promise<Pid> {
  const op = "findOrOpen";
  let timeout = Infinity;
  let signal: AbortSignal | undefined;
  try {
    if (t === undefined) {
      t = resolve(op, tracker);
      if (spec !== null && typeof spec === "object") e = t.index.get(spec.id);
    }
    checkOptionsObject(op, options);
    if (options?.timeout !== undefined) {
      timeout = checkTimeout(op, options.timeout);
    }
    signal = checkSignal(op, options?.signal);
  } catch (error) {
    return Promise.reject(error);
  }
  if (e !== undefined && e.pid !== undefined) {
    return e.found ??= Promise.resolve(e.pid);
  }
  let full: FullSpec;
  try {
    full = normaliseSpec(spec, false);
  } catch (error) {
    return Promise.reject(error);
  }
  if (signal?.aborted) return Promise.reject(signal.reason);
  const req = new Open((spec as { id: unknown }).id, full);
  const call = genServer.call(t.pid, req, { timeout: Infinity });
  if (timeout === Infinity && signal === undefined) return call.then(unwrapPid);
  const trk = t;
  return new Promise((resolve, reject) => {
    const w = new OpenWait(trk, req, timeout, signal, resolve, reject);
    call.then((r) => w.settle(r), (error) => w.fail(error));
  });
}

/** The entry whose attributes may change, or a TrackerError. */
export function writable(t: Trk, op: string, id: unknown): Entry {
  const e = t.index.get(id);
  if (e === undefined) {
    checkId(op, id);
    throw new TrackerError(op, t.name, id, "notFound");
  }
  if (e.status === "launching") return e;
  if (e.status === "running") {
    if (!procOf(e.pid!).dead) return e;
    throw new TrackerError(op, t.name, id, "notAlive", {
      status: "terminating",
      why: "its process has exited (the child is ending)",
    });
  }
  throw new TrackerError(op, t.name, id, "notAlive", {
    status: e.status,
    why: e.status === "terminating"
      ? "the child is terminating (it has exited; its attributes are read-only until its afterTerminate is done)"
      : `the child is ${e.status} (it has no attributes until it runs again)`,
  });
}

export function checkValue(op: string, key: string, value: unknown): void {
  if (value === undefined) {
    throw new TypeError(
      `Cannot ${op}: the value of ${
        JSON.stringify(key)
      } must not be undefined (use delAttr to remove an attribute)`,
    );
  }
}

export function checkKeys(
  op: string,
  keys: unknown,
): readonly string[] | undefined {
  if (keys === undefined) return undefined;
  if (!Array.isArray(keys) || keys.some((k) => typeof k !== "string")) {
    throw new TypeError(
      `Cannot ${op}: 'keys' must be an array of strings, got ${
        formatTerm(keys)
      }`,
    );
  }
  return keys;
}

export function pick(
  attrs: Map<string, unknown> | null,
  keys: readonly string[],
) {
  const out: Attrs = {};
  if (attrs === null) return out;
  for (const k of keys) {
    const v = attrs.get(k);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

export async function request<T>(
  op: string,
  tracker: Dest,
  req: Request,
): Promise<T> {
  return await call<T>(resolve(op, tracker).pid, req);
}
