// BTree: the ordered map behind ETS `ordered_set` tables.
//
// Our own B+ tree, not npm `sorted-btree` 2.1.0: no runtime dependency, and
// it measured faster on what ETS does. 1M number keys inserted in the
// scattered order (i * 618033 mod 1e6) + 1, comparator compareTerms, 64 keys
// a node, best of 3 processes on the 2-core VM (ns per op; range: one scan of
// 1,000 rows):
//
//                      insert  lookup  first/next walk  delete   range
//   ours, Node 20        500     297        13            445    12 us
//   sorted-btree         664     311        93            646    16 us
//   ours, Deno 2.9       399     288        11            367     7 us
//   sorted-btree         572     299        90            614    13 us
//
// sorted-btree has no cursor, so each ets:next is a descent from the root.
// Memory, 1M entries: 24 B an entry of our own (the key and value slots
// included) against sorted-btree's 30, on top of the values themselves.
// Lookups and inserts are bound by cache misses and mispredicted
// comparisons: a binary search of a plain sorted array of 1M numbers takes
// ~220 ns on the same VM, and neither node size (32, 128) nor other search
// loops (branch-light, linear tail) measured better than this.
//
// Design:
// - Leaves hold keys and values in two parallel arrays and are linked both
//   ways, so walks and range scans never climb the tree. Branches hold
//   separators and children.
// - A cursor (the leaf and index of the last key returned or found) makes
//   nextKey/prevKey with that key O(1). Any change of shape drops it.
// - Deletes rebalance (borrow evenly from a sibling or merge with it), with
//   a minimum of a quarter of the node size, so the tree stays balanced with
//   no rebuilds.
// - forRange notices when its callback changed the tree (a version number)
//   and goes on from the key after the current one.

/** Compares two keys: negative, zero (equal) or positive. */
type Compare<K> = (a: K, b: K) => number;

// Node classes have plain fields, not #private ones: they never leave this
// file, and the tree reads them in its hottest loops. Each class sets all of
// its fields in its constructor so V8 gives every node of a kind one shape.

/** A leaf: parallel key/value arrays, and links to its neighbours. */
class Leaf<K, V> {
  keys: K[];
  values: V[];
  prev: Leaf<K, V> | null = null;
  next: Leaf<K, V> | null = null;
  constructor(keys: K[], values: V[]) {
    this.keys = keys;
    this.values = values;
  }
}

/**
 * An inner node. `keys[i]` separates `children[i]` from `children[i + 1]`:
 * every key under `children[i]` is < keys[i] <= every key under
 * `children[i + 1]`. A separator is the first key of its right subtree when
 * it is made; deletes may leave it below that subtree's keys (still a valid
 * bound), so separators can keep a deleted key alive until the node is
 * rebalanced or split. That is at most one key per child, and never seen.
 */
class Branch<K, V> {
  keys: K[];
  children: TreeNode<K, V>[];
  constructor(keys: K[], children: TreeNode<K, V>[]) {
    this.keys = keys;
    this.children = children;
  }
}

type TreeNode<K, V> = Leaf<K, V> | Branch<K, V>;

/** Options of {@linkcode BTree.forRange}. */
export interface RangeOptions<K> {
  /** Lower bound; no lower bound if absent. */
  lo?: K;
  /** Whether `lo` itself is in the range (default true). */
  loInclusive?: boolean;
  /** Upper bound; no upper bound if absent. */
  hi?: K;
  /** Whether `hi` itself is in the range (default true). */
  hiInclusive?: boolean;
  /** Visit keys in descending order. */
  reverse?: boolean;
}

const DEFAULT_NODE_SIZE = 64;

/**
 * Index of `key` in the sorted `keys`, or `~i` (negative) where `i` is the
 * index it would be inserted at. Returns as soon as it meets an equal key, so
 * a hit costs no extra comparison.
 */
function leafSearch<K>(keys: K[], key: K, cmp: Compare<K>): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = cmp(keys[mid], key);
    if (c < 0) lo = mid + 1;
    else if (c > 0) hi = mid;
    else return mid;
  }
  return ~lo;
}

/** Which child of a branch may hold `key`: the number of separators <= key. */
function childIndex<K>(keys: K[], key: K, cmp: Compare<K>): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cmp(keys[mid], key) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * First index in `keys[from..]` whose key is past `bound` going up: > bound
 * if `inclusive`, >= bound if not.
 */
function upperEnd<K>(
  keys: K[],
  from: number,
  bound: K,
  inclusive: boolean,
  cmp: Compare<K>,
): number {
  let lo = from;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = cmp(keys[mid], bound);
    if (c < 0 || (c === 0 && inclusive)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// Manual shifts rather than splice(): measured no slower on arrays of a few
// dozen elements, and splice() allocates an array for its result.
function insertAt<T>(a: T[], i: number, x: T): void {
  let j = a.length;
  while (j > i) {
    a[j] = a[j - 1];
    j--;
  }
  a[i] = x;
}

function removeAt<T>(a: T[], i: number): void {
  const n = a.length - 1;
  for (let j = i; j < n; j++) a[j] = a[j + 1];
  a.pop();
}

/**
 * A sorted map from K to V, ordered by the comparator given to the
 * constructor: a B+ tree whose leaves hold keys and values in parallel arrays
 * and are linked both ways.
 *
 * Keys are compared only through the comparator, so two keys it finds equal
 * (say 1 and 1n) are the same key; the tree keeps whichever was set last.
 * Keys must never be `undefined`.
 */
export class BTree<K, V> {
  readonly #compare: Compare<K>;
  /** Most keys in a leaf, and most children of a branch. */
  readonly #max: number;
  /** Fewest keys in a non-root leaf, and fewest children of a non-root branch. */
  readonly #minLeaf: number;
  readonly #minBranch: number;
  /** Two siblings together at most this big merge; else they share evenly. */
  readonly #mergeAt: number;
  #root: TreeNode<K, V>;
  /** Branch levels above the leaves: 0 when the root is a leaf. */
  #height = 0;
  #size = 0;
  #first: Leaf<K, V>;
  #last: Leaf<K, V>;
  /**
   * Bumped by every change of shape (a new key, a delete, clear), so that
   * forRange notices when its callback changed the tree.
   */
  #version = 0;
  // The cursor: where the last key returned or found is. nextKey/prevKey
  // called with that key step from here instead of descending from the root,
  // which makes an ets:first/ets:next walk O(1) a step. Any change of shape
  // drops it (#curLeaf = null); replacing a value keeps it.
  #curLeaf: Leaf<K, V> | null = null;
  #curIdx = 0;
  // The path of the last descent (branch and child index at each level),
  // reused by set() and delete() so they allocate nothing.
  #pathNodes: Branch<K, V>[] = [];
  #pathIdx: number[] = [];
  // Where #seek() landed; fields rather than a returned pair, to not
  // allocate.
  #seekLeaf: Leaf<K, V> | null = null;
  #seekIdx = 0;

  /**
   * @param compare orders keys; 0 means equal.
   * @param nodeSize most keys per leaf and children per branch (>= 4). The
   * default, 64, is the fastest we measured; tests use small sizes to get
   * deep trees from few keys.
   */
  constructor(compare: (a: K, b: K) => number, nodeSize?: number) {
    const max = nodeSize ?? DEFAULT_NODE_SIZE;
    if (!Number.isInteger(max) || max < 4) {
      throw new RangeError(`BTree: nodeSize must be an integer >= 4: ${max}`);
    }
    this.#compare = compare;
    this.#max = max;
    // A quarter, not the textbook half: a node split in two halves can lose
    // a quarter of its keys before it has to borrow or merge, so inserts and
    // deletes around one spot do not make it split and merge by turns.
    this.#minLeaf = max >> 2;
    this.#minBranch = Math.max(2, max >> 2);
    this.#mergeAt = max - (max >> 2);
    const leaf = new Leaf<K, V>([], []);
    this.#root = leaf;
    this.#first = leaf;
    this.#last = leaf;
  }

  /** Number of keys. */
  get size(): number {
    return this.#size;
  }

  /** The leaf that holds `key` if any key equal to it is stored. */
  #findLeaf(key: K): Leaf<K, V> {
    const cmp = this.#compare;
    let node = this.#root;
    for (let h = this.#height; h > 0; h--) {
      const b = node as Branch<K, V>;
      node = b.children[childIndex(b.keys, key, cmp)];
    }
    return node as Leaf<K, V>;
  }

  /** The value of the key equal to `key`, or undefined. */
  get(key: K): V | undefined {
    const leaf = this.#findLeaf(key);
    const i = leafSearch(leaf.keys, key, this.#compare);
    if (i < 0) return undefined;
    this.#curLeaf = leaf;
    this.#curIdx = i;
    return leaf.values[i];
  }

  /** The stored key equal to `key` (which may be another value), or undefined. */
  getKey(key: K): K | undefined {
    const leaf = this.#findLeaf(key);
    const i = leafSearch(leaf.keys, key, this.#compare);
    if (i < 0) return undefined;
    this.#curLeaf = leaf;
    this.#curIdx = i;
    return leaf.keys[i];
  }

  /** Whether a key equal to `key` is stored. */
  has(key: K): boolean {
    const leaf = this.#findLeaf(key);
    const i = leafSearch(leaf.keys, key, this.#compare);
    if (i < 0) return false;
    this.#curLeaf = leaf;
    this.#curIdx = i;
    return true;
  }

  /**
   * Inserts `key` with `value`, or replaces an equal key: then both the
   * stored key and its value become the new ones (as in an ETS ordered_set,
   * where inserting {1.0, b} over {1, a} stores the key 1.0).
   * @returns true if the key was new.
   */
  set(key: K, value: V): boolean {
    const cmp = this.#compare;
    const pathNodes = this.#pathNodes;
    const pathIdx = this.#pathIdx;
    let node = this.#root;
    // Whether the descent kept to the leftmost / rightmost child: a key
    // appended at either end of the whole tree splits its leaf unevenly.
    let leftEdge = true;
    let rightEdge = true;
    for (let d = 0, h = this.#height; d < h; d++) {
      const b = node as Branch<K, V>;
      const ci = childIndex(b.keys, key, cmp);
      pathNodes[d] = b;
      pathIdx[d] = ci;
      if (ci !== 0) leftEdge = false;
      if (ci !== b.keys.length) rightEdge = false;
      node = b.children[ci];
    }
    const leaf = node as Leaf<K, V>;
    let i = leafSearch(leaf.keys, key, cmp);
    if (i >= 0) {
      leaf.keys[i] = key;
      leaf.values[i] = value;
      return false;
    }
    i = ~i;
    this.#size++;
    this.#version++;
    this.#curLeaf = null;
    if (leaf.keys.length < this.#max) {
      insertAt(leaf.keys, i, key);
      insertAt(leaf.values, i, value);
    } else {
      this.#splitLeaf(leaf, i, key, value, leftEdge, rightEdge);
    }
    return true;
  }

  /**
   * Splits a full leaf in two, puts the new key at `i` into the proper
   * half, and adds the right half to the parent.
   *
   * Splitting before inserting, into arrays made by slice(), keeps each
   * array's backing store near the node size: growing a full array by one
   * would give it room for half as many again (~30% more memory per entry,
   * measured).
   *
   * In halves, except at the ends of the tree, where the new leaf gets the
   * fewest keys allowed: ascending (or descending) inserts then leave leaves
   * 3/4 full behind, not half-empty ones.
   */
  #splitLeaf(
    leaf: Leaf<K, V>,
    i: number,
    key: K,
    value: V,
    leftEdge: boolean,
    rightEdge: boolean,
  ): void {
    const keys = leaf.keys;
    const values = leaf.values;
    const n = keys.length;
    const min = this.#minLeaf;
    // Keys [0, at) stay, [at, n) move right; the new key then goes to the
    // smaller side when it falls between them.
    const at = rightEdge && i === n
      ? n - min + 1
      : leftEdge && i === 0
      ? min - 1
      : n >> 1;
    const right = new Leaf<K, V>(keys.slice(at), values.slice(at));
    leaf.keys = keys.slice(0, at);
    leaf.values = values.slice(0, at);
    if (i < at || (i === at && at < n - at)) {
      insertAt(leaf.keys, i, key);
      insertAt(leaf.values, i, value);
    } else {
      insertAt(right.keys, i - at, key);
      insertAt(right.values, i - at, value);
    }
    right.prev = leaf;
    right.next = leaf.next;
    if (leaf.next !== null) leaf.next.prev = right;
    else this.#last = right;
    leaf.next = right;
    this.#addChild(this.#height - 1, right.keys[0], right);
  }

  /**
   * Puts `right` (the new right half of a split node) into the branch at
   * depth `d` of the current path, just after the node it split from; splits
   * that branch too if it overflows. d = -1 means the split node was the
   * root.
   */
  #addChild(d: number, sep: K, right: TreeNode<K, V>): void {
    if (d < 0) {
      this.#root = new Branch<K, V>([sep], [this.#root, right]);
      this.#height++;
      return;
    }
    const b = this.#pathNodes[d];
    const ci = this.#pathIdx[d];
    insertAt(b.keys, ci, sep);
    insertAt(b.children, ci + 1, right);
    const n = b.children.length;
    if (n <= this.#max) return;
    // As for leaves: uneven at the ends of the tree.
    let at = n >> 1;
    if (ci + 1 === n - 1 && this.#onRightEdge(d)) at = n - this.#minBranch;
    else if (ci === 0 && this.#onLeftEdge(d)) at = this.#minBranch;
    // Children [at, n) move right; keys[at - 1] goes up between the halves.
    const up = b.keys[at - 1];
    const rb = new Branch<K, V>(b.keys.splice(at), b.children.splice(at));
    b.keys.pop();
    this.#addChild(d - 1, up, rb);
  }

  #onRightEdge(d: number): boolean {
    for (let i = 0; i < d; i++) {
      if (this.#pathIdx[i] !== this.#pathNodes[i].keys.length) return false;
    }
    return true;
  }

  #onLeftEdge(d: number): boolean {
    for (let i = 0; i < d; i++) if (this.#pathIdx[i] !== 0) return false;
    return true;
  }

  /**
   * Removes the key equal to `key`.
   * @returns true if it was there.
   */
  delete(key: K): boolean {
    const cmp = this.#compare;
    const pathNodes = this.#pathNodes;
    const pathIdx = this.#pathIdx;
    let node = this.#root;
    const h = this.#height;
    for (let d = 0; d < h; d++) {
      const b = node as Branch<K, V>;
      const ci = childIndex(b.keys, key, cmp);
      pathNodes[d] = b;
      pathIdx[d] = ci;
      node = b.children[ci];
    }
    const leaf = node as Leaf<K, V>;
    const i = leafSearch(leaf.keys, key, cmp);
    if (i < 0) return false;
    removeAt(leaf.keys, i);
    removeAt(leaf.values, i);
    this.#size--;
    this.#version++;
    this.#curLeaf = null;
    if (h > 0 && leaf.keys.length < this.#minLeaf) this.#fixLeaf(h - 1);
    return true;
  }

  /**
   * The leaf under the branch at depth `d` of the path (at child index
   * pathIdx[d]) has too few keys: borrow from a sibling or merge with it.
   */
  #fixLeaf(d: number): void {
    const parent = this.#pathNodes[d];
    const ci = this.#pathIdx[d];
    // The left sibling if there is one, else the right: s is the separator
    // between the pair.
    const s = ci > 0 ? ci - 1 : 0;
    const left = parent.children[s] as Leaf<K, V>;
    const right = parent.children[s + 1] as Leaf<K, V>;
    const total = left.keys.length + right.keys.length;
    if (total > this.#mergeAt) {
      // Share evenly; both halves then have at least #mergeAt / 2 keys,
      // which is more than the minimum.
      const want = total >> 1;
      const have = left.keys.length;
      if (have < want) {
        const n = want - have;
        for (let j = 0; j < n; j++) {
          left.keys.push(right.keys[j]);
          left.values.push(right.values[j]);
        }
        right.keys.splice(0, n);
        right.values.splice(0, n);
      } else {
        right.keys.unshift(...left.keys.splice(want));
        right.values.unshift(...left.values.splice(want));
      }
      parent.keys[s] = right.keys[0];
      return;
    }
    for (let j = 0; j < right.keys.length; j++) {
      left.keys.push(right.keys[j]);
      left.values.push(right.values[j]);
    }
    left.next = right.next;
    if (right.next !== null) right.next.prev = left;
    else this.#last = left;
    this.#removeChild(d, s);
  }

  /**
   * Removes separator `s` and child `s + 1` (merged into child `s`) from the
   * branch at depth `d`, then mends that branch if it is now too small.
   */
  #removeChild(d: number, s: number): void {
    const b = this.#pathNodes[d];
    removeAt(b.keys, s);
    removeAt(b.children, s + 1);
    if (d === 0) {
      if (b.children.length === 1) {
        this.#root = b.children[0];
        this.#height--;
      }
      return;
    }
    if (b.children.length < this.#minBranch) this.#fixBranch(d);
  }

  /** As #fixLeaf, for the branch at depth `d` (not the root). */
  #fixBranch(d: number): void {
    const parent = this.#pathNodes[d - 1];
    const ci = this.#pathIdx[d - 1];
    const s = ci > 0 ? ci - 1 : 0;
    const left = parent.children[s] as Branch<K, V>;
    const right = parent.children[s + 1] as Branch<K, V>;
    const sep = parent.keys[s];
    const total = left.children.length + right.children.length;
    if (total > this.#mergeAt) {
      // Rotate children through the parent's separator.
      const want = total >> 1;
      const have = left.children.length;
      if (have < want) {
        const n = want - have;
        left.keys.push(sep);
        for (let j = 0; j < n - 1; j++) left.keys.push(right.keys[j]);
        for (let j = 0; j < n; j++) left.children.push(right.children[j]);
        parent.keys[s] = right.keys[n - 1];
        right.keys.splice(0, n);
        right.children.splice(0, n);
      } else {
        // Children [want, have) move; keys[want - 1] goes up.
        const movedKeys = left.keys.splice(want);
        parent.keys[s] = left.keys.pop() as K;
        movedKeys.push(sep);
        right.keys.unshift(...movedKeys);
        right.children.unshift(...left.children.splice(want));
      }
      return;
    }
    left.keys.push(sep);
    for (let j = 0; j < right.keys.length; j++) left.keys.push(right.keys[j]);
    for (let j = 0; j < right.children.length; j++) {
      left.children.push(right.children[j]);
    }
    this.#removeChild(d - 1, s);
  }

  /** Removes every key. */
  clear(): void {
    const leaf = new Leaf<K, V>([], []);
    this.#root = leaf;
    this.#first = leaf;
    this.#last = leaf;
    this.#height = 0;
    this.#size = 0;
    this.#version++;
    this.#curLeaf = null;
    this.#pathNodes = [];
    this.#pathIdx = [];
  }

  /** The smallest key, or undefined if the tree is empty. */
  firstKey(): K | undefined {
    if (this.#size === 0) return undefined;
    this.#curLeaf = this.#first;
    this.#curIdx = 0;
    return this.#first.keys[0];
  }

  /** The largest key, or undefined if the tree is empty. */
  lastKey(): K | undefined {
    if (this.#size === 0) return undefined;
    const leaf = this.#last;
    this.#curLeaf = leaf;
    this.#curIdx = leaf.keys.length - 1;
    return leaf.keys[this.#curIdx];
  }

  /** The smallest stored key > `key` (which need not be stored), or undefined. */
  nextKey(key: K): K | undefined {
    let leaf = this.#curLeaf;
    let i: number;
    if (leaf !== null) {
      const k = leaf.keys[this.#curIdx];
      if (k === key || this.#compare(k, key) === 0) {
        i = this.#curIdx + 1;
        if (i === leaf.keys.length) {
          leaf = leaf.next;
          // At the end the cursor stays put, for a prevKey that may follow.
          if (leaf === null) return undefined;
          i = 0;
        }
        this.#curLeaf = leaf;
        this.#curIdx = i;
        return leaf.keys[i];
      }
    }
    if (!this.#seek(key, false)) return undefined;
    leaf = this.#seekLeaf as Leaf<K, V>;
    i = this.#seekIdx;
    this.#curLeaf = leaf;
    this.#curIdx = i;
    return leaf.keys[i];
  }

  /** The largest stored key < `key` (which need not be stored), or undefined. */
  prevKey(key: K): K | undefined {
    let leaf = this.#curLeaf;
    let i: number;
    if (leaf !== null) {
      const k = leaf.keys[this.#curIdx];
      if (k === key || this.#compare(k, key) === 0) {
        i = this.#curIdx - 1;
        if (i < 0) {
          leaf = leaf.prev;
          if (leaf === null) return undefined;
          i = leaf.keys.length - 1;
        }
        this.#curLeaf = leaf;
        this.#curIdx = i;
        return leaf.keys[i];
      }
    }
    if (!this.#seekDown(key, false)) return undefined;
    leaf = this.#seekLeaf as Leaf<K, V>;
    i = this.#seekIdx;
    this.#curLeaf = leaf;
    this.#curIdx = i;
    return leaf.keys[i];
  }

  /**
   * Finds the smallest key >= `key` (`inclusive`) or > `key`, and leaves its
   * place in #seekLeaf/#seekIdx.
   * @returns false if there is none.
   */
  #seek(key: K, inclusive: boolean): boolean {
    let leaf: Leaf<K, V> | null = this.#findLeaf(key);
    let i = leafSearch(leaf.keys, key, this.#compare);
    i = i >= 0 ? (inclusive ? i : i + 1) : ~i;
    // Past the end of its leaf, the answer is the first key of the next one
    // (only the root leaf is ever empty).
    if (i === leaf.keys.length) {
      leaf = leaf.next;
      if (leaf === null) return false;
      i = 0;
    }
    this.#seekLeaf = leaf;
    this.#seekIdx = i;
    return true;
  }

  /** As #seek, for the largest key <= `key` (`inclusive`) or < `key`. */
  #seekDown(key: K, inclusive: boolean): boolean {
    let leaf: Leaf<K, V> | null = this.#findLeaf(key);
    let i = leafSearch(leaf.keys, key, this.#compare);
    i = i >= 0 ? (inclusive ? i : i - 1) : ~i - 1;
    if (i < 0) {
      leaf = leaf.prev;
      if (leaf === null) return false;
      i = leaf.keys.length - 1;
    }
    this.#seekLeaf = leaf;
    this.#seekIdx = i;
    return true;
  }

  /**
   * Calls `fn(key, value)` for each key in the range, ascending (descending
   * if `reverse`), and stops early when `fn` returns false. Costs one
   * descent plus O(1) a key.
   *
   * `fn` may change the tree: delete the current key (as ETS select_delete
   * does) or any other, insert, clear. The walk then goes on from the key
   * after the current one (before it, when reverse) in the tree as `fn` left
   * it, at the cost of one more descent: keys that `fn` deleted ahead are
   * skipped, keys it inserted ahead are visited.
   */
  forRange(
    fn: (key: K, value: V) => boolean | void,
    options?: RangeOptions<K>,
  ): void {
    const lo = options?.lo;
    const hi = options?.hi;
    const loInclusive = options?.loInclusive ?? true;
    const hiInclusive = options?.hiInclusive ?? true;
    if (options?.reverse === true) {
      this.#rangeDown(fn, lo, loInclusive, hi, hiInclusive);
    } else {
      this.#rangeUp(fn, lo, loInclusive, hi, hiInclusive);
    }
  }

  #rangeUp(
    fn: (key: K, value: V) => boolean | void,
    lo: K | undefined,
    loInclusive: boolean,
    hi: K | undefined,
    hiInclusive: boolean,
  ): void {
    const cmp = this.#compare;
    let leaf: Leaf<K, V> | null;
    let i: number;
    if (lo === undefined) {
      leaf = this.#first;
      i = 0;
    } else {
      if (!this.#seek(lo, loInclusive)) return;
      leaf = this.#seekLeaf;
      i = this.#seekIdx;
    }
    while (leaf !== null) {
      const keys = leaf.keys;
      const values = leaf.values;
      let end = keys.length;
      let last = false;
      // One comparison per leaf decides whether `hi` falls inside it; only
      // then do we search for where to stop.
      if (hi !== undefined && i < end) {
        const c = cmp(keys[end - 1], hi);
        if (c > 0 || (c === 0 && !hiInclusive)) {
          end = upperEnd(keys, i, hi, hiInclusive, cmp);
          last = true;
        }
      }
      const version = this.#version;
      let moved = false;
      for (; i < end; i++) {
        const k = keys[i];
        if (fn(k, values[i]) === false) return;
        if (this.#version !== version) {
          if (!this.#seek(k, false)) return;
          leaf = this.#seekLeaf;
          i = this.#seekIdx;
          moved = true;
          break;
        }
      }
      if (moved) continue;
      if (last) return;
      leaf = (leaf as Leaf<K, V>).next;
      i = 0;
    }
  }

  #rangeDown(
    fn: (key: K, value: V) => boolean | void,
    lo: K | undefined,
    loInclusive: boolean,
    hi: K | undefined,
    hiInclusive: boolean,
  ): void {
    const cmp = this.#compare;
    let leaf: Leaf<K, V> | null;
    let i: number;
    if (hi === undefined) {
      leaf = this.#last;
      i = leaf.keys.length - 1;
    } else {
      if (!this.#seekDown(hi, hiInclusive)) return;
      leaf = this.#seekLeaf;
      i = this.#seekIdx;
    }
    while (leaf !== null) {
      const keys = leaf.keys;
      const values = leaf.values;
      // Visit indexes i down to `stop`.
      let stop = 0;
      let last = false;
      if (lo !== undefined && i >= 0) {
        const c = cmp(keys[0], lo);
        if (c < 0 || (c === 0 && !loInclusive)) {
          // The first index in range is the first one past `lo` going up.
          stop = upperEnd(keys, 0, lo, !loInclusive, cmp);
          last = true;
        }
      }
      const version = this.#version;
      let moved = false;
      for (; i >= stop; i--) {
        const k = keys[i];
        if (fn(k, values[i]) === false) return;
        if (this.#version !== version) {
          if (!this.#seekDown(k, false)) return;
          leaf = this.#seekLeaf;
          i = this.#seekIdx;
          moved = true;
          break;
        }
      }
      if (moved) continue;
      if (last) return;
      leaf = (leaf as Leaf<K, V>).prev;
      if (leaf !== null) i = leaf.keys.length - 1;
    }
  }

  /** All entries in ascending key order (a copy; for tests and debugging). */
  entries(): [K, V][] {
    const out: [K, V][] = [];
    for (let leaf: Leaf<K, V> | null = this.#first; leaf; leaf = leaf.next) {
      for (let i = 0; i < leaf.keys.length; i++) {
        out.push([leaf.keys[i], leaf.values[i]]);
      }
    }
    return out;
  }

  /**
   * Throws an Error naming the first broken invariant of the tree: key order,
   * separators, node sizes, equal leaf depth, the leaf chain, size. For tests
   * and debugging; O(n).
   */
  checkInvariants(): void {
    const cmp = this.#compare;
    const leaves: Leaf<K, V>[] = [];
    let count = 0;
    const fail = (what: string): never => {
      throw new Error(`BTree invariant broken: ${what}`);
    };
    // Checks the subtree at `node` (at `depth`), whose keys must be >= lo
    // and < hi where given.
    const walk = (
      node: TreeNode<K, V>,
      depth: number,
      lo: K | undefined,
      hasLo: boolean,
      hi: K | undefined,
      hasHi: boolean,
    ): void => {
      const isRoot = depth === 0;
      const keys = node.keys;
      for (let i = 1; i < keys.length; i++) {
        if (!(cmp(keys[i - 1], keys[i]) < 0)) fail(`keys out of order`);
      }
      if (keys.length > 0) {
        if (hasLo && cmp(keys[0], lo as K) < 0) fail("key below its separator");
        if (hasHi && !(cmp(keys[keys.length - 1], hi as K) < 0)) {
          fail("key not below its separator");
        }
      }
      if (depth === this.#height) {
        if (!(node instanceof Leaf)) return fail("branch at leaf depth");
        if (node.values.length !== keys.length) fail("keys/values lengths");
        if (keys.length > this.#max) fail("leaf overfull");
        if (!isRoot && keys.length < Math.max(1, this.#minLeaf)) {
          fail("leaf underfull");
        }
        leaves.push(node);
        count += keys.length;
        return;
      }
      if (!(node instanceof Branch)) return fail("leaf above leaf depth");
      const n = node.children.length;
      if (keys.length !== n - 1) fail("separator count");
      if (n > this.#max) fail("branch overfull");
      if (n < (isRoot ? 2 : this.#minBranch)) fail("branch underfull");
      for (let i = 0; i < n; i++) {
        walk(
          node.children[i],
          depth + 1,
          i > 0 ? keys[i - 1] : lo,
          i > 0 || hasLo,
          i < n - 1 ? keys[i] : hi,
          i < n - 1 || hasHi,
        );
      }
    };
    walk(this.#root, 0, undefined, false, undefined, false);
    if (count !== this.#size) fail(`size ${this.#size} but ${count} keys`);
    if (leaves[0] !== this.#first) fail("first leaf");
    if (leaves[leaves.length - 1] !== this.#last) fail("last leaf");
    for (let i = 0; i < leaves.length; i++) {
      if (leaves[i].prev !== (i > 0 ? leaves[i - 1] : null)) fail("prev link");
      if (leaves[i].next !== (leaves[i + 1] ?? null)) fail("next link");
    }
  }
}
