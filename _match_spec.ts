// Match patterns and match specifications (ets:match, match_object, select,
// select_count, select_delete, select_replace): the JS form, its validation,
// and a compiler from it to closures. ets.ts documents the form for users by
// quoting the section below; this file is the single place that implements
// it.
//
// ## Patterns
//
// A match pattern (ets.match, ets.matchObject, ets.matchDelete), and the
// head of a match-spec clause, is any JS value, where:
// - the string `"_"` matches anything;
// - the strings `"$0"`, `"$1"`, ... `"$100000000"` (no leading zeros except
//   `"$0"`) are variables: the first occurrence binds, every later
//   occurrence must be `=:=` (`sameTerm`) to the bound value;
// - an array matches an array of the same length, element by element;
// - a plain object matches a plain object that has at least those own keys,
//   with matching values (a sub-map match, as Erlang maps in patterns). An
//   object key that is a variable or `"_"` is invalid (Erlang: badarg);
// - anything else matches by `=:=` (`sameTerm`): numbers strictly (`1` does
//   not match `1n`), Pids, Refs and other class instances by identity.
// Other strings (`"$_"`, `"$$"`, `"$01"`, `"$100000001"`, `"x"`) are
// constants in a pattern.
//
// ## Match specifications
//
// An array of clauses `[head, guards, body]`: `guards` is an array of
// expressions, `body` a non-empty array of expressions. For each record the
// clauses are tried in order; the first clause whose head matches and whose
// guards all evaluate to exactly `true` gives the result: the value of the
// LAST body expression. `[]` is a valid spec that matches nothing. The whole
// spec is validated when compiled, so an invalid clause anywhere throws even
// if the table is empty (OTP's `select_fail`).
//
// Expressions (guards and bodies):
// - `"$N"`: the value bound in the head; a variable the head does not bind
//   makes the spec invalid. `"$_"`: the whole record. `"$$"`: an array of
//   every variable the head binds, in variable-number order (head
//   `["$2", "$1"]` gives `[value of $1, value of $2]`).
// - Other strings, numbers, bigints, booleans, null, undefined, Pids, Refs,
//   functions and class instances in general: constants.
// - An array `[e1, e2, ...]`: a new array of the evaluated elements (this
//   replaces Erlang's `{{...}}` tuple construction and list construction).
// - `{ const: v }`: `v` as is, not interpreted (`{ const: "$1" }` is the
//   string "$1").
// - `{ object: { k1: e1, ... } }`: a new plain object; the values are
//   evaluated, the keys are literal.
// - `{ fn: [arg1, ...] }`, a plain object with exactly one key that names a
//   function and whose value is an array of argument expressions: a call.
//   Any other object shape, an unknown name, a wrong number of arguments or
//   arguments that are not an array make the spec invalid.
//
// Functions (Erlang's names):
// - type tests (one argument, never fail): `is_number` (number or bigint),
//   `is_integer` (`Number.isInteger` or bigint), `is_float` (a number that
//   is not an integer: JS has no `1.0` distinct from `1`), `is_string`,
//   `is_boolean`, `is_null`, `is_array` (aliases `is_tuple`, `is_list`),
//   `is_object` (alias `is_map`; plain objects only), `is_pid`, `is_ref`
//   (alias `is_reference`), `is_function`, `is_bigint`; and
//   `is_map_key [key, object]` (false for a non-string key).
// - logic: `not` (1 argument), `xor` (2), `and`, `or`, `andalso`, `orelse`
//   (1 or more; `and`/`or` evaluate every operand, `andalso`/`orelse` stop
//   at the first false/true). Every operand must be a boolean.
// - comparison (2 arguments): `">"`, `">="`, `"<"`, `"=<"` (alias `"<="`) in
//   the term order; `"=="`, `"/="` (equal in the term order: `1 == 1n`,
//   arrays and plain objects compared structurally); `"=:="`, `"=/="`
//   (`sameTerm`: `1 =/= 1n`). Ordering needs both operands to be
//   orderable (keys: numbers, bigints, strings, booleans, null, Pids, Refs,
//   arrays of them); ordering anything else is an error.
// - arithmetic: `"+"`, `"-"` (1 or 2 arguments), `"*"`, `"/"` (float
//   division, also of two bigints), `div`, `rem` (integers: both integral
//   numbers or both bigints), `band`, `bor`, `bxor`, `bnot`, `bsl`, `bsr`
//   (integers; on numbers the result must be a safe integer, use bigints
//   beyond 2^53), `abs`, `max`, `min` (term order), `round` (half away from
//   zero, as Erlang), `floor`, `ceil`, `trunc`, `float` (identity on
//   numbers, bigint to number). Mixing a number and a bigint in arithmetic
//   is an error (Erlang's badarith), as is dividing by zero.
// - structure: `element [index, array]` with a 0-BASED index (records are
//   0-based arrays here; Erlang's element/2 is 1-based), `hd`, `tl`,
//   `length`, `size`, `tuple_size` (arrays), `map_size` (plain objects),
//   `map_get [key, object]` (error if the key is absent).
// - `self []`: the calling process's pid.
//
// An exception while evaluating a guard (a wrong type, a non-boolean in a
// logic operation, a missing map key...) makes that clause fail: the next
// clause is tried. An exception in a body makes the clause's result
// MATCH_SPEC_EXIT (Erlang's 'EXIT' atom), a symbol no record field or string
// can be mistaken for.
//
// ## Compiling
//
// Each node of the spec becomes a closure, once; running a spec on a record
// is one closure call per node, with variables in preallocated slots and no
// allocation until a head has matched. The spec is deep-copied (arrays and
// plain objects) at compile time, so later changes to the caller's value do
// not change the compiled spec.

import { formatTerm } from "./_format.ts";
import { compareTerms, isKey, sameTerm } from "./_term.ts";
import { currentProc, Pid, Ref } from "./_runtime.ts";

/**
 * The result of a match-spec clause whose body raised (Erlang gives the atom
 * 'EXIT'): a unique symbol, so no stored value can be mistaken for it.
 *
 * @example
 * ```ts
 * import { create, MATCH_SPEC_EXIT } from "@steward/steward/ets";
 * const t = create("raising");
 * t.insert([1, "not a number"]);
 * const [r] = t.select([[["$1", "$2"], [], [{ "+": ["$2", 1] }]]]);
 * console.assert(r === MATCH_SPEC_EXIT);
 * t.destroy();
 * ```
 */
export const MATCH_SPEC_EXIT: unique symbol = Symbol("MATCH_SPEC_EXIT");

/** Returned by run() when no clause matched. */
export const NO_MATCH: unique symbol = Symbol("NO_MATCH");

/** The keyPatterns() entry of a clause whose head does not constrain the key. */
export const ANY: unique symbol = Symbol("ANY");

/** A compiled match spec (or match pattern). */
export interface CompiledSpec {
  /**
   * Runs the spec on one record: the result, or NO_MATCH. The result shares
   * structure with the record (`"$_"`, bound values) and with the spec's
   * constants (`{ const: v }`): copy it before handing it out or storing it.
   */
  run(record: readonly unknown[]): unknown;
  /**
   * Per clause, the head's sub-pattern at `keyPos`, or ANY if the head does
   * not constrain the key (head `"_"` or a variable, `"_"` or a variable at
   * `keyPos`, a head array no longer than `keyPos`, a head that is not an
   * array). Lets the table avoid full scans; the record found must still be
   * run through the spec.
   */
  keyPatterns(keyPos: number): unknown[];
  /**
   * select_replace's static check: whether every clause's result is sure to
   * keep the record's key (OTP's db_match_keeps_key).
   */
  retainsKey(keyPos: number): boolean;
  /**
   * Whether a result may hold the record inside it (not just be it): `"$_"`
   * within the result expression, or a head that binds the whole record to
   * a variable. A table that must not hand out its own arrays runs such a
   * spec on a copy of the record.
   */
  readonly embedsRecord: boolean;
}

// -------------------------------------------------------------- helpers --

/** Erlang's '$N' limit. */
const MAX_VARIABLE = 100_000_000;
/** Deeper specs are rejected (also catches cycles) instead of overflowing. */
const MAX_DEPTH = 1000;

/** The variable number of `"$N"`, or -1 if `x` is not a variable. */
function variableNumber(x: unknown): number {
  if (
    typeof x !== "string" || x.length < 2 || x.length > 10 ||
    x.charCodeAt(0) !== 36 // "$"
  ) return -1;
  if (x.charCodeAt(1) === 48) return x.length === 2 ? 0 : -1; // "$0" only
  let n = 0;
  for (let i = 1; i < x.length; i++) {
    const d = x.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n <= MAX_VARIABLE ? n : -1;
}

type PlainObject = Record<string, unknown>;

/** Plain objects (`{}` literals, null-prototype objects), not arrays. */
function isPlainObject(x: unknown): x is PlainObject {
  if (typeof x !== "object" || x === null || Array.isArray(x)) return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

/** Sets an own data property, even one named `__proto__`. */
function setOwn(o: PlainObject, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(o, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    o[key] = value;
  }
}

/**
 * A private deep copy of arrays and plain objects (other values are shared),
 * so the compiled spec and keyPatterns() do not change with the caller's
 * value.
 */
function copySpec(x: unknown, depth: number, prefix: string): unknown {
  if (typeof x !== "object" || x === null) return x;
  if (depth > MAX_DEPTH) {
    throw new TypeError(
      `${prefix}: nested deeper than ${MAX_DEPTH} levels (is it cyclic?)`,
    );
  }
  if (Array.isArray(x)) {
    const out = new Array(x.length);
    for (let i = 0; i < x.length; i++) {
      out[i] = copySpec(x[i], depth + 1, prefix);
    }
    return out;
  }
  if (!isPlainObject(x)) return x;
  const out: PlainObject = Object.getPrototypeOf(x) === null
    ? Object.create(null)
    : {};
  for (const k of Object.keys(x)) {
    setOwn(out, k, copySpec(x[k], depth + 1, prefix));
  }
  return out;
}

/**
 * What evaluation throws: guards catch it (the clause fails), bodies catch
 * it (the result is MATCH_SPEC_EXIT). One shared object, so failing costs no stack
 * capture.
 */
const FAIL = Object.freeze({ matchSpecEvaluationError: true });

function fail(): never {
  throw FAIL;
}

// ------------------------------------------------------------- patterns --

/** Matches `x`, binding variables into `vars` (the clause's slots). */
type Matcher = (x: unknown, vars: unknown[]) => boolean;
/** Matches one element or property of an already type-checked container. */
type Step = (container: never, vars: unknown[]) => boolean;

interface HeadState {
  /** Variable number → slot (slots are in variable-number order). */
  readonly slots: Map<number, number>;
  /** Variables whose binding occurrence has been compiled. */
  readonly bound: Set<number>;
}

/** Collects the head's variables and rejects variable/"_" object keys. */
function collectVariables(
  p: unknown,
  into: Set<number>,
  err: (what: string) => TypeError,
): void {
  const n = variableNumber(p);
  if (n >= 0) {
    into.add(n);
  } else if (Array.isArray(p)) {
    for (const e of p) collectVariables(e, into, err);
  } else if (isPlainObject(p)) {
    for (const k of Object.keys(p)) {
      if (k === "_" || variableNumber(k) >= 0) {
        // Erlang rejects both as map keys (badarg): a key is looked up, it
        // cannot bind or be skipped.
        const what = k === "_" ? '"_"' : `variable ${JSON.stringify(k)}`;
        throw err(
          `${what} cannot be an object key in a pattern: ${formatTerm(p)}`,
        );
      }
      collectVariables(p[k], into, err);
    }
  }
}

/** Every step must pass (specialized for short lists: no loop). */
function allSteps(steps: Step[]): Step {
  switch (steps.length) {
    case 0:
      return () => true;
    case 1:
      return steps[0];
    case 2: {
      const [s0, s1] = steps;
      return (c, v) => s0(c, v) && s1(c, v);
    }
    case 3: {
      const [s0, s1, s2] = steps;
      return (c, v) => s0(c, v) && s1(c, v) && s2(c, v);
    }
    default:
      return (c, v) => {
        for (let i = 0; i < steps.length; i++) {
          if (!steps[i](c, v)) return false;
        }
        return true;
      };
  }
}

/**
 * The step for element `i` of an array pattern; null for "_" (nothing to
 * check). Binding, constants and nested patterns read `a[i]` directly.
 */
function elementStep(p: unknown, i: number, st: HeadState): Step | null {
  if (p === "_") return null;
  const n = variableNumber(p);
  if (n >= 0) {
    const slot = st.slots.get(n)!;
    if (!st.bound.has(n)) {
      st.bound.add(n);
      return (a: unknown[], v) => {
        v[slot] = a[i];
        return true;
      };
    }
    return (a: unknown[], v) => sameTerm(v[slot], a[i]);
  }
  if (typeof p !== "object" || p === null) {
    if (p !== p) return (a: unknown[]) => a[i] !== a[i]; // NaN =:= NaN
    return (a: unknown[]) => a[i] === p;
  }
  const m = compilePattern(p, st)!;
  return (a: unknown[], v) => m(a[i], v);
}

/** A matcher for pattern `p`, or null if `p` is "_" (matches anything). */
function compilePattern(p: unknown, st: HeadState): Matcher | null {
  if (p === "_") return null;
  const n = variableNumber(p);
  if (n >= 0) {
    const slot = st.slots.get(n)!;
    if (!st.bound.has(n)) {
      st.bound.add(n);
      return (x, v) => {
        v[slot] = x;
        return true;
      };
    }
    return (x, v) => sameTerm(v[slot], x);
  }
  if (Array.isArray(p)) {
    const len = p.length;
    const all = arrayMatcher(p, st);
    return (x, v) =>
      Array.isArray(x) && x.length === len && all(x as unknown[], v);
  }
  if (isPlainObject(p)) {
    const steps: Step[] = [];
    for (const k of Object.keys(p)) {
      const m = compilePattern(p[k], st);
      steps.push(
        m === null
          ? (o: PlainObject) => Object.hasOwn(o, k)
          : (o: PlainObject, v) => Object.hasOwn(o, k) && m(o[k], v),
      );
    }
    const all = allSteps(steps) as (o: PlainObject, v: unknown[]) => boolean;
    return (x, v) => isPlainObject(x) && all(x, v);
  }
  if (p !== p) return (x) => x !== x; // NaN =:= NaN
  return (x) => x === p; // primitives by value, objects by identity
}

/** Matches an array of `p`'s length element by element (length not checked). */
function arrayMatcher(
  p: readonly unknown[],
  st: HeadState,
): (a: unknown[], v: unknown[]) => boolean {
  const steps: Step[] = [];
  for (let i = 0; i < p.length; i++) {
    const s = elementStep(p[i], i, st);
    if (s !== null) steps.push(s);
  }
  return allSteps(steps) as (a: unknown[], v: unknown[]) => boolean;
}

/** The record matcher of a head: records are always arrays. */
function compileHead(head: unknown, st: HeadState): Matcher {
  if (Array.isArray(head)) {
    // The table passes arrays: skip the Array.isArray test of the root.
    const len = head.length;
    const all = arrayMatcher(head, st);
    return (r, v) => (r as unknown[]).length === len && all(r as unknown[], v);
  }
  return compilePattern(head, st) ?? (() => true);
}

// ---------------------------------------------------------- expressions --

/** Evaluates one expression for a record whose head matched. */
type Expr = (record: readonly unknown[], vars: unknown[]) => unknown;

interface ExprContext {
  readonly slots: Map<number, number>;
  readonly err: (what: string) => TypeError;
}

function constant(c: unknown): Expr {
  return () => c;
}

function compileExpr(e: unknown, cx: ExprContext): Expr {
  if (typeof e === "string") {
    if (e === "$_") return (r) => r;
    if (e === "$$") return (_r, v) => v.slice();
    const n = variableNumber(e);
    if (n < 0) return constant(e);
    const slot = cx.slots.get(n);
    if (slot === undefined) {
      throw cx.err(`variable ${JSON.stringify(e)} is not bound in the head`);
    }
    return (_r, v) => v[slot];
  }
  if (Array.isArray(e)) return construct(e.map((x) => compileExpr(x, cx)));
  if (!isPlainObject(e)) return constant(e);
  const keys = Object.keys(e);
  if (keys.length !== 1) throw badShape(e, cx);
  const name = keys[0];
  const arg = e[name];
  if (name === "const") return constant(arg);
  if (name === "object") {
    if (!isPlainObject(arg)) {
      throw cx.err(
        `{ object: ... } needs a plain object of expressions, got ${
          formatTerm(arg)
        }`,
      );
    }
    return constructObject(arg, cx);
  }
  const def = FUNCTIONS.get(name);
  if (def === undefined) {
    throw cx.err(`unknown function ${JSON.stringify(name)}`);
  }
  if (!Array.isArray(arg)) {
    throw cx.err(
      `the arguments of ${JSON.stringify(name)} must be an array, got ${
        formatTerm(arg)
      }`,
    );
  }
  if (arg.length < def.min || arg.length > def.max) {
    throw cx.err(
      `${JSON.stringify(name)} takes ${arityText(def)}, got ${arg.length}: ${
        formatTerm(e)
      }`,
    );
  }
  return def.build(arg.map((x) => compileExpr(x, cx)));
}

function badShape(e: unknown, cx: ExprContext): TypeError {
  return cx.err(
    `an object expression must have exactly one key: { const: value }, { object: {...} } or { fn: [args] }; got ${
      formatTerm(e)
    }`,
  );
}

function arityText(def: FunctionDef): string {
  const word = (n: number) => `${n} argument${n === 1 ? "" : "s"}`;
  if (def.min === def.max) return word(def.min);
  if (def.max === Infinity) return `at least ${word(def.min)}`;
  return `${def.min} or ${word(def.max)}`;
}

/** `[e1, e2, ...]`: a fresh array each time (specialized for short ones). */
function construct(fs: Expr[]): Expr {
  switch (fs.length) {
    case 0:
      return () => [];
    case 1: {
      const [f0] = fs;
      return (r, v) => [f0(r, v)];
    }
    case 2: {
      const [f0, f1] = fs;
      return (r, v) => [f0(r, v), f1(r, v)];
    }
    case 3: {
      const [f0, f1, f2] = fs;
      return (r, v) => [f0(r, v), f1(r, v), f2(r, v)];
    }
    default:
      return (r, v) => {
        const out = new Array(fs.length);
        for (let i = 0; i < fs.length; i++) out[i] = fs[i](r, v);
        return out;
      };
  }
}

function constructObject(spec: PlainObject, cx: ExprContext): Expr {
  const keys = Object.keys(spec);
  const fs = keys.map((k) => compileExpr(spec[k], cx));
  return (r, v) => {
    const out: PlainObject = {};
    for (let i = 0; i < keys.length; i++) setOwn(out, keys[i], fs[i](r, v));
    return out;
  };
}

// ------------------------------------------------------------ functions --

interface FunctionDef {
  readonly min: number;
  readonly max: number;
  readonly build: (args: Expr[]) => Expr;
}

function fn0(f: () => unknown): FunctionDef {
  return { min: 0, max: 0, build: () => f };
}

function fn1(f: (a: unknown) => unknown): FunctionDef {
  return {
    min: 1,
    max: 1,
    build: ([a]) => (r, v) => f(a(r, v)),
  };
}

function fn2(f: (a: unknown, b: unknown) => unknown): FunctionDef {
  return {
    min: 2,
    max: 2,
    build: ([a, b]) => (r, v) => f(a(r, v), b(r, v)),
  };
}

/** "+" and "-": unary or binary. */
function fn12(
  unary: (a: unknown) => unknown,
  binary: (a: unknown, b: unknown) => unknown,
): FunctionDef {
  return {
    min: 1,
    max: 2,
    build: (args) => {
      if (args.length === 1) {
        const [a] = args;
        return (r, v) => unary(a(r, v));
      }
      const [a, b] = args;
      return (r, v) => binary(a(r, v), b(r, v));
    },
  };
}

function bool(x: unknown): boolean {
  return typeof x === "boolean" ? x : fail();
}

/** `and`/`or`: every operand evaluated and checked. */
function strictLogic(isAnd: boolean): FunctionDef {
  return {
    min: 1,
    max: Infinity,
    build: (args) => (r, v) => {
      let acc = isAnd;
      for (let i = 0; i < args.length; i++) {
        const x = bool(args[i](r, v));
        acc = isAnd ? acc && x : acc || x;
      }
      return acc;
    },
  };
}

/** `andalso`/`orelse`: stops at the first false (andalso) or true. */
function shortLogic(isAnd: boolean): FunctionDef {
  return {
    min: 1,
    max: Infinity,
    build: (args) => (r, v) => {
      for (let i = 0; i < args.length; i++) {
        if (bool(args[i](r, v)) !== isAnd) return !isAnd;
      }
      return isAnd;
    },
  };
}

/**
 * The term order for guards: _term's compareTerms, but an error (not a
 * silent 0) for values outside it (plain objects, undefined, NaN...).
 */
function order(a: unknown, b: unknown): number {
  if (typeof a === "number" && typeof b === "number") {
    if (a < b) return -1;
    if (a > b) return 1;
    return a === b ? 0 : fail(); // NaN
  }
  if (typeof a === "string" && typeof b === "string") {
    return a < b ? -1 : a > b ? 1 : 0;
  }
  const arrayA = Array.isArray(a);
  const arrayB = Array.isArray(b);
  if (arrayA && arrayB) {
    if (a.length !== b.length) return a.length - b.length;
    for (let i = 0; i < a.length; i++) {
      const c = order(a[i], b[i]);
      if (c !== 0) return c;
    }
    return 0;
  }
  if ((!arrayA && !isKey(a)) || (!arrayB && !isKey(b))) fail();
  return compareTerms(a, b);
}

/** Erlang's ==: as =:= but numbers by value across number and bigint. */
function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === "number" && typeof b === "bigint") return numBig(a, b);
  if (typeof a === "bigint" && typeof b === "number") return numBig(b, a);
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!equal(a[i], b[i])) return false;
    return true;
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    for (const k of keys) {
      if (!Object.hasOwn(b, k) || !equal(a[k], b[k])) return false;
    }
    return true;
  }
  return sameTerm(a, b); // NaN, and identity for everything else
}

function numBig(n: number, b: bigint): boolean {
  return Number.isInteger(n) && BigInt(n) === b;
}

/** Both numbers or both bigints (Erlang's badarith otherwise). */
function arith(
  onNumbers: (a: number, b: number) => number,
  onBigints: (a: bigint, b: bigint) => bigint | number,
): (a: unknown, b: unknown) => unknown {
  return (a, b) => {
    if (typeof a === "number" && typeof b === "number") return onNumbers(a, b);
    if (typeof a === "bigint" && typeof b === "bigint") return onBigints(a, b);
    return fail();
  };
}

/** Integer-only: both integral numbers or both bigints. */
function integer(
  onNumbers: (a: number, b: number) => number,
  onBigints: (a: bigint, b: bigint) => bigint,
): (a: unknown, b: unknown) => unknown {
  return (a, b) => {
    if (typeof a === "number" && typeof b === "number") {
      return Number.isInteger(a) && Number.isInteger(b)
        ? onNumbers(a, b)
        : fail();
    }
    if (typeof a === "bigint" && typeof b === "bigint") return onBigints(a, b);
    return fail();
  };
}

function isInt32(n: number): boolean {
  return (n | 0) === n;
}

/** A bitwise result computed on bigints, back to a safe-integer number. */
function safeNumber(b: bigint): number {
  const n = Number(b);
  return Number.isSafeInteger(n) ? n : fail();
}

/** Bitwise ops on numbers: JS's are 32-bit, so go through BigInt beyond. */
function bitwise(
  op32: (a: number, b: number) => number,
  opBig: (a: bigint, b: bigint) => bigint,
): (a: unknown, b: unknown) => unknown {
  return integer(
    (a, b) =>
      isInt32(a) && isInt32(b)
        ? op32(a, b)
        : safeNumber(opBig(BigInt(a), BigInt(b))),
    opBig,
  );
}

/** bsl on numbers; a negative count shifts right (as Erlang). */
function shiftNumber(a: number, count: number): number {
  if (a === 0) return 0;
  if (count >= 0) {
    // |a| ≥ 1, so 2^64 and beyond cannot be a safe integer.
    return count >= 64 ? fail() : safeNumber(BigInt(a) << BigInt(count));
  }
  return -count >= 64 ? (a < 0 ? -1 : 0) : Number(BigInt(a) >> BigInt(-count));
}

/** A float-to-integer rounding; bigints are integers already. */
function rounding(f: (x: number) => number): (a: unknown) => unknown {
  return (a) => {
    if (typeof a === "bigint") return a;
    if (typeof a !== "number" || !Number.isFinite(a)) return fail();
    return f(a) + 0; // + 0 turns -0 into 0: integers have no sign of zero
  };
}

function array(x: unknown): unknown[] {
  return Array.isArray(x) ? x : fail();
}

function nonEmpty(x: unknown): unknown[] {
  return Array.isArray(x) && x.length > 0 ? x : fail();
}

function plainObject(x: unknown): PlainObject {
  return isPlainObject(x) ? x : fail();
}

function index(i: unknown): number {
  if (typeof i === "number") return Number.isInteger(i) ? i : fail();
  return typeof i === "bigint" ? Number(i) : fail();
}

const isNumber = (a: unknown) => typeof a === "number" || typeof a === "bigint";
const isArray = (a: unknown) => Array.isArray(a);
const isObject = (a: unknown) => isPlainObject(a);
const isRef = (a: unknown) => a instanceof Ref;

const FUNCTIONS: ReadonlyMap<string, FunctionDef> = new Map<
  string,
  FunctionDef
>([
  // type tests
  ["is_number", fn1(isNumber)],
  [
    "is_integer",
    fn1((a) => typeof a === "bigint" || Number.isInteger(a)),
  ],
  [
    "is_float",
    fn1((a) => typeof a === "number" && !Number.isInteger(a)),
  ],
  ["is_string", fn1((a) => typeof a === "string")],
  ["is_boolean", fn1((a) => typeof a === "boolean")],
  ["is_null", fn1((a) => a === null)],
  ["is_array", fn1(isArray)],
  ["is_tuple", fn1(isArray)],
  ["is_list", fn1(isArray)],
  ["is_object", fn1(isObject)],
  ["is_map", fn1(isObject)],
  ["is_pid", fn1((a) => a instanceof Pid)],
  ["is_ref", fn1(isRef)],
  ["is_reference", fn1(isRef)],
  ["is_function", fn1((a) => typeof a === "function")],
  ["is_bigint", fn1((a) => typeof a === "bigint")],
  [
    "is_map_key",
    fn2((k, o) => typeof k === "string" && Object.hasOwn(plainObject(o), k)),
  ],
  // logic
  ["not", fn1((a) => !bool(a))],
  ["xor", fn2((a, b) => bool(a) !== bool(b))],
  ["and", strictLogic(true)],
  ["or", strictLogic(false)],
  ["andalso", shortLogic(true)],
  ["orelse", shortLogic(false)],
  // comparison
  [">", fn2((a, b) => order(a, b) > 0)],
  [">=", fn2((a, b) => order(a, b) >= 0)],
  ["<", fn2((a, b) => order(a, b) < 0)],
  ["=<", fn2((a, b) => order(a, b) <= 0)],
  ["<=", fn2((a, b) => order(a, b) <= 0)],
  ["==", fn2(equal)],
  ["/=", fn2((a, b) => !equal(a, b))],
  ["=:=", fn2(sameTerm)],
  ["=/=", fn2((a, b) => !sameTerm(a, b))],
  // arithmetic
  [
    "+",
    fn12(
      (a) => isNumber(a) ? a : fail(),
      arith((a, b) => a + b, (a, b) => a + b),
    ),
  ],
  [
    "-",
    fn12(
      (a) =>
        typeof a === "number" ? 0 - a : typeof a === "bigint" ? -a : fail(),
      arith((a, b) => a - b, (a, b) => a - b),
    ),
  ],
  ["*", fn2(arith((a, b) => a * b, (a, b) => a * b))],
  [
    "/",
    fn2(arith(
      (a, b) => b === 0 ? fail() : a / b,
      (a, b) => b === 0n ? fail() : Number(a) / Number(b),
    )),
  ],
  [
    "div",
    fn2(integer(
      // (a - a % b) / b is exact for safe integers; a / b may round up.
      (a, b) => b === 0 ? fail() : (a - (a % b)) / b + 0,
      (a, b) => b === 0n ? fail() : a / b,
    )),
  ],
  [
    "rem",
    fn2(integer(
      (a, b) => b === 0 ? fail() : (a % b) + 0,
      (a, b) => b === 0n ? fail() : a % b,
    )),
  ],
  ["band", fn2(bitwise((a, b) => a & b, (a, b) => a & b))],
  ["bor", fn2(bitwise((a, b) => a | b, (a, b) => a | b))],
  ["bxor", fn2(bitwise((a, b) => a ^ b, (a, b) => a ^ b))],
  [
    "bnot",
    fn1((a) =>
      typeof a === "bigint"
        ? ~a
        : typeof a === "number" && Number.isInteger(a)
        ? (isInt32(a) ? ~a : safeNumber(~BigInt(a)))
        : fail()
    ),
  ],
  ["bsl", fn2(integer((a, b) => shiftNumber(a, b), (a, b) => a << b))],
  ["bsr", fn2(integer((a, b) => shiftNumber(a, -b), (a, b) => a >> b))],
  [
    "abs",
    fn1((a) =>
      typeof a === "number"
        ? Math.abs(a)
        : typeof a === "bigint"
        ? (a < 0n ? -a : a)
        : fail()
    ),
  ],
  // Erlang's max/min return the first argument when the two compare equal.
  ["max", fn2((a, b) => order(a, b) < 0 ? b : a)],
  ["min", fn2((a, b) => order(a, b) > 0 ? b : a)],
  // Erlang rounds half away from zero; Math.round rounds half up.
  ["round", fn1(rounding((x) => Math.sign(x) * Math.round(Math.abs(x))))],
  ["floor", fn1(rounding(Math.floor))],
  ["ceil", fn1(rounding(Math.ceil))],
  ["trunc", fn1(rounding(Math.trunc))],
  [
    "float",
    fn1((a) =>
      typeof a === "number" ? a : typeof a === "bigint" ? Number(a) : fail()
    ),
  ],
  // structure
  [
    "element",
    fn2((i, a) => {
      const arr = array(a);
      const k = index(i);
      return k >= 0 && k < arr.length ? arr[k] : fail();
    }),
  ],
  ["hd", fn1((a) => nonEmpty(a)[0])],
  ["tl", fn1((a) => nonEmpty(a).slice(1))],
  ["length", fn1((a) => array(a).length)],
  ["size", fn1((a) => array(a).length)],
  ["tuple_size", fn1((a) => array(a).length)],
  ["map_size", fn1((o) => Object.keys(plainObject(o)).length)],
  [
    "map_get",
    fn2((k, o) => {
      const obj = plainObject(o);
      return typeof k === "string" && Object.hasOwn(obj, k) ? obj[k] : fail();
    }),
  ],
  // misc
  ["self", fn0(() => currentProc().pid)],
]);

// -------------------------------------------------------------- clauses --

/** One compiled clause: the result for a record, or NO_MATCH. */
type ClauseRun = (record: readonly unknown[]) => unknown;

function compileClause(
  head: unknown,
  guards: unknown[],
  body: unknown[],
  err: (where: string, what: string) => TypeError,
): ClauseRun {
  const headErr = (what: string) => err("head", what);
  const numbers = new Set<number>();
  collectVariables(head, numbers, headErr);
  const slots = new Map<number, number>();
  [...numbers].sort((a, b) => a - b).forEach((n, i) => slots.set(n, i));
  const match = compileHead(head, { slots, bound: new Set() });

  const gs = guards.map((g, i) =>
    compileExpr(g, { slots, err: (what) => err(`guard ${i}`, what) })
  );
  const bs = body.map((b, i) =>
    compileExpr(b, { slots, err: (what) => err(`body ${i}`, what) })
  );
  // Scratch slots, reused run after run (no allocation per record): a run
  // does not re-enter itself (no user callbacks; getters on records aside),
  // and "$$" copies the slots out.
  const vars = new Array(slots.size);

  let guard: Expr | null = null;
  if (gs.length === 1) {
    const [g0] = gs;
    guard = (r, v) => g0(r, v) === true;
  } else if (gs.length > 1) {
    guard = (r, v) => {
      for (let i = 0; i < gs.length; i++) {
        if (gs[i](r, v) !== true) return false;
      }
      return true;
    };
  }
  const last = bs[bs.length - 1];
  const result: Expr = bs.length === 1 ? last : (r, v) => {
    // Earlier body expressions only matter for their exceptions.
    for (let i = 0; i < bs.length - 1; i++) bs[i](r, v);
    return last(r, v);
  };

  if (guard === null) {
    return (r) => {
      if (!match(r, vars)) return NO_MATCH;
      try {
        return result(r, vars);
      } catch {
        return MATCH_SPEC_EXIT;
      }
    };
  }
  const g = guard;
  return (r) => {
    if (!match(r, vars)) return NO_MATCH;
    let pass: unknown;
    try {
      pass = g(r, vars);
    } catch {
      return NO_MATCH; // a guard exception fails the clause, not the spec
    }
    if (!pass) return NO_MATCH;
    try {
      return result(r, vars);
    } catch {
      return MATCH_SPEC_EXIT;
    }
  };
}

function runAll(clauses: ClauseRun[]): (record: readonly unknown[]) => unknown {
  switch (clauses.length) {
    case 0:
      return () => NO_MATCH;
    case 1:
      return clauses[0];
    case 2: {
      const [c0, c1] = clauses;
      return (r) => {
        const x = c0(r);
        return x !== NO_MATCH ? x : c1(r);
      };
    }
    default:
      return (r) => {
        for (let i = 0; i < clauses.length; i++) {
          const x = clauses[i](r);
          if (x !== NO_MATCH) return x;
        }
        return NO_MATCH;
      };
  }
}

type Clause = [head: unknown, guards: unknown[], body: unknown[]];

class Compiled implements CompiledSpec {
  readonly #clauses: readonly Clause[];
  readonly run: (record: readonly unknown[]) => unknown;
  readonly embedsRecord: boolean;

  constructor(clauses: Clause[], prefix: string) {
    this.#clauses = clauses;
    this.embedsRecord = clauses.some(([head, _guards, body]) =>
      variableNumber(head) >= 0 ||
      (body[body.length - 1] !== "$_" && mentions(body[body.length - 1], "$_"))
    );
    this.run = runAll(clauses.map(([head, guards, body], i) =>
      compileClause(
        head,
        guards,
        body,
        (where, what) =>
          new TypeError(
            clauses.length === 1 && prefix === PATTERN
              ? `${prefix}: ${what}`
              : `${prefix}: clause ${i} ${where}: ${what}`,
          ),
      )
    ));
  }

  keyPatterns(keyPos: number): unknown[] {
    return this.#clauses.map(([head]) => {
      if (!Array.isArray(head) || head.length <= keyPos) return ANY;
      const key = head[keyPos];
      return key === "_" || variableNumber(key) >= 0 ? ANY : key;
    });
  }

  retainsKey(keyPos: number): boolean {
    return this.#clauses.every(([head, _guards, body]) =>
      keepsKey(keyPos, head, body)
    );
  }
}

/** Whether `expr` contains the string `token` anywhere (arrays, objects). */
function mentions(expr: unknown, token: string): boolean {
  if (expr === token) return true;
  if (Array.isArray(expr)) return expr.some((e) => mentions(e, token));
  if (expr !== null && typeof expr === "object") {
    return Object.values(expr).some((e) => mentions(e, token));
  }
  return false;
}

// ------------------------------------------------------ select_replace --

/**
 * OTP's db_match_keeps_key: whether the clause's result is sure to carry
 * the head's key, judged on the spec's text (a value-preserving computation
 * like `{ "+": ["$1", 0] }` is rejected, as in OTP).
 */
function keepsKey(keyPos: number, head: unknown, body: unknown[]): boolean {
  // One body expression only: an earlier one could throw, making MATCH_SPEC_EXIT.
  if (body.length !== 1) return false;
  const result = body[0];
  if (result === "$_") return true; // the same record
  if (!Array.isArray(head) || head.length <= keyPos) return false;
  let built: unknown;
  let constMode: boolean;
  if (Array.isArray(result)) {
    built = result;
    constMode = false;
  } else if (
    isPlainObject(result) && Object.keys(result).length === 1 &&
    Object.hasOwn(result, "const") && Array.isArray(result.const)
  ) {
    built = result.const;
    constMode = true;
  } else {
    return false;
  }
  const builtArray = built as unknown[];
  if (builtArray.length <= keyPos) return false;
  const key = builtArray[keyPos];
  if (buildsSame(head[keyPos], key, constMode)) return true;
  if (constMode) return false;
  // { element: [keyPos, "$_"] }: the record's own key.
  return isPlainObject(key) && Object.keys(key).length === 1 &&
    Array.isArray(key.element) && key.element.length === 2 &&
    key.element[0] === keyPos && key.element[1] === "$_";
}

/**
 * OTP's db_match_eq_body: whether expression `b` always builds the term
 * that pattern `a` matched. In const mode `b` is a literal value.
 */
function buildsSame(a: unknown, b: unknown, constMode: boolean): boolean {
  if (Array.isArray(b)) {
    if (!Array.isArray(a) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) {
      if (!buildsSame(a[i], b[i], constMode)) return false;
    }
    return true;
  }
  if (isPlainObject(b)) {
    if (
      !constMode && Object.keys(b).length === 1 && Object.hasOwn(b, "const")
    ) {
      return buildsSame(a, b.const, true);
    }
    // A function call, an object construction, or a literal object: a
    // pattern object matches sub-maps, so nothing is known about the rest.
    return false;
  }
  if (!sameTerm(a, b) || a === "_" || a === "$_" || a === "$$") return false;
  // A literal "$1" is not the value the head's variable "$1" bound.
  return !(constMode && variableNumber(a) >= 0);
}

// ------------------------------------------------------------------ API --

const SPEC = "Invalid match spec";
const PATTERN = "Invalid match pattern";

/** Compiles a match spec; throws TypeError (message starts with "Invalid match spec:") if invalid. */
export function compileSpec(spec: unknown): CompiledSpec {
  if (!Array.isArray(spec)) {
    throw new TypeError(
      `${SPEC}: expected an array of [head, guards, body] clauses, got ${
        formatTerm(spec)
      }`,
    );
  }
  // A loop, not map(): map skips the holes of a sparse array.
  const clauses: Clause[] = [];
  for (let i = 0; i < spec.length; i++) {
    const clause: unknown = spec[i];
    if (!Array.isArray(clause) || clause.length !== 3) {
      throw new TypeError(
        `${SPEC}: clause ${i}: expected [head, guards, body], got ${
          formatTerm(clause)
        }`,
      );
    }
    const [, guards, body] = clause;
    if (!Array.isArray(guards)) {
      throw new TypeError(
        `${SPEC}: clause ${i}: guards must be an array of expressions, got ${
          formatTerm(guards)
        }`,
      );
    }
    if (!Array.isArray(body) || body.length === 0) {
      throw new TypeError(
        `${SPEC}: clause ${i}: body must be a non-empty array of expressions, got ${
          formatTerm(body)
        }`,
      );
    }
    clauses.push(copySpec(clause, 0, SPEC) as Clause);
  }
  return new Compiled(clauses, SPEC);
}

/** ets:match(T, P) ≡ select(T, [[P, [], ["$$"]]]): result = bound variables in number order. */
export function compileMatch(pattern: unknown): CompiledSpec {
  return new Compiled([[copySpec(pattern, 0, PATTERN), [], ["$$"]]], PATTERN);
}

/** ets:match_object(T, P) ≡ select(T, [[P, [], ["$_"]]]). */
export function compileMatchObject(pattern: unknown): CompiledSpec {
  return new Compiled([[copySpec(pattern, 0, PATTERN), [], ["$_"]]], PATTERN);
}

/**
 * Whether a key pattern is fully bound (no "_", no variables, no plain
 * objects, which match sub-maps, anywhere), so the table can look it up
 * directly.
 */
export function isBound(pattern: unknown): boolean {
  if (typeof pattern === "string") {
    return pattern !== "_" && variableNumber(pattern) < 0;
  }
  if (Array.isArray(pattern)) {
    for (let i = 0; i < pattern.length; i++) {
      if (!isBound(pattern[i])) return false;
    }
    return true;
  }
  return pattern !== ANY && !isPlainObject(pattern);
}

/**
 * For an array key pattern whose leading elements are bound (e.g.
 * `["stream", "_"]` or `[500, "$1"]`): the number of leading bound elements
 * (0 if the pattern is not an array or its first element is unbound).
 */
export function boundPrefixLength(pattern: unknown): number {
  if (!Array.isArray(pattern)) return 0;
  let n = 0;
  while (n < pattern.length && isBound(pattern[n])) n++;
  return n;
}
