// ETS-like tables: ports of ets_SUITE's ★ cases (default, setbag, badnew,
// privacy, badinsert, lookup_order, match_object, t_select_delete,
// t_select_replace, otp_6842_select_1000, t_insert_new, ordered,
// update_element, update_counter, update_counter_with_default, heir,
// give_away, bad_table, take, whereis_table) and of interface_equality,
// safe_fixtable and rename (reference §4, §5.3), adapted to the JS API:
// 0-based positions, insert vs insertMany, `undefined` for the end of a
// walk, copies in and out, typed errors. Cases that make sense for several
// table types run once per type.
import { describe, test } from "./_harness.ts";
import assert from "node:assert/strict";
import {
  all,
  type Continuation,
  create,
  type Table,
  type TableRecord,
  type TableType,
  whereis,
} from "../ets.ts";
import {
  demonitor,
  exit,
  isAlive,
  link,
  monitor,
  type Pid,
  receive,
  type Ref,
  self,
  send,
  spawn,
  spawnLink,
  spawnMonitor,
  trapExit,
} from "../process.ts";
import { EtsError, type EtsErrorCode, NoProcError } from "../errors.ts";
import { compareTerms } from "../_term.ts";
import { formatTerm } from "../_format.ts";
import { assertNoMessages, downReason, flush, forever } from "./_helpers.ts";

const TYPES: readonly TableType[] = [
  "set",
  "ordered_set",
  "bag",
  "duplicate_bag",
];

const KEY_KINDS =
  "a number, bigint, string, boolean, null, Pid, Ref or an array of those";

function isBag(type: TableType): boolean {
  return type === "bag" || type === "duplicate_bag";
}

/** The message of every table error: `Cannot op on table "name": detail`. */
function msg(op: string, table: string, detail: string): string {
  return `Cannot ${op} on table ${JSON.stringify(table)}: ${detail}`;
}

/** A validator for assert.throws/rejects: an EtsError with this cause and message. */
function etsError(
  cause: EtsErrorCode,
  message: string,
): (e: unknown) => true {
  return (e) => {
    assert.ok(e instanceof EtsError, `expected an EtsError, got ${e}`);
    assert.equal(e.name, "EtsError");
    assert.equal(e.code, cause);
    assert.equal(e.cause, undefined);
    assert.equal(e.message, message);
    // operation and table are what the message names.
    assert.ok(e.message.startsWith(msg(e.operation, e.table, "")));
    return true;
  };
}

/** A validator: an error of class `cls` with this message. */
function errorOf(
  cls: new (...args: never[]) => Error,
  message: string,
): (e: unknown) => true {
  return (e) => {
    assert.ok(e instanceof cls, `expected a ${cls.name}, got ${e}`);
    assert.equal(e.constructor, cls, `expected exactly a ${cls.name}`);
    assert.equal(e.message, message);
    return true;
  };
}

/** What a process spawned by {@linkcode runIn} got: a value or an error. */
interface Outcome {
  pid: Pid;
  ok: boolean;
  value: unknown;
}

/**
 * Runs `fn` in a new process (a non-owner), and returns what it returned or
 * threw, and the process's pid. The process exits when `fn` is done.
 */
async function runIn(fn: (me: Pid) => unknown): Promise<Outcome> {
  const main = self();
  const tag = Symbol("runIn");
  const pid = spawn(async (me) => {
    try {
      send(main, [tag, true, await fn(me)]);
    } catch (e) {
      send(main, [tag, false, e]);
    }
  });
  const [, ok, value] = await receive((m) =>
    Array.isArray(m) && m[0] === tag
  ) as [symbol, boolean, unknown];
  return { pid, ok, value };
}

/** The value `fn` returned in another process; fails if it threw. */
async function valueIn(fn: (me: Pid) => unknown): Promise<unknown> {
  const r = await runIn(fn);
  if (!r.ok) throw r.value;
  return r.value;
}

/** A process that owns a table: linked to and monitored by main. */
interface Owner {
  pid: Pid;
  ref: Ref;
  table: Table;
}

/**
 * Spawns a process (linked to and monitored by main) that creates a table
 * (and runs `setup` on it), then serves {@linkcode runOwner} requests until
 * `"die"` makes it return (exit normal).
 */
async function spawnOwner(
  name: string,
  options: Parameters<typeof create>[1] = {},
  setup: (t: Table) => void = () => {},
): Promise<Owner> {
  const main = self();
  const tag = Symbol("owner");
  const pid = spawnLink(async () => {
    const t = create(name, options);
    setup(t);
    send(main, [tag, t]);
    for (;;) {
      const m = await receive((m) =>
        m === "die" || (Array.isArray(m) && m[0] === "run")
      );
      if (m === "die") return;
      const [, reply, fn] = m as [string, symbol, () => unknown];
      let value: unknown;
      try {
        value = fn();
      } catch (e) {
        value = e;
      }
      send(main, [reply, value]);
    }
  });
  const ref = monitor(pid);
  const [, table] = await receive((m) => Array.isArray(m) && m[0] === tag) as [
    symbol,
    Table,
  ];
  return { pid, ref, table };
}

/**
 * Runs `fn` in an owner made by {@linkcode spawnOwner}: what it returned or
 * threw.
 */
async function runOwner(owner: Owner, fn: () => unknown): Promise<unknown> {
  const tag = Symbol("runOwner");
  send(owner.pid, ["run", tag, fn]);
  const [, value] = await receive((m) => Array.isArray(m) && m[0] === tag) as [
    symbol,
    unknown,
  ];
  return value;
}

/**
 * Asserts a message element by element: pids, refs and tables by identity
 * (deepEqual cannot tell two pids apart), the rest by value.
 */
function assertMessage(actual: unknown, expected: readonly unknown[]): void {
  assert.ok(Array.isArray(actual), `expected a message array, got ${actual}`);
  assert.equal(actual.length, expected.length, formatTerm(actual));
  expected.forEach((x, i) => {
    const isHandle = x !== null && typeof x === "object" && !Array.isArray(x) &&
      Object.getPrototypeOf(x) !== Object.prototype;
    if (isHandle) assert.equal(actual[i], x, `element ${i}`);
    else assert.deepEqual(actual[i], x, `element ${i}`);
  });
}

/** info().safeFixed as [pid is `pid`, count] pairs. */
function fixes(t: Table, pid: Pid = self()): [boolean, number][] {
  return t.info()!.safeFixed.map((f) => [f.pid === pid, f.count]);
}

/** A process that waits forever (until killed). */
function idle(): Pid {
  return spawn(forever);
}

/** Kills live processes, then empties main's mailbox. */
async function kill(...pids: Pid[]): Promise<void> {
  for (const pid of pids) if (isAlive(pid)) exit(pid, "kill");
  await flush();
}

/** Destroys a table if it still exists. */
function drop(...tables: Table[]): void {
  for (const t of tables) if (t.info() !== undefined) t.destroy();
}

/** A canonical string for any key or record, telling 1 from 1n. */
function canon(x: unknown): string {
  if (typeof x === "bigint") return `${x}n`;
  if (typeof x === "number") return Object.is(x, -0) ? "-0" : String(x);
  if (typeof x === "string") return JSON.stringify(x);
  if (Array.isArray(x)) return `[${x.map(canon).join(",")}]`;
  if (x !== null && typeof x === "object") {
    const o = x as Record<string, unknown>;
    return `{${
      Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canon(o[k])}`)
        .join(",")
    }}`;
  }
  return String(x);
}

/** Sorted by canon: compares results whose order is not specified. */
function sorted<T>(xs: readonly T[]): T[] {
  return [...xs].sort((a, b) => {
    const x = canon(a);
    const y = canon(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

/** Every key of a first/next walk. */
function walk(t: Table): unknown[] {
  const keys: unknown[] = [];
  for (let k = t.first(); k !== undefined; k = t.next(k)) keys.push(k);
  return keys;
}

/** Every chunk of a limited select/match, as arrays. */
function chunks<T>(
  first:
    | { results: T[]; continuation: Continuation<T> | undefined }
    | undefined,
): T[][] {
  const out: T[][] = [];
  let page = first;
  while (page !== undefined) {
    out.push(page.results);
    page = page.continuation?.next();
  }
  return out;
}

/** A deterministic shuffle (so failures reproduce). */
function shuffle<T>(xs: readonly T[], seed = 42): T[] {
  const out = [...xs];
  let s = seed >>> 0;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

// ----------------------------------------------------------- create --

describe("ets.create()", () => {
  test("create() makes a set, protected, keyPos 0, owned by the caller, no heir, not named (default)", () => {
    const t = create("default_tab");
    try {
      assert.deepEqual(t.info(), {
        name: "default_tab",
        named: false,
        type: "set",
        keyPos: 0,
        access: "protected",
        owner: self(),
        heir: undefined,
        heirData: undefined,
        size: 0,
        fixed: false,
        safeFixed: [],
      });
      assert.equal(t.name, "default_tab");
      assert.equal(String(t), 'Table "default_tab"');
      assert.equal(whereis("default_tab"), undefined);
      assert.ok(all().includes(t));
    } finally {
      t.destroy();
    }
    assert.ok(!all().includes(t));
  });

  test("create() takes type, access, keyPos, named and heir, and info() reports them", async () => {
    const heir = idle();
    const t = create("all_options", {
      type: "duplicate_bag",
      access: "public",
      keyPos: 2,
      named: true,
      heir: { pid: heir, data: { why: "test" } },
    });
    try {
      const info = t.info()!;
      assert.equal(info.type, "duplicate_bag");
      assert.equal(info.access, "public");
      assert.equal(info.keyPos, 2);
      assert.equal(info.named, true);
      assert.equal(info.heir, heir);
      assert.deepEqual(info.heirData, { why: "test" });
      assert.equal(whereis("all_options"), t);
      const bare = create("heir_pid_only", { heir });
      assert.equal(bare.info()!.heir, heir);
      assert.equal(bare.info()!.heirData, undefined);
      bare.destroy();
    } finally {
      t.destroy();
      await kill(heir);
    }
  });

  test("create() rejects malformed names and options with TypeError or RangeError, creating nothing (badnew)", () => {
    const before = all().length;
    const cases: [() => unknown, new (m: string) => Error, string][] = [
      [
        () => create(12 as never),
        TypeError,
        "Cannot create table: 'name' must be a non-empty string, got 12",
      ],
      [
        () => create(["a", "b"] as never),
        TypeError,
        `Cannot create table: 'name' must be a non-empty string, got ["a", "b"]`,
      ],
      [
        () => create(""),
        TypeError,
        `Cannot create table: 'name' must be a non-empty string, got ""`,
      ],
      [
        () => create("bad", "set" as never),
        TypeError,
        `Cannot create table "bad": 'options' must be an object, got "set"`,
      ],
      [
        () => create("bad", null as never),
        TypeError,
        `Cannot create table "bad": 'options' must be an object, got null`,
      ],
      [
        () => create("bad", { foo: 1 } as never),
        TypeError,
        `Cannot create table "bad": unknown option "foo" (known: type, access, keyPos, named, heir)`,
      ],
      [
        () => create("bad", { type: "sett" } as never),
        TypeError,
        `Cannot create table "bad": 'type' must be "set", "ordered_set", "bag" or "duplicate_bag", got "sett"`,
      ],
      [
        () => create("bad", { access: "open" } as never),
        TypeError,
        `Cannot create table "bad": 'access' must be "public", "protected" or "private", got "open"`,
      ],
      [
        () => create("bad", { keyPos: "1" } as never),
        TypeError,
        `Cannot create table "bad": 'keyPos' must be a number, got "1"`,
      ],
      [
        () => create("bad", { keyPos: -1 }),
        RangeError,
        `Cannot create table "bad": 'keyPos' must be a non-negative integer, got -1`,
      ],
      [
        () => create("bad", { keyPos: 1.5 }),
        RangeError,
        `Cannot create table "bad": 'keyPos' must be a non-negative integer, got 1.5`,
      ],
      [
        () => create("bad", { named: "yes" } as never),
        TypeError,
        `Cannot create table "bad": 'named' must be a boolean, got "yes"`,
      ],
      [
        () => create("bad", { heir: 5 } as never),
        TypeError,
        `Cannot create table "bad": 'heir' must be a Pid, { pid, data } or "none", got 5`,
      ],
      [
        () => create("bad", { heir: { pid: "x" } } as never),
        TypeError,
        `Cannot create table "bad": 'heir' must be a Pid, { pid, data } or "none", got { pid: "x" }`,
      ],
    ];
    for (const [fn, cls, message] of cases) {
      assert.throws(fn, errorOf(cls, message));
    }
    assert.equal(all().length, before);
    assert.equal(whereis("bad"), undefined);
  });

  test("create() of a taken named name throws EtsError alreadyExists; unnamed tables may share a name", () => {
    const t = create("taken", { named: true });
    try {
      assert.throws(
        () => create("taken", { named: true }),
        etsError(
          "already_exists",
          msg("create", "taken", "a named table with this name exists"),
        ),
      );
      const u1 = create("taken");
      const u2 = create("taken");
      assert.notEqual(u1, u2);
      assert.equal(whereis("taken"), t);
      u1.destroy();
      u2.destroy();
    } finally {
      t.destroy();
    }
  });

  test("create() with heir 'none' or a dead heir has no heir", async () => {
    const [dead, ref] = spawnMonitor(() => {});
    await downReason(ref);
    const a = create("heir_none", { heir: "none" } as never);
    const b = create("heir_dead", { heir: { pid: dead, data: 1 } });
    assert.equal(a.info()!.heir, undefined);
    assert.equal(b.info()!.heir, undefined);
    assert.equal(b.info()!.heirData, undefined);
    a.destroy();
    b.destroy();
  });

  test("all() lists live tables oldest first and drops destroyed ones", () => {
    const a = create("all_a");
    const b = create("all_b");
    const listed = all();
    assert.ok(listed.indexOf(a) >= 0 && listed.indexOf(a) < listed.indexOf(b));
    a.destroy();
    assert.ok(!all().includes(a) && all().includes(b));
    b.destroy();
  });
});

// ------------------------------------------- operations, by access --

/** One operation of each kind, with what it needs. */
type Kind = "read" | "write" | "owner";
const OPS: [string, Kind, (t: Table) => unknown][] = [
  ["insert", "write", (t) => t.insert([1, 1])],
  ["insertMany", "write", (t) => t.insertMany([[1, 1]])],
  ["insertNew", "write", (t) => t.insertNew([1, 1])],
  ["insertNewMany", "write", (t) => t.insertNewMany([[1, 1]])],
  ["delete", "write", (t) => t.delete(1)],
  ["deleteObject", "write", (t) => t.deleteObject([1, 1])],
  ["deleteAllObjects", "write", (t) => t.deleteAllObjects()],
  ["take", "write", (t) => t.take(1)],
  ["updateCounter", "write", (t) => t.updateCounter(0, 1)],
  ["updateElement", "write", (t) => t.updateElement(0, [1, 2])],
  ["matchDelete", "write", (t) => t.matchDelete(["_", 5])],
  ["selectDelete", "write", (t) => t.selectDelete([["_", [], [false]]])],
  ["selectReplace", "write", (t) => t.selectReplace([["_", [], ["$_"]]])],
  ["rename", "write", (t) => t.rename("renamed_by_other")],
  ["destroy", "write", (t) => t.destroy()],
  ["lookup", "read", (t) => t.lookup(0)],
  ["lookupElement", "read", (t) => t.lookupElement(0, 1)],
  ["member", "read", (t) => t.member(0)],
  ["first", "read", (t) => t.first()],
  ["next", "read", (t) => t.next(0)],
  ["last", "read", (t) => t.last()],
  ["prev", "read", (t) => t.prev(0)],
  ["foldl", "read", (t) => t.foldl((_r, n: number) => n + 1, 0)],
  ["foldr", "read", (t) => t.foldr((_r, n: number) => n + 1, 0)],
  ["toList", "read", (t) => t.toList()],
  ["match", "read", (t) => t.match(["$1", "_"])],
  ["matchObject", "read", (t) => t.matchObject(["_", "_"])],
  ["select", "read", (t) => t.select([["_", [], [true]]])],
  ["selectReverse", "read", (t) => t.selectReverse([["_", [], [true]]])],
  ["selectCount", "read", (t) => t.selectCount([["_", [], [true]]])],
  ["safeFixtable", "read", (t) => t.safeFixtable(true)],
  ["giveAway", "owner", (t) => t.giveAway(self(), "gift")],
  ["setHeir", "owner", (t) => t.setHeir("none")],
];

// ---------------------------------------------------- per table type --

for (const type of TYPES) {
  const bag = isBag(type);
  const ordered = type === "ordered_set";
  describe(`Table (${type})`, () => {
    test(
      `insert() ${
        bag
          ? "keeps every record of a key, oldest first"
          : "replaces the record of the key"
      } (setbag)`,
      () => {
        const t = create("setbag", { type });
        try {
          t.insert(["key", "value1"]);
          t.insert(["key", "value2"]);
          assert.deepEqual(
            t.lookup("key"),
            bag ? [["key", "value1"], ["key", "value2"]] : [["key", "value2"]],
          );
          t.insert(["key", "value1"]);
          const expected = {
            set: [["key", "value1"]],
            ordered_set: [["key", "value1"]],
            bag: [["key", "value1"], ["key", "value2"]],
            duplicate_bag: [["key", "value1"], ["key", "value2"], [
              "key",
              "value1",
            ]],
          }[type];
          assert.deepEqual(t.lookup("key"), expected);
          assert.equal(t.info()!.size, expected.length);
          assert.deepEqual(t.lookup("other"), []);
        } finally {
          t.destroy();
        }
      },
    );

    test("insert() and insertMany() reject bad records with TypeError and insert nothing (badinsert)", () => {
      const t = create("badinsert", { type });
      const k2 = create("badinsert_k2", { type, keyPos: 2 });
      try {
        t.insert([0, "kept"]);
        const cases: [() => unknown, string][] = [
          [
            () => t.insert([]),
            msg(
              "insert",
              "badinsert",
              "a record must have an element at keyPos 0, got []",
            ),
          ],
          [
            () => t.insert("x" as never),
            msg("insert", "badinsert", `a record must be an array, got "x"`),
          ],
          [
            () => t.insert({ 0: 1 } as never),
            msg(
              "insert",
              "badinsert",
              `a record must be an array, got { "0": 1 }`,
            ),
          ],
          [
            () => k2.insert([1, 2]),
            msg(
              "insert",
              "badinsert_k2",
              "a record must have an element at keyPos 2, got [1, 2]",
            ),
          ],
          [
            () => t.insert([{}, 1]),
            msg("insert", "badinsert", `the key must be ${KEY_KINDS}, got {}`),
          ],
          [
            () => t.insert([undefined, 1]),
            msg(
              "insert",
              "badinsert",
              `the key must be ${KEY_KINDS}, got undefined`,
            ),
          ],
          [
            () => t.insert([NaN, 1]),
            msg("insert", "badinsert", `the key must be ${KEY_KINDS}, got NaN`),
          ],
          [
            () => t.insert([["a", { b: 1 }], 1]),
            msg(
              "insert",
              "badinsert",
              `the key must be ${KEY_KINDS}, got ["a", { b: 1 }]`,
            ),
          ],
          [
            () => t.insertMany([[1, 1], 5] as never),
            msg("insertMany", "badinsert", "a record must be an array, got 5"),
          ],
          [
            () => t.insertMany(5 as never),
            msg(
              "insertMany",
              "badinsert",
              "'records' must be an iterable of records, got 5",
            ),
          ],
          [
            () => t.insertNew([]),
            msg(
              "insertNew",
              "badinsert",
              "a record must have an element at keyPos 0, got []",
            ),
          ],
          [
            () => t.insertNewMany([[2, 2], [() => 1, 3]]),
            msg(
              "insertNewMany",
              "badinsert",
              `the key must be ${KEY_KINDS}, got [Function anonymous]`,
            ),
          ],
          [
            () => t.deleteObject([]),
            msg(
              "deleteObject",
              "badinsert",
              "a record must have an element at keyPos 0, got []",
            ),
          ],
        ];
        for (const [fn, message] of cases) {
          assert.throws(fn, errorOf(TypeError, message));
        }
        assert.deepEqual(t.toList(), [[0, "kept"]]);
        assert.deepEqual(k2.toList(), []);
        t.destroy();
        assert.throws(
          () => t.insert([1, 1]),
          etsError(
            "not_found",
            msg("insert", "badinsert", "the table no longer exists"),
          ),
        );
      } finally {
        drop(t, k2);
      }
    });

    test("insertMany() with one bad record anywhere inserts nothing; nor does insertNewMany()", () => {
      const t = create("atomic_insert", { type });
      try {
        t.insertMany([["a", 1], ["b", 2]]);
        const before = t.toList();
        assert.throws(
          () => t.insertMany([["c", 3], ["a", 9], [], ["d", 4]]),
          errorOf(
            TypeError,
            msg(
              "insertMany",
              "atomic_insert",
              "a record must have an element at keyPos 0, got []",
            ),
          ),
        );
        assert.throws(
          () => t.insertNewMany([["c", 3], [null, 1], [NaN, 4]]),
          errorOf(
            TypeError,
            msg(
              "insertNewMany",
              "atomic_insert",
              `the key must be ${KEY_KINDS}, got NaN`,
            ),
          ),
        );
        assert.deepEqual(t.toList(), before);
        assert.equal(t.info()!.size, 2);
        assert.ok(!t.member("c") && !t.member("d") && !t.member(null));
        // An iterable that is not an array works too.
        t.insertMany(new Set([["e", 5]]));
        assert.deepEqual(t.lookup("e"), [["e", 5]]);
      } finally {
        t.destroy();
      }
    });

    test("insertNew() and insertNewMany() insert only when no key exists (t_insert_new)", () => {
      const t = create("insert_new", { type });
      try {
        assert.equal(t.insertNew(["a", 1]), true);
        assert.equal(t.insertNew(["a", 2]), false);
        assert.deepEqual(t.lookup("a"), [["a", 1]]);
        assert.equal(t.insertNewMany([["b", 1], ["c", 1]]), true);
        assert.equal(t.insertNewMany([["d", 1], ["b", 2], ["e", 1]]), false);
        assert.ok(!t.member("d") && !t.member("e"));
        assert.deepEqual(t.lookup("b"), [["b", 1]]);
        assert.equal(t.insertNewMany([]), true);
        // Duplicate keys inside the list: none exists yet, so it goes in.
        assert.equal(t.insertNewMany([["f", 1], ["f", 2]]), true);
        assert.deepEqual(
          t.lookup("f"),
          bag ? [["f", 1], ["f", 2]] : [["f", 2]],
        );
        // An identical record is still "the key exists".
        assert.equal(t.insertNew(["c", 1]), false);
        assert.equal(t.info()!.size, bag ? 5 : 4);
      } finally {
        t.destroy();
      }
    });

    test("lookup() returns [] for absent keys; delete() of an absent key does nothing", () => {
      const t = create("empty", { type });
      try {
        assert.deepEqual(t.lookup("nothing"), []);
        assert.deepEqual(t.lookup(["a", 1]), []);
        t.delete("nothing");
        t.insert(["x", 1]);
        t.delete("nothing");
        assert.deepEqual(t.toList(), [["x", 1]]);
        t.delete("x");
        assert.deepEqual(t.toList(), []);
        assert.equal(t.first(), undefined);
        assert.equal(t.last(), undefined);
      } finally {
        t.destroy();
      }
    });

    test("take() removes and returns the records of a key, [] when absent (take)", () => {
      const t = create("take", { type });
      try {
        t.insertMany([["a", 1], ["b", 2], ["a", 3]]);
        assert.deepEqual(t.take("nothing"), []);
        assert.deepEqual(
          t.take("a"),
          bag ? [["a", 1], ["a", 3]] : [["a", 3]],
        );
        assert.deepEqual(t.lookup("a"), []);
        assert.ok(!t.member("a"));
        assert.deepEqual(t.take("a"), []);
        assert.deepEqual(t.toList(), [["b", 2]]);
        t.insert([1n, "big"]);
        // ordered_set: 1 == 1n; others: 1 =/= 1n.
        assert.deepEqual(t.take(1), ordered ? [[1n, "big"]] : []);
        assert.equal(t.member(1n), !ordered);
      } finally {
        t.destroy();
      }
    });

    test("1 and 1n: two keys in a hash table, one key in an ordered_set (which stores the newer key)", () => {
      const t = create("one_and_1n", { type });
      try {
        t.insert([1, "number"]);
        t.insert([1n, "bigint"]);
        if (ordered) {
          assert.equal(t.info()!.size, 1);
          assert.deepEqual(t.lookup(1), [[1n, "bigint"]]);
          assert.deepEqual(t.lookup(1n), [[1n, "bigint"]]);
          assert.equal(t.first(), 1n);
          assert.deepEqual(walk(t), [1n]);
          t.insert([1, "number again"]);
          assert.equal(t.first(), 1);
          assert.deepEqual(t.toList(), [[1, "number again"]]);
          assert.equal(t.insertNew([1n, "x"]), false);
          t.delete(1n);
          assert.equal(t.info()!.size, 0);
        } else {
          assert.equal(t.info()!.size, 2);
          assert.deepEqual(t.lookup(1), [[1, "number"]]);
          assert.deepEqual(t.lookup(1n), [[1n, "bigint"]]);
          assert.deepEqual(walk(t), [1, 1n]);
          assert.equal(t.insertNew([1n, "x"]), false);
          t.delete(1);
          assert.deepEqual(t.toList(), [[1n, "bigint"]]);
          assert.ok(!t.member(1) && t.member(1n));
        }
        // The same inside tuple keys.
        t.insertMany([[[1, "x"], "number"], [[1n, "x"], "bigint"]]);
        assert.equal(t.info()!.size, ordered ? 1 : 3);
        assert.deepEqual(
          t.lookup([1, "x"]),
          ordered ? [[[1n, "x"], "bigint"]] : [[[1, "x"], "number"]],
        );
        // Matching is exact even in an ordered_set: 1 does not match 1n.
        assert.deepEqual(
          t.matchObject([[1, "x"], "_"]),
          ordered ? [] : [[[1, "x"], "number"]],
        );
      } finally {
        t.destroy();
      }
    });

    test("tuple keys: arrays compare by value, nested, with any keyPos", () => {
      const t = create("tuple_keys", { type });
      const k1 = create("tuple_keys_pos1", { type, keyPos: 1 });
      try {
        const key = ["stream", 42];
        t.insert([key, "a"]);
        t.insert([["stream", 43], "b"]);
        t.insert([[["nested", [1, 2n]], null], "c"]);
        t.insert([[], "empty"]);
        assert.deepEqual(t.lookup(["stream", 42]), [[["stream", 42], "a"]]);
        assert.ok(t.member([["nested", [1, 2n]], null]));
        // 2 == 2n: the same key in an ordered_set only.
        assert.equal(t.member([["nested", [1, 2]], null]), ordered);
        assert.ok(!t.member(["stream"]));
        assert.ok(!t.member(["stream", 42, 0]));
        assert.deepEqual(t.lookup([]), [[[], "empty"]]);
        // The table keeps its own frozen copy of the key.
        key[1] = 0;
        assert.deepEqual(t.lookup(["stream", 42]), [[["stream", 42], "a"]]);
        assert.deepEqual(t.lookup(["stream", 0]), []);
        const stored = t.lookup(["stream", 42])[0][0] as unknown[];
        assert.ok(Object.isFrozen(stored));
        assert.equal(
          sorted(walk(t)).length,
          4,
        );
        assert.deepEqual(
          sorted(walk(t)),
          sorted([
            ["stream", 42],
            ["stream", 43],
            [["nested", [1, 2n]], null],
            [],
          ]),
        );
        assert.deepEqual(t.take(["stream", 43]), [[["stream", 43], "b"]]);
        t.delete([["nested", [1, 2n]], null]);
        assert.deepEqual(
          sorted(t.toList()),
          sorted([[["stream", 42], "a"], [[], "empty"]]),
        );
        k1.insert(["v", ["k", 1]]);
        k1.insert(["w", ["k", 2]]);
        assert.deepEqual(k1.lookup(["k", 1]), [["v", ["k", 1]]]);
        assert.deepEqual(k1.lookupElement(["k", 2], 0), bag ? ["w"] : "w");
      } finally {
        t.destroy();
        k1.destroy();
      }
    });

    test(`"__proto__" and other Object.prototype names are ordinary keys`, () => {
      const t = create("proto_keys", { type });
      try {
        const names = [
          "__proto__",
          "constructor",
          "toString",
          "hasOwnProperty",
        ];
        assert.ok(!t.member("__proto__") && !t.member("constructor"));
        assert.deepEqual(t.lookup("__proto__"), []);
        for (const name of names) t.insert([name, name.length]);
        for (const name of names) {
          assert.deepEqual(t.lookup(name), [[name, name.length]]);
        }
        assert.equal(t.info()!.size, 4);
        assert.deepEqual(sorted(walk(t)), sorted(names));
        assert.deepEqual(t.select([[["__proto__", "$1"], [], ["$1"]]]), [9]);
        assert.deepEqual(t.take("__proto__"), [["__proto__", 9]]);
        assert.ok(!t.member("__proto__"));
        t.insert([["__proto__"], 1]);
        assert.deepEqual(t.lookup(["__proto__"]), [[["__proto__"], 1]]);
        if (!bag) assert.equal(t.updateElement("constructor", [1, "x"]), true);
        assert.equal(
          ({} as Record<string, unknown>).constructor,
          Object,
          "Object.prototype untouched",
        );
      } finally {
        t.destroy();
      }
    });

    test("records are copied in and frozen on the way out: no array inserted or returned can change the table", () => {
      const t = create("copies", { type });
      try {
        const rec = ["k", 1, ["nested"]];
        t.insert(rec);
        rec[1] = 2;
        rec.push("extra");
        assert.deepEqual(t.lookup("k"), [["k", 1, ["nested"]]]);
        // What comes out is frozen: writing to it throws, the table stays.
        const mutable = (r: unknown) => r as unknown[];
        const out = mutable(t.lookup("k")[0]);
        assert.ok(Object.isFrozen(out));
        assert.throws(() => {
          out[1] = 99;
        }, TypeError);
        assert.throws(() => out.push("more"), TypeError);
        const listed = mutable(t.toList()[0]);
        const folded = mutable(
          t.foldl((r, acc: unknown[]) => [...acc, r], [])[0],
        );
        const matched = mutable(t.matchObject(["k", "_", "_"])[0]);
        const selected = mutable(t.select([[["$1", "_", "_"], [], ["$_"]]])[0]);
        const paged = mutable(
          t.select([["_", [], ["$_"]]], { limit: 1 })!.results[0],
        );
        for (const r of [listed, folded, matched, selected, paged]) {
          assert.throws(() => {
            r[1] = 98;
          }, TypeError);
        }
        assert.deepEqual(t.lookup("k"), [["k", 1, ["nested"]]]);
        const batch = [["m", 1], ["n", 1]];
        t.insertMany(batch);
        batch[0][1] = 50;
        assert.deepEqual(t.lookup("m"), [["m", 1]]);
        // Updates replace a record a reader holds, never change it.
        if (type === "set" || type === "ordered_set") {
          const held = t.lookup("m")[0];
          t.updateCounter("m", 1);
          t.updateElement("m", [1, 10]);
          assert.deepEqual(held, ["m", 1]);
          assert.deepEqual(t.lookup("m"), [["m", 10]]);
        }
        const taken = t.take("m");
        assert.equal(taken.length, 1);
        assert.deepEqual(t.lookup("m"), []);
      } finally {
        t.destroy();
      }
    });

    test("select() and match() results that hold the whole record hold a copy, not the table's record", () => {
      const t = create("copies_select", { type });
      try {
        // Each way of getting the whole record inside a result; changing
        // what came back must not change the table.
        const ways: [string, () => unknown[][]][] = [
          [
            'select body ["$_"]',
            () => t.select([["_", [], [["$_"]]]]) as unknown[][],
          ],
          [
            'select body { object: { r: "$_" } }',
            () =>
              (t.select([["_", [], [{ object: { r: "$_" } }]]]) as {
                r: unknown[];
              }[])
                .map((o) => [o.r]),
          ],
          ['match("$1")', () => t.match("$1")],
          [
            'select head "$1" body "$$"',
            () => t.select([["$1", [], ["$$"]]]) as unknown[][],
          ],
          [
            'select head "$1" body "$1"',
            () =>
              (t.select([["$1", [], ["$1"]]]) as unknown[][]).map((r) => [r]),
          ],
          [
            'match("$1") with a limit',
            () => t.match("$1", { limit: 5 })!.results,
          ],
        ];
        const leaks: string[] = [];
        for (const [what, get] of ways) {
          t.deleteAllObjects();
          t.insert(["k", 1]);
          const got = get();
          assert.deepEqual(got, [[["k", 1]]], what);
          (got[0][0] as unknown[])[1] = "changed";
          if (t.lookup("k")[0][1] !== 1) leaks.push(what);
        }
        assert.deepEqual(
          leaks,
          [],
          "results that let callers change the table",
        );
      } finally {
        t.destroy();
      }
    });

    test("select() and match() hand out objects stored in records as they are: cyclic, getter-only and read-only ones too", () => {
      const t = create("shared_objects", { type });
      try {
        const cyclic: Record<string, unknown> = { name: "cyclic" };
        cyclic.self = cyclic;
        const getter = {
          get inner() {
            return { a: 1 };
          },
        };
        const readOnly = Object.defineProperty({}, "x", {
          value: { deep: 1 },
          enumerable: true,
          writable: false,
        });
        const objects: [string, object][] = [
          ["cyclic", cyclic],
          ["getter", getter],
          ["readOnly", readOnly],
        ];
        for (const [k, o] of objects) t.insert([k, o]);
        // Every way of getting the stored object back hands out the object
        // itself (copies are shallow): listed, so one failure shows all.
        const ways: [string, (k: string) => unknown][] = [
          ["select $1", (k) => t.select([[[k, "$1"], [], ["$1"]]])[0]],
          [
            "select [$1]",
            (k) => (t.select([[[k, "$1"], [], [["$1"]]]])[0] as unknown[])[0],
          ],
          [
            "select [$_]",
            (k) =>
              (t.select([[[k, "_"], [], [["$_"]]]])[0] as unknown[][])[0][1],
          ],
          ["match", (k) => t.match([k, "$1"])[0][0]],
          ["matchObject", (k) => t.matchObject([k, "_"])[0][1]],
          ["lookup", (k) => t.lookup(k)[0][1]],
        ];
        const problems: string[] = [];
        for (const [k, o] of objects) {
          for (const [way, get] of ways) {
            try {
              if (get(k) !== o) problems.push(`${way} ${k}: not the object`);
            } catch (e) {
              problems.push(`${way} ${k}: ${e}`);
            }
          }
        }
        assert.deepEqual(problems, []);
        assert.equal(cyclic.self, cyclic);
      } finally {
        t.destroy();
      }
    });

    test("NaN is not a key: lookups, updates, selects and deletes of NaN find nothing and remove nothing", () => {
      const t = create("nan", { type });
      try {
        t.insertMany([[5, "five"], [[7], "seven"], [-1, "minus"]]);
        assert.deepEqual(t.lookup(NaN), []);
        assert.equal(t.member(NaN), false);
        assert.deepEqual(t.lookup([NaN]), []);
        assert.deepEqual(t.take(NaN), []);
        assert.equal(t.lookupElement(NaN, 1, { default: "none" }), "none");
        assert.deepEqual(t.matchObject([NaN, "_"]), []);
        assert.deepEqual(t.select([[[NaN, "$1"], [], ["$1"]]]), []);
        assert.equal(t.selectDelete([[[[NaN], "_"], [], [true]]]), 0);
        if (!bag) {
          assert.equal(t.updateElement(NaN, [1, "x"]), false);
          assert.throws(
            () => t.updateCounter(NaN, 1),
            etsError(
              "bad_key",
              msg("updateCounter", "nan", "no record with key NaN"),
            ),
          );
        }
        t.delete(NaN);
        t.delete([NaN]);
        assert.throws(
          () => t.deleteObject([NaN, "five"]),
          errorOf(
            TypeError,
            msg("deleteObject", "nan", `the key must be ${KEY_KINDS}, got NaN`),
          ),
        );
        assert.equal(t.info()!.size, 3);
        assert.deepEqual(
          sorted(t.toList()),
          sorted([[5, "five"], [[7], "seven"], [-1, "minus"]]),
        );
      } finally {
        t.destroy();
      }
    });

    test("deleteObject() removes only identical records (every copy in a duplicate_bag)", () => {
      const t = create("delete_object", { type });
      try {
        t.insertMany([["a", 1], ["a", 2], ["a", 1], ["b", 1]]);
        t.deleteObject(["a", 3]);
        t.deleteObject(["a", 1, "longer"]);
        t.deleteObject(["c", 1]);
        const before = t.lookup("a");
        assert.deepEqual(
          before,
          {
            set: [["a", 1]],
            ordered_set: [["a", 1]],
            bag: [["a", 1], ["a", 2]],
            duplicate_bag: [["a", 1], ["a", 2], ["a", 1]],
          }[type],
        );
        t.deleteObject(["a", 1]);
        assert.deepEqual(t.lookup("a"), bag ? [["a", 2]] : []);
        t.deleteObject(["a", 2]);
        assert.deepEqual(t.lookup("a"), []);
        assert.ok(!t.member("a"));
        assert.deepEqual(t.toList(), [["b", 1]]);
      } finally {
        t.destroy();
      }
    });

    test("deleteAllObjects() empties the table; destroy() twice fails with notFound", () => {
      const t = create("delete_all", { type });
      t.insertMany([[1], [2], [3]]);
      t.deleteAllObjects();
      assert.equal(t.info()!.size, 0);
      assert.deepEqual(t.toList(), []);
      t.insert([4]);
      assert.deepEqual(t.toList(), [[4]]);
      t.destroy();
      assert.throws(
        () => t.destroy(),
        etsError(
          "not_found",
          msg("destroy", "delete_all", "the table no longer exists"),
        ),
      );
    });

    test(
      `first()/next() walk ${
        ordered ? "in term order" : "in insertion order of keys"
      }, and toList(), select() and foldl() follow it`,
      () => {
        const t = create("walk_order", { type });
        try {
          const keys = ["b", 3, ["t", 1], "a", 1n, null, true, 2];
          for (const k of keys) t.insert([k, canon(k)]);
          if (bag) t.insert(["b", "again"]);
          const expected = ordered ? [...keys].sort(compareTerms) : keys;
          assert.deepEqual(walk(t), expected);
          assert.deepEqual(
            t.toList().map((r) => r[0]),
            bag ? [expected[0], ...expected] : expected,
          );
          assert.deepEqual(
            t.select([[["$1", "_"], [], ["$1"]]]),
            t.toList().map((r) => r[0]),
          );
          assert.deepEqual(
            t.foldl((r, acc: unknown[]) => [...acc, r[0]], []),
            t.toList().map((r) => r[0]),
          );
          assert.deepEqual(
            t.foldr((r, acc: unknown[]) => [...acc, r[0]], []),
            ordered ? [...expected].reverse() : t.toList().map((r) => r[0]),
          );
          // Ordered: strings come last ("b"); otherwise the first inserted.
          assert.deepEqual(t.last(), "b");
          if (!ordered) {
            // prev is next, and last is first, as in OTP.
            assert.equal(t.prev("b"), t.next("b"));
            // A key deleted and inserted again goes last.
            t.delete("b");
            t.insert(["b", 0]);
            assert.deepEqual(walk(t), [...keys.slice(1), "b"]);
          }
          assert.equal(t.foldl((_r, n: number) => n + 1, 0), t.info()!.size);
        } finally {
          t.destroy();
        }
      },
    );

    test("next() from an absent key: ordered_set gives the next key, other types throw EtsError badKey", () => {
      const t = create("next_absent", { type });
      try {
        t.insertMany([[1], [3]]);
        if (ordered) {
          assert.equal(t.next(2), 3);
          assert.equal(t.prev(2), 1);
          assert.equal(t.next(3), undefined);
          assert.equal(t.prev(1), undefined);
        } else {
          assert.throws(
            () => t.next(2),
            etsError(
              "bad_key",
              msg(
                "next",
                "next_absent",
                `no record with key 2 (to walk a ${type} while deleting, fix it with safeFixtable)`,
              ),
            ),
          );
          assert.throws(
            () => t.prev(2),
            etsError(
              "bad_key",
              msg(
                "prev",
                "next_absent",
                `no record with key 2 (to walk a ${type} while deleting, fix it with safeFixtable)`,
              ),
            ),
          );
          assert.equal(t.next(3), undefined);
        }
      } finally {
        t.destroy();
      }
    });

    test("safeFixtable(): a first/next walk that deletes every key visits each key once", () => {
      const t = create("fixed_walk", { type });
      try {
        const keys = Array.from({ length: 50 }, (_, i) => i);
        t.insertMany(shuffle(keys).map((k) => [k, k]));
        t.safeFixtable(true);
        const seen: unknown[] = [];
        for (let k = t.first(); k !== undefined; k = t.next(k)) {
          seen.push(k);
          t.delete(k);
        }
        t.safeFixtable(false);
        assert.deepEqual(sorted(seen), sorted(keys));
        assert.equal(t.info()!.size, 0);
      } finally {
        t.destroy();
      }
    });

    test("safeFixtable(): next() from a key deleted while fixed skips deleted keys (fixtable_next)", () => {
      const t = create("fixtable_next", { type });
      try {
        t.insertMany([[1], [2], [3], [4], [5]]);
        t.safeFixtable(true);
        assert.equal(t.info()!.fixed, true);
        t.delete(2);
        t.delete(3);
        assert.equal(t.next(2), 4);
        assert.equal(t.next(3), 4);
        t.delete(4);
        assert.equal(t.next(2), 5);
        t.take(5);
        assert.equal(t.next(2), undefined);
        assert.equal(t.next(1), undefined);
        t.safeFixtable(false);
        assert.equal(t.info()!.fixed, false);
        if (ordered) {
          assert.equal(t.next(2), undefined);
          assert.equal(t.next(0), 1);
        } else {
          assert.throws(
            () => t.next(2),
            etsError(
              "bad_key",
              msg(
                "next",
                "fixtable_next",
                `no record with key 2 (to walk a ${type} while deleting, fix it with safeFixtable)`,
              ),
            ),
          );
        }
      } finally {
        t.destroy();
      }
    });

    test("safeFixtable(): a key deleted and inserted again while fixed is found once; next() from it works after unfix", () => {
      const t = create("fixtable_insert", { type });
      try {
        t.insertMany([["a", 1], ["b", 1], [["c"], 1]]);
        t.safeFixtable(true);
        t.delete("a");
        t.delete(["c"]);
        t.insert(["a", 2]);
        t.insert([["c"], 2]);
        assert.deepEqual(sorted(walk(t)), sorted(["a", "b", ["c"]]));
        t.safeFixtable(false);
        assert.deepEqual(t.lookup("a"), [["a", 2]]);
        assert.deepEqual(t.lookup(["c"]), [[["c"], 2]]);
        assert.deepEqual(sorted(walk(t)), sorted(["a", "b", ["c"]]));
        assert.equal(t.info()!.size, 3);
      } finally {
        t.destroy();
      }
    });

    test("safeFixtable(): next() from a key removed by deleteAllObjects() while fixed returns undefined (t_delete_all_objects)", () => {
      const t = create("fixed_delete_all", { type });
      try {
        t.insertMany([[1], [2], [3]]);
        t.safeFixtable(true);
        const k = t.first();
        t.deleteAllObjects();
        assert.equal(t.next(k), undefined);
        assert.equal(t.first(), undefined);
        t.safeFixtable(false);
      } finally {
        t.destroy();
      }
    });

    test("safeFixtable() counts per process; info() reports fixed and safeFixed; a non-boolean is a TypeError", () => {
      const t = create("fix_count", { type });
      try {
        t.safeFixtable(true);
        t.safeFixtable(true);
        assert.deepEqual(fixes(t), [[true, 2]]);
        t.safeFixtable(false);
        assert.deepEqual(fixes(t), [[true, 1]]);
        assert.equal(t.info()!.fixed, true);
        t.safeFixtable(false);
        assert.deepEqual(t.info()!.safeFixed, []);
        assert.equal(t.info()!.fixed, false);
        t.safeFixtable(false); // without a fix: nothing
        assert.deepEqual(t.info()!.safeFixed, []);
        assert.throws(
          () => t.safeFixtable(1 as never),
          errorOf(
            TypeError,
            msg("safeFixtable", "fix_count", "'fix' must be a boolean, got 1"),
          ),
        );
        assert.equal(t.info()!.fixed, false);
      } finally {
        t.destroy();
      }
    });

    test("safeFixtable(): fixes go when the fixing process exits; another process's unfix does nothing (safe_fixtable)", async () => {
      const t = create("fix_procs", { type });
      try {
        t.insertMany([[1], [2], [3]]);
        t.safeFixtable(true);
        // Someone else's unfix is a no-op.
        await valueIn(() => t.safeFixtable(false));
        assert.deepEqual(fixes(t), [[true, 1]]);
        // A process that fixes twice and exits.
        const fixer = await runIn((me) => {
          t.safeFixtable(true);
          t.safeFixtable(true);
          return t.info()!.safeFixed.find((f) => f.pid === me)?.count;
        });
        assert.equal(fixer.value, 2);
        await flush();
        assert.ok(!isAlive(fixer.pid));
        assert.deepEqual(fixes(t), [[true, 1]]);
        // Still fixed by main: next from a deleted key works.
        t.delete(2);
        assert.equal(t.next(2), ordered ? 3 : 3);
        t.safeFixtable(false);
        assert.equal(t.info()!.fixed, false);
        // A process that fixes and is killed while waiting.
        const [pid, ref] = spawnMonitor(async () => {
          t.safeFixtable(true);
          await forever();
        });
        await flush();
        assert.equal(t.info()!.safeFixed[0]?.pid, pid);
        exit(pid, "kill");
        assert.equal(await downReason(ref), "killed");
        assert.deepEqual(t.info()!.safeFixed, []);
        if (!ordered) {
          t.delete(3);
          assert.throws(
            () => t.next(3),
            etsError(
              "bad_key",
              msg(
                "next",
                "fix_procs",
                `no record with key 3 (to walk a ${type} while deleting, fix it with safeFixtable)`,
              ),
            ),
          );
        }
      } finally {
        t.destroy();
      }
      await assertNoMessages();
    });

    test("lookupElement() returns the element at a 0-based position, a default, or throws badKey/position", () => {
      const t = create("lookup_element", { type });
      try {
        t.insertMany([["a", "x", "y"], ["a", "z", "w"], ["short"]]);
        assert.deepEqual(
          t.lookupElement("a", 1),
          bag ? ["x", "z"] : "z",
        );
        assert.deepEqual(t.lookupElement("a", 0), bag ? ["a", "a"] : "a");
        assert.equal(t.lookupElement("b", 1, { default: "none" }), "none");
        assert.equal(
          t.lookupElement("b", 1, { default: undefined }),
          undefined,
        );
        assert.throws(
          () => t.lookupElement("b", 1),
          etsError(
            "bad_key",
            msg("lookupElement", "lookup_element", `no record with key "b"`),
          ),
        );
        assert.throws(
          () => t.lookupElement("short", 1, { default: "ignored" }),
          etsError(
            "position",
            msg(
              "lookupElement",
              "lookup_element",
              `position 1 is outside the record ["short"]`,
            ),
          ),
        );
        assert.throws(
          () => t.lookupElement("a", 3),
          etsError(
            "position",
            msg(
              "lookupElement",
              "lookup_element",
              `position 3 is outside the record ${
                bag ? `["a", "x", "y"]` : `["a", "z", "w"]`
              }`,
            ),
          ),
        );
        assert.throws(
          () => t.lookupElement("a", -1),
          etsError(
            "position",
            msg(
              "lookupElement",
              "lookup_element",
              `position -1 is outside the record ${
                bag ? `["a", "x", "y"]` : `["a", "z", "w"]`
              }`,
            ),
          ),
        );
        assert.throws(
          () => t.lookupElement("a", 1.5),
          errorOf(
            TypeError,
            msg(
              "lookupElement",
              "lookup_element",
              "a position must be an integer, got 1.5",
            ),
          ),
        );
      } finally {
        t.destroy();
      }
    });

    test("match() returns the bindings per record, variables in number order; repeated variables must be equal", () => {
      const t = create("match", { type });
      try {
        t.insertMany([
          ["a", 1, 1],
          ["b", 1, 2],
          ["c", 2, 2],
          ["d", 2, 2n],
        ]);
        assert.deepEqual(
          sorted(t.match(["$2", "$1", "$1"])),
          sorted([[1, "a"], [2, "c"]]),
        );
        assert.deepEqual(
          sorted(t.match(["$1", "_", 2])),
          sorted([["b"], ["c"]]),
        );
        assert.deepEqual(t.match(["$1", "_"]), []);
        assert.deepEqual(sorted(t.match(["_", "_", "_"])), [[], [], [], []]);
        assert.throws(
          () => t.match({ $1: 1 }),
          errorOf(
            TypeError,
            msg(
              "match",
              "match",
              `Invalid match pattern: variable "$1" cannot be an object key in a pattern: { $1: 1 }`,
            ),
          ),
        );
      } finally {
        t.destroy();
      }
    });

    test('matchObject() matches "_", "$0", sub-objects and exact values; variable object keys are a TypeError (match_object)', () => {
      const t = create("match_object", { type });
      try {
        const recs: unknown[][] = [
          ["a", { x: 1, y: 2 }],
          ["b", { x: 1 }],
          ["c", { y: 2 }],
          ["d", 1n],
          ["e", 1],
          ["f", [1, 2]],
        ];
        t.insertMany(recs);
        assert.deepEqual(sorted(t.matchObject("_")), sorted(recs));
        assert.deepEqual(sorted(t.matchObject("$0")), sorted(recs));
        assert.deepEqual(sorted(t.matchObject(["_", "_"])), sorted(recs));
        assert.deepEqual(
          sorted(t.matchObject(["_", { x: 1 }])),
          sorted([["a", { x: 1, y: 2 }], ["b", { x: 1 }]]),
        );
        assert.deepEqual(
          sorted(t.matchObject(["_", { y: "$1" }])),
          sorted([["a", { x: 1, y: 2 }], ["c", { y: 2 }]]),
        );
        assert.deepEqual(t.matchObject(["_", { z: "_" }]), []);
        assert.deepEqual(t.matchObject(["_", {}]).length, 3);
        assert.deepEqual(t.matchObject(["_", 1]), [["e", 1]]);
        assert.deepEqual(t.matchObject(["_", 1n]), [["d", 1n]]);
        assert.deepEqual(t.matchObject(["_", [1, "_"]]), [["f", [1, 2]]]);
        assert.deepEqual(t.matchObject(["a", "$1"]), [["a", { x: 1, y: 2 }]]);
        assert.deepEqual(t.matchObject(["a"]), []);
        for (
          const [pattern, detail] of [
            [
              ["_", { $1: 1 }],
              `variable "$1" cannot be an object key in a pattern: { $1: 1 }`,
            ],
            [
              ["_", { _: 1 }],
              `"_" cannot be an object key in a pattern: { _: 1 }`,
            ],
          ] as const
        ) {
          assert.throws(
            () => t.matchObject(pattern),
            errorOf(
              TypeError,
              msg(
                "matchObject",
                "match_object",
                `Invalid match pattern: ${detail}`,
              ),
            ),
          );
        }
      } finally {
        t.destroy();
      }
    });

    test("matchDelete() removes the matching records and returns how many", () => {
      const t = create("match_delete", { type });
      try {
        t.insertMany([["a", 1], ["b", 2], ["c", 1], ["a", 1]]);
        assert.equal(t.matchDelete(["_", 3]), 0);
        assert.equal(t.matchDelete(["_", 1]), type === "duplicate_bag" ? 3 : 2);
        assert.deepEqual(t.toList(), [["b", 2]]);
      } finally {
        t.destroy();
      }
    });

    test("selectCount() and selectDelete() count and delete where the body is exactly true (t_select_delete)", () => {
      const t = create("select_delete", { type });
      try {
        for (let i = 0; i < 20; i++) {
          t.insert([[i % 2 === 0 ? "even" : "odd", i], i, i % 3]);
        }
        const even = [[["even", "_"], "_", "_"], [], [true]];
        assert.equal(t.selectCount([even]), 10);
        assert.equal(t.selectCount([[[["_", "$1"], "_", "_"], [], [1]]]), 0);
        assert.equal(t.selectCount([]), 0);
        // Guards: bound list-key prefix and a comparison.
        const evenBelow10 = [
          [["even", "$1"], "_", "_"],
          [{ "<": ["$1", 10] }],
          [true],
        ];
        assert.equal(t.selectCount([evenBelow10]), 5);
        // A first clause that never passes, then one that does.
        const twoClauses = [
          [["_", "$1", "_"], [false], [true]],
          [["_", "$1", 0], [{ ">=": ["$1", 12] }], [true]],
        ];
        assert.equal(t.selectCount(twoClauses), 3); // 12, 15, 18
        // A body that is not exactly true deletes nothing.
        assert.equal(t.selectDelete([[["_", "_", "_"], [], ["true"]]]), 0);
        assert.equal(t.selectDelete([[["_", "_", "_"], [], [1]]]), 0);
        assert.equal(t.selectDelete([[["_", "_", "_"], [], [false]]]), 0);
        assert.equal(t.info()!.size, 20);
        assert.equal(t.selectDelete(twoClauses), 3);
        assert.equal(t.info()!.size, 17);
        assert.equal(t.selectDelete([evenBelow10]), 5);
        // Left of the evens: 10, 14 and 16 (12 and 18 went with twoClauses).
        assert.equal(t.selectCount([even]), 3);
        assert.deepEqual(
          sorted(t.select([[[["even", "$1"], "_", "_"], [], ["$1"]]])),
          [10, 14, 16],
        );
        // A bound key: one record.
        assert.equal(
          t.selectDelete([[[["odd", 1], "_", "_"], [], [true]]]),
          1,
        );
        assert.ok(!t.member(["odd", 1]));
        assert.equal(t.selectDelete([["_", [], [true]]]), 11);
        assert.equal(t.info()!.size, 0);
      } finally {
        t.destroy();
      }
    });

    test("select() with several bound keys gives its results in table order, not clause order", () => {
      const t = create("bound_keys_order", { type });
      try {
        t.insertMany([["a", 1], ["b", 2], ["c", 3]]);
        const spec = [
          [["c", "$1"], [], ["$1"]],
          [["a", "$1"], [], ["$1"]],
        ];
        // Table order: a before c, in insertion and in term order alike.
        assert.deepEqual(t.select(spec), [1, 3]);
        assert.deepEqual(chunks(t.select(spec, { limit: 1 })), [[1], [3]]);
        assert.equal(
          t.selectCount([
            [["c", "_"], [], [true]],
            [["a", "_"], [], [true]],
          ]),
          2,
        );
      } finally {
        t.destroy();
      }
    });

    test("select() and friends with an invalid spec throw TypeError even on an empty table (select_fail)", () => {
      const t = create("select_fail", { type });
      try {
        const bad: [unknown, string][] = [
          [
            "spec",
            `expected an array of [head, guards, body] clauses, got "spec"`,
          ],
          [["x"], `clause 0: expected [head, guards, body], got "x"`],
          [
            [["_", "x", [1]]],
            `clause 0: guards must be an array of expressions, got "x"`,
          ],
          [
            [["_", [], []]],
            "clause 0: body must be a non-empty array of expressions, got []",
          ],
          [
            [["_", [], [{ no_such_fn: [1] }]]],
            `clause 0 body 0: unknown function "no_such_fn"`,
          ],
          [
            [["_", [{ no_such_fn: [1] }], [1]]],
            `clause 0 guard 0: unknown function "no_such_fn"`,
          ],
          [
            [["_", [], [true]], ["$1", [], ["$2"]]],
            `clause 1 body 0: variable "$2" is not bound in the head`,
          ],
        ];
        const ops = [
          "select",
          "selectReverse",
          "selectCount",
          "selectDelete",
          "selectReplace",
        ] as const;
        for (const [spec, detail] of bad) {
          for (const op of ops) {
            if (op === "selectReplace" && bag) continue;
            assert.throws(
              () => t[op](spec),
              errorOf(
                TypeError,
                msg(op, "select_fail", `Invalid match spec: ${detail}`),
              ),
            );
          }
          assert.throws(
            () => t.select(spec, { limit: 1 }),
            errorOf(
              TypeError,
              msg("select", "select_fail", `Invalid match spec: ${detail}`),
            ),
          );
        }
      } finally {
        t.destroy();
      }
    });

    test("select() with a limit returns chunks of exactly the limit, then no continuation (otp_6842_select_1000)", () => {
      const t = create("select_1000", { type });
      try {
        const spec = [["_", [], ["$_"]]];
        assert.equal(t.select(spec, { limit: 1000 }), undefined);
        let n = 0;
        for (const size of [1, 999, 1000, 1001, 3500]) {
          while (n < size) {
            t.insert([n, n]);
            n++;
          }
          const pages = chunks(t.select(spec, { limit: 1000 }));
          const lengths = pages.map((p) => p.length);
          const full = Math.floor(size / 1000);
          const expected = [
            ...Array(full).fill(1000),
            ...(size % 1000 ? [size % 1000] : []),
          ];
          assert.deepEqual(lengths, expected, `size ${size}`);
          assert.deepEqual(pages.flat(), t.select(spec));
        }
        // The last chunk carries no continuation, unless it was full.
        const last = t.select([[[3499, "_"], [], ["$_"]]], { limit: 10 })!;
        assert.deepEqual(last, {
          results: [[3499, 3499]],
          continuation: undefined,
        });
        for (const limit of [0, -1, 1.5, "3"]) {
          assert.throws(
            () => t.select(spec, { limit } as never),
            errorOf(
              RangeError,
              msg(
                "select",
                "select_1000",
                `'limit' must be an integer >= 1, got ${formatTerm(limit)}`,
              ),
            ),
          );
        }
      } finally {
        t.destroy();
      }
    });

    test("select(), match() and matchObject() with a limit page through every result in table order", () => {
      const t = create("paging", { type });
      try {
        for (let i = 0; i < 30; i++) t.insert([i % 10, i]);
        const whole = t.select([["$1", [], ["$1"]]]);
        for (const limit of [1, 2, 3, 7, 100]) {
          const pages = chunks(t.select([["$1", [], ["$1"]]], { limit }));
          assert.ok(
            pages.every((p, i) => i === pages.length - 1 || p.length === limit),
          );
          assert.deepEqual(pages.flat(), whole);
          assert.deepEqual(
            chunks(t.matchObject("_", { limit })).flat(),
            t.matchObject("_"),
          );
          assert.deepEqual(
            chunks(t.match(["$1", "$2"], { limit })).flat(),
            t.match(["$1", "$2"]),
          );
        }
        assert.equal(t.match(["nothing", "_"], { limit: 2 }), undefined);
      } finally {
        t.destroy();
      }
    });

    test("Continuation.next() called twice gives the same chunk: a continuation is a value, as in OTP", () => {
      const t = create("cont_twice", { type });
      try {
        for (let k = 0; k < 3; k++) {
          for (let v = 0; v < 3; v++) t.insert([k, v]);
        }
        const spec = [["$1", [], ["$1"]]];
        const whole = t.select(spec);
        const first = t.select(spec, { limit: 2 })!;
        const again = first.continuation!.next()!;
        const twice = first.continuation!.next()!;
        assert.deepEqual(twice.results, again.results);
        // Each path through the chunks gives every result once.
        assert.deepEqual(
          [...first.results, ...chunks(first.continuation!.next()).flat()],
          whole,
        );
        assert.deepEqual(
          [...first.results, ...chunks(first.continuation!.next()).flat()],
          whole,
        );
      } finally {
        t.destroy();
      }
    });

    test("a continuation over several bound keys skips nothing when a key before its position is deleted (fixed table)", () => {
      const spec = ["a", "b", "c", "d"].map((k) => [[k, "$1"], [], ["$1"]]);
      const t = create("bound_keys_delete", { type });
      try {
        // Fixed, as OTP asks of a hash table walked across changes.
        t.safeFixtable(true);
        t.insertMany([["b", 2], ["c", 3], ["d", 4]]);
        const page = t.select(spec, { limit: 2 })!;
        assert.deepEqual(page.results, [2, 3]);
        t.delete("b");
        assert.deepEqual(chunks(page.continuation!.next()).flat(), [4]);
      } finally {
        t.destroy();
      }
    });

    test("a continuation over several bound keys repeats nothing when a key is inserted before its position (fixed table)", () => {
      const spec = ["a", "b", "c", "d"].map((k) => [[k, "$1"], [], ["$1"]]);
      const t = create("bound_keys_insert", { type });
      try {
        // Fixed, as OTP asks of a hash table walked across changes.
        t.safeFixtable(true);
        t.insertMany([["b", 2], ["c", 3], ["d", 4]]);
        const page = t.select(spec, { limit: 1 })!;
        assert.deepEqual(page.results, [2]);
        t.insert(["a", 1]);
        // The new key may or may not be seen; the others come once each.
        const rest = chunks(page.continuation!.next()).flat();
        assert.deepEqual(rest.filter((v) => v !== 1), [3, 4]);
      } finally {
        t.destroy();
      }
    });

    test("a continuation goes on after the record it stopped at is deleted (t_bucket_disappears)", () => {
      const t = create("bucket_disappears", { type });
      try {
        for (let i = 0; i < 10; i++) t.insert([i, i]);
        const first = t.select([[["$1", "_"], [], ["$1"]]], { limit: 3 })!;
        const seen = [...first.results];
        t.delete(seen[2]);
        t.delete(seen[1]);
        const rest = chunks(first.continuation!.next()).flat();
        assert.deepEqual(
          sorted([...seen, ...rest]),
          sorted(
            Array.from({ length: 10 }, (_, i) => i),
          ),
        );
        assert.equal(new Set([...seen, ...rest]).size, 10);
      } finally {
        t.destroy();
      }
    });

    test("rename() keeps continuations working; destroy() kills them (t_named_select, rename_unnamed)", () => {
      for (const named of [true, false]) {
        const t = create(`before_${type}`, { type, named });
        for (let i = 0; i < 5; i++) t.insert([i, i]);
        const page = t.select([["_", [], ["$_"]]], { limit: 2 })!;
        t.rename(`after_${type}`);
        assert.equal(t.name, `after_${type}`);
        assert.equal(t.info()!.name, `after_${type}`);
        assert.equal(whereis(`before_${type}`), undefined);
        assert.equal(whereis(`after_${type}`), named ? t : undefined);
        const next = page.continuation!.next()!;
        assert.equal(next.results.length, 2);
        t.destroy();
        assert.throws(
          () => next.continuation!.next(),
          etsError(
            "not_found",
            msg("select", `after_${type}`, "the table no longer exists"),
          ),
        );
      }
    });

    test("every operation on a destroyed table throws EtsError notFound; info() and whereis() forget it (bad_table)", () => {
      const t = create("gone", { type, named: true });
      t.insert([0, 0]);
      t.destroy();
      assert.equal(t.info(), undefined);
      assert.equal(whereis("gone"), undefined);
      for (const [op, , run] of OPS) {
        assert.throws(
          () => run(t),
          etsError("not_found", msg(op, "gone", "the table no longer exists")),
          op,
        );
      }
    });

    test(
      `selectReverse() ${
        ordered ? "reverses select()" : "is select()"
      }, with or without a limit (t_select_reverse)`,
      () => {
        const t = create("select_reverse", { type });
        try {
          for (const i of shuffle(Array.from({ length: 25 }, (_, i) => i))) {
            t.insert([i, i % 4]);
            if (bag) t.insert([i, 10 + i % 4]);
          }
          const spec = [[["$1", "$2"], [{ "<": ["$2", 12] }], [["$1", "$2"]]]];
          const forward = t.select(spec);
          assert.equal(forward.length, bag ? 25 + 13 : 25);
          assert.deepEqual(
            t.selectReverse(spec),
            ordered ? [...forward].reverse() : forward,
          );
          for (const limit of [1, 4, 100]) {
            assert.deepEqual(
              chunks(t.selectReverse(spec, { limit })).flat(),
              t.selectReverse(spec),
            );
          }
        } finally {
          t.destroy();
        }
      },
    );

    test("a continuation dies with its table even when a new table takes the name", () => {
      const t = create("reborn", { type, named: true });
      t.insertMany([[1], [2]]);
      const page = t.select([["_", [], ["$_"]]], { limit: 1 })!;
      t.destroy();
      const again = create("reborn", { type, named: true });
      try {
        again.insertMany([[1], [2]]);
        assert.throws(
          () => page.continuation!.next(),
          etsError(
            "not_found",
            msg("select", "reborn", "the table no longer exists"),
          ),
        );
      } finally {
        again.destroy();
      }
    });

    if (bag) {
      test("lookup() on a bag keeps insertion order through insert, deleteObject and insertNew, fixed or not (lookup_order)", () => {
        for (const fixed of [false, true]) {
          const t = create("lookup_order", { type });
          try {
            if (fixed) t.safeFixtable(true);
            const values = () => t.lookup("k").map((r) => r[1]);
            t.insertMany([["k", 1], ["k", 2], ["k", 3]]);
            assert.deepEqual(values(), [1, 2, 3]);
            t.insert(["k", 2]);
            assert.deepEqual(
              values(),
              type === "bag" ? [1, 2, 3] : [1, 2, 3, 2],
            );
            t.deleteObject(["k", 2]);
            assert.deepEqual(values(), [1, 3]);
            t.insert(["k", 2]);
            assert.deepEqual(values(), [1, 3, 2]);
            assert.equal(t.insertNew(["k", 4]), false);
            t.deleteObject(["k", 1]);
            t.insert(["k", 1]);
            assert.deepEqual(values(), [3, 2, 1]);
            assert.equal(t.info()!.size, 3);
            t.insert(["j", 0]);
            for (const v of [3, 2, 1]) t.deleteObject(["k", v]);
            t.insertMany([["k", 5], ["k", 6]]);
            assert.deepEqual(t.toList(), [["j", 0], ["k", 5], ["k", 6]]);
            assert.deepEqual(t.lookupElement("k", 1), [5, 6]);
            assert.equal(t.info()!.size, 3);
          } finally {
            t.destroy();
          }
        }
      });

      test("updateCounter(), updateElement() and selectReplace() on a bag throw EtsError tableType", () => {
        const t = create("bag_updates", { type });
        try {
          t.insert(["k", 1]);
          assert.throws(
            () => t.updateCounter("k", 1),
            etsError(
              "table_type",
              msg("updateCounter", "bag_updates", `not for a ${type}`),
            ),
          );
          assert.throws(
            () => t.updateCounter("k", 1, { default: ["k", 0] }),
            etsError(
              "table_type",
              msg("updateCounter", "bag_updates", `not for a ${type}`),
            ),
          );
          assert.throws(
            () => t.updateElement("k", [1, 2]),
            etsError(
              "table_type",
              msg("updateElement", "bag_updates", `not for a ${type}`),
            ),
          );
          assert.throws(
            () => t.selectReplace([["$_", [], ["$_"]]]),
            etsError(
              "table_type",
              msg("selectReplace", "bag_updates", `not for a ${type}`),
            ),
          );
          assert.deepEqual(t.toList(), [["k", 1]]);
        } finally {
          t.destroy();
        }
      });
    } else {
      test("updateElement() sets 0-based fields of the record, last wins; [] and absent keys (update_element)", () => {
        for (const keyPos of [0, 1, 2]) {
          const t = create("update_element", { type, keyPos });
          try {
            const rec = ["f0", "f1", "f2", "f3"];
            const key = rec[keyPos];
            t.insert(rec);
            const others = [0, 1, 2, 3].filter((p) => p !== keyPos);
            assert.equal(t.updateElement(key, [others[0], "one"]), true);
            const expected = [...rec];
            expected[others[0]] = "one";
            assert.deepEqual(t.lookup(key), [expected]);
            assert.equal(
              t.updateElement(key, [[others[1], "a"], [others[2], "b"], [
                others[1],
                "last",
              ]]),
              true,
            );
            expected[others[1]] = "last";
            expected[others[2]] = "b";
            assert.deepEqual(t.lookup(key), [expected]);
            assert.equal(t.updateElement(key, []), true);
            assert.deepEqual(t.lookup(key), [expected]);
            assert.equal(t.updateElement("absent", []), false);
            assert.equal(t.updateElement("absent", [others[0], 1]), false);
            assert.ok(!t.member("absent"));
          } finally {
            t.destroy();
          }
        }
      });

      test("updateElement() failures throw and change nothing (update_element_neg)", () => {
        const t = create("update_element_neg", { type });
        try {
          t.insert(["a", 1, 2]);
          const cases: [unknown, (e: unknown) => true][] = [
            [
              [0, "b"],
              etsError(
                "key_pos",
                msg(
                  "updateElement",
                  "update_element_neg",
                  "position 0 is the key",
                ),
              ),
            ],
            [
              [3, "x"],
              etsError(
                "position",
                msg(
                  "updateElement",
                  "update_element_neg",
                  `position 3 is outside the record ["a", 1, 2]`,
                ),
              ),
            ],
            [
              [-1, "x"],
              etsError(
                "position",
                msg(
                  "updateElement",
                  "update_element_neg",
                  `position -1 is outside the record ["a", 1, 2]`,
                ),
              ),
            ],
            [
              [[1, "x"], [3, "y"]],
              etsError(
                "position",
                msg(
                  "updateElement",
                  "update_element_neg",
                  `position 3 is outside the record ["a", "x", 2]`,
                ),
              ),
            ],
            [
              ["1", "x"],
              errorOf(
                TypeError,
                msg(
                  "updateElement",
                  "update_element_neg",
                  `a position must be an integer, got "1"`,
                ),
              ),
            ],
            [
              "x",
              errorOf(
                TypeError,
                msg(
                  "updateElement",
                  "update_element_neg",
                  `'update' must be [pos, value] or an array of those, got "x"`,
                ),
              ),
            ],
            [
              [[1, 2, 3]],
              errorOf(
                TypeError,
                msg(
                  "updateElement",
                  "update_element_neg",
                  `'update' must be [pos, value] or an array of those, got [[1, 2, 3]]`,
                ),
              ),
            ],
            [
              [1],
              errorOf(
                TypeError,
                msg(
                  "updateElement",
                  "update_element_neg",
                  `'update' must be [pos, value] or an array of those, got [1]`,
                ),
              ),
            ],
          ];
          for (const [update, check] of cases) {
            assert.throws(() => t.updateElement("a", update as never), check);
          }
          assert.deepEqual(t.toList(), [["a", 1, 2]]);
        } finally {
          t.destroy();
        }
      });

      test("updateElement() with a default inserts it (key put in) when absent; a bad default throws (update_element_default)", () => {
        const t = create("update_element_default", { type });
        try {
          t.insert(["a", 1, 2]);
          assert.equal(
            t.updateElement("b", [1, "new"], { default: ["ignored", 0, 0] }),
            true,
          );
          assert.deepEqual(t.lookup("b"), [["b", "new", 0]]);
          assert.equal(
            t.updateElement("a", [2, "set"], { default: ["a", 0, 0] }),
            true,
          );
          assert.deepEqual(t.lookup("a"), [["a", 1, "set"]]);
          for (const d of [[], "x"]) {
            assert.throws(
              () => t.updateElement("c", [1, 1], { default: d as never }),
              etsError(
                "default",
                msg(
                  "updateElement",
                  "update_element_default",
                  `the default must be a record with an element at keyPos 0, got ${
                    formatTerm(d)
                  }`,
                ),
              ),
            );
          }
          assert.throws(
            () => t.updateElement("c", [3, 1], { default: ["c", 0] }),
            etsError(
              "position",
              msg(
                "updateElement",
                "update_element_default",
                `position 3 is outside the record ["c", 0]`,
              ),
            ),
          );
          assert.ok(!t.member("c"));
          assert.equal(t.info()!.size, 2);
        } finally {
          t.destroy();
        }
      });

      test("updateCounter() adds to 0-based fields: an increment, [pos, incr], thresholds, lists (update_counter)", () => {
        const t = create("update_counter", { type });
        try {
          t.insert(["a", 0, 10, 100]);
          assert.equal(t.updateCounter("a", 1), 1);
          assert.equal(t.updateCounter("a", -3), -2);
          assert.equal(t.updateCounter("a", [2, 5]), 15);
          assert.deepEqual(t.lookup("a"), [["a", -2, 15, 100]]);
          // Thresholds: above it for incr >= 0, below it for incr < 0.
          assert.equal(t.updateCounter("a", [3, 1, 101, 0]), 101);
          assert.equal(t.updateCounter("a", [3, 1, 101, 0]), 0);
          assert.equal(t.updateCounter("a", [3, -1, 0, 50]), 50);
          assert.equal(t.updateCounter("a", [3, -10, 40, 45]), 40);
          assert.equal(t.updateCounter("a", [3, 0, 39, 7]), 7);
          // A list: applied in order, same position repeatable.
          assert.deepEqual(
            t.updateCounter("a", [[1, 1], [1, 1], [2, -15], [3, 3, 9, 1]]),
            [-1, 0, 0, 1],
          );
          assert.deepEqual(t.updateCounter("a", []), []);
          assert.deepEqual(t.lookup("a"), [["a", 0, 0, 1]]);
          // An empty list on an absent key still inserts the default (OTP
          // 25: ets:update_counter(T, k, [], {k, 7}) -> [], and {k, 7} is
          // in the table).
          assert.deepEqual(
            t.updateCounter("fresh", [], { default: ["x", 7] }),
            [],
          );
          assert.deepEqual(t.lookup("fresh"), [["fresh", 7]]);
          t.delete("fresh");
          // bigint fields stay bigints; increments adapt to the field.
          t.insert(["big", 2n ** 64n * 2n ** 64n, 1]);
          assert.equal(
            t.updateCounter("big", 2n ** 64n),
            2n ** 128n + 2n ** 64n,
          );
          assert.equal(
            t.updateCounter("big", [1, 1]),
            2n ** 128n + 2n ** 64n + 1n,
          );
          assert.equal(t.updateCounter("big", [2, 2n]), 3);
          assert.equal(
            t.updateCounter("big", [1, -1, 2n ** 128n, 0n]),
            2n ** 128n + 2n ** 64n,
          );
          assert.equal(
            t.updateCounter("big", [1, -(2n ** 65n), 0n, -7n]),
            2n ** 128n - 2n ** 64n,
          );
          t.insert(["huge", 1n << 2000n]);
          assert.equal(t.updateCounter("huge", 1n << 2000n), 1n << 2001n);
          // Number fields are exact up to 2^53.
          t.insert(["max", Number.MAX_SAFE_INTEGER - 1]);
          assert.equal(t.updateCounter("max", 1), Number.MAX_SAFE_INTEGER);
          assert.throws(
            () => t.updateCounter("max", 1),
            errorOf(
              RangeError,
              msg(
                "updateCounter",
                "update_counter",
                "9007199254740991 + 1 passes 2^53; use a bigint counter",
              ),
            ),
          );
          assert.throws(
            () => t.updateCounter("a", 2n ** 60n),
            errorOf(
              RangeError,
              msg(
                "updateCounter",
                "update_counter",
                "1152921504606846976 does not fit a number field; use a bigint counter",
              ),
            ),
          );
          assert.deepEqual(t.lookup("max"), [["max", Number.MAX_SAFE_INTEGER]]);
        } finally {
          t.destroy();
        }
      });

      test("updateCounter() failures throw the right error and change nothing, even mid-list (update_counter negatives)", () => {
        const t = create("counter_neg", { type });
        try {
          t.insertMany([["a", 1, "x", 1.5], ["b", 1]]);
          const before = t.toList();
          const bad = (op: unknown) =>
            errorOf(
              TypeError,
              msg(
                "updateCounter",
                "counter_neg",
                `'op' must be an integer, [pos, incr], [pos, incr, threshold, setValue] or an array of those, got ${
                  formatTerm(op)
                }`,
              ),
            );
          const cases: [unknown, unknown, (e: unknown) => true][] = [
            [
              "absent",
              1,
              etsError(
                "bad_key",
                msg(
                  "updateCounter",
                  "counter_neg",
                  `no record with key "absent"`,
                ),
              ),
            ],
            [
              "a",
              [0, 1],
              etsError(
                "key_pos",
                msg("updateCounter", "counter_neg", "position 0 is the key"),
              ),
            ],
            [
              "a",
              [4, 1],
              etsError(
                "position",
                msg(
                  "updateCounter",
                  "counter_neg",
                  `position 4 is outside the record ["a", 1, "x", 1.5]`,
                ),
              ),
            ],
            [
              "b",
              [2, 1],
              etsError(
                "position",
                msg(
                  "updateCounter",
                  "counter_neg",
                  `position 2 is outside the record ["b", 1]`,
                ),
              ),
            ],
            [
              "a",
              [2, 1],
              etsError(
                "bad_value",
                msg(
                  "updateCounter",
                  "counter_neg",
                  `the field at position 2 is not an integer: "x"`,
                ),
              ),
            ],
            [
              "a",
              [3, 1],
              etsError(
                "bad_value",
                msg(
                  "updateCounter",
                  "counter_neg",
                  "the field at position 3 is not an integer: 1.5",
                ),
              ),
            ],
            // One bad op anywhere in a list: nothing changes.
            [
              "a",
              [[1, 1], [1, 1], [2, 1]],
              etsError(
                "bad_value",
                msg(
                  "updateCounter",
                  "counter_neg",
                  `the field at position 2 is not an integer: "x"`,
                ),
              ),
            ],
            [
              "a",
              [[1, 5], [0, 1]],
              etsError(
                "key_pos",
                msg("updateCounter", "counter_neg", "position 0 is the key"),
              ),
            ],
            ["a", "1", bad("1")],
            ["a", 1.5, bad(1.5)],
            ["a", [1], bad([1])],
            ["a", [1, 1.5], bad([1, 1.5])],
            ["a", [1, 1, 2], bad([1, 1, 2])],
            ["a", [[1, 1], "x"], bad([[1, 1], "x"])],
          ];
          for (const [key, op, check] of cases) {
            assert.throws(() => t.updateCounter(key, op as never), check);
          }
          assert.deepEqual(t.toList(), before);
        } finally {
          t.destroy();
        }
      });

      test("updateCounter() with a default inserts it (key put in) when absent, then updates (update_counter_with_default)", () => {
        const t = create("counter_default", { type });
        try {
          assert.equal(
            t.updateCounter("hits", 1, { default: ["ignored", 10] }),
            11,
          );
          assert.deepEqual(t.lookup("hits"), [["hits", 11]]);
          assert.equal(
            t.updateCounter("hits", 1, { default: ["hits", 100] }),
            12,
          );
          assert.deepEqual(
            t.updateCounter(["t", 1], [[1, 1], [2, 2]], {
              default: [null, 0, 0],
            }),
            [1, 2],
          );
          assert.deepEqual(t.lookup(["t", 1]), [[["t", 1], 1, 2]]);
          // 1 vs 1n: one key in an ordered_set, two in a set.
          t.insert([1, 5]);
          assert.equal(
            t.updateCounter(1n, 1, { default: [0, 0] }),
            ordered ? 6 : 1,
          );
          assert.deepEqual(
            sorted(t.lookup(1).concat(t.lookup(1n))),
            ordered ? [[1, 6], [1, 6]] : sorted([[1, 5], [1n, 1]]),
          );
          // Bad defaults and bad ops insert nothing.
          const cases: [unknown, unknown, (e: unknown) => true][] = [
            [
              "new",
              { default: [] },
              etsError(
                "default",
                msg(
                  "updateCounter",
                  "counter_default",
                  "the default must be a record with an element at keyPos 0, got []",
                ),
              ),
            ],
            [
              "hits",
              { default: "x" },
              etsError(
                "default",
                msg(
                  "updateCounter",
                  "counter_default",
                  `the default must be a record with an element at keyPos 0, got "x"`,
                ),
              ),
            ],
            [
              "new",
              { default: ["new", "zero"] },
              etsError(
                "bad_value",
                msg(
                  "updateCounter",
                  "counter_default",
                  `the field at position 1 is not an integer: "zero"`,
                ),
              ),
            ],
            [
              "new",
              { default: ["new"] },
              etsError(
                "position",
                msg(
                  "updateCounter",
                  "counter_default",
                  `position 1 is outside the record ["new"]`,
                ),
              ),
            ],
          ];
          for (const [key, options, check] of cases) {
            assert.throws(
              () => t.updateCounter(key, 1, options as never),
              check,
            );
          }
          assert.throws(
            () => t.updateCounter("new", [0, 1], { default: ["new", 0] }),
            etsError(
              "key_pos",
              msg("updateCounter", "counter_default", "position 0 is the key"),
            ),
          );
          assert.throws(
            () => t.updateCounter({}, 1, { default: [0, 0] }),
            errorOf(
              TypeError,
              msg(
                "updateCounter",
                "counter_default",
                `the key must be ${KEY_KINDS}, got {}`,
              ),
            ),
          );
          assert.ok(!t.member("new"));
          assert.deepEqual(t.lookup("hits"), [["hits", 12]]);
        } finally {
          t.destroy();
        }
      });

      test("selectReplace() replaces matched records with results that keep the key (t_select_replace)", () => {
        const t = create("select_replace", { type });
        try {
          for (let i = 0; i < 10; i++) t.insert([i, i, "v"]);
          // Increment field 1 of even keys.
          assert.equal(
            t.selectReplace([
              [
                ["$1", "$2", "$3"],
                [{ "==": [{ rem: ["$1", 2] }, 0] }],
                [["$1", { "+": ["$2", 100] }, "$3"]],
              ],
            ]),
            5,
          );
          assert.deepEqual(t.lookup(4), [[4, 104, "v"]]);
          assert.deepEqual(t.lookup(5), [[5, 5, "v"]]);
          // Accepted forms of "keeps the key".
          const accepted: unknown[] = [
            [["$1", "_", "_"], [], ["$_"]],
            [["$1", "$2", "_"], [], [["$1", "$2", "w"]]],
            [["$1", "_", "_"], [], [[{ element: [0, "$_"] }, 0, "x"]]],
            [[3, "$1", "$2"], [], [[3, "$1", "$2"]]],
            [[3, "$1", "$2"], [], [[{ const: 3 }, "$1", "$2"]]],
          ];
          for (const clause of accepted) {
            t.selectReplace([clause]);
          }
          assert.deepEqual(t.lookup(3), [[3, 0, "x"]]);
          // Compare-and-swap with { const: record }.
          const cas = [[[7, 0, "x"], [], [{ const: [7, 8, "swapped"] }]]];
          assert.equal(t.selectReplace(cas), 1);
          assert.equal(t.selectReplace(cas), 0);
          assert.deepEqual(t.lookup(7), [[7, 8, "swapped"]]);
          // Tuple keys rebuilt element by element.
          t.insert([["k", 1], 0]);
          assert.equal(
            t.selectReplace([[[["k", "$1"], "$2"], [], [[["k", "$1"], {
              "+": ["$2", 1],
            }]]]]),
            1,
          );
          assert.deepEqual(t.lookup(["k", 1]), [[["k", 1], 1]]);
          // Rejected: results that may change the key, checked before
          // anything changes, even with nothing to match.
          const before = t.toList();
          const rejected: unknown[] = [
            [[["$1", "$2", "_"], [], [["$2", "$1", 0]]]],
            [[["$1", "_", "_"], [], [[{ "+": ["$1", 0] }, 0, 0]]]],
            [[["_", "$1", "_"], [], [["_", "$1", 0]]]],
            [[["$1", "_", "_"], [], [["$_", 0, 0]]]],
            [[["$1", "_", "_"], [], [["$$", 0, 0]]]],
            [[["$1", "_", "_"], [], [{ const: ["$1", 0, 0] }]]],
            [[["$1", "_", "_"], [], [0, ["$1", 0, 0]]]],
            [[["$1", "_", "_"], [], [{ object: { k: "$1" } }]]],
            [[["$1", "_", "_"], [], ["$_"]], [["$1", "_"], [], [[0, 0]]]],
            [[["$1", "_", "_"], [], [[{ element: [1, "$_"] }, 0, 0]]]],
          ];
          for (const spec of rejected) {
            assert.throws(
              () => t.selectReplace(spec),
              errorOf(
                TypeError,
                msg(
                  "selectReplace",
                  "select_replace",
                  `every clause's result must keep the key at keyPos 0, and this spec may not: ${
                    formatTerm(spec)
                  }`,
                ),
              ),
            );
          }
          assert.deepEqual(t.toList(), before);
          const empty = create("select_replace_empty", { type });
          assert.throws(
            () => empty.selectReplace(rejected[0]),
            errorOf(
              TypeError,
              msg(
                "selectReplace",
                "select_replace_empty",
                `every clause's result must keep the key at keyPos 0, and this spec may not: ${
                  formatTerm(rejected[0])
                }`,
              ),
            ),
          );
          empty.destroy();
          // A body that throws gives MATCH_SPEC_EXIT, which replaces nothing.
          assert.equal(
            t.selectReplace([[["$1", "$2", "_"], [], [["$1", {
              "+": ["$2", "x"],
            }, 0]]]]),
            0,
          );
          assert.deepEqual(t.toList(), before);
        } finally {
          t.destroy();
        }
      });
    }
  });
}

// ------------------------------------------------------ ordered_set --

describe("Table (ordered_set) order", () => {
  test("first/next/last/prev follow the term order, also across bigints, and from absent keys (ordered)", async () => {
    const a = idle();
    const b = idle();
    const r1 = monitor(a);
    const r2 = monitor(a);
    const t = create("ordered", { type: "ordered_set" });
    try {
      const keys: unknown[] = [
        -(2n ** 70n),
        -1.5,
        0,
        1n,
        2,
        2.5,
        2n ** 70n,
        null,
        false,
        true,
        r1,
        r2,
        a,
        b,
        [],
        [0],
        [1n],
        [[]],
        ["a"],
        [0, 0],
        [0, "a"],
        [1, 0],
        [0, 0, 0],
        // Strings last, as Erlang's binaries after tuples.
        "",
        "a",
        "b",
        "ba",
      ];
      t.insertMany(shuffle(keys).map((k) => [k]));
      assert.deepEqual(walk(t), keys);
      const back: unknown[] = [];
      for (let k = t.last(); k !== undefined; k = t.prev(k)) back.push(k);
      assert.deepEqual(back, [...keys].reverse());
      assert.deepEqual(t.toList().map((r) => r[0]), keys);
      assert.equal(t.first(), -(2n ** 70n));
      assert.deepEqual(t.last(), "ba");
      // From keys that are not in the table.
      assert.equal(t.next(-(2n ** 80n)), -(2n ** 70n));
      assert.equal(t.next(0.5), 1n);
      assert.equal(t.prev(1.5), 1n);
      assert.equal(t.next(2n), 2.5);
      assert.equal(t.next(3), 2n ** 70n);
      assert.equal(t.next(2n ** 71n), null);
      assert.equal(t.next("aa"), "b");
      assert.equal(t.prev("aa"), "a");
      assert.deepEqual(t.next([0, 1]), [0, "a"]);
      assert.deepEqual(t.next([2, 0]), [0, 0, 0]);
      assert.equal(t.next([0, 0, 0]), "");
      assert.equal(t.next([1, 1, 1, 1]), "");
      assert.equal(t.next("ba"), undefined);
      assert.equal(t.next("z"), undefined);
      assert.equal(t.prev(-(2n ** 70n)), undefined);
      t.deleteAllObjects();
      assert.equal(t.first(), undefined);
      assert.equal(t.last(), undefined);
      assert.equal(t.next(1), undefined);
    } finally {
      t.destroy();
      demonitor(r1);
      demonitor(r2);
      await kill(a, b);
    }
  });

  test("select() with a bound key prefix returns exactly the matching records, in term order (partly bound keys)", () => {
    const t = create("prefix", { type: "ordered_set" });
    const s = create("prefix_set", { type: "set" });
    try {
      const recs = shuffle(
        Array.from({ length: 200 }, (_, i) => [[Math.floor(i / 10), i], i]),
      );
      t.insertMany(recs);
      s.insertMany(recs);
      t.insertMany([[[3n, 999], "bigint prefix"], [[3, 1, 1], "longer"], [
        3,
        "short",
      ]]);
      const spec = [[[[3, "$1"], "$2"], [], ["$2"]]];
      assert.deepEqual(
        t.select(spec),
        Array.from({ length: 10 }, (_, i) => 30 + i),
      );
      assert.deepEqual(sorted(s.select(spec)), sorted(t.select(spec)));
      assert.deepEqual(
        t.selectReverse(spec),
        Array.from({ length: 10 }, (_, i) => 39 - i),
      );
      // Matching stays exact: the prefix 3n only matches the bigint key.
      assert.deepEqual(t.select([[[[3n, "_"], "$1"], [], ["$1"]]]), [
        "bigint prefix",
      ]);
      // Guards still apply.
      assert.deepEqual(
        t.select([[[[7, "$1"], "_"], [{ ">=": ["$1", 77] }], ["$1"]]]),
        [77, 78, 79],
      );
      // Several clauses with the same prefix; a nested prefix.
      assert.deepEqual(
        t.select([
          [[[5, 51], "_"], [], ["a"]],
          [[[5, "$1"], "_"], [{ "<": ["$1", 53] }], ["$1"]],
        ]),
        [50, "a", 52],
      );
      // Chunks in both directions, with a key deleted under the cursor.
      const page = t.select(spec, { limit: 3 })!;
      assert.deepEqual(page.results, [30, 31, 32]);
      t.delete([3, 32]);
      t.delete([3, 33]);
      assert.deepEqual(chunks(page.continuation!.next()).flat(), [
        34,
        35,
        36,
        37,
        38,
        39,
      ]);
      assert.deepEqual(chunks(t.selectReverse(spec, { limit: 4 })), [
        [39, 38, 37, 36],
        [35, 34, 31, 30],
      ]);
      // The same results as a full scan would give.
      const full = t.toList().filter((r) =>
        Array.isArray(r[0]) && r[0].length === 2 && r[0][0] === 12
      ).map((r) => r[1]);
      assert.deepEqual(t.select([[[[12, "_"], "$1"], [], ["$1"]]]), full);
      assert.equal(full.length, 10);
    } finally {
      t.destroy();
      s.destroy();
    }
  });
});

// ------------------------------------------------ interface equality --

describe("set and ordered_set (interface_equality)", () => {
  test("set and ordered_set give the same results and errors for the same operations", () => {
    const run = (type: TableType): unknown[] => {
      const t = create("interface_equality", { type });
      const out: unknown[] = [];
      const step = (fn: () => unknown, unordered = false) => {
        try {
          const r = fn();
          out.push(["ok", unordered && Array.isArray(r) ? sorted(r) : r]);
        } catch (e) {
          out.push([
            "error",
            (e as Error).constructor.name,
            (e as EtsError).code ?? null,
            (e as Error).message,
          ]);
        }
      };
      try {
        step(() => t.insert(["a", 1, 2]));
        step(() => t.insertMany([["b", 1, 2], [["c", 1], 3, 4], [2, "x", 5]]));
        step(() => t.insert(["a", 10, 20]));
        step(() => t.insert([]));
        step(() => t.lookup("a"));
        step(() => t.lookup("z"));
        step(() => t.member(["c", 1]));
        step(() => t.lookupElement("a", 2));
        step(() => t.lookupElement("z", 2));
        step(() => t.lookupElement("a", 3));
        step(() => t.lookupElement("z", 3, { default: "d" }));
        step(() => t.insertNew(["a", 0, 0]));
        step(() => t.insertNewMany([["n", 0, 0], ["o", 0, 0]]));
        step(() => t.updateCounter("a", 1));
        step(() => t.updateCounter("a", [[1, 1], [2, -1]]));
        step(() => t.updateCounter(2, 1));
        step(() => t.updateCounter("zz", 1));
        step(() => t.updateCounter("zz", 1, { default: ["zz", 0, 0] }));
        step(() => t.updateElement("a", [2, "two"]));
        step(() => t.updateElement("a", [0, "key"]));
        step(() => t.updateElement("q", [1, 1]));
        step(() => t.match(["$1", "$2", "_"]), true);
        step(() => t.matchObject(["_", 1, "_"]), true);
        step(
          () =>
            t.select([[["$1", "$2", "$3"], [{ is_integer: ["$2"] }], [[
              "$3",
              "$1",
            ]]]]),
          true,
        );
        step(() => t.select([[["$1"], [], [{ nope: [] }]]]));
        step(() =>
          t.selectCount([[["_", "$1", "_"], [{ ">": ["$1", 0] }], [true]]])
        );
        step(() => t.deleteObject(["b", 1, 2]));
        step(() => t.deleteObject(["n", 1, 2]));
        step(() => t.take(["c", 1]));
        step(() => t.delete("o"));
        step(() => t.selectDelete([[["_", 0, "_"], [], [true]]]));
        step(() => t.matchDelete(["_", "x", "_"]));
        step(() => t.toList(), true);
        step(() => t.info()!.size);
        step(() => sorted(walk(t)));
        step(() => t.next("missing"));
      } finally {
        t.destroy();
      }
      return out;
    };
    const set = run("set");
    const ordered = run("ordered_set");
    // next() from an absent key is the one documented difference.
    const lastSet = set.pop() as unknown[];
    const lastOrdered = ordered.pop() as unknown[];
    assert.deepEqual(ordered, set);
    assert.equal(lastSet[0], "error");
    assert.equal(lastSet[2], "bad_key");
    assert.deepEqual(lastOrdered, ["ok", "zz"]);
  });
});

// --------------------------------------------------- access, bad_table --

describe("access and missing tables (privacy, bad_table)", () => {
  test("a select continuation of a destroyed table throws EtsError notFound (bad_table)", () => {
    const t = create("gone_cont");
    t.insertMany([[1], [2]]);
    const page = t.matchObject("_", { limit: 1 })!;
    t.destroy();
    assert.throws(
      () => page.continuation!.next(),
      etsError(
        "not_found",
        msg("matchObject", "gone_cont", "the table no longer exists"),
      ),
    );
  });

  for (const access of ["public", "protected", "private"] as const) {
    test(`a ${access} table: what another process may do (privacy)`, async () => {
      for (const [op, kind, run] of OPS) {
        const t = create("privacy", { access });
        try {
          t.insertMany([[0, 0], [1, 1]]);
          const r = await runIn(() => {
            run(t);
            return "done";
          });
          const allowed = kind === "owner"
            ? false
            : kind === "read"
            ? access !== "private"
            : access === "public";
          if (allowed) {
            assert.ok(r.ok, `${op} should work: ${r.value}`);
          } else if (kind === "owner") {
            etsError(
              "not_owner",
              msg(
                op,
                "privacy",
                `only the owner ${self()} may do this, not ${r.pid}`,
              ),
            )(r.value);
          } else {
            etsError(
              "access",
              msg(
                op,
                "privacy",
                `${r.pid} may not ${kind} a ${access} table owned by ${self()}`,
              ),
            )(r.value);
            // A failed write changed nothing.
            assert.deepEqual(t.toList(), [[0, 0], [1, 1]]);
          }
          // info() answers anyone.
          if (t.info() !== undefined) {
            const info = await valueIn(() => t.info()) as { owner: Pid };
            assert.equal(info.owner, self());
          }
        } finally {
          drop(t);
        }
      }
      await assertNoMessages();
    });
  }

  test("a private table's continuation fails for another process; a protected one's works", async () => {
    for (const access of ["private", "protected"] as const) {
      const t = create("cont_access", { access });
      try {
        t.insertMany([[1], [2], [3]]);
        const page = t.select([[["$1"], [], ["$1"]]], { limit: 1 })!;
        const r = await runIn(() => page.continuation!.next()!.results);
        if (access === "private") {
          etsError(
            "access",
            msg(
              "select",
              "cont_access",
              `${r.pid} may not read a private table owned by ${self()}`,
            ),
          )(r.value);
        } else {
          assert.deepEqual(r.value, [2]);
        }
      } finally {
        t.destroy();
      }
    }
  });

  test("the owner may do everything on its private table; info() works for anyone on it", async () => {
    const t = create("mine", { access: "private" });
    try {
      t.insert([1, 1]);
      assert.deepEqual(t.lookup(1), [[1, 1]]);
      const info = await valueIn(() => t.info()) as { access: string };
      assert.equal(info.access, "private");
    } finally {
      t.destroy();
    }
  });
});

// ------------------------------------------------------- ownership --

describe("heir and ETS-TRANSFER (heir)", () => {
  test("the heir (main) gets ETS-TRANSFER before the dying owner's EXIT and DOWN, and owns the table", async () => {
    for (const data of [undefined, "data", { nested: [1, 2] }]) {
      const main = self();
      const heir = data === undefined ? main : { pid: main, data };
      const owner = await spawnOwner("heir_main", {
        heir,
        named: true,
        access: "private",
      }, (t) => t.insert(["k", "v"]));
      const t = owner.table;
      assert.equal(t.info()!.heir, main);
      send(owner.pid, "die");
      const [m1, m2, m3] = [
        await receive(),
        await receive(),
        await receive(),
      ] as unknown[][];
      assertMessage(m1, ["ETS-TRANSFER", t, owner.pid, data]);
      assertMessage(m2, ["EXIT", owner.pid, "normal"]);
      assertMessage(m3, ["DOWN", owner.ref, "process", owner.pid, "normal"]);
      // Contents, name and access stay; the heir setting names the new
      // owner itself.
      const info = t.info()!;
      assert.equal(info.owner, main);
      assert.equal(info.heir, main);
      assert.equal(info.access, "private");
      assert.equal(whereis("heir_main"), t);
      assert.deepEqual(t.lookup("k"), [["k", "v"]]);
      t.insert(["k2", "mine now"]);
      t.destroy();
      await assertNoMessages();
    }
  });

  test("another process as heir gets ETS-TRANSFER before the owner's EXIT and DOWN; a killed owner too", async () => {
    for (const how of ["die", "kill"]) {
      const main = self();
      const heir = spawn(async () => {
        trapExit(true);
        const [, pid] = await receive((m) =>
          Array.isArray(m) && m[0] === "watch"
        ) as [string, Pid];
        link(pid);
        const ref = monitor(pid);
        send(main, "watching");
        const seen = [await receive(), await receive(), await receive()];
        send(main, ["heir saw", seen, ref]);
        await forever();
      });
      const owner = await spawnOwner("heir_other", {
        heir: { pid: heir, data: "for you" },
      });
      send(heir, ["watch", owner.pid]);
      await receive((m) => m === "watching");
      if (how === "die") send(owner.pid, "die");
      else exit(owner.pid, "kill");
      const reason = how === "die" ? "normal" : "killed";
      const [, seen, ref] = await receive((m) =>
        Array.isArray(m) && m[0] === "heir saw"
      ) as [string, unknown[][], Ref];
      assert.equal(seen.length, 3);
      assertMessage(seen[0], [
        "ETS-TRANSFER",
        owner.table,
        owner.pid,
        "for you",
      ]);
      assertMessage(seen[1], ["EXIT", owner.pid, reason]);
      assertMessage(seen[2], ["DOWN", ref, "process", owner.pid, reason]);
      assert.equal(owner.table.info()!.owner, heir);
      // main, only linked and monitoring: EXIT then DOWN, no transfer.
      assertMessage(await receive(), ["EXIT", owner.pid, reason]);
      assertMessage(await receive(), [
        "DOWN",
        owner.ref,
        "process",
        owner.pid,
        reason,
      ]);
      // The heir now owns it with itself as heir: its death deletes it.
      exit(heir, "kill");
      assert.equal(owner.table.info(), undefined);
      await assertNoMessages();
    }
  });

  test("owner death without an heir destroys the table and frees its name", async () => {
    const owner = await spawnOwner("orphan", { named: true, access: "public" });
    const t = owner.table;
    t.insert([1, 1]);
    assert.equal(whereis("orphan"), t);
    send(owner.pid, "die");
    assert.equal(await downReason(owner.ref), "normal");
    assert.equal(whereis("orphan"), undefined);
    assert.equal(t.info(), undefined);
    assert.ok(!all().includes(t));
    assert.throws(
      () => t.lookup(1),
      etsError(
        "not_found",
        msg("lookup", "orphan", "the table no longer exists"),
      ),
    );
    assert.throws(
      () => t.insert([2]),
      etsError(
        "not_found",
        msg("insert", "orphan", "the table no longer exists"),
      ),
    );
    const again = create("orphan", { named: true });
    assert.equal(whereis("orphan"), again);
    again.destroy();
    await flush();
  });

  test("an heir that died before the owner means deletion: no ETS-TRANSFER anywhere", async () => {
    const [heir, heirRef] = spawnMonitor(forever);
    const owner = await spawnOwner("dead_heir", {
      heir: { pid: heir, data: 1 },
      named: true,
    });
    exit(heir, "kill");
    assert.equal(await downReason(heirRef), "killed");
    assert.equal(owner.table.info()!.heir, undefined);
    assert.equal(owner.table.info()!.heirData, undefined);
    send(owner.pid, "die");
    assertMessage(await receive(), ["EXIT", owner.pid, "normal"]);
    assertMessage(await receive(), [
      "DOWN",
      owner.ref,
      "process",
      owner.pid,
      "normal",
    ]);
    assert.equal(owner.table.info(), undefined);
    assert.equal(whereis("dead_heir"), undefined);
    await assertNoMessages();
  });

  test("setHeir() sets and clears the heir; only the owner may call it; a bad heir is a TypeError", async () => {
    const owner = await spawnOwner("set_heir", { access: "public" });
    const t = owner.table;
    // Not the owner (main): notOwner even on a public table.
    assert.throws(
      () => t.setHeir(self(), "x"),
      etsError(
        "not_owner",
        msg(
          "setHeir",
          "set_heir",
          `only the owner ${owner.pid} may do this, not ${self()}`,
        ),
      ),
    );
    const main = self();
    const set = await runOwner(owner, () => {
      t.setHeir(main, "heir data");
      return t.info()!.heirData;
    });
    assert.equal(set, "heir data");
    const cleared = await runOwner(owner, () => {
      t.setHeir("none");
      return [t.info()!.heir, t.info()!.heirData];
    });
    assert.deepEqual(cleared, [undefined, undefined]);
    const bad = await runOwner(owner, () => {
      try {
        t.setHeir(5 as never);
      } catch (e) {
        return e;
      }
    });
    errorOf(
      TypeError,
      `Cannot setHeir on table "set_heir": 'heir' must be a Pid, { pid, data } or "none", got 5`,
    )(bad);
    // Cleared: the owner's death deletes the table.
    send(owner.pid, "die");
    await downReason(owner.ref);
    assert.equal(t.info(), undefined);
    await flush();
  });
});

describe("giveAway() (give_away)", () => {
  test("giveAway() hands the table over with ETS-TRANSFER; the old owner loses its rights; it can be given back", async () => {
    const main = self();
    const t = create("gift", { access: "private" });
    t.insert(["k", 1]);
    const receiver = spawn(async () => {
      const m = await receive() as unknown[];
      send(main, ["receiver got", m]);
      const table = m[1] as Table;
      table.insert(["k", 2]);
      await receive((x) => x === "give back");
      table.giveAway(main, "back");
      await forever();
    });
    t.giveAway(receiver, { some: "gift" });
    assert.equal(t.info()!.owner, receiver);
    const [, got] = await receive((m) =>
      Array.isArray(m) && m[0] === "receiver got"
    ) as [string, unknown[]];
    assertMessage(got, ["ETS-TRANSFER", t, main, { some: "gift" }]);
    assert.throws(
      () => t.lookup("k"),
      etsError(
        "access",
        msg(
          "lookup",
          "gift",
          `${main} may not read a private table owned by ${receiver}`,
        ),
      ),
    );
    assert.throws(
      () => t.giveAway(receiver, 1),
      etsError(
        "not_owner",
        msg(
          "giveAway",
          "gift",
          `only the owner ${receiver} may do this, not ${main}`,
        ),
      ),
    );
    send(receiver, "give back");
    assertMessage(await receive(), ["ETS-TRANSFER", t, receiver, "back"]);
    assert.equal(t.info()!.owner, main);
    assert.deepEqual(t.lookup("k"), [["k", 2]]);
    t.destroy();
    await kill(receiver);
    await assertNoMessages();
  });

  test("a receiver that dies deletes the table without an heir, and returns it to an heir (main) with the heir data", async () => {
    for (const withHeir of [false, true]) {
      const t = create("gift_heir", { named: true });
      if (withHeir) t.setHeir(self(), "come back");
      const [receiver, ref] = spawnMonitor(forever);
      t.giveAway(receiver, "gift");
      assert.equal(t.info()!.heir, withHeir ? self() : undefined);
      exit(receiver, "kill");
      if (withHeir) {
        assertMessage(await receive(), [
          "ETS-TRANSFER",
          t,
          receiver,
          "come back",
        ]);
        assert.equal(t.info()!.owner, self());
        t.destroy();
      } else {
        assert.equal(await downReason(ref), "killed");
        assert.equal(t.info(), undefined);
        assert.equal(whereis("gift_heir"), undefined);
      }
      await flush();
    }
  });

  test("giveAway() to a dead pid, to the owner, to a non-pid, of a destroyed table, or by a non-owner fails", async () => {
    const [dead, ref] = spawnMonitor(() => {});
    await downReason(ref);
    const t = create("bad_gift", { access: "public" });
    try {
      assert.throws(
        () => t.giveAway(dead, 1),
        errorOf(
          NoProcError,
          `Cannot give table "bad_gift" away: no process ${dead}`,
        ),
      );
      assert.throws(
        () => t.giveAway(self(), 1),
        etsError(
          "owner",
          msg("giveAway", "bad_gift", `${self()} already owns it`),
        ),
      );
      assert.throws(
        () => t.giveAway("someone" as never, 1),
        errorOf(
          TypeError,
          msg("giveAway", "bad_gift", `'pid' must be a Pid, got "someone"`),
        ),
      );
      const r = await runIn((me) => t.giveAway(me, 1));
      etsError(
        "not_owner",
        msg(
          "giveAway",
          "bad_gift",
          `only the owner ${self()} may do this, not ${r.pid}`,
        ),
      )(r.value);
      assert.equal(t.info()!.owner, self());
    } finally {
      t.destroy();
    }
    assert.throws(
      () => t.giveAway(self(), 1),
      etsError(
        "not_found",
        msg("giveAway", "bad_gift", "the table no longer exists"),
      ),
    );
    await assertNoMessages();
  });
});

// ------------------------------------------------- whereis, rename --

describe("whereis() and rename() (whereis_table, rename)", () => {
  test("whereis() finds named tables only; destroy() frees the name; the old table stays dead after a new one takes it", () => {
    const t = create("where", { named: true });
    const u = create("where_unnamed");
    assert.equal(whereis("where"), t);
    assert.equal(whereis("where_unnamed"), undefined);
    assert.equal(whereis("nowhere"), undefined);
    t.insert([1, "old"]);
    t.destroy();
    assert.equal(whereis("where"), undefined);
    const again = create("where", { named: true });
    again.insert([1, "new"]);
    assert.equal(whereis("where"), again);
    assert.throws(
      () => t.lookup(1),
      etsError(
        "not_found",
        msg("lookup", "where", "the table no longer exists"),
      ),
    );
    assert.deepEqual(whereis("where")!.lookup(1), [[1, "new"]]);
    again.destroy();
    u.destroy();
  });

  test("rename() moves a named table to a free name; a taken name (even its own) is EtsError alreadyExists", () => {
    const a = create("rename_a", { named: true });
    const b = create("rename_b", { named: true });
    try {
      a.insert([1]);
      a.rename("rename_c");
      assert.equal(whereis("rename_c"), a);
      assert.equal(whereis("rename_a"), undefined);
      assert.equal(a.info()!.name, "rename_c");
      assert.deepEqual(whereis("rename_c")!.lookup(1), [[1]]);
      assert.throws(
        () => a.rename("rename_b"),
        etsError(
          "already_exists",
          msg("rename", "rename_c", `a named table "rename_b" exists`),
        ),
      );
      assert.throws(
        () => a.rename("rename_c"),
        etsError(
          "already_exists",
          msg("rename", "rename_c", `a named table "rename_c" exists`),
        ),
      );
      assert.throws(
        () => a.rename(5 as never),
        errorOf(
          TypeError,
          msg("rename", "rename_c", "'name' must be a non-empty string, got 5"),
        ),
      );
      assert.throws(
        () => a.rename(""),
        errorOf(
          TypeError,
          msg(
            "rename",
            "rename_c",
            `'name' must be a non-empty string, got ""`,
          ),
        ),
      );
      assert.equal(whereis("rename_c"), a);
      // The old name is free for a new table.
      const fresh = create("rename_a", { named: true });
      assert.equal(whereis("rename_a"), fresh);
      fresh.destroy();
      a.destroy();
      assert.equal(whereis("rename_c"), undefined);
    } finally {
      drop(a, b);
    }
  });

  test("rename() of an unnamed table only changes its name in info() and messages", () => {
    const named = create("rename_taken", { named: true });
    const t = create("rename_unnamed");
    try {
      t.rename("rename_unnamed2");
      assert.equal(t.info()!.name, "rename_unnamed2");
      assert.equal(whereis("rename_unnamed2"), undefined);
      t.rename("rename_taken");
      assert.equal(whereis("rename_taken"), named);
      t.destroy();
      assert.throws(
        () => t.lookup(1),
        etsError(
          "not_found",
          msg("lookup", "rename_taken", "the table no longer exists"),
        ),
      );
    } finally {
      drop(t, named);
    }
  });
});

describe("store internals seen from the API (hash Map walks, ordered_set index)", () => {
  for (const type of ["set", "bag"] as const) {
    test(`${type}: interleaved first/next walks, with keys of every kind, each see every key once in insertion order`, () => {
      const t = create("interleaved_walks", { type });
      try {
        const keys: unknown[] = [];
        for (let i = 0; i < 40; i++) {
          keys.push(i % 3 === 0 ? ["k", i] : i % 3 === 1 ? `s${i}` : i);
        }
        for (const k of keys) t.insert([k, 1]);
        // Six walks side by side: more than the store keeps iterators for.
        const walks = Array.from({ length: 6 }, () => [t.first()]);
        for (let step = 1; step < keys.length; step++) {
          for (const w of walks) w.push(t.next(w[w.length - 1]));
        }
        for (const w of walks) {
          assert.deepEqual(w, keys);
          assert.equal(t.next(w[w.length - 1]), undefined);
        }
        // An array key equal to (not the same as) the stored one works too.
        assert.deepEqual(t.next(["k", 0]), "s1");
      } finally {
        t.destroy();
      }
    });

    test(`${type}: a walk goes on after inserts behind it, and from the last key once more keys come`, () => {
      const t = create("walk_inserts", { type });
      try {
        t.insertMany([[1], [2]]);
        assert.equal(t.first(), 1);
        assert.equal(t.next(1), 2);
        assert.equal(t.next(2), undefined);
        t.insert([3]);
        t.insert([["t"]]);
        assert.equal(t.next(2), 3);
        assert.deepEqual(t.next(3), ["t"]);
        assert.equal(t.next(["t"]), undefined);
        t.deleteAllObjects();
        assert.equal(t.first(), undefined);
        t.insert([4]);
        assert.equal(t.first(), 4);
        assert.equal(t.next(4), undefined);
      } finally {
        t.destroy();
      }
    });

    test(`${type}: a continuation used twice after its key was deleted from a fixed table gives the same rest`, () => {
      const t = create("cont_twice_deleted", { type });
      try {
        t.safeFixtable(true);
        for (let i = 0; i < 10; i++) t.insert([i, i]);
        const spec = [[["$1", "_"], [], ["$1"]]];
        const first = t.select(spec, { limit: 4 })!;
        assert.deepEqual(first.results, [0, 1, 2, 3]);
        t.delete(3);
        t.delete(4);
        const once = chunks(first.continuation!.next()).flat();
        const twice = chunks(first.continuation!.next()).flat();
        assert.deepEqual(once, [5, 6, 7, 8, 9]);
        assert.deepEqual(twice, once);
        t.safeFixtable(false);
      } finally {
        t.destroy();
      }
    });

    test(`${type}: select() by several bound keys keeps table order through deletes and re-inserts`, () => {
      const t = create("bound_keys_reorder", { type });
      try {
        t.insertMany([["a", 1], ["b", 2], [["c"], 3]]);
        const spec = [
          [[["c"], "$1"], [], ["$1"]],
          [["b", "$1"], [], ["$1"]],
          [["a", "$1"], [], ["$1"]],
        ];
        assert.deepEqual(t.select(spec), [1, 2, 3]);
        t.delete("a");
        t.insert(["a", 4]); // goes last
        assert.deepEqual(t.select(spec), [2, 3, 4]);
        t.delete(["c"]);
        t.insert([["c"], 5]);
        assert.deepEqual(t.select(spec), [2, 4, 5]);
        t.delete("b");
        assert.deepEqual(t.select(spec), [4, 5]);
      } finally {
        t.destroy();
      }
    });
  }

  test("ordered_set: lookups by equal numbers and bigints find the one record; distinct large values stay apart", () => {
    const t = create("oset_index", { type: "ordered_set" });
    try {
      const big = 2 ** 60;
      t.insertMany([
        [1, "one"],
        [big, "big"],
        [2n ** 60n + 1n, "big+1"],
        [
          0,
          "zero",
        ],
        ["1", "str"],
        [true, "t"],
        [null, "nil"],
      ]);
      assert.deepEqual(t.lookup(1n), [[1, "one"]]);
      assert.deepEqual(t.lookup(2n ** 60n), [[big, "big"]]);
      assert.deepEqual(t.lookup(2n ** 60n + 1n), [[2n ** 60n + 1n, "big+1"]]);
      assert.deepEqual(t.lookup(-0), [[0, "zero"]]);
      assert.deepEqual(t.lookup("1"), [["1", "str"]]);
      assert.deepEqual(t.lookup(true), [[true, "t"]]);
      assert.deepEqual(t.lookup(null), [[null, "nil"]]);
      assert.deepEqual(t.lookup(NaN), []);
      assert.deepEqual(t.lookup(1.5), []);
      // Inserting under 1n replaces the record and stores the key 1n.
      t.insert([1n, "one again"]);
      assert.deepEqual(t.lookup(1), [[1n, "one again"]]);
      t.delete(1n);
      assert.deepEqual(t.lookup(1), []);
      assert.equal(t.member(1n), false);
      t.take(2n ** 60n);
      assert.deepEqual(t.lookup(big), []);
      assert.equal(t.info()!.size, 5);
      t.deleteAllObjects();
      assert.deepEqual(t.lookup("1"), []);
    } finally {
      t.destroy();
    }
  });

  for (const type of ["set", "ordered_set"] as const) {
    test(`${type}: updateCounter() never changes a record handed out before, for plain, tuple and absent keys`, () => {
      const t = create("counter_frozen", { type });
      try {
        t.insertMany([["n", 1, 10], [["t", 1], 1]]);
        const before = t.lookup("n")[0];
        const tuple = t.lookup(["t", 1])[0];
        assert.equal(t.updateCounter("n", 5), 6);
        assert.equal(t.updateCounter("n", [2, -3]), 7);
        assert.equal(t.updateCounter(["t", 1], 1), 2);
        assert.deepEqual(before, ["n", 1, 10]);
        assert.deepEqual(tuple, [["t", 1], 1]);
        assert.deepEqual(t.lookup("n"), [["n", 6, 7]]);
        assert.deepEqual(t.lookup(["t", 1]), [[["t", 1], 2]]);
        assert.ok(Object.isFrozen(t.lookup("n")[0]));
        // The stored key of a tuple stays the table's frozen copy.
        assert.ok(Object.isFrozen(t.lookup(["t", 1])[0][0]));
        assert.throws(() => t.updateCounter("none", 1), EtsError);
        assert.throws(() => t.updateCounter("n", [0, 1]), EtsError);
        assert.throws(() => t.updateCounter("n", [3, 1]), EtsError);
        assert.throws(() => t.updateCounter("n", [1, 2 ** 53]), RangeError);
        assert.deepEqual(t.lookup("n"), [["n", 6, 7]]);
      } finally {
        t.destroy();
      }
    });

    for (const access of ["public", "protected"] as const) {
      test(`${type} (${access}): records updateCounter keeps changing in place come out frozen by every read, and never change after`, () => {
        const t = create("counter_thawed", { type, access });
        const keys = ["a", "b", "c", "d", "e", ["t", 1]];
        const bump = (n: number) => {
          for (const k of keys) {
            for (let i = 0; i < n; i++) t.updateCounter(k, 1);
          }
        };
        try {
          t.insertMany(keys.map((k) => [k, 0]));
          bump(2); // a new record, then changed in place
          const seen = [
            t.lookup("a")[0],
            t.toList().find((r) => r[0] === "b")!,
            t.foldl<unknown>((r, acc) => r[0] === "c" ? r : acc, undefined),
            t.select([[["d", "_"], [], ["$_"]]])[0],
            t.matchObject(["e", "_"])[0],
            t.lookup(["t", 1])[0],
          ] as TableRecord[];
          for (const r of seen) assert.ok(Object.isFrozen(r), String(r));
          bump(2);
          assert.deepEqual(seen.map((r) => r[1]), [2, 2, 2, 2, 2, 2]);
          assert.deepEqual(t.lookup("a"), [["a", 4]]);
          assert.deepEqual(t.lookup(["t", 1]), [[["t", 1], 4]]);
          // Records changed in place, then taken, replaced or deleted.
          bump(1);
          const taken = t.take("a");
          assert.deepEqual(taken, [["a", 5]]);
          assert.ok(Object.isFrozen(taken[0]));
          t.insert(["b", 100]);
          t.delete("c");
          t.deleteObject(["d", 5]);
          t.delete(["t", 1]);
          assert.equal(t.updateCounter("b", 1), 101);
          assert.equal(t.updateCounter("e", 1), 6);
          const list = t.toList();
          assert.deepEqual(
            list.map(String).sort(),
            ["b,101", "e,6"],
          );
          for (const r of list) assert.ok(Object.isFrozen(r));
          assert.equal(t.info()!.size, 2);
          t.updateCounter("e", 1);
          assert.deepEqual(list.map(String).sort(), ["b,101", "e,6"]);
          t.deleteAllObjects();
          t.insert(["e", 0]);
          assert.equal(t.updateCounter("e", 1), 1);
          assert.deepEqual(t.lookup("e"), [["e", 1]]);
        } finally {
          t.destroy();
        }
      });
    }
  }

  test("ordered_set: tuple keys looked up again after inserts over them, deletes and == twins find the latest record", () => {
    // Tuple keys of numbers, bigints, strings, booleans and null have a
    // hash index of their own in an ordered_set, filled by lookups; others
    // (nested arrays, pids) only the tree.
    const t = create("oset_tuple_index", { type: "ordered_set" });
    try {
      const frozenOut = (key: unknown) => {
        const got = t.lookup(key);
        for (const r of got) assert.ok(Object.isFrozen(r));
        return got;
      };
      const nested = ["n", [1, 2]];
      const pid = self();
      t.insertMany([
        [["a", 1], 0],
        [["a", 1, 0], 1],
        [["a"], 2],
        [["b", null, true], 3],
        [["z", 0], 4],
        [nested, 5],
        [["p", pid], 6],
      ]);
      for (let pass = 0; pass < 2; pass++) {
        assert.deepEqual(frozenOut(["a", 1n]), [[["a", 1], 0]]);
        assert.deepEqual(frozenOut(["a", 1, 0n]), [[["a", 1, 0], 1]]);
        assert.deepEqual(frozenOut(["a"]), [[["a"], 2]]);
        assert.deepEqual(frozenOut(["b", null, true]), [[
          ["b", null, true],
          3,
        ]]);
        assert.deepEqual(frozenOut(["z", -0]), [[["z", 0], 4]]);
        assert.deepEqual(frozenOut(["n", [1n, 2]]), [[nested, 5]]);
        assert.deepEqual(frozenOut(["p", pid]), [[["p", pid], 6]]);
        assert.deepEqual(frozenOut(["a", 2]), []);
        assert.deepEqual(frozenOut(["a", 1, 0, 0]), []);
        assert.deepEqual(frozenOut(["b", null, false]), []);
      }
      // An == twin replaces the record and the stored key.
      t.insert([["a", 1n], "twin"]);
      assert.deepEqual(frozenOut(["a", 1]), [[["a", 1n], "twin"]]);
      assert.ok(t.member(["a", 1]));
      assert.equal(t.updateCounter(["z", 0], 1), 5);
      assert.deepEqual(frozenOut(["z", 0]), [[["z", 0], 5]]);
      assert.equal(t.updateCounter(["z", 0n], 1), 6);
      assert.deepEqual(frozenOut(["z", 0]), [[["z", 0], 6]]);
      t.delete(["a", 1]);
      assert.deepEqual(frozenOut(["a", 1]), []);
      assert.deepEqual(frozenOut(["a", 1, 0]), [[["a", 1, 0], 1]]);
      assert.deepEqual(frozenOut(["a"]), [[["a"], 2]]);
      t.insert([["a", 1], "back"]);
      assert.deepEqual(frozenOut(["a", 1]), [[["a", 1], "back"]]);
      assert.deepEqual(t.take(["a", 1, 0]), [[["a", 1, 0], 1]]);
      assert.deepEqual(frozenOut(["a", 1, 0]), []);
      t.deleteObject([["a"], 2]);
      assert.deepEqual(frozenOut(["a"]), []);
      assert.equal(t.selectDelete([[["$1", "_"], [], [true]]]), 5);
      assert.deepEqual(frozenOut(["b", null, true]), []);
      assert.deepEqual(frozenOut(["z", 0]), []);
      assert.equal(t.info()!.size, 0);
      t.insert([["z", 0], "again"]);
      assert.deepEqual(frozenOut(["z", 0]), [[["z", 0], "again"]]);
      t.deleteAllObjects();
      assert.deepEqual(frozenOut(["z", 0]), []);
    } finally {
      t.destroy();
    }
  });

  test("ordered_set: lookups after member, updateCounter, inserts and deletes hand out frozen records with the latest values", () => {
    // The ordered_set's hash index sees keys through every path: member and
    // updateCounter (which may leave a record unfrozen), lookups, inserts
    // over keys looked up, deletes; 2 and 2n are one key there.
    const t = create("oset_index_paths", { type: "ordered_set" });
    try {
      const frozenOut = (key: unknown) => {
        const got = t.lookup(key);
        for (const r of got) assert.ok(Object.isFrozen(r));
        return got;
      };
      t.insertMany([[1, 0], [2, 0], ["s", 0], [null, 0], [true, 0]]);
      assert.ok(t.member(1) && t.member(2n) && t.member("s"));
      assert.ok(t.member(null) && t.member(true) && !t.member(3));
      assert.equal(t.updateCounter(1, 1), 1);
      assert.equal(t.updateCounter(1, 1), 2);
      assert.deepEqual(frozenOut(1), [[1, 2]]);
      assert.equal(t.updateCounter(1, 1), 3);
      assert.deepEqual(frozenOut(1), [[1, 3]]);
      assert.deepEqual(frozenOut(1), [[1, 3]]);
      assert.deepEqual(frozenOut(2), [[2, 0]]);
      t.insert([2n, "big"]);
      assert.ok(t.member(2));
      assert.deepEqual(frozenOut(2), [[2n, "big"]]);
      t.insert([2, 5]);
      assert.equal(t.updateCounter(2n, 1), 6);
      assert.deepEqual(frozenOut(2n), [[2, 6]]);
      assert.equal(t.updateCounter("s", 4), 4);
      t.insert(["s", "replaced"]);
      assert.deepEqual(frozenOut("s"), [["s", "replaced"]]);
      t.insert(["s", "again"]);
      assert.ok(t.member("s"));
      assert.deepEqual(frozenOut("s"), [["s", "again"]]);
      t.delete("s");
      assert.deepEqual(frozenOut("s"), []);
      assert.ok(!t.member("s"));
      t.insert(["s", "back"]);
      assert.deepEqual(frozenOut("s"), [["s", "back"]]);
      assert.deepEqual(t.take(null), [[null, 0]]);
      assert.deepEqual(frozenOut(null), []);
      assert.deepEqual(frozenOut(true), [[true, 0]]);
      t.deleteAllObjects();
      assert.deepEqual(frozenOut(1), []);
      t.insert([1, "new"]);
      assert.deepEqual(frozenOut(1), [[1, "new"]]);
    } finally {
      t.destroy();
    }
  });
});

describe("hygiene", () => {
  test("no table and no message is left behind by the tests above", async () => {
    assert.deepEqual(all().map(String), []);
    await assertNoMessages();
  });
});
