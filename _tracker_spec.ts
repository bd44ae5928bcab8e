// The tracker's child spec and option checks (tracker.ts is the public
// face, _tracker_state.ts the state, _tracker.ts the server and the caller
// side): each checker returns the value, normalised, or throws a
// ChildSpecError, TypeError or RangeError naming the key. Also the
// tracker's error class.

import type { Pid } from "./_runtime.ts";
import {
  checkArgs,
  checkKindKeys,
  checkRestart,
  checkSpecKeys,
  checkSpecObject,
  checkStart,
  type Shutdown,
} from "./_child.ts";
import { type LogTarget, logTarget } from "./_logger.ts";
import { isKey } from "./_term.ts";
import { formatTerm } from "./_format.ts";
import { refuseUnknown, unknownKey } from "./_options.ts";
import { ChildRequestError, ChildSpecError } from "./errors.ts";
import type { Backoff, ChildType, RestartType } from "./supervisor.ts";
import type { AfterTerminate, ChildStatus } from "./tracker.ts";

// --------------------------------------------------------------- errors --

/**
 * Why a tracker request failed:
 * - `"not_found"`: no child has this id;
 * - `"not_alive"`: the child is terminating, restarting or stopped (or its
 *   process has just died), so its attributes cannot change;
 * - `"already_started"`: addExistingChild for an id that runs (`pid`);
 * - `"already_present"`: addExistingChild for an id in another status;
 * - `"running"`: deleteChild or restartChild of a child that is launching,
 *   running or terminating;
 * - `"start_failed"`: the start function failed with `reason`;
 * - `"ignored"`: the start function returned `"ignore"`;
 * - `"not_a_counter"`: increment of a missing attribute (with no default) or
 *   of one that is not a number of the increment's type;
 * - `"not_supported"`: a request a tracker does not answer
 *   (`supervisor.startChild` and `supervisor.getChildspec`: use findOrOpen
 *   and the children table), or a tracker function given a live process
 *   that is not a tracker;
 * - `"unknown_request"`: a bare `GenServer.call` of a request the tracker
 *   does not know rejects with it (the tracker lives on).
 */
export type TrackerErrorCode =
  | "not_found"
  | "not_alive"
  | "already_started"
  | "already_present"
  | "running"
  | "start_failed"
  | "ignored"
  | "not_a_counter"
  | "not_supported"
  | "unknown_request";

/**
 * A tracker request that failed: `code` says why, `reason` carries the
 * child's failure for `"start_failed"`, `pid` the running child for
 * `"already_started"`, `status` the child's status for `"not_alive"` and
 * `"running"`.
 *
 * @example
 * ```ts
 * import * as tracker from "@steward/steward/tracker";
 * import assert from "node:assert/strict";
 * await tracker.start("errors_demo");
 * assert.throws(
 *   () => tracker.setAttr("errors_demo", "nobody", "k", 1),
 *   (e) => e instanceof tracker.TrackerError && e.code === "not_found",
 * );
 * await tracker.stop("errors_demo");
 * ```
 */
export class TrackerError extends ChildRequestError<TrackerErrorCode> {
  /** The tracker's name. */
  readonly tracker: string;
  /** The child's status (`"not_alive"`, `"running"`), else undefined. */
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
        code === "start_failed" ? ` (${formatTerm(details?.reason)})` : ""
      }`,
    );
    this.name = "TrackerError";
    this.tracker = tracker;
    this.status = details?.status;
  }
}

const WHY: Record<TrackerErrorCode, string> = {
  not_found: "no child has this id",
  not_alive: "the child is not launching or running",
  already_started: "a child with this id is running",
  already_present: "a child with this id exists",
  running: "the child is launching, running or terminating",
  start_failed: "its start function failed",
  ignored: 'its start function returned "ignore"',
  not_a_counter: "the attribute is not a counter",
  not_supported: "a tracker does not answer this request",
  unknown_request: "the tracker does not know this request",
};

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

function specError(
  key: string,
  reason: unknown,
  why: string,
  id?: unknown,
): ChildSpecError {
  const who = id === undefined ? "" : ` ${formatTerm(id)}`;
  return new ChildSpecError(key, reason, `Cannot use child spec${who}: ${why}`);
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
      unchangeable(s.args) && unchangeable(s.modules) &&
      unknownKey(s, SPEC_KEYS) === undefined
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

/** The keys of a tracker child spec (tracker.ts's `ChildSpec`). */
const SPEC_KEYS: readonly string[] = [
  "id",
  "start",
  "args",
  "restart",
  "shutdown",
  "type",
  "modules",
  "afterTerminate",
];

/** The keys of an addExistingChild spec: a child spec's and `pid`. */
const EXISTING_SPEC_KEYS: readonly string[] = [...SPEC_KEYS, "pid"];

function checkSpec(spec: unknown, existing: boolean): FullSpec {
  const s = checkSpecObject(
    spec,
    "a number, string, boolean, null, bigint, Pid, Ref or an array of those",
  );
  checkSpecKeys(s, existing ? EXISTING_SPEC_KEYS : SPEC_KEYS);
  if (!isKey(s.id)) {
    throw specError(
      "id",
      ["invalid_id", s.id],
      `'id' must be a number, string, boolean, null, bigint, Pid, Ref or an array of those, got ${
        formatTerm(s.id)
      }`,
    );
  }
  const restart = checkRestart(s.restart ?? "temporary", s.id);
  if (s.start === undefined && !(existing && restart === "temporary")) {
    throw specError(
      "start",
      "missing_start",
      existing
        ? `'start' is needed to restart a ${restart} child`
        : `'start' is missing`,
      s.id,
    );
  }
  if (s.start !== undefined) checkStart(s.start, s.id);
  const args = checkArgs(s.args ?? [], s.id);
  const { type, shutdown, modules } = checkKindKeys(s, EMPTY);
  const afterTerminate = s.afterTerminate;
  if (afterTerminate !== undefined && typeof afterTerminate !== "function") {
    throw specError(
      "afterTerminate",
      ["invalid_after_terminate", afterTerminate],
      `'afterTerminate' must be a function, got ${formatTerm(afterTerminate)}`,
      s.id,
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
  /** Where reports go (the `logger` option). */
  readonly log: LogTarget;
}

const OPTION_KEYS: readonly string[] = [
  "afterTerminate",
  "afterTerminateTimeout",
  "intensity",
  "period",
  "backoff",
  "logger",
  "signal",
  "label",
];

const BACKOFF_KEYS: readonly string[] = ["initial", "max", "factor", "jitter"];

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
  refuseUnknown(`${op} tracker`, options, OPTION_KEYS);
  const o = options as Record<string, unknown>;
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    throw optionError(op, "signal", "an AbortSignal", o.signal);
  }
  if (o.label !== undefined && typeof o.label !== "string") {
    throw optionError(op, "label", "a string", o.label);
  }
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
    refuseUnknown(`${op} tracker: 'backoff'`, b, BACKOFF_KEYS);
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
    log: logTarget(`${op} tracker`, o.logger),
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

/** The keys of a wait's options (findOrOpen, getAttr). */
export const WAIT_OPTION_KEYS: readonly string[] = ["timeout", "signal"];

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
