// Where a table's records live. Two stores behind one interface:
//
// - HashStore (set, bag, duplicate_bag): keys compare with =:= (1 and 1n
//   differ). Primitive, pid and ref keys go in a Map; array keys go in a
//   KeyMap (_key_map.ts: a trie, one level per element, the tracker's too),
//   so a tuple key like ["stream", 42] costs a short walk and no string
//   building (string-joined keys measured 500-970 ns per lookup here). One
//   Map holds every key in insertion order (array keys by their canonical
//   copy), so first/next walk it with a cached iterator.
// - TreeStore (ordered_set): a B+ tree ordered by the term order, where keys
//   are equal when they compare equal (1 and 1n are one key).
//
// Records are stored as private copies (see ets.ts on copying); array keys
// are deep-frozen copies. Records are frozen when stored (a lookup then
// hands one out without touching it), except on Bun, where they are frozen
// when first handed out (FREEZE_ON_READ says why).

import { BTree } from "./_btree.ts";
import { KeyMap } from "./_key_map.ts";
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
  /** A stored record on its way out: frozen if it is not (see `out`). */
  handOut(r: Rec): Rec;
  has(key: unknown): boolean;
  /** Inserts with the type's rules (set/ordered_set replace; bag skips an identical record; duplicate_bag appends). */
  insert(key: unknown, rec: Rec): void;
  /** Replaces the one record of `key` (set and ordered_set only). */
  replace(key: unknown, rec: Rec): void;
  /**
   * set and ordered_set: adds `incr` to the integer number at `pos` (not
   * the key's) of the record of `key` and returns the new value; or
   * undefined, changing nothing, if the key is absent, `pos` is outside the
   * record, the field is not an integer number or the sum passes 2^53 (the
   * caller's general path then says why).
   */
  addToField(key: unknown, pos: number, incr: number): number | undefined;
  /** Removes every record of `key`; returns them (undefined if none). */
  deleteKey(key: unknown): readonly Rec[] | undefined;
  /** Removes every record of `key`, returning nothing (no array to make). */
  remove(key: unknown): void;
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
  /** The key to put in a stored record: an array key deep-frozen (a copy unless frozen already; a hash store swaps in its own copy on insert). */
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

/**
 * Whether records are frozen the first time they are handed out rather
 * than when stored. Stores freeze on the way in (a lookup then touches
 * nothing but the index), except on JavaScriptCore (Bun), where freezing an
 * array costs ~250 ns (V8: ~35) and a frozen array's elements read ~3x
 * slower: there, freezing on the way in made inserts and full scans 2x
 * slower. A record not yet handed out is extensible; one handed out is
 * frozen (`Object.isExtensible` is the cheap test on both engines).
 */
export const FREEZE_ON_READ: boolean = typeof navigator !== "undefined" &&
  /\bBun\//.test(navigator.userAgent ?? "");

/** A stored record on its way out: frozen (once, shallow), then shared. */
export function out(r: Rec): Rec {
  if (FREEZE_ON_READ && Object.isExtensible(r)) Object.freeze(r);
  return r;
}

/** A record on its way in: frozen unless FREEZE_ON_READ. */
function stored(rec: Rec): Rec {
  return FREEZE_ON_READ ? rec : Object.freeze(rec);
}

/** nextKey/prevKey of a key the store does not know. */
export const NOT_FOUND: unique symbol = Symbol("key not found");

/**
 * A copy of a (frozen) record, as a packed array of its exact size: slice()
 * of a frozen array takes a slow path on V8, and push() over-allocates.
 */
export function copyRec(r: Rec): unknown[] {
  switch (r.length) {
    case 2:
      return [r[0], r[1]];
    case 3:
      return [r[0], r[1], r[2]];
    default:
      return [...r];
  }
}

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

/**
 * A key deleted from a fixed hash table: kept in place (so walks standing
 * on it go on, and its position is kept) until the last unfix.
 */
const TOMB: unique symbol = Symbol("deleted key");

/** set: the record; bag/duplicate_bag: the records, oldest first. */
type Val = Rec | Rec[];

/**
 * In the trie, an array key deleted while the table is fixed: its
 * canonical key (still the key of a TOMB in the table's Map).
 */
class Tomb {
  constructor(readonly key: unknown) {}
}

/** A cached walk: a Map iterator that has just yielded `last`. */
interface Walk {
  last: unknown;
  it: Iterator<[unknown, Val | typeof TOMB]>;
}

/** The cursor of a forEach: the last key visited and, once, the iterator. */
class Pos {
  key: unknown = undefined;
  constructor(public it: Iterator<[unknown, Val | typeof TOMB]> | null) {}
}

/** How many first/next walks keep their iterator (others start over). */
const WALKS = 4;

/**
 * set, bag and duplicate_bag.
 *
 * One `Map` holds every key in insertion order, with its value (the
 * frozen record of a set, or the records of a bag): a primitive (or pid,
 * ref) key as itself, an array key as its canonical (deep-frozen) copy,
 * which the stored records share. Array keys are also in a KeyMap with
 * their value, where a lookup finds them by value, not by identity.
 * A lookup touches the maps and nothing else: records are frozen when
 * stored, so handing one out needs no check.
 * first/next walk with a cached Map iterator (iterators survive deletes and
 * see inserts); a select continuation keeps the iterator it stopped with.
 */
export class HashStore implements Store {
  #map = new Map<unknown, Val | typeof TOMB>();
  /** Array keys and their values, by value (Erlang's =:=). */
  #trie = new KeyMap<Val | Tomb>();
  readonly #set: boolean;
  readonly #bag: boolean;
  /** Records (bags); for a set, the Map's size less #tombs. */
  #count = 0;
  /** TOMBs in #map (and Tombs in #trie). */
  #tombs = 0;
  /**
   * Stored records not frozen, where records are frozen when stored: those
   * `updateCounter` made (it then changes them in place until one is handed
   * out). While there are none, nothing handed out needs a check.
   */
  #thawed = 0;
  #fixed = 0;
  /** Map keys deleted while fixed (TOMB), removed at the last unfix. */
  #dead: unknown[] = [];
  #walks: Walk[] = [];
  /** Insertion position of each key, built on first need (inOrder). */
  #order: Map<unknown, number> | null = null;
  #seq = 0;

  /** `keyPos`: where a record's key is (an array key is put there in canonical form). */
  constructor(
    readonly type: "set" | "bag" | "duplicate_bag",
    readonly keyPos: number,
  ) {
    this.#set = type === "set";
    this.#bag = type === "bag";
  }

  get size(): number {
    return this.#set ? this.#map.size - this.#tombs : this.#count;
  }

  /** The live value of `key`, or undefined. */
  #value(key: unknown): Val | undefined {
    if (!Array.isArray(key)) {
      const v = this.#map.get(key);
      return v === TOMB ? undefined : v;
    }
    const v = this.#trie.get(key);
    // Only a fixed table with deletions has Tombs: the common lookup does
    // not touch the value to tell.
    return this.#tombs !== 0 && v instanceof Tomb ? undefined : v as Val;
  }

  /** The canonical key of a live value or a Tomb in the trie. */
  #canonical(v: Val | Tomb): unknown {
    if (v instanceof Tomb) return v.key;
    return this.#set ? (v as Rec)[this.keyPos] : (v as Rec[])[0][this.keyPos];
  }

  canonicalKey(key: unknown): unknown {
    // insert() puts the canonical copy of an array key in the record.
    return key;
  }

  one(key: unknown): Rec | undefined {
    if (!this.#set) return undefined;
    if (Array.isArray(key)) return this.#value(key) as Rec | undefined;
    const v = this.#map.get(key);
    return v === TOMB ? undefined : v as Rec | undefined;
  }

  oneOut(key: unknown): Rec | undefined {
    const r = this.one(key);
    return r === undefined ? r : this.handOut(r);
  }

  handOut(r: Rec): Rec {
    if ((FREEZE_ON_READ || this.#thawed !== 0) && Object.isExtensible(r)) {
      Object.freeze(r);
      if (!FREEZE_ON_READ) this.#thawed--;
    }
    return r;
  }

  /** A stored record leaves the table (replaced or deleted): counted out if thawed. */
  #dropped(r: Rec): void {
    if (!FREEZE_ON_READ && Object.isExtensible(r)) {
      Object.freeze(r);
      this.#thawed--;
    }
  }

  get(key: unknown): readonly Rec[] | undefined {
    const v = this.#value(key);
    if (v === undefined) return undefined;
    return this.#set ? [v as Rec] : v as Rec[];
  }

  has(key: unknown): boolean {
    return this.#value(key) !== undefined;
  }

  /** A new key went into the Map. */
  #added(mapKey: unknown): void {
    if (this.#order !== null) this.#order.set(mapKey, this.#seq++);
  }

  insert(key: unknown, rec: Rec): void {
    const map = this.#map;
    if (!Array.isArray(key)) {
      stored(rec);
      if (this.#set && this.#tombs === 0 && this.#thawed === 0) {
        // The common case: one Map operation.
        const n = map.size;
        map.set(key, rec);
        if (map.size !== n) this.#added(key);
        return;
      }
      const v = map.get(key);
      if (v === undefined || v === TOMB) {
        if (v === TOMB) this.#revive(key);
        map.set(key, this.#set ? rec : [rec]);
        this.#count++;
        this.#added(key);
      } else if (this.#set) {
        if (this.#thawed !== 0) this.#dropped(v as Rec);
        map.set(key, rec);
      } else this.#addTo(v as Rec[], rec);
      return;
    }
    const v = this.#trie.get(key);
    if (v === undefined || v instanceof Tomb) {
      let canon: unknown;
      if (v === undefined) canon = freezeKey(key);
      else {
        canon = v.key;
        this.#revive(canon);
      }
      (rec as unknown[])[this.keyPos] = canon;
      stored(rec);
      const val = this.#set ? rec : [rec];
      this.#trie.set(key, val);
      map.set(canon, val);
      this.#count++;
      this.#added(canon);
      return;
    }
    const canon = this.#canonical(v);
    (rec as unknown[])[this.keyPos] = canon;
    stored(rec);
    if (this.#set) {
      if (this.#thawed !== 0) this.#dropped(v as Rec);
      this.#trie.set(key, rec);
      map.set(canon, rec);
    } else this.#addTo(v as Rec[], rec);
  }

  /**
   * A key deleted while fixed comes back: it leaves its old place (a walk
   * there starts over from its new one) and goes last, as a new key.
   */
  #revive(mapKey: unknown): void {
    this.#map.delete(mapKey);
    this.#order?.delete(mapKey);
    this.#tombs--;
    if (this.#walks.length > 0) this.#forgetWalk(mapKey);
  }

  #addTo(recs: Rec[], rec: Rec): void {
    if (this.#bag) {
      for (const r of recs) if (sameTerm(r, rec)) return;
    }
    recs.push(rec);
    this.#count++;
  }

  /** Puts a new value for a present key (both where it is kept). */
  #put(key: unknown, canon: unknown, v: Val): void {
    if (Array.isArray(key)) {
      this.#trie.set(key, v);
    }
    this.#map.set(canon, v);
  }

  replace(key: unknown, rec: Rec): void {
    if (this.#value(key) !== undefined) this.insert(key, rec);
  }

  addToField(key: unknown, pos: number, incr: number): number | undefined {
    if (!this.#set) return undefined;
    const r = this.#value(key) as Rec | undefined;
    if (r === undefined) return undefined;
    const n = r.length;
    if (pos >= n) return undefined;
    const field = r[pos];
    if (typeof field !== "number" || !Number.isInteger(field)) return undefined;
    const next = field + incr;
    if (!Number.isSafeInteger(next)) return undefined;
    // In place if no reader holds the record (not frozen); else a new one.
    if (Object.isExtensible(r)) {
      (r as unknown[])[pos] = next;
      return next;
    }
    // Left unfrozen (counted) where records are frozen when stored: the
    // next updates change it in place, until it is handed out.
    const copy = copyRec(r);
    copy[pos] = next;
    if (!FREEZE_ON_READ) this.#thawed++;
    this.#put(key, r[this.keyPos], copy);
    return next;
  }

  /**
   * Removes a present key whose Map key is `mapKey` (its canonical copy,
   * for an array key).
   */
  #remove(key: unknown, mapKey: unknown): void {
    if (this.#fixed > 0) {
      // Kept in place until the last unfix: walks standing on it go on.
      if (Array.isArray(key)) {
        this.#trie.set(key, new Tomb(mapKey));
      }
      this.#map.set(mapKey, TOMB);
      this.#tombs++;
      this.#dead.push(mapKey);
      return;
    }
    if (Array.isArray(key)) this.#trie.delete(key);
    this.#map.delete(mapKey);
    this.#order?.delete(mapKey);
    if (this.#walks.length > 0) this.#forgetWalk(mapKey);
  }

  /** Drops the cached walks that stand on `mapKey` (deleted). */
  #forgetWalk(mapKey: unknown): void {
    this.#walks = this.#walks.filter((w) => w.last !== mapKey);
  }

  remove(key: unknown): void {
    if (
      this.#set && this.#fixed === 0 && this.#thawed === 0 &&
      !Array.isArray(key)
    ) {
      // The common case: one Map operation.
      if (this.#map.delete(key)) {
        if (this.#order !== null) this.#order.delete(key);
        if (this.#walks.length > 0) this.#forgetWalk(key);
      }
    } else this.deleteKey(key);
  }

  deleteKey(key: unknown): readonly Rec[] | undefined {
    if (!Array.isArray(key) && this.#set && this.#fixed === 0) {
      // The common case: one Map look-up for the record, one to delete.
      const r = this.#map.get(key) as Rec | undefined;
      if (r === undefined) return undefined;
      if (this.#thawed !== 0) this.#dropped(r);
      this.#map.delete(key);
      if (this.#order !== null) this.#order.delete(key);
      if (this.#walks.length > 0) this.#forgetWalk(key);
      return [r];
    }
    const v = this.#value(key);
    if (v === undefined) return undefined;
    const recs = this.#set ? [v as Rec] : v as Rec[];
    if (this.#set && this.#thawed !== 0) this.#dropped(v as Rec);
    this.#count -= recs.length;
    this.#remove(key, Array.isArray(key) ? this.#canonical(v) : key);
    return recs;
  }

  deleteRecord(key: unknown, rec: Rec): number {
    const v = this.#value(key);
    if (v === undefined) return 0;
    const mapKey = Array.isArray(key) ? this.#canonical(v) : key;
    if (this.#set) {
      if (!sameTerm(v, rec)) return 0;
      if (this.#thawed !== 0) this.#dropped(v as Rec);
      this.#count--;
      this.#remove(key, mapKey);
      return 1;
    }
    const recs = v as Rec[];
    const kept = recs.filter((r) => !sameTerm(r, rec));
    const removed = recs.length - kept.length;
    if (removed === 0) return 0;
    this.#count -= removed;
    if (kept.length === 0) this.#remove(key, mapKey);
    else this.#put(key, mapKey, kept);
    return removed;
  }

  clear(): void {
    if (this.#fixed > 0) {
      // Keep every key resolvable for next() until the last unfix.
      for (const [k, v] of this.#map) {
        if (v !== TOMB) this.#remove(k, k);
      }
      this.#count = 0;
      this.#thawed = 0;
      return;
    }
    this.#map = new Map();
    this.#trie.clear();
    this.#count = 0;
    this.#tombs = 0;
    this.#thawed = 0;
    this.#dead = [];
    this.#walks = [];
    this.#order = null;
  }

  /** The next live key from iterator `it`, recorded in `walk`; or undefined (walk dropped). */
  #advance(walk: Walk): unknown {
    for (;;) {
      const r = walk.it.next();
      if (r.done) {
        // A finished iterator stays finished: never reuse it.
        const i = this.#walks.indexOf(walk);
        if (i >= 0) this.#walks.splice(i, 1);
        return undefined;
      }
      const [k, v] = r.value;
      if (v === TOMB) continue;
      walk.last = k;
      return k;
    }
  }

  #remember(walk: Walk): void {
    if (this.#walks.length >= WALKS) this.#walks.shift();
    this.#walks.push(walk);
  }

  firstKey(): unknown {
    const walk: Walk = { last: undefined, it: this.#map.entries() };
    const k = this.#advance(walk);
    if (k !== undefined) this.#remember(walk);
    return k;
  }

  lastKey(): unknown {
    return this.firstKey(); // no order: last is first, as in OTP
  }

  /** The Map key of `key` (a deleted key is still there while fixed), or NOT_FOUND. */
  #mapKey(key: unknown): unknown {
    if (!Array.isArray(key)) return this.#map.has(key) ? key : NOT_FOUND;
    const v = this.#trie.get(key);
    return v === undefined ? NOT_FOUND : this.#canonical(v);
  }

  nextKey(key: unknown): unknown {
    const mapKey = this.#mapKey(key);
    if (mapKey === NOT_FOUND) return NOT_FOUND;
    let walk = this.#walks.find((w) => w.last === mapKey);
    if (walk === undefined) {
      // Start over, up to the key: O(n) once per walk that is not cached.
      const it = this.#map.entries();
      for (;;) {
        const r = it.next();
        if (r.done) return NOT_FOUND; // not reached: the Map has the key
        if (r.value[0] === mapKey) break;
      }
      walk = { last: mapKey, it };
      this.#remember(walk);
    }
    return this.#advance(walk);
  }

  prevKey(key: unknown): unknown {
    return this.nextKey(key); // no order: prev is next, as in OTP
  }

  forEach(fn: Visit, _reverse?: boolean, after?: Cursor): void {
    let it: Iterator<[unknown, Val | typeof TOMB]>;
    if (after === undefined) it = this.#map.entries();
    else {
      // The iterator a continuation stopped with, the first time; then
      // again from the start, up to its key.
      const c = after as Pos;
      if (c.it !== null) {
        it = c.it;
        c.it = null;
      } else {
        it = this.#map.entries();
        for (;;) {
          const r = it.next();
          if (r.done) return; // its key is gone (not fixed): nothing to say
          if (r.value[0] === c.key) break;
        }
      }
    }
    const pos = new Pos(it);
    const set = this.#set;
    for (;;) {
      const r = it.next();
      if (r.done) return;
      const k = r.value[0];
      const v = r.value[1];
      pos.key = k;
      if (v === TOMB) continue;
      if (fn(k, set ? [v as Rec] : v as Rec[], pos) === false) return;
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
    if (this.#order === null) {
      // Kept up to date from now on: a table selected by several keys once
      // is likely to be again.
      const order = new Map<unknown, number>();
      for (const k of this.#map.keys()) order.set(k, this.#seq++);
      this.#order = order;
    }
    const order = this.#order;
    const seq = (k: unknown) => {
      if (this.#value(k) === undefined) return Infinity;
      return order.get(this.#mapKey(k)) ?? Infinity;
    };
    return keys.map((k) => [seq(k), k] as const)
      .sort((a, b) => a[0] - b[0] || 0)
      .map(([, k]) => k);
  }

  fix(delta: 1 | -1): void {
    this.#fixed += delta;
    if (this.#fixed === 0 && this.#dead.length > 0) {
      const map = this.#map;
      for (const k of this.#dead) {
        if (map.get(k) !== TOMB) continue; // inserted again since
        if (Array.isArray(k)) this.#trie.delete(k);
        map.delete(k);
        this.#order?.delete(k);
      }
      this.#dead = [];
      this.#tombs = 0;
      this.#walks = this.#walks.filter((w) => map.has(w.last));
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

/** Index keys of the keys that have none (arrays, pids, refs). */
const NO_INDEX: unique symbol = Symbol("no index key");

/**
 * The key of an ordered_set's hash index: equal (==) keys get the same one.
 * Numbers and strings, booleans and null are their own; a bigint that a
 * number equals becomes that number (1n == 1). Arrays, pids and refs have
 * none: the tree alone finds them.
 */
function indexKey(key: unknown): unknown {
  switch (typeof key) {
    case "number":
    case "string":
    case "boolean":
      return key;
    case "bigint": {
      const n = Number(key);
      return Number.isFinite(n) && BigInt(n) === key ? n : key;
    }
    default:
      return key === null ? null : NO_INDEX;
  }
}

/**
 * The index key of an element of a tuple key: as indexKey, NO_INDEX for
 * NaN, arrays, pids and refs.
 */
function elementKey(e: unknown): unknown {
  switch (typeof e) {
    case "number":
      return e === e ? e : NO_INDEX;
    case "string":
    case "boolean":
      return e;
    case "bigint": {
      const n = Number(e);
      return Number.isFinite(n) && BigInt(n) === e ? n : e;
    }
    default:
      return e === null ? null : NO_INDEX;
  }
}

/** Whether a tuple key can be in a TupleIndex. */
function flatTuple(key: readonly unknown[]): boolean {
  if (key.length === 0) return false;
  for (let i = 0; i < key.length; i++) {
    if (elementKey(key[i]) === NO_INDEX) return false;
  }
  return true;
}

/** A level of a TupleIndex: element index key -> next level, or record. */
type TupleLevel = Map<unknown, unknown>;

/**
 * The ordered_set hash index of tuple keys (arrays whose elements are
 * numbers, bigints, strings, booleans or null): Maps nested by length, then
 * element by element (by elementKey, so equal (==) keys meet), down to the
 * record. Levels left empty by a delete go.
 */
class TupleIndex {
  #root: TupleLevel = new Map();
  /** Number of records. */
  size = 0;
  // The path of the last delete(), kept to allocate nothing.
  #path: TupleLevel[] = [];

  /** The record of `key`, or undefined if it is not in the index. */
  get(key: readonly unknown[]): Rec | undefined {
    const n = key.length;
    let m = this.#root.get(n) as TupleLevel | undefined;
    for (let i = 0; i < n && m !== undefined; i++) {
      m = m.get(elementKey(key[i])) as TupleLevel | undefined;
    }
    return m as Rec | undefined;
  }

  /** Indexes `rec` under `key` (a flatTuple). */
  set(key: readonly unknown[], rec: Rec): void {
    const n = key.length;
    let m: TupleLevel = this.#root;
    let k: unknown = n;
    for (let i = 0; i < n; i++) {
      let next = m.get(k) as TupleLevel | undefined;
      if (next === undefined) m.set(k, next = new Map());
      m = next;
      k = elementKey(key[i]);
    }
    if (!m.has(k)) this.size++;
    m.set(k, rec);
  }

  /** Replaces the record of `key` if it is in the index. */
  replace(key: readonly unknown[], rec: Rec): void {
    const n = key.length;
    let m = this.#root.get(n) as TupleLevel | undefined;
    for (let i = 0; i < n - 1 && m !== undefined; i++) {
      m = m.get(elementKey(key[i])) as TupleLevel | undefined;
    }
    if (m === undefined || n === 0) return;
    const k = elementKey(key[n - 1]);
    if (m.has(k)) m.set(k, rec);
  }

  /** Drops `key` from the index, and the levels it leaves empty. */
  delete(key: readonly unknown[]): void {
    const n = key.length;
    const path = this.#path;
    let m: TupleLevel | undefined = this.#root;
    let k: unknown = n;
    for (let i = 0; i < n; i++) {
      path[i] = m;
      m = m.get(k) as TupleLevel | undefined;
      if (m === undefined) return;
      k = elementKey(key[i]);
    }
    if (n === 0 || !m.delete(k)) return;
    this.size--;
    // Up the path, dropping empty levels.
    for (let i = n - 1; i >= 0 && m.size === 0; i--) {
      const parent: TupleLevel = path[i];
      parent.delete(i === 0 ? n : elementKey(key[i - 1]));
      m = parent;
    }
    path.fill(this.#root, 0, n);
  }
}

/**
 * ordered_set: a B+ tree in term order, and beside it a hash index (a Map
 * from index key to record) that makes a lookup of a number, string,
 * boolean or null key one `Map.get` instead of a descent through ~4 levels
 * of the tree (~3 cache misses each on 1M rows), and a TupleIndex that
 * makes a lookup of a tuple of those a few `Map.get`s (a descent there
 * compares keys that are arrays, each one a cache miss more: ~4 us a
 * lookup on 1M rows).
 *
 * The index is filled by lookups (a key's first lookup descends the tree
 * and adds it), not by inserts: an insert pays nothing for it while the
 * index is empty, and one `Map` operation after. Filled by inserts, it
 * measured ~1.5x slower inserts and 2x slower scans in key order (the GC
 * then lays records out in insertion order rather than in the tree's). It
 * costs ~30-40 bytes a key looked up.
 */
export class TreeStore implements Store {
  // compareTerms orders numbers as `<` does: the tree compares them inline.
  #tree = new BTree<unknown, Rec>(compareTerms, undefined, true);
  /** Index key -> record; with FREEZE_ON_READ, frozen records only. */
  #index = new Map<unknown, Rec>();
  /**
   * FREEZE_ON_READ only: index key -> a record that may not be frozen yet
   * (found by member or updateCounter, or inserted over a key looked up).
   * Kept apart so that a lookup that hits #index hands its record out
   * without touching it: checking whether it is frozen reads the record,
   * a cache miss that measured 40-80 ns a lookup on 1M rows.
   */
  #drafts = new Map<unknown, Rec>();
  /** Tuple keys -> record; with FREEZE_ON_READ, frozen records only. */
  #tuples = new TupleIndex();

  /** `keyPos`: where a record's key is (to replace a record, keeping its key). */
  constructor(readonly keyPos: number) {}

  get size(): number {
    return this.#tree.size;
  }

  canonicalKey(key: unknown): unknown {
    // A frozen copy, not the stored key of an equal one: that would cost a
    // descent of the tree, and set() replaces the stored key anyway.
    return freezeKey(key);
  }

  // Reads and deletes of something that cannot be a key (NaN, objects)
  // find nothing: the term order is not defined on them.
  one(key: unknown): Rec | undefined {
    const ik = indexKey(key);
    if (ik === NO_INDEX) return this.#other(key, false);
    const r = this.#index.get(ik);
    if (r !== undefined || ik !== ik) return r; // NaN: never a key
    if (FREEZE_ON_READ) {
      const d = this.#drafts.get(ik);
      if (d !== undefined) return d;
    }
    const found = this.#tree.get(key);
    if (found !== undefined) {
      if (FREEZE_ON_READ && Object.isExtensible(found)) {
        this.#drafts.set(ik, found);
      } else this.#index.set(ik, found);
    }
    return found;
  }

  oneOut(key: unknown): Rec | undefined {
    // Stored records are frozen already, unless FREEZE_ON_READ.
    if (!FREEZE_ON_READ) return this.one(key);
    const ik = indexKey(key);
    if (ik === NO_INDEX) return this.#other(key, true);
    const r = this.#index.get(ik);
    if (r !== undefined || ik !== ik) return r;
    // Not handed out through the index yet: frozen now, indexed from now on.
    let found = this.#drafts.get(ik);
    if (found !== undefined) this.#drafts.delete(ik);
    else {
      found = this.#tree.get(key);
      if (found === undefined) return undefined;
    }
    out(found);
    this.#index.set(ik, found);
    return found;
  }

  handOut(r: Rec): Rec {
    return out(r);
  }

  /**
   * one/oneOut (`handOut`: frozen) of a key with no index key: a tuple is
   * looked up in #tuples first, and added to it when the tree finds it.
   */
  #other(key: unknown, handOut: boolean): Rec | undefined {
    const tuples = this.#tuples;
    const tuple = Array.isArray(key);
    if (tuple && tuples.size !== 0) {
      const r = tuples.get(key);
      if (r !== undefined) return r;
    }
    if (!isKey(key)) return undefined;
    const found = this.#tree.get(key);
    if (found === undefined) return undefined;
    if (handOut) out(found);
    if (
      tuple && (!FREEZE_ON_READ || !Object.isExtensible(found)) &&
      flatTuple(key)
    ) {
      tuples.set(key, found);
    }
    return found;
  }

  get(key: unknown): readonly Rec[] | undefined {
    const r = this.one(key);
    return r === undefined ? undefined : [r];
  }

  has(key: unknown): boolean {
    return this.one(key) !== undefined;
  }

  insert(key: unknown, rec: Rec): void {
    stored(rec);
    this.#tree.set(key, rec);
    // Keep the indexes right: only keys looked up are in them.
    const index = this.#index;
    if (index.size !== 0 || this.#drafts.size !== 0) {
      const ik = indexKey(key);
      if (ik !== NO_INDEX) {
        if (!FREEZE_ON_READ) {
          if (index.has(ik)) index.set(ik, rec);
        } else if (index.delete(ik) || this.#drafts.has(ik)) {
          this.#drafts.set(ik, rec); // not frozen
        }
        return;
      }
    }
    if (this.#tuples.size !== 0 && Array.isArray(key)) {
      if (FREEZE_ON_READ) this.#tuples.delete(key); // rec is not frozen
      else this.#tuples.replace(key, rec);
    }
  }

  /** Drops `key` from the index. */
  #unindex(key: unknown): void {
    if (this.#index.size !== 0 || this.#drafts.size !== 0) {
      const ik = indexKey(key);
      if (ik !== NO_INDEX) {
        this.#index.delete(ik);
        this.#drafts.delete(ik);
        return;
      }
    }
    if (this.#tuples.size !== 0 && Array.isArray(key)) this.#tuples.delete(key);
  }

  replace(key: unknown, rec: Rec): void {
    this.insert(key, rec);
  }

  addToField(key: unknown, pos: number, incr: number): number | undefined {
    const r = this.one(key);
    if (r === undefined || pos >= r.length) return undefined;
    const field = r[pos];
    if (typeof field !== "number" || !Number.isInteger(field)) return undefined;
    const next = field + incr;
    if (!Number.isSafeInteger(next)) return undefined;
    // In place if no reader holds the record (not frozen); else a new one,
    // under the stored key.
    if (Object.isExtensible(r)) {
      (r as unknown[])[pos] = next;
      return next;
    }
    const copy = copyRec(r);
    copy[pos] = next;
    this.insert(r[this.keyPos], copy);
    return next;
  }

  deleteKey(key: unknown): readonly Rec[] | undefined {
    if (!isKey(key)) return undefined;
    const r = this.#tree.get(key);
    if (r === undefined) return undefined;
    this.#tree.delete(key);
    this.#unindex(key);
    return [r];
  }

  remove(key: unknown): void {
    if (isKey(key) && this.#tree.delete(key)) this.#unindex(key);
  }

  deleteRecord(key: unknown, rec: Rec): number {
    const r = isKey(key) ? this.#tree.get(key) : undefined;
    if (r === undefined || !sameTerm(r, rec)) return 0;
    this.deleteKey(key);
    return 1;
  }

  clear(): void {
    this.#tree.clear();
    this.#index = new Map();
    this.#drafts = new Map();
    this.#tuples = new TupleIndex();
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

  // forEach and forPrefix hand `fn` one array for every record of a walk,
  // set to the record before each call (a new [r] per record measured ~25%
  // of a prefix select on Bun): every caller reads it during the call only.
  forEach(fn: Visit, reverse?: boolean, after?: Cursor): void {
    // The cursor is the last key: the tree finds its successor even if it
    // was deleted.
    const bounds = after === undefined
      ? {}
      : reverse
      ? { hi: after, hiInclusive: false }
      : { lo: after, loInclusive: false };
    const one: Rec[] = [];
    this.#tree.forRange((k, r) => {
      one[0] = r;
      return fn(k, one, k);
    }, { ...bounds, reverse });
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
    const one: Rec[] = [];
    this.#tree.forRange((k, r) => {
      one[0] = r;
      return fn(k, one, k);
    }, {
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
