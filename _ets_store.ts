// Where a table's records live. Two stores behind one interface:
//
// - HashStore (set, bag, duplicate_bag): keys compare with =:= (1 and 1n
//   differ). Primitive, pid and ref keys go in a Map; array keys go in a trie
//   of Maps, one level per element (array lengths are levels too), so a tuple
//   key like ["stream", 42] costs a few Map lookups and no string building
//   (string-joined keys measured 500-970 ns per lookup here; nested Maps
//   70-80 ns). Every key has an Entry, and entries form a doubly-linked list
//   in insertion order, so first/next are O(1) and a walk survives deletes.
// - TreeStore (ordered_set): a B+ tree ordered by the term order, where keys
//   are equal when they compare equal (1 and 1n are one key).
//
// Records are stored as private copies (see ets.ts on copying); array keys
// are deep-frozen canonical copies, shared by the index and the record.

import { BTree } from "./_btree.ts";
import { compareTerms, HIGHEST, isKey, LOWEST, sameTerm } from "./_term.ts";

/** A record: a tuple, as an array. */
export type Rec = readonly unknown[];

/** What every store offers the table. */
export interface Store {
  /** Number of records. */
  readonly size: number;
  /** The records with `key`, oldest first (the stored arrays), or undefined. */
  get(key: unknown): readonly Rec[] | undefined;
  /** The one record of `key` (set and ordered_set), the stored array. */
  one(key: unknown): Rec | undefined;
  /**
   * Like `one`, frozen for handing out (frozen once: the table replaces a
   * frozen record rather than change it).
   */
  oneOut(key: unknown): Rec | undefined;
  has(key: unknown): boolean;
  /** Inserts with the type's rules (set/ordered_set replace; bag skips an identical record; duplicate_bag appends). */
  insert(key: unknown, rec: Rec): void;
  /** Replaces the one record of `key` (set and ordered_set only). */
  replace(key: unknown, rec: Rec): void;
  /** Removes every record of `key`; returns them (undefined if none). */
  deleteKey(key: unknown): readonly Rec[] | undefined;
  /** Removes the records sameTerm-equal to `rec`; returns how many. */
  deleteRecord(key: unknown, rec: Rec): number;
  clear(): void;
  firstKey(): unknown;
  lastKey(): unknown;
  /** The key after `key`, undefined at the end, or NOT_FOUND if `key` is not (or no longer) known and the store cannot tell. */
  nextKey(key: unknown): unknown;
  prevKey(key: unknown): unknown;
  /**
   * Calls fn(key, records, cursor) for every key in order (reverse: the
   * other way), after `after` (a cursor fn was given) if set; stops when fn
   * returns false. Keys may be deleted while it runs, and a cursor stays
   * usable after its key is deleted (select continuations keep one).
   */
  forEach(fn: Visit, reverse?: boolean, after?: Cursor): void;
  /** Like forEach, over keys that are arrays of `length` starting with `prefix` (ordered_set only: others scan). */
  forPrefix(
    prefix: readonly unknown[],
    length: number,
    fn: Visit,
    reverse?: boolean,
    after?: Cursor,
  ): void;
  /**
   * `keys` in table order: ordered_set by the term order; others present
   * keys by insertion order, then absent ones.
   */
  inOrder(keys: unknown[]): unknown[];
  /** Keeps deleted keys resolvable for nextKey (safe_fixtable) while > 0. */
  fix(delta: 1 | -1): void;
  /** Deep-frozen canonical form of a key to store (arrays copied once). */
  canonicalKey(key: unknown): unknown;
}

/** A position in a walk (opaque to the table). */
export type Cursor = { readonly cursor: unique symbol } | unknown;

/** What forEach calls for each key. */
export type Visit = (
  key: unknown,
  recs: readonly Rec[],
  cursor: Cursor,
) => boolean | void;

/** nextKey/prevKey of a key the store does not know. */
export const NOT_FOUND: unique symbol = Symbol("key not found");

/** A deep-frozen copy of an array key (primitives as they are). */
export function freezeKey(key: unknown): unknown {
  if (!Array.isArray(key)) return key;
  if (
    Object.isFrozen(key) &&
    key.every((k) => !Array.isArray(k) || Object.isFrozen(k))
  ) {
    return key;
  }
  return Object.freeze(key.map(freezeKey));
}

// ------------------------------------------------------------ hash store --

/** A trie level for array keys. */
class TNode {
  prim: Map<unknown, TNode | Entry> | null = null;
  arr: Map<number, TNode | Entry> | null = null;
  constructor(
    readonly parent: TNode | null,
    readonly token: unknown,
    readonly viaArr: boolean,
  ) {}
}

/** One key of a hash store, and a trie leaf for array keys. */
class Entry {
  prev: Entry | null = null;
  next: Entry | null = null;
  dead = false;
  /** Position in insertion order, to sort found keys into table order. */
  seq = 0;
  /**
   * set: the record is frozen (it was handed out). Kept here so a lookup
   * need not touch the record itself to know: one cache miss less.
   */
  frozen = false;
  constructor(
    readonly key: unknown,
    /** set: the record; bag/duplicate_bag: the records, oldest first */
    public value: Rec | Rec[],
    readonly parent: TNode | null,
    readonly token: unknown,
    readonly viaArr: boolean,
  ) {}
}

type Level = TNode | Entry | undefined;

function child(node: TNode, token: unknown, viaArr: boolean): Level {
  return viaArr ? node.arr?.get(token as number) : node.prim?.get(token);
}

/**
 * Walks the trie along `key` (an element of a key, or the key itself),
 * from `node`; with `create`, adds the missing levels. Returns the node
 * reached after the whole of `key`, or undefined. `last` builds the final
 * level as an Entry.
 */
function walk(
  node: TNode,
  key: unknown,
  create: boolean,
  leaf: ((parent: TNode, token: unknown, viaArr: boolean) => Entry) | null,
): Level {
  if (!Array.isArray(key)) return step(node, key, false, create, leaf);
  const n = key.length;
  let cur = step(node, n, true, create, n === 0 ? leaf : null);
  for (let i = 0; i < n; i++) {
    if (cur === undefined || cur instanceof Entry) return undefined;
    cur = walk(cur, key[i], create, i === n - 1 ? leaf : null);
  }
  return cur;
}

function step(
  node: TNode,
  token: unknown,
  viaArr: boolean,
  create: boolean,
  leaf: ((parent: TNode, token: unknown, viaArr: boolean) => Entry) | null,
): Level {
  const found = child(node, token, viaArr);
  if (found !== undefined || !create) return found;
  const made = leaf !== null
    ? leaf(node, token, viaArr)
    : new TNode(node, token, viaArr);
  if (viaArr) (node.arr ??= new Map()).set(token as number, made);
  else (node.prim ??= new Map()).set(token, made);
  return made;
}

/** Removes a trie leaf and the levels it leaves empty. */
function prune(entry: Entry): void {
  let parent = entry.parent;
  let token = entry.token;
  let viaArr = entry.viaArr;
  while (parent !== null) {
    const map = viaArr ? parent.arr : parent.prim;
    map?.delete(token as never);
    if ((parent.prim?.size ?? 0) + (parent.arr?.size ?? 0) > 0) return;
    token = parent.token;
    viaArr = parent.viaArr;
    parent = parent.parent;
  }
}

/** set, bag and duplicate_bag. */
export class HashStore implements Store {
  #map = new Map<unknown, Entry>();
  #trie = new TNode(null, undefined, false);
  #head: Entry | null = null;
  #tail: Entry | null = null;
  #size = 0;
  #seq = 0;
  #fixed = 0;
  /** Entries deleted while fixed, kept findable until the last unfix. */
  #dead: Entry[] = [];

  constructor(readonly type: "set" | "bag" | "duplicate_bag") {}

  get size(): number {
    return this.#size;
  }

  #find(key: unknown): Entry | undefined {
    if (!Array.isArray(key)) return this.#map.get(key);
    // Flat tuples (no nested arrays): one Map per element, no recursion.
    const n = key.length;
    let node: TNode | Entry | undefined = this.#trie.arr?.get(n);
    for (let i = 0; i < n; i++) {
      if (node === undefined || node instanceof Entry) return undefined;
      const x = key[i];
      if (Array.isArray(x)) return this.#findDeep(key);
      node = node.prim?.get(x);
    }
    return node instanceof Entry ? node : undefined;
  }

  #findDeep(key: unknown): Entry | undefined {
    const e = walk(this.#trie, key, false, null);
    return e instanceof Entry ? e : undefined;
  }

  #live(key: unknown): Entry | undefined {
    const e = this.#find(key);
    return e === undefined || e.dead ? undefined : e;
  }

  canonicalKey(key: unknown): unknown {
    if (!Array.isArray(key)) return key;
    const e = this.#find(key);
    return e !== undefined ? e.key : freezeKey(key);
  }

  one(key: unknown): Rec | undefined {
    const e = this.#live(key);
    return e === undefined || this.type !== "set" ? undefined : e.value as Rec;
  }

  oneOut(key: unknown): Rec | undefined {
    const e = this.#live(key);
    if (e === undefined || this.type !== "set") return undefined;
    if (!e.frozen) {
      Object.freeze(e.value);
      e.frozen = true;
    }
    return e.value as Rec;
  }

  get(key: unknown): readonly Rec[] | undefined {
    const e = this.#live(key);
    if (e === undefined) return undefined;
    return this.type === "set" ? [e.value as Rec] : e.value as Rec[];
  }

  has(key: unknown): boolean {
    return this.#live(key) !== undefined;
  }

  /** The live entry for `key`, created (and linked last) if needed. */
  #entry(key: unknown, rec: Rec): [Entry, boolean] {
    let e = this.#find(key);
    if (e !== undefined && !e.dead) return [e, false];
    const value = this.type === "set" ? rec : [];
    if (!Array.isArray(key)) {
      e = new Entry(key, value, null, undefined, false);
      this.#map.set(key, e);
    } else {
      if (e !== undefined) prune(e); // a dead entry of a fixed table
      let made: Entry | undefined;
      walk(
        this.#trie,
        key,
        true,
        (parent, token, viaArr) =>
          made = new Entry(key, value, parent, token, viaArr),
      );
      e = made!;
    }
    e.seq = this.#seq++;
    e.prev = this.#tail;
    if (this.#tail === null) this.#head = e;
    else this.#tail.next = e;
    this.#tail = e;
    return [e, true];
  }

  insert(key: unknown, rec: Rec): void {
    const [e, created] = this.#entry(key, rec);
    if (this.type === "set") {
      e.value = rec;
      e.frozen = false;
      if (created) this.#size++;
      return;
    }
    const recs = e.value as Rec[];
    if (this.type === "bag") {
      for (const r of recs) if (sameTerm(r, rec)) return;
    }
    recs.push(rec);
    this.#size++;
  }

  replace(key: unknown, rec: Rec): void {
    const e = this.#live(key);
    if (e !== undefined) {
      e.value = rec;
      e.frozen = false;
    }
  }

  #remove(e: Entry): void {
    // Unlink, but keep e.next/e.prev: a walk (or a select continuation)
    // standing on e can still move on.
    if (e.prev === null) this.#head = e.next;
    else e.prev.next = e.next;
    if (e.next === null) this.#tail = e.prev;
    else e.next.prev = e.prev;
    e.dead = true;
    if (this.#fixed > 0) {
      this.#dead.push(e);
      return;
    }
    // Not fixed: the map (or trie) still holds e, so no look-up to check.
    if (e.parent === null) this.#map.delete(e.key);
    else this.#forget(e);
  }

  #forget(e: Entry): void {
    if (e.parent === null) {
      if (this.#map.get(e.key) === e) this.#map.delete(e.key);
    } else if (child(e.parent, e.token, e.viaArr) === e) {
      prune(e);
    }
  }

  deleteKey(key: unknown): readonly Rec[] | undefined {
    const e = this.#live(key);
    if (e === undefined) return undefined;
    const recs = this.type === "set" ? [e.value as Rec] : e.value as Rec[];
    this.#size -= recs.length;
    this.#remove(e);
    return recs;
  }

  deleteRecord(key: unknown, rec: Rec): number {
    const e = this.#live(key);
    if (e === undefined) return 0;
    if (this.type === "set") {
      if (!sameTerm(e.value, rec)) return 0;
      this.#size--;
      this.#remove(e);
      return 1;
    }
    const recs = e.value as Rec[];
    const kept = recs.filter((r) => !sameTerm(r, rec));
    const removed = recs.length - kept.length;
    if (removed === 0) return 0;
    this.#size -= removed;
    if (kept.length === 0) this.#remove(e);
    else e.value = kept;
    return removed;
  }

  clear(): void {
    if (this.#fixed > 0) {
      // Keep every key resolvable for next() until the last unfix.
      for (let e = this.#head; e !== null; e = e.next) this.#remove(e);
      this.#size = 0;
      return;
    }
    for (let e = this.#head; e !== null; e = e.next) e.dead = true;
    this.#map = new Map();
    this.#trie = new TNode(null, undefined, false);
    this.#head = this.#tail = null;
    this.#size = 0;
    this.#dead = [];
  }

  firstKey(): unknown {
    return this.#head?.key;
  }

  lastKey(): unknown {
    return this.#head?.key; // no order: last is first, as in OTP
  }

  nextKey(key: unknown): unknown {
    const e = this.#find(key);
    if (e === undefined || (e.dead && this.#fixed === 0)) return NOT_FOUND;
    let n = e.next;
    while (n !== null && n.dead) n = n.next;
    return n?.key;
  }

  prevKey(key: unknown): unknown {
    return this.nextKey(key); // no order: prev is next, as in OTP
  }

  forEach(fn: Visit, _reverse?: boolean, after?: Cursor): void {
    // A removed entry keeps its `next`, so a cursor on it still leads on.
    let e = after === undefined ? this.#head : (after as Entry).next;
    const set = this.type === "set";
    for (; e !== null; e = e.next) {
      if (e.dead) continue;
      const recs = set ? [e.value as Rec] : e.value as Rec[];
      if (fn(e.key, recs, e) === false) return;
    }
  }

  forPrefix(
    prefix: readonly unknown[],
    length: number,
    fn: Visit,
    reverse?: boolean,
    after?: Cursor,
  ): void {
    // No order to exploit: scan, keeping the keys that fit.
    this.forEach(
      (key, recs, cursor) => {
        if (!fitsPrefix(key, prefix, length)) return true;
        return fn(key, recs, cursor);
      },
      reverse,
      after,
    );
  }

  inOrder(keys: unknown[]): unknown[] {
    const seq = (k: unknown) => this.#live(k)?.seq ?? Infinity;
    return keys.map((k) => [seq(k), k] as const)
      .sort((a, b) => a[0] - b[0] || 0)
      .map(([, k]) => k);
  }

  fix(delta: 1 | -1): void {
    this.#fixed += delta;
    if (this.#fixed === 0 && this.#dead.length > 0) {
      for (const e of this.#dead) this.#forget(e);
      this.#dead = [];
    }
  }
}

function fitsPrefix(
  key: unknown,
  prefix: readonly unknown[],
  length: number,
): boolean {
  if (!Array.isArray(key) || key.length !== length) return false;
  for (let i = 0; i < prefix.length; i++) {
    if (compareTerms(key[i], prefix[i]) !== 0) return false;
  }
  return true;
}

// ------------------------------------------------------------ tree store --

/** ordered_set. */
export class TreeStore implements Store {
  #tree = new BTree<unknown, Rec>(compareTerms);

  get size(): number {
    return this.#tree.size;
  }

  canonicalKey(key: unknown): unknown {
    if (!Array.isArray(key)) return key;
    const stored = this.#tree.getKey(key);
    return stored !== undefined && sameTerm(stored, key)
      ? stored
      : freezeKey(key);
  }

  // Reads and deletes of something that cannot be a key (NaN, objects)
  // find nothing: the term order is not defined on them.
  one(key: unknown): Rec | undefined {
    return isKey(key) ? this.#tree.get(key) : undefined;
  }

  oneOut(key: unknown): Rec | undefined {
    const r = this.one(key);
    if (r !== undefined && !Object.isFrozen(r)) Object.freeze(r);
    return r;
  }

  get(key: unknown): readonly Rec[] | undefined {
    if (!isKey(key)) return undefined;
    const r = this.#tree.get(key);
    return r === undefined ? undefined : [r];
  }

  has(key: unknown): boolean {
    return isKey(key) && this.#tree.has(key);
  }

  insert(key: unknown, rec: Rec): void {
    this.#tree.set(key, rec);
  }

  replace(key: unknown, rec: Rec): void {
    this.#tree.set(key, rec);
  }

  deleteKey(key: unknown): readonly Rec[] | undefined {
    if (!isKey(key)) return undefined;
    const r = this.#tree.get(key);
    if (r === undefined) return undefined;
    this.#tree.delete(key);
    return [r];
  }

  deleteRecord(key: unknown, rec: Rec): number {
    if (!isKey(key)) return 0;
    const r = this.#tree.get(key);
    if (r === undefined || !sameTerm(r, rec)) return 0;
    this.#tree.delete(key);
    return 1;
  }

  clear(): void {
    this.#tree.clear();
  }

  firstKey(): unknown {
    return this.#tree.firstKey();
  }

  lastKey(): unknown {
    return this.#tree.lastKey();
  }

  nextKey(key: unknown): unknown {
    return isKey(key) ? this.#tree.nextKey(key) : NOT_FOUND;
  }

  prevKey(key: unknown): unknown {
    return isKey(key) ? this.#tree.prevKey(key) : NOT_FOUND;
  }

  forEach(fn: Visit, reverse?: boolean, after?: Cursor): void {
    // The cursor is the last key: the tree finds its successor even if it
    // was deleted.
    const bounds = after === undefined
      ? {}
      : reverse
      ? { hi: after, hiInclusive: false }
      : { lo: after, loInclusive: false };
    this.#tree.forRange((k, r) => fn(k, [r], k), { ...bounds, reverse });
  }

  forPrefix(
    prefix: readonly unknown[],
    length: number,
    fn: Visit,
    reverse?: boolean,
    after?: Cursor,
  ): void {
    const lo: unknown[] = [...prefix];
    const hi: unknown[] = [...prefix];
    while (lo.length < length) {
      lo.push(LOWEST);
      hi.push(HIGHEST);
    }
    this.#tree.forRange((k, r) => fn(k, [r], k), {
      lo: !reverse && after !== undefined ? after : lo,
      loInclusive: reverse || after === undefined,
      hi: reverse && after !== undefined ? after : hi,
      hiInclusive: !reverse || after === undefined,
      reverse,
    });
  }

  inOrder(keys: unknown[]): unknown[] {
    return [...keys].sort(compareTerms);
  }

  fix(_delta: 1 | -1): void {
    // nextKey works from any key: nothing to keep.
  }
}
