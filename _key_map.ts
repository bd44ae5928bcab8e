// A map from table keys to values, with keys compared as ETS's set tables
// compare them (_term.ts's `sameKey`, Erlang's =:=): primitives, pids and
// refs by `===`, arrays ("tuples") element by element, nested freely.
//
// Why not a Map of strings: building a string per lookup (`"stream:" + n`)
// costs more than the lookup (measured: 500-1,000 ns against ~80 for a Map
// of Maps). Here a tuple key is a walk down a trie, one step per
// element, and no allocation. ETS hash tables keep their array keys in one
// too (_ets_store.ts); the tracker's `find` reads a KeyMap of its own, with
// no table access check in the way.
//
// Layout: non-array keys live in `prims`. An array key of length n is
// looked up in `arrays[n]` (an array: cheaper than a Map here), then
// element by element; an element that is itself an array of length m is
// entered through the marker object `MARKS[m]` (so it cannot be confused
// with a primitive element), then its elements. Encodings are prefix-free
// (lengths come first), so a walk that consumed the whole key ends on the
// value, and every node before it is a trie node. Empty nodes are pruned on
// delete.
//
// Each trie node is a `Trie` holding its Map, rather than a bare Map: the
// lookups then read a Map from an object of one known shape at every step,
// which JavaScriptCore (Bun) turns into its fast Map path; a Map read out
// of another Map costs it ~3x more per step.
//
// Small non-negative integer elements (["stream", 42]) index an array in
// the node instead, while those indexes stay dense (an array read is a
// fraction of a Map.get, on JavaScriptCore most of all); once they are not
// (ids that only grow and die leave holes), the node moves them to its Map
// for good, so memory follows the live keys.

/** Index tokens below this may live in a node's array. */
const INDEX_LIMIT = 1 << 26;
/** An index array is dense while it holds at least length/DENSITY keys. */
const DENSITY = 4;
/** ...or while it is this short. */
const SMALL = 64;

function isIndex(k: unknown): k is number {
  return typeof k === "number" && (k >>> 0) === k && k < INDEX_LIMIT;
}

class Trie {
  readonly m: Map<unknown, unknown> = new Map();
  /** Children under index tokens (dense mode), or null (in `m`). */
  ints: unknown[] | null = [];
  /** How many of `ints` are set. */
  count = 0;

  get(k: unknown): unknown {
    return this.ints !== null && isIndex(k) ? this.ints[k] : this.m.get(k);
  }

  /** Sets `k`; returns whether it is a new token of this node. */
  set(k: unknown, v: unknown): boolean {
    const a = this.ints;
    if (a !== null && isIndex(k)) {
      if (k < a.length && a[k] !== undefined) {
        a[k] = v;
        return false;
      }
      if (k < SMALL || k < (this.count + 1) * DENSITY) {
        while (a.length < k) a.push(undefined); // no holes: stays packed
        a[k] = v;
        this.count++;
        return true;
      }
      this.toMap();
    }
    const had = this.m.has(k);
    this.m.set(k, v);
    return !had;
  }

  delete(k: unknown): boolean {
    const a = this.ints;
    if (a !== null && isIndex(k)) {
      if (k >= a.length || a[k] === undefined) return false;
      a[k] = undefined;
      this.count--;
      if (a.length > SMALL && this.count * DENSITY < a.length) this.toMap();
      return true;
    }
    return this.m.delete(k);
  }

  get size(): number {
    return this.m.size + this.count;
  }

  /** Sparse now: the index tokens move to the Map, for good. */
  toMap(): void {
    const a = this.ints!;
    for (let i = 0; i < a.length; i++) {
      if (a[i] !== undefined) this.m.set(i, a[i]);
    }
    this.ints = null;
    this.count = 0;
  }
}

/** Marker objects for nested arrays, by length (created on demand). */
const MARKS: object[] = [];

function mark(length: number): object {
  let m = MARKS[length];
  if (m === undefined) {
    for (let i = MARKS.length; i <= length; i++) {
      MARKS[i] = Object.freeze({ nestedArrayOfLength: i });
    }
    m = MARKS[length];
  }
  return m;
}

/** A map keyed by table keys (see the file's comment). */
export class KeyMap<V> {
  #prims = new Map<unknown, V>();
  /** arrays[n]: the trie of keys of length n (for n = 0, the value). */
  #arrays: unknown[] = [];
  #size = 0;

  /** Number of keys. */
  get size(): number {
    return this.#size;
  }

  /** The value stored under `key`, or undefined. */
  get(key: unknown): V | undefined {
    if (!Array.isArray(key)) return this.#prims.get(key);
    const n = key.length;
    if (n === 0) return this.#arrays[0] as V | undefined;
    let node = this.#arrays[n] as Trie | undefined;
    if (node === undefined) return undefined;
    const last = n - 1;
    for (let i = 0; i < last; i++) {
      const k = key[i];
      if (Array.isArray(k)) return this.#getPath(node, key, i);
      const a: unknown[] | null = node.ints;
      node = (a !== null && typeof k === "number" && (k >>> 0) === k &&
          k < INDEX_LIMIT
        ? a[k]
        : node.m.get(k)) as Trie | undefined;
      if (node === undefined) return undefined;
    }
    const k = key[last];
    if (Array.isArray(k)) return this.#getPath(node, key, last);
    const a: unknown[] | null = node.ints;
    return (a !== null && typeof k === "number" && (k >>> 0) === k &&
        k < INDEX_LIMIT
      ? a[k]
      : node.m.get(k)) as V | undefined;
  }

  /** The general walk, from element `from` of `key` at `node`. */
  #getPath(node: Trie, key: unknown[], from: number): V | undefined {
    const path = flatten(key.slice(from), []);
    const last = path.length - 1;
    for (let i = 0; i < last; i++) {
      node = node.get(path[i]) as Trie;
      if (node === undefined) return undefined;
    }
    return node.get(path[last]) as V | undefined;
  }

  /** Whether a value is stored under `key`. */
  has(key: unknown): boolean {
    return this.get(key) !== undefined;
  }

  /** Stores `value` (not undefined) under `key`, a valid table key. */
  set(key: unknown, value: V): void {
    if (!Array.isArray(key)) {
      const before = this.#prims.size;
      this.#prims.set(key, value);
      this.#size += this.#prims.size - before;
      return;
    }
    if (key.length === 0) {
      if (this.#arrays[0] === undefined) this.#size++;
      this.#arrays[0] = value;
      return;
    }
    let node = this.#arrays[key.length] as Trie | undefined;
    if (node === undefined) {
      while (this.#arrays.length < key.length) this.#arrays.push(undefined);
      this.#arrays[key.length] = node = new Trie();
    }
    const path = isFlat(key) ? key : flatten(key, []);
    const last = path.length - 1;
    for (let i = 0; i < last; i++) {
      let child = node.get(path[i]) as Trie | undefined;
      if (child === undefined) node.set(path[i], child = new Trie());
      node = child;
    }
    if (node.set(path[last], value)) this.#size++;
  }

  /** Removes `key`; returns whether it was there. */
  delete(key: unknown): boolean {
    if (!Array.isArray(key)) {
      const had = this.#prims.delete(key);
      if (had) this.#size--;
      return had;
    }
    if (key.length === 0) {
      const had = this.#arrays[0] !== undefined;
      if (had) this.#size--;
      this.#arrays[0] = undefined;
      return had;
    }
    const root = this.#arrays[key.length] as Trie | undefined;
    if (root === undefined) return false;
    const path = isFlat(key) ? key : flatten(key, []);
    const nodes: Trie[] = [root];
    let node = root;
    for (let i = 0; i < path.length - 1; i++) {
      const child = node.get(path[i]) as Trie | undefined;
      if (child === undefined) return false;
      nodes.push(node = child);
    }
    if (!node.delete(path[path.length - 1])) return false;
    this.#size--;
    // Prune the nodes the key alone was using, from the leaf up.
    for (let i = nodes.length - 1; i > 0 && nodes[i].size === 0; i--) {
      nodes[i - 1].delete(path[i - 1]);
    }
    if (root.size === 0) this.#arrays[key.length] = undefined;
    return true;
  }

  /** Removes every key. */
  clear(): void {
    this.#prims.clear();
    this.#arrays = [];
    this.#size = 0;
  }
}

/** Whether an array key has no array inside (its walk is itself). */
function isFlat(key: unknown[]): boolean {
  for (let i = 0; i < key.length; i++) if (Array.isArray(key[i])) return false;
  return true;
}

/** The tokens of an array key's walk (its length is the root's key). */
function flatten(key: unknown[], out: unknown[]): unknown[] {
  for (let i = 0; i < key.length; i++) {
    const k = key[i];
    if (Array.isArray(k)) {
      out.push(mark(k.length));
      flatten(k, out);
    } else out.push(k);
  }
  return out;
}
