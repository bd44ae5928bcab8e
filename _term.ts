// Terms: what can be a table key, when two keys are the same, and the one
// total order ordered_set tables use. ets.ts documents the rules for users;
// this file is the single place that implements them.
//
// Keys are: numbers (not NaN), bigints, strings, booleans, null, Pids, Refs,
// and arrays ("tuples") of keys, nested to any depth.
//
// Two equalities, as Erlang has two:
// - `sameKey` (Erlang's =:=, used by set, bag and duplicate_bag): same type
//   and value; `1` and `1n` are different keys (as 1 and 1.0 in Erlang).
// - `compareTerms(a, b) === 0` (Erlang's ==, used by ordered_set): numbers
//   compare by value across number and bigint, so `1` and `1n` are the same
//   key there.
//
// Term order (compareTerms), by type first:
//   number | bigint  <  null  <  boolean  <  Ref  <  Pid  <  array  <  string
// numbers by value (1 == 1n); false < true; Refs and Pids by creation;
// arrays by length, then element by element (as Erlang tuples); strings by
// UTF-16 code units (JS `<`). Strings come last as Erlang's binaries do
// (after tuples): Elixir strings and JSON data from Erlang are binaries.
// Differs from Erlang on purpose: strings compare by UTF-16 code units, not
// by the bytes of their UTF-8 encoding (the orders differ only for code
// points above U+FFFF against U+E000..U+FFFF), because that is JS's `<`.

import { Pid, procOf, Ref, refNumber } from "./_runtime.ts";

const RANK_NUMBER = 0;
const RANK_NULL = 1;
const RANK_BOOLEAN = 2;
const RANK_REF = 3;
const RANK_PID = 4;
const RANK_ARRAY = 5;
const RANK_STRING = 6;
const NOT_A_KEY = -1;

function rank(x: unknown): number {
  switch (typeof x) {
    case "number":
      return x === x ? RANK_NUMBER : NOT_A_KEY; // NaN is not a key
    case "bigint":
      return RANK_NUMBER;
    case "string":
      return RANK_STRING;
    case "boolean":
      return RANK_BOOLEAN;
    case "object":
      if (x === null) return RANK_NULL;
      if (Array.isArray(x)) return RANK_ARRAY;
      if (x instanceof Pid) return RANK_PID;
      if (x instanceof Ref) return RANK_REF;
      return NOT_A_KEY;
    default:
      return NOT_A_KEY;
  }
}

/** Whether `x` may be a table key (see the file's comment). */
export function isKey(x: unknown): boolean {
  const r = rank(x);
  if (r === RANK_ARRAY) {
    const a = x as unknown[];
    for (let i = 0; i < a.length; i++) if (!isKey(a[i])) return false;
    return true;
  }
  return r !== NOT_A_KEY;
}

/** Erlang's =:= on keys: same type and value, arrays element by element. */
export function sameKey(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) {
    return false;
  }
  for (let i = 0; i < a.length; i++) if (!sameKey(a[i], b[i])) return false;
  return true;
}

/**
 * Erlang's =:= on any values (records, objects in them): arrays and plain
 * objects structurally, NaN equal to itself, other objects by identity.
 */
export function sameTerm(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (
    typeof a !== "object" || typeof b !== "object" || a === null || b === null
  ) {
    return a !== a && b !== b; // NaN
  }
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameTerm(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const pa = Object.getPrototypeOf(a);
  if (
    (pa !== Object.prototype && pa !== null) ||
    Object.getPrototypeOf(b) !== pa
  ) {
    return false; // class instances: identity only (a !== b here)
  }
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    if (
      !Object.hasOwn(b, k) ||
      !sameTerm(
        (a as Record<string, unknown>)[k],
        (b as Record<string, unknown>)[k],
      )
    ) return false;
  }
  return true;
}

/**
 * Bounds for range scans, below and above every key (never stored): the
 * smallest array of length 3 starting with "a" is ["a", LOWEST, LOWEST].
 */
export const LOWEST: unique symbol = Symbol("lowest term");
/** See {@linkcode LOWEST}. */
export const HIGHEST: unique symbol = Symbol("highest term");

/** The term order on keys: negative, 0 or positive, like a comparator. */
export function compareTerms(a: unknown, b: unknown): number {
  // Fast paths for the common key types. Identical values first: equal
  // strings then cost no string comparison (the stored copy of a key shares
  // its strings with the key looked up, which are often the same literal).
  if (a === b) return 0;
  if (typeof a === "number" && typeof b === "number") {
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (typeof a === "string" && typeof b === "string") {
    return a < b ? -1 : 1; // a !== b
  }
  if (Array.isArray(a) && Array.isArray(b)) return compareTuples(a, b);
  if (a === LOWEST || b === HIGHEST) return -1; // a !== b
  if (a === HIGHEST || b === LOWEST) return 1;
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  switch (ra) {
    case RANK_NUMBER: {
      // number vs bigint, or two bigints: compare by value
      const x = a as number | bigint;
      const y = b as number | bigint;
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case RANK_BOOLEAN:
      return (a ? 1 : 0) - (b ? 1 : 0);
    case RANK_PID:
      return procOf(a as Pid).id - procOf(b as Pid).id;
    case RANK_REF:
      return refNumber(a as Ref) - refNumber(b as Ref);
    default:
      return 0; // null == null
  }
}

/**
 * compareTerms on two arrays: by length, then element by element, with the
 * commonest elements (identical ones, numbers, strings) compared inline.
 */
function compareTuples(x: unknown[], y: unknown[]): number {
  const n = x.length;
  if (n !== y.length) return n - y.length;
  for (let i = 0; i < n; i++) {
    const p = x[i];
    const q = y[i];
    if (p === q) continue;
    if (typeof p === "number" && typeof q === "number") {
      if (p < q) return -1;
      if (p > q) return 1;
      continue; // NaN: not a key, compareTerms finds it equal
    }
    if (typeof p === "string" && typeof q === "string") return p < q ? -1 : 1;
    const c = compareTerms(p, q);
    if (c !== 0) return c;
  }
  return 0;
}
