// Supervisor calls on every supervisor-like process (issue 12): supervisor's
// request functions answered by a director and a tracker (or refused with a
// typed error), every public request function of the three modules walked
// against the other two kinds, bare GenServer.calls of unknown requests, the
// one sync/async rule, and the one return shape per operation.
import { describe, test } from "./_harness.ts";
import assert from "node:assert/strict";
import * as supervisor from "../supervisor.ts";
import * as director from "../director.ts";
import * as tracker from "../tracker.ts";
import * as genServer from "../gen_server.ts";
import { Failure } from "../_request.ts";
import {
  CallError,
  ChildRequestError,
  ChildSpecError,
  NoProcError,
  SupervisorError,
} from "../errors.ts";
import { DirectorError } from "../director.ts";
import { TrackerError } from "../tracker.ts";
import { exit, isAlive, type Pid, spawn, spawnLink } from "../process.ts";
import { assertNoMessages, flush, forever, withClock } from "./_helpers.ts";

// ---------------------------------------------------------------- helpers --

type Kind = "supervisor" | "director" | "tracker";
const KINDS: readonly Kind[] = ["supervisor", "director", "tracker"];

let serial = 0;

/** A worker start function: a linked process that runs until stopped. */
const worker = () => spawnLink(forever);

/** A worker start function whose start returns extra info. */
const workerWithExtra = () => ({ pid: spawnLink(forever), extra: "info" });

interface Running {
  readonly kind: Kind;
  /** Its registered name (every function takes a name or a pid). */
  readonly name: string;
  readonly pid: Pid;
}

/**
 * Starts one process of each kind, each with one running child `"w"` whose
 * start returns the extra value `"info"`, runs `fn`, stops them all.
 */
function withAll(
  fn: (all: Record<Kind, Running>) => Promise<void>,
): Promise<void> {
  return withClock(async () => {
    const n = ++serial;
    const s = await supervisor.start({
      children: [{ id: "w", start: workerWithExtra }],
    }, { name: `calls_sup_${n}` });
    const d = await director.start({
      children: [{ id: "w", start: workerWithExtra }],
    }, { name: `calls_dir_${n}` });
    const t = await tracker.start(`calls_trk_${n}`);
    await tracker.findOrOpen(t, {
      id: "w",
      restart: "permanent",
      start: workerWithExtra,
    });
    const all: Record<Kind, Running> = {
      supervisor: { kind: "supervisor", name: `calls_sup_${n}`, pid: s },
      director: { kind: "director", name: `calls_dir_${n}`, pid: d },
      tracker: { kind: "tracker", name: `calls_trk_${n}`, pid: t },
    };
    try {
      await fn(all);
    } finally {
      if (isAlive(s)) await supervisor.stop(s);
      if (isAlive(d)) await director.stop(d);
      if (isAlive(t)) await tracker.stop(t);
      await flush();
    }
  });
}

/** The error class of a kind's request errors. */
const ERROR_OF = {
  supervisor: SupervisorError,
  director: DirectorError,
  tracker: TrackerError,
} as const;

type Outcome =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: unknown };

/** What `f` gives: its value (awaited if a promise), or what it threw. */
async function outcome(f: () => unknown): Promise<Outcome> {
  try {
    return { ok: true, value: await f() };
  } catch (error) {
    return { ok: false, error };
  }
}

/** Never an internal Failure, anywhere in a value (one level deep too). */
function assertNoFailure(value: unknown, what: string): void {
  assert.ok(!(value instanceof Failure), `${what} leaked a Failure`);
  if (value !== null && typeof value === "object") {
    for (const v of Object.values(value)) {
      assert.ok(!(v instanceof Failure), `${what} leaked a Failure`);
    }
  }
}

/** A typed error: one of the library's classes, with a code, or a TypeError. */
function assertTypedError(error: unknown, what: string): void {
  assertNoFailure(error, what);
  assert.ok(
    error instanceof ChildRequestError || error instanceof ChildSpecError ||
      error instanceof NoProcError || error instanceof CallError ||
      error instanceof TypeError,
    `${what} threw ${String(error)}, not a typed error`,
  );
  if (error instanceof ChildRequestError) {
    assert.equal(typeof error.code, "string", what);
  }
}

/** A row of whichChildren: supervisor's ChildInfo. */
function assertChildInfo(row: unknown, what: string): void {
  assert.ok(row !== null && typeof row === "object", what);
  const keys = Object.keys(row as object);
  for (const k of ["id", "pid", "type", "modules"]) {
    assert.ok(keys.includes(k), `${what}: row without ${k}`);
  }
  for (const k of keys) {
    assert.ok(
      ["id", "pid", "type", "modules", "restartAt", "extra"].includes(k),
      `${what}: row with a key ${k} of its own`,
    );
  }
}

/** supervisor's StartedChild: exactly `{ pid, extra }`. */
function assertStarted(v: unknown, what: string): void {
  assert.ok(v !== null && typeof v === "object", what);
  assert.deepEqual(Object.keys(v as object).sort(), ["extra", "pid"], what);
}

// ------------------------------------------- supervisor calls, any kind --

describe("supervisor's calls on a director (director answers OTP's supervisor calls)", () => {
  test("whichChildren(), countChildren() and getChildspec() answer what director's own reads say", async () => {
    await withAll(async ({ director: d }) => {
      for (const dest of [d.pid, d.name]) {
        assert.deepEqual(
          await supervisor.whichChildren(dest),
          director.whichChildren(dest),
        );
        assert.deepEqual(
          await supervisor.countChildren(dest),
          director.countChildren(dest),
        );
        assert.equal(
          await supervisor.getChildspec(dest, "w"),
          director.getChildspec(dest, "w") as unknown,
        );
      }
      const err = await supervisor.getChildspec(d.pid, "nobody").catch((
        e,
      ) => e);
      assert.ok(err instanceof DirectorError && err.code === "not_found");
    });
  });

  test("startChild(), terminateChild(), restartChild() and deleteChild() act on the director's children", async () => {
    await withAll(async ({ director: d }) => {
      const started = await supervisor.startChild(d.pid, {
        id: "x",
        start: worker,
      });
      assertStarted(started, "startChild");
      assert.equal(director.getPid(d.pid, "x"), started.pid);
      // Not a spec at all: a typed error from the director.
      await assert.rejects(
        supervisor.startChild(d.pid, { id: "y" } as never),
        ChildSpecError,
      );
      await assert.rejects(
        supervisor.startChild(d.pid, { id: "x", start: worker }),
        (e) => e instanceof DirectorError && e.code === "already_started",
      );
      await supervisor.terminateChild(d.pid, "x");
      assert.equal(director.whichChildren(d.pid)[1].pid, undefined);
      const again = await supervisor.restartChild(d.pid, "x");
      assertStarted(again, "restartChild");
      assert.equal(director.getPid(d.pid, "x"), again.pid);
      await assert.rejects(
        supervisor.deleteChild(d.pid, "x"),
        (e) => e instanceof DirectorError && e.code === "running",
      );
      await supervisor.terminateChild(d.pid, "x");
      await supervisor.deleteChild(d.pid, "x");
      assert.deepEqual(director.getPids(d.pid).map(([id]) => id), ["w"]);
    });
  });
});

describe("supervisor's calls on a tracker (gen_tracker answers which_children, terminate_child, delete_child)", () => {
  test("whichChildren() and countChildren() answer what the tracker's own reads say", async () => {
    await withAll(async ({ tracker: t }) => {
      for (const dest of [t.pid, t.name]) {
        assert.deepEqual(
          await supervisor.whichChildren(dest),
          tracker.whichChildren(dest),
        );
        assert.deepEqual(
          await supervisor.countChildren(dest),
          tracker.countChildren(dest),
        );
      }
    });
  });

  test("terminateChild(), restartChild() and deleteChild() act on the tracker's children", async () => {
    await withAll(async ({ tracker: t }) => {
      const pid = tracker.find(t.name, "w")!;
      await supervisor.terminateChild(t.name, "w");
      assert.ok(!isAlive(pid));
      assert.equal(tracker.whichChildren(t.name)[0].pid, undefined);
      const again = await supervisor.restartChild(t.name, "w");
      assertStarted(again, "restartChild");
      assert.deepEqual(again, {
        pid: tracker.find(t.name, "w"),
        extra: "info",
      });
      await assert.rejects(
        supervisor.deleteChild(t.name, "w"),
        (e) => e instanceof TrackerError && e.code === "running",
      );
      await supervisor.terminateChild(t.name, "w");
      await supervisor.deleteChild(t.name, "w");
      assert.deepEqual(tracker.whichChildren(t.name), []);
      await assert.rejects(
        supervisor.terminateChild(t.name, "w"),
        (e) => e instanceof TrackerError && e.code === "not_found",
      );
    });
  });

  test("startChild() and getChildspec() reject with TrackerError not_supported; the tracker lives on", async () => {
    await withAll(async ({ tracker: t }) => {
      const a = await supervisor.startChild(t.pid, { id: "x", start: worker })
        .catch((e) => e);
      assert.ok(a instanceof TrackerError, String(a));
      assert.equal(a.code, "not_supported");
      assert.equal(a.operation, "startChild");
      assert.match(a.message, /does not answer startChild \(use findOrOpen\)/);
      const b = await supervisor.getChildspec(t.pid, "w").catch((e) => e);
      assert.ok(b instanceof TrackerError && b.code === "not_supported");
      assert.match(b.message, /getChildspec/);
      assert.ok(isAlive(t.pid));
      assert.equal(tracker.find(t.name, "x"), undefined);
    });
  });
});

// ------------------------------------------------ walking every function --

/** Every public request function of the three modules, on a destination. */
function requests(
  dest: string,
  kind: Kind,
  loner: Pid,
): [string, () => unknown, (v: unknown, what: string) => void][] {
  const adoptee = () => loner;
  const dspec = { id: `d_${kind}`, start: worker };
  const tspec = { id: `t_${kind}`, start: worker };
  const any = () => {};
  const rows = (v: unknown, what: string) => {
    assert.ok(Array.isArray(v), what);
    for (const r of v) assertChildInfo(r, what);
  };
  const counts = (v: unknown, what: string) =>
    assert.deepEqual(
      Object.keys(v as object),
      ["specs", "active", "supervisors", "workers"],
      what,
    );
  const nothing = (v: unknown, what: string) =>
    assert.equal(v, undefined, what);
  return [
    ["supervisor.startChild", () =>
      supervisor.startChild(dest, {
        id: `s_${kind}`,
        start: worker,
      }), assertStarted],
    [
      "supervisor.restartChild",
      () => supervisor.restartChild(dest, "w"),
      assertStarted,
    ],
    [
      "supervisor.terminateChild",
      () => supervisor.terminateChild(dest, "nobody"),
      nothing,
    ],
    [
      "supervisor.deleteChild",
      () => supervisor.deleteChild(dest, "nobody"),
      nothing,
    ],
    ["supervisor.whichChildren", () => supervisor.whichChildren(dest), rows],
    ["supervisor.countChildren", () => supervisor.countChildren(dest), counts],
    [
      "supervisor.getChildspec",
      () => supervisor.getChildspec(dest, "w"),
      (v, what) => assert.equal((v as { id: unknown }).id, "w", what),
    ],
    ["director.startChild", () => director.startChild(dest, dspec), any],
    ["director.restartChild", () => director.restartChild(dest, "w"), any],
    [
      "director.terminateChild",
      () => director.terminateChild(dest, "nobody"),
      any,
    ],
    ["director.deleteChild", () => director.deleteChild(dest, "nobody"), any],
    [
      "director.terminateAndDeleteChild",
      () => director.terminateAndDeleteChild(dest, "nobody"),
      any,
    ],
    ["director.getPlan", () => director.getPlan(dest, "w"), any],
    [
      "director.changePlan",
      () => director.changePlan(dest, "w", ["restart"]),
      any,
    ],
    ["director.getCount", () => director.getCount(dest, "w"), any],
    ["director.changeCount", () => director.changeCount(dest, "w", 3), any],
    [
      "director.getDefaultChildspec",
      () => director.getDefaultChildspec(dest),
      any,
    ],
    [
      "director.changeDefaultChildspec",
      () => director.changeDefaultChildspec(dest, { count: 1 }),
      any,
    ],
    [
      "director.becomeSupervisor",
      () => director.becomeSupervisor(dest, adoptee(), dspec),
      any,
    ],
    [
      "director.deleteRunningChild",
      () => director.deleteRunningChild(dest, adoptee()),
      any,
    ],
    ["director.getPid", () => director.getPid(dest, "w"), any],
    ["director.getPids", () => director.getPids(dest), any],
    ["director.whichChildren", () => director.whichChildren(dest), any],
    ["director.countChildren", () => director.countChildren(dest), any],
    ["director.getChildspec", () => director.getChildspec(dest, "w"), any],
    [
      "director.getRestartCount",
      () => director.getRestartCount(dest, "w"),
      any,
    ],
    ["tracker.find", () => tracker.find(dest, "nobody"), any],
    ["tracker.findOrOpen", () => tracker.findOrOpen(dest, tspec), any],
    ["tracker.setAttr", () => tracker.setAttr(dest, "w", "k", 1), any],
    ["tracker.getAttr", () => tracker.getAttr(dest, "w", "k"), any],
    ["tracker.increment", () => tracker.increment(dest, "w", "k"), any],
    ["tracker.delAttr", () => tracker.delAttr(dest, "w", "k"), any],
    ["tracker.attrs", () => tracker.attrs(dest, "w"), any],
    ["tracker.info", () => tracker.info(dest, "w", ["k"]), any],
    ["tracker.list", () => tracker.list(dest), any],
    [
      "tracker.addExistingChild",
      () => tracker.addExistingChild(dest, { id: "a", pid: adoptee() }),
      any,
    ],
    ["tracker.whichChildren", () => tracker.whichChildren(dest), any],
    ["tracker.countChildren", () => tracker.countChildren(dest), any],
    [
      "tracker.terminateChild",
      () => tracker.terminateChild(dest, "nobody"),
      any,
    ],
    ["tracker.deleteChild", () => tracker.deleteChild(dest, "nobody"), any],
    ["tracker.restartChild", () => tracker.restartChild(dest, "w"), any],
    ["tracker.wait", () => tracker.wait(dest), any],
  ];
}

/**
 * What each function does on a process of another kind: "value" (it is
 * answered: the value is checked), or the error code / class it fails with.
 * Only supervisor's calls cross kinds (OTP's protocol); a director's or a
 * tracker's function refuses another kind at the edge with a TypeError
 * naming its argument.
 */
function expected(fn: string, kind: Kind): "value" | string {
  const [mod, op] = fn.split(".");
  if (mod === kind) return "own";
  if (mod === "supervisor") {
    if (kind === "tracker" && (op === "startChild" || op === "getChildspec")) {
      return "not_supported";
    }
    if (op === "restartChild") return "running"; // "w" runs
    if (op === "terminateChild" || op === "deleteChild") return "not_found";
    if (op === "startChild" && kind === "director") return "value";
    return "value";
  }
  return "TypeError";
}

describe("every public request function against the two other kinds", () => {
  for (const kind of KINDS) {
    test(`on a ${kind}: a documented value or a typed error, never a Failure, and the ${kind} lives on`, async () => {
      await withAll(async (all) => {
        const target = all[kind];
        // The process becomeSupervisor and addExistingChild would adopt.
        const loner = spawn(forever);
        for (const dest of [target.name, target.pid] as const) {
          for (
            const [fn, call, check] of requests(dest as string, kind, loner)
          ) {
            const want = expected(fn, kind);
            if (want === "own") continue;
            const what = `${fn}(${String(dest)}) on a ${kind}`;
            const got = await outcome(call);
            if (want === "value") {
              assert.ok(
                got.ok,
                `${what} threw ${got.ok ? "" : String(got.error)}`,
              );
              assertNoFailure(got.value, what);
              check(got.value, what);
            } else {
              assert.ok(!got.ok, `${what} gave ${got.ok && got.value}`);
              assertTypedError(got.error, what);
              if (want === "TypeError") {
                assert.ok(got.error instanceof TypeError, what);
                const arg = fn.split(".")[0];
                assert.match(
                  (got.error as Error).message,
                  new RegExp(`'${arg}' must be a ${arg}`),
                  what,
                );
              } else {
                assert.ok(got.error instanceof ERROR_OF[kind], what);
                assert.equal(
                  (got.error as ChildRequestError).code,
                  want,
                  what,
                );
              }
            }
            assert.ok(isAlive(target.pid), `${what} stopped the ${kind}`);
          }
          // Undo what the calls started, for the second round.
          if (kind === "director") {
            for (const [id] of director.getPids(target.pid)) {
              if (id !== "w") {
                await director.terminateAndDeleteChild(target.pid, id);
              }
            }
          }
        }
        assert.ok(isAlive(loner), "a refused adoption touched the process");
        exit(loner, "kill");
      });
      await flush();
      await assertNoMessages();
    });
  }
});

// ------------------------------------------------ bare GenServer.call --

describe("GenServer.call() of an unknown request to a supervisor-like process", () => {
  for (const kind of KINDS) {
    test(
      `a ${kind} refuses it: the call rejects with a ${
        ERROR_OF[kind].name
      } "unknown_request", and the ${kind} lives on`,
      async () => {
        await withAll(async (all) => {
          const target = all[kind];
          const hostile = new Proxy([], {
            get() {
              throw new Error("no");
            },
          });
          // The library's own tuples are requests only from its functions.
          for (const req of ["bogus", ["whichChildren"], hostile, undefined]) {
            let r: unknown = undefined;
            const resolved = await genServer.call(target.pid, req).then(
              (v) => ["resolved", v],
              (e) => {
                r = e;
                return undefined;
              },
            );
            assert.equal(resolved, undefined, `${kind}: the call resolved`);
            assertNoFailure(r, kind);
            assert.ok(r instanceof ERROR_OF[kind], `${kind}: ${String(r)}`);
            assert.equal(r.code, "unknown_request");
            assert.equal(r.operation, "call");
            assert.equal(r.child, req);
            assert.match(r.message, /unknown request/);
          }
          assert.ok(isAlive(target.pid));
          assert.equal((await supervisor.countChildren(target.pid)).active, 1);
        });
      },
    );
  }
});

// ----------------------------------------------------- sync or async --

describe("one rule: reads answered without a message are synchronous, requests return promises", () => {
  test("director's reads (getPlan, getCount, getDefaultChildspec too) answer while it is busy starting a child", async () => {
    await withAll(async ({ director: d }) => {
      let release!: () => void;
      let running!: () => void;
      const busy = new Promise<void>((r) => running = r);
      const slow = () =>
        new Promise<Pid>((r) => {
          release = () => r(spawnLink(forever));
          running();
        });
      const starting = director.startChild(d.pid, { id: "slow", start: slow });
      assert.ok(starting instanceof Promise);
      await busy; // the director waits for the start: it is busy
      assert.deepEqual(director.getPlan(d.pid, "w"), ["restart"]);
      assert.equal(director.getCount(d.pid, "w"), 3);
      assert.deepEqual(director.getDefaultChildspec(d.pid), {
        plan: [],
        count: 0,
        terminateTimeout: 0,
        modules: [],
      });
      assert.equal(director.countChildren(d.pid).specs, 1);
      assert.throws(
        () => director.getPlan(d.pid, "slow"),
        (e) => e instanceof DirectorError && e.code === "not_found",
      );
      release();
      await starting;
      assert.deepEqual(director.getPlan(d.pid, "slow"), ["restart"]);
    });
  });

  test("tracker's whichChildren() and countChildren() read without a message", async () => {
    await withAll(async ({ tracker: t }) => {
      let release!: () => void;
      const slow = () =>
        new Promise<Pid>((r) => release = () => r(spawnLink(forever)));
      const opening = tracker.findOrOpen(t.name, { id: "slow", start: slow });
      await tracker.wait(t.name);
      const rows = tracker.whichChildren(t.name);
      assert.ok(Array.isArray(rows));
      assert.deepEqual(rows.map((r) => [r.id, r.pid]), [
        ["slow", "launching"],
        ["w", tracker.find(t.name, "w")],
      ]);
      assert.deepEqual(tracker.countChildren(t.name), {
        specs: 2,
        active: 1,
        supervisors: 0,
        workers: 2,
      });
      release();
      await opening;
      assert.equal(tracker.countChildren(t.name).active, 2);
    });
  });

  test("supervisor's functions are calls: promises, on every kind", async () => {
    await withAll(async (all) => {
      for (const kind of KINDS) {
        const p = supervisor.countChildren(all[kind].pid);
        assert.ok(p instanceof Promise);
        assert.equal((await p).active, 1);
      }
    });
  });
});

// ------------------------------------------------------- return shapes --

describe("one return shape per operation on all three kinds", () => {
  test("startChild() and restartChild() resolve to { pid, extra }; whichChildren() rows are ChildInfo with the extra", async () => {
    await withAll(async (all) => {
      // startChild: supervisor's and director's (a tracker opens with findOrOpen).
      const s = await supervisor.startChild(all.supervisor.pid, {
        id: "e",
        start: workerWithExtra,
      });
      const d = await director.startChild(all.director.pid, {
        id: "e",
        start: workerWithExtra,
      });
      for (const v of [s, d]) {
        assertStarted(v, "startChild");
        assert.equal(v.extra, "info");
        assert.ok(v.pid !== undefined && isAlive(v.pid));
      }
      // restartChild: the same shape from the three modules' own functions.
      await supervisor.terminateChild(all.supervisor.pid, "w");
      await director.terminateChild(all.director.pid, "w");
      await tracker.terminateChild(all.tracker.pid, "w");
      const restarted = [
        await supervisor.restartChild(all.supervisor.pid, "w"),
        await director.restartChild(all.director.pid, "w"),
        await tracker.restartChild(all.tracker.pid, "w"),
      ];
      for (const v of restarted) {
        assertStarted(v, "restartChild");
        assert.equal(v.extra, "info");
      }
      // whichChildren: the row of the running child "w", the same keys.
      const rows = [
        (await supervisor.whichChildren(all.supervisor.pid)).find((r) =>
          r.id === "w"
        ),
        director.whichChildren(all.director.pid).find((r) => r.id === "w"),
        tracker.whichChildren(all.tracker.pid).find((r) => r.id === "w"),
      ];
      for (const [i, row] of rows.entries()) {
        assert.deepEqual(row, {
          id: "w",
          pid: restarted[i].pid,
          type: "worker",
          modules: [],
          extra: "info",
        });
      }
      // countChildren: the same four counts.
      for (const kind of KINDS) {
        assert.deepEqual(
          Object.keys(await supervisor.countChildren(all[kind].pid)),
          ["specs", "active", "supervisors", "workers"],
        );
      }
      // terminateChild and deleteChild: undefined.
      assert.equal(
        await supervisor.terminateChild(all.supervisor.pid, "e"),
        undefined,
      );
      assert.equal(
        await supervisor.deleteChild(all.supervisor.pid, "e"),
        undefined,
      );
      assert.equal(
        await director.terminateChild(all.director.pid, "e"),
        undefined,
      );
      assert.equal(
        await director.deleteChild(all.director.pid, "e"),
        undefined,
      );
    });
  });
});

describe("hostile arguments to supervisor's calls, on every kind", () => {
  test("an id or a spec that throws on every touch: a typed error or the thrown value, and the process lives on", async () => {
    await withAll(async (all) => {
      const boom = new Error("boo");
      const hostile = new Proxy({}, {
        get() {
          throw boom;
        },
        ownKeys() {
          throw boom;
        },
        getPrototypeOf() {
          throw boom;
        },
      });
      for (const kind of KINDS) {
        const pid = all[kind].pid;
        for (
          const call of [
            () => supervisor.terminateChild(pid, hostile),
            () => supervisor.deleteChild(pid, hostile),
            () => supervisor.restartChild(pid, hostile),
            () => supervisor.getChildspec(pid, hostile),
          ]
        ) {
          const got = await outcome(call);
          assert.ok(!got.ok);
          assert.ok(got.error instanceof ERROR_OF[kind], String(got.error));
          assert.ok(isAlive(pid));
        }
        const got = await outcome(() =>
          supervisor.startChild(pid, hostile as never)
        );
        assert.ok(!got.ok);
        assert.ok(
          got.error === boom || got.error instanceof TrackerError,
          String(got.error),
        );
        assert.ok(isAlive(pid));
        assert.equal((await supervisor.countChildren(pid)).active, 1);
      }
    });
  });
});
