// BTree: the ordered map behind ETS `ordered_set` tables.
//
// Our own B+ tree, not npm `sorted-btree` 2.1.0: no runtime dependency, and
// it measured faster on what ETS does. Our benchmark (not shipped): 1M number
// keys inserted in the scattered order (i * 618033 mod 1e6) + 1, each with
// a fresh [k, i] as value, comparator compareTerms (numbersInOrder), 64
// keys a node; lookups in the same order; deletes in that order from a
// full tree; range: one forRange over 1,000 keys with an empty callback.
// Best of 3 processes on the 2-core VM (ns per op; bytes an entry of the
// tree's own, values not counted). "before": the first version (an object
// per node, keys and values in two arrays per leaf), measured the same way:
//
//                   insert  lookup  first/next walk  delete   range  memory
//   Deno 2.9  now     223     181        7.3           257   1.5 us   31 B
//           before    382     228       11.0           359   1.0 us   23 B
//   Node 20   now     285     183        8.8           286   3.0 us   31 B
//           before    427     230        9.5           368   2.8 us   23 B
//   Bun 1.4   now     229     188       11.7           234   1.7 us   36 B
//           before    250     208       11.5           271   1.6 us   23 B
//
// The first version measured against sorted-btree (Node 20; insert, lookup,
// walk, delete in ns, a range scan in us): ours 500, 297, 13, 445, 12;
// sorted-btree 664, 311, 93, 646, 16. sorted-btree has no cursor, so each
// ets:next is a descent from the root.
//
// Lookups and inserts are bound by cache misses: a binary search of a plain
// sorted array of 1M numbers takes ~220 ns on the same VM. What did not
// help (measured, 1M keys): node sizes 24 to 128, for leaves or branches
// apart; linear, quarter-pivot and interpolation searches in nodes; keys
// then values in one leaf array (rather than side by side); copyWithin()
// or splice() for shifts (copyWithin 3x slower on V8). Leaves cut to size
// at a split took ~20 B an entry on V8, but grew back into new backing
// stores twice before their next split (see #splitLeaf).
//
// Design:
// - Every node is one plain array, with no wrapper object: a descent then
//   costs one array per level (node -> elements), not an object and two
//   arrays (node -> keys array -> elements, node -> children array ->
//   elements). Leaves hold keys and values side by side and are linked both
//   ways, so walks and range scans never climb the tree:
//     leaf:   [prev, next, k0, v0, k1, v1, ...]
//     branch: [c0, s0, c1, s1, ..., cn]  (s_i separates c_i from c_i+1)
//   A leaf has an even length, a branch an odd one. Arrays grow and shrink
//   with push/pop and never get holes (a holey array reads slower on V8).
// - Number keys, when the comparator orders numbers as `<` does (ETS's term
//   order does), are compared inline: no call per comparison, and other key
//   types met on the way still go through the comparator.
// - A cursor (the leaf and index of the last key returned or found) makes
//   nextKey/prevKey with that key O(1). Any change of shape drops it.
// - Deletes rebalance (borrow evenly from a sibling or merge with it), with
//   a minimum of a quarter of the node size, so the tree stays balanced with
//   no rebuilds.
// - forRange notices when its callback changed the tree (a version number)
//   and goes on from the key after the current one.

/** Compares two keys: negative, zero (equal) or positive. */
type Compare<K> = (a: K, b: K) => number;

/**
 * A node: a leaf [prev, next, k0, v0, ...] or a branch [c0, s0, c1, ...,
 * cn] (see the file comment). Which one is known from the depth.
 */
type Node = unknown[];

/** Slots before a leaf's first key: its links. */
const HEAD = 2;
const PREV = 0;
const NEXT = 1;

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

/** Number of keys in a leaf. */
function leafSize(leaf: Node): number {
  return (leaf.length - HEAD) >> 1;
}

/**
 * Index (0-based, in keys) of `key` in the leaf, or `~i` (negative) where
 * `i` is the index it would be inserted at. Returns as soon as it meets an
 * equal key, so a hit costs no extra comparison.
 */
function leafSearch(leaf: Node, key: unknown, cmp: Compare<unknown>): number {
  let lo = 0;
  let hi = (leaf.length - HEAD) >> 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = cmp(leaf[HEAD + 2 * mid], key);
    if (c < 0) lo = mid + 1;
    else if (c > 0) hi = mid;
    else return mid;
  }
  return ~lo;
}

/** leafSearch for a number key, comparing number keys inline. */
function leafSearchNumber(
  leaf: Node,
  key: number,
  cmp: Compare<unknown>,
): number {
  let lo = 0;
  let hi = (leaf.length - HEAD) >> 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const k = leaf[HEAD + 2 * mid];
    if (typeof k === "number") {
      if (k < key) lo = mid + 1;
      else if (k > key) hi = mid;
      else return mid;
    } else {
      const c = cmp(k, key);
      if (c < 0) lo = mid + 1;
      else if (c > 0) hi = mid;
      else return mid;
    }
  }
  return ~lo;
}

/**
 * Which child of a branch may hold `key` (0-based, in children): the number
 * of separators <= key.
 */
function childIndex(b: Node, key: unknown, cmp: Compare<unknown>): number {
  let lo = 0;
  let hi = b.length >> 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cmp(b[2 * mid + 1], key) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** childIndex for a number key, comparing number separators inline. */
function childIndexNumber(
  b: Node,
  key: number,
  cmp: Compare<unknown>,
): number {
  let lo = 0;
  let hi = b.length >> 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const s = b[2 * mid + 1];
    if (typeof s === "number" ? s <= key : cmp(s, key) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * First key index in the leaf from `from` on whose key is past `bound`
 * going up: > bound if `inclusive`, >= bound if not.
 */
function upperEnd(
  leaf: Node,
  from: number,
  bound: unknown,
  inclusive: boolean,
  cmp: Compare<unknown>,
): number {
  let lo = from;
  let hi = (leaf.length - HEAD) >> 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = cmp(leaf[HEAD + 2 * mid], bound);
    if (c < 0 || (c === 0 && inclusive)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// Manual shifts rather than splice() or copyWithin(): splice() allocates an
// array for its result, and copyWithin() measured 3x slower on V8.

/**
 * Puts `x, y` at slots `at, at + 1`, moving the slots from `at` on up by
 * two. Grows the array with push() first, so it never has a hole.
 */
function insertPair(a: Node, at: number, x: unknown, y: unknown): void {
  const n = a.length;
  if (at === n) {
    a.push(x, y);
    return;
  }
  a.push(a[n - 2], a[n - 1]);
  for (let j = n - 1; j >= at + 2; j--) a[j] = a[j - 2];
  a[at] = x;
  a[at + 1] = y;
}

/** Removes slots `at` and `at + 1`, moving the ones after them down. */
function removePair(a: Node, at: number): void {
  const n = a.length - 2;
  for (let j = at; j < n; j++) a[j] = a[j + 2];
  a.pop();
  a.pop();
}

/** Makes room for `m` slots at `at` (to be filled by the caller). */
function openSlots(a: Node, at: number, m: number): void {
  const n = a.length;
  for (let j = 0; j < m; j++) a.push(undefined);
  for (let j = n - 1; j >= at; j--) a[j + m] = a[j];
}

/** Removes `m` slots from `at`. */
function removeSlots(a: Node, at: number, m: number): void {
  const n = a.length - m;
  for (let j = at; j < n; j++) a[j] = a[j + m];
  a.length = n;
}

/**
 * A sorted map from K to V, ordered by the comparator given to the
 * constructor: a B+ tree whose leaves hold keys and values side by side and
 * are linked both ways.
 *
 * Keys are compared only through the comparator, so two keys it finds equal
 * (say 1 and 1n) are the same key; the tree keeps whichever was set last.
 * Keys must never be `undefined`.
 */
export class BTree<K, V> {
  readonly #compare: Compare<unknown>;
  /** Whether number keys may be compared with `<` (see the constructor). */
  readonly #numbers: boolean;
  /** Most keys in a leaf, and most children of a branch. */
  readonly #max: number;
  /** Fewest keys in a non-root leaf, and fewest children of a non-root branch. */
  readonly #minLeaf: number;
  readonly #minBranch: number;
  /** Two siblings together at most this big merge; else they share evenly. */
  readonly #mergeAt: number;
  /** The length of a full leaf. */
  readonly #fullLeaf: number;
  #root: Node;
  /** Branch levels above the leaves: 0 when the root is a leaf. */
  #height = 0;
  #size = 0;
  #first: Node;
  #last: Node;
  /**
   * Bumped by every change of shape (a new key, a delete, clear), so that
   * forRange notices when its callback changed the tree.
   */
  #version = 0;
  // The cursor: where the last key returned or found is. nextKey/prevKey
  // called with that key step from here instead of descending from the root,
  // which makes an ets:first/ets:next walk O(1) a step. Any change of shape
  // drops it (#curLeaf = null); replacing a value keeps it.
  #curLeaf: Node | null = null;
  /** The slot of the cursor's key in #curLeaf. */
  #curSlot = HEAD;
  // The path of the last descent (branch and child index at each level),
  // reused by set() and delete() so they allocate nothing.
  #pathNodes: Node[] = [];
  #pathIdx: number[] = [];
  // Where #seek() landed; fields rather than a returned pair, to not
  // allocate.
  #seekLeaf: Node | null = null;
  #seekIdx = 0;

  /**
   * @param compare orders keys; 0 means equal.
   * @param nodeSize most keys per leaf and children per branch (>= 4). The
   * default, 64, is the fastest we measured; tests use small sizes to get
   * deep trees from few keys.
   * @param numbersInOrder promises that `compare` orders any two numbers
   * (never NaN) as `<` does, and finds them equal when neither is `<` the
   * other (so 0 equals -0); number keys are then compared inline.
   */
  constructor(
    compare: (a: K, b: K) => number,
    nodeSize?: number,
    numbersInOrder = false,
  ) {
    const max = nodeSize ?? DEFAULT_NODE_SIZE;
    if (!Number.isInteger(max) || max < 4) {
      throw new RangeError(`BTree: nodeSize must be an integer >= 4: ${max}`);
    }
    this.#compare = compare as Compare<unknown>;
    this.#numbers = numbersInOrder;
    this.#max = max;
    // A quarter, not the textbook half: a node split in two halves can lose
    // a quarter of its keys before it has to borrow or merge, so inserts and
    // deletes around one spot do not make it split and merge by turns.
    this.#minLeaf = max >> 2;
    this.#minBranch = Math.max(2, max >> 2);
    this.#mergeAt = max - (max >> 2);
    this.#fullLeaf = HEAD + 2 * max;
    const leaf: Node = [null, null];
    this.#root = leaf;
    this.#first = leaf;
    this.#last = leaf;
  }

  /** Number of keys. */
  get size(): number {
    return this.#size;
  }

  /** The leaf that holds `key` if any key equal to it is stored. */
  #findLeaf(key: unknown): Node {
    const cmp = this.#compare;
    let node = this.#root;
    if (this.#numbers && typeof key === "number") {
      for (let h = this.#height; h > 0; h--) {
        node = node[2 * childIndexNumber(node, key, cmp)] as Node;
      }
    } else {
      for (let h = this.#height; h > 0; h--) {
        node = node[2 * childIndex(node, key, cmp)] as Node;
      }
    }
    return node;
  }

  /** leafSearch, inline for number keys when allowed. */
  #search(leaf: Node, key: unknown): number {
    return this.#numbers && typeof key === "number"
      ? leafSearchNumber(leaf, key, this.#compare)
      : leafSearch(leaf, key, this.#compare);
  }

  /** Finds `key`: its index in its leaf (then the cursor), or -1. */
  #find(key: unknown): number {
    const leaf = this.#findLeaf(key);
    const i = this.#search(leaf, key);
    if (i < 0) return -1;
    this.#curLeaf = leaf;
    this.#curSlot = HEAD + 2 * i;
    return i;
  }

  /** The value of the key equal to `key`, or undefined. */
  get(key: K): V | undefined {
    const i = this.#find(key);
    return i < 0 ? undefined : (this.#curLeaf as Node)[HEAD + 2 * i + 1] as V;
  }

  /** The stored key equal to `key` (which may be another value), or undefined. */
  getKey(key: K): K | undefined {
    const i = this.#find(key);
    return i < 0 ? undefined : (this.#curLeaf as Node)[HEAD + 2 * i] as K;
  }

  /** Whether a key equal to `key` is stored. */
  has(key: K): boolean {
    return this.#find(key) >= 0;
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
    const num = this.#numbers && typeof key === "number";
    let node = this.#root;
    // Whether the descent kept to the leftmost / rightmost child: a key
    // appended at either end of the whole tree splits its leaf unevenly.
    let leftEdge = true;
    let rightEdge = true;
    for (let d = 0, h = this.#height; d < h; d++) {
      const ci = num
        ? childIndexNumber(node, key as number, cmp)
        : childIndex(node, key, cmp);
      pathNodes[d] = node;
      pathIdx[d] = ci;
      if (ci !== 0) leftEdge = false;
      if (ci !== node.length >> 1) rightEdge = false;
      node = node[2 * ci] as Node;
    }
    const leaf = node;
    let i = num
      ? leafSearchNumber(leaf, key as number, cmp)
      : leafSearch(leaf, key, cmp);
    if (i >= 0) {
      leaf[HEAD + 2 * i] = key;
      leaf[HEAD + 2 * i + 1] = value;
      return false;
    }
    i = ~i;
    this.#size++;
    this.#version++;
    this.#curLeaf = null;
    if (leaf.length < this.#fullLeaf) {
      insertPair(leaf, HEAD + 2 * i, key, value);
    } else {
      this.#splitLeaf(leaf, i, key, value, leftEdge, rightEdge);
    }
    return true;
  }

  /**
   * Splits a full leaf in two, puts the new key at `i` into the proper
   * half, and adds the right half to the parent.
   *
   * In halves, except at the ends of the tree, where the new leaf gets the
   * fewest keys allowed: ascending (or descending) inserts then leave leaves
   * 3/4 full behind, not half-empty ones.
   */
  #splitLeaf(
    leaf: Node,
    i: number,
    key: unknown,
    value: unknown,
    leftEdge: boolean,
    rightEdge: boolean,
  ): void {
    const n = leafSize(leaf);
    const min = this.#minLeaf;
    // Keys [0, at) stay, [at, n) move right; the new key then goes to the
    // smaller side when it falls between them.
    const at = rightEdge && i === n
      ? n - min + 1
      : leftEdge && i === 0
      ? min - 1
      : n >> 1;
    const next = leaf[NEXT] as Node | null;
    // The right half is a copy of the whole leaf, moved down and cut: its
    // backing store keeps room for a full leaf, as the left one's does (V8
    // trims an array's store on a shorter length only below about half
    // of it). Halves cut to their size (slice(2 * at)) grew back by push()
    // into new stores twice before their next split: young garbage the GC
    // copied, measured 15-25% slower inserts on V8, for ~10 bytes a key
    // more.
    const right = leaf.slice();
    const off = 2 * at;
    const end = right.length - off;
    for (let j = HEAD; j < end; j++) right[j] = right[j + off];
    right.length = end;
    right[PREV] = leaf;
    right[NEXT] = next;
    leaf.length = HEAD + 2 * at;
    if (i < at || (i === at && at < n - at)) {
      insertPair(leaf, HEAD + 2 * i, key, value);
    } else {
      insertPair(right, HEAD + 2 * (i - at), key, value);
    }
    if (next !== null) next[PREV] = right;
    else this.#last = right;
    leaf[NEXT] = right;
    this.#addChild(this.#height - 1, right[HEAD], right);
  }

  /**
   * Puts `right` (the new right half of a split node) into the branch at
   * depth `d` of the current path, just after the node it split from; splits
   * that branch too if it overflows. d = -1 means the split node was the
   * root.
   */
  #addChild(d: number, sep: unknown, right: Node): void {
    if (d < 0) {
      this.#root = [this.#root, sep, right];
      this.#height++;
      return;
    }
    const b = this.#pathNodes[d];
    const ci = this.#pathIdx[d];
    insertPair(b, 2 * ci + 1, sep, right);
    const n = (b.length + 1) >> 1;
    if (n <= this.#max) return;
    // As for leaves: uneven at the ends of the tree.
    let at = n >> 1;
    if (ci + 1 === n - 1 && this.#onRightEdge(d)) at = n - this.#minBranch;
    else if (ci === 0 && this.#onLeftEdge(d)) at = this.#minBranch;
    // Children [at, n) move right; separator at - 1 goes up between the
    // halves.
    const up = b[2 * at - 1];
    const rb = b.slice(2 * at);
    b.length = 2 * at - 1;
    this.#addChild(d - 1, up, rb);
  }

  #onRightEdge(d: number): boolean {
    for (let i = 0; i < d; i++) {
      if (this.#pathIdx[i] !== this.#pathNodes[i].length >> 1) return false;
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
    const num = this.#numbers && typeof key === "number";
    let node = this.#root;
    const h = this.#height;
    for (let d = 0; d < h; d++) {
      const ci = num
        ? childIndexNumber(node, key as number, cmp)
        : childIndex(node, key, cmp);
      pathNodes[d] = node;
      pathIdx[d] = ci;
      node = node[2 * ci] as Node;
    }
    const leaf = node;
    const i = num
      ? leafSearchNumber(leaf, key as number, cmp)
      : leafSearch(leaf, key, cmp);
    if (i < 0) return false;
    removePair(leaf, HEAD + 2 * i);
    this.#size--;
    this.#version++;
    this.#curLeaf = null;
    if (h > 0 && leafSize(leaf) < this.#minLeaf) this.#fixLeaf(h - 1);
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
    const left = parent[2 * s] as Node;
    const right = parent[2 * s + 2] as Node;
    const have = leafSize(left);
    const total = have + leafSize(right);
    if (total > this.#mergeAt) {
      // Share evenly; both halves then have at least #mergeAt / 2 keys,
      // which is more than the minimum.
      const want = total >> 1;
      if (have < want) {
        // The first keys of the right leaf move to the end of the left.
        const m = 2 * (want - have);
        for (let j = 0; j < m; j++) left.push(right[HEAD + j]);
        removeSlots(right, HEAD, m);
      } else {
        // The last keys of the left leaf move to the front of the right.
        const from = HEAD + 2 * want;
        const m = left.length - from;
        openSlots(right, HEAD, m);
        for (let j = 0; j < m; j++) right[HEAD + j] = left[from + j];
        left.length = from;
      }
      parent[2 * s + 1] = right[HEAD];
      return;
    }
    for (let j = HEAD; j < right.length; j++) left.push(right[j]);
    const next = right[NEXT] as Node | null;
    left[NEXT] = next;
    if (next !== null) next[PREV] = left;
    else this.#last = left;
    this.#removeChild(d, s);
  }

  /**
   * Removes separator `s` and child `s + 1` (merged into child `s`) from the
   * branch at depth `d`, then mends that branch if it is now too small.
   */
  #removeChild(d: number, s: number): void {
    const b = this.#pathNodes[d];
    removePair(b, 2 * s + 1);
    if (d === 0) {
      if (b.length === 1) {
        this.#root = b[0] as Node;
        this.#height--;
      }
      return;
    }
    if ((b.length + 1) >> 1 < this.#minBranch) this.#fixBranch(d);
  }

  /** As #fixLeaf, for the branch at depth `d` (not the root). */
  #fixBranch(d: number): void {
    const parent = this.#pathNodes[d - 1];
    const ci = this.#pathIdx[d - 1];
    const s = ci > 0 ? ci - 1 : 0;
    const left = parent[2 * s] as Node;
    const right = parent[2 * s + 2] as Node;
    const sep = parent[2 * s + 1];
    const have = (left.length + 1) >> 1;
    const total = have + ((right.length + 1) >> 1);
    if (total > this.#mergeAt) {
      // Rotate children through the parent's separator.
      const want = total >> 1;
      if (have < want) {
        // The first m children of the right branch move to the left one,
        // after the parent's separator; right's separator m - 1 goes up.
        const m = want - have;
        left.push(sep);
        for (let j = 0; j < 2 * m - 1; j++) left.push(right[j]);
        parent[2 * s + 1] = right[2 * m - 1];
        removeSlots(right, 0, 2 * m);
      } else {
        // Children [want, have) of the left branch move to the front of
        // the right one, before the parent's separator; left's separator
        // want - 1 goes up.
        const from = 2 * want;
        const m = left.length - from;
        openSlots(right, 0, m + 1);
        for (let j = 0; j < m; j++) right[j] = left[from + j];
        right[m] = sep;
        parent[2 * s + 1] = left[from - 1];
        left.length = from - 1;
      }
      return;
    }
    left.push(sep);
    for (let j = 0; j < right.length; j++) left.push(right[j]);
    this.#removeChild(d - 1, s);
  }

  /** Removes every key. */
  clear(): void {
    const leaf: Node = [null, null];
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
    this.#curSlot = HEAD;
    return this.#first[HEAD] as K;
  }

  /** The largest key, or undefined if the tree is empty. */
  lastKey(): K | undefined {
    if (this.#size === 0) return undefined;
    const leaf = this.#last;
    this.#curLeaf = leaf;
    this.#curSlot = leaf.length - 2;
    return leaf[leaf.length - 2] as K;
  }

  /** The smallest stored key > `key` (which need not be stored), or undefined. */
  nextKey(key: K): K | undefined {
    let leaf = this.#curLeaf;
    let s: number;
    if (leaf !== null) {
      s = this.#curSlot;
      const k = leaf[s];
      if (k === key || this.#compare(k, key) === 0) {
        s += 2;
        if (s === leaf.length) {
          leaf = leaf[NEXT] as Node | null;
          // At the end the cursor stays put, for a prevKey that may follow.
          if (leaf === null) return undefined;
          s = HEAD;
        }
        this.#curLeaf = leaf;
        this.#curSlot = s;
        return leaf[s] as K;
      }
    }
    if (!this.#seek(key, false)) return undefined;
    leaf = this.#seekLeaf as Node;
    s = HEAD + 2 * this.#seekIdx;
    this.#curLeaf = leaf;
    this.#curSlot = s;
    return leaf[s] as K;
  }

  /** The largest stored key < `key` (which need not be stored), or undefined. */
  prevKey(key: K): K | undefined {
    let leaf = this.#curLeaf;
    let s: number;
    if (leaf !== null) {
      s = this.#curSlot;
      const k = leaf[s];
      if (k === key || this.#compare(k, key) === 0) {
        s -= 2;
        if (s < HEAD) {
          leaf = leaf[PREV] as Node | null;
          if (leaf === null) return undefined;
          s = leaf.length - 2;
        }
        this.#curLeaf = leaf;
        this.#curSlot = s;
        return leaf[s] as K;
      }
    }
    if (!this.#seekDown(key, false)) return undefined;
    leaf = this.#seekLeaf as Node;
    s = HEAD + 2 * this.#seekIdx;
    this.#curLeaf = leaf;
    this.#curSlot = s;
    return leaf[s] as K;
  }

  /**
   * Finds the smallest key >= `key` (`inclusive`) or > `key`, and leaves its
   * place in #seekLeaf/#seekIdx.
   * @returns false if there is none.
   */
  #seek(key: unknown, inclusive: boolean): boolean {
    let leaf: Node | null = this.#findLeaf(key);
    let i = this.#search(leaf, key);
    i = i >= 0 ? (inclusive ? i : i + 1) : ~i;
    // Past the end of its leaf, the answer is the first key of the next one
    // (only the root leaf is ever empty).
    if (HEAD + 2 * i === leaf.length) {
      leaf = leaf[NEXT] as Node | null;
      if (leaf === null) return false;
      i = 0;
    }
    this.#seekLeaf = leaf;
    this.#seekIdx = i;
    return true;
  }

  /** As #seek, for the largest key <= `key` (`inclusive`) or < `key`. */
  #seekDown(key: unknown, inclusive: boolean): boolean {
    let leaf: Node | null = this.#findLeaf(key);
    let i = this.#search(leaf, key);
    i = i >= 0 ? (inclusive ? i : i - 1) : ~i - 1;
    if (i < 0) {
      leaf = leaf[PREV] as Node | null;
      if (leaf === null) return false;
      i = leafSize(leaf) - 1;
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
    let leaf: Node | null;
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
      let end = leafSize(leaf);
      let last = false;
      // One comparison per leaf decides whether `hi` falls inside it; only
      // then do we search for where to stop.
      if (hi !== undefined && i < end) {
        const c = cmp(leaf[leaf.length - 2], hi);
        if (c > 0 || (c === 0 && !hiInclusive)) {
          end = upperEnd(leaf, i, hi, hiInclusive, cmp);
          last = true;
        }
      }
      const version = this.#version;
      let moved = false;
      for (; i < end; i++) {
        const k = leaf[HEAD + 2 * i] as K;
        if (fn(k, leaf[HEAD + 2 * i + 1] as V) === false) return;
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
      leaf = (leaf as Node)[NEXT] as Node | null;
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
    let leaf: Node | null;
    let i: number;
    if (hi === undefined) {
      leaf = this.#last;
      i = leafSize(leaf) - 1;
    } else {
      if (!this.#seekDown(hi, hiInclusive)) return;
      leaf = this.#seekLeaf;
      i = this.#seekIdx;
    }
    while (leaf !== null) {
      // Visit indexes i down to `stop`.
      let stop = 0;
      let last = false;
      if (lo !== undefined && i >= 0) {
        const c = cmp(leaf[HEAD], lo);
        if (c < 0 || (c === 0 && !loInclusive)) {
          // The first index in range is the first one past `lo` going up.
          stop = upperEnd(leaf, 0, lo, !loInclusive, cmp);
          last = true;
        }
      }
      const version = this.#version;
      let moved = false;
      for (; i >= stop; i--) {
        const k = leaf[HEAD + 2 * i] as K;
        if (fn(k, leaf[HEAD + 2 * i + 1] as V) === false) return;
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
      leaf = (leaf as Node)[PREV] as Node | null;
      if (leaf !== null) i = leafSize(leaf) - 1;
    }
  }

  /** All entries in ascending key order (a copy; for tests and debugging). */
  entries(): [K, V][] {
    const out: [K, V][] = [];
    for (
      let leaf: Node | null = this.#first;
      leaf !== null;
      leaf = leaf[NEXT] as Node | null
    ) {
      for (let j = HEAD; j < leaf.length; j += 2) {
        out.push([leaf[j] as K, leaf[j + 1] as V]);
      }
    }
    return out;
  }

  /**
   * Throws an Error naming the first broken invariant of the tree: node
   * layout, key order, separators, node sizes, equal leaf depth, the leaf
   * chain, size. For tests and debugging; O(n).
   */
  checkInvariants(): void {
    const cmp = this.#compare;
    const leaves: Node[] = [];
    let count = 0;
    const fail = (what: string): never => {
      throw new Error(`BTree invariant broken: ${what}`);
    };
    const inOrder = (keys: unknown[]): void => {
      for (let i = 0; i < keys.length; i++) {
        if (keys[i] === undefined) fail("undefined key");
        if (i > 0 && !(cmp(keys[i - 1], keys[i]) < 0)) {
          fail("keys out of order");
        }
      }
    };
    // Checks the subtree at `node` (at `depth`), whose keys must be >= lo
    // and < hi where given.
    const walk = (
      node: Node,
      depth: number,
      lo: unknown,
      hasLo: boolean,
      hi: unknown,
      hasHi: boolean,
    ): void => {
      const isRoot = depth === 0;
      if (!Array.isArray(node)) return fail("node not an array");
      for (let j = 0; j < node.length; j++) {
        if (!(j in node)) fail("hole in a node");
      }
      if (depth === this.#height) {
        if (node.length % 2 !== 0 || node.length < HEAD) {
          fail("branch at leaf depth");
        }
        const keys: unknown[] = [];
        for (let j = HEAD; j < node.length; j += 2) keys.push(node[j]);
        inOrder(keys);
        if (keys.length > 0) {
          if (hasLo && cmp(keys[0], lo) < 0) fail("key below its separator");
          if (hasHi && !(cmp(keys[keys.length - 1], hi) < 0)) {
            fail("key not below its separator");
          }
        }
        if (keys.length > this.#max) fail("leaf overfull");
        if (!isRoot && keys.length < Math.max(1, this.#minLeaf)) {
          fail("leaf underfull");
        }
        leaves.push(node);
        count += keys.length;
        return;
      }
      if (node.length % 2 !== 1) return fail("leaf above leaf depth");
      const n = (node.length + 1) >> 1;
      const keys: unknown[] = [];
      for (let j = 1; j < node.length; j += 2) keys.push(node[j]);
      inOrder(keys);
      if (hasLo && cmp(keys[0], lo) < 0) fail("separator below its bound");
      if (hasHi && !(cmp(keys[keys.length - 1], hi) < 0)) {
        fail("separator not below its bound");
      }
      if (n > this.#max) fail("branch overfull");
      if (n < (isRoot ? 2 : this.#minBranch)) fail("branch underfull");
      for (let i = 0; i < n; i++) {
        walk(
          node[2 * i] as Node,
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
      if (leaves[i][PREV] !== (leaves[i - 1] ?? null)) fail("prev link");
      if (leaves[i][NEXT] !== (leaves[i + 1] ?? null)) fail("next link");
    }
  }
}
