// Hostile values never break the machinery (issue 11, item 5): each class of
// hostile value (tests/_hostile.ts) at each death, call, report and error
// path. A death still delivers EXIT and DOWN, frees the name, hands tables
// to the heir and aborts pid.signal; a call with a timeout settles; a
// supervisor restarts; error messages print; nothing is rethrown where it
// would crash the program.
import { describe, test } from "./_harness.ts";
import assert from "node:assert/strict";
import { captureReports, formatReport } from "../logger.ts";
import {
  exit,
  isAlive,
  monitor,
  type Pid,
  receive,
  type Ref,
  register,
  self,
  send,
  spawn,
  spawnLink,
  trapExit,
  whereis,
} from "../process.ts";
import * as genServer from "../gen_server.ts";
import * as supervisor from "../supervisor.ts";
import * as tracker from "../tracker.ts";
import * as director from "../director.ts";
import * as tableManager from "../table_manager.ts";
import * as ets from "../ets.ts";
import {
  AlreadyRegisteredError,
  CallError,
  ChildSpecError,
  EtsError,
  ExitError,
  NoProcError,
  NotRegisteredError,
  StartError,
  SupervisorError,
  TimeoutError,
} from "../errors.ts";
import { formatTerm } from "../_format.ts";
import { startTimeout, Timed } from "../_timers.ts";
import { addResource, procOf } from "../_runtime.ts";
import {
  flush,
  forever,
  isDown,
  isExit,
  settle,
  withClock,
} from "./_helpers.ts";
import {
  cyclic,
  deep,
  hostiles,
  quietConsole,
  revokedProxy,
  throwingPrimitive,
  throwingProxy,
  watchUncaught,
} from "./_hostile.ts";

/** Runs `fn` watching for uncaught errors and console output; checks both. */
async function guarded(
  fn: () => void | Promise<void>,
): Promise<unknown[][]> {
  const stop = watchUncaught();
  const restore = quietConsole();
  // Errors nobody can catch are reports (kind internal_error): kept here as
  // the text the console logger writes, beside what reached the console.
  const captured = captureReports();
  let lines: unknown[][];
  try {
    await fn();
    await settle();
  } finally {
    captured.restore();
    lines = restore();
    for (const r of captured.reports) {
      if (r.kind === "internal_error") lines.push([formatReport(r)]);
    }
    const caught = stop();
    assert.equal(caught.length, 0, "no uncaught error or rejection");
  }
  // Whatever was reported, it was reported as text: nothing was inspected.
  for (const args of lines) {
    for (const a of args) assert.equal(typeof a, "string");
  }
  return lines;
}

/**
 * The reason of the DOWN for `ref` (not through a promise's resolution: a
 * reason with a `then` getter would be read as a thenable).
 */
async function down(ref: Ref): Promise<{ reason: unknown }> {
  const m = await receive(isDown(ref)) as unknown[];
  return { reason: m[4] };
}

function assertPrintable(e: unknown): void {
  assert.ok(e instanceof Error);
  assert.equal(typeof e.message, "string");
  assert.equal(typeof String(e), "string");
  assert.ok(String(e).length < 5000, "bounded message");
}

let serial = 0;

// --------------------------------------------------------------- format --

describe("formatTerm() on hostile values", () => {
  test("formatTerm() never throws and stays short", () => {
    for (const [label, v] of hostiles()) {
      const s = formatTerm(v);
      assert.equal(typeof s, "string", label);
      assert.ok(s.length <= 1300, `${label}: ${s.length} characters`);
    }
  });

  test("formatTerm() names Proxies, revoked Proxies, cycles and throwers", () => {
    assert.equal(formatTerm(throwingProxy()), "[Proxy]");
    assert.equal(formatTerm(revokedProxy()), "[revoked Proxy]");
    assert.equal(
      formatTerm(cyclic()),
      "{ a: 1, self: [Circular], list: [[Circular], [Circular]] }",
    );
    assert.equal(
      formatTerm({
        get x() {
          throw new Error("no");
        },
        y: 2,
      }),
      "{ x: [Getter], y: 2 }",
    );
    class Bad {
      toString(): string {
        throw new Error("no");
      }
    }
    assert.equal(formatTerm(new Bad()), "[object throwing on inspect]");
    assert.equal(formatTerm(deep(5)), "[[[[…]]]]");
    assert.equal(formatTerm([throwingProxy(), 1]), "[[Proxy], 1]");
  });

  test("formatTerm() calls no toString, valueOf or getter of a plain object", () => {
    let called = 0;
    const o = {
      toString: () => String(++called),
      valueOf: () => ++called,
      [Symbol.toPrimitive]: () => ++called,
      get g() {
        return ++called;
      },
    };
    formatTerm(o);
    formatTerm([o, { nested: o }]);
    assert.equal(called, 0);
  });

  test("formatTerm() still prints pids, refs, errors and dates", () => {
    assert.match(formatTerm(self()), /^<0\.\d+\.0>$/);
    assert.equal(formatTerm(new Error("boom")), "Error: boom");
    assert.equal(
      formatTerm(new ExitError("x")),
      'ExitError: process exit: "x"',
    );
    assert.equal(formatTerm(new Date(0)), String(new Date(0)));
    assert.equal(formatTerm({ a: [1, "b"] }), '{ a: [1, "b"] }');
  });
});

describe("error classes with hostile values", () => {
  test("every error class builds a printable message from any value", () => {
    for (const [label, v] of hostiles()) {
      const errors: Error[] = [
        new ExitError(v),
        new NoProcError("link", v),
        new AlreadyRegisteredError("taken", "n", v),
        new CallError(v, "call", v, [v, 5000]),
        new CallError(v, "stop", self(), [v, Infinity]),
        new StartError(v),
        new SupervisorError("startChild", v, "start_failed", { reason: v }),
        new ChildSpecError("id", v, "bad id"),
        new NotRegisteredError("send", "x"),
        new TimeoutError("t", 1),
        new EtsError("insert", "t", "bad_key", "no"),
        new tracker.TrackerError("findOrOpen", "t", v, "start_failed", {
          reason: v,
        }),
      ];
      for (const e of errors) {
        try {
          assertPrintable(e);
        } catch (error) {
          assert.fail(`${label}, ${e.name}: ${error}`);
        }
      }
    }
  });
});

// --------------------------------------------------------------- deaths --

type Death = "exit" | "throw" | "reject";

/**
 * A process that registers a name, creates a table with the main process as
 * heir and is linked and monitored by main, then dies with `reason` as
 * `how` says.
 */
async function dieWith(how: Death, reason: unknown): Promise<void> {
  trapExit(true);
  const name = `hostile_${++serial}`;
  const pid = spawnLink(async () => {
    register(name, self());
    ets.create(name, { heir: { pid: main, data: "gift" } });
    if (how === "throw") {
      await receive((m) => m === "go");
      throw reason;
    }
    if (how === "reject") {
      await receive((m) => m === "go");
      await Promise.reject(reason);
    }
    await forever();
  });
  const main = self();
  const ref = monitor(pid);
  await settle();
  assert.equal(whereis(name), pid);
  if (how === "exit") exit(pid, reason);
  else send(pid, "go");
  await settle();
  // The death is complete: name free, table handed over first, EXIT, DOWN.
  assert.equal(isAlive(pid), false);
  assert.equal(whereis(name), undefined);
  const transfer = await receive(
    (m) => Array.isArray(m) && m[0] === "ETS-TRANSFER",
    { timeout: 0 },
  ) as unknown[];
  assert.equal(transfer[2], pid);
  assert.equal(transfer[3], "gift");
  const table = transfer[1] as ets.Table;
  assert.equal(table.info()?.owner, main);
  table.destroy();
  const exitMsg = await receive(isExit(pid), { timeout: 0 }) as unknown[];
  assert.equal(exitMsg[2], reason);
  assert.equal((await down(ref)).reason, reason);
  // pid.signal aborts with an ExitError that carries (and prints) it.
  const signal = pid.signal;
  assert.ok(signal.aborted);
  assert.ok(signal.reason instanceof ExitError);
  assert.equal(signal.reason.reason, reason);
  assertPrintable(signal.reason);
  assert.deepEqual(await flush(), []);
}

describe("a death with a hostile exit reason", () => {
  for (const how of ["exit", "throw", "reject"] as const) {
    test(`${how}: EXIT, DOWN, name release, heir and signal for each hostile value`, async () => {
      await guarded(async () => {
        for (const [label, v] of hostiles()) {
          try {
            await dieWith(how, v);
          } catch (error) {
            assert.fail(`${label}: ${formatTerm(error)}`);
          }
        }
      });
    });
  }

  test("a body returning a hostile value ends normal; one whose then() throws dies of it", async () => {
    await guarded(async () => {
      for (const [label, v] of hostiles()) {
        const ref = monitor(spawn(() => v));
        assert.equal((await down(ref)).reason, "normal", label);
      }
      const boom = new Error("then threw");
      const ref = monitor(spawn(() => ({
        then() {
          throw boom;
        },
      })));
      assert.equal((await down(ref)).reason, boom);
    });
  });

  test("a receive pending in the dying process rejects with a printable ExitError", async () => {
    await guarded(async () => {
      for (const [label, v] of hostiles()) {
        let seen: unknown;
        const pid = spawn(async () => {
          try {
            await receive();
          } catch (e) {
            seen = e;
          }
        });
        await settle();
        exit(pid, v);
        await settle();
        assert.ok(seen instanceof ExitError, label);
        assert.equal(seen.reason, v);
        assertPrintable(seen);
      }
    });
  });
});

// ----------------------------------------------------------- gen_server --

/** A server that answers ["reply", x], throws ["throw", x], returns ["return", x]. */
const echo: genServer.GenServer<unknown[], null> = {
  init: () => ["ok", []],
  handleCall(request, _from, seen) {
    const [op, x] = request as [string, unknown];
    if (op === "throw") throw x;
    if (op === "return") return x as never;
    if (op === "stop") return ["stop", x, "stopped", seen];
    if (op === "hang") return ["noreply", seen];
    return ["reply", x, seen];
  },
  handleCast(message, seen) {
    const [op, x] = message as [string, unknown];
    if (op === "stop") return ["stop", x, seen];
    if (op === "return") return x as never;
    return ["noreply", seen];
  },
  handleInfo(message, seen) {
    seen.push(message);
    return ["noreply", seen];
  },
};

async function withServer(
  fn: (pid: Pid) => Promise<void>,
  behaviour = echo,
): Promise<void> {
  const pid = await genServer.start(behaviour, null);
  try {
    await fn(pid);
  } finally {
    if (isAlive(pid)) exit(pid, "kill");
  }
}

describe("GenServer with hostile values", () => {
  test("call(): a handleCall that throws a hostile value rejects with a printable CallError", async () => {
    await guarded(async () => {
      for (const [label, v] of hostiles()) {
        await withServer(async (pid) => {
          const ref = monitor(pid);
          const err = await genServer.call(pid, ["throw", v]).catch((e) => e);
          assert.ok(err instanceof CallError, label);
          assert.equal(err.reason, v);
          assertPrintable(err);
          assert.equal((await down(ref)).reason, v);
        });
      }
    });
  });

  test("call(): a hostile return value stops the server with ['bad_return_value', v]", async () => {
    await guarded(async () => {
      for (const [label, v] of hostiles()) {
        await withServer(async (pid) => {
          const ref = monitor(pid);
          const err = await genServer.call(pid, ["return", v]).catch((e) => e);
          assert.ok(err instanceof CallError, label);
          assert.equal(
            (err.reason as ["bad_return_value", unknown])[1],
            v,
          );
          assertPrintable(err);
          assert.equal(
            ((await down(ref)).reason as ["bad_return_value", unknown])[1],
            v,
          );
        });
      }
    });
  });

  test("['stop', reason, reply, state] and ['stop', reason, state] with a hostile reason", async () => {
    await guarded(async () => {
      for (const [label, v] of hostiles()) {
        await withServer(async (pid) => {
          const ref = monitor(pid);
          assert.equal(
            await genServer.call(pid, ["stop", v]),
            "stopped",
            label,
          );
          assert.equal((await down(ref)).reason, v);
        });
        await withServer(async (pid) => {
          const ref = monitor(pid);
          genServer.cast(pid, ["stop", v]);
          assert.equal((await down(ref)).reason, v, label);
        });
        await withServer(async (pid) => {
          const ref = monitor(pid);
          genServer.cast(pid, ["return", v]);
          const reason = (await down(ref)).reason as [
            "bad_return_value",
            unknown,
          ];
          assert.equal(reason[0], "bad_return_value", label);
          assert.equal(reason[1], v, label);
        });
      }
    });
  });

  test("call() with a hostile request and a timeout settles with a printable CallError", async () => {
    await guarded(() =>
      withClock(async (clock) => {
        for (const [label, v] of hostiles()) {
          await withServer(async (pid) => {
            const p = genServer.call(pid, ["hang", v], { timeout: 100 })
              .catch((e) => e);
            await settle();
            await clock.advance(100);
            const err = await p;
            assert.ok(err instanceof CallError, label);
            assert.equal(err.reason, "timeout");
            assertPrintable(err);
            // The request itself is served as any other.
            assert.equal(
              (await genServer.call(pid, ["reply", [v]]) as unknown[])[0],
              v,
            );
            assert.ok(isAlive(pid), label);
          });
        }
      })
    );
  });

  test("a hostile message reaches handleInfo, or is dropped without handleInfo", async () => {
    await guarded(async () => {
      for (const [label, v] of hostiles()) {
        await withServer(async (pid) => {
          send(pid, v);
          genServer.cast(pid, v); // a cast the server cannot read: it stops
          await settle();
        });
        let state: unknown[] = [];
        await withServer(async (pid) => {
          send(pid, v);
          await settle();
          assert.ok(isAlive(pid), label);
        }, {
          init: () => ["ok", state = []],
          handleCall: (_r, _f, s) => ["reply", s, s],
        });
        assert.deepEqual(state, []);
        await withServer(async (pid) => {
          send(pid, v);
          const seen = await genServer.call(pid, ["reply", null]).then(() =>
            genServer.call(pid, ["state"])
          ).catch((e) => e);
          assert.ok(isAlive(pid), label);
          void seen;
        });
      }
    });
  });

  test("stop() with a hostile reason resolves once the server is gone", async () => {
    await guarded(async () => {
      for (const [label, v] of hostiles()) {
        let got: unknown;
        const pid = await genServer.start({
          init: () => ["ok", null],
          terminate: (reason) => {
            got = reason;
          },
        }, null);
        await genServer.stop(pid, v);
        assert.equal(got, v, label);
        assert.equal(isAlive(pid), false);
      }
    });
  });

  test("start(): init returning or throwing a hostile value rejects with a printable StartError", async () => {
    await guarded(async () => {
      for (const [label, v] of hostiles()) {
        const thrown = await genServer.start({
          init: () => {
            throw v;
          },
        }, null).catch((e) => e);
        assert.ok(thrown instanceof StartError, label);
        assert.equal(thrown.reason, v);
        assertPrintable(thrown);
        const returned = await genServer.start({ init: () => v as never }, null)
          .catch((e) => e);
        assert.ok(returned instanceof StartError, label);
        assert.equal(
          (returned.reason as ["bad_return_value", unknown])[1],
          v,
        );
        assertPrintable(returned);
      }
    });
  });

  test("call(), stop() and cast() with a hostile server or options reject or throw a TypeError", async () => {
    await guarded(async () => {
      for (const [label, v] of hostiles()) {
        if (typeof v === "string") continue; // a name
        await assert.rejects(genServer.call(v as Pid, "x"), TypeError, label);
        await assert.rejects(genServer.stop(v as Pid), TypeError, label);
        assert.throws(() => genServer.cast(v as Pid, "x"), TypeError, label);
        await withServer(async (pid) => {
          const options = v as genServer.CallOptions;
          // Rejects (never throws synchronously) or works.
          await genServer.call(pid, ["reply", 1], options).catch(() => {});
        });
      }
    });
  });
});

// ------------------------------------------------------- process module --

describe("process functions with hostile arguments", () => {
  test("send(), monitor(), exit(), register() refuse a hostile pid with a TypeError", async () => {
    await guarded(() => {
      for (const [label, v] of hostiles()) {
        if (typeof v === "string") continue; // a name
        assert.throws(() => send(v as Pid, "x"), TypeError, label);
        assert.throws(() => monitor(v as Pid), TypeError, label);
        assert.throws(() => exit(v as Pid, "x"), TypeError, label);
        assert.throws(() => register("n", v as Pid), TypeError, label);
        assert.throws(() => register(v as string, self()), TypeError, label);
      }
    });
  });

  test("a Proxy of a pid is no pid", () => {
    const proxy = new Proxy(self(), {});
    assert.throws(() => send(proxy, "x"), TypeError);
  });
});

// ------------------------------------------------------- dead processes --

describe("a killed process's leftover code", () => {
  test("cannot send, register, monitor, trapExit, or create, write or fix tables", async () => {
    await guarded(async () => {
      const table = ets.create(`leftover_${++serial}`, { access: "public" });
      const main = self();
      const results: Record<string, unknown> = {};
      const pid = spawn(async () => {
        try {
          await receive();
        } catch { /* killed: carry on, as leftover code may */ }
        const attempt = (op: string, fn: () => unknown) => {
          try {
            fn();
            results[op] = "ok";
          } catch (e) {
            results[op] = e instanceof ExitError ? e.reason : e;
          }
        };
        attempt("send", () => send(main, "from the dead"));
        attempt("register", () => register(`dead_${serial}`, main));
        attempt("monitor", () => monitor(main));
        attempt("trapExit", () => trapExit(true));
        attempt("create", () => ets.create("dead_table"));
        attempt("insert", () => table.insert(["k", 1]));
        attempt("insertTuple", () => table.insert([["k"], 1]));
        attempt("delete", () => table.delete("k"));
        attempt("updateCounter", () => table.updateCounter("c", 1));
        attempt("safeFixtable", () => table.safeFixtable(true));
        attempt("lookup", () => table.lookup("k"));
      });
      await settle();
      table.insert(["c", 0]);
      exit(pid, "killed_by_test");
      await settle();
      await settle();
      assert.deepEqual(results, {
        send: "ok", // dropped, as OTP
        register: "killed_by_test",
        monitor: "killed_by_test",
        trapExit: "killed_by_test",
        create: "killed_by_test",
        insert: "killed_by_test",
        insertTuple: "killed_by_test",
        delete: "killed_by_test",
        updateCounter: "killed_by_test",
        safeFixtable: "killed_by_test",
        lookup: "ok", // reads are harmless
      });
      assert.deepEqual(table.lookup("c"), [["c", 0]]);
      assert.equal(table.info()?.fixed, false);
      assert.equal(whereis(`dead_${serial}`), undefined);
      assert.deepEqual(await flush(), []);
      table.destroy();
    });
  });
});

// ----------------------------------------------------------- supervisor --

describe("Supervisor with hostile values", () => {
  test("a child dying with a hostile reason is restarted, and reported", async () => {
    const lines = await guarded(async () => {
      const events: string[] = [];
      const off = supervisor.subscribe((e) => {
        events.push(e.type);
        throw throwingPrimitive(); // a listener that throws a hostile value
      });
      const sup = await supervisor.start({
        strategy: "one_for_one",
        intensity: 100,
        children: [{ id: "w", start: () => spawnLink(forever) }],
      });
      try {
        for (const [label, v] of hostiles()) {
          const [before] = await supervisor.whichChildren(sup);
          exit(before.pid as Pid, v);
          await settle();
          const [after] = await supervisor.whichChildren(sup);
          assert.ok(after.pid !== undefined && after.pid !== before.pid, label);
          assert.ok(isAlive(after.pid as Pid), label);
        }
      } finally {
        off();
        await supervisor.stop(sup);
      }
      assert.ok(events.includes("child_restarted"));
    });
    assert.ok(lines.length > 0, "the throwing listener was reported");
  });

  test("hostile child ids, messages and requests leave the supervisor running", async () => {
    await guarded(async () => {
      const sup = await supervisor.start({ strategy: "one_for_one" });
      try {
        for (const [label, v] of hostiles()) {
          const started = await supervisor.startChild(sup, {
            id: v,
            start: () => spawnLink(forever),
          }).then(() => "started", (e) => e);
          if (started !== "started") assertPrintable(started);
          await supervisor.terminateChild(sup, v).catch(() => {});
          await supervisor.deleteChild(sup, v).catch(() => {});
          send(sup, v);
          await genServer.call(sup, v).catch(() => {});
          await supervisor.startChild(sup, v as supervisor.ChildSpec).catch(
            (e) => assertPrintable(e),
          );
          assert.ok(isAlive(sup), label);
          await supervisor.countChildren(sup);
        }
        // Still works.
        const { pid } = await supervisor.startChild(sup, {
          id: "ok",
          start: () => spawnLink(forever),
        });
        assert.ok(isAlive(pid!));
      } finally {
        await supervisor.stop(sup);
      }
    });
  });
});

// -------------------------------------------------------------- tracker --

describe("Tracker with hostile values", () => {
  test("findOrOpen() with hostile ids and attributes settles; the tracker runs on", async () => {
    await guarded(async () => {
      const name = `hostile_trk_${++serial}`;
      const tpid = await tracker.start(name);
      try {
        for (const [label, v] of hostiles()) {
          const r = await tracker.findOrOpen(name, {
            id: v,
            start: () => spawnLink(forever),
          }).then((pid) => pid, (e) => e);
          if (r instanceof Error) assertPrintable(r);
          await tracker.findOrOpen(name, v as tracker.ChildSpec).catch((e) =>
            assertPrintable(e)
          );
          try {
            tracker.find(name, v);
          } catch (e) {
            assertPrintable(e);
          }
          send(tpid, v);
          await genServer.call(tpid, v).catch(() => {});
          assert.ok(isAlive(tpid), label);
        }
        const pid = await tracker.findOrOpen(name, {
          id: "ok",
          start: () => spawnLink(forever),
        });
        assert.ok(isAlive(pid));
        // A child dying with a hostile reason is cleaned up.
        for (const [label, v] of hostiles()) {
          const id = `child_${++serial}`;
          const child = await tracker.findOrOpen(name, {
            id,
            start: () => spawnLink(forever),
            restart: "temporary",
          });
          const ref = monitor(child);
          exit(child, v);
          assert.equal((await down(ref)).reason, v);
          await settle();
          assert.equal(tracker.find(name, id), undefined, label);
          assert.ok(isAlive(tpid), label);
        }
      } finally {
        await tracker.stop(tpid);
        await flush();
      }
    });
  });
});

// ------------------------------------------------------------- director --

describe("Director with hostile values", () => {
  test("a child dying with a hostile reason is restarted; hostile ids, messages and requests leave it running", async () => {
    const texts: unknown[] = [];
    await guarded(async () => {
      const d = await director.start(() => ({
        children: [{
          id: "w",
          start: () => spawnLink(forever),
          plan: ["restart"],
          count: Infinity,
        }],
      }), { logger: (entry) => texts.push(entry.text) });
      try {
        for (const [label, v] of hostiles()) {
          const before = director.getPid(d, "w");
          exit(before, v);
          await settle();
          const after = director.getPid(d, "w");
          assert.ok(after !== before && isAlive(after), label);
          send(d, v);
          await genServer.call(d, v).catch(() => {});
          await director.startChild(d, {
            id: v,
            start: () => spawnLink(forever),
          }).then(
            () => director.terminateAndDeleteChild(d, v),
            (e) => assertPrintable(e),
          ).catch((e) => assertPrintable(e));
          await director.startChild(d, v as director.ChildSpec).catch((e) =>
            assertPrintable(e)
          );
          try {
            director.getPid(d, v);
          } catch (e) {
            assertPrintable(e);
          }
          assert.ok(isAlive(d), label);
        }
      } finally {
        await director.stop(d);
      }
    });
    // Each restart was logged, as text.
    assert.ok(texts.length >= hostiles().length);
    for (const text of texts) assert.equal(typeof text, "string");
  });
});

// --------------------------------------------------------- table manager --

describe("TableManager with hostile values", () => {
  test("a consumer dying with a hostile reason gets the table back when it returns; hostile messages are dropped", async () => {
    await guarded(async () => {
      const name = `hostile_consumer_${++serial}`;
      /** A consumer: registers, keeps what it is given, waits. */
      const consumer = () =>
        spawn(async () => {
          register(name, self());
          await forever();
        });
      let pid = consumer();
      await settle();
      const manager = await tableManager.start(name, { access: "public" });
      try {
        await settle();
        const table = await tableManager.table(manager);
        assert.equal(table.info()?.owner, pid);
        for (const [label, v] of hostiles()) {
          send(manager, v);
          await genServer.call(manager, v).catch(() => {});
          exit(pid, v);
          await settle();
          assert.equal(table.info()?.owner, manager, label);
          pid = consumer();
          await settle();
          await settle();
          assert.equal(table.info()?.owner, pid, label);
          assert.ok(isAlive(manager), label);
        }
      } finally {
        await tableManager.stop(manager);
        exit(pid, "kill"); // the table, now without an heir, goes with it
        await settle();
        assert.deepEqual(ets.all().filter((t) => t.name === name), []);
      }
    });
  });
});

// -------------------------------------------------------------- reports --

describe("errors nobody can catch are reported as text (internal_error reports)", () => {
  test("a timeout whose expiry throws a hostile value: reported, the next still fires", async () => {
    const lines = await guarded(() =>
      withClock(async (clock) => {
        let fired = 0;
        class Throws extends Timed {
          expire(): void {
            throw throwingProxy();
          }
        }
        class Counts extends Timed {
          expire(): void {
            fired++;
          }
        }
        startTimeout(new Throws(), 10);
        startTimeout(new Counts(), 10);
        await clock.advance(10);
        assert.equal(fired, 1);
      })
    );
    assert.equal(lines.length, 1);
    assert.match(lines[0][0] as string, /timeout's expiry threw: \[Proxy\]/);
  });

  test("a resource hook that throws a hostile value: reported, the death completes", async () => {
    for (const [label, v] of hostiles()) {
      const lines = await guarded(async () => {
        const pid = spawn(forever);
        let released = false;
        addResource(procOf(pid), () => {
          throw v;
        });
        addResource(procOf(pid), () => {
          released = true;
        });
        const ref = monitor(pid);
        exit(pid, "bye");
        assert.equal((await down(ref)).reason, "bye", label);
        assert.ok(released, label);
      });
      assert.equal(lines.length, 1, label);
      assert.match(lines[0][0] as string, /threw on its death: /);
    }
  });
});

// ------------------------------------------------------ start functions --

describe("child start functions returning hostile values", () => {
  test("supervisor, tracker and director refuse the start with a printable error and run on", async () => {
    await guarded(async () => {
      const sup = await supervisor.start({ strategy: "one_for_one" });
      const trk = `hostile_starts_${++serial}`;
      const tpid = await tracker.start(trk);
      const d = await director.start(() => ({}), { logger: false });
      try {
        let i = 0;
        for (const [label, v] of hostiles()) {
          for (const later of [false, true]) {
            // Returned as it is, or by a promise (which adopts a thenable).
            const start = later
              ? () => Promise.resolve([v]).then(([x]) => x)
              : () => v;
            const tries: Promise<unknown>[] = [
              supervisor.startChild(sup, { id: `c${i++}`, start } as never),
              tracker.findOrOpen(trk, { id: `c${i++}`, start } as never),
              director.startChild(d, { id: `c${i++}`, start } as never),
            ];
            for (const p of tries) {
              const err = await p.then(() => undefined, (e) => e);
              assertPrintable(err);
            }
            assert.ok(isAlive(sup) && isAlive(tpid) && isAlive(d), label);
          }
        }
      } finally {
        await supervisor.stop(sup);
        await tracker.stop(tpid);
        await director.stop(d);
      }
    });
  });
});
