// BTree: the ordered map behind ETS ordered_set, checked against a sorted
// array on random operation sequences, and on its edge cases.
import { describe, test } from "./_harness.ts";
import assert from "node:assert/strict";
import { BTree } from "../_btree.ts";
import { compareTerms } from "../_term.ts";

/** Seeded PRNG (mulberry32): floats in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Key = number | bigint;

/** Orders numbers and bigints by value, so 1 and 1n are the same key. */
const byValue = (a: Key, b: Key): number => Number(a) - Number(b);

const numeric = (a: number, b: number): number => a - b;

/** The reference: a sorted array of entries, searched linearly. */
class Model {
  entries: [Key, string][] = [];

  #index(key: Key): number {
    return this.entries.findIndex(([k]) => byValue(k, key) === 0);
  }
  get(key: Key): [Key, string] | undefined {
    const i = this.#index(key);
    return i < 0 ? undefined : this.entries[i];
  }
  set(key: Key, value: string): boolean {
    const i = this.#index(key);
    if (i >= 0) {
      this.entries[i] = [key, value];
      return false;
    }
    let j = 0;
    while (j < this.entries.length && byValue(this.entries[j][0], key) < 0) j++;
    this.entries.splice(j, 0, [key, value]);
    return true;
  }
  delete(key: Key): boolean {
    const i = this.#index(key);
    if (i < 0) return false;
    this.entries.splice(i, 1);
    return true;
  }
  next(key: Key): Key | undefined {
    return this.entries.find(([k]) => byValue(k, key) > 0)?.[0];
  }
  prev(key: Key): Key | undefined {
    return this.entries.findLast(([k]) => byValue(k, key) < 0)?.[0];
  }
  inRange(key: Key, o: RangeOpts): boolean {
    if (o.lo !== undefined) {
      const c = byValue(key, o.lo);
      if (c < 0 || (c === 0 && o.loInclusive === false)) return false;
    }
    if (o.hi !== undefined) {
      const c = byValue(key, o.hi);
      if (c > 0 || (c === 0 && o.hiInclusive === false)) return false;
    }
    return true;
  }
  /**
   * The key forRange should visit after `after` (or first, if undefined),
   * in the model as it is now.
   */
  nextInRange(after: Key | undefined, o: RangeOpts): Key | undefined {
    const keys = this.entries.map(([k]) => k);
    if (o.reverse) keys.reverse();
    const dir = o.reverse ? -1 : 1;
    return keys.find((k) =>
      (after === undefined || byValue(k, after) * dir > 0) &&
      this.inRange(k, o)
    );
  }
}

interface RangeOpts {
  lo?: Key;
  loInclusive?: boolean;
  hi?: Key;
  hiInclusive?: boolean;
  reverse?: boolean;
}

/** Compares the whole tree with the model, and checks its invariants. */
function same(tree: BTree<Key, string>, model: Model, what: string): void {
  tree.checkInvariants();
  assert.equal(tree.size, model.entries.length, `${what}: size`);
  assert.deepEqual(tree.entries(), model.entries, `${what}: entries`);
}

/**
 * Runs `ops` random operations on a tree of node size `nodeSize` and on the
 * model, checking each result and then the whole tree after every step.
 */
function randomRun(
  seed: number,
  nodeSize: number,
  ops: number,
  numbersInOrder = false,
): void {
  const rnd = mulberry32(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const span = 40 + int(200);
  // A key in [-2, span + 2), as a number or as a bigint of the same value;
  // with numbersInOrder (number keys compared inline), halves too.
  const randomKey = (): Key => {
    const n = int(span + 4) - 2;
    if (numbersInOrder && rnd() < 0.2) return n + 0.5;
    return rnd() < 0.2 ? BigInt(n) : n;
  };
  const tree = new BTree<Key, string>(byValue, nodeSize, numbersInOrder);
  const model = new Model();
  // The last key a call returned, to exercise the cursor.
  let lastReturned: Key | undefined;
  const keyArg = (): Key =>
    lastReturned !== undefined && rnd() < 0.5 ? lastReturned : randomKey();
  // Phases: mostly inserts, then mixed, then mostly deletes, so the tree
  // grows deep, churns, and shrinks back through merges.
  for (let step = 0; step < ops; step++) {
    const phase = Math.floor((step * 3) / ops);
    const pSet = [0.6, 0.35, 0.12][phase];
    const pDel = [0.1, 0.3, 0.5][phase];
    const at = `seed ${seed} node ${nodeSize} step ${step}`;
    const r = rnd();
    if (r < pSet) {
      const key = randomKey();
      const value = `v${step}`;
      assert.equal(tree.set(key, value), model.set(key, value), `${at} set`);
    } else if (r < pSet + pDel) {
      const key = keyArg();
      assert.equal(tree.delete(key), model.delete(key), `${at} delete`);
    } else {
      const what = int(9);
      const key = keyArg();
      if (what === 0) {
        assert.equal(tree.get(key), model.get(key)?.[1], `${at} get`);
        assert.equal(tree.has(key), model.get(key) !== undefined, `${at} has`);
      } else if (what === 1) {
        const got = tree.getKey(key);
        assert.equal(got, model.get(key)?.[0], `${at} getKey`);
        if (got !== undefined) lastReturned = got;
      } else if (what === 2 || what === 3) {
        lastReturned = tree.nextKey(key);
        assert.equal(lastReturned, model.next(key), `${at} nextKey`);
      } else if (what === 4) {
        lastReturned = tree.prevKey(key);
        assert.equal(lastReturned, model.prev(key), `${at} prevKey`);
      } else if (what === 5) {
        const first = rnd() < 0.5;
        lastReturned = first ? tree.firstKey() : tree.lastKey();
        const n = model.entries.length;
        const expect = n === 0 ? undefined : model.entries[first ? 0 : n - 1];
        assert.equal(lastReturned, expect?.[0], `${at} firstKey/lastKey`);
      } else {
        rangeStep(tree, model, rnd, randomKey, at, what >= 7);
      }
    }
    same(tree, model, at);
  }
  // Empty it completely, in random order.
  const keys = model.entries.map(([k]) => k);
  for (let i = keys.length - 1; i > 0; i--) {
    const j = int(i + 1);
    [keys[i], keys[j]] = [keys[j], keys[i]];
  }
  for (const k of keys) {
    assert.equal(tree.delete(k), true);
    model.delete(k);
    same(tree, model, `seed ${seed} emptying`);
  }
  assert.equal(tree.firstKey(), undefined);
}

/**
 * One random forRange: random bounds, flags and direction, maybe stopping
 * early, and, if `mutate`, changing the tree from the callback (deleting the
 * current key mostly, sometimes another key, sometimes inserting). Checks
 * each visited key against the model's live order.
 */
function rangeStep(
  tree: BTree<Key, string>,
  model: Model,
  rnd: () => number,
  randomKey: () => Key,
  at: string,
  mutate: boolean,
): void {
  const o: RangeOpts = {};
  if (rnd() < 0.7) o.lo = randomKey();
  if (rnd() < 0.7) o.hi = randomKey();
  if (rnd() < 0.5) o.loInclusive = rnd() < 0.5;
  if (rnd() < 0.5) o.hiInclusive = rnd() < 0.5;
  if (rnd() < 0.5) o.reverse = true;
  const stopAfter = rnd() < 0.3 ? Math.floor(rnd() * 10) + 1 : Infinity;
  let prev: Key | undefined;
  let visited = 0;
  let stopped = false;
  tree.forRange((k, v) => {
    const expect = model.nextInRange(prev, o);
    assert.equal(k, expect, `${at} forRange ${JSON.stringify(o, big)}`);
    assert.equal(v, model.get(k)?.[1], `${at} forRange value`);
    prev = k;
    visited++;
    if (mutate) {
      const r = rnd();
      if (r < 0.5) {
        assert.equal(tree.delete(k), true);
        model.delete(k);
      } else if (r < 0.6) {
        const other = randomKey();
        assert.equal(tree.delete(other), model.delete(other));
      } else if (r < 0.7) {
        const other = randomKey();
        assert.equal(tree.set(other, "r"), model.set(other, "r"));
      } else if (r < 0.75) {
        // Replacing the current key is not a change of shape.
        assert.equal(tree.set(k, "again"), false);
        model.set(k, "again");
      }
    }
    if (visited >= stopAfter) {
      stopped = true;
      return false;
    }
  }, o);
  if (!stopped) {
    assert.equal(model.nextInRange(prev, o), undefined, `${at} range end`);
  }
}

/** JSON.stringify replacer that prints bigints. */
function big(_: string, v: unknown): unknown {
  return typeof v === "bigint" ? `${v}n` : v;
}

describe("BTree", () => {
  test("random set/delete/get/nextKey/prevKey/forRange sequences match a sorted array after every step", () => {
    // [seed, node size, operations]: node sizes 4 to 8 make trees several
    // levels deep out of a few hundred keys, so splits and merges of
    // branches happen often.
    const runs = [[1, 4, 2500], [2, 5, 2500], [3, 8, 2500], [4, 4, 2500]];
    runs.push([5, 6, 2000], [6, 64, 2000]);
    for (const [seed, nodeSize, ops] of runs) {
      randomRun(seed, nodeSize, ops);
    }
  });

  test("with numbersInOrder, random sequences of number and bigint keys match a sorted array after every step", () => {
    const runs = [[11, 4, 2500], [12, 5, 2500], [13, 8, 2500], [14, 64, 2000]];
    for (const [seed, nodeSize, ops] of runs) {
      randomRun(seed, nodeSize, ops, true);
    }
  });

  test("with numbersInOrder and compareTerms, keys of every type land where the comparator alone puts them", () => {
    // Numbers (integers, halves, -0) compared inline meet bigints, null,
    // booleans, strings and arrays, which go through compareTerms: a tree
    // with the fast path and one without must agree after every step.
    const rnd = mulberry32(21);
    const int = (n: number) => Math.floor(rnd() * n);
    const randomKey = (): unknown => {
      const n = int(60) - 10;
      switch (int(8)) {
        case 0:
          return BigInt(n);
        case 1:
          return n + 0.5;
        case 2:
          return n === 0 ? -0 : n;
        case 3:
          return `s${n}`;
        case 4:
          return [null, false, true][int(3)];
        case 5:
          return [n, `t${int(3)}`];
        default:
          return n;
      }
    };
    for (const nodeSize of [4, 6, 64]) {
      const fast = new BTree<unknown, number>(compareTerms, nodeSize, true);
      const slow = new BTree<unknown, number>(compareTerms, nodeSize);
      for (let step = 0; step < 3000; step++) {
        const key = randomKey();
        const at = `node ${nodeSize} step ${step}`;
        const r = rnd();
        if (r < 0.55) {
          assert.equal(fast.set(key, step), slow.set(key, step), `${at} set`);
        } else if (r < 0.8) {
          assert.equal(fast.delete(key), slow.delete(key), `${at} delete`);
        } else {
          assert.equal(fast.get(key), slow.get(key), `${at} get`);
          assert.equal(fast.nextKey(key), slow.nextKey(key), `${at} nextKey`);
          assert.equal(fast.prevKey(key), slow.prevKey(key), `${at} prevKey`);
        }
        if (step % 50 === 0) {
          fast.checkInvariants();
          assert.deepEqual(fast.entries(), slow.entries(), at);
        }
      }
      fast.checkInvariants();
      slow.checkInvariants();
      assert.deepEqual(fast.entries(), slow.entries());
    }
  });

  test("ascending, descending and scattered inserts of 20,000 keys, then deletes, keep the invariants", () => {
    const n = 20_000;
    const orders: [string, (i: number) => number][] = [
      ["ascending", (i) => i],
      ["descending", (i) => n - 1 - i],
      ["scattered", (i) => (i * 618033) % n],
    ];
    for (const nodeSize of [4, 64]) {
      for (const [name, key] of orders) {
        const tree = new BTree<number, number>(numeric, nodeSize);
        for (let i = 0; i < n; i++) assert.equal(tree.set(key(i), i), true);
        tree.checkInvariants();
        assert.equal(tree.size, n, name);
        assert.equal(tree.firstKey(), 0);
        assert.equal(tree.lastKey(), n - 1);
        for (let k = 0; k < n; k++) assert.equal(tree.get(key(k)), k, name);
        // Delete every other key in one direction, the rest in the other.
        for (let k = 0; k < n; k += 2) assert.equal(tree.delete(k), true);
        tree.checkInvariants();
        for (let k = n - 1; k > 0; k -= 2) {
          assert.equal(tree.delete(k), true);
          if (k % 997 === 1) tree.checkInvariants();
        }
        tree.checkInvariants();
        assert.equal(tree.size, 0, name);
        assert.deepEqual(tree.entries(), []);
      }
    }
  });

  test("a firstKey()/nextKey() walk and a lastKey()/prevKey() walk visit every key in order", () => {
    const n = 5_000;
    const tree = new BTree<number, number>(numeric, 8);
    for (let i = 0; i < n; i++) tree.set((i * 618033) % n, i);
    const up: number[] = [];
    for (let k = tree.firstKey(); k !== undefined; k = tree.nextKey(k)) {
      up.push(k);
    }
    assert.deepEqual(up, Array.from({ length: n }, (_, i) => i));
    const down: number[] = [];
    for (let k = tree.lastKey(); k !== undefined; k = tree.prevKey(k)) {
      down.push(k);
    }
    assert.deepEqual(down, up.reverse());
  });

  test("BTree.nextKey() walks on correctly when the key just returned was deleted or keys were added", () => {
    const tree = new BTree<number, string>(numeric, 4);
    for (let i = 0; i < 200; i += 2) tree.set(i, `v${i}`);
    const seen: number[] = [];
    for (let k = tree.firstKey(); k !== undefined;) {
      seen.push(k);
      // ETS code often deletes the key it stands on, then asks for next.
      if (k % 4 === 0) tree.delete(k);
      if (k === 50) tree.set(51, "new");
      k = tree.nextKey(k);
    }
    const expect = [];
    for (let i = 0; i < 200; i += 2) {
      expect.push(i);
      if (i === 50) expect.push(51);
    }
    assert.deepEqual(seen, expect);
    tree.checkInvariants();
    assert.equal(tree.size, 51);
  });

  test("BTree.nextKey()/prevKey() after a lookup stay right when deletes elsewhere merge or reshape leaves", () => {
    // The cursor left by getKey() must not outlive a change of shape: a
    // leaf merged away keeps its old arrays and links.
    const rnd = mulberry32(99);
    for (let round = 0; round < 200; round++) {
      const tree = new BTree<number, number>(numeric, 4);
      const model = new Set<number>();
      for (let i = 0; i < 40; i++) {
        tree.set(i, i);
        model.add(i);
      }
      while (model.size > 2) {
        const keys = [...model].sort((a, b) => a - b);
        const k = keys[Math.floor(rnd() * keys.length)];
        const forward = rnd() < 0.5;
        assert.equal(tree.getKey(k), k);
        for (let d = 1 + Math.floor(rnd() * 3); d > 0; d--) {
          const other = keys[Math.floor(rnd() * keys.length)];
          if (other !== k && model.delete(other)) tree.delete(other);
        }
        const rest = [...model].sort((a, b) => a - b);
        const at = rest.indexOf(k);
        if (forward) assert.equal(tree.nextKey(k), rest[at + 1]);
        else assert.equal(tree.prevKey(k), rest[at - 1]);
      }
    }
  });

  test("BTree.nextKey() returns the smallest key greater than a key that is absent", () => {
    const tree = new BTree<number, string>(numeric, 4);
    for (const k of [10, 20, 30, 40, 50, 60, 70]) tree.set(k, `${k}`);
    assert.equal(tree.nextKey(25), 30);
    assert.equal(tree.nextKey(5), 10);
    assert.equal(tree.nextKey(69.5), 70);
    assert.equal(tree.nextKey(70), undefined);
    assert.equal(tree.nextKey(1000), undefined);
  });

  test("BTree.prevKey() returns the largest key smaller than a key that is absent", () => {
    const tree = new BTree<number, string>(numeric, 4);
    for (const k of [10, 20, 30, 40, 50, 60, 70]) tree.set(k, `${k}`);
    assert.equal(tree.prevKey(25), 20);
    assert.equal(tree.prevKey(75), 70);
    assert.equal(tree.prevKey(10.5), 10);
    assert.equal(tree.prevKey(10), undefined);
    assert.equal(tree.prevKey(-1), undefined);
  });

  test("BTree.nextKey()/prevKey() at the ends return undefined and can turn back", () => {
    const tree = new BTree<number, string>(numeric);
    tree.set(1, "a");
    tree.set(2, "b");
    assert.equal(tree.lastKey(), 2);
    assert.equal(tree.nextKey(2), undefined);
    assert.equal(tree.prevKey(2), 1);
    assert.equal(tree.prevKey(1), undefined);
    assert.equal(tree.nextKey(1), 2);
  });

  test("an empty tree has no keys, and every query says so", () => {
    const tree = new BTree<number, string>(numeric);
    assert.equal(tree.size, 0);
    assert.equal(tree.get(1), undefined);
    assert.equal(tree.getKey(1), undefined);
    assert.equal(tree.has(1), false);
    assert.equal(tree.delete(1), false);
    assert.equal(tree.firstKey(), undefined);
    assert.equal(tree.lastKey(), undefined);
    assert.equal(tree.nextKey(1), undefined);
    assert.equal(tree.prevKey(1), undefined);
    const seen: number[] = [];
    tree.forRange((k) => void seen.push(k));
    tree.forRange((k) => void seen.push(k), { reverse: true, lo: 0, hi: 9 });
    assert.deepEqual(seen, []);
    assert.deepEqual(tree.entries(), []);
    tree.checkInvariants();
  });

  test("a single key is both first and last, and has no neighbours", () => {
    const tree = new BTree<number, string>(numeric);
    assert.equal(tree.set(7, "x"), true);
    assert.equal(tree.size, 1);
    assert.equal(tree.firstKey(), 7);
    assert.equal(tree.lastKey(), 7);
    assert.equal(tree.nextKey(7), undefined);
    assert.equal(tree.prevKey(7), undefined);
    assert.equal(tree.nextKey(6), 7);
    assert.equal(tree.prevKey(8), 7);
    assert.equal(tree.get(7), "x");
    assert.equal(tree.delete(7), true);
    assert.equal(tree.size, 0);
    assert.equal(tree.firstKey(), undefined);
    tree.checkInvariants();
  });

  test("BTree.set() over an existing key replaces key and value and keeps the size", () => {
    const tree = new BTree<Key, string>(byValue);
    assert.equal(tree.set(1, "a"), true);
    assert.equal(tree.set(2, "b"), true);
    assert.equal(tree.set(1n, "c"), false);
    assert.equal(tree.size, 2);
    assert.equal(tree.get(1), "c");
    assert.deepEqual(tree.entries(), [[1n, "c"], [2, "b"]]);
  });

  test("BTree.getKey() returns the stored key when the comparator finds distinct values equal", () => {
    const tree = new BTree<Key, string>(byValue);
    tree.set(1, "a");
    assert.equal(tree.getKey(1n), 1);
    assert.equal(tree.get(1n), "a");
    assert.equal(tree.has(1n), true);
    tree.set(1n, "b");
    assert.equal(tree.getKey(1), 1n);
    assert.equal(tree.firstKey(), 1n);
    assert.equal(tree.getKey(2), undefined);
    assert.equal(tree.delete(1), true);
    assert.equal(tree.size, 0);

    type Obj = { id: number; name: string };
    const objs = new BTree<Obj, number>((a, b) => a.id - b.id, 4);
    const a = { id: 1, name: "a" };
    const b = { id: 1, name: "b" };
    for (let i = 2; i < 20; i++) objs.set({ id: i, name: `${i}` }, i);
    objs.set(a, 1);
    assert.equal(objs.getKey({ id: 1, name: "?" }), a);
    objs.set(b, 2);
    assert.equal(objs.getKey({ id: 1, name: "?" }), b);
    assert.equal(objs.firstKey(), b);
    assert.equal(objs.size, 19);
  });

  test("BTree.clear() empties the tree, which then works as new", () => {
    const tree = new BTree<number, number>(numeric, 4);
    for (let i = 0; i < 100; i++) tree.set(i, i);
    assert.equal(tree.firstKey(), 0);
    tree.clear();
    assert.equal(tree.size, 0);
    assert.equal(tree.nextKey(0), undefined);
    assert.equal(tree.firstKey(), undefined);
    for (let i = 0; i < 100; i++) tree.set(99 - i, i);
    tree.checkInvariants();
    assert.equal(tree.size, 100);
    assert.equal(tree.nextKey(50), 51);
  });

  test("BTree.forRange() visits [lo, hi] with inclusive flags, ascending or reversed", () => {
    const tree = new BTree<number, string>(numeric, 4);
    for (let i = 0; i < 50; i++) tree.set(i * 2, `v${i * 2}`);
    const range = (o: Parameters<typeof tree.forRange>[1]) => {
      const out: number[] = [];
      tree.forRange((k, v) => {
        assert.equal(v, `v${k}`);
        out.push(k);
      }, o);
      return out;
    };
    assert.deepEqual(range({ lo: 10, hi: 20 }), [10, 12, 14, 16, 18, 20]);
    const above10 = { lo: 10, hi: 20, loInclusive: false };
    assert.deepEqual(range(above10), [12, 14, 16, 18, 20]);
    assert.deepEqual(
      range({ lo: 10, hi: 20, loInclusive: false, hiInclusive: false }),
      [12, 14, 16, 18],
    );
    assert.deepEqual(range({ lo: 9, hi: 13 }), [10, 12]);
    const below20 = { lo: 10, hi: 20, reverse: true, hiInclusive: false };
    assert.deepEqual(range(below20), [18, 16, 14, 12, 10]);
    assert.deepEqual(range({ hi: 4 }), [0, 2, 4]);
    assert.deepEqual(range({ lo: 94 }), [94, 96, 98]);
    assert.deepEqual(range({ lo: 95, reverse: true }), [98, 96]);
    assert.deepEqual(range({ hi: 3, reverse: true }), [2, 0]);
    assert.deepEqual(range({ lo: 20, hi: 10 }), []);
    assert.deepEqual(range({ lo: 10, hi: 10, hiInclusive: false }), []);
    assert.deepEqual(range({ lo: 100 }), []);
    assert.deepEqual(range({ hi: -1, reverse: true }), []);
    assert.equal(range(undefined).length, 50);
    assert.deepEqual(range({ reverse: true }), range({}).reverse());
  });

  test("BTree.forRange() stops when the callback returns false", () => {
    const tree = new BTree<number, number>(numeric, 4);
    for (let i = 0; i < 30; i++) tree.set(i, i);
    const seen: number[] = [];
    tree.forRange((k) => {
      seen.push(k);
      return k < 12;
    }, { lo: 10 });
    assert.deepEqual(seen, [10, 11, 12]);
  });

  test("BTree.forRange() tolerates the callback deleting every key it visits, both ways", () => {
    for (const reverse of [false, true]) {
      const tree = new BTree<number, number>(numeric, 4);
      for (let i = 0; i < 500; i++) tree.set(i, i);
      const seen: number[] = [];
      tree.forRange((k) => {
        seen.push(k);
        assert.equal(tree.delete(k), true);
      }, { lo: 100, hi: 399, reverse });
      const expect = Array.from({ length: 300 }, (_, i) => i + 100);
      assert.deepEqual(seen, reverse ? expect.reverse() : expect);
      tree.checkInvariants();
      assert.equal(tree.size, 200);
      // Deleting everything from inside the callback.
      tree.forRange((k) => void tree.delete(k), { reverse });
      assert.equal(tree.size, 0);
      tree.checkInvariants();
    }
  });

  test("BTree.forRange() survives clear() from the callback and stops", () => {
    const tree = new BTree<number, number>(numeric, 4);
    for (let i = 0; i < 50; i++) tree.set(i, i);
    const seen: number[] = [];
    tree.forRange((k) => {
      seen.push(k);
      if (k === 5) tree.clear();
    });
    assert.deepEqual(seen, [0, 1, 2, 3, 4, 5]);
  });

  test("the constructor rejects a node size below 4", () => {
    assert.throws(() => new BTree<number, number>(numeric, 3), RangeError);
    assert.throws(() => new BTree<number, number>(numeric, 4.5), RangeError);
  });

  test("BTree.checkInvariants() passes on a sound tree (it is what the other tests trust)", () => {
    // A tree whose comparator changes its mind breaks the key order, and
    // checkInvariants must say so; otherwise the checks above prove nothing.
    let flip = 1;
    const tree = new BTree<number, number>((a, b) => flip * (a - b), 4);
    for (let i = 0; i < 40; i++) tree.set(i, i);
    tree.checkInvariants();
    flip = -1;
    assert.throws(() => tree.checkInvariants(), /invariant broken/);
  });
});
