// Director child specs: validation, defaults and the default-childspec merge
// (director 17.9.16's check_childspec, combine_child and separate_child).
// Pure functions: no process, no state.
//
// A child is kept in two forms: its own spec as given (validated, with its
// own defaults filled in) and its effective spec. For a child with
// `append: false` they are the same object. For `append: true` the effective
// spec is the own spec folded over the director's default childspec, and a
// new default re-merges from the own spec. Director 17.9.16 "un-merged" the
// effective spec with the old default instead (`Args -- DefArgs`,
// `Count - DefCount`...), which loses information (a `Count` of the default's
// `infinity`, an argument equal to one of the default's); keeping the own
// spec gives the same results where that worked and the right ones where it
// did not.

import type {
  Backoff,
  ChildType,
  DefaultChildspec,
  FullChildSpec,
  LogValidator,
  PlanElement,
} from "./director.ts";
import { ChildSpecError } from "./errors.ts";
import {
  checkModules,
  checkSpecKeys,
  checkSpecObject,
  checkType,
  specError,
} from "./_child.ts";
import { formatTerm } from "./_format.ts";
import { sameTerm } from "./_term.ts";
import { unknownKey, unknownKeyMessage } from "./_options.ts";

/** Director 17.9.16's defaults, as its code has them. */
export const DEFAULTS = {
  /** The whole plan may run 3 times. */
  count: 3,
  /** A worker gets 1000 ms to stop, a supervisor as long as it takes. */
  workerTerminateTimeout: 1000,
  supervisorTerminateTimeout: Infinity,
  /** Director's default plan element always restarts. */
  plan: Object.freeze(["restart"]) as readonly PlanElement[],
} as const;

/** The default childspec of a director whose init gave none. */
export const DEFAULT_DEFAULT_CHILDSPEC: DefaultChildspec = Object.freeze({
  plan: Object.freeze([]) as readonly PlanElement[],
  count: 0,
  terminateTimeout: 0,
  modules: Object.freeze([]) as readonly string[],
});

/** The keys of a director child spec (director.ts's `ChildSpec`). */
const CHILD_SPEC_KEYS: readonly string[] = [
  "id",
  "start",
  "args",
  "plan",
  "count",
  "terminateTimeout",
  "type",
  "modules",
  "append",
  "logValidator",
];

/** The keys of a default childspec: a child spec's but `id` and `append`. */
const DEFAULT_CHILDSPEC_KEYS: readonly string[] = CHILD_SPEC_KEYS.filter((k) =>
  k !== "id" && k !== "append"
);

/** The keys of a director spec (director.ts's `DirectorSpec`). */
export const DIRECTOR_SPEC_KEYS: readonly string[] = [
  "children",
  "defaultChildspec",
];

/**
 * Refuses a director spec key not in {@linkcode DIRECTOR_SPEC_KEYS} (`stop`
 * is also allowed in what an init function returns: `stopAllowed`).
 */
export function checkDirectorSpecKeys(
  s: Record<string, unknown>,
  stopAllowed: boolean,
): void {
  const known = stopAllowed
    ? [...DIRECTOR_SPEC_KEYS, "stop"]
    : DIRECTOR_SPEC_KEYS;
  const key = unknownKey(s, known);
  if (key !== undefined) {
    throw new ChildSpecError(
      key,
      ["unknown_key", key],
      `Cannot use director spec: ${unknownKeyMessage(key, known, "key")}`,
    );
  }
}

/** A child's own spec: validated, own defaults filled in, not merged. */
export interface OwnSpec {
  readonly id: unknown;
  /** Undefined only for an append child that takes the default's. */
  readonly start: FullChildSpec["start"] | undefined;
  readonly args: readonly unknown[];
  readonly plan: readonly PlanElement[];
  readonly count: number;
  readonly terminateTimeout: number;
  readonly type: ChildType;
  readonly modules: readonly string[] | "dynamic";
  readonly append: boolean;
  readonly logValidator: LogValidator | undefined;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === "object" && !Array.isArray(x);
}

/** A whole number >= 0, or Infinity. */
export function isCount(n: unknown): n is number {
  return typeof n === "number" && n >= 0 &&
    (Number.isInteger(n) || n === Infinity);
}

function isDelay(n: unknown): n is number {
  return typeof n === "number" && n >= 0 && Number.isInteger(n);
}

const ATOMS: readonly string[] = ["restart", "wait", "stop", "delete"];

/**
 * Why `x` is not a plan action (a plan element other than a function), or
 * undefined if it is one. Tuples are arrays (`["restart", ms]`, as
 * director's `{restart, Ms}`); the old object forms (`{ restart: ms }`...) are
 * refused with a message that names the new form.
 */
export function badAction(x: unknown): string | undefined {
  if (typeof x === "string") {
    return ATOMS.includes(x)
      ? undefined
      : `"restart", "wait", "stop" or "delete"`;
  }
  if (Array.isArray(x)) {
    if (x.length === 2) {
      switch (x[0]) {
        case "restart":
          return isDelay(x[1])
            ? undefined
            : `["restart", ms] with a whole number of ms >= 0`;
        case "stop":
          return undefined;
        case "backoff":
          return badBackoff(x[1]);
      }
    }
    return TUPLES;
  }
  if (!isObject(x)) return "a string, an array or a function";
  const keys = Object.keys(x);
  if (keys.length === 1 && ["restart", "stop", "backoff"].includes(keys[0])) {
    const k = keys[0];
    return `[${JSON.stringify(k)}, ${
      k === "restart" ? "ms" : k === "stop" ? "reason" : "{ initial, max }"
    }] (plan tuples are arrays, as director's {${k}, ...}; not { ${k}: ... })`;
  }
  return TUPLES;
}

const TUPLES =
  `one of ["restart", ms], ["stop", reason], ["backoff", { initial, max, factor?, jitter? }]`;

function badBackoff(b: unknown): string | undefined {
  const shape =
    `["backoff", { initial, max, factor?, jitter? }] with 0 <= initial <= max (finite ms), factor >= 1 and 0 <= jitter <= 1`;
  if (!isObject(b)) return shape;
  const { initial, max, factor = 2, jitter = 0 } = b as Partial<Backoff>;
  for (const k of Object.keys(b)) {
    if (!["initial", "max", "factor", "jitter"].includes(k)) return shape;
  }
  if (
    typeof initial !== "number" || !Number.isFinite(initial) || initial < 0 ||
    typeof max !== "number" || !Number.isFinite(max) || max < initial ||
    typeof factor !== "number" || !Number.isFinite(factor) || factor < 1 ||
    typeof jitter !== "number" || !(jitter >= 0 && jitter <= 1)
  ) {
    return shape;
  }
  return undefined;
}

/** Copies and freezes a plan element (functions and strings as they are). */
function freezeElement(e: PlanElement): PlanElement {
  if (!Array.isArray(e)) return e;
  if (e[0] === "backoff") {
    return Object.freeze([
      "backoff",
      Object.freeze({ ...e[1] }),
    ]) as PlanElement;
  }
  return Object.freeze([e[0], e[1]]) as PlanElement;
}

/**
 * Checks a plan (an array of plan elements) and returns a frozen copy;
 * throws a ChildSpecError naming `key` ("plan").
 */
export function checkPlan(plan: unknown, id: unknown): readonly PlanElement[] {
  if (!Array.isArray(plan)) {
    throw specError(
      "plan",
      ["invalid_plan", plan],
      id,
      `'plan' must be an array of plan elements, got ${formatTerm(plan)}`,
    );
  }
  const out: PlanElement[] = [];
  for (const e of plan) {
    if (typeof e !== "function") {
      const why = badAction(e);
      if (why !== undefined) {
        throw specError(
          "plan",
          ["invalid_plan_element", e],
          id,
          `every plan element must be a function or ${why}, got ${
            formatTerm(e)
          }`,
        );
      }
    }
    out.push(freezeElement(e as PlanElement));
  }
  return Object.freeze(out);
}

function checkStart(start: unknown, id: unknown): void {
  if (typeof start !== "function") {
    throw specError(
      "start",
      ["invalid_start", start],
      id,
      `'start' must be a function, got ${formatTerm(start)}`,
    );
  }
}

function checkArgs(args: unknown, id: unknown): readonly unknown[] {
  if (!Array.isArray(args)) {
    throw specError(
      "args",
      ["invalid_args", args],
      id,
      `'args' must be an array, got ${formatTerm(args)}`,
    );
  }
  return Object.freeze([...args]);
}

function checkCount(count: unknown, id: unknown): number {
  if (!isCount(count)) {
    throw specError(
      "count",
      ["invalid_count", count],
      id,
      `'count' must be a whole number >= 0 or Infinity, got ${
        formatTerm(count)
      }`,
    );
  }
  return count;
}

function checkTerminateTimeout(tt: unknown, id: unknown): number {
  if (!isCount(tt)) {
    throw specError(
      "terminateTimeout",
      ["invalid_terminate_timeout", tt],
      id,
      `'terminateTimeout' must be a whole number of ms >= 0 (0: brutal kill) or Infinity, got ${
        formatTerm(tt)
      }`,
    );
  }
  return tt;
}

function frozenModules(
  m: readonly string[] | "dynamic",
): readonly string[] | "dynamic" {
  return m === "dynamic" ? m : Object.freeze([...m]);
}

function checkLogValidator(v: unknown, id: unknown): LogValidator {
  if (typeof v !== "function") {
    throw specError(
      "logValidator",
      ["invalid_log_validator", v],
      id,
      `'logValidator' must be a function (level, report) => "short" | "long" | "none", got ${
        formatTerm(v)
      }`,
    );
  }
  return v as LogValidator;
}

/**
 * Checks a child spec and fills in its own defaults ({@linkcode DEFAULTS}).
 * `start` may be missing only with `append: true` (the default childspec's
 * is used; {@linkcode effective} checks that there is one).
 */
export function normaliseOwn(spec: unknown): OwnSpec {
  const s = checkSpecObject(spec);
  checkSpecKeys(s, CHILD_SPEC_KEYS);
  const id = s.id;
  const append = s.append ?? false;
  if (typeof append !== "boolean") {
    throw specError(
      "append",
      ["invalid_append", append],
      id,
      `'append' must be a boolean, got ${formatTerm(append)}`,
    );
  }
  if (s.start === undefined) {
    if (!append) {
      throw specError(
        "start",
        "missing_start",
        id,
        "'start' is missing (only a child with append: true may take the default childspec's)",
      );
    }
  } else checkStart(s.start, id);
  const type = checkType(s.type ?? "worker", id);
  const own: OwnSpec = {
    id,
    start: s.start as OwnSpec["start"],
    args: checkArgs(s.args ?? [], id),
    plan: s.plan === undefined ? DEFAULTS.plan : checkPlan(s.plan, id),
    count: checkCount(s.count ?? DEFAULTS.count, id),
    terminateTimeout: checkTerminateTimeout(
      s.terminateTimeout ??
        (type === "worker"
          ? DEFAULTS.workerTerminateTimeout
          : DEFAULTS.supervisorTerminateTimeout),
      id,
    ),
    type,
    modules: frozenModules(checkModules(s.modules ?? [], id)),
    append,
    logValidator: s.logValidator === undefined
      ? undefined
      : checkLogValidator(s.logValidator, id),
  };
  return Object.freeze(own);
}

/**
 * Checks a default childspec: the keys of a child spec but `id` and
 * `append`, which belong to a child (as in director). Returns a frozen copy
 * with only the keys given.
 */
export function normaliseDefault(spec: unknown): DefaultChildspec {
  const fail = (key: string, why: string) =>
    new ChildSpecError(
      key,
      ["invalid_default_childspec", key],
      `Cannot use default childspec: ${why}`,
    );
  if (!isObject(spec)) {
    throw fail(
      "defaultChildspec",
      `it must be an object, got ${formatTerm(spec)}`,
    );
  }
  const s = spec as Record<string, unknown>;
  for (const key of ["id", "append"]) {
    if (s[key] !== undefined) {
      throw fail(key, `'${key}' belongs to a child spec, not to the default`);
    }
  }
  const unknown = unknownKey(s, DEFAULT_CHILDSPEC_KEYS);
  if (unknown !== undefined) {
    throw fail(
      unknown,
      unknownKeyMessage(unknown, DEFAULT_CHILDSPEC_KEYS, "key"),
    );
  }
  const out: Record<string, unknown> = {};
  if (s.start !== undefined) {
    checkStart(s.start, undefined), out.start = s.start;
  }
  if (s.args !== undefined) out.args = checkArgs(s.args, undefined);
  if (s.plan !== undefined) out.plan = checkPlan(s.plan, undefined);
  if (s.count !== undefined) out.count = checkCount(s.count, undefined);
  if (s.terminateTimeout !== undefined) {
    out.terminateTimeout = checkTerminateTimeout(
      s.terminateTimeout,
      undefined,
    );
  }
  if (s.type !== undefined) out.type = checkType(s.type, undefined);
  if (s.modules !== undefined) {
    out.modules = checkModules(s.modules, undefined);
  }
  if (s.logValidator !== undefined) {
    out.logValidator = checkLogValidator(s.logValidator, undefined);
  }
  return Object.freeze(out) as DefaultChildspec;
}

/**
 * Director's sum of a child's count or terminate timeout with the default's,
 * asymmetric on purpose (director's combine_child): the child's Infinity
 * wins; the default's Infinity leaves the child's finite value.
 */
export function addToDefault(child: number, def: number | undefined): number {
  if (def === undefined || child === Infinity) return child;
  if (def === Infinity) return child;
  return child + def;
}

function mergeModules(
  child: readonly string[] | "dynamic",
  def: readonly string[] | "dynamic" | undefined,
): readonly string[] | "dynamic" {
  if (child === "dynamic") return child;
  if (def === undefined || def === "dynamic" || def.length === 0) return child;
  return Object.freeze([...def, ...child]);
}

/**
 * A child's effective spec: its own spec, or for `append: true` its own
 * spec folded over `def` (director's combine_child: start from the child
 * else the default, args and plan and modules concatenated default first,
 * count and terminateTimeout added, id/type/append the child's;
 * logValidator the child's else the default's). Throws a ChildSpecError
 * if neither has a `start`.
 */
export function effective(own: OwnSpec, def: DefaultChildspec): FullChildSpec {
  if (!own.append) return fullOf(own, own.start!);
  const start = own.start ?? def.start;
  if (start === undefined) {
    throw specError(
      "start",
      "missing_start",
      own.id,
      "'start' is missing, and the default childspec has none",
    );
  }
  return fullOf({
    ...own,
    args: def.args === undefined || def.args.length === 0
      ? own.args
      : Object.freeze([...def.args, ...own.args]),
    plan: def.plan === undefined || def.plan.length === 0
      ? own.plan
      : Object.freeze([...def.plan, ...own.plan]),
    count: addToDefault(own.count, def.count),
    terminateTimeout: addToDefault(own.terminateTimeout, def.terminateTimeout),
    modules: mergeModules(own.modules, def.modules),
    logValidator: own.logValidator ?? def.logValidator,
  }, start);
}

function fullOf(
  s: OwnSpec,
  start: NonNullable<OwnSpec["start"]>,
): FullChildSpec {
  const full: Record<string, unknown> = {
    id: s.id,
    start,
    args: s.args,
    plan: s.plan,
    count: s.count,
    terminateTimeout: s.terminateTimeout,
    type: s.type,
    modules: s.modules,
    append: s.append,
  };
  if (s.logValidator !== undefined) full.logValidator = s.logValidator;
  return Object.freeze(full) as unknown as FullChildSpec;
}

/** Whether two plans have the same elements (functions by identity). */
export function samePlan(
  a: readonly PlanElement[],
  b: readonly PlanElement[],
): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i] && !sameTerm(a[i], b[i])) return false;
  }
  return true;
}

/** Checks a list of child specs for duplicate ids; returns own specs. */
export function normaliseOwns(specs: unknown): OwnSpec[] {
  if (!Array.isArray(specs)) {
    throw specError(
      "children",
      ["badarg", specs],
      undefined,
      `'children' must be an array of child specs, got ${formatTerm(specs)}`,
    );
  }
  const out: OwnSpec[] = [];
  for (const spec of specs) {
    const own = normaliseOwn(spec);
    if (out.some((o) => sameTerm(o.id, own.id))) {
      throw specError(
        "id",
        ["duplicate_child_name", own.id],
        undefined,
        `two children have the id ${formatTerm(own.id)}`,
      );
    }
    out.push(own);
  }
  return out;
}
