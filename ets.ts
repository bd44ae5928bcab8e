/**
 * ETS-like tables: shared, in-memory tables of records, owned by a process,
 * as Erlang's `ets`. A table outlives any one reader, is read without
 * messages, and, with an heir, outlives its owner.
 *
 * ## Tables and records
 * {@linkcode create} makes a table owned by the calling process. A record
 * is an array (a tuple); the element at `keyPos` (0-based, default 0) is its
 * key.
 *
 * | type | per key | order of first/next, toList, select |
 * |---|---|---|
 * | `"set"` (default) | one record; insert replaces | insertion order |
 * | `"ordered_set"` | one record; insert replaces | the term order below |
 * | `"bag"` | many records, no two identical; oldest first | insertion order of keys |
 * | `"duplicate_bag"` | many records, duplicates kept | insertion order of keys |
 *
 * ## Keys
 * Keys are numbers (not NaN), bigints, strings, booleans, `null`, pids,
 * refs, and arrays of keys ("tuples", compared by value, nested freely).
 * `"__proto__"` and other odd strings are ordinary keys.
 * - In `set`, `bag` and `duplicate_bag`, keys are the same when they are
 *   the same type and value (Erlang's `=:=`): `1` and `1n` are two keys, as
 *   `1` and `1.0` in Erlang.
 * - In `ordered_set`, keys are the same when they compare equal (Erlang's
 *   `==`): `1` and `1n` are one key, and inserting under `1n` over `1`
 *   replaces the record and stores the key `1n`.
 * - The term order: numbers and bigints (by value) < `null` < `false` <
 *   `true` < refs < pids (by creation) < arrays (by length, then element by
 *   element, as Erlang tuples) < strings (by UTF-16 code units, as `<`).
 *   Strings come after arrays as Erlang's binaries come after tuples
 *   (Elixir strings and most JSON data are binaries there). Differs from
 *   OTP on purpose: strings compare by UTF-16 code units (JS's `<`), not by
 *   their UTF-8 bytes; the two orders differ only between code points above
 *   U+FFFF and U+E000..U+FFFF.
 *
 * ## Copying and freezing
 * {@linkcode Table.insert} stores a copy of the record, so the array you
 * pass stays yours. Records come out (from `lookup`, `select`, `toList`...)
 * frozen and shared: no copy per read, and no way to change the table
 * through them (in strict code, assigning to one throws a `TypeError`); copy
 * one (`[...record]`) to change it and insert it again. The table freezes
 * its copy when it stores it (on Bun: the first time it hands it out), and
 * never changes a frozen record in place: it replaces it. Freezing is
 * shallow: objects inside records are shared, and must be treated as
 * immutable. Array keys are deep-copied and frozen.
 *
 * Why: copying every record out (Erlang's copy-out) measured 3.8-4.4x a
 * plain `Map.get` per lookup. Freezing on the way in costs ~40 ns per
 * insert on V8, and makes a lookup one `Map.get` (an ordered_set keeps a
 * hash index beside its tree): nothing else is touched to hand the record
 * out. On Bun, freezing costs ~250 ns and frozen arrays read ~3x slower, so
 * records are frozen on first read there.
 *
 * ## Access and ownership
 * `access` is checked against the calling process (`self()`):
 * `"public"`: anyone reads and writes; `"protected"` (default): anyone reads,
 * the owner writes; `"private"`: the owner only. Only the owner may
 * {@linkcode Table.giveAway} the table or {@linkcode Table.setHeir}.
 * When the owner exits, the table goes to its live heir, which gets
 * `["ETS-TRANSFER", table, oldOwner, heirData]` before the owner's EXIT and
 * DOWN go out; with no live heir, the table is destroyed and its name freed.
 * A dead process's leftover code may still read tables, but every write,
 * `create`, `destroy`, `giveAway`, `setHeir` and `safeFixtable` from it
 * throws an `ExitError` with its exit reason: a dead process owns and
 * changes nothing.
 *
 * ## Patterns and match specs
 * A pattern is a value in which the string `"_"` matches anything and
 * `"$0"`, `"$1"`, ... are variables (a repeated variable must match the same
 * value); arrays match element by element, plain objects match objects that
 * have those keys. A match spec is a list of clauses
 * `[pattern, guards, body]`: for each record, the first clause whose pattern
 * matches and whose guards are all `true` gives the value of its last body
 * expression. Expressions: `"$N"`, `"$_"` (the record), `"$$"` (all
 * variables), constants, arrays (constructed), `{ const: v }`, and calls
 * `{ fn: [args] }` with Erlang's guard functions (`{ ">": ["$1", 5] }`,
 * `{ andalso: [a, b] }`, `{ element: [1, "$_"] }` with a 0-based index,
 * `{ is_integer: ["$2"] }`...). An error in a guard fails its clause; an
 * error in a body makes the result {@linkcode MATCH_SPEC_EXIT} (Erlang's
 * `'EXIT'`). A spec is compiled and checked once, so an
 * invalid spec throws even on an empty table. A bound key (or, in an
 * `ordered_set`, a bound key prefix like `[["stream", "_"], "_"]`) is looked
 * up or range-scanned instead of scanning the table.
 *
 * ## Differences from OTP, on purpose
 * - JS arrays are both tuples and lists, so lists of records go to
 *   {@linkcode Table.insertMany} and {@linkcode Table.insertNewMany}.
 * - Positions (`keyPos`, `lookupElement`, `updateCounter`, `updateElement`,
 *   the `element` guard) are 0-based, like JS arrays.
 * - The end of a walk is `undefined` (keys cannot be `undefined`), not
 *   `'$end_of_table'`.
 * - Failures are typed: `EtsError` with a `code` (OTP's error_info), and
 *   `TypeError`/`RangeError` for malformed arguments, instead of `badarg`.
 * - Counters are integers (`number`, exact up to 2^53) or `bigint`s.
 *
 * ```ts
 * import { create } from "@steward/steward/ets";
 *
 * const streams = create("streams", { type: "set", access: "public" });
 * streams.insert([["stream", 1], "cam-1", 0]);
 * streams.updateCounter(["stream", 1], [2, 1500]);
 * console.assert(streams.lookup(["stream", 1])[0][2] === 1500);
 * const busy = streams.select([[["$1", "_", "$2"], [{ ">": ["$2", 1000] }], ["$1"]]]);
 * console.assert(busy.length === 1);
 * streams.destroy();
 * ```
 *
 * @module
 */

import { enabled, log } from "./_logger.ts";
import {
  addResource,
  currentProc,
  deliver,
  Pid,
  type Proc,
  procOf,
  removeResource,
  tableTransferred,
} from "./_runtime.ts";
import {
  EtsError,
  type EtsErrorCode,
  ExitError,
  NoProcError,
} from "./errors.ts";
import {
  type CompiledSpec,
  compileMatch,
  compileMatchObject,
  compileSpec,
  NO_MATCH,
} from "./_match_spec.ts";

export { MATCH_SPEC_EXIT } from "./_match_spec.ts";
import { type Plan, planFor, runCopying, scan } from "./_ets_query.ts";
import {
  copyRec,
  type Cursor,
  HashStore,
  NOT_FOUND,
  out,
  type Rec,
  type Store,
  TreeStore,
} from "./_ets_store.ts";
import { isKey } from "./_term.ts";
import { formatTerm } from "./_format.ts";

/** A table type: see the module docs. */
export type TableType = "set" | "ordered_set" | "bag" | "duplicate_bag";

/** Who may read and write: see the module docs. */
export type Access = "public" | "protected" | "private";

/** A record: a tuple, as an array. */
export type TableRecord = readonly unknown[];

/** Options of {@linkcode create}. */
export interface CreateOptions {
  /** The table type. @default {"set"} */
  type?: TableType;
  /** Who may read and write. @default {"protected"} */
  access?: Access;
  /** The key's position in each record, 0-based. @default {0} */
  keyPos?: number;
  /** Make the name findable with {@linkcode whereis} (and unique). @default {false} */
  named?: boolean;
  /** Who gets the table when the owner exits, with what data. */
  heir?: Pid | { pid: Pid; data?: unknown };
}

/**
 * One counter update: an increment for the field after the key, or
 * `[pos, incr]`, or `[pos, incr, threshold, setValue]`.
 */
export type CounterOp =
  | number
  | bigint
  | readonly [pos: number, incr: number | bigint]
  | readonly [
    pos: number,
    incr: number | bigint,
    threshold: number | bigint,
    setValue: number | bigint,
  ];

/** What {@linkcode Table.info} reports. */
export interface TableInfo {
  /** The table's name. */
  name: string;
  /** Whether the name is registered (findable with whereis). */
  named: boolean;
  /** The table type. */
  type: TableType;
  /** The key's position, 0-based. */
  keyPos: number;
  /** Who may read and write. */
  access: Access;
  /** The owning process. */
  owner: Pid;
  /** The heir, if it is set and alive. */
  heir: Pid | undefined;
  /** What the heir will receive with the table. */
  heirData: unknown;
  /** Number of records. */
  size: number;
  /** Whether some process has it fixed (safeFixtable). */
  fixed: boolean;
  /** Who fixed it, how many times. */
  safeFixed: { pid: Pid; count: number }[];
}

/** A chunk of results and where to go on from. */
export interface SelectPage<T> {
  /** Up to `limit` results. */
  results: T[];
  /** The next chunk, or `undefined` when this was the last. */
  continuation: Continuation<T> | undefined;
}

/** Options of the limited select/match forms. */
export interface LimitOptions {
  /** Results per chunk: an integer >= 1. */
  limit: number;
}

const OPTION_KEYS = new Set(["type", "access", "keyPos", "named", "heir"]);
const TYPES = new Set(["set", "ordered_set", "bag", "duplicate_bag"]);
const ACCESSES = new Set(["public", "protected", "private"]);

const named = new Map<string, Table>();
const live = new Set<Table>();

let tableCtor: (
  name: string,
  type: TableType,
  access: Access,
  keyPos: number,
  isNamed: boolean,
  owner: Proc,
  heir: Proc | null,
  heirData: unknown,
) => Table;

function typeError(op: string, name: string, detail: string): TypeError {
  return new TypeError(
    `Cannot ${op} on table ${JSON.stringify(name)}: ${detail}`,
  );
}

const KEY_KINDS =
  "a number, bigint, string, boolean, null, Pid, Ref or an array of those";

/**
 * The message a table's heir gets when the owner dies or the owner gives the
 * table away: `["ETS-TRANSFER", table, fromPid, heirData]`.
 */
export type EtsTransferMessage = readonly [
  "ETS-TRANSFER",
  Table,
  Pid,
  unknown,
];

/**
 * Whether `message` is an {@linkcode EtsTransferMessage} (for `table`, if
 * given). A type guard: `receive(isEtsTransfer)` resolves to an
 * `EtsTransferMessage`. Never throws.
 *
 * @param message any value.
 * @param table only a transfer of this table.
 * @returns whether it is one.
 *
 * @example
 * ```ts
 * import { create, isEtsTransfer } from "@steward/steward/ets";
 * import { receive, self, spawn } from "@steward/steward/process";
 * const main = self();
 * spawn(() => {
 *   create("inherited", { heir: { pid: main, data: "yours" } });
 * }); // the owner ends at once: the table goes to its heir
 * const [, table, , data] = await receive(isEtsTransfer);
 * console.assert(table.name === "inherited" && data === "yours");
 * table.destroy();
 * ```
 */
export function isEtsTransfer(
  message: unknown,
  table?: Table,
): message is EtsTransferMessage {
  // A Proxy may throw from any trap: such a message is simply no match.
  try {
    return Array.isArray(message) && message.length === 4 &&
      message[0] === "ETS-TRANSFER" && message[1] instanceof Table &&
      message[2] instanceof Pid &&
      (table === undefined || message[1] === table);
  } catch {
    return false;
  }
}

/**
 * Creates a table owned by the calling process.
 *
 * @param name the table's name (unique among named tables).
 * @param options `type`, `access`, `keyPos`, `named`, `heir`.
 * @returns the table.
 * @throws {EtsError} `already_exists` if `named` and the name is taken.
 * @throws {TypeError} for a malformed name or option (unknown ones too).
 * @throws {RangeError} for a negative or fractional `keyPos`.
 *
 * @example
 * ```ts
 * import { create, whereis } from "@steward/steward/ets";
 * const t = create("config", { named: true, type: "ordered_set" });
 * console.assert(whereis("config") === t);
 * t.destroy();
 * ```
 */
export function create(name: string, options: CreateOptions = {}): Table {
  if (typeof name !== "string" || name === "") {
    throw new TypeError(
      `Cannot create table: 'name' must be a non-empty string, got ${
        formatTerm(name)
      }`,
    );
  }
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `Cannot create table ${
        JSON.stringify(name)
      }: 'options' must be an object, got ${formatTerm(options)}`,
    );
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) {
      throw new TypeError(
        `Cannot create table ${JSON.stringify(name)}: unknown option ${
          JSON.stringify(key)
        } (known: type, access, keyPos, named, heir)`,
      );
    }
  }
  const type = options.type ?? "set";
  if (!TYPES.has(type)) {
    throw new TypeError(
      `Cannot create table ${
        JSON.stringify(name)
      }: 'type' must be "set", "ordered_set", "bag" or "duplicate_bag", got ${
        formatTerm(type)
      }`,
    );
  }
  const access = options.access ?? "protected";
  if (!ACCESSES.has(access)) {
    throw new TypeError(
      `Cannot create table ${
        JSON.stringify(name)
      }: 'access' must be "public", "protected" or "private", got ${
        formatTerm(access)
      }`,
    );
  }
  const keyPos = options.keyPos ?? 0;
  if (typeof keyPos !== "number") {
    throw new TypeError(
      `Cannot create table ${
        JSON.stringify(name)
      }: 'keyPos' must be a number, got ${formatTerm(keyPos)}`,
    );
  }
  if (!Number.isInteger(keyPos) || keyPos < 0) {
    throw new RangeError(
      `Cannot create table ${
        JSON.stringify(name)
      }: 'keyPos' must be a non-negative integer, got ${keyPos}`,
    );
  }
  const isNamed = options.named ?? false;
  if (typeof isNamed !== "boolean") {
    throw new TypeError(
      `Cannot create table ${
        JSON.stringify(name)
      }: 'named' must be a boolean, got ${formatTerm(isNamed)}`,
    );
  }
  const [heir, heirData] = parseHeir(
    `create table ${JSON.stringify(name)}`,
    options.heir,
  );
  if (isNamed && named.has(name)) {
    throw new EtsError(
      "create",
      name,
      "already_exists",
      "a named table with this name exists",
    );
  }
  const owner = liveCaller();
  return tableCtor(name, type, access, keyPos, isNamed, owner, heir, heirData);
}

/**
 * The calling process; throws ExitError with its reason if it is dead: the
 * leftover code of a killed process writes nothing and owns nothing.
 */
function liveCaller(): Proc {
  const p = currentProc();
  if (p.dead) throw new ExitError(p.reason);
  return p;
}

function parseHeir(op: string, heir: unknown): [Proc | null, unknown] {
  if (heir === undefined || heir === "none") return [null, undefined];
  let pid: unknown = heir;
  let data: unknown = undefined;
  if (!(heir instanceof Pid) && heir !== null && typeof heir === "object") {
    pid = (heir as { pid?: unknown }).pid;
    data = (heir as { data?: unknown }).data;
  }
  if (!(pid instanceof Pid)) {
    throw new TypeError(
      `Cannot ${op}: 'heir' must be a Pid, { pid, data } or "none", got ${
        formatTerm(heir)
      }`,
    );
  }
  const proc = procOf(pid);
  // A dead heir is no heir (OTP: heir none).
  return proc.dead ? [null, undefined] : [proc, data];
}

/**
 * The named table called `name`, or `undefined`.
 *
 * @param name a table name.
 * @returns the table.
 *
 * @example
 * ```ts
 * import { whereis } from "@steward/steward/ets";
 * console.assert(whereis("no such table") === undefined);
 * ```
 */
export function whereis(name: string): Table | undefined {
  return named.get(name);
}

/**
 * Every live table.
 *
 * @returns the tables, oldest first.
 *
 * @example
 * ```ts
 * import { all, create } from "@steward/steward/ets";
 * const t = create("listed");
 * console.assert(all().includes(t));
 * t.destroy();
 * console.assert(!all().includes(t));
 * ```
 */
export function all(): Table[] {
  return [...live];
}

let makeContinuation: <T>(
  next: () => SelectPage<T> | undefined,
) => Continuation<T>;

/**
 * Where a limited select or match goes on: {@linkcode Continuation.next}
 * returns the next chunk. Tied to its table: it fails once the table is
 * destroyed, and keeps working after a rename.
 */
export class Continuation<T> {
  readonly #next: () => SelectPage<T> | undefined;

  private constructor(next: () => SelectPage<T> | undefined) {
    this.#next = next;
  }

  /**
   * The next chunk, or `undefined` when there are no more results.
   *
   * @returns the chunk.
   * @throws {EtsError} `not_found` if the table was destroyed, `access` if
   *   the caller may not read it.
   *
   * @example
   * ```ts
   * import { create } from "@steward/steward/ets";
   * const t = create("pages");
   * for (let i = 0; i < 5; i++) t.insert([i]);
   * const first = t.select([["_", [], ["$_"]]], { limit: 3 })!;
   * const second = first.continuation!.next()!;
   * console.assert(first.results.length === 3 && second.results.length === 2);
   * t.destroy();
   * ```
   */
  next(): SelectPage<T> | undefined {
    return this.#next();
  }

  static {
    makeContinuation = (next) => new Continuation(next);
  }
}

/**
 * A table. Made by {@linkcode create}; see the module docs for types, keys,
 * access and ownership.
 */
export class Table {
  #name: string;
  readonly #type: TableType;
  readonly #access: Access;
  readonly #keyPos: number;
  readonly #named: boolean;
  #owner: Proc;
  #heir: Proc | null;
  #heirData: unknown;
  readonly #store: Store;
  /**
   * Short paths for the commonest calls (null when they do not apply, and
   * once the table is gone): the store of a `set` or `ordered_set` that
   * anyone may read, and that of one anyone may write (public). They skip
   * the checks and dispatch of the general path, measured at 30-60 ns of a
   * ~150 ns lookup of 1M rows.
   */
  #readOne: Store | null = null;
  #writeOne: Store | null = null;
  #alive = true;
  /** Processes that fixed the table, with their counts. */
  #fixers: Map<Proc, number> | null = null;
  readonly #ownerExit = (proc: Proc) => this.#onOwnerExit(proc);
  readonly #fixerExit = (proc: Proc) => this.#releaseFixes(proc);

  private constructor(
    name: string,
    type: TableType,
    access: Access,
    keyPos: number,
    isNamed: boolean,
    owner: Proc,
    heir: Proc | null,
    heirData: unknown,
  ) {
    this.#name = name;
    this.#type = type;
    this.#access = access;
    this.#keyPos = keyPos;
    this.#named = isNamed;
    this.#owner = owner;
    this.#heir = heir;
    this.#heirData = heirData;
    this.#store = type === "ordered_set"
      ? new TreeStore(keyPos)
      : new HashStore(type, keyPos);
    if (type === "set" || type === "ordered_set") {
      if (access !== "private") this.#readOne = this.#store;
      if (access === "public") this.#writeOne = this.#store;
    }
    if (isNamed) named.set(name, this);
    live.add(this);
    addResource(owner, this.#ownerExit);
  }

  static {
    tableCtor = (...args) => new Table(...args);
  }

  /** The table's name. */
  get name(): string {
    return this.#name;
  }

  /** `Table "name"` in messages. */
  toString(): string {
    return `Table ${JSON.stringify(this.#name)}`;
  }

  /** `Table "name"` in Node's and Deno's inspectors. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  // ---------------------------------------------------------- checks --

  #fail(op: string, code: EtsErrorCode, detail: string): EtsError {
    return new EtsError(op, this.#name, code, detail);
  }

  #read(op: string): void {
    if (!this.#alive) throw this.#gone(op);
    if (this.#access === "private") {
      const p = currentProc();
      if (p !== this.#owner) throw this.#denied(op, p, "read");
    }
  }

  #write(op: string): void {
    if (!this.#alive) throw this.#gone(op);
    const p = liveCaller();
    if (this.#access !== "public" && p !== this.#owner) {
      throw this.#denied(op, p, "write");
    }
  }

  #gone(op: string): EtsError {
    return this.#fail(op, "not_found", "the table no longer exists");
  }

  #denied(op: string, p: Proc, what: string): EtsError {
    return this.#fail(
      op,
      "access",
      `${p.pid} may not ${what} a ${this.#access} table owned by ${this.#owner.pid}`,
    );
  }

  #ownerOnly(op: string): Proc {
    if (!this.#alive) throw this.#gone(op);
    const p = liveCaller();
    if (p !== this.#owner) {
      throw this.#fail(
        op,
        "not_owner",
        `only the owner ${this.#owner.pid} may do this, not ${p.pid}`,
      );
    }
    return p;
  }

  /** Checks a record and returns the copy to store, with its stored key. */
  #record(op: string, rec: unknown): [unknown, Rec] {
    if (!Array.isArray(rec)) {
      throw typeError(
        op,
        this.#name,
        `a record must be an array, got ${formatTerm(rec)}`,
      );
    }
    const k = this.#keyPos;
    if (rec.length <= k) {
      throw typeError(
        op,
        this.#name,
        `a record must have an element at keyPos ${k}, got ${formatTerm(rec)}`,
      );
    }
    const key = rec[k];
    if (!isKey(key)) {
      throw typeError(
        op,
        this.#name,
        `the key must be ${KEY_KINDS}, got ${formatTerm(key)}`,
      );
    }
    const stored = this.#store.canonicalKey(key);
    const copy = copyRec(rec);
    copy[k] = stored;
    return [stored, copy];
  }

  #records(op: string, recs: unknown): [unknown, Rec][] {
    if (
      recs === null || typeof recs !== "object" || !(Symbol.iterator in recs)
    ) {
      throw typeError(
        op,
        this.#name,
        `'records' must be an iterable of records, got ${formatTerm(recs)}`,
      );
    }
    const out: [unknown, Rec][] = [];
    for (const r of recs as Iterable<unknown>) out.push(this.#record(op, r));
    return out;
  }

  // ---------------------------------------------------------- writes --

  /**
   * Inserts one record: a `set`/`ordered_set` replaces the record with that
   * key; a `bag` adds it unless an identical record is there; a
   * `duplicate_bag` adds it.
   *
   * @param record an array with a key at `keyPos`.
   * @throws {EtsError} `not_found`, `access`.
   * @throws {TypeError} if the record is not an array with a valid key.
   *
   * @example
   * ```ts
   * import { create } from "@steward/steward/ets";
   * const t = create("insert");
   * t.insert(["a", 1]);
   * t.insert(["a", 2]);
   * console.assert(t.lookup("a")[0][1] === 2);
   * t.destroy();
   * ```
   */
  insert(record: TableRecord): void {
    const fast = this.#writeOne;
    if (fast !== null && Array.isArray(record) && !currentProc().dead) {
      const key = record[this.#keyPos];
      // A number (not NaN) or string key is its own canonical form.
      if (typeof key === "number" ? key === key : typeof key === "string") {
        fast.insert(key, copyRec(record));
        return;
      }
    }
    this.#write("insert");
    const [key, rec] = this.#record("insert", record);
    this.#store.insert(key, rec);
  }

  /**
   * Inserts several records at once: all or none (a bad record anywhere
   * inserts nothing). For duplicate keys in a set, the last one wins.
   *
   * @param records the records.
   * @throws {EtsError} `not_found`, `access`.
   * @throws {TypeError} if any record is malformed (nothing inserted).
   *
   * @example
   * ```ts
   * import { create } from "@steward/steward/ets";
   * const t = create("insertMany", { type: "bag" });
   * t.insertMany([["k", 1], ["k", 2], ["k", 1]]);
   * console.assert(t.lookup("k").length === 2);
   * t.destroy();
   * ```
   */
  insertMany(records: Iterable<TableRecord>): void {
    this.#write("insertMany");
    for (const [key, rec] of this.#records("insertMany", records)) {
      this.#store.insert(key, rec);
    }
  }

  /**
   * Inserts a record only if its key is absent.
   *
   * @param record the record.
   * @returns whether it was inserted.
   * @throws {EtsError} `not_found`, `access`.
   * @throws {TypeError} for a malformed record.
   *
   * @example
   * ```ts
   * import { create } from "@steward/steward/ets";
   * const t = create("insertNew");
   * console.assert(t.insertNew(["a", 1]) === true);
   * console.assert(t.insertNew(["a", 2]) === false);
   * t.destroy();
   * ```
   */
  insertNew(record: TableRecord): boolean {
    this.#write("insertNew");
    const [key, rec] = this.#record("insertNew", record);
    if (this.#store.has(key)) return false;
    this.#store.insert(key, rec);
    return true;
  }

  /**
   * Inserts the records only if none of their keys is present: all or
   * nothing.
   *
   * @param records the records.
   * @returns whether they were inserted.
   * @throws {EtsError} `not_found`, `access`.
   * @throws {TypeError} for a malformed record.
   *
   * @example
   * ```ts
   * import { create } from "@steward/steward/ets";
   * const t = create("insertNewMany");
   * t.insert(["b", 0]);
   * console.assert(t.insertNewMany([["a", 1], ["b", 2]]) === false);
   * console.assert(!t.member("a"));
   * t.destroy();
   * ```
   */
  insertNewMany(records: Iterable<TableRecord>): boolean {
    this.#write("insertNewMany");
    const recs = this.#records("insertNewMany", records);
    for (const [key] of recs) if (this.#store.has(key)) return false;
    for (const [key, rec] of recs) this.#store.insert(key, rec);
    return true;
  }

  /**
   * Removes the records with `key` (nothing if absent).
   *
   * @param key the key.
   * @throws {EtsError} `not_found`, `access`.
   *
   * @example
   * ```ts
   * import { create } from "@steward/steward/ets";
   * const t = create("delete");
   * t.insert(["a"]);
   * t.delete("a");
   * console.assert(!t.member("a"));
   * t.destroy();
   * ```
   */
  delete(key: unknown): void {
    const fast = this.#writeOne;
    if (fast !== null && !currentProc().dead) return fast.remove(key);
    this.#write("delete");
    this.#store.remove(key);
  }

  /**
   * Removes the records identical to `record` (in a duplicate_bag, every
   * copy; in a set, only if the whole record matches).
   *
   * @param record the record to remove.
   * @throws {EtsError} `not_found`, `access`.
   * @throws {TypeError} for a malformed record.
   *
   * @example
   * ```ts
   * import { create } from "@steward/steward/ets";
   * const t = create("deleteObject", { type: "bag" });
   * t.insertMany([["k", 1], ["k", 2]]);
   * t.deleteObject(["k", 1]);
   * console.assert(t.lookup("k").length === 1);
   * t.destroy();
   * ```
   */
  deleteObject(record: TableRecord): void {
    this.#write("deleteObject");
    const [key, rec] = this.#record("deleteObject", record);
    this.#store.deleteRecord(key, rec);
  }

  /**
   * Removes every record, at once.
   *
   * @throws {EtsError} `not_found`, `access`.
   *
   * @example
   * ```ts
   * import { create } from "@steward/steward/ets";
   * const t = create("deleteAll");
   * t.insertMany([[1], [2]]);
   * t.deleteAllObjects();
   * console.assert(t.info()!.size === 0);
   * t.destroy();
   * ```
   */
  deleteAllObjects(): void {
    this.#write("deleteAllObjects");
    this.#store.clear();
  }

  /**
   * Removes and returns the records with `key`.
   *
   * @param key the key.
   * @returns the removed records (empty if none).
   * @throws {EtsError} `not_found`, `access`.
   *
   * @example
   * ```ts
   * import { create } from "@steward/steward/ets";
   * const t = create("take");
   * t.insert(["a", 1]);
   * console.assert(t.take("a")[0][1] === 1 && !t.member("a"));
   * t.destroy();
   * ```
   */
  take(key: unknown): TableRecord[] {
    this.#write("take");
    const recs = this.#store.deleteKey(key);
    return recs === undefined ? [] : recs.map(out);
  }

  /**
   * Destroys the table (Erlang's `ets:delete/1`): its records are gone, its
   * name is free, and every later operation on it fails with `not_found`.
   * Destroying twice fails too.
   *
   * @throws {EtsError} `not_found`, `access` (a protected or private table
   *   is the owner's to destroy).
   *
   * @example
   * ```ts
   * import { create, whereis } from "@steward/steward/ets";
   * const t = create("doomed", { named: true });
   * t.destroy();
   * console.assert(whereis("doomed") === undefined);
   * ```
   */
  destroy(): void {
    this.#write("destroy");
    this.#drop();
  }

  #drop(): void {
    this.#alive = false;
    this.#readOne = this.#writeOne = null;
    this.#store.clear();
    live.delete(this);
    if (this.#named && named.get(this.#name) === this) named.delete(this.#name);
    removeResource(this.#owner, this.#ownerExit);
    if (this.#fixers !== null) {
      for (const p of this.#fixers.keys()) removeResource(p, this.#fixerExit);
      this.#fixers = null;
    }
  }

  // ----------------------------------------------------------- reads --

  /**
   * The records with `key`, frozen, oldest first (one at most in a set).
   *
   * @param key the key.
   * @returns the records, or an empty array.
   * @throws {EtsError} `not_found`, `access` (private table).
   *
   * @example
   * ```ts
   * import { create } from "@steward/steward/ets";
   * const t = create("lookup");
   * t.insert([["user", 7], "ada"]);
   * console.assert(t.lookup(["user", 7])[0][1] === "ada");
   * console.assert(t.lookup(["user", 8]).length === 0);
   * t.destroy();
   * ```
   */
  lookup(key: unknown): TableRecord[] {
    const fast = this.#readOne;
    if (fast !== null) {
      const r = fast.oneOut(key);
      return r === undefined ? [] : [r];
    }
    this.#read("lookup");
    if (this.#type === "set" || this.#type === "ordered_set") {
      const r = this.#store.oneOut(key);
      return r === undefined ? [] : [r];
    }
    const recs = this.#store.get(key);
    return recs === undefined ? [] : recs.map(out);
  }

  /**
   * Whether a record with `key` exists.
   *
   * @param key the key.
   * @returns whether it exists.
   * @throws {EtsError} `not_found`, `access`.
   *
   * @example
   * ```ts
   * import { create } from "@steward/steward/ets";
   * const t = create("member");
   * t.insert([1n]);
   * console.assert(t.member(1n) && !t.member(1));
   * t.destroy();
   * ```
   */
  member(key: unknown): boolean {
    const fast = this.#readOne;
    if (fast !== null) return fast.has(key);
    this.#read("member");
    return this.#store.has(key);
  }

  /**
   * The element at `pos` (0-based) of the record with `key`; for a bag, of
   * each record, as an array.
   *
   * @param key the key.
   * @param pos the position.
   * @param options `default`: returned when the key is absent.
   * @returns the element(s).
   * @throws {EtsError} `bad_key` if absent without a default, `position` if
   *   a record has no element at `pos`, `not_found`, `access`.
   *
   * @example
   * ```ts
   * import { create } from "@steward/steward/ets";
   * const t = create("lookupElement");
   * t.insert(["a", "x", "y"]);
   * console.assert(t.lookupElement("a", 2) === "y");
   * console.assert(t.lookupElement("b", 2, { default: "none" }) === "none");
   * t.destroy();
   * ```
   */
  lookupElement(
    key: unknown,
    pos: number,
    options?: { default?: unknown },
  ): unknown {
    this.#read("lookupElement");
    const recs = this.#store.get(key);
    if (recs === undefined) {
      if (options !== undefined && "default" in options) return options.default;
      throw this.#fail(
        "lookupElement",
        "bad_key",
        `no record with key ${formatTerm(key)}`,
      );
    }
    for (const r of recs) this.#position("lookupElement", r, pos, false);
    if (this.#type === "set" || this.#type === "ordered_set") {
      return recs[0][pos];
    }
    return recs.map((r) => r[pos]);
  }

  /** Checks a position against a record (and the key, for updates). */
  #position(op: string, rec: Rec, pos: unknown, update: boolean): number {
    if (typeof pos !== "number" || !Number.isInteger(pos)) {
      throw typeError(
        op,
        this.#name,
        `a position must be an integer, got ${formatTerm(pos)}`,
      );
    }
    if (update && pos === this.#keyPos) {
      throw this.#fail(op, "key_pos", `position ${pos} is the key`);
    }
    if (pos < 0 || pos >= rec.length) {
      throw this.#fail(
        op,
        "position",
        `position ${pos} is outside the record ${formatTerm(rec)}`,
      );
    }
    return pos;
  }

  // ------------------------------------------------- counters, fields --

  /**
   * Adds to integer fields of the record with `key`, atomically, and
   * returns the new values. `op` is an increment for the field after the
   * key; `[pos, incr]`; `[pos, incr, threshold, setValue]` (past the
   * threshold — above it for a non-negative increment, below it for a
   * negative one — the field becomes `setValue`); or an array of those,
   * applied in order (then an array of results comes back). Fields are
   * numbers (exact up to 2^53) or bigints; an increment adapts to the
   * field's type.
   *
   * @param key the key.
   * @param op the update(s).
   * @param options `default`: a record inserted (with `key` put at keyPos)
   *   when the key is absent, then updated.
   * @returns the new value, or the new values for a list of ops.
   * @throws {EtsError} `table_type` (bags), `bad_key` (absent, no default),
   *   `keyPos`, `position`, `bad_value` (a field that is not an integer),
   *   `default`, `not_found`, `access`. Nothing changes on failure.
   * @throws {TypeError} for a malformed op.
   * @throws {RangeError} if a number field would pass 2^53.
   *
   * @example
   * ```ts
   * import { create } from "@steward/steward/ets";
   * const t = create("counters");
   * console.assert(t.updateCounter("hits", 1, { default: ["hits", 0] }) === 1);
   * console.assert(t.updateCounter("hits", [1, 10, 5, 0]) === 0); // 11 > 5
   * console.assert(t.updateCounter("hits", [[1, 2], [1, 3]]).join() === "2,5");
   * t.destroy();
   * ```
   */
  updateCounter(
    key: unknown,
    op: CounterOp,
    options?: { default?: TableRecord },
  ): number | bigint;
  /** A list of counter ops: applied in order; an array of results back. */
  updateCounter(
    key: unknown,
    ops: readonly CounterOp[],
    options?: { default?: TableRecord },
  ): (number | bigint)[];
  updateCounter(
    key: unknown,
    op: CounterOp | readonly CounterOp[],
    options?: { default?: TableRecord },
  ): number | bigint | (number | bigint)[] {
    const o = "updateCounter";
    // A live public set or ordered_set (the commonest case) needs neither
    // check, unless the caller is dead.
    const fast = this.#writeOne;
    if (fast === null || currentProc().dead) {
      this.#write(o);
      if (this.#type === "bag" || this.#type === "duplicate_bag") {
        throw this.#fail(o, "table_type", `not for a ${this.#type}`);
      }
    }
    if (options === undefined) {
      // The common case, without allocation: one number increment of an
      // integer number field. Anything else (or any error) takes the
      // general path below.
      let pos = -1;
      let incr: unknown = op;
      if (typeof op === "number") pos = this.#keyPos + 1;
      else if (Array.isArray(op) && op.length === 2) {
        const p = op[0];
        incr = op[1];
        if (typeof p === "number" && Number.isInteger(p)) pos = p;
      }
      if (
        pos >= 0 && pos !== this.#keyPos && typeof incr === "number" &&
        Number.isInteger(incr)
      ) {
        const next = (fast ?? this.#store).addToField(key, pos, incr);
        if (next !== undefined) return next;
      }
    }
    const [ops, many] = this.#counterOps(op);
    // A copy of the stored record (or of the default), changed below once
    // every op has been checked (stored records never leave the table
    // unfrozen).
    const stored = this.#store.one(key);
    const rec = [
      ...(stored !== undefined && !(options && "default" in options)
        ? stored
        : this.#current(o, key, options)),
    ];
    const results: (number | bigint)[] = [];
    for (const [pos, incr, threshold, setValue] of ops) {
      this.#position(o, rec, pos, true);
      const field = rec[pos];
      let next: number | bigint;
      if (typeof field === "bigint") {
        const i = BigInt(incr);
        next = field + i;
        if (threshold !== undefined) {
          const t = BigInt(threshold);
          if (i >= 0n ? next > t : next < t) next = BigInt(setValue!);
        }
      } else if (typeof field === "number" && Number.isInteger(field)) {
        const i = toNumber(o, this.#name, incr);
        next = field + i;
        if (threshold !== undefined) {
          const t = toNumber(o, this.#name, threshold);
          if (i >= 0 ? next > t : next < t) {
            next = toNumber(o, this.#name, setValue!);
          }
        }
        if (!Number.isSafeInteger(next)) {
          throw new RangeError(
            `Cannot ${o} on table ${
              JSON.stringify(this.#name)
            }: ${field} + ${i} passes 2^53; use a bigint counter`,
          );
        }
      } else {
        throw this.#fail(
          o,
          "bad_value",
          `the field at position ${pos} is not an integer: ${
            formatTerm(field)
          }`,
        );
      }
      rec[pos] = next;
      results.push(next);
    }
    // An absent key's default is inserted even by an empty op list, as OTP
    // does.
    if (ops.length > 0 || stored === undefined) {
      // In place, unless a reader holds the record (frozen): then a new one.
      if (stored !== undefined && Object.isExtensible(stored)) {
        for (let j = 0; j < ops.length; j++) {
          const pos = ops[j][0];
          (stored as unknown[])[pos] = rec[pos];
        }
      } else this.#store.insert(rec[this.#keyPos], rec);
    }
    return many ? results : results[0];
  }

  #counterOps(
    op: unknown,
  ): [
    [number, number | bigint, (number | bigint)?, (number | bigint)?][],
    boolean,
  ] {
    const bad = () =>
      new TypeError(
        `Cannot updateCounter on table ${
          JSON.stringify(this.#name)
        }: 'op' must be an integer, [pos, incr], [pos, incr, threshold, setValue] or an array of those, got ${
          formatTerm(op)
        }`,
      );
    const isInt = (x: unknown) =>
      typeof x === "bigint" || (typeof x === "number" && Number.isInteger(x));
    const one = (
      x: unknown,
    ): [number, number | bigint, (number | bigint)?, (number | bigint)?] => {
      if (isInt(x)) return [this.#keyPos + 1, x as number | bigint];
      if (
        !Array.isArray(x) || (x.length !== 2 && x.length !== 4) ||
        typeof x[0] !== "number" || !x.every(isInt)
      ) {
        throw bad();
      }
      return x as [
        number,
        number | bigint,
        (number | bigint)?,
        (number | bigint)?,
      ];
    };
    if (Array.isArray(op) && (op.length === 0 || Array.isArray(op[0]))) {
      return [op.map(one), true];
    }
    return [[one(op)], false];
  }

  /**
   * The one record of `key` (set tables), or the default record made for
   * it; throws badKey without one.
   */
  #current(
    op: string,
    key: unknown,
    options: { default?: TableRecord } | undefined,
  ): Rec {
    const hasDefault = options !== undefined && "default" in options;
    let fallback: Rec | undefined;
    if (hasDefault) {
      // Checked even when the key exists (OTP 29).
      const d = options!.default;
      if (!Array.isArray(d) || d.length <= this.#keyPos) {
        throw this.#fail(
          op,
          "default",
          `the default must be a record with an element at keyPos ${this.#keyPos}, got ${
            formatTerm(d)
          }`,
        );
      }
      fallback = d;
    }
    const recs = this.#store.get(key);
    if (recs !== undefined) return recs[0];
    if (fallback === undefined) {
      throw this.#fail(op, "bad_key", `no record with key ${formatTerm(key)}`);
    }
    if (!isKey(key)) {
      throw typeError(
        op,
        this.#name,
        `the key must be ${KEY_KINDS}, got ${formatTerm(key)}`,
      );
    }
    const made = fallback.slice();
    made[this.#keyPos] = this.#store.canonicalKey(key);
    return made;
  }

  /**
   * Sets fields of the record with `key`, atomically: `[pos, value]` or an
   * array of those (the last wins for a repeated position).
   *
   * @param key the key.
   * @param update `[pos, value]` or `[[pos, value], ...]`.
   * @param options `default`: a record inserted (with `key`) when absent.
   * @returns whether a record was updated (false: absent, no default).
   * @throws {EtsError} `table_type` (bags), `keyPos`, `position`, `default`,
   *   `not_found`, `access`. Nothing changes on failure.
   * @throws {TypeError} for a malformed update.
   *
   * @example
   * ```ts
   * import { create } from "@steward/steward/ets";
   * const t = create("fields");
   * t.insert(["a", 1, 2]);
   * console.assert(t.updateElement("a", [[1, "x"], [2, "y"]]));
   * console.assert(t.lookup("a")[0].join() === "a,x,y");
   * console.assert(t.updateElement("b", [1, "x"]) === false);
   * t.destroy();
   * ```
   */
  updateElement(
    key: unknown,
    update: readonly unknown[],
    options?: { default?: TableRecord },
  ): boolean {
    const o = "updateElement";
    this.#write(o);
    if (this.#type === "bag" || this.#type === "duplicate_bag") {
      throw this.#fail(o, "table_type", `not for a ${this.#type}`);
    }
    const bad = () =>
      new TypeError(
        `Cannot ${o} on table ${
          JSON.stringify(this.#name)
        }: 'update' must be [pos, value] or an array of those, got ${
          formatTerm(update)
        }`,
      );
    if (!Array.isArray(update)) throw bad();
    const pairs = update.length === 0 || Array.isArray(update[0])
      ? update as unknown[][]
      : [update];
    for (const p of pairs) {
      if (!Array.isArray(p) || p.length !== 2) throw bad();
    }
    const hasDefault = options !== undefined && "default" in options;
    if (!hasDefault && !this.#store.has(key)) return false;
    const rec = [...this.#current(o, key, options)];
    for (const [pos, value] of pairs) {
      this.#position(o, rec, pos, true);
      rec[pos as number] = value;
    }
    this.#store.insert(rec[this.#keyPos], rec);
    return true;
  }

  // ------------------------------------------------------ traversal --

  /**
   * The first key (ordered_set: the smallest; others: insertion order), or
   * `undefined` for an empty table.
   *
   * @returns the key.
   * @throws {EtsError} `not_found`, `access`.
   *
   * @example
   * ```ts
   * import { create } from "@steward/steward/ets";
   * const t = create("walk", { type: "ordered_set" });
   * t.insertMany([[3], [1], [2]]);
   * const keys = [];
   * for (let k = t.first(); k !== undefined; k = t.next(k)) keys.push(k);
   * console.assert(keys.join() === "1,2,3");
   * t.destroy();
   * ```
   */
  first(): unknown {
    this.#read("first");
    return this.#store.firstKey();
  }

  /**
   * The key after `key`, or `undefined` at the end. In an ordered_set, the
   * next key in term order even if `key` is absent; in other tables, `key`
   * must be present, unless the table is fixed ({@linkcode safeFixtable}).
   *
   * @param key the current key.
   * @returns the next key.
   * @throws {EtsError} `bad_key` (absent key in an unfixed hash table),
   *   `not_found`, `access`.
   *
   * @example
   * ```ts
   * import { create } from "@steward/steward/ets";
   * const t = create("next", { type: "ordered_set" });
   * t.insertMany([[10], [20]]);
   * console.assert(t.next(15) === 20 && t.next(20) === undefined);
   * t.destroy();
   * ```
   */
  next(key: unknown): unknown {
    this.#read("next");
    return this.#step("next", this.#store.nextKey(key), key);
  }

  /**
   * The last key (ordered_set: the largest; others: as `first`).
   *
   * @returns the key, or `undefined`.
   * @throws {EtsError} `not_found`, `access`.
   *
   * @example
   * ```ts
   * import { create } from "@steward/steward/ets";
   * const t = create("last", { type: "ordered_set" });
   * t.insertMany([[1], [9]]);
   * console.assert(t.last() === 9);
   * t.destroy();
   * ```
   */
  last(): unknown {
    this.#read("last");
    return this.#store.lastKey();
  }

  /**
   * The key before `key` (ordered_set), or as `next` (other tables).
   *
   * @param key the current key.
   * @returns the previous key, or `undefined`.
   * @throws {EtsError} `bad_key`, `not_found`, `access`.
   *
   * @example
   * ```ts
   * import { create } from "@steward/steward/ets";
   * const t = create("prev", { type: "ordered_set" });
   * t.insertMany([[1], [9]]);
   * console.assert(t.prev(9) === 1 && t.prev(1) === undefined);
   * t.destroy();
   * ```
   */
  prev(key: unknown): unknown {
    this.#read("prev");
    return this.#step("prev", this.#store.prevKey(key), key);
  }

  #step(op: string, result: unknown, key: unknown): unknown {
    if (result !== NOT_FOUND) return result;
    throw this.#fail(
      op,
      "bad_key",
      this.#type === "ordered_set"
        ? `${formatTerm(key)} is not a key`
        : `no record with key ${
          formatTerm(key)
        } (to walk a ${this.#type} while deleting, fix it with safeFixtable)`,
    );
  }

  /**
   * Folds over every record, in table order (`foldr`: reverse order for an
   * ordered_set). Records come frozen. The table may change meanwhile: keys
   * deleted are skipped, keys inserted may or may not be seen.
   *
   * @param fn called with each record and the accumulator.
   * @param acc the initial accumulator.
   * @returns the final accumulator.
   * @throws {EtsError} `not_found`, `access`.
   *
   * @example
   * ```ts
   * import { create } from "@steward/steward/ets";
   * const t = create("fold");
   * t.insertMany([["a", 1], ["b", 2]]);
   * console.assert(t.foldl((r, sum) => sum + (r[1] as number), 0) === 3);
   * t.destroy();
   * ```
   */
  foldl<A>(fn: (record: TableRecord, acc: A) => A, acc: A): A {
    this.#read("foldl");
    return this.#fold(fn, acc, false);
  }

  /**
   * {@linkcode Table.foldl} in reverse order (ordered_set; others: same
   * order as foldl).
   *
   * @param fn called with each record and the accumulator.
   * @param acc the initial accumulator.
   * @returns the final accumulator.
   * @throws {EtsError} `not_found`, `access`.
   *
   * @example
   * ```ts
   * import { create } from "@steward/steward/ets";
   * const t = create("foldr", { type: "ordered_set" });
   * t.insertMany([[1], [2], [3]]);
   * console.assert(t.foldr((r, out: unknown[]) => [...out, r[0]], []).join() === "3,2,1");
   * t.destroy();
   * ```
   */
  foldr<A>(fn: (record: TableRecord, acc: A) => A, acc: A): A {
    this.#read("foldr");
    return this.#fold(fn, acc, true);
  }

  #fold<A>(
    fn: (record: TableRecord, acc: A) => A,
    acc: A,
    reverse: boolean,
  ): A {
    // User code may change the table as it goes: a hash table is fixed
    // meanwhile, and the tree's walk goes on from the key after the current
    // one (one walk, no look-up per key: the ordered_set's hash index would
    // turn a walk in key order into scattered reads).
    const s = this.#store;
    s.fix(1);
    try {
      s.forEach((_k, recs) => {
        for (const r of recs) acc = fn(s.handOut(r), acc);
      }, reverse);
    } finally {
      s.fix(-1);
    }
    return acc;
  }

  /**
   * Every record (frozen), in table order.
   *
   * @returns the records.
   * @throws {EtsError} `not_found`, `access`.
   *
   * @example
   * ```ts
   * import { create } from "@steward/steward/ets";
   * const t = create("toList", { type: "ordered_set" });
   * t.insertMany([["b"], ["a"]]);
   * console.assert(t.toList().join("|") === "a|b");
   * t.destroy();
   * ```
   */
  toList(): TableRecord[] {
    this.#read("toList");
    const list: TableRecord[] = [];
    this.#store.forEach((_k, recs) => {
      for (const r of recs) list.push(this.#store.handOut(r));
    });
    return list;
  }

  // -------------------------------------------------- match and select --

  /**
   * The bindings of `pattern`'s variables for each matching record: one
   * array per record, variables in number order.
   *
   * @param pattern a match pattern (see the module docs).
   * @param options `limit` for chunks (then a page, or `undefined` when
   *   there is nothing).
   * @returns the bindings.
   * @throws {EtsError} `not_found`, `access`.
   * @throws {TypeError} for an invalid pattern.
   *
   * @example
   * ```ts
   * import { create } from "@steward/steward/ets";
   * const t = create("match");
   * t.insertMany([["ada", "admin"], ["bob", "user"]]);
   * console.assert(t.match(["$1", "admin"])[0][0] === "ada");
   * t.destroy();
   * ```
   */
  match(pattern: unknown): unknown[][];
  /** In chunks of `limit`: a page, or `undefined` when nothing matched. */
  match(
    pattern: unknown,
    options: LimitOptions,
  ): SelectPage<unknown[]> | undefined;
  match(
    pattern: unknown,
    options?: LimitOptions,
  ): unknown[][] | SelectPage<unknown[]> | undefined {
    this.#read("match");
    return this.#query(
      "match",
      this.#compile("match", () => compileMatch(pattern)),
      options,
      false,
    ) as unknown[][] | SelectPage<unknown[]> | undefined;
  }

  /**
   * The records matching `pattern` (frozen).
   *
   * @param pattern a match pattern.
   * @param options `limit` for chunks.
   * @returns the records.
   * @throws {EtsError} `not_found`, `access`.
   * @throws {TypeError} for an invalid pattern.
   *
   * @example
   * ```ts
   * import { create } from "@steward/steward/ets";
   * const t = create("matchObject", { type: "bag" });
   * t.insertMany([["k", 1], ["k", 2], ["j", 1]]);
   * console.assert(t.matchObject(["_", 1]).length === 2);
   * t.destroy();
   * ```
   */
  matchObject(pattern: unknown): TableRecord[];
  /** In chunks of `limit`: a page, or `undefined` when nothing matched. */
  matchObject(
    pattern: unknown,
    options: LimitOptions,
  ): SelectPage<TableRecord> | undefined;
  matchObject(
    pattern: unknown,
    options?: LimitOptions,
  ): TableRecord[] | SelectPage<TableRecord> | undefined {
    this.#read("matchObject");
    return this.#query(
      "matchObject",
      this.#compile("matchObject", () => compileMatchObject(pattern)),
      options,
      false,
    ) as TableRecord[] | SelectPage<TableRecord> | undefined;
  }

  /**
   * Removes the records matching `pattern`.
   *
   * @param pattern a match pattern.
   * @returns how many records were removed.
   * @throws {EtsError} `not_found`, `access`.
   * @throws {TypeError} for an invalid pattern.
   *
   * @example
   * ```ts
   * import { create } from "@steward/steward/ets";
   * const t = create("matchDelete");
   * t.insertMany([["a", "old"], ["b", "new"]]);
   * console.assert(t.matchDelete(["_", "old"]) === 1);
   * t.destroy();
   * ```
   */
  matchDelete(pattern: unknown): number {
    this.#write("matchDelete");
    const spec = this.#compile(
      "matchDelete",
      () => compileMatchObject(pattern),
    );
    return this.#deleteWhere(spec, (r) => r !== NO_MATCH);
  }

  /**
   * The results of a match spec over the table (see the module docs), in
   * table order.
   *
   * @param spec the match spec.
   * @param options `limit` for chunks (then a page, or `undefined`).
   * @returns the results.
   * @throws {EtsError} `not_found`, `access`.
   * @throws {TypeError} for an invalid spec, even on an empty table.
   *
   * @example
   * ```ts
   * import { create } from "@steward/steward/ets";
   * const t = create("select");
   * t.insertMany([["a", 1], ["b", 5], ["c", 9]]);
   * const big = t.select([[["$1", "$2"], [{ ">": ["$2", 3] }], ["$1"]]]);
   * console.assert(big.join() === "b,c");
   * t.destroy();
   * ```
   */
  select(spec: unknown): unknown[];
  /** In chunks of `limit`: a page, or `undefined` when nothing matched. */
  select(spec: unknown, options: LimitOptions): SelectPage<unknown> | undefined;
  select(
    spec: unknown,
    options?: LimitOptions,
  ): unknown[] | SelectPage<unknown> | undefined {
    this.#read("select");
    return this.#query(
      "select",
      this.#compile("select", () => compileSpec(spec)),
      options,
      false,
    );
  }

  /**
   * {@linkcode Table.select} in reverse term order (ordered_set; the same
   * as select for other tables).
   *
   * @param spec the match spec.
   * @param options `limit` for chunks.
   * @returns the results.
   * @throws {EtsError} `not_found`, `access`.
   * @throws {TypeError} for an invalid spec.
   *
   * @example
   * ```ts
   * import { create } from "@steward/steward/ets";
   * const t = create("selectReverse", { type: "ordered_set" });
   * t.insertMany([[1], [2], [3]]);
   * console.assert(t.selectReverse([["$1", [], ["$1"]]]).join() === "3,2,1");
   * t.destroy();
   * ```
   */
  selectReverse(spec: unknown): unknown[];
  /** In chunks of `limit`: a page, or `undefined` when nothing matched. */
  selectReverse(
    spec: unknown,
    options: LimitOptions,
  ): SelectPage<unknown> | undefined;
  selectReverse(
    spec: unknown,
    options?: LimitOptions,
  ): unknown[] | SelectPage<unknown> | undefined {
    this.#read("selectReverse");
    return this.#query(
      "selectReverse",
      this.#compile("selectReverse", () => compileSpec(spec)),
      options,
      this.#type === "ordered_set",
    );
  }

  /**
   * How many records the spec's body turns into exactly `true`.
   *
   * @param spec the match spec.
   * @returns the count.
   * @throws {EtsError} `not_found`, `access`.
   * @throws {TypeError} for an invalid spec.
   *
   * @example
   * ```ts
   * import { create } from "@steward/steward/ets";
   * const t = create("selectCount");
   * t.insertMany([["a", 1], ["b", 5]]);
   * console.assert(t.selectCount([[["_", "$1"], [{ ">": ["$1", 2] }], [true]]]) === 1);
   * t.destroy();
   * ```
   */
  selectCount(spec: unknown): number {
    this.#read("selectCount");
    const compiled = this.#compile("selectCount", () => compileSpec(spec));
    let n = 0;
    scan(this.#store, this.#plan(compiled), false, undefined, (_k, recs) => {
      for (const r of recs) if (compiled.run(r) === true) n++;
    });
    return n;
  }

  /**
   * Removes the records the spec's body turns into exactly `true`.
   *
   * @param spec the match spec.
   * @returns how many were removed.
   * @throws {EtsError} `not_found`, `access`.
   * @throws {TypeError} for an invalid spec.
   *
   * @example
   * ```ts
   * import { create } from "@steward/steward/ets";
   * const t = create("selectDelete");
   * t.insertMany([["a", 1], ["b", 5]]);
   * console.assert(t.selectDelete([[["_", "$1"], [{ "<": ["$1", 2] }], [true]]]) === 1);
   * console.assert(!t.member("a"));
   * t.destroy();
   * ```
   */
  selectDelete(spec: unknown): number {
    this.#write("selectDelete");
    const compiled = this.#compile("selectDelete", () => compileSpec(spec));
    return this.#deleteWhere(compiled, (r) => r === true);
  }

  /**
   * Replaces each record the spec matches with the spec's result, which
   * must keep the key: checked on the spec, statically, before anything
   * changes. Not for bags.
   *
   * @param spec the match spec.
   * @returns how many records were replaced.
   * @throws {EtsError} `table_type` (bags), `not_found`, `access`.
   * @throws {TypeError} for an invalid spec or one that may change keys.
   *
   * @example
   * ```ts
   * import { create } from "@steward/steward/ets";
   * const t = create("selectReplace");
   * t.insert(["a", 1]);
   * t.selectReplace([[["$1", "$2"], [], [["$1", { "+": ["$2", 1] }]]]]);
   * console.assert(t.lookup("a")[0][1] === 2);
   * t.destroy();
   * ```
   */
  selectReplace(spec: unknown): number {
    const o = "selectReplace";
    this.#write(o);
    if (this.#type === "bag" || this.#type === "duplicate_bag") {
      throw this.#fail(o, "table_type", `not for a ${this.#type}`);
    }
    const compiled = this.#compile(o, () => compileSpec(spec));
    if (!compiled.retainsKey(this.#keyPos)) {
      throw typeError(
        o,
        this.#name,
        `every clause's result must keep the key at keyPos ${this.#keyPos}, and this spec may not: ${
          formatTerm(spec)
        }`,
      );
    }
    const updates: [unknown, Rec][] = [];
    scan(this.#store, this.#plan(compiled), false, undefined, (key, recs) => {
      const r = compiled.run(recs[0]);
      if (r !== NO_MATCH && Array.isArray(r)) {
        const copy = r.slice();
        copy[this.#keyPos] = key;
        updates.push([key, copy]);
      }
    });
    for (const [key, rec] of updates) this.#store.replace(key, rec);
    return updates.length;
  }

  #compile(op: string, compile: () => CompiledSpec): CompiledSpec {
    try {
      return compile();
    } catch (e) {
      if (e instanceof TypeError) {
        throw typeError(op, this.#name, e.message);
      }
      throw e;
    }
  }

  #deleteWhere(spec: CompiledSpec, hit: (result: unknown) => boolean): number {
    const doomed: [unknown, Rec][] = [];
    scan(this.#store, this.#plan(spec), false, undefined, (key, recs) => {
      for (const r of recs) if (hit(spec.run(r))) doomed.push([key, r]);
    });
    let n = 0;
    for (const [key, rec] of doomed) n += this.#store.deleteRecord(key, rec);
    return n;
  }

  #plan(spec: CompiledSpec): Plan {
    return planFor(spec, this.#store, this.#type, this.#keyPos);
  }

  /** select, match and friends, with or without a limit. */
  #query(
    op: string,
    spec: CompiledSpec,
    options: LimitOptions | undefined,
    reverse: boolean,
  ): unknown[] | SelectPage<unknown> | undefined {
    const plan = this.#plan(spec);
    if (options === undefined) {
      const out: unknown[] = [];
      scan(this.#store, plan, reverse, undefined, (_k, recs) => {
        for (const r of recs) {
          const v = runCopying(this.#store, spec, r);
          if (v !== NO_MATCH) out.push(v);
        }
      });
      return out;
    }
    const limit = options?.limit;
    if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1) {
      throw new RangeError(
        `Cannot ${op} on table ${
          JSON.stringify(this.#name)
        }: 'limit' must be an integer >= 1, got ${formatTerm(limit)}`,
      );
    }
    return this.#page(op, spec, plan, reverse, limit, [], undefined, false);
  }

  /**
   * One chunk: `buffered` results left over from the last key of the
   * previous chunk, then the scan from `after`.
   */
  #page(
    op: string,
    spec: CompiledSpec,
    plan: Plan,
    reverse: boolean,
    limit: number,
    buffered: unknown[],
    after: Cursor,
    ended: boolean,
  ): SelectPage<unknown> | undefined {
    const out = buffered.slice(); // a continuation can be used twice
    let cursor = after;
    let done = ended;
    if (!done && out.length < limit) {
      done = true;
      scan(this.#store, plan, reverse, after, (_k, recs, c) => {
        for (const r of recs) {
          const v = runCopying(this.#store, spec, r);
          if (v !== NO_MATCH) out.push(v);
        }
        cursor = c;
        if (out.length >= limit) {
          done = false;
          return false;
        }
      });
    }
    if (out.length === 0) return undefined;
    const results = out.slice(0, limit);
    const rest = out.slice(limit);
    if (done && rest.length === 0) return { results, continuation: undefined };
    const next = () => {
      this.#read(op);
      return this.#page(op, spec, plan, reverse, limit, rest, cursor, done);
    };
    return { results, continuation: makeContinuation(next) };
  }

  // ------------------------------------------------------ ownership --

  /**
   * Hands the table to another live process, which gets
   * `["ETS-TRANSFER", table, self(), gift]`. The heir stays as it was.
   *
   * @param pid the new owner.
   * @param gift sent along.
   * @throws {EtsError} `not_owner` (caller is not the owner), `owner` (to
   *   the owner itself), `not_found`.
   * @throws {NoProcError} if `pid` is dead.
   * @throws {TypeError} if `pid` is not a Pid.
   *
   * @example
   * ```ts
   * import { create } from "@steward/steward/ets";
   * import { exit, receive, spawn } from "@steward/steward/process";
   * const t = create("gift");
   * const keeper = spawn(async () => { await receive(); });
   * t.giveAway(keeper, "yours");
   * console.assert(t.info()!.owner === keeper);
   * exit(keeper, "kill"); // no heir: the table goes with its owner
   * console.assert(t.info() === undefined);
   * ```
   */
  giveAway(pid: Pid, gift: unknown): void {
    const o = "giveAway";
    const from = this.#ownerOnly(o);
    if (!(pid instanceof Pid)) {
      throw typeError(
        o,
        this.#name,
        `'pid' must be a Pid, got ${formatTerm(pid)}`,
      );
    }
    const to = procOf(pid);
    if (to === from) {
      throw this.#fail(o, "owner", `${pid} already owns it`);
    }
    if (to.dead) {
      throw new NoProcError(
        `give table ${JSON.stringify(this.#name)} away`,
        pid,
      );
    }
    this.#transfer(from, to, gift);
  }

  #transfer(from: Proc, to: Proc, data: unknown): void {
    removeResource(from, this.#ownerExit);
    this.#owner = to;
    addResource(to, this.#ownerExit);
    deliver(to, ["ETS-TRANSFER", this, from.pid, data]);
    tableTransferred(this.#name, from, to);
  }

  /**
   * Sets (or, with `"none"`, clears) who inherits the table when the owner
   * exits, and the data it then receives.
   *
   * @param heir a pid, or `"none"`.
   * @param data sent with the ETS-TRANSFER message.
   * @throws {EtsError} `not_owner`, `not_found`.
   * @throws {TypeError} for something that is neither a Pid nor "none".
   *
   * @example
   * ```ts
   * import { create } from "@steward/steward/ets";
   * import { self } from "@steward/steward/process";
   * const t = create("inherit");
   * t.setHeir(self(), "data");
   * console.assert(t.info()!.heir === self());
   * t.setHeir("none");
   * t.destroy();
   * ```
   */
  setHeir(heir: Pid | "none", data?: unknown): void {
    const o = "setHeir";
    this.#ownerOnly(o);
    const [proc, d] = parseHeir(
      `setHeir on table ${JSON.stringify(this.#name)}`,
      heir instanceof Pid ? { pid: heir, data } : heir,
    );
    this.#heir = proc;
    this.#heirData = d;
  }

  #onOwnerExit(owner: Proc): void {
    const heir = this.#heir;
    if (heir !== null && !heir.dead && heir !== owner) {
      // The heir setting stays, now naming the new owner itself (OTP).
      this.#transfer(owner, heir, this.#heirData);
      this.#report("info", "table_transferred", owner, heir);
      return;
    }
    this.#drop();
    this.#report("debug", "table_lost", owner, null);
  }

  /** Reports a hand-over or a loss (OTP reports neither: info, debug). */
  #report(
    level: "info" | "debug",
    kind: "table_transferred" | "table_lost",
    owner: Proc,
    heir: Proc | null,
  ): void {
    if (!enabled(undefined, level)) return;
    log({
      level,
      kind,
      time: Date.now(),
      source: "ets",
      table: this.#name,
      pid: owner.pid,
      ...(heir === null ? {} : { heir: heir.pid }),
    });
  }

  /**
   * Renames the table. A named table moves to the new name (which must be
   * free); an unnamed one only changes what `info` reports. Continuations
   * keep working.
   *
   * @param name the new name.
   * @throws {EtsError} `already_exists`, `not_found`, `access`.
   * @throws {TypeError} for a malformed name.
   *
   * @example
   * ```ts
   * import { create, whereis } from "@steward/steward/ets";
   * const t = create("before", { named: true });
   * t.rename("after");
   * console.assert(whereis("after") === t && whereis("before") === undefined);
   * t.destroy();
   * ```
   */
  rename(name: string): void {
    const o = "rename";
    this.#write(o);
    if (typeof name !== "string" || name === "") {
      throw typeError(
        o,
        this.#name,
        `'name' must be a non-empty string, got ${formatTerm(name)}`,
      );
    }
    if (this.#named) {
      if (named.has(name)) {
        throw this.#fail(
          o,
          "already_exists",
          `a named table ${JSON.stringify(name)} exists`,
        );
      }
      named.delete(this.#name);
      named.set(name, this);
    }
    this.#name = name;
  }

  /**
   * Fixes the table for the calling process (`true`) or releases one fix
   * (`false`): while fixed, a first/next walk over a hash table survives
   * deletes (deleted keys are skipped; `next` from one still works). Fixes
   * count per process, and go when the process exits. Unfixing without a
   * fix does nothing.
   *
   * @param fix fix or release.
   * @throws {EtsError} `not_found`, `access`.
   * @throws {TypeError} if `fix` is not a boolean.
   *
   * @example
   * ```ts
   * import { create } from "@steward/steward/ets";
   * const t = create("fixed");
   * t.insertMany([[1], [2], [3]]);
   * t.safeFixtable(true);
   * for (let k = t.first(); k !== undefined; k = t.next(k)) t.delete(k);
   * t.safeFixtable(false);
   * console.assert(t.info()!.size === 0);
   * t.destroy();
   * ```
   */
  safeFixtable(fix: boolean): void {
    this.#read("safeFixtable");
    // A dead process's fix would never be released (its death is over).
    const p = liveCaller();
    if (typeof fix !== "boolean") {
      throw typeError(
        "safeFixtable",
        this.#name,
        `'fix' must be a boolean, got ${formatTerm(fix)}`,
      );
    }
    const fixers = this.#fixers ??= new Map();
    const count = fixers.get(p) ?? 0;
    if (fix) {
      if (count === 0) addResource(p, this.#fixerExit);
      fixers.set(p, count + 1);
      this.#store.fix(1);
    } else if (count > 0) {
      if (count === 1) {
        fixers.delete(p);
        removeResource(p, this.#fixerExit);
      } else fixers.set(p, count - 1);
      this.#store.fix(-1);
    }
  }

  #releaseFixes(p: Proc): void {
    const count = this.#fixers?.get(p) ?? 0;
    this.#fixers?.delete(p);
    for (let i = 0; i < count; i++) this.#store.fix(-1);
  }

  /**
   * What the table is, or `undefined` once it no longer exists. Anyone may
   * ask.
   *
   * @returns name, type, keyPos, access, owner, heir, size, fixes.
   *
   * @example
   * ```ts
   * import { create } from "@steward/steward/ets";
   * import { self } from "@steward/steward/process";
   * const t = create("described", { type: "bag", keyPos: 1 });
   * const info = t.info()!;
   * console.assert(info.type === "bag" && info.keyPos === 1 && info.owner === self());
   * t.destroy();
   * console.assert(t.info() === undefined);
   * ```
   */
  info(): TableInfo | undefined {
    if (!this.#alive) return undefined;
    const heir = this.#heir !== null && !this.#heir.dead ? this.#heir : null;
    const safeFixed = [...(this.#fixers ?? new Map()).entries()].map((
      [p, count],
    ) => ({ pid: p.pid, count }));
    return {
      name: this.#name,
      named: this.#named,
      type: this.#type,
      keyPos: this.#keyPos,
      access: this.#access,
      owner: this.#owner.pid,
      heir: heir?.pid,
      heirData: heir === null ? undefined : this.#heirData,
      size: this.#store.size,
      fixed: safeFixed.length > 0,
      safeFixed,
    };
  }
}

function toNumber(op: string, table: string, x: number | bigint): number {
  if (typeof x === "number") return x;
  const n = Number(x);
  if (!Number.isSafeInteger(n)) {
    throw new RangeError(
      `Cannot ${op} on table ${
        JSON.stringify(table)
      }: ${x} does not fit a number field; use a bigint counter`,
    );
  }
  return n;
}
