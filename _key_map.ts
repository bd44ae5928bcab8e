// A map from table keys to values, with keys compared as ETS's set tables
// compare them (_term.ts's `sameKey`, Erlang's =:=): primitives, pids and
// refs by `===`, arrays ("tuples") element by element, nested freely.
//
// Why not a Map of strings: building a string per lookup (`"stream:" + n`)
// costs more than the lookup (OTP_FIGURES.md: 500-1,000 ns against ~80 for
// a Map of Maps). Why not the ETS store: the tracker's `find` must cost a
// fraction of OTP's ~130 ns, and an ETS lookup (access check, key trie,
// frozen record) is ~80 ns at 10k tuple keys. Here a tuple key is a walk
// down a trie of Maps, one `Map.get` per element, and no allocation.
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
// of another Map costs it ~3x more per step. V8 does not mind either way.

class Trie {
  readonly m: Map<unknown, unknown> = new Map();
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
      node = node.m.get(k) as Trie | undefined;
      if (node === undefined) return undefined;
    }
    const k = key[last];
    if (Array.isArray(k)) return this.#getPath(node, key, last);
    return node.m.get(k) as V | undefined;
  }

  /** The general walk, from element `from` of `key` at `node`. */
  #getPath(node: Trie, key: unknown[], from: number): V | undefined {
    const path = flatten(key.slice(from), []);
    const last = path.length - 1;
    for (let i = 0; i < last; i++) {
      node = node.m.get(path[i]) as Trie;
      if (node === undefined) return undefined;
    }
    return node.m.get(path[last]) as V | undefined;
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
      let child = node.m.get(path[i]) as Trie | undefined;
      if (child === undefined) node.m.set(path[i], child = new Trie());
      node = child;
    }
    if (!node.m.has(path[last])) this.#size++;
    node.m.set(path[last], value);
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
      const child = node.m.get(path[i]) as Trie | undefined;
      if (child === undefined) return false;
      nodes.push(node = child);
    }
    if (!node.m.delete(path[path.length - 1])) return false;
    this.#size--;
    // Prune the nodes the key alone was using, from the leaf up.
    for (let i = nodes.length - 1; i > 0 && nodes[i].m.size === 0; i--) {
      nodes[i - 1].m.delete(path[i - 1]);
    }
    if (root.m.size === 0) this.#arrays[key.length] = undefined;
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
