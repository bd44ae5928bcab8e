// KeyMap (_key_map.ts): a Map keyed by table keys, compared as ETS's set
// tables compare them (sameKey). Checked against a list-backed model on
// random operations, and on the edge cases of the trie layout.
import { describe, test } from "./_harness.ts";
import assert from "node:assert/strict";
import fc from "fast-check";
import { KeyMap } from "../_key_map.ts";
import { sameKey } from "../_term.ts";
import { spawn } from "../process.ts";

describe("KeyMap", () => {
  test("get/set/delete by value for primitives, pids and nested arrays", () => {
    const m = new KeyMap<string>();
    const pid = spawn(() => {});
    const keys: unknown[] = [
      1,
      1n,
      "1",
      true,
      null,
      pid,
      [],
      [[]],
      [1],
      [[1]],
      [1, [2, [3]]],
      [1, 2, 3],
      ["stream", 1],
      ["stream", [1]],
      [[], []],
    ];
    keys.forEach((k, i) => m.set(k, `v${i}`));
    assert.equal(m.size, keys.length);
    keys.forEach((k, i) =>
      assert.equal(m.get(structuredCloneKey(k)), `v${i}`, String(i))
    );
    assert.equal(m.get([1, [2, [4]]]), undefined);
    assert.equal(m.get([1, 2]), undefined);
    assert.equal(m.get(["stream"]), undefined);
    m.set(["stream", 1], "again");
    assert.equal(m.size, keys.length);
    assert.equal(m.get(["stream", 1]), "again");
    for (const k of keys) assert.equal(m.delete(structuredCloneKey(k)), true);
    assert.equal(m.size, 0);
    assert.equal(m.delete([1]), false);
    assert.equal(m.get([]), undefined);
  });

  test("matches a model on random operations (sameKey semantics)", () => {
    const prim = fc.oneof(
      fc.integer({ min: -3, max: 3 }),
      fc.integer({ min: 0, max: 300 }),
      fc.constantFrom("a", "b", true, false, null, 0n, 1n, -0, 0.5, 1e7),
    );
    const key = fc.letrec((tie) => ({
      key: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        prim,
        fc.array(tie("key"), { maxLength: 3 }),
      ),
    })).key;
    const op = fc.tuple(fc.constantFrom("set", "delete", "get"), key);
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const m = new KeyMap<number>();
        const model: [unknown, number][] = [];
        ops.forEach(([o, k], i) => {
          const at = model.findIndex(([mk]) => sameKey(mk, k));
          if (o === "set") {
            m.set(k, i);
            if (at >= 0) model[at][1] = i;
            else model.push([k, i]);
          } else if (o === "delete") {
            assert.equal(m.delete(k), at >= 0);
            if (at >= 0) model.splice(at, 1);
          } else {
            assert.equal(m.get(k), at >= 0 ? model[at][1] : undefined);
          }
          assert.equal(m.size, model.length);
        });
        for (const [k, v] of model) assert.equal(m.get(k), v);
      }),
      { numRuns: 300 },
    );
  });
});

describe("KeyMap integer elements", () => {
  test("dense indexes, then sparse ones, then growing ids that die: found the same", () => {
    const m = new KeyMap<number>();
    for (let i = 0; i < 1000; i++) m.set(["s", i], i);
    for (let i = 0; i < 1000; i++) assert.equal(m.get(["s", i]), i);
    // Most die: the node goes sparse (its indexes move to its Map).
    for (let i = 0; i < 990; i++) assert.equal(m.delete(["s", i]), true);
    assert.equal(m.size, 10);
    for (let i = 0; i < 1000; i++) {
      assert.equal(m.get(["s", i]), i >= 990 ? i : undefined);
    }
    m.set(["s", 50_000_000], 1);
    m.set(["s", 2 ** 40], 2);
    m.set(["s", -1], 3);
    m.set(["s", 1.5], 4);
    assert.equal(m.get(["s", 50_000_000]), 1);
    assert.equal(m.get(["s", 2 ** 40]), 2);
    assert.equal(m.get(["s", -1]), 3);
    assert.equal(m.get(["s", 1.5]), 4);
    assert.equal(m.get(["s", 1]), undefined);
    assert.equal(m.size, 14);
    // A far index while dense: moves to the Map, all still found.
    const n = new KeyMap<number>();
    for (let i = 0; i < 10; i++) n.set([i], i);
    n.set([1_000_000], -1);
    for (let i = 0; i < 10; i++) assert.equal(n.get([i]), i);
    assert.equal(n.get([1_000_000]), -1);
    assert.equal(n.get([-0]), 0);
    for (let i = 0; i < 10; i++) n.delete([i]);
    n.delete([1_000_000]);
    assert.equal(n.size, 0);
    assert.equal(n.get([0]), undefined);
  });
});

/** A deep copy of a key (arrays copied; pids kept). */
function structuredCloneKey(k: unknown): unknown {
  return Array.isArray(k) ? k.map(structuredCloneKey) : k;
}
