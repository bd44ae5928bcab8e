// ETS tables against a model: for each table type, fast-check generates
// random sequences of operations over a small key space that mixes
// numbers, bigints (1 and 1n), strings ("__proto__" too) and tuples (mostly
// pairs; also 1- and 3-tuples, nested and empty ones), runs them on a table and on a plain array model with the type's rules, and
// compares every result, every error, and the whole table after each step.
//
// - set, bag, duplicate_bag: keys are the same when =:= (1 =/= 1n);
//   ordered_set: when == (1 == 1n), the newer key stored, in term order.
// - bag: no two identical records per key; duplicate_bag keeps them.
// - Order: ordered_set results in term order; other types compared as
//   multisets, except lookup, whose per-key order (oldest first) must match.
//
// fast-check prints the seed and the shrunk failing sequence on failure; to
// replay one, pass `{ seed, path }` to fc.assert below.
import { describe, test } from "./_harness.ts";
import assert from "node:assert/strict";
import fc from "fast-check";
import { create, type Table, type TableType } from "../ets.ts";
import { EtsError } from "../errors.ts";
import { compareTerms } from "../_term.ts";
import { formatTerm } from "../_format.ts";

/** Sequences per table type. */
const RUNS = 2500;
/** Longest sequence. */
const MAX_OPS = 40;

const NAME = "model";
const KEY_KINDS =
  "a number, bigint, string, boolean, null, Pid, Ref or an array of those";

type Key = number | bigint | string | Key[];
type Value = number | string;
type Rec = [Key, Value];

// ------------------------------------------------------------ helpers --

/** =:= on the terms used here: same type and value, arrays element-wise. */
function same(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => same(x, b[i]));
  }
  return a === b;
}

/** A canonical string for a term, telling 1 from 1n, for multiset sorting. */
function canon(x: unknown): string {
  if (typeof x === "bigint") return `${x}n`;
  if (typeof x === "number") return String(x);
  if (typeof x === "string") return JSON.stringify(x);
  if (Array.isArray(x)) return `[${x.map(canon).join(",")}]`;
  return String(x);
}

function sortedByCanon(xs: readonly unknown[]): unknown[] {
  return xs.map((x) => [canon(x), x] as const)
    .sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)
    .map(([, x]) => x);
}

/** What an operation gave: a value, or an error's class, cause, message. */
type Outcome =
  | { ok: true; value: unknown }
  | { ok: false; error: [string, string | undefined, string] };

function ok(value: unknown): Outcome {
  return { ok: true, value };
}

function fail(cls: string, cause: string | undefined, detail: string): Outcome {
  return {
    ok: false,
    error: [cls, cause, `Cannot ${detail}`],
  };
}

function attempt(fn: () => unknown): Outcome {
  try {
    return ok(fn());
  } catch (e) {
    if (!(e instanceof Error)) throw e;
    return {
      ok: false,
      error: [
        e.constructor.name,
        e instanceof EtsError ? e.code : undefined,
        e.message,
      ],
    };
  }
}

// -------------------------------------------------------------- model --

interface Entry {
  key: Key;
  recs: Rec[];
}

/** The table as a list of keys with their records, in table order. */
class Model {
  entries: Entry[] = [];

  constructor(readonly type: TableType) {}

  get ordered(): boolean {
    return this.type === "ordered_set";
  }

  get bag(): boolean {
    return this.type === "bag" || this.type === "duplicate_bag";
  }

  sameKey(a: unknown, b: unknown): boolean {
    return this.ordered ? compareTerms(a, b) === 0 : same(a, b);
  }

  find(key: unknown): number {
    return this.entries.findIndex((e) => this.sameKey(e.key, key));
  }

  insert(rec: Rec): void {
    const i = this.find(rec[0]);
    if (i < 0) {
      const entry = { key: rec[0], recs: [rec] };
      if (this.ordered) {
        let j = 0;
        while (
          j < this.entries.length &&
          compareTerms(this.entries[j].key, rec[0]) < 0
        ) j++;
        this.entries.splice(j, 0, entry);
      } else {
        this.entries.push(entry);
      }
      return;
    }
    const e = this.entries[i];
    if (!this.bag) {
      // One record per key; an ordered_set stores the newer key.
      e.key = rec[0];
      e.recs = [rec];
    } else if (
      this.type === "duplicate_bag" || !e.recs.some((r) => same(r, rec))
    ) {
      e.recs.push(rec);
    }
  }

  remove(i: number): Rec[] {
    return this.entries.splice(i, 1)[0].recs;
  }

  records(): Rec[] {
    return this.entries.flatMap((e) => e.recs);
  }

  size(): number {
    return this.records().length;
  }
}

// ------------------------------------------------------ spec shapes --

/** select specs, as data the model can evaluate. */
type SelectSpec =
  | { kind: "all" }
  | { kind: "valueAbove"; c: number }
  | { kind: "key"; k: Key }
  | { kind: "twoKeys"; k1: Key; k2: Key }
  | { kind: "prefix"; p: Key };

function selectSpec(s: SelectSpec): unknown[] {
  switch (s.kind) {
    case "all":
      return [["_", [], ["$_"]]];
    case "valueAbove":
      return [[["$1", "$2"], [{ ">": ["$2", s.c] }], [["$2", "$1"]]]];
    case "key":
      return [[[s.k, "$1"], [], ["$_"]]];
    case "twoKeys":
      return [
        [[s.k1, "$1"], [], [["one", "$1"]]],
        [[s.k2, "$1"], [], [["two", "$1"]]],
      ];
    case "prefix":
      return [[[[s.p, "_"], "_"], [], ["$_"]]];
  }
}

/** What the spec gives for one record, or undefined for no match. */
function selectModel(s: SelectSpec, [k, v]: Rec): unknown {
  switch (s.kind) {
    case "all":
      return [k, v];
    case "valueAbove":
      return compareTerms(v, s.c) > 0 ? [v, k] : undefined;
    case "key":
      return same(k, s.k) ? [k, v] : undefined;
    case "twoKeys":
      return same(k, s.k1)
        ? ["one", v]
        : same(k, s.k2)
        ? ["two", v]
        : undefined;
    case "prefix":
      return Array.isArray(k) && k.length === 2 && same(k[0], s.p)
        ? [k, v]
        : undefined;
  }
}

/** selectDelete specs (the body is `true` for the records to delete). */
type DeleteSpec =
  | { kind: "valueBelow"; c: number }
  | { kind: "key"; k: Key }
  | { kind: "value"; v: Value };

function deleteSpec(s: DeleteSpec): unknown[] {
  switch (s.kind) {
    case "valueBelow":
      return [[["_", "$1"], [{ "<": ["$1", s.c] }], [true]]];
    case "key":
      return [[[s.k, "_"], [], [true]]];
    case "value":
      return [[["_", s.v], [], [true]]];
  }
}

function deleteModel(s: DeleteSpec, [k, v]: Rec): boolean {
  switch (s.kind) {
    case "valueBelow":
      return compareTerms(v, s.c) < 0;
    case "key":
      return same(k, s.k);
    case "value":
      return same(v, s.v);
  }
}

// --------------------------------------------------------- operations --

type Op =
  | { op: "insert"; rec: Rec }
  | { op: "insertMany"; recs: Rec[]; bad: [unknown, number] | null }
  | { op: "insertNew"; rec: Rec }
  | { op: "insertNewMany"; recs: Rec[] }
  | { op: "delete"; key: Key }
  | { op: "deleteObject"; rec: Rec }
  | { op: "deleteAllObjects" }
  | { op: "take"; key: Key }
  | { op: "updateCounter"; key: Key; incr: number; withDefault: boolean }
  | { op: "lookup"; key: Key }
  | { op: "member"; key: Key }
  | { op: "walk" }
  | { op: "toList" }
  | { op: "select"; spec: SelectSpec }
  | { op: "selectLimit"; spec: SelectSpec; limit: number }
  | {
    op: "selectAcrossChange";
    spec: SelectSpec;
    limit: number;
    change: { insert: Rec } | { delete: Key };
  }
  | { op: "selectCount"; spec: DeleteSpec }
  | { op: "selectDelete"; spec: DeleteSpec }
  | { op: "matchObject"; pattern: [Key | "_", Value | "_"] };

/** Bad records, and the detail of the TypeError each gives. */
const BAD_RECORDS: [unknown, string][] = [
  [[], "a record must have an element at keyPos 0, got []"],
  [[{}, 1], `the key must be ${KEY_KINDS}, got {}`],
  [[NaN, 1], `the key must be ${KEY_KINDS}, got NaN`],
  [[undefined, 1], `the key must be ${KEY_KINDS}, got undefined`],
  ["rec", `a record must be an array, got "rec"`],
];

const keyAtom = fc.constantFrom<Key>(
  0,
  1,
  2,
  1.5,
  -1,
  1n,
  2n,
  "a",
  "b",
  "__proto__",
);
const keyArb: fc.Arbitrary<Key> = fc.oneof(
  { arbitrary: keyAtom, weight: 3 },
  {
    arbitrary: fc.tuple(
      fc.constantFrom<Key>("a", 1, 1n),
      fc.constantFrom<Key>(1, 1n, "b"),
    ),
    weight: 2,
  },
  {
    // other shapes: the hash store reads 1- to 3-tuples of primitives on
    // their own paths, and nested or empty arrays on a general one
    arbitrary: fc.constantFrom<Key>(
      [],
      ["a"],
      [1n],
      ["a", 1, 2],
      [1, 1, 1n],
      [[]],
      [1, []],
      [["a", 1], 1],
      [["a", 1n], 1],
      [1, ["a", [2]]],
    ),
    weight: 1,
  },
);
const valueArb: fc.Arbitrary<Value> = fc.oneof(
  { arbitrary: fc.integer({ min: -2, max: 3 }), weight: 6 },
  { arbitrary: fc.constant("x"), weight: 1 },
);
const recArb: fc.Arbitrary<Rec> = fc.tuple(keyArb, valueArb);
const selectSpecArb: fc.Arbitrary<SelectSpec> = fc.oneof(
  fc.constant({ kind: "all" as const }),
  fc.record({
    kind: fc.constant("valueAbove" as const),
    c: fc.integer({ min: -2, max: 3 }),
  }),
  fc.record({ kind: fc.constant("key" as const), k: keyArb }),
  fc.record({ kind: fc.constant("twoKeys" as const), k1: keyArb, k2: keyArb }),
  fc.record({
    kind: fc.constant("prefix" as const),
    p: fc.constantFrom<Key>("a", 1, 1n),
  }),
);
const deleteSpecArb: fc.Arbitrary<DeleteSpec> = fc.oneof(
  fc.record({
    kind: fc.constant("valueBelow" as const),
    c: fc.integer({ min: -2, max: 3 }),
  }),
  fc.record({ kind: fc.constant("key" as const), k: keyArb }),
  fc.record({ kind: fc.constant("value" as const), v: valueArb }),
);

/**
 * ordered_set only: a limited select, a change between its first chunk and
 * the rest, which resumes after the last key returned (OTP's continuation
 * semantics; hash tables promise nothing there without safeFixtable).
 */
const acrossChangeArb: fc.Arbitrary<Op> = fc.tuple(
  selectSpecArb,
  fc.integer({ min: 1, max: 3 }),
).chain(([spec, limit]) => {
  // Changes aimed at the spec's own keys half of the time.
  const own = spec.kind === "key"
    ? [spec.k]
    : spec.kind === "twoKeys"
    ? [spec.k1, spec.k2]
    : [];
  const key = own.length > 0
    ? fc.oneof(fc.constantFrom(...own), keyArb)
    : keyArb;
  return fc.record({
    op: fc.constant("selectAcrossChange" as const),
    spec: fc.constant(spec),
    limit: fc.constant(limit),
    change: fc.oneof(
      fc.record({ insert: fc.tuple(key, valueArb) }),
      fc.record({ delete: key }),
    ),
  });
});

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({ op: fc.constant("insert" as const), rec: recArb }),
    weight: 12,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("insertMany" as const),
      recs: fc.array(recArb, { maxLength: 4 }),
      bad: fc.oneof(
        { arbitrary: fc.constant(null), weight: 4 },
        {
          arbitrary: fc.tuple(
            fc.constantFrom(...BAD_RECORDS.map(([r]) => r)),
            fc.nat({ max: 4 }),
          ),
          weight: 1,
        },
      ),
    }),
    weight: 5,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("insertNew" as const),
      rec: recArb,
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("insertNewMany" as const),
      recs: fc.array(recArb, { maxLength: 3 }),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({ op: fc.constant("delete" as const), key: keyArb }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("deleteObject" as const),
      rec: recArb,
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({ op: fc.constant("deleteAllObjects" as const) }),
    weight: 1,
  },
  {
    arbitrary: fc.record({ op: fc.constant("take" as const), key: keyArb }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("updateCounter" as const),
      key: keyArb,
      incr: fc.integer({ min: -3, max: 3 }),
      withDefault: fc.boolean(),
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({ op: fc.constant("lookup" as const), key: keyArb }),
    weight: 4,
  },
  {
    arbitrary: fc.record({ op: fc.constant("member" as const), key: keyArb }),
    weight: 2,
  },
  { arbitrary: fc.record({ op: fc.constant("walk" as const) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant("toList" as const) }), weight: 1 },
  {
    arbitrary: fc.record({
      op: fc.constant("select" as const),
      spec: selectSpecArb,
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("selectLimit" as const),
      spec: selectSpecArb,
      limit: fc.integer({ min: 1, max: 4 }),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("selectCount" as const),
      spec: deleteSpecArb,
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("selectDelete" as const),
      spec: deleteSpecArb,
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("matchObject" as const),
      pattern: fc.oneof(
        fc.tuple(fc.constant("_" as const), valueArb),
        fc.tuple(keyArb, fc.constant("_" as const)),
      ),
    }),
    weight: 2,
  },
);

/** How a result is compared: in order, or as a multiset (hash tables). */
type Order = "exact" | "unordered";

interface Step {
  actual: Outcome;
  expected: Outcome;
  order: Order;
}

/** Runs `op` on the table and on the model. */
function step(t: Table, m: Model, op: Op): Step {
  const order: Order = m.ordered ? "exact" : "unordered";
  switch (op.op) {
    case "insert":
      return {
        actual: attempt(() => t.insert(op.rec)),
        expected: (m.insert(op.rec), ok(undefined)),
        order,
      };
    case "insertMany": {
      const recs: unknown[] = [...op.recs];
      let expected: Outcome;
      if (op.bad !== null) {
        const [bad, at] = op.bad;
        recs.splice(Math.min(at, recs.length), 0, bad);
        const detail = BAD_RECORDS.find(([r]) => r === bad)![1];
        expected = fail(
          "TypeError",
          undefined,
          `insertMany on table "${NAME}": ${detail}`,
        );
      } else {
        for (const r of op.recs) m.insert(r);
        expected = ok(undefined);
      }
      return {
        actual: attempt(() => t.insertMany(recs as Rec[])),
        expected,
        order,
      };
    }
    case "insertNew": {
      const fresh = m.find(op.rec[0]) < 0;
      if (fresh) m.insert(op.rec);
      return {
        actual: attempt(() => t.insertNew(op.rec)),
        expected: ok(fresh),
        order,
      };
    }
    case "insertNewMany": {
      const fresh = op.recs.every((r) => m.find(r[0]) < 0);
      if (fresh) { for (const r of op.recs) m.insert(r); }
      return {
        actual: attempt(() => t.insertNewMany(op.recs)),
        expected: ok(fresh),
        order,
      };
    }
    case "delete": {
      const i = m.find(op.key);
      if (i >= 0) m.remove(i);
      return {
        actual: attempt(() => t.delete(op.key)),
        expected: ok(undefined),
        order,
      };
    }
    case "deleteObject": {
      const i = m.find(op.rec[0]);
      if (i >= 0) {
        const e = m.entries[i];
        e.recs = e.recs.filter((r) => !same(r, op.rec));
        if (e.recs.length === 0) m.remove(i);
      }
      return {
        actual: attempt(() => t.deleteObject(op.rec)),
        expected: ok(undefined),
        order,
      };
    }
    case "deleteAllObjects":
      m.entries = [];
      return {
        actual: attempt(() => t.deleteAllObjects()),
        expected: ok(undefined),
        order,
      };
    case "take": {
      const i = m.find(op.key);
      return {
        actual: attempt(() => t.take(op.key)),
        expected: ok(i < 0 ? [] : m.remove(i)),
        order,
      };
    }
    case "updateCounter":
      return {
        actual: attempt(() =>
          t.updateCounter(
            op.key,
            op.incr,
            op.withDefault ? { default: [op.key, 0] } : undefined,
          )
        ),
        expected: updateCounterModel(m, op),
        order,
      };
    case "lookup": {
      const i = m.find(op.key);
      // Per-key order (oldest first) is specified for every type.
      return {
        actual: attempt(() => t.lookup(op.key)),
        expected: ok(i < 0 ? [] : [...m.entries[i].recs]),
        order: "exact",
      };
    }
    case "member":
      return {
        actual: attempt(() => t.member(op.key)),
        expected: ok(m.find(op.key) >= 0),
        order,
      };
    case "walk":
      return {
        actual: attempt(() => {
          const keys: unknown[] = [];
          for (let k = t.first(); k !== undefined; k = t.next(k)) {
            keys.push(k);
            if (keys.length > 1000) throw new Error("walk does not end");
          }
          return keys;
        }),
        expected: ok(m.entries.map((e) => e.key)),
        order,
      };
    case "toList":
      return {
        actual: attempt(() => t.toList()),
        expected: ok(m.records()),
        order,
      };
    case "select":
      return {
        actual: attempt(() => t.select(selectSpec(op.spec))),
        expected: ok(selectAll(m, op.spec)),
        order,
      };
    case "selectLimit":
      return {
        actual: attempt(() => {
          const out: unknown[] = [];
          let page = t.select(selectSpec(op.spec), { limit: op.limit });
          while (page !== undefined) {
            // Every chunk but the last is full; none is empty.
            assert.ok(page.results.length > 0, "an empty chunk");
            assert.ok(page.results.length <= op.limit, "an oversized chunk");
            if (page.continuation !== undefined) {
              assert.equal(page.results.length, op.limit, "a short chunk");
            }
            out.push(...page.results);
            page = page.continuation?.next();
          }
          return out;
        }),
        expected: ok(selectAll(m, op.spec)),
        order,
      };
    case "selectAcrossChange": {
      const before = selectWithKeys(m, op.spec);
      const first = before.slice(0, op.limit);
      const ended = before.length < op.limit;
      const actual = attempt(() => {
        const page = t.select(selectSpec(op.spec), { limit: op.limit });
        if ("insert" in op.change) t.insert(op.change.insert);
        else t.delete(op.change.delete);
        const cont = page?.continuation;
        const rest: unknown[] = [];
        for (
          let p = cont?.next();
          p !== undefined;
          p = p.continuation?.next()
        ) {
          rest.push(...p.results);
        }
        return [page?.results ?? [], cont === undefined, rest];
      });
      if ("insert" in op.change) m.insert(op.change.insert);
      else {
        const i = m.find(op.change.delete);
        if (i >= 0) m.remove(i);
      }
      const last = first.at(-1)?.[0];
      const rest = ended ? [] : selectWithKeys(m, op.spec)
        .filter(([k]) => compareTerms(k, last) > 0)
        .map(([, v]) => v);
      return {
        actual,
        expected: ok([first.map(([, v]) => v), ended, rest]),
        order: "exact",
      };
    }
    case "selectCount":
      return {
        actual: attempt(() => t.selectCount(deleteSpec(op.spec))),
        expected: ok(m.records().filter((r) => deleteModel(op.spec, r)).length),
        order,
      };
    case "selectDelete": {
      let n = 0;
      for (const e of m.entries) {
        const kept = e.recs.filter((r) => !deleteModel(op.spec, r));
        n += e.recs.length - kept.length;
        e.recs = kept;
      }
      m.entries = m.entries.filter((e) => e.recs.length > 0);
      return {
        actual: attempt(() => t.selectDelete(deleteSpec(op.spec))),
        expected: ok(n),
        order,
      };
    }
    case "matchObject": {
      const [pk, pv] = op.pattern;
      return {
        actual: attempt(() => t.matchObject(op.pattern)),
        expected: ok(
          m.records().filter(([k, v]) =>
            (pk === "_" || same(k, pk)) && (pv === "_" || same(v, pv))
          ),
        ),
        order,
      };
    }
  }
}

/** [key, result] for each record the spec matches, in table order. */
function selectWithKeys(m: Model, spec: SelectSpec): [Key, unknown][] {
  const out: [Key, unknown][] = [];
  for (const r of m.records()) {
    const v = selectModel(spec, r);
    if (v !== undefined) out.push([r[0], v]);
  }
  return out;
}

function selectAll(m: Model, spec: SelectSpec): unknown[] {
  const out: unknown[] = [];
  for (const r of m.records()) {
    const v = selectModel(spec, r);
    if (v !== undefined) out.push(v);
  }
  return out;
}

function updateCounterModel(
  m: Model,
  op: { key: Key; incr: number; withDefault: boolean },
): Outcome {
  const where = `updateCounter on table "${NAME}"`;
  if (m.bag) {
    return fail("EtsError", "table_type", `${where}: not for a ${m.type}`);
  }
  const i = m.find(op.key);
  if (i < 0 && !op.withDefault) {
    return fail(
      "EtsError",
      "bad_key",
      `${where}: no record with key ${formatTerm(op.key)}`,
    );
  }
  const [key, value] = i < 0 ? [op.key, 0] : m.entries[i].recs[0];
  if (typeof value !== "number") {
    return fail(
      "EtsError",
      "bad_value",
      `${where}: the field at position 1 is not an integer: ${
        formatTerm(value)
      }`,
    );
  }
  // The record keeps its stored key (an ordered_set's 1 stays 1 under 1n).
  m.insert([key, value + op.incr]);
  return ok(value + op.incr);
}

/** Sorts array results for a multiset comparison. */
function normalize(o: Outcome, order: Order): Outcome {
  if (!o.ok || order === "exact" || !Array.isArray(o.value)) return o;
  return ok(sortedByCanon(o.value));
}

/**
 * The whole table, compared with the model after every step (fast-check
 * reports the failing sequence, shrunk, with its seed).
 */
function checkContents(t: Table, m: Model, after: Op): void {
  const actual = t.toList();
  const expected = m.records();
  if (m.ordered) {
    assert.deepStrictEqual(actual, expected, `contents after ${after.op}`);
  } else {
    assert.deepStrictEqual(
      sortedByCanon(actual),
      sortedByCanon(expected),
      `contents after ${after.op}`,
    );
  }
  assert.equal(t.info()!.size, m.size(), `info().size after ${after.op}`);
}

// -------------------------------------------------------------- tests --

const TYPES: readonly TableType[] = [
  "set",
  "ordered_set",
  "bag",
  "duplicate_bag",
];

describe("ets: random operation sequences against a model (fast-check)", () => {
  for (const type of TYPES) {
    test(`${type} tables agree with the model on ${RUNS} random sequences of up to ${MAX_OPS} operations`, () => {
      fc.assert(
        fc.property(
          fc.array(
            type === "ordered_set"
              ? fc.oneof({ arbitrary: opArb, weight: 8 }, acrossChangeArb)
              : opArb,
            { maxLength: MAX_OPS, size: "max" },
          ),
          (ops) => {
            const t = create(NAME, { type });
            const m = new Model(type);
            try {
              for (const op of ops) {
                const { actual, expected, order } = step(t, m, op);
                assert.deepStrictEqual(
                  normalize(actual, order),
                  normalize(expected, order),
                  `result of ${op.op}`,
                );
                checkContents(t, m, op);
              }
            } finally {
              t.destroy();
            }
          },
        ),
        { numRuns: RUNS },
      );
    });
  }
});
