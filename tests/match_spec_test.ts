// Match patterns and match specs (_match_spec.ts): pattern rules, clause
// semantics, every function group, validation messages, the hooks the table
// uses (keyPatterns, isBound, boundPrefixLength) and select_replace's key
// retention. Ports the match-spec parts of ets_SUITE (reference §4.7, §5.3:
// t_match_spec_run, select_fail, t_select_delete, t_select_replace,
// match_object, match1/match2, dups).
import { describe, test } from "./_harness.ts";
import assert from "node:assert/strict";
import {
  ANY,
  boundPrefixLength,
  compileMatch,
  compileMatchObject,
  compileSpec,
  isBound,
  NO_MATCH,
} from "../_match_spec.ts";
import { MATCH_SPEC_EXIT } from "../ets.ts";
import { Pid, Ref, self } from "../process.ts";
import { newRef } from "../_runtime.ts";

/** Runs a spec over records, keeping the results that matched (a select). */
function select(spec: unknown, records: unknown[][]): unknown[] {
  const ms = compileSpec(spec);
  const out: unknown[] = [];
  for (const r of records) {
    const x = ms.run(r);
    if (x !== NO_MATCH) out.push(x);
  }
  return out;
}

/** Evaluates one body expression with "$1", "$2", ... bound to `values`. */
function ev(expr: unknown, ...values: unknown[]): unknown {
  const head = values.map((_, i) => `$${i + 1}`);
  return compileSpec([[head, [], [expr]]]).run(values);
}

/** Whether `expr` passes as a guard with "$1", "$2", ... bound to `values`. */
function passes(expr: unknown, ...values: unknown[]): boolean {
  const head = values.map((_, i) => `$${i + 1}`);
  return compileSpec([[head, [expr], [true]]]).run(values) === true;
}

/** The compile error message of a spec. */
function specError(spec: unknown): string {
  try {
    compileSpec(spec);
  } catch (e) {
    assert.ok(e instanceof TypeError, `not a TypeError: ${e}`);
    return e.message;
  }
  assert.fail(`compileSpec accepted ${JSON.stringify(spec)}`);
}

describe("compileSpec() patterns", () => {
  test('"_" matches anything, "$0" alone and "_" alone match every record', () => {
    const records = [[1], ["a", "b"], [[1, 2], { x: 1 }, null]];
    assert.deepEqual(select([["_", [], ["$_"]]], records), records);
    assert.deepEqual(select([["$0", [], ["$0"]]], records), records);
    assert.deepEqual(select([[["_", "_"], [], [true]]], records), [true]);
    assert.deepEqual(
      select([[[["_", "_"], "_", "_"], [], ["$_"]]], records),
      [records[2]],
    );
  });

  test("an array head matches only records of the same length", () => {
    const ms = compileSpec([[["$1", "_"], [], ["$1"]]]);
    assert.equal(ms.run(["a", 1]), "a");
    assert.equal(ms.run(["a"]), NO_MATCH);
    assert.equal(ms.run(["a", 1, 2]), NO_MATCH);
    const wide = compileSpec([[["k", "$1", 2, "$2", "$1", "_", 3], [], [
      "$$",
    ]]]);
    assert.deepEqual(wide.run(["k", "a", 2, "b", "a", "x", 3]), ["a", "b"]);
    assert.equal(wide.run(["k", "a", 2, "b", "c", "x", 3]), NO_MATCH);
    assert.equal(wide.run(["k", "a", 2, "b", "a", "x", 4]), NO_MATCH);
  });

  test("a repeated variable must be =:= to its first binding (match1, dups)", () => {
    const ms = compileSpec([[["$1", "$1", "$2"], [], ["$2"]]]);
    assert.equal(ms.run(["a", "a", 1]), 1);
    assert.equal(ms.run(["a", "b", 1]), NO_MATCH);
    assert.equal(ms.run([1, 1n, 1]), NO_MATCH, "1 and 1n are not =:=");
    assert.equal(ms.run([[1, [2]], [1, [2]], "deep"]), "deep");
    assert.equal(ms.run([{ a: 1 }, { a: 1 }, "obj"]), "obj");
    assert.equal(ms.run([{ a: 1 }, { a: 1, b: 2 }, "obj"]), NO_MATCH);
    assert.equal(ms.run([NaN, NaN, "nan"]), "nan");
    // a variable repeated inside a nested array
    const nested = compileSpec([[["$1", ["x", "$1"]], [], [true]]]);
    assert.equal(nested.run([5, ["x", 5]]), true);
    assert.equal(nested.run([5, ["x", 6]]), NO_MATCH);
  });

  test("nested arrays match element by element, with exact lengths", () => {
    const ms = compileSpec([[[["a", "$1"], ["$2", ["_"]]], [], [[
      "$1",
      "$2",
    ]]]]);
    assert.deepEqual(ms.run([["a", 1], [2, [3]]]), [1, 2]);
    assert.equal(ms.run([["a", 1], [2, [3, 4]]]), NO_MATCH);
    assert.equal(ms.run([["b", 1], [2, [3]]]), NO_MATCH);
    assert.equal(ms.run([["a", 1], [2, "x"]]), NO_MATCH);
  });

  test("an object pattern matches objects with at least its keys (match_object maps)", () => {
    const ms = compileSpec([[["$1", { a: "$2", b: "_" }], [], [["$1", "$2"]]]]);
    assert.deepEqual(ms.run(["k", { a: 1, b: 2, c: 3 }]), ["k", 1]);
    assert.deepEqual(ms.run(["k", { a: 1, b: undefined }]), ["k", 1]);
    assert.equal(ms.run(["k", { a: 1 }]), NO_MATCH, "b is missing");
    assert.equal(ms.run(["k", [1, 2]]), NO_MATCH, "arrays are not objects");
    assert.equal(ms.run(["k", null]), NO_MATCH);
    assert.equal(ms.run(["k", new Map([["a", 1], ["b", 2]])]), NO_MATCH);
    const empty = compileSpec([[["_", {}], [], [true]]]);
    assert.equal(empty.run(["k", { any: 1 }]), true, "{} matches any object");
    assert.equal(empty.run(["k", "str"]), NO_MATCH);
    const nested = compileMatchObject(["k", { m: { n: 1 } }]);
    assert.notEqual(nested.run(["k", { m: { n: 1, o: 2 }, p: 3 }]), NO_MATCH);
    assert.equal(nested.run(["k", { m: { n: 2 } }]), NO_MATCH);
  });

  test("constants match by =:=: numbers strictly (1 does not match 1n), pids and refs by identity", () => {
    assert.equal(compileMatchObject([1, "_"]).run([1n, 0]), NO_MATCH);
    assert.equal(compileMatchObject([1n, "_"]).run([1, 0]), NO_MATCH);
    assert.notEqual(compileMatchObject([1n, "_"]).run([1n, 0]), NO_MATCH);
    assert.notEqual(compileMatchObject([0, "_"]).run([-0, 0]), NO_MATCH);
    assert.notEqual(compileMatchObject([NaN]).run([NaN]), NO_MATCH);
    assert.equal(compileMatchObject([null]).run([undefined]), NO_MATCH);
    const ref = newRef();
    assert.notEqual(compileMatchObject([ref]).run([ref]), NO_MATCH);
    assert.equal(compileMatchObject([ref]).run([newRef()]), NO_MATCH);
    const pid = self();
    assert.notEqual(compileMatchObject(["_", pid]).run([1, pid]), NO_MATCH);
  });

  test('strings that are not variables are constants in a pattern ("$_", "$01", "$100000001")', () => {
    for (const s of ["$_", "$$", "$01", "$100000001", "$", "$x", "_x"]) {
      const ms = compileMatch([s, "$1"]);
      assert.deepEqual(ms.run([s, 1]), [1], s);
      assert.equal(ms.run(["other", 1]), NO_MATCH, s);
    }
    // "$100000000" is the largest variable
    assert.deepEqual(compileMatch(["$100000000"]).run(["v"]), ["v"]);
  });

  test('a head that is not an array, "_" or a variable matches no record', () => {
    assert.equal(compileSpec([["x", [], [true]]]).run(["x"]), NO_MATCH);
    assert.equal(compileSpec([[{}, [], [true]]]).run([]), NO_MATCH);
  });

  test("the compiled spec is a copy: changing the caller's spec later has no effect", () => {
    const head = ["a", "$1"];
    const spec = [[head, [], [{ const: ["c"] }]]];
    const ms = compileSpec(spec);
    head[0] = "b";
    (spec[0][2][0] as { const: string[] }).const[0] = "changed";
    assert.deepEqual(ms.run(["a", 1]), ["c"]);
    assert.equal(ms.run(["b", 1]), NO_MATCH);
  });
});

describe("compileSpec() results", () => {
  test('"$_" is the whole record; "$$" the bound variables in variable-number order', () => {
    const rec = ["k", "v2", "v1"];
    assert.equal(compileSpec([["_", [], ["$_"]]]).run(rec), rec);
    assert.deepEqual(
      compileSpec([[["_", "$2", "$1"], [], ["$$"]]]).run(rec),
      ["v1", "v2"],
    );
    assert.deepEqual(
      compileSpec([[["$100000000", "$5", "$0"], [], ["$$"]]]).run(rec),
      ["v1", "v2", "k"],
    );
    assert.deepEqual(compileSpec([[["_", "_", "_"], [], ["$$"]]]).run(rec), []);
    // "$$" is a fresh array each time
    const ms = compileSpec([[["$1"], [], ["$$"]]]);
    assert.notEqual(ms.run([1]), ms.run([1]));
  });

  test("the first clause whose head matches and guards pass wins, later ones are not tried", () => {
    const spec = [
      [["$1", "$2"], [false], ["never"]], // a false clause first (t_select_delete)
      [["$1", "$2"], [{ ">": ["$2", 10] }], ["big"]],
      [["$1", "$2"], [{ ">": ["$2", 5] }], ["medium"]],
      [["x", "_"], [], ["x"]],
    ];
    assert.deepEqual(
      select(spec, [["a", 20], ["b", 7], ["c", 1], ["x", 1], ["x", 11]]),
      ["big", "medium", "x", "big"],
    );
  });

  test("guards must all evaluate to exactly true", () => {
    const ms = (guards: unknown[]) => compileSpec([[["$1"], guards, ["ok"]]]);
    assert.equal(ms([true, true]).run([1]), "ok");
    assert.equal(ms([true, false]).run([1]), NO_MATCH);
    assert.equal(ms(["true"]).run([1]), NO_MATCH);
    assert.equal(ms([1]).run([1]), NO_MATCH);
    assert.equal(ms(["$1"]).run([true]), "ok");
    assert.equal(ms(["$1"]).run(["yes"]), NO_MATCH);
    assert.equal(ms([]).run([1]), "ok");
  });

  test("an exception in a guard fails the clause and the next clause is tried", () => {
    const spec = [
      [["$1"], [{ ">": [{ hd: ["$1"] }, 0] }], ["positive head"]],
      [["$1"], [{ not: ["$1"] }], ["negated"]],
      [["$1"], [], ["fallback"]],
    ];
    assert.deepEqual(
      select(spec, [[[1]], [5], [[]], [false], ["x"]]),
      ["positive head", "fallback", "fallback", "negated", "fallback"],
    );
  });

  test("an exception in a body makes the result MATCH_SPEC_EXIT (Erlang's 'EXIT')", () => {
    const spec = [[["$1"], [], [{ hd: ["$1"] }]], [["_"], [], ["unreached"]]];
    assert.deepEqual(select(spec, [[[1, 2]], [[]], [3]]), [
      1,
      MATCH_SPEC_EXIT,
      MATCH_SPEC_EXIT,
    ]);
    // the result is the last body expression; an earlier one that throws
    // still makes it MATCH_SPEC_EXIT
    const multi = compileSpec([[["$1"], [], [{ hd: ["$1"] }, "last"]]]);
    assert.equal(multi.run([[1]]), "last");
    assert.equal(multi.run([1]), MATCH_SPEC_EXIT);
  });

  test("an array expression constructs a new array; { const } is taken as is", () => {
    const ms = compileSpec([[
      ["$1", "$2"],
      [],
      [["$2", ["$1", "_", "$_"], { const: ["$1", { hd: [1] }] }, []]],
    ]]);
    assert.deepEqual(ms.run(["a", "b"]), [
      "b",
      ["a", "_", ["a", "b"]],
      ["$1", { hd: [1] }],
      [],
    ]);
    assert.equal(ev({ const: "$1" }, "x"), "$1");
    assert.deepEqual(ev({ const: { a: 1, b: 2 } }), { a: 1, b: 2 });
    assert.deepEqual(ev([1, 2, 3, 4, 5]), [1, 2, 3, 4, 5]);
  });

  test("{ object } constructs a plain object with evaluated values and literal keys", () => {
    assert.deepEqual(
      ev(
        { object: { a: "$1", b: ["$2"], $1: "k", c: { "+": ["$2", 1] } } },
        1,
        2,
      ),
      { a: 1, b: [2], $1: "k", c: 3 },
    );
    const o = ev({ object: JSON.parse('{"__proto__": "$1"}') }, 7) as object;
    assert.equal(Object.getPrototypeOf(o), Object.prototype);
    assert.deepEqual(Object.entries(o), [["__proto__", 7]]);
  });

  test("strings, numbers, bigints, booleans, null, undefined, pids, refs and functions are constants", () => {
    const ref = newRef();
    const fn = () => 1;
    for (
      const c of [
        "str",
        "_",
        "$01",
        1.5,
        10n,
        true,
        null,
        undefined,
        self(),
        ref,
        fn,
      ]
    ) {
      assert.equal(ev(c), c);
    }
    assert.equal(ev(new Date(0)) instanceof Date, true);
  });
});

describe("compileSpec() functions", () => {
  test("type tests", () => {
    const pid = self();
    const ref = newRef();
    const cases: [string, unknown[], unknown[]][] = [
      ["is_number", [1, 1.5, 2n, -0], ["1", null, [1]]],
      ["is_integer", [1, -3, 2n, 1e21], [1.5, "1", NaN]],
      ["is_float", [1.5, NaN, Infinity], [1, 2n, "1.5"]],
      ["is_string", ["", "a"], [1, null, ["a"]]],
      ["is_boolean", [true, false], [0, "true", null]],
      ["is_null", [null], [undefined, 0, false]],
      ["is_array", [[], [1]], [{}, "ab", new Set()]],
      ["is_tuple", [[], [1]], [{}]],
      ["is_list", [[], [1]], [{}]],
      ["is_object", [{}, { a: 1 }, Object.create(null)], [
        [],
        null,
        new Map(),
        pid,
      ]],
      ["is_map", [{}], [[]]],
      ["is_pid", [pid], [ref, "<0.1.0>", {}]],
      ["is_ref", [ref], [pid, {}]],
      ["is_reference", [ref], [pid]],
      ["is_function", [() => 1, Math.max], [{}, "f"]],
      ["is_bigint", [1n, 0n], [1, "1n"]],
    ];
    for (const [fn, yes, no] of cases) {
      for (const v of yes) {
        assert.equal(
          ev({ [fn]: ["$1"] }, v),
          true,
          `${fn} yes ${yes.indexOf(v)}`,
        );
      }
      for (const v of no) {
        assert.equal(
          ev({ [fn]: ["$1"] }, v),
          false,
          `${fn} no ${no.indexOf(v)}`,
        );
      }
    }
    assert.equal(ev({ is_map_key: ["a", "$1"] }, { a: undefined }), true);
    assert.equal(ev({ is_map_key: ["b", "$1"] }, { a: 1 }), false);
    assert.equal(
      ev({ is_map_key: [1, "$1"] }, { 1: 1 }),
      false,
      "keys are strings",
    );
    assert.equal(
      ev({ is_map_key: ["a", "$1"] }, [1]),
      MATCH_SPEC_EXIT,
      "not an object",
    );
    assert.equal(
      ev({ is_map_key: ["toString", "$1"] }, {}),
      false,
      "own keys only",
    );
  });

  test("logic: and, or, xor, not, andalso, orelse need boolean operands", () => {
    assert.equal(ev({ and: [true, true, true] }), true);
    assert.equal(ev({ and: [true, false] }), false);
    assert.equal(
      ev({ and: [false, "x"] }),
      MATCH_SPEC_EXIT,
      "and evaluates every operand",
    );
    assert.equal(ev({ or: [false, true] }), true);
    assert.equal(ev({ or: [false, false] }), false);
    assert.equal(ev({ or: [true, 1] }), MATCH_SPEC_EXIT);
    assert.equal(ev({ xor: [true, false] }), true);
    assert.equal(ev({ xor: [true, true] }), false);
    assert.equal(ev({ xor: [true, null] }), MATCH_SPEC_EXIT);
    assert.equal(ev({ not: [false] }), true);
    assert.equal(ev({ not: [0] }), MATCH_SPEC_EXIT);
    assert.equal(ev({ andalso: [true, true] }), true);
    assert.equal(
      ev({ andalso: [false, { hd: [[]] }] }),
      false,
      "stops at false",
    );
    assert.equal(ev({ andalso: [true, "x"] }), MATCH_SPEC_EXIT);
    assert.equal(ev({ orelse: [true, { hd: [[]] }] }), true, "stops at true");
    assert.equal(ev({ orelse: [false, false] }), false);
    assert.equal(ev({ orelse: [false, "x"] }), MATCH_SPEC_EXIT);
    // in a guard, a non-boolean operand fails the clause
    assert.equal(passes({ or: ["$1", true] }, "notbool"), false);
    assert.equal(
      passes({ orelse: [{ is_integer: ["$1"] }, { ">": ["$1", 0] }] }, 3),
      true,
    );
  });

  test("comparison: term order, == across number and bigint, =:= strict", () => {
    assert.equal(ev({ "<": [1, 2] }), true);
    assert.equal(ev({ "<": [1, 1n] }), false);
    assert.equal(ev({ "=<": [1, 1n] }), true);
    assert.equal(ev({ "<=": [2, 1] }), false);
    assert.equal(ev({ ">": [3n, 2.5] }), true);
    assert.equal(ev({ ">=": ["b", "a"] }), true);
    // number < null < boolean < ref < pid < array < string
    assert.equal(ev({ "<": [999, null] }), true);
    assert.equal(ev({ "<": [null, false] }), true);
    assert.equal(ev({ "<": [true, newRef()] }), true);
    assert.equal(ev({ "<": [newRef(), self()] }), true);
    assert.equal(ev({ "<": [self(), []] }), true);
    assert.equal(ev({ "<": [[9, 9, 9], ""] }), true, "strings after arrays");
    assert.equal(ev({ "<": ["a", [1]] }), false);
    assert.equal(
      ev({ "<": [[9, 9], [1, 1, 1]] }),
      true,
      "arrays by length first",
    );
    assert.equal(ev({ "<": [[1, "a"], [1, "b"]] }), true);
    // ordering values outside the term order is an error
    assert.equal(
      ev({ "<": [{ const: { a: 1 } }, { const: { a: 2 } }] }),
      MATCH_SPEC_EXIT,
    );
    assert.equal(ev({ "<": [undefined, 1] }), MATCH_SPEC_EXIT);
    assert.equal(ev({ "<": [NaN, 1] }), MATCH_SPEC_EXIT);
    assert.equal(passes({ ">": ["$1", 0] }, undefined), false);

    assert.equal(ev({ "==": [1, 1n] }), true);
    assert.equal(
      ev({ "==": ["$1", "$2"] }, [1, { a: 2 }], [1n, { a: 2n }]),
      true,
    );
    assert.equal(ev({ "==": [1.5, 1n] }), false);
    assert.equal(ev({ "==": ["$1", "$2"] }, { a: 1 }, { a: 1, b: 2 }), false);
    assert.equal(ev({ "/=": [1, 1n] }), false);
    assert.equal(ev({ "/=": ["a", "b"] }), true);
    assert.equal(ev({ "=:=": [1, 1n] }), false);
    assert.equal(
      ev({ "=:=": ["$1", "$2"] }, [1, { a: [2] }], [1, { a: [2] }]),
      true,
    );
    assert.equal(
      ev({ "=:=": ["$1", "$2"] }, [1, { a: [2] }], [1, { a: [2n] }]),
      false,
    );
    assert.equal(ev({ "=/=": [1, 1n] }), true);
    assert.equal(ev({ "=/=": ["$1", "$2"] }, "a", "a"), false);
  });

  test("arithmetic on numbers, on bigints, and badarith when mixed", () => {
    assert.equal(ev({ "+": [1, 2] }), 3);
    assert.equal(ev({ "+": [1n, 2n] }), 3n);
    assert.equal(ev({ "+": [1, 2n] }), MATCH_SPEC_EXIT);
    assert.equal(ev({ "+": ["1", 2] }), MATCH_SPEC_EXIT);
    assert.equal(ev({ "+": [5] }), 5);
    assert.equal(ev({ "+": ["5"] }), MATCH_SPEC_EXIT);
    assert.equal(ev({ "-": [5, 7] }), -2);
    assert.equal(ev({ "-": [5n] }), -5n);
    assert.ok(Object.is(ev({ "-": [0] }), 0), "no -0");
    assert.equal(ev({ "*": [6, 7] }), 42);
    assert.equal(ev({ "*": [2n ** 64n, 2n ** 64n] }), 2n ** 128n);
    assert.equal(ev({ "/": [10, 4] }), 2.5);
    assert.equal(ev({ "/": [10n, 4n] }), 2.5);
    assert.equal(ev({ "/": [1, 0] }), MATCH_SPEC_EXIT);
    assert.equal(ev({ div: [7, 2] }), 3);
    assert.equal(ev({ div: [-7, 2] }), -3);
    assert.equal(ev({ div: [-7n, 2n] }), -3n);
    assert.equal(ev({ div: [7.5, 2] }), MATCH_SPEC_EXIT);
    assert.equal(ev({ div: [7, 0] }), MATCH_SPEC_EXIT);
    assert.equal(ev({ div: [7n, 0n] }), MATCH_SPEC_EXIT);
    assert.equal(ev({ rem: [-7, 2] }), -1);
    assert.ok(Object.is(ev({ rem: [-4, 2] }), 0), "no -0");
    assert.equal(ev({ rem: [7n, 3n] }), 1n);
    assert.equal(ev({ rem: [7, 2n] }), MATCH_SPEC_EXIT);
    assert.equal(ev({ band: [0b1110, 0b0111] }), 0b0110);
    assert.equal(ev({ bor: [2 ** 40, 1] }), 2 ** 40 + 1, "beyond 32 bits");
    assert.equal(ev({ bxor: [-1, 2 ** 40] }), -(2 ** 40) - 1);
    assert.equal(ev({ band: [0xffn, 0x0fn] }), 0x0fn);
    assert.equal(ev({ bnot: [5] }), -6);
    assert.equal(ev({ bnot: [2 ** 40] }), -(2 ** 40) - 1);
    assert.equal(ev({ bnot: [5n] }), -6n);
    assert.equal(ev({ bsl: [1, 40] }), 2 ** 40);
    assert.equal(
      ev({ bsl: [1, 60] }),
      MATCH_SPEC_EXIT,
      "not a safe integer: use bigints",
    );
    assert.equal(ev({ bsl: [1n, 200n] }), 1n << 200n);
    assert.equal(ev({ bsl: [8, -2] }), 2, "negative count shifts right");
    assert.equal(ev({ bsr: [-16, 2] }), -4);
    assert.equal(ev({ bsr: [5, 100] }), 0);
    assert.equal(ev({ bsr: [2n ** 70n, 69n] }), 2n);
    assert.equal(ev({ band: [1.5, 1] }), MATCH_SPEC_EXIT);
    assert.equal(ev({ abs: [-3] }), 3);
    assert.equal(ev({ abs: [-3n] }), 3n);
    assert.equal(ev({ abs: ["x"] }), MATCH_SPEC_EXIT);
    assert.equal(ev({ max: [1, 2n] }), 2n);
    assert.equal(ev({ min: ["a", 1] }), 1, "term order: numbers first");
    assert.equal(ev({ max: [1, 1n] }), 1, "equal: the first");
    assert.equal(ev({ min: [1n, 1] }), 1n, "equal: the first");
    assert.equal(ev({ round: [2.5] }), 3);
    assert.equal(ev({ round: [-2.5] }), -3, "half away from zero");
    assert.ok(Object.is(ev({ round: [-0.2] }), 0));
    assert.equal(ev({ round: [7n] }), 7n);
    assert.equal(ev({ floor: [-1.5] }), -2);
    assert.equal(ev({ ceil: [1.2] }), 2);
    assert.ok(Object.is(ev({ ceil: [-0.5] }), 0));
    assert.equal(ev({ trunc: [-1.7] }), -1);
    assert.equal(ev({ trunc: [Infinity] }), MATCH_SPEC_EXIT);
    assert.equal(ev({ float: [3] }), 3);
    assert.equal(ev({ float: [3n] }), 3);
    assert.equal(ev({ float: ["3"] }), MATCH_SPEC_EXIT);
  });

  test("structure: element (0-based), hd, tl, length, size, tuple_size, map_size, map_get", () => {
    const rec = ["k", "v", [1, 2, 3]];
    const run = (expr: unknown) => compileSpec([["_", [], [expr]]]).run(rec);
    assert.equal(run({ element: [0, "$_"] }), "k", "0-based, unlike Erlang");
    assert.equal(run({ element: [1n, "$_"] }), "v");
    assert.equal(run({ element: [3, "$_"] }), MATCH_SPEC_EXIT);
    assert.equal(run({ element: [-1, "$_"] }), MATCH_SPEC_EXIT);
    assert.equal(run({ element: [0.5, "$_"] }), MATCH_SPEC_EXIT);
    assert.equal(run({ element: [0, "abc"] }), MATCH_SPEC_EXIT);
    assert.equal(run({ hd: [{ element: [2, "$_"] }] }), 1);
    assert.deepEqual(run({ tl: [{ element: [2, "$_"] }] }), [2, 3]);
    assert.equal(run({ tl: [[]] }), MATCH_SPEC_EXIT);
    assert.equal(run({ hd: [[]] }), MATCH_SPEC_EXIT);
    assert.equal(run({ length: ["$_"] }), 3);
    assert.equal(run({ size: [[]] }), 0);
    assert.equal(run({ tuple_size: ["$_"] }), 3);
    assert.equal(run({ length: ["abc"] }), MATCH_SPEC_EXIT);
    assert.equal(run({ map_size: [{ const: { a: 1, b: 2 } }] }), 2);
    assert.equal(run({ map_size: [[]] }), MATCH_SPEC_EXIT);
    assert.equal(run({ map_get: ["a", { const: { a: 1 } }] }), 1);
    assert.equal(
      run({ map_get: ["b", { const: { a: 1 } }] }),
      MATCH_SPEC_EXIT,
      "badkey",
    );
    assert.equal(run({ map_get: ["a", "notmap"] }), MATCH_SPEC_EXIT);
  });

  test("self is the calling process's pid", () => {
    const pid = ev({ self: [] });
    assert.ok(pid instanceof Pid);
    assert.equal(pid, self());
    assert.equal(passes({ "=:=": ["$1", { self: [] }] }, self()), true);
  });

  test("guards and bodies can combine functions (t_select_delete style)", () => {
    const records = Array.from({ length: 20 }, (_, i) => [[i % 4, i], `v${i}`]);
    const spec = [[
      [["$1", "$2"], "_"],
      [
        { "=:=": [{ band: ["$2", 3] }, 3] },
        { "/=": ["$1", 0] },
      ],
      [{ "+": ["$2", { "*": ["$1", 100] }] }],
    ]];
    assert.deepEqual(select(spec, records), [303, 307, 311, 315, 319]);
    const count = select(
      [[[["_", "$1"], "_"], [{ "<": ["$1", 5] }], [true]]],
      records,
    );
    assert.equal(count.length, 5);
  });
});

describe("compileSpec() validation", () => {
  test("a spec that is not an array of [head, guards, body] clauses throws", () => {
    assert.equal(
      specError("notalist"),
      'Invalid match spec: expected an array of [head, guards, body] clauses, got "notalist"',
    );
    assert.equal(
      specError([["_", []]]),
      'Invalid match spec: clause 0: expected [head, guards, body], got ["_", []]',
    );
    assert.equal(
      specError([["_", [], [1]], { head: "_" }]),
      'Invalid match spec: clause 1: expected [head, guards, body], got { head: "_" }',
    );
    assert.equal(
      specError([, ["_", [], [1]]]),
      "Invalid match spec: clause 0: expected [head, guards, body], got undefined",
      "a hole in a sparse array is a clause too",
    );
    assert.equal(
      specError([["_", "x", [1]]]),
      'Invalid match spec: clause 0: guards must be an array of expressions, got "x"',
    );
  });

  test("an empty or missing body throws; an empty spec is valid and matches nothing", () => {
    assert.equal(
      specError([["_", [], []]]),
      "Invalid match spec: clause 0: body must be a non-empty array of expressions, got []",
    );
    assert.equal(
      specError([["_", [], 5]]),
      "Invalid match spec: clause 0: body must be a non-empty array of expressions, got 5",
    );
    assert.equal(compileSpec([]).run(["a"]), NO_MATCH);
  });

  test("an unknown function throws at compile time, even if no record would reach it (select_fail)", () => {
    assert.equal(
      specError([["_", [true, { foo: [1] }], [true]]]),
      'Invalid match spec: clause 0 guard 1: unknown function "foo"',
    );
    assert.equal(
      specError([[["never", "matches"], [], [{ bar: [] }]]]),
      'Invalid match spec: clause 0 body 0: unknown function "bar"',
    );
    // Erlang names with no JS meaning are unknown too, in any clause
    assert.equal(
      specError([[["ok"], [], [true]], [["x"], [{ is_atom: ["$_"] }], [true]]]),
      'Invalid match spec: clause 1 guard 0: unknown function "is_atom"',
    );
    assert.equal(
      specError([["_", [], [{ toString: [] }]]]),
      'Invalid match spec: clause 0 body 0: unknown function "toString"',
    );
    // nested deep in arguments
    assert.equal(
      specError([["_", [], [[1, { hd: [{ nope: [] }] }]]]]),
      'Invalid match spec: clause 0 body 0: unknown function "nope"',
    );
  });

  test("a variable not bound in the head throws", () => {
    assert.equal(
      specError([["$1", [], ["$3"]]]),
      'Invalid match spec: clause 0 body 0: variable "$3" is not bound in the head',
    );
    assert.equal(
      specError([[["$1"], [{ ">": ["$2", 1] }], [true]]]),
      'Invalid match spec: clause 0 guard 0: variable "$2" is not bound in the head',
    );
    // variables are per clause
    assert.equal(
      specError([[["$1"], [], ["$1"]], [["_"], [], ["$1"]]]),
      'Invalid match spec: clause 1 body 0: variable "$1" is not bound in the head',
    );
  });

  test("wrong arity, non-array arguments and other object shapes throw", () => {
    assert.equal(
      specError([["_", [], [{ element: ["$_"] }]]]),
      'Invalid match spec: clause 0 body 0: "element" takes 2 arguments, got 1: { element: ["$_"] }',
    );
    assert.equal(
      specError([["_", [{ and: [] }], [true]]]),
      'Invalid match spec: clause 0 guard 0: "and" takes at least 1 argument, got 0: { and: [] }',
    );
    assert.equal(
      specError([["_", [], [{ "-": [1, 2, 3] }]]]),
      'Invalid match spec: clause 0 body 0: "-" takes 1 or 2 arguments, got 3: { "-": [1, 2, 3] }',
    );
    assert.equal(
      specError([["_", [], [{ self: [1] }]]]),
      'Invalid match spec: clause 0 body 0: "self" takes 0 arguments, got 1: { self: [1] }',
    );
    assert.equal(
      specError([["$1", [], [{ hd: "$1" }]]]),
      'Invalid match spec: clause 0 body 0: the arguments of "hd" must be an array, got "$1"',
    );
    assert.equal(
      specError([["_", [], [{ a: 1, b: 2 }]]]),
      "Invalid match spec: clause 0 body 0: an object expression must have exactly one key: { const: value }, { object: {...} } or { fn: [args] }; got { a: 1, b: 2 }",
    );
    assert.equal(
      specError([["_", [], [{ const: 1, hd: [] }]]]),
      "Invalid match spec: clause 0 body 0: an object expression must have exactly one key: { const: value }, { object: {...} } or { fn: [args] }; got { const: 1, hd: [] }",
    );
    assert.equal(
      specError([["_", [], [{}]]]),
      "Invalid match spec: clause 0 body 0: an object expression must have exactly one key: { const: value }, { object: {...} } or { fn: [args] }; got {}",
    );
    assert.equal(
      specError([["_", [], [{ object: [1] }]]]),
      "Invalid match spec: clause 0 body 0: { object: ... } needs a plain object of expressions, got [1]",
    );
  });

  test('a variable or "_" as an object key in a pattern throws (match_object: map variable keys)', () => {
    assert.equal(
      specError([[["k", { $1: 1 }], [], [true]]]),
      'Invalid match spec: clause 0 head: variable "$1" cannot be an object key in a pattern: { $1: 1 }',
    );
    assert.equal(
      specError([[["k", { _: 1 }], [], [true]]]),
      'Invalid match spec: clause 0 head: "_" cannot be an object key in a pattern: { _: 1 }',
    );
    assert.throws(() => compileMatchObject([{ a: { $0: 1 } }]), {
      name: "TypeError",
      message:
        'Invalid match pattern: variable "$0" cannot be an object key in a pattern: { $0: 1 }',
    });
    // keys that are not variables are fine
    assert.notEqual(
      compileMatchObject([{ $01: 1, $_: 2 }]).run([{ $01: 1, $_: 2 }]),
      NO_MATCH,
    );
  });

  test("a cyclic spec throws instead of overflowing the stack", () => {
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    assert.equal(
      specError([[cyclic, [], [true]]]),
      "Invalid match spec: nested deeper than 1000 levels (is it cyclic?)",
    );
  });
});

describe("compileMatch() and compileMatchObject()", () => {
  test("compileMatch gives the bound variables in number order, like ets:match (match1)", () => {
    const records = [["a", 1, "x"], ["b", 2, "y"], ["c", 3, "c"]];
    const ms = compileMatch(["$2", "$1", "_"]);
    assert.deepEqual(records.map((r) => ms.run(r)), [[1, "a"], [2, "b"], [
      3,
      "c",
    ]]);
    const rep = compileMatch(["$1", "_", "$1"]);
    assert.deepEqual(records.map((r) => rep.run(r)), [NO_MATCH, NO_MATCH, [
      "c",
    ]]);
    assert.deepEqual(compileMatch(["a", "_", "_"]).run(records[0]), []);
  });

  test("compileMatchObject gives the whole record, like ets:match_object", () => {
    const rec = ["a", { b: 1 }, [2]];
    assert.equal(compileMatchObject(["a", { b: "$1" }, "_"]).run(rec), rec);
    assert.equal(compileMatchObject("_").run(rec), rec);
    assert.equal(compileMatchObject("$0").run(rec), rec);
    assert.equal(compileMatchObject(["b", "_", "_"]).run(rec), NO_MATCH);
  });
});

describe("keyPatterns(), isBound(), boundPrefixLength()", () => {
  test("keyPatterns gives each clause's key sub-pattern, or ANY when unconstrained", () => {
    const ms = compileSpec([
      [["k", "_"], [], [1]],
      [[["stream", "$1"], "_"], [], [2]],
      ["_", [], [3]],
      ["$1", [], [4]],
      [["$1", 5], [], [5]],
      [["_", 5], [], [6]],
      [[], [], [7]],
      ["notarray", [], [8]],
    ]);
    assert.deepEqual(ms.keyPatterns(0), [
      "k",
      ["stream", "$1"],
      ANY,
      ANY,
      ANY,
      ANY,
      ANY,
      ANY,
    ]);
    assert.deepEqual(
      ms.keyPatterns(1),
      ["_", "_", ANY, ANY, 5, 5, ANY, ANY].map(
        (x) => x === "_" ? ANY : x,
      ),
    );
    assert.deepEqual(ms.keyPatterns(2), Array(8).fill(ANY));
    assert.deepEqual(compileMatch([1n, "$1"]).keyPatterns(0), [1n]);
    assert.deepEqual(compileSpec([]).keyPatterns(0), []);
  });

  test('isBound is true only without "_", variables or objects anywhere', () => {
    for (
      const p of [
        "k",
        1,
        1n,
        null,
        true,
        ["a", [1, "b"]],
        [],
        "$_",
        "$01",
        self(),
        newRef(),
      ]
    ) {
      assert.equal(isBound(p), true, String(p));
    }
    for (
      const p of ["_", "$1", "$0", ["a", "_"], ["a", ["b", "$2"]], { a: 1 }, [
        "a",
        {},
      ], ANY]
    ) {
      assert.equal(isBound(p), false, String(p));
    }
  });

  test("boundPrefixLength counts the leading bound elements of an array key pattern", () => {
    assert.equal(boundPrefixLength(["stream", "_"]), 1);
    assert.equal(boundPrefixLength([500, "$1"]), 1);
    assert.equal(boundPrefixLength([500, [1, 2], "$1", 3]), 2);
    assert.equal(boundPrefixLength(["a", "b"]), 2);
    assert.equal(boundPrefixLength(["_", "b"]), 0);
    assert.equal(boundPrefixLength([["x", "_"], "b"]), 0);
    assert.equal(boundPrefixLength("key"), 0);
    assert.equal(boundPrefixLength("_"), 0);
    assert.equal(boundPrefixLength([]), 0);
  });
});

describe("retainsKey() (select_replace, t_select_replace)", () => {
  const pid = self();
  const ref = newRef();
  const fn = () => 0;
  // Erlang's Terms: an atom, a string, an integer, a float, a bignum, a
  // pid, a fun... here: strings, numbers, bigints, pids, refs, functions.
  const terms: unknown[] = ["a", "hej", 123, 1.23, 123n << 123n, pid, ref, fn];

  /** OTP's probe: head [A, "$2", "$3"], body [[B, "$3", "$2"]], key at 0. */
  function keeps(a: unknown, b: unknown): boolean {
    return compileSpec([[[a, "$2", "$3"], [], [[b, "$3", "$2"]]]]).retainsKey(
      0,
    );
  }

  const eqPairs = (x: unknown, y: unknown): [unknown, unknown][] => [
    ["$1", "$1"],
    [[x, y], [x, y]],
    [["$1", y], ["$1", y]],
    [[[x, y]], [[x, y]]],
    [[x], [x]],
    [x, { const: x }],
    [[x, y], { const: [x, y] }],
    [[x], { const: [x] }],
    [[x, y], [x, { const: y }]],
    [[x, [y, "$1"]], [{ const: x }, [y, "$1"]]],
    [[x, y, "$1"], [x, y, "$1"]],
    [[[x, "$1"], y], [[x, "$1"], y]],
    [[[x, y], "$1"], [{ const: [x, y] }, "$1"]],
    [[..."prefix", "$1"], [..."prefix", "$1"]],
    [[[[x, y]]], [[[x, y]]]],
    [[[[x, y]]], [{ const: [[x, y]] }]],
    [[[[x, y]]], [[{ const: [x, y] }]]],
  ];

  const neqPairs = (x: unknown, y: unknown): [unknown, unknown][] => [
    ["$1", "$2"],
    ["$1", { const: "$1" }],
    [[x], { const: [[x]] }],
    [[x, [y, "$1"]], [{ const: x }, { const: [y, "$1"] }]],
    [[x, y, "$1"], [x, y]],
    [[x, y], [x, y, "$2"]],
    [[..."prefix", "$1"], [..."prefIx", "$1"]],
    [[[[x, y]]], [{ const: [[[x, y]]] }]],
    [[[x, "$1"]], [{ const: [x, "$1"] }]],
    ["_", "_"],
    ["$_", "$_"],
    ["$$", "$$"],
    [{}, { object: {} }],
    [{}, { const: {} }],
    [{ k: "$1" }, { object: { k: "$1" } }],
    ["$1", { "+": ["$1", 0] }],
    ["$1", { "-": ["$1", 0] }],
    ["$1", { float: ["$1"] }],
    ["$1", { "*": ["$1", 1] }],
    [[x, "_"], [x, "_"]],
  ];

  test("key-safe bodies are accepted (EqPairs)", () => {
    for (const x of terms) {
      for (const y of terms) {
        for (const [a, b] of eqPairs(x, y)) {
          assert.equal(
            keeps(a, b),
            true,
            `${String(a)} / ${JSON.stringify(b, replacer)}`,
          );
        }
      }
    }
  });

  test("key-unsafe bodies are rejected (NeqPairs)", () => {
    for (const x of terms) {
      for (const y of terms) {
        for (const [a, b] of neqPairs(x, y)) {
          assert.equal(
            keeps(a, b),
            false,
            `${String(a)} / ${JSON.stringify(b, replacer)}`,
          );
        }
      }
    }
  });

  test("a different constant key is rejected", () => {
    assert.equal(keeps("a", "b"), false);
    assert.equal(keeps(1, 1n), false);
    assert.equal(keeps(1, { const: 1n }), false);
    assert.equal(keeps(newRef(), { const: newRef() }), false);
  });

  test('"$_" as the whole result, and { element: [keyPos, "$_"] } as the key, are accepted', () => {
    const head = [["$1", "$3"], "$2"];
    // guards do not matter to the check
    const accepted = (body: unknown, h: unknown = head) =>
      compileSpec([[h, h === head ? [{ ">": [{ rem: ["$1", 5] }, 3] }] : [], [
        body,
      ]]]).retainsKey(0);
    assert.equal(accepted("$_"), true);
    assert.equal(accepted("$_", "_"), true);
    assert.equal(
      accepted([["$1", "$3"], "$2"]),
      true,
      "reconstructs an equal record",
    );
    assert.equal(accepted([{ element: [0, "$_"] }, "$2"]), true);
    assert.equal(accepted([{ element: [0, "$_"] }, "$2"], ["_", "$2"]), true);
    assert.equal(
      accepted([{ element: [1, "$_"] }, "$2"]),
      false,
      "wrong element",
    );
    assert.equal(accepted([{ element: [0, "$1"] }, "$2"]), false);
    assert.equal(accepted([["$2", "$3"], "$1"]), false, "key changed");
    assert.equal(
      accepted([[{ "+": ["$1", 0] }, "$3"], "$2"]),
      false,
      "arithmetic, even value-preserving",
    );
    assert.equal(accepted([[{ "*": ["$1", 1.0] }, "$3"], "$2"]), false);
    assert.equal(
      accepted([["$1", "$3"], ["x", "$2"], "stuff"]),
      true,
      "other arity",
    );
    assert.equal(
      accepted("$1", "$1"),
      false,
      "a whole-record variable is not $_ (as OTP)",
    );
    assert.equal(
      accepted(["$1", "$3"]),
      false,
      "the key position holds a different part",
    );
    assert.equal(accepted(1), false, "not an array");
    assert.equal(accepted({ const: "x" }), false);
    assert.equal(accepted([]), false, "too short to have a key");
    assert.equal(
      compileSpec([[head, [], [{ hd: [[1]] }, [["$1", "$3"], "$2"]]]])
        .retainsKey(0),
      false,
      "more than one body expression (an earlier one could make EXIT)",
    );
  });

  test("retainsKey uses the given key position", () => {
    const ms = compileSpec([[["v", "$1"], [], [["w", "$1"]]]]);
    assert.equal(ms.retainsKey(1), true);
    assert.equal(ms.retainsKey(0), false);
    assert.equal(
      compileSpec([[["v", "$1"], [], [["w", { element: [1, "$_"] }]]]])
        .retainsKey(1),
      true,
    );
    assert.equal(ms.retainsKey(2), false, "key position beyond the head");
  });

  test("every clause must keep the key; an empty spec keeps it trivially", () => {
    const good = [["$1", "_"], [], [["$1", "new"]]];
    const bad = [["$1", "_"], [], [["other", "$1"]]];
    assert.equal(compileSpec([good, good]).retainsKey(0), true);
    assert.equal(compileSpec([good, bad]).retainsKey(0), false);
    assert.equal(compileSpec([bad, good]).retainsKey(0), false);
    assert.equal(compileSpec([]).retainsKey(0), true);
  });

  test("{ const: record } replaces a record with a constant that has the same key", () => {
    const keys: unknown[] = [
      [1, "tuple"],
      ["nested", ["tuple", ["a", "b"]]],
      ...terms,
    ];
    for (const key of keys) {
      for (
        const next of [[key, 1, 2], [key, 3, 4], [key, 1], [key, 1, 2, 3], [
          key,
        ]]
      ) {
        const ms = compileSpec([[[key, 1, 2], [], [{ const: next }]]]);
        assert.equal(ms.retainsKey(0), true, String(key));
        assert.deepEqual(ms.run([key, 1, 2]), next);
      }
    }
    // not with objects or variables in the key
    for (const key of [{ a: 1 }, ["nested", { a: 1 }], "$1"]) {
      for (const next of [[key, 1, 2], [key, 3, 4], [key]]) {
        assert.equal(
          compileSpec([[[key, 1, 2], [], [{ const: next }]]]).retainsKey(0),
          false,
          JSON.stringify(key),
        );
      }
    }
  });
});

/** JSON.stringify replacer for messages: bigints and functions. */
function replacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return `${value}n`;
  if (
    typeof value === "function" || value instanceof Pid || value instanceof Ref
  ) {
    return String(value);
  }
  return value;
}
